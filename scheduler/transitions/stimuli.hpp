#pragma once
// The scheduler core's one entry point: an event (events.hpp) in, the intents to send
// out. handle() dispatches to the handler named after upstream's
// (distributed/scheduler.py), which runs the recommendations loop to a steady state:
//   graph_intake        UpdateGraph           update_graph
//   task_results        TaskFinished ...      stimulus_task_finished,
//                                             stimulus_task_erred, handle_long_running,
//                                             _reschedule, stimulus_retry
//   worker_replicas     ReleaseWorkerData ... release_worker_data, add_keys,
//                                             handle_request_refresh_who_has,
//                                             update_data
//   worker_membership   AddWorker ...         add_worker, handle_worker_status_change,
//                                             remove_worker
//   client_membership   AddClient ...         add_client, remove_client,
//                                             client_desires_keys,
//                                             client_releases_keys, stimulus_cancel,
//                                             report_on_key
//
// Thread: the scheduler loop. Errors are internal-consistency failures (an impossible
// transition); bad peer input (unknown keys, workers, clients) is ignored or answered
// as upstream does, never an error.

#include "protocol/status.hpp"
#include "scheduler/state/effects.hpp"
#include "scheduler/state/scheduler_state.hpp"
#include "scheduler/transitions/events.hpp"
#include "scheduler/transitions/transitions.hpp"

namespace daskcpp::scheduler {

Result<Effects> handle(SchedulerState& s, const SchedulerEvent& event,
                       const Stimulus& stim);
// The same for an update-graph, without copying its tasks into a SchedulerEvent.
Result<Effects> handle(SchedulerState& s, const UpdateGraph& event, const Stimulus& stim);

}  // namespace daskcpp::scheduler
