// Transition functions, one per (start, finish) pair of upstream's
// WorkerState._TRANSITIONS_TABLE (distributed/worker_state_machine.py), and the table.
// These are the only writers of a task's status. Each appends recommendations and
// instructions to `out`; none sends.

#include <algorithm>
#include <array>

#include "worker/state/worker_state.hpp"

namespace daskcpp::worker {

namespace {

void set_status(TaskState& ts, TaskStatus status) { ts.status = status; }

TaskStatus ready_or_constrained(const TaskState& ts) {
  return ts.resource_restrictions.empty() ? TaskStatus::ready : TaskStatus::constrained;
}

}  // namespace

// ---- shared bodies ------------------------------------------------------------------

void WorkerState::leave_queues(TaskState& ts) {
  ready_.erase({ts.priority, ts.key});
  constrained_.erase({ts.priority, ts.key});
  data_needed_.erase({ts.priority, ts.key});
}

void WorkerState::enqueue_ready(TaskState& ts) {
  (ts.status == TaskStatus::constrained ? constrained_ : ready_)
      .insert({ts.priority, ts.key});
}

// Upstream _transition_released_waiting: fetch what is missing, run when complete. A
// task computed again reports only this run's startstops. Also from fetch, missing
// (compute what we were only fetching) and error (the scheduler retries it).
void WorkerState::transition_released_waiting(TaskState& ts, const std::string&,
                                              RecsInstrs& out) {
  leave_queues(ts);
  set_status(ts, TaskStatus::waiting);
  ts.done = false;
  ts.startstops.clear();
  ts.waiting_for_data.clear();
  for (const Key& dep : ts.dependencies) {
    const TaskState& dts = tasks_.at(dep);
    if (dts.status == TaskStatus::memory) continue;
    ts.waiting_for_data.insert(dep);
    bool still_coming =
        dts.status == TaskStatus::cancelled && dts.previous == TaskStatus::flight;
    if (dts.status == TaskStatus::released || dts.status == TaskStatus::missing ||
        still_coming) {
      out.recs.set(dep, TaskStatus::fetch);
    }
  }
  if (ts.waiting_for_data.empty()) out.recs.set(ts.key, ready_or_constrained(ts));
}

// Upstream _transition_released_fetch: queued for a peer that holds it, or missing.
// Also from missing (a holder became known).
void WorkerState::transition_released_fetch(TaskState& ts, const std::string&,
                                            RecsInstrs& out) {
  if (ts.priority.empty()) {
    // A dependency inherits the priority of the first task that needs it.
    for (const Key& d : ts.dependents) {
      if (const TaskState* t = task(d); t != nullptr && !t->priority.empty()) {
        ts.priority = t->priority;
        break;
      }
    }
  }
  if (ts.who_has.empty()) {
    if (ts.status != TaskStatus::missing) out.recs.set(ts.key, TaskStatus::missing);
    return;
  }
  set_status(ts, TaskStatus::fetch);
  data_needed_.insert({ts.priority, ts.key});
}

// Running work and transfers are not interrupted: the task is cancelled and its
// result dropped when it arrives.
void WorkerState::to_cancelled(TaskState& ts) {
  ts.previous = ts.status;
  set_status(ts, TaskStatus::cancelled);
}

// Upstream _transition_ready_executing / _acquire_resources; also from constrained
// (ensure_computing checked the resources).
void WorkerState::transition_ready_executing(TaskState& ts, const std::string& sid,
                                             RecsInstrs& out) {
  leave_queues(ts);
  for (const auto& [name, amount] : ts.resource_restrictions)
    available_resources_[name] -= amount;
  set_status(ts, TaskStatus::executing);
  executing_.insert(ts.key);
  out.instructions.push_back(Execute{ts.key, sid});
}

void WorkerState::take_pending_value(TaskState& ts) {
  auto it = pending_values_.find(ts.key);
  if (it == pending_values_.end()) return;
  ts.nbytes = it->second.nbytes;
  ts.type_pickle = std::move(it->second.type_pickle);
  ts.type_name = std::move(it->second.type_name);
  pending_values_.erase(it);
}

// Upstream _put_key_in_memory: dependents waiting only for this become ready.
void WorkerState::put_in_memory(TaskState& ts, RecsInstrs& out) {
  leave_queues(ts);
  set_status(ts, TaskStatus::memory);
  ts.previous.reset();
  ts.coming_from.reset();
  ts.done = false;
  take_pending_value(ts);
  for (const Key& d : ts.dependents) {
    TaskState* dts = find(d);
    if (dts == nullptr) continue;
    dts->waiting_for_data.erase(ts.key);
    if (dts->status == TaskStatus::waiting && dts->waiting_for_data.empty())
      out.recs.set(d, ready_or_constrained(*dts));
  }
}

TaskFinishedMsg WorkerState::task_finished_msg(const TaskState& ts,
                                               const std::string& stimulus_id) const {
  return TaskFinishedMsg{
      ts.key,         ts.run_id,    std::max<std::int64_t>(ts.nbytes, 0),
      ts.type_pickle, ts.type_name, ts.thread,
      ts.startstops,  stimulus_id};
}

// ---- to waiting ---------------------------------------------------------------------

// compute-task for a task cancelled while running or in flight: it is wanted again,
// so it resumes what it was doing. A task that seceded while cancelled tells the
// scheduler in arrears (the scheduler forgot it meanwhile).
void WorkerState::transition_cancelled_waiting(TaskState& ts, const std::string& sid,
                                               RecsInstrs& out) {
  if (ts.previous == TaskStatus::flight) {
    set_status(ts, TaskStatus::resumed);  // computed here if the transfer fails
    return;
  }
  TaskStatus back = ts.previous.value_or(TaskStatus::executing);
  ts.previous.reset();
  set_status(ts, back);
  if (back == TaskStatus::long_running) {
    out.instructions.push_back(LongRunningMsg{ts.key, ts.run_id, std::nullopt, sid});
  }
}

// The transfer of a resumed task failed: compute it here.
void WorkerState::transition_resumed_waiting(TaskState& ts, const std::string& sid,
                                             RecsInstrs& out) {
  ts.previous.reset();
  transition_released_waiting(ts, sid, out);
}

// ---- fetch, flight, missing -------------------------------------------------------

// The transfer did not bring it: ask another holder.
void WorkerState::transition_flight_fetch(TaskState& ts, const std::string& sid,
                                          RecsInstrs& out) {
  ts.coming_from.reset();
  transition_released_fetch(ts, sid, out);
}

// Wanted again while still in flight: it keeps coming.
void WorkerState::transition_cancelled_fetch(TaskState& ts, const std::string&,
                                             RecsInstrs&) {
  if (ts.previous != TaskStatus::flight) return;
  ts.previous.reset();
  set_status(ts, TaskStatus::flight);
}

// Nobody we know of holds it: the scheduler is asked once the stimulus is handled.
void WorkerState::transition_generic_missing(TaskState& ts, const std::string&,
                                             RecsInstrs&) {
  set_status(ts, TaskStatus::missing);
  newly_missing_.push_back(ts.key);
}

void WorkerState::transition_flight_missing(TaskState& ts, const std::string&,
                                            RecsInstrs&) {
  ts.coming_from.reset();
  set_status(ts, TaskStatus::missing);
  newly_missing_.push_back(ts.key);
}

// Its holders went away. The event handler decides whether to ask the scheduler (not
// when the scheduler itself just said that nobody holds it).
void WorkerState::transition_fetch_missing(TaskState& ts, const std::string&,
                                           RecsInstrs&) {
  leave_queues(ts);
  set_status(ts, TaskStatus::missing);
}

// ensure_communicating put it in a GatherDep (coming_from is the peer).
void WorkerState::transition_fetch_flight(TaskState& ts, const std::string&,
                                          RecsInstrs&) {
  leave_queues(ts);
  set_status(ts, TaskStatus::flight);
}

// ---- ready, constrained, executing ----------------------------------------------------
// (ready, constrained) and (constrained, ready) use these too: a compute-task that
// changes a queued task's resource_restrictions moves it to the other queue.

void WorkerState::transition_waiting_ready(TaskState& ts, const std::string&,
                                           RecsInstrs&) {
  leave_queues(ts);
  set_status(ts, TaskStatus::ready);
  enqueue_ready(ts);
}

void WorkerState::transition_waiting_constrained(TaskState& ts, const std::string&,
                                                 RecsInstrs&) {
  leave_queues(ts);
  set_status(ts, TaskStatus::constrained);
  enqueue_ready(ts);
}

// The thread seceded (the handler sent long-running): its slot is free.
void WorkerState::transition_executing_long_running(TaskState& ts, const std::string&,
                                                    RecsInstrs&) {
  set_status(ts, TaskStatus::long_running);
  executing_.erase(ts.key);
  long_running_.insert(ts.key);
}

// ---- memory and error
// -------------------------------------------------------------------

void WorkerState::transition_executing_memory(TaskState& ts, const std::string& sid,
                                              RecsInstrs& out) {
  put_in_memory(ts, out);
  out.instructions.push_back(task_finished_msg(ts, sid));
}

void WorkerState::transition_flight_memory(TaskState& ts, const std::string&,
                                           RecsInstrs& out) {
  bool fetched = pending_values_.contains(ts.key) && pending_values_[ts.key].fetched;
  put_in_memory(ts, out);
  if (fetched) added_keys_.push_back(ts.key);
}

// Fetched after all, although the scheduler asked us to compute it: report it as
// finished (and held).
void WorkerState::transition_resumed_memory(TaskState& ts, const std::string& sid,
                                            RecsInstrs& out) {
  bool fetched = pending_values_.contains(ts.key) && pending_values_[ts.key].fetched;
  put_in_memory(ts, out);
  if (fetched) added_keys_.push_back(ts.key);
  out.instructions.push_back(task_finished_msg(ts, sid));
}

// Scattered to us (update_data).
void WorkerState::transition_released_memory(TaskState& ts, const std::string&,
                                             RecsInstrs& out) {
  put_in_memory(ts, out);
}

// Upstream _transition_generic_error from executing.
void WorkerState::transition_executing_error(TaskState& ts, const std::string& sid,
                                             RecsInstrs& out) {
  set_status(ts, TaskStatus::error);
  out.instructions.push_back(TaskErredMsg{ts.key, ts.run_id, ts.exception, ts.traceback,
                                          ts.exception_text, ts.traceback_text, ts.thread,
                                          ts.startstops, sid});
}

// ---- released and forgotten -------------------------------------------------------

void WorkerState::transition_executing_released(TaskState& ts, const std::string&,
                                                RecsInstrs&) {
  to_cancelled(ts);
}

// Upstream _transition_executing_rescheduled: tell the scheduler, then released
// here (not via executing -> released, which would cancel and wait for the thread).
void WorkerState::transition_executing_rescheduled(TaskState& ts, const std::string& sid,
                                                   RecsInstrs& out) {
  out.instructions.push_back(RescheduleMsg{ts.key, sid});
  transition_generic_released(ts, sid, out);
}

void WorkerState::transition_flight_released(TaskState& ts, const std::string&,
                                             RecsInstrs&) {
  to_cancelled(ts);
}

// Back to cancelled; previous stays flight.
void WorkerState::transition_resumed_released(TaskState& ts, const std::string&,
                                              RecsInstrs&) {
  set_status(ts, TaskStatus::cancelled);
}

// Also (cancelled, memory) and (cancelled, error), as upstream: once its execution or
// transfer is done, a cancelled task is released for good and its value dropped.
void WorkerState::transition_cancelled_released(TaskState& ts, const std::string& sid,
                                                RecsInstrs& out) {
  if (!ts.done) return;
  if (pending_values_.erase(ts.key) > 0) out.instructions.push_back(FreeData{ts.key});
  transition_generic_released(ts, sid, out);
}

// Upstream sends release-worker-data here: the scheduler learns we dropped it.
void WorkerState::transition_memory_released(TaskState& ts, const std::string& sid,
                                             RecsInstrs& out) {
  out.instructions.push_back(FreeData{ts.key});
  transition_generic_released(ts, sid, out);
  out.instructions.push_back(ReleaseWorkerDataMsg{ts.key, sid});
}

// Drops the task's data and its claims on dependencies; data fetched only for it
// stops being fetched (replicas in memory stay until the scheduler frees them).
void WorkerState::transition_generic_released(TaskState& ts, const std::string&,
                                              RecsInstrs& out) {
  leave_queues(ts);
  set_status(ts, TaskStatus::released);
  ts.previous.reset();
  ts.done = false;
  ts.coming_from.reset();
  ts.waiting_for_data.clear();
  ts.run_spec = protocol::Value();
  ts.type_pickle.reset();
  ts.type_name.clear();
  ts.nbytes = -1;
  ts.startstops.clear();
  std::set<Key> deps = std::move(ts.dependencies);
  ts.dependencies.clear();
  for (const Key& dep : deps) {
    TaskState* dts = find(dep);
    if (dts == nullptr) continue;
    dts->dependents.erase(ts.key);
    if (!dts->dependents.empty() || !dts->run_spec.is_nil()) continue;
    switch (dts->status) {
      case TaskStatus::fetch:
      case TaskStatus::missing:
      case TaskStatus::flight:
        out.recs.set(dep, TaskStatus::released);
        break;
      case TaskStatus::released:
        out.recs.set(dep, TaskStatus::forgotten);
        break;
      default:
        break;
    }
  }
  if (ts.dependents.empty()) out.recs.set(ts.key, TaskStatus::forgotten);
}

void WorkerState::transition_released_forgotten(TaskState& ts, const std::string&,
                                                RecsInstrs&) {
  if (!ts.dependents.empty()) return;  // needed again meanwhile
  tasks_.erase(ts.key);                // `ts` is gone
}

// ---- the table ----------------------------------------------------------------------

WorkerState::TransitionFn WorkerState::transition_function(TaskStatus start,
                                                           TaskStatus finish) {
  using S = TaskStatus;
  using W = WorkerState;
  struct Entry {
    S start;
    S finish;
    TransitionFn fn;
  };
  static const Entry kTable[] = {
      {S::cancelled, S::error, &W::transition_cancelled_released},
      {S::cancelled, S::fetch, &W::transition_cancelled_fetch},
      {S::cancelled, S::memory, &W::transition_cancelled_released},
      {S::cancelled, S::released, &W::transition_cancelled_released},
      {S::cancelled, S::rescheduled, &W::transition_cancelled_released},
      {S::cancelled, S::waiting, &W::transition_cancelled_waiting},
      {S::resumed, S::memory, &W::transition_resumed_memory},
      {S::resumed, S::released, &W::transition_resumed_released},
      {S::resumed, S::waiting, &W::transition_resumed_waiting},
      {S::constrained, S::executing, &W::transition_ready_executing},
      {S::constrained, S::ready, &W::transition_waiting_ready},
      {S::constrained, S::released, &W::transition_generic_released},
      {S::error, S::released, &W::transition_generic_released},
      {S::error, S::waiting, &W::transition_released_waiting},
      {S::executing, S::error, &W::transition_executing_error},
      {S::executing, S::long_running, &W::transition_executing_long_running},
      {S::executing, S::memory, &W::transition_executing_memory},
      {S::executing, S::released, &W::transition_executing_released},
      {S::executing, S::rescheduled, &W::transition_executing_rescheduled},
      {S::fetch, S::flight, &W::transition_fetch_flight},
      {S::fetch, S::missing, &W::transition_fetch_missing},
      {S::fetch, S::released, &W::transition_generic_released},
      {S::fetch, S::waiting, &W::transition_released_waiting},
      {S::flight, S::fetch, &W::transition_flight_fetch},
      {S::flight, S::memory, &W::transition_flight_memory},
      {S::flight, S::missing, &W::transition_flight_missing},
      {S::flight, S::released, &W::transition_flight_released},
      {S::long_running, S::error, &W::transition_executing_error},
      {S::long_running, S::memory, &W::transition_executing_memory},
      {S::long_running, S::released, &W::transition_executing_released},
      {S::long_running, S::rescheduled, &W::transition_executing_rescheduled},
      {S::memory, S::released, &W::transition_memory_released},
      {S::missing, S::fetch, &W::transition_released_fetch},
      {S::missing, S::released, &W::transition_generic_released},
      {S::missing, S::waiting, &W::transition_released_waiting},
      {S::ready, S::constrained, &W::transition_waiting_constrained},
      {S::ready, S::executing, &W::transition_ready_executing},
      {S::ready, S::released, &W::transition_generic_released},
      {S::released, S::fetch, &W::transition_released_fetch},
      {S::released, S::forgotten, &W::transition_released_forgotten},
      {S::released, S::memory, &W::transition_released_memory},
      {S::released, S::missing, &W::transition_generic_missing},
      {S::released, S::waiting, &W::transition_released_waiting},
      {S::waiting, S::constrained, &W::transition_waiting_constrained},
      {S::waiting, S::ready, &W::transition_waiting_ready},
      {S::waiting, S::released, &W::transition_generic_released},
  };
  constexpr std::size_t kStates = static_cast<std::size_t>(S::forgotten) + 1;
  // A dense (start x finish) view of kTable, built once.
  static const auto kDense = [] {
    std::array<std::array<TransitionFn, kStates>, kStates> d{};
    for (const Entry& e : kTable) {
      d[static_cast<std::size_t>(e.start)][static_cast<std::size_t>(e.finish)] = e.fn;
    }
    return d;
  }();
  return kDense[static_cast<std::size_t>(start)][static_cast<std::size_t>(finish)];
}

}  // namespace daskcpp::worker
