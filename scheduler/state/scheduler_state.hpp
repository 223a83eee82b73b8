#pragma once
// SchedulerState: every task, worker, client, task prefix and task group the
// scheduler knows, in std::vector arenas addressed by strong ids, plus the key
// interner and the derived worker sets placement needs (running, idle,
// idle_task_count, saturated) and the queued / no-worker task sets.
// Mirrors distributed.scheduler.SchedulerState. Plain data: the transition functions
// (scheduler/transitions/) and placement (scheduler/placement/) operate on it.
//
// Thread safety: none. One thread (the scheduler's event loop) owns it.
//
// Lifetime of ids: task slots and task-group slots are reused once forgotten (a
// long-running scheduler must not grow with the number of tasks it ever saw); worker
// and client slots are never reused, so an id in a queued intent stays meaningful.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "scheduler/state/config.hpp"
#include "scheduler/state/effects.hpp"
#include "scheduler/state/ids.hpp"
#include "scheduler/state/task_state.hpp"
#include "scheduler/state/worker_state.hpp"

namespace daskcpp::scheduler {

// Declared in scheduler/transitions/transition_observer.hpp; the state only holds
// the pointer so that the engine finds it without another parameter everywhere.
class TransitionObserver;
class GraphObserver;

// One line of the bounded transition log that `story` answers from.
struct TransitionLogEntry {
  std::string key;
  TaskStatus start;
  TaskStatus finish;
  std::string stimulus_id;
  double now;
};

// Heterogeneous lookup so find_task(string_view) does not allocate.
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const {
    return std::hash<std::string_view>{}(s);
  }
};

class SchedulerState {
 public:
  explicit SchedulerState(SchedulerConfig config = {});
  SchedulerState(const SchedulerState&) = delete;
  SchedulerState& operator=(const SchedulerState&) = delete;

  const SchedulerConfig& config() const { return config_; }
  SchedulerConfig& mutable_config() { return config_; }

  // ---- tasks ----
  TaskState& task(TaskId id) { return tasks_[to_index(id)]; }
  const TaskState& task(TaskId id) const { return tasks_[to_index(id)]; }
  std::optional<TaskId> find_task(std::string_view key) const;
  std::size_t task_count() const { return interner_.size(); }
  // Creates a task in `status` (released or memory); the key must be unknown.
  TaskId new_task(std::string_view key, std::string_view prefix_name,
                  std::string_view group_name, TaskStatus status);
  // Frees a forgotten task's slot and its interned key (upstream _remove_key).
  void remove_task(TaskId id);
  void set_status(TaskId id, TaskStatus status);
  void add_dependency(TaskId ts, TaskId dep);
  std::int64_t get_nbytes(TaskId id) const;
  void set_nbytes(TaskId id, std::int64_t nbytes);
  const std::string& key(TaskId id) const { return *task(id).key; }
  // Every live task id (tests, validation).
  std::vector<TaskId> all_tasks() const;

  // ---- replicas ----
  void add_replica(TaskId ts, WorkerId ws);
  void remove_replica(TaskId ts, WorkerId ws);
  void remove_all_replicas(TaskId ts);

  // ---- workers ----
  WorkerState& worker(WorkerId id) { return workers_[to_index(id)]; }
  const WorkerState& worker(WorkerId id) const { return workers_[to_index(id)]; }
  std::optional<WorkerId> find_worker(std::string_view address) const;
  std::size_t worker_count() const { return worker_by_address_.size(); }
  // Alive workers, ordered by address (upstream `workers` SortedDict).
  const std::vector<WorkerId>& workers_by_address() const { return workers_sorted_; }
  WorkerId create_worker(WorkerState ws);  // registers address/host/name indexes
  void drop_worker(WorkerId id);           // unregisters; marks closed
  const IdSet<WorkerId>& running() const { return running_; }
  std::int64_t total_nthreads() const { return total_nthreads_; }
  // Addresses of the workers on a host (restrictions).
  const IdSet<WorkerId>* workers_on_host(std::string_view host) const;
  // Worker address for an alias (worker name); empty when unknown.
  std::optional<WorkerId> find_worker_by_name(std::string_view name) const;

  // Per-worker processing bookkeeping (upstream WorkerState.add_to_processing ...).
  void add_to_processing(WorkerId ws, TaskId ts);
  void add_to_long_running(WorkerId ws, TaskId ts);
  void remove_from_processing(WorkerId ws, TaskId ts);

  double prefix_duration(PrefixId p) const;
  double occupancy(WorkerId ws) const;
  double total_occupancy() const;

  // Worker-set membership maintained by placement::check_idle_saturated.
  void set_running(WorkerId ws, bool running);
  void set_idle(WorkerId ws, bool idle);
  void set_saturated(WorkerId ws, bool saturated);
  void set_idle_task_count(WorkerId ws, bool member);
  const std::vector<WorkerId>& idle() const { return idle_; }  // by address
  const IdSet<WorkerId>& saturated() const { return saturated_; }
  // idle_task_count ordered by (processing / nthreads, id): begin() is the least busy.
  const std::set<std::pair<double, WorkerId>>& idle_task_count() const {
    return idle_task_count_;
  }

  // ---- clients ----
  ClientState& client(ClientId id) { return clients_[to_index(id)]; }
  const ClientState& client(ClientId id) const { return clients_[to_index(id)]; }
  std::optional<ClientId> find_client(std::string_view client_key) const;
  ClientId ensure_client(std::string_view client_key);
  void drop_client(ClientId id);
  ClientId fire_and_forget() const { return fire_and_forget_; }
  std::vector<ClientId> alive_clients() const;

  // ---- prefixes and groups ----
  TaskPrefix& prefix(PrefixId id) { return prefixes_[to_index(id)]; }
  const TaskPrefix& prefix(PrefixId id) const { return prefixes_[to_index(id)]; }
  TaskGroup& group(GroupId id) { return groups_[to_index(id)]; }
  const TaskGroup& group(GroupId id) const { return groups_[to_index(id)]; }
  std::optional<GroupId> find_group(std::string_view name) const;
  std::size_t group_count() const { return group_by_name_.size(); }

  // ---- queued and no-worker sets ----
  std::set<std::pair<Priority, TaskId>>& queued() { return queued_; }
  const std::set<std::pair<Priority, TaskId>>& queued() const { return queued_; }
  bool is_queued(TaskId id) const;
  std::map<TaskId, double>& unrunnable() { return unrunnable_; }
  const std::map<TaskId, double>& unrunnable() const { return unrunnable_; }

  // ---- counters ----
  std::int64_t next_run_id() { return run_id_counter_++; }
  std::int64_t n_tasks = 0;  // tasks ever sent to processing (round-robin placement)
  double generation = 0;
  double last_time = 0;
  std::uint64_t transition_counter = 0;

  // ---- transition observer (nullable; not owned) ----
  TransitionObserver* transition_observer() const { return observer_; }
  void set_transition_observer(TransitionObserver* observer) { observer_ = observer; }
  // Sees each update-graph before its transitions (graph_observer.hpp); nullable.
  GraphObserver* graph_observer() const { return graph_observer_; }
  void set_graph_observer(GraphObserver* observer) { graph_observer_ = observer; }
  // A core module that follows every transition too (work stealing's stealable
  // sets), called after the transition observer. Unlike that one it does not ask the
  // worker handlers for each task-finished's op map, so it costs the hot path only
  // its call. Nullable; not owned.
  TransitionObserver* processing_observer() const { return processing_observer_; }
  void set_processing_observer(TransitionObserver* observer) {
    processing_observer_ = observer;
  }

  // ---- transition log ----
  void log_transition(TaskId id, TaskStatus start, TaskStatus finish,
                      std::string_view stimulus_id, double now);
  // Transitions touching `key_or_stimulus` (as a key or as a stimulus id), oldest first.
  std::vector<TransitionLogEntry> story(std::string_view key_or_stimulus) const;
  // The whole bounded log, oldest first (upstream Scheduler.transition_log).
  std::vector<TransitionLogEntry> transition_log() const;
  // The entries naming any of these keys or stimulus ids, oldest first.
  std::vector<TransitionLogEntry> story(
      const std::vector<std::string>& keys_or_stimuli) const;

  // Arena bytes (struct slots + owned heap of id sets + interned keys), for measurements.
  std::size_t approx_task_bytes() const;

 private:
  void remove_group_if_done(GroupId id);
  void index_insert_sorted_by_address(std::vector<WorkerId>& v, WorkerId id);
  void index_erase(std::vector<WorkerId>& v, WorkerId id);

  SchedulerConfig config_;

  std::vector<TaskState> tasks_;
  std::vector<TaskId> free_tasks_;
  std::unordered_map<std::string, TaskId, KeyHash, std::equal_to<>> interner_;

  std::vector<WorkerState> workers_;
  std::unordered_map<std::string, WorkerId, KeyHash, std::equal_to<>> worker_by_address_;
  std::unordered_map<std::string, WorkerId, KeyHash, std::equal_to<>> worker_by_name_;
  std::unordered_map<std::string, IdSet<WorkerId>, KeyHash, std::equal_to<>> hosts_;
  std::vector<WorkerId> workers_sorted_;
  IdSet<WorkerId> running_;
  std::vector<WorkerId> idle_;
  IdSet<WorkerId> saturated_;
  std::set<std::pair<double, WorkerId>> idle_task_count_;
  std::int64_t total_nthreads_ = 0;

  std::vector<ClientState> clients_;
  std::unordered_map<std::string, ClientId, KeyHash, std::equal_to<>> client_by_key_;
  ClientId fire_and_forget_{};

  std::vector<TaskPrefix> prefixes_;
  std::unordered_map<std::string, PrefixId, KeyHash, std::equal_to<>> prefix_by_name_;
  std::vector<TaskGroup> groups_;
  std::vector<GroupId> free_groups_;
  std::unordered_map<std::string, GroupId, KeyHash, std::equal_to<>> group_by_name_;

  // Processing (not long-running) tasks per prefix over all workers; only non-zero
  // counts are kept so total_occupancy() is O(active prefixes).
  std::unordered_map<PrefixId, std::int64_t> prefix_count_global_;
  double network_occ_global_ = 0;

  std::set<std::pair<Priority, TaskId>> queued_;
  std::map<TaskId, double> unrunnable_;

  std::int64_t run_id_counter_ = 0;
  TransitionObserver* observer_ = nullptr;
  GraphObserver* graph_observer_ = nullptr;
  TransitionObserver* processing_observer_ = nullptr;

  std::vector<TransitionLogEntry> log_;  // ring buffer
  std::size_t log_next_ = 0;
  bool log_wrapped_ = false;
};

}  // namespace daskcpp::scheduler
