#pragma once
// Clients joining and leaving, and the keys they hold: upstream add_client,
// remove_client, client_desires_keys, client_releases_keys, stimulus_cancel and
// report_on_key (distributed/scheduler.py).

#include "scheduler/transitions/events.hpp"

namespace daskcpp::scheduler {

Result<Effects> add_client(SchedulerState& s, const AddClient& m, const Stimulus& stim);
Result<Effects> remove_client(SchedulerState& s, const RemoveClient& m,
                              const Stimulus& stim);
Result<Effects> client_desires_keys(SchedulerState& s, const ClientDesiresKeys& m,
                                    const Stimulus& stim);
Result<Effects> client_releases_keys(SchedulerState& s, const ClientReleasesKeys& m,
                                     const Stimulus& stim);
Result<Effects> stimulus_cancel(SchedulerState& s, const CancelKeys& m,
                                const Stimulus& stim);
// The report-key op: the key's current state, or cancelled when it is unknown.
Result<Effects> report_on_key(SchedulerState& s, const ReportKey& m,
                              const Stimulus& stim);

}  // namespace daskcpp::scheduler
