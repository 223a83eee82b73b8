#pragma once
// Steps the stimulus handlers share: interning keys, recording a client's interest,
// releasing it, and filling queue slots that opened (upstream's helpers of the same
// names in distributed/scheduler.py). Internal to scheduler/transitions.

#include <string>
#include <vector>

#include "scheduler/transitions/transitions.hpp"

namespace daskcpp::scheduler {

// The ids of the known keys among `keys`, in order (unknown keys are skipped, as
// upstream skips keys missing from self.tasks).
std::vector<TaskId> known_task_ids(const SchedulerState& s,
                                   const std::vector<std::string>& keys);

// Recommendations pop LIFO, so this puts the highest priority (smallest tuple) last.
void sort_by_priority_reverse(const SchedulerState& s, std::vector<TaskId>& ids);

void free_keys(Effects& out, WorkerId w, const std::string& key, const Stimulus& stim);

// Upstream client_desires_keys' body: `client` now wants `ids`; the ones already in
// memory or erred are reported to it at once.
void client_desires_keys_into(SchedulerState& s, ClientId client,
                              const std::vector<TaskId>& ids, Effects& out);

// Upstream client_releases_keys' body: drop `client`'s interest in `ids`, run the
// resulting transitions, then hand freed slots to queued tasks.
Status client_releases_keys_and_transition(SchedulerState& s, ClientId client,
                                           const std::vector<TaskId>& ids,
                                           const Stimulus& stim, Effects& out);

// The recommendations loop started from one recommendation: `id` to `finish`.
Status recommend(SchedulerState& s, TaskId id, TaskStatus finish, const Stimulus& stim,
                 Effects& out);

// The tail of most stimuli: run the recommendations loop, then hand the slots it
// freed to queued tasks.
Status transitions_then_fill_slots(SchedulerState& s, Recs recs, const Stimulus& stim,
                                   Effects& out);

// Sends queued tasks to workers whose slots opened
// (upstream stimulus_queue_slots_maybe_opened).
Status stimulus_queue_slots_maybe_opened(SchedulerState& s, const Stimulus& stim,
                                         Effects& out);

}  // namespace daskcpp::scheduler
