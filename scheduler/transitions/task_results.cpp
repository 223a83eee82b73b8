#include "scheduler/transitions/task_results.hpp"

#include <algorithm>

#include "scheduler/placement/placement.hpp"
#include "scheduler/transitions/handler_support.hpp"

namespace daskcpp::scheduler {

namespace {

// The transition a task-finished asks for, given the task's current state.
Status finish_known_task(SchedulerState& s, TaskId id, WorkerId wid,
                         const TaskFinished& m, const Stimulus& stim, Recs& recs,
                         Effects& out) {
  TaskState& ts = s.task(id);
  if (ts.status == TaskStatus::released || ts.status == TaskStatus::queued ||
      ts.status == TaskStatus::no_worker || ts.status == TaskStatus::erred) {
    free_keys(out, wid, m.key, stim);
  } else if (ts.run_id != m.run_id) {
    if (ts.processing_on != wid) {
      free_keys(out, wid, m.key, stim);
    } else {
      recs.set(id, TaskStatus::released);
    }
  } else if (ts.status == TaskStatus::memory) {
    s.add_replica(id, wid);
  } else {
    TaskFinishedArgs a{wid, m.nbytes, m.type, m.has_type, m.startstops};
    return transition(s, id, TaskStatus::memory, {&a, nullptr, m.wire}, stim, recs, out);
  }
  return Status::OK();
}

std::shared_ptr<TaskException> worker_exception(const TaskErred& m) {
  auto exc = std::make_shared<TaskException>();
  exc->origin = ExceptionOrigin::worker;
  exc->exception = m.exception;
  exc->traceback = m.traceback;
  exc->exception_text = m.exception_text;
  exc->traceback_text = m.traceback_text;
  return exc;
}

// The task and its erred dependencies, transitively (what retry resets), and the
// roots among them: the ones with no erred dependency, which go back to waiting.
void erred_closure(const SchedulerState& s, std::vector<TaskId> stack,
                   std::vector<TaskId>& seen, std::vector<TaskId>& roots) {
  while (!stack.empty()) {
    TaskId id = stack.back();
    stack.pop_back();
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
    seen.push_back(id);
    bool erred_deps = false;
    for (TaskId d : s.task(id).dependencies) {
      if (s.task(d).status == TaskStatus::erred) {
        stack.push_back(d);
        erred_deps = true;
      }
    }
    if (!erred_deps) roots.push_back(id);
  }
}

}  // namespace

Result<Effects> stimulus_task_finished(SchedulerState& s, const TaskFinished& m,
                                       const Stimulus& stim) {
  Effects out;
  auto wid = s.find_worker(m.worker);
  if (!wid) return out;
  Recs recs;
  if (auto id = s.find_task(m.key)) {
    DASKCPP_RETURN_NOT_OK(finish_known_task(s, *id, *wid, m, stim, recs, out));
  } else {
    free_keys(out, *wid, m.key, stim);
  }
  DASKCPP_RETURN_NOT_OK(transitions_then_fill_slots(s, std::move(recs), stim, out));
  return out;
}

Result<Effects> stimulus_task_erred(SchedulerState& s, const TaskErred& m,
                                    const Stimulus& stim) {
  Effects out;
  auto id = s.find_task(m.key);
  if (!id || s.task(*id).status != TaskStatus::processing) return out;
  auto wid = s.find_worker(m.worker);
  TaskState& ts = s.task(*id);
  Recs recs;
  if (ts.run_id != m.run_id) {
    if (wid && ts.processing_on == *wid) {
      DASKCPP_RETURN_NOT_OK(
          transition(s, *id, TaskStatus::released, {}, stim, recs, out));
    }
  } else if (ts.retries > 0) {
    ts.retries -= 1;
    DASKCPP_RETURN_NOT_OK(transition(s, *id, TaskStatus::waiting, {}, stim, recs, out));
  } else {
    TaskErredArgs a{wid.value_or(kNoId<WorkerId>), *id, worker_exception(m)};
    DASKCPP_RETURN_NOT_OK(
        transition(s, *id, TaskStatus::erred, {nullptr, &a, m.wire}, stim, recs, out));
  }
  DASKCPP_RETURN_NOT_OK(transitions_then_fill_slots(s, std::move(recs), stim, out));
  return out;
}

Result<Effects> handle_long_running(SchedulerState& s, const LongRunning& m,
                                    const Stimulus& stim) {
  Effects out;
  auto wid = s.find_worker(m.worker);
  auto id = s.find_task(m.key);
  if (!wid || !id) return out;
  TaskState& ts = s.task(*id);
  if (is_none(ts.processing_on) || ts.processing_on != *wid || ts.run_id != m.run_id) {
    return out;  // duplicate or stale
  }
  if (s.worker(*wid).long_running.contains(*id)) return out;
  if (m.compute_duration) {
    TaskPrefix& tp = s.prefix(ts.prefix);
    tp.duration_average = tp.duration_average < 0
                              ? *m.compute_duration
                              : (tp.duration_average + *m.compute_duration) / 2;
  }
  s.add_to_long_running(*wid, *id);
  check_idle_saturated(s, *wid);
  DASKCPP_RETURN_NOT_OK(stimulus_queue_slots_maybe_opened(s, stim, out));
  return out;
}

Result<Effects> reschedule(SchedulerState& s, const Reschedule& m, const Stimulus& stim) {
  Effects out;
  auto id = s.find_task(m.key);
  if (!id || s.task(*id).status != TaskStatus::processing) return out;
  WorkerId on = s.task(*id).processing_on;
  if (!m.worker.empty() && s.worker(on).address != m.worker) return out;
  DASKCPP_RETURN_NOT_OK(recommend(s, *id, TaskStatus::released, stim, out));
  return out;
}

Result<Effects> stimulus_retry(SchedulerState& s, const Retry& m, const Stimulus& stim) {
  Effects out;
  std::vector<TaskId> seen;
  std::vector<TaskId> roots;
  erred_closure(s, known_task_ids(s, m.keys), seen, roots);
  for (TaskId id : seen) out.retried.push_back(s.key(id));
  Recs recs;
  for (TaskId id : roots) recs.set(id, TaskStatus::waiting);
  DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));
  return out;
}

}  // namespace daskcpp::scheduler
