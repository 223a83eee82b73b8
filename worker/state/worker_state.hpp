#pragma once
// WorkerState: the worker's task state machine without sockets or Python (upstream
// distributed/worker_state_machine.py WorkerState). Each handle(event) applies one
// stimulus and returns the Instructions the owner must carry out: Execute a task,
// GatherDep from a peer, SendMsg to the scheduler, FreeData from the store.
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

#include "protocol/messages/worker_ops.hpp"
#include "protocol/status.hpp"
#include "worker/state/events.hpp"
#include "worker/state/instructions.hpp"
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

  // Scheduler stream ops (protocol.md §6.4).
  Instructions handle(const protocol::ComputeTask& ev);
  Instructions handle(const protocol::FreeKeys& ev);
  Instructions handle(const protocol::StealRequest& ev);
  Instructions handle(const protocol::AcquireReplicas& ev);
  Instructions handle(const protocol::RemoveReplicas& ev);
  Instructions handle(const protocol::RefreshWhoHas& ev);
  Instructions handle(const protocol::RemoveWorker& ev);
  // Local events.
  Instructions handle(const ExecuteSuccess& ev);
  Instructions handle(const ExecuteFailure& ev);
  Instructions handle(const GatherDepSuccess& ev);
  Instructions handle(const GatherDepBusy& ev);
  Instructions handle(const GatherDepNetworkFailure& ev);
  Instructions handle(const RetryBusyWorker& ev);
  Instructions handle(const UpdateData& ev);
  Instructions handle(const Pause& ev);
  Instructions handle(const Unpause& ev);
  Instructions handle(const Secede& ev);

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

  TaskState& ensure_task(const Key& key);
  TaskState* find(const Key& key);

  void to_waiting(TaskState& ts, const std::string& stimulus_id, Instructions& out);
  void to_fetch_or_missing(TaskState& ts, Instructions& out, std::vector<Key>& missing);
  void to_ready(TaskState& ts);
  void put_in_memory(TaskState& ts, std::int64_t nbytes,
                     const std::optional<Bytes>& type_pickle,
                     const std::string& type_name);
  // Released -> forgotten when nothing here depends on it any more.
  void release(TaskState& ts, const std::string& stimulus_id, Instructions& out);
  void release_dependencies(TaskState& ts, const std::string& stimulus_id,
                            Instructions& out);
  void maybe_forget(const Key& key);
  void leave_queues(TaskState& ts);
  void request_refresh(std::vector<Key>& missing, const std::string& stimulus_id,
                       Instructions& out);
  // The keys in flight from `worker`, no longer in flight.
  std::vector<Key> take_in_flight(const std::string& worker);
  // A transfer of these keys did not bring them: back to fetch (or missing), or
  // released if they were cancelled meanwhile.
  void transfer_failed(const std::vector<Key>& keys, const std::string& stimulus_id,
                       Instructions& out);

  void ensure_communicating(const std::string& stimulus_id, Instructions& out);
  void ensure_computing(const std::string& stimulus_id, Instructions& out);
  bool resources_available(const TaskState& ts) const;
  // The task stops running: give back what it held.
  void release_resources(const Key& key);
  protocol::Value task_finished_msg(const TaskState& ts,
                                    const std::string& stimulus_id) const;

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
};

}  // namespace daskcpp::worker
