#pragma once
// The individual transition functions and the helpers they share, named after
// upstream's SchedulerState._transition_<start>_<finish> and friends
// (_add_to_processing, _exit_processing_common, _add_to_memory, _propagate_released,
// _propagate_erred, _propagate_forgotten, _client_releases_keys).
// Each writes recommendations into `recs` and intents into `out`; none sends.

#include "protocol/status.hpp"
#include "scheduler/state/effects.hpp"
#include "scheduler/state/scheduler_state.hpp"
#include "scheduler/transitions/transition_args.hpp"

namespace daskcpp::scheduler {

// The engine's transition(), for the one function that must transition a task at
// once instead of recommending it (_add_to_processing errs a task whose inputs exceed
// the worker's memory, as upstream calls self._transition there). Passed in so that
// the functions do not include the engine that dispatches to them.
using NestedTransition = Status (*)(SchedulerState&, TaskId, TaskStatus,
                                    const TransitionArgs&, const Stimulus&, Recs&,
                                    Effects&);

struct TransitionCtx {
  SchedulerState& s;
  const Stimulus& stim;
  const TransitionArgs& args;
  Recs& recs;
  Effects& out;
  NestedTransition transition;
};

using TransitionFn = Status (*)(TransitionCtx&, TaskId);

// The (start, finish) table; nullptr when the pair has no direct transition.
TransitionFn transition_function(TaskStatus start, TaskStatus finish);

Status transition_released_waiting(TransitionCtx& c, TaskId id);
Status transition_waiting_released(TransitionCtx& c, TaskId id);
Status transition_waiting_processing(TransitionCtx& c, TaskId id);
Status transition_waiting_no_worker(TransitionCtx& c, TaskId id);
Status transition_waiting_queued(TransitionCtx& c, TaskId id);
Status transition_waiting_memory(TransitionCtx& c, TaskId id);
Status transition_queued_released(TransitionCtx& c, TaskId id);
Status transition_queued_processing(TransitionCtx& c, TaskId id);
Status transition_queued_erred(TransitionCtx& c, TaskId id);
Status transition_processing_released(TransitionCtx& c, TaskId id);
Status transition_processing_memory(TransitionCtx& c, TaskId id);
Status transition_processing_erred(TransitionCtx& c, TaskId id);
Status transition_no_worker_released(TransitionCtx& c, TaskId id);
Status transition_no_worker_processing(TransitionCtx& c, TaskId id);
Status transition_no_worker_erred(TransitionCtx& c, TaskId id);
Status transition_released_forgotten(TransitionCtx& c, TaskId id);
Status transition_memory_erred(TransitionCtx& c, TaskId id);
Status transition_memory_forgotten(TransitionCtx& c, TaskId id);
Status transition_erred_released(TransitionCtx& c, TaskId id);
Status transition_memory_released(TransitionCtx& c, TaskId id);
Status transition_released_erred(TransitionCtx& c, TaskId id);

// Drops `client`'s interest in `keys`; tasks nobody wants any more are recommended
// forgotten (no dependents) or released (upstream _client_releases_keys).
void client_releases_keys_into(SchedulerState& s, ClientId client,
                               const std::vector<TaskId>& keys, Recs& recs);

// report_on_key: the message telling `client` (and every client wanting the task)
// its current state.
void report_on_key(const SchedulerState& s, TaskId id, ClientId client, Effects& out);

// The compute-task intent for a task that has just been put on `ws`.
ComputeTaskMsg task_to_msg(SchedulerState& s, TaskId id, WorkerId ws,
                           const std::string& stimulus_id);

}  // namespace daskcpp::scheduler
