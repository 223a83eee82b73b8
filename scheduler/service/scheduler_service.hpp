#pragma once
// SchedulerService: the scheduler core as the op handlers see it — the one
// SchedulerState, the stimulus factory, the Effects → wire translation, the
// worker address ↔ WorkerId ↔ stream maps and the ConnectionPool for
// scheduler → worker RPCs. Mirrors the parts of distributed.scheduler.Scheduler
// that sit between its handlers and SchedulerState (stimulus ids, send_all,
// stream_comms, client_comms, rpc).
//
// Handlers and extensions reach it through their ExtensionContext
// (extension_context.hpp): read/mutate state(), call a stimulus from
// scheduler/transitions/stimuli.hpp with make_stimulus("prefix"), and hand the
// resulting Effects to send_effects() (or apply(), which also logs errors).
// Peers are found in the ConnectionRegistry (connection_registry.hpp).
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
#include "protocol/comm/comm_options.hpp"
#include "protocol/comm/connection_pool.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/status.hpp"
#include "scheduler/service/connection_registry.hpp"
#include "scheduler/service/scheduler_hooks.hpp"
#include "scheduler/service/transition_observers.hpp"
#include "scheduler/state/effects.hpp"
#include "scheduler/state/scheduler_state.hpp"
#include "scheduler/transitions/transitions.hpp"

namespace daskcpp::scheduler {

class SchedulerService {
 public:
  // `comm` configures the comms of scheduler -> worker RPCs.
  SchedulerService(ConnectionRegistry& connections, SchedulerConfig config,
                   const protocol::CommOptions& comm);
  SchedulerService(const SchedulerService&) = delete;
  SchedulerService& operator=(const SchedulerService&) = delete;

  ConnectionRegistry& connections() { return connections_; }
  SchedulerState& state() { return state_; }
  const SchedulerState& state() const { return state_; }
  const SchedulerConfig& config() const { return state_.config(); }

  // Who sees each transition (task stream, Python plugins); see transition_observers.hpp.
  TransitionObservers& observers() { return observers_; }
  // The plugin hooks (scheduler_hooks.hpp); null when nothing hosts plugins.
  SchedulerHooks* hooks() const { return hooks_; }
  void set_hooks(SchedulerHooks* hooks) { hooks_ = hooks; }

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
  // The compute-task intent written straight into a worker's batch.
  void send_compute_task(protocol::BatchedSend& out, const ComputeTaskMsg& m) const;
  protocol::Value encode_client_msg(const ClientMsg& msg) const;

 private:
  ConnectionRegistry& connections_;
  SchedulerState state_;
  TransitionObservers observers_{state_};
  SchedulerHooks* hooks_ = nullptr;
  protocol::ConnectionPool pool_;
  struct ClientQueue {
    bool held = false;
    std::deque<std::function<void()>> pending;
  };
  std::unordered_map<std::string, ClientQueue> client_queues_;
};

}  // namespace daskcpp::scheduler
