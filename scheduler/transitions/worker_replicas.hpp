#pragma once
// Replicas workers (or scatter) report: upstream release_worker_data, add_keys,
// handle_request_refresh_who_has and update_data (distributed/scheduler.py).

#include "scheduler/transitions/events.hpp"

namespace daskcpp::scheduler {

Result<Effects> release_worker_data(SchedulerState& s, const ReleaseWorkerData& m,
                                    const Stimulus& stim);
Result<Effects> add_keys(SchedulerState& s, const AddKeys& m, const Stimulus& stim);
Result<Effects> handle_request_refresh_who_has(SchedulerState& s,
                                               const RequestRefreshWhoHas& m,
                                               const Stimulus& stim);
Result<Effects> update_data(SchedulerState& s, const UpdateData& m, const Stimulus& stim);

}  // namespace daskcpp::scheduler
