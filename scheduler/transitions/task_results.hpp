#pragma once
// What workers report about the tasks they run, and the client's retry of erred
// tasks: upstream stimulus_task_finished, stimulus_task_erred, handle_long_running,
// _reschedule and stimulus_retry (distributed/scheduler.py).

#include "scheduler/transitions/events.hpp"

namespace daskcpp::scheduler {

Result<Effects> stimulus_task_finished(SchedulerState& s, const TaskFinished& m,
                                       const Stimulus& stim);
Result<Effects> stimulus_task_erred(SchedulerState& s, const TaskErred& m,
                                    const Stimulus& stim);
Result<Effects> handle_long_running(SchedulerState& s, const LongRunning& m,
                                    const Stimulus& stim);
Result<Effects> reschedule(SchedulerState& s, const Reschedule& m, const Stimulus& stim);
Result<Effects> stimulus_retry(SchedulerState& s, const Retry& m, const Stimulus& stim);

}  // namespace daskcpp::scheduler
