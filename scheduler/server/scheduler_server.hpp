#pragma once
// SchedulerServer: the network side of daskcpp-scheduler (upstream
// distributed/core.py Server + the comm parts of scheduler.py Scheduler).
//
// Owns the io_context, the listener, every accepted comm, the RPC and stream
// handler tables, the ConnectionRegistry of clients and workers, the
// SchedulerService, the extensions, signal handling, the idle timeout and the
// scheduler/pid files.
//
// Threading: run() runs the io_context on the calling thread, and that one
// thread owns everything here and (later) all scheduler state, so nothing is
// locked and no strand is used. Work that must not run on it (graph
// materialization) posts its results back. Handlers must never block.
//
// Handlers are registered in one place: register_handlers() builds the
// ExtensionContext and hands it to the composition root (extensions.hpp).

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
#include "scheduler/service/connection_registry.hpp"
#include "scheduler/service/scheduler_options.hpp"
#include "scheduler/state/config.hpp"

namespace daskcpp::python_compat {
class Interpreter;
class GraphMaterializer;
}  // namespace daskcpp::python_compat

namespace daskcpp::scheduler {

class SchedulerService;
class Extensions;
class LogRing;
class PythonSide;
struct ExtensionContext;

namespace asio = protocol::asio;

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
  ConnectionRegistry& connections() { return connections_; }
  protocol::StreamHandlers& worker_stream_handlers() { return worker_stream_handlers_; }
  SchedulerService& service() { return *service_; }
  // The CPU split of issue 11 (diagnostics "counters").
  protocol::Value cpu_counters() const;
  python_compat::GraphMaterializer& materializer() { return *materializer_; }
  bool shutting_down() const { return shutting_down_; }

  // Scheduler.identity(n_workers): the reply of the `identity` op and the
  // contents of the scheduler file.
  protocol::Value identity(std::int64_t n_workers) const;

 private:
  void register_handlers();
  // The facade's SchedulerPort::diagnostics: the task stream and log ring.
  Result<protocol::Value> diagnostics(std::string_view what, double start);
  void register_server_handlers();
  void on_comm(std::shared_ptr<protocol::Comm> comm);
  asio::awaitable<void> serve(std::shared_ptr<protocol::Comm> comm);
  void arm_idle_check();
  void remove_run_files();
  void arm_shutdown_check();
  void arm_ttl_check();
  void arm_heap_trim_check();

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

  protocol::RpcHandlers rpc_handlers_{"Scheduler"};
  protocol::StreamHandlers client_stream_handlers_;
  protocol::StreamHandlers worker_stream_handlers_;
  ConnectionRegistry connections_;
  std::unique_ptr<SchedulerService> service_;
  std::unique_ptr<Extensions> extensions_;
  std::shared_ptr<LogRing> log_ring_;
  std::unique_ptr<ExtensionContext> extension_context_;
  std::unique_ptr<python_compat::Interpreter> interpreter_;
  std::unique_ptr<python_compat::GraphMaterializer> materializer_;
  // The Python scheduler facade (plugins, run_on_scheduler); after the listener.
  std::unique_ptr<PythonSide> python_side_;
  asio::steady_timer ttl_timer_;
  asio::steady_timer trim_timer_;
  std::uint64_t transitions_at_last_check_ = 0;
  std::uint64_t transitions_at_last_trim_ = 0;
  // Every accepted comm, to close them on shutdown; entries leave when served.
  std::unordered_map<protocol::Comm*, std::weak_ptr<protocol::Comm>> comms_;
};

}  // namespace daskcpp::scheduler
