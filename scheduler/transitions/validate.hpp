#pragma once
// validate_task: one task's invariants (upstream SchedulerState.validate_key,
// validate_<state> and validate_task_state). Returns the first violated invariant
// as an Invalid status naming the key and its state. Run by transitions() for every
// touched task when config().validate is set (tests, Debug builds).

#include "protocol/status.hpp"
#include "scheduler/state/scheduler_state.hpp"

namespace daskcpp::scheduler {

Status validate_task(const SchedulerState& s, TaskId id);

// Every task plus the worker sets (upstream validate_state).
Status validate_state(const SchedulerState& s);

}  // namespace daskcpp::scheduler
