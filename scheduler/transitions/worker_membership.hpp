#pragma once
// Workers joining, changing status and leaving: upstream add_worker,
// handle_worker_status_change and remove_worker (distributed/scheduler.py).

#include "scheduler/transitions/events.hpp"

namespace daskcpp::scheduler {

// Error if the address is already registered or nthreads < 1.
Result<Effects> add_worker(SchedulerState& s, const AddWorker& m, const Stimulus& stim);
Result<Effects> handle_worker_status_change(SchedulerState& s,
                                            const WorkerStatusChange& m,
                                            const Stimulus& stim);
Result<Effects> remove_worker(SchedulerState& s, const RemoveWorker& m,
                              const Stimulus& stim);

}  // namespace daskcpp::scheduler
