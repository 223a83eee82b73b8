#include "scheduler/transitions/handler_support.hpp"

#include <algorithm>

#include "scheduler/transitions/transition_functions.hpp"

namespace daskcpp::scheduler {

std::vector<TaskId> known_task_ids(const SchedulerState& s,
                                   const std::vector<std::string>& keys) {
  std::vector<TaskId> ids;
  ids.reserve(keys.size());
  for (const std::string& k : keys) {
    if (auto id = s.find_task(k)) ids.push_back(*id);
  }
  return ids;
}

void sort_by_priority_reverse(const SchedulerState& s, std::vector<TaskId>& ids) {
  std::stable_sort(ids.begin(), ids.end(), [&](TaskId a, TaskId b) {
    return s.task(b).priority < s.task(a).priority;
  });
}

void free_keys(Effects& out, WorkerId w, const std::string& key, const Stimulus& stim) {
  out.to_workers.push_back(FreeKeysMsg{w, {key}, stim.id});
}

void client_desires_keys_into(SchedulerState& s, ClientId client,
                              const std::vector<TaskId>& ids, Effects& out) {
  for (TaskId id : ids) {
    s.task(id).who_wants.insert(client);
    s.client(client).wants_what.insert(id);
    TaskStatus st = s.task(id).status;
    if (st == TaskStatus::memory || st == TaskStatus::erred)
      report_on_key(s, id, client, out);
  }
}

Status client_releases_keys_and_transition(SchedulerState& s, ClientId client,
                                           const std::vector<TaskId>& ids,
                                           const Stimulus& stim, Effects& out) {
  Recs recs;
  client_releases_keys_into(s, client, ids, recs);
  return transitions_then_fill_slots(s, std::move(recs), stim, out);
}

Status recommend(SchedulerState& s, TaskId id, TaskStatus finish, const Stimulus& stim,
                 Effects& out) {
  Recs recs;
  recs.set(id, finish);
  return transitions(s, std::move(recs), stim, out);
}

Status transitions_then_fill_slots(SchedulerState& s, Recs recs, const Stimulus& stim,
                                   Effects& out) {
  DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));
  return stimulus_queue_slots_maybe_opened(s, stim, out);
}

Status stimulus_queue_slots_maybe_opened(SchedulerState& s, const Stimulus& stim,
                                         Effects& out) {
  // Equivalent to upstream's "sum the free slots, pop that many": every placement
  // consumes one slot of the least busy worker and check_idle_saturated drops a
  // worker from idle_task_count once it is full, so this stops after exactly as
  // many tasks as there were slots, in O(log W) each.
  while (!s.queued().empty() && !s.idle_task_count().empty()) {
    TaskId top = s.queued().begin()->second;
    DASKCPP_RETURN_NOT_OK(recommend(s, top, TaskStatus::processing, stim, out));
    if (s.task(top).alive && s.task(top).status == TaskStatus::queued) break;
  }
  return Status::OK();
}

}  // namespace daskcpp::scheduler
