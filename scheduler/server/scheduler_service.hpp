#pragma once
// SchedulerService: the scheduler core as the op handlers see it — the one
// SchedulerState, the stimulus factory, the Effects → wire translation, the
// worker address ↔ WorkerId ↔ stream maps and the ConnectionPool for
// scheduler → worker RPCs. Mirrors the parts of distributed.scheduler.Scheduler
// that sit between its handlers and SchedulerState (stimulus ids, send_all,
// stream_comms, client_comms, rpc).
//
// NOTE for scheduler/server/data_handlers.{hpp,cpp} and worker_rpc.{hpp,cpp}:
// this header is the agreed interface. Handlers get a SchedulerService& (from
// `SchedulerServer::service()`), read/mutate state(), call a stimulus from
// scheduler/transitions/stimuli.hpp with make_stimulus("prefix"), and hand the
// resulting Effects to send_effects() (or apply(), which also logs errors).
// Register your handlers from a `void register_data_handlers(SchedulerServer&)`
// / `void register_worker_rpc_handlers(SchedulerServer&)`; I call both from
// SchedulerServer::register_handlers() once they exist.
//
// Threading: the loop thread only; nothing here blocks or locks.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "protocol/codec/value.hpp"
#include "protocol/comm/batched_stream.hpp"
#include "protocol/comm/connection_pool.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/status.hpp"
#include "scheduler/state/effects.hpp"
#include "scheduler/state/scheduler_state.hpp"
#include "scheduler/transitions/transitions.hpp"

namespace daskcpp::scheduler {

class SchedulerServer;

// A connected worker's comm-side bookkeeping (the core's WorkerState holds the rest).
struct WorkerConnection {
  WorkerId id = kNoId<WorkerId>;
  std::string address;
  std::shared_ptr<protocol::BatchedStream> stream;  // null until the stream runs
  std::optional<std::string> nanny;
  protocol::Value name;  // as registered (str or int)
  std::string local_directory;
  protocol::Value services = protocol::Value(protocol::Map{});
  std::optional<std::int64_t> pid;
  protocol::Value metrics = protocol::Value(protocol::Map{});
  double last_seen = 0;  // unix seconds (heartbeats)
  double time_delay = 0;
  bool closing = false;  // the worker announced it is going away
};

class SchedulerService {
 public:
  SchedulerService(SchedulerServer& server, SchedulerConfig config);
  SchedulerService(const SchedulerService&) = delete;
  SchedulerService& operator=(const SchedulerService&) = delete;

  SchedulerServer& server() { return server_; }
  SchedulerState& state() { return state_; }
  const SchedulerState& state() const { return state_; }
  const SchedulerConfig& config() const { return state_.config(); }

  // "<prefix>-<unix time>" (upstream f"{prefix}-{time()}") with now = unix time.
  Stimulus make_stimulus(std::string_view prefix) const;

  // Turns every intent into its wire message on the right client/worker stream
  // (§5.4, §6.4). Messages to gone clients/workers are dropped.
  void send_effects(Effects&& effects);
  // send_effects on success; on error logs it with `what` (an internal
  // inconsistency in the core — the op is abandoned, the peer stays connected).
  void apply(Result<Effects> effects, std::string_view what);

  // ---- workers ----
  WorkerConnection* find_worker(std::string_view address);
  WorkerConnection* find_worker(WorkerId id);
  std::unordered_map<std::string, WorkerConnection>& worker_connections() {
    return workers_;
  }
  // Removes the worker from the state and the maps, sends the resulting
  // intents, closes its stream (Scheduler.remove_worker). No-op if unknown.
  void remove_worker(const std::string& address, bool expected, bool close,
                     std::string_view stimulus_prefix);

  // ---- clients ----
  // The client's stream, or null when it is not connected.
  protocol::BatchedStream* client_stream(const std::string& client);
  // Client ops apply in arrival order even though update-graph materializes
  // off the loop: run_in_client_order runs `op` now unless an earlier op of
  // this client is still held (then it queues); hold_client marks the current
  // op as in flight, release_client ends that and runs what queued behind it.
  void run_in_client_order(const std::string& client, std::function<void()> op);
  void hold_client(const std::string& client);
  void release_client(const std::string& client);
  bool client_held(const std::string& client) const;

  // ---- keys ----
  // The key as a message field: its canonical bytes, written verbatim (no decode).
  static protocol::Value key_value(std::string_view canonical);

  // ---- scheduler -> worker RPCs ----
  protocol::ConnectionPool& connection_pool() { return pool_; }

  // ---- intents → wire (pure; unit-tested) ----
  // The op-map for a worker intent, or nil if it names a task/worker that is gone.
  protocol::Value encode_worker_msg(const WorkerMsg& msg) const;
  protocol::Value encode_client_msg(const ClientMsg& msg) const;

 private:
  SchedulerServer& server_;
  SchedulerState state_;
  protocol::ConnectionPool pool_;
  std::unordered_map<std::string, WorkerConnection> workers_;  // by address
  struct ClientQueue {
    bool held = false;
    std::deque<std::function<void()>> pending;
  };
  std::unordered_map<std::string, ClientQueue> client_queues_;
};

}  // namespace daskcpp::scheduler
