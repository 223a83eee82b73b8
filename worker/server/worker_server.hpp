#pragma once
// WorkerServer: the daskcpp worker process (upstream distributed/worker.py Worker
// without the nanny, spilling, plugins or actors).
//
// Owns the io_context and its one loop thread, the WorkerState, the data store
// (key -> id of a Python value held by the TaskRunner), the listener serving
// get_data/update_data/free_keys/gather/identity, the batched stream to the
// scheduler, the heartbeat and the connection pool to peers. Tasks run on the
// TaskRunner's executor threads; their results are posted back to the loop.
//
// Life cycle (mirrors Worker.start / _register_with_scheduler / close): listen,
// connect to the scheduler, register with status "init", send worker-status-change
// "running" on the stream, heartbeat at the interval the scheduler asks; on `close`
// from the scheduler, SIGINT/SIGTERM, a lost stream or a "missing" heartbeat reply,
// announce closing and stop.
// Thread safety: everything but the TaskRunner callbacks runs on the loop thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/comm/asio.hpp"
#include "protocol/comm/batched_stream.hpp"
#include "protocol/comm/connection_pool.hpp"
#include "protocol/comm/listener.hpp"
#include "protocol/comm/rpc_handlers.hpp"
#include "protocol/messages/rpc_ops.hpp"
#include "python_compat/interpreter.hpp"
#include "python_compat/task_runner.hpp"
#include "worker/state/worker_state.hpp"
#include "worker/store/data_store.hpp"
#include "worker/store/memory_thresholds.hpp"

namespace daskcpp::worker {

namespace asio = protocol::asio;

struct WorkerOptions {
  std::string scheduler_address;
  std::string listen_host = "0.0.0.0";
  std::uint16_t listen_port = 0;
  // Advertised host; empty = the local address of our connection to the scheduler.
  std::string contact_host;
  int nthreads = 1;
  std::optional<std::string> name;  // default: our contact address
  std::optional<std::int64_t> memory_limit;
  // --resources: {name: amount}, registered with the scheduler (upstream
  // WorkerState.total_resources).
  std::map<std::string, double> resources;
  std::string local_directory;
  // Give up reaching the scheduler after this long.
  std::chrono::milliseconds death_timeout{60'000};
  std::string python_executable;  // empty = build default
  // distributed.worker.connections.outgoing: concurrent get_data served.
  int transfer_outgoing_count_limit = 50;
  // Started by a nanny (worker/nanny/): its address, sent at registration and told
  // `close_gracefully` before we close for any reason but a signal (Worker.close
  // nanny=True), so it does not restart us.
  std::optional<std::string> nanny_address;
  // Called once with our address when registered and running (the nanny's
  // init_result_q message).
  std::function<void(const std::string& address)> on_running;
};

// A value Python serialized (a result, an exception), as the Serialized payload sent
// on the wire.
protocol::Value serialized_payload(const python_compat::SerializedValue& v);

class WorkerServer {
 public:
  explicit WorkerServer(WorkerOptions options);
  ~WorkerServer();
  WorkerServer(const WorkerServer&) = delete;
  WorkerServer& operator=(const WorkerServer&) = delete;

  // Starts Python, the executors and the listener. Startup errors are returned.
  Status start();
  // Runs the loop until the worker has closed; returns the reason it closed.
  Status run();

 private:
  using Value = protocol::Value;
  using ValueId = python_compat::ValueId;

  // ---- life cycle (worker_server.cpp)
  asio::awaitable<void> main_task();
  asio::awaitable<Status> register_with_scheduler();
  asio::awaitable<void> heartbeat_loop();
  Value metrics() const;
  Value extensions_heartbeat() const;
  // `notify_nanny` false: the nanny itself stopped us (signal) or we never ran.
  void close(const std::string& reason, bool notify_nanny = true);
  asio::awaitable<void> finish_close(std::string reason, bool notify_nanny);
  void setup_stream_handlers();
  void setup_rpc_handlers();
  // Unix time in seconds: registration `now`, heartbeats, startstops.

  // ---- state machine glue (worker_server.cpp)
  // Applies the event to the state machine and carries out its instructions.
  void handle(StateMachineEvent event);
  void dispatch(Instructions instructions);
  void execute(const Execute& ex);
  void on_execute_done(Key key, ValueId id, Result<python_compat::TaskOutcome> outcome);
  void free_data(const Key& key);
  void store(const Key& key, ValueId id, std::int64_t nbytes);

  // ---- memory limit and spilling (spill.cpp)
  // The worker's own directory, <--local-directory or tmp>/daskcpp-worker-<pid>:
  // spill files (storage/) and what Python plugins keep on disk (the P2P shuffle's
  // buffers) live there; it is the local_directory the worker reports.
  Status create_work_directory();
  Status start_memory_manager();
  void remove_work_directory();
  static std::int64_t process_memory();
  std::string spill_path(ValueId id) const;
  // Moves one in-memory value to its spill file; false when it could not.
  bool spill(const Key& key);
  // Brings a spilled value back into memory (same id).
  Status unspill(const Key& key);
  // Releases the Python value or removes the spill file of a dropped entry.
  void remove_spilled(const StoredValue& v);
  void spill_to_target();
  asio::awaitable<void> memory_monitor_loop();
  void set_status(const std::string& status, const std::string& stimulus_id);

  // ---- Python-side worker: get_worker() facade, run, plugins (python_rpcs.cpp)
  Status configure_python_context();
  void close_python_context();
  void add_scheduler_plugins(const Value& worker_plugins);
  void setup_python_rpcs();
  asio::awaitable<Value> serve_run(protocol::RpcRequest& req);
  asio::awaitable<Value> serve_plugin_add(protocol::RpcRequest& req);
  asio::awaitable<Value> serve_plugin_remove(protocol::RpcRequest& req);
  // Ops WorkerPlugins registered on the facade (facade.handlers, stream_handlers).
  asio::awaitable<Value> serve_python_handler(protocol::RpcRequest& req);
  Status forward_stream_op(const protocol::StreamMessage& sm);

  // ---- transfers (transfer.cpp)
  struct Fetched {
    bool busy = false;
    std::vector<ReceivedValue> values;  // stored already
  };
  asio::awaitable<void> gather_dep(GatherDep gd);
  // get_data from one peer, then the "OK" ack; stores what arrived.
  asio::awaitable<Result<Fetched>> fetch(const std::string& worker,
                                         const std::vector<Key>& keys);
  Result<ReceivedValue> store_received(const Key& key, const Value& payload);
  asio::awaitable<Value> serve_get_data(protocol::RpcRequest& req);
  asio::awaitable<Value> serve_gather(protocol::RpcRequest& req);
  Value serve_update_data(protocol::RpcRequest& req);

  WorkerOptions options_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer heartbeat_timer_;
  std::unique_ptr<python_compat::Interpreter> interpreter_;
  std::unique_ptr<python_compat::TaskRunner> runner_;
  std::shared_ptr<protocol::Listener> listener_;
  protocol::RpcHandlers rpc_;
  protocol::StreamHandlers stream_handlers_;
  protocol::ConnectionPool pool_;
  std::shared_ptr<protocol::BatchedStream> stream_;
  std::unique_ptr<WorkerState> state_;  // created once our address is known
  DataStore data_;
  MemoryThresholds memory_;
  asio::steady_timer memory_timer_{io_};
  std::string work_dir_;
  std::string spill_dir_;  // empty: no memory limit, nothing spills
  ValueId next_value_id_ = 1;
  std::string address_;  // contact address, "tcp://host:port"
  std::string server_id_;
  Value versions_ = Value(protocol::Map{});
  double heartbeat_interval_ = 0.5;
  int outgoing_count_ = 0;
  std::int64_t outgoing_count_total_ = 0;
  std::int64_t incoming_count_total_ = 0;
  std::string status_ = "init";
  bool closing_ = false;
  Status close_reason_;
};

}  // namespace daskcpp::worker
