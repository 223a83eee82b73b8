#pragma once
// SchedulerServer: the network side of daskcpp-scheduler (upstream
// distributed/core.py Server + the comm parts of scheduler.py Scheduler).
//
// Owns the io_context, the listener, every accepted comm, the RPC handler table
// and the client stream handler table, the clients' batched streams, signal
// handling, the idle timeout and the scheduler/pid files.
//
// Threading: run() runs the io_context on the calling thread, and that one
// thread owns everything here and (later) all scheduler state, so nothing is
// locked and no strand is used. Work that must not run on it (graph
// materialization) posts its results back. Handlers must never block.
//
// Handlers are registered in one place, register_handlers() in
// scheduler_server.cpp, one registration function per group of handlers
// (client_handlers.cpp, info_handlers.cpp, ...).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/batched_stream.hpp"
#include "protocol/comm/comm_options.hpp"
#include "protocol/comm/listener.hpp"
#include "protocol/comm/rpc_handlers.hpp"
#include "protocol/status.hpp"
#include "scheduler/state/config.hpp"

namespace daskcpp::python_compat {
class Interpreter;
class GraphMaterializer;
}  // namespace daskcpp::python_compat

namespace daskcpp::scheduler {

class SchedulerService;

namespace asio = protocol::asio;

struct SchedulerOptions {
  std::string host;  // "" = all interfaces
  std::uint16_t port = 8786;
  std::optional<std::string> scheduler_file;
  std::optional<std::string> pid_file;
  std::optional<double> idle_timeout_seconds;
  bool dashboard = true;
  std::uint16_t dashboard_port = 8787;
  // BatchedSend intervals (scheduler.py add_client "2ms", add_worker "5ms").
  std::chrono::microseconds client_stream_interval{2000};
  std::chrono::microseconds worker_stream_interval{5000};
  protocol::CommOptions comm;
  // distributed.scheduler.* (dask_config.hpp reads them).
  SchedulerConfig config;
  double worker_ttl_seconds = 300;  // distributed.scheduler.worker-ttl; <= 0: off
  // The Python environment that materializes graphs; "" = the build-time venv.
  std::string python_executable;
};

// One connected client: its batched stream and what the server glue tracks.
struct ClientConnection {
  std::string id;
  std::shared_ptr<protocol::BatchedStream> stream;
  double last_seen = 0;  // unix seconds
  std::vector<std::string> topics;
  bool removed = false;  // close-client seen; the stream may still be open
};

class SchedulerServer {
 public:
  explicit SchedulerServer(SchedulerOptions options);
  ~SchedulerServer();
  SchedulerServer(const SchedulerServer&) = delete;
  SchedulerServer& operator=(const SchedulerServer&) = delete;

  // Binds, registers the handlers, starts accepting, writes the scheduler and
  // pid files and logs "Scheduler at:". Call once, before run().
  Status start();
  // Runs the loop on this thread until shutdown completes.
  void run();
  // Starts a clean shutdown (loop thread; the signal handler and `terminate`
  // come here): stop accepting, send stream-closed to clients and close every
  // comm, remove the files. Idempotent.
  void shutdown(const std::string& reason);

  asio::io_context& io_context() { return io_; }
  // Our contact address, "tcp://HOST:PORT" (identity.address).
  const std::string& address() const { return address_; }
  const std::string& id() const { return id_; }
  const SchedulerOptions& options() const { return options_; }

  protocol::RpcHandlers& rpc_handlers() { return rpc_handlers_; }
  protocol::StreamHandlers& client_stream_handlers() { return client_stream_handlers_; }
  std::unordered_map<std::string, ClientConnection>& clients() { return clients_; }
  ClientConnection* find_client(const std::string& id);
  protocol::StreamHandlers& worker_stream_handlers() { return worker_stream_handlers_; }
  SchedulerService& service() { return *service_; }
  python_compat::GraphMaterializer& materializer() { return *materializer_; }
  bool shutting_down() const { return shutting_down_; }
  // Scheduler.worker_plugins / nanny_plugins: {name: pickled plugin} in
  // registration order, sent to workers/nannies as they join (plugin_handlers.hpp).
  protocol::Map& worker_plugins() { return worker_plugins_; }
  protocol::Map& nanny_plugins() { return nanny_plugins_; }

  // Scheduler.identity(n_workers): the reply of the `identity` op and the
  // contents of the scheduler file.
  protocol::Value identity(std::int64_t n_workers) const;

 private:
  void register_handlers();
  void on_comm(std::shared_ptr<protocol::Comm> comm);
  asio::awaitable<void> serve(std::shared_ptr<protocol::Comm> comm);
  void arm_idle_check();
  void remove_run_files();
  void arm_shutdown_check();
  void arm_ttl_check();

  SchedulerOptions options_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer idle_timer_;
  asio::steady_timer shutdown_timer_;
  std::chrono::steady_clock::time_point shutdown_deadline_{};
  std::shared_ptr<protocol::Listener> listener_;
  std::string address_;
  std::string id_;
  double time_started_ = 0;
  double idle_since_ = 0;
  bool shutting_down_ = false;
  protocol::Map worker_plugins_;
  protocol::Map nanny_plugins_;

  protocol::RpcHandlers rpc_handlers_{"Scheduler"};
  protocol::StreamHandlers client_stream_handlers_;
  protocol::StreamHandlers worker_stream_handlers_;
  std::unique_ptr<SchedulerService> service_;
  std::unique_ptr<python_compat::Interpreter> interpreter_;
  std::unique_ptr<python_compat::GraphMaterializer> materializer_;
  asio::steady_timer ttl_timer_;
  std::unordered_map<std::string, ClientConnection> clients_;
  // Every accepted comm, to close them on shutdown; entries leave when served.
  std::unordered_map<protocol::Comm*, std::weak_ptr<protocol::Comm>> comms_;
};

}  // namespace daskcpp::scheduler
