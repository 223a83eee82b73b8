#pragma once
// Graph intake: an update-graph's materialized tasks become TaskStates, get their
// priorities, annotations and dependencies, and the runnable ones are recommended
// (upstream Scheduler.update_graph → _create_taskstate_from_graph).

#include "scheduler/transitions/events.hpp"

namespace daskcpp::scheduler {

Result<Effects> update_graph(SchedulerState& s, const UpdateGraph& g,
                             const Stimulus& stim);

}  // namespace daskcpp::scheduler
