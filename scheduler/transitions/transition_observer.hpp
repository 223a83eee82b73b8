#pragma once
// TransitionObserver: what sees every single transition the engine makes — the
// hook upstream calls `SchedulerPlugin.transition` from (SchedulerState._transition,
// distributed/scheduler.py 2057-2072). The server installs one when something needs
// it (a Python plugin with a `transition` hook, the hosted P2P shuffle extension, the
// task stream); with none installed the engine pays one null test per transition.
//
// An observer may read and mutate the state (restrictions, annotations) but must not
// run transitions itself: it is called from inside the recommendations loop.
//
// Thread: the scheduler loop.

#include "scheduler/state/ids.hpp"
#include "scheduler/state/scheduler_state.hpp"
#include "scheduler/transitions/transition_args.hpp"

namespace daskcpp::scheduler {

// A task's links as they were before it went to forgotten (propagate_forgotten
// unlinks it; stock puts them back on the TaskState while the plugins run).
struct LinksBefore {
  IdSet<TaskId> dependencies;
  IdSet<TaskId> dependents;
};

class TransitionObserver {
 public:
  virtual ~TransitionObserver() = default;

  // Called once per single transition, after the transition function, with `finish`
  // the state the task actually reached; a routed start -> released -> finish gives
  // two calls, as upstream. The task is still alive during the call even when
  // `finish` is forgotten (its slot is freed right after); then `before` holds its
  // links from before the transition, else it is null. `args` carries the worker's
  // task-finished / task-erred message (TransitionArgs::wire) when there was one.
  virtual void on_transition(SchedulerState& s, TaskId id, TaskStatus start,
                             TaskStatus finish, const TransitionArgs& args,
                             const Stimulus& stim, const LinksBefore* before) = 0;
};

}  // namespace daskcpp::scheduler
