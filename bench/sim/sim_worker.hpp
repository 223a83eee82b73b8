#pragma once
// SimWorker: one simulated Dask worker that speaks the real worker protocol
// (protocol.md §6-7) but runs nothing: every compute-task finishes after a fixed
// simulated duration with the result None. Used to measure scheduler throughput
// without Python workers (issue 5).
//
// Mirrors, in miniature, distributed.Worker: _register_with_scheduler (status
// "init", then worker-status-change "running" on the stream), heartbeat (at the
// interval the scheduler returns), the stream handlers of §6.4 and the get_data /
// gather / identity RPCs. Dependencies are never fetched: a compute-task's missing
// dependencies are taken as received at once and reported with add-keys, as a
// stock worker does after gather_dep, so the scheduler's replica bookkeeping sees
// the same messages. Ready tasks start in arrival order, at most nthreads at once.
//
// Owns its listener, its batched stream to the scheduler, its task table and its
// heartbeat timer; borrows the process-wide ConnectionPool (heartbeats).
// Thread safety: none; everything runs on the one io_context thread.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bench/sim/sim_stats.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/batched_stream.hpp"
#include "protocol/comm/connection_pool.hpp"
#include "protocol/comm/listener.hpp"
#include "protocol/comm/rpc_handlers.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/messages/worker_ops.hpp"

namespace daskcpp::bench {

namespace asio = protocol::asio;

struct SimWorkerConfig {
  std::string scheduler_address;
  std::string host;  // listen and contact host
  std::string name;
  int nthreads = 1;
  std::chrono::milliseconds compute{0};
  protocol::Value versions;  // reported at registration (the scheduler's own)
  // A fake `thread` id for task-finished (stock reports threading.get_ident()).
  std::int64_t thread_id = 0;
  SimStats* stats = nullptr;  // the fleet's counters (required)
};

class SimWorker {
 public:
  // Called once when the worker has closed (scheduler close, lost stream, stop()).
  using OnClosed = std::function<void(SimWorker&)>;

  SimWorker(asio::io_context& io, protocol::ConnectionPool& pool, SimWorkerConfig config,
            OnClosed on_closed);
  SimWorker(const SimWorker&) = delete;
  SimWorker& operator=(const SimWorker&) = delete;

  // Listens, connects, registers and sends worker-status-change "running"; then the
  // stream and the heartbeat run in the background.
  asio::awaitable<Status> start();
  // Mirrors Worker.close: log-event, worker-status-change "closing", close-stream.
  void stop(const std::string& reason);

  const std::string& address() const { return address_; }
  bool closed() const { return closed_; }

 private:
  using Key = protocol::Key;
  using Value = protocol::Value;

  enum class TaskStatus : std::uint8_t { kReady, kExecuting };
  struct Task {
    std::int64_t run_id = 0;
    TaskStatus status = TaskStatus::kReady;
    bool cancelled = false;  // freed while executing: the result is discarded
    std::uint64_t seq = 0;   // matches its entry in ready_; stale entries are skipped
    double start = 0;
  };

  asio::awaitable<Status> register_with_scheduler();
  asio::awaitable<void> run_stream();
  asio::awaitable<void> heartbeat_loop();
  Value metrics() const;
  void setup_stream_handlers();
  void setup_rpc_handlers();

  // ---- stream ops (§6.4)
  struct ComputeTaskHead {
    Key key;
    std::int64_t run_id = 0;
    std::vector<Key> dependencies;
  };
  static std::optional<ComputeTaskHead> read_compute_task_head(const msgpack::object& m);
  // `deps`: the op's who_has pairs, or the head's dependency keys.
  template <typename Deps>
  void on_compute_task(const Key& key, std::int64_t run_id, const Deps& deps);
  void on_free_keys(const std::vector<Key>& keys, const std::string& stimulus_id);
  void on_steal_request(const protocol::StealRequest& op);
  void on_acquire_replicas(const protocol::AcquireReplicas& op);
  // ---- execution
  void start_ready_tasks();
  void on_task_done(const Key& key, std::uint64_t seq);
  void send_task_finished(const Key& key, std::int64_t run_id, double start, double stop);
  // ---- RPCs (§6.9, §7)
  asio::awaitable<Value> serve_get_data(protocol::RpcRequest& req);
  Value serve_gather(protocol::RpcRequest& req);

  // Queues one op on the stream to the scheduler (dropped before registration).
  void send(Value op);
  void finish_close();

  asio::io_context& io_;
  protocol::ConnectionPool& pool_;
  SimWorkerConfig config_;
  OnClosed on_closed_;
  std::shared_ptr<protocol::Listener> listener_;
  protocol::RpcHandlers rpc_;
  protocol::StreamHandlers stream_handlers_;
  std::shared_ptr<protocol::BatchedStream> stream_;
  asio::steady_timer heartbeat_timer_;
  std::string address_;
  std::string server_id_;
  double heartbeat_interval_s_ = 0.5;
  std::string status_ = "init";

  std::unordered_map<Key, Task> tasks_;  // ready or executing
  std::deque<std::pair<Key, std::uint64_t>> ready_;
  std::unordered_set<Key> memory_;  // keys whose (None) value we hold
  std::uint64_t next_seq_ = 1;
  int executing_ = 0;
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace daskcpp::bench
