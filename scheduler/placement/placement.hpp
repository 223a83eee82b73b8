#pragma once
// Placement: which worker runs a ready task (protocol.md §10.3, §10.4). Mirrors
// SchedulerState.is_rootish, decide_worker_rootish_queuing_enabled/_disabled,
// decide_worker_non_rootish, valid_workers, get_comm_cost, worker_objective and
// check_idle_saturated (distributed/scheduler.py).
//
// Cost per event, and the structures that give it:
// * root-ish, queuing on: the least busy worker with a free slot is the first entry of
//   SchedulerState::idle_task_count(), a std::set ordered by processing/nthreads —
//   O(log W) to read and to update after each processing change.
// * non-root-ish with dependencies: only the workers holding a dependency are scored
//   (O(Σ replicas of deps)); the full running set is scanned only when no holder is
//   running (the same fallback as upstream).
// * no dependencies, no restrictions: idle workers (or all running) by address; fewer
//   than 20 are scanned, otherwise round-robin by a counter, O(1).
// * root-ish, queuing off: a new co-assignment worker is chosen (O(W)) only once per
//   ~len(group)/total_nthreads × nthreads tasks.
// * restrictions: resolved per task from the address / host / resource indexes;
//   resource restrictions scan the workers (restricted tasks are rare).
// * occupancy is recomputed from the per-worker prefix counts (O(prefixes processing
//   on the worker)), so prefix duration updates need no sweep over workers.
//
// Thread: the scheduler loop. All functions except check_idle_saturated and the
// co-assignment bookkeeping of decide_worker_rootish_queuing_disabled are const.

#include <cstdint>
#include <optional>

#include "scheduler/state/ids.hpp"
#include "scheduler/state/scheduler_state.hpp"

namespace daskcpp::scheduler {

bool is_rootish(const SchedulerState& s, TaskId ts);

// max(ceil(saturation × nthreads), 1) − (processing − long_running); saturation finite.
std::int64_t task_slots_available(const WorkerState& ws, double saturation);
bool worker_full(const WorkerState& ws, double saturation);

// Recomputes ws's membership in idle, saturated and idle_task_count.
void check_idle_saturated(SchedulerState& s, WorkerId ws);

std::optional<WorkerId> decide_worker_rootish_queuing_enabled(const SchedulerState& s);
std::optional<WorkerId> decide_worker_rootish_queuing_disabled(SchedulerState& s,
                                                               TaskId ts);
std::optional<WorkerId> decide_worker_non_rootish(const SchedulerState& s, TaskId ts);

// nullopt: no restrictions (any running worker). Otherwise the allowed running workers
// (possibly empty).
std::optional<IdSet<WorkerId>> valid_workers(const SchedulerState& s, TaskId ts);

// Seconds to move the dependencies `ws` lacks.
double get_comm_cost(const SchedulerState& s, TaskId ts, WorkerId ws);

struct WorkerObjective {
  double start_time;
  std::int64_t nbytes;
  friend auto operator<=>(const WorkerObjective&, const WorkerObjective&) = default;
};
WorkerObjective worker_objective(const SchedulerState& s, TaskId ts, WorkerId ws);

}  // namespace daskcpp::scheduler
