#pragma once
// WorkerState: the worker's task state machine without sockets or Python (upstream
// distributed/worker_state_machine.py WorkerState). handle_stimulus(event) applies
// one StateMachineEvent and returns the Instructions the owner must carry out:
// Execute a task, GatherDep from a peer, a typed message for the scheduler, FreeData
// from the store.
//
// Same engine as upstream (and as the scheduler core, scheduler/transitions/): each
// event handler (event_handlers.cpp, upstream _handle_event) returns recommendations
// plus instructions; the recommendations loop (worker_state.cpp, upstream
// _transitions) applies them through one (start, finish) table of transition
// functions (transitions.cpp, upstream _TRANSITIONS_TABLE) until none is left, then
// starts transfers and tasks (_ensure_communicating, _ensure_computing). Only a
// transition function writes a task's status. A pair not in the table goes through
// `released`; any other pair is an error naming the key, both states and the
// stimulus id.
//
// Tasks move through the upstream states (released, waiting, fetch, flight, ready,
// constrained, executing, memory, error, cancelled, resumed, long-running, missing).
// A ready task with resource_restrictions is `constrained`: it starts only when each
// restricted resource is available, holds it while it runs (also after seceding) and
// gives it back when its execution ends (upstream _acquire/_release_resources). A task
// that is released while executing or in flight becomes `cancelled`; its result is
// dropped when it arrives. Released tasks nobody depends on are forgotten at once.
//
// Owns every TaskState, the ready queue (by priority), the fetch queue, and the
// bookkeeping of transfers in flight. Never sends, never blocks, reads no clock:
// times come inside the events.
// Thread safety: none; the worker's loop thread owns it.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protocol/status.hpp"
#include "worker/state/events.hpp"
#include "worker/state/instructions.hpp"
#include "worker/state/recs.hpp"
#include "worker/state/task_state.hpp"

namespace daskcpp::worker {

struct WorkerStateOptions {
  std::string address;  // our own contact address (never fetch from ourselves)
  int nthreads = 1;
  // distributed.worker.connections.incoming: peers fetched from at once.
  int transfer_incoming_count_limit = 10;
  // distributed.worker.transfer.message-bytes-limit: bytes asked of one peer at once.
  std::int64_t transfer_message_bytes_limit = 50'000'000;
};

class WorkerState {
 public:
  // `resources` (--resources, {name: amount}; upstream total_resources): tasks with
  // resource_restrictions run only while every amount they ask for is available.
  explicit WorkerState(WorkerStateOptions options,
                       std::map<std::string, double> resources = {});

  // Upstream handle_stimulus: the event's handler, then the recommendations loop.
  // An error (an impossible transition) leaves the state as far as it got.
  Result<Instructions> handle_stimulus(const StateMachineEvent& ev);

  // Upstream _transitions: the recommendations loop, then _ensure_communicating and
  // _ensure_computing. Public so that tests can drive the transition table directly.
  Result<Instructions> transitions(Recs recs, const std::string& stimulus_id);

  // ---- queries (queries.cpp)
  const TaskState* task(const Key& key) const;
  // False while paused (upstream WorkerState.running).
  bool running() const { return running_; }
  std::size_t task_count() const { return tasks_.size(); }
  // Tasks holding one of the nthreads slots (upstream WorkerState.executing).
  const std::set<Key>& executing() const { return executing_; }
  // Tasks still running on a thread that seceded (upstream long_running): they no
  // longer count against nthreads.
  const std::set<Key>& long_running() const { return long_running_; }
  const std::map<std::string, double>& total_resources() const {
    return total_resources_;
  }
  // What running tasks do not hold (upstream available_resources).
  const std::map<std::string, double>& available_resources() const {
    return available_resources_;
  }
  // {state name: count}, the heartbeat's metrics.task_counts.
  std::map<std::string, std::int64_t> task_counts() const;
  // Bytes of the values in memory (heartbeat managed_bytes).
  std::int64_t managed_bytes() const;
  // Peers with a get_data in flight, and the keys asked of each.
  const std::map<std::string, std::vector<Key>>& in_flight_workers() const {
    return in_flight_workers_;
  }
  // Checks every task's invariants (upstream validate_state); the first violation
  // names the key and both states.
  Status validate() const;

 private:
  using QueueEntry = std::pair<Priority, Key>;
  using TransitionFn = void (WorkerState::*)(TaskState&, const std::string& stimulus_id,
                                             RecsInstrs& out);

  // A value that arrived for a task (executed, fetched or scattered), waiting for
  // the transition to memory (upstream passes it along with the recommendation).
  struct PendingValue {
    std::int64_t nbytes = 0;
    std::optional<Bytes> type_pickle;
    std::string type_name;
    bool fetched = false;  // from a peer's get_data: announced with add-keys
  };

  TaskState& ensure_task(const Key& key);
  TaskState* find(const Key& key);

  // ---- event handlers (event_handlers.cpp; upstream _handle_<event>)
  RecsInstrs handle_event(const ComputeTaskEvent& ev);
  RecsInstrs handle_event(const FreeKeysEvent& ev);
  RecsInstrs handle_event(const StealRequestEvent& ev);
  RecsInstrs handle_event(const AcquireReplicasEvent& ev);
  RecsInstrs handle_event(const RemoveReplicasEvent& ev);
  RecsInstrs handle_event(const RefreshWhoHasEvent& ev);
  RecsInstrs handle_event(const RemoveWorkerEvent& ev);
  RecsInstrs handle_event(const ExecuteSuccessEvent& ev);
  RecsInstrs handle_event(const ExecuteFailureEvent& ev);
  RecsInstrs handle_event(const RescheduleEvent& ev);
  RecsInstrs handle_event(const GatherDepSuccessEvent& ev);
  RecsInstrs handle_event(const GatherDepBusyEvent& ev);
  RecsInstrs handle_event(const GatherDepNetworkFailureEvent& ev);
  RecsInstrs handle_event(const RetryBusyWorkerEvent& ev);
  RecsInstrs handle_event(const UpdateDataEvent& ev);
  RecsInstrs handle_event(const SecedeEvent& ev);
  RecsInstrs handle_event(const PauseEvent& ev);
  RecsInstrs handle_event(const UnpauseEvent& ev);
  // Upstream _execute_done_common: the task no longer holds a thread or resources.
  void execute_done_common(const Key& key);
  // The keys in flight from `worker`, no longer in flight.
  std::vector<Key> take_in_flight(const std::string& worker);
  // A transfer of these keys did not bring them: back to fetch (or missing), computed
  // here if resumed, released if cancelled meanwhile.
  void transfer_failed(const std::vector<Key>& keys, Recs& recs);

  // ---- the engine (worker_state.cpp; upstream _transition, _transitions)
  Status transition(const Key& key, TaskStatus finish, const std::string& stimulus_id,
                    RecsInstrs& out);
  Status run_recommendations(Recs recs, const std::string& stimulus_id,
                             Instructions& out);
  // Upstream _ensure_communicating: per peer, one get_data for the highest-priority
  // keys it holds, up to the byte limit, with at most N peers at once.
  Status ensure_communicating(const std::string& stimulus_id, Instructions& out);
  // Upstream _ensure_computing: fill the threads by priority.
  Status ensure_computing(const std::string& stimulus_id, Instructions& out);
  bool resources_available(const TaskState& ts) const;
  // The messages gathered while the recommendations ran, in their wire order.
  void flush_gathered_messages(const std::string& stimulus_id, Instructions& out);

  // ---- transition functions (transitions.cpp; upstream _transition_<start>_<finish>).
  // As upstream, one function may serve several pairs (see the table).
  static TransitionFn transition_function(TaskStatus start, TaskStatus finish);
  void transition_released_waiting(TaskState& ts, const std::string& sid,
                                   RecsInstrs& out);
  void transition_cancelled_waiting(TaskState& ts, const std::string& sid,
                                    RecsInstrs& out);
  void transition_resumed_waiting(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_released_fetch(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_flight_fetch(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_cancelled_fetch(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_generic_missing(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_flight_missing(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_fetch_missing(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_fetch_flight(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_waiting_ready(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_waiting_constrained(TaskState& ts, const std::string& sid,
                                      RecsInstrs& out);
  void transition_ready_executing(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_executing_long_running(TaskState& ts, const std::string& sid,
                                         RecsInstrs& out);
  void transition_executing_memory(TaskState& ts, const std::string& sid,
                                   RecsInstrs& out);
  void transition_flight_memory(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_resumed_memory(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_released_memory(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_executing_error(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_executing_released(TaskState& ts, const std::string& sid,
                                     RecsInstrs& out);
  void transition_executing_rescheduled(TaskState& ts, const std::string& sid,
                                        RecsInstrs& out);
  void transition_flight_released(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_resumed_released(TaskState& ts, const std::string& sid,
                                   RecsInstrs& out);
  void transition_cancelled_released(TaskState& ts, const std::string& sid,
                                     RecsInstrs& out);
  void transition_memory_released(TaskState& ts, const std::string& sid, RecsInstrs& out);
  void transition_generic_released(TaskState& ts, const std::string& sid,
                                   RecsInstrs& out);
  void transition_released_forgotten(TaskState& ts, const std::string& sid,
                                     RecsInstrs& out);
  // Shared bodies of the functions above.
  void to_cancelled(TaskState& ts);
  void put_in_memory(TaskState& ts, RecsInstrs& out);
  // Moves the value that arrived for the task (pending_values_) onto it.
  void take_pending_value(TaskState& ts);
  TaskFinishedMsg task_finished_msg(const TaskState& ts,
                                    const std::string& stimulus_id) const;
  void leave_queues(TaskState& ts);
  void enqueue_ready(TaskState& ts);

  WorkerStateOptions options_;
  std::unordered_map<Key, TaskState> tasks_;
  std::set<QueueEntry> ready_;
  std::set<QueueEntry> constrained_;  // upstream WorkerState.constrained
  std::map<std::string, double> total_resources_;
  std::map<std::string, double> available_resources_;
  std::set<QueueEntry> data_needed_;
  std::set<Key> executing_;
  std::set<Key> long_running_;
  std::map<std::string, std::vector<Key>> in_flight_workers_;
  std::set<std::string> busy_workers_;
  double generation_ = 0;
  bool running_ = true;
  // Gathered while one stimulus runs its recommendations (see flush_gathered_messages).
  std::unordered_map<Key, PendingValue> pending_values_;
  std::vector<Key> newly_missing_;
  std::vector<Key> added_keys_;
};

}  // namespace daskcpp::worker
