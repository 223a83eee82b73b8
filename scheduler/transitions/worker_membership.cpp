#include "scheduler/transitions/worker_membership.hpp"

#include "scheduler/placement/placement.hpp"
#include "scheduler/transitions/handler_support.hpp"

namespace daskcpp::scheduler {

namespace {

// Upstream bulk_schedule_unrunnable_after_adding_worker.
Recs bulk_schedule_unrunnable_after_adding_worker(const SchedulerState& s, WorkerId ws) {
  std::vector<TaskId> runnable;
  for (const auto& [id, since] : s.unrunnable()) {
    (void)since;
    auto valid = valid_workers(s, id);
    if (!valid || valid->contains(ws)) runnable.push_back(id);
  }
  sort_by_priority_reverse(s, runnable);
  Recs recs;
  for (TaskId id : runnable) recs.set(id, TaskStatus::processing);
  return recs;
}

// A worker became running (on arrival or later): it may take unrunnable and queued
// tasks.
Status worker_now_running(SchedulerState& s, WorkerId id, const Stimulus& stim,
                          Effects& out) {
  return transitions_then_fill_slots(
      s, bulk_schedule_unrunnable_after_adding_worker(s, id), stim, out);
}

// The KilledWorker a task gets once more workers than allowed died running it.
std::shared_ptr<TaskException> killed_worker(const SchedulerState& s, TaskId id,
                                             const std::string& worker) {
  auto exc = std::make_shared<TaskException>();
  exc->origin = ExceptionOrigin::killed_worker;
  exc->last_worker = worker;
  exc->allowed_failures = s.config().allowed_failures;
  exc->exception_text = "Attempted to run task " + s.key(id) + " on " +
                        std::to_string(s.task(id).suspicious) +
                        " different workers, but all those workers died while "
                        "running it. The last worker that attempt to run the task "
                        "was " +
                        worker + ".";
  return exc;
}

// The departed worker's processing tasks go back to released; on an unexpected
// departure each becomes more suspicious and errs past allowed_failures.
Status release_processing(SchedulerState& s, WorkerId wid, const RemoveWorker& m,
                          const Stimulus& stim, Recs& recs, Effects& out) {
  for (TaskId id : s.worker(wid).processing.to_vector()) {
    recs.set(id, TaskStatus::released);
    if (m.expected) continue;
    TaskState& ts = s.task(id);
    ts.suspicious += 1;
    s.prefix(ts.prefix).suspicious += 1;
    if (ts.suspicious <= s.config().allowed_failures) continue;
    recs.erase(id);
    TaskErredArgs a{wid, id, killed_worker(s, id, m.worker)};
    Recs r;
    DASKCPP_RETURN_NOT_OK(
        transition(s, id, TaskStatus::erred, {nullptr, &a, nullptr}, stim, r, out));
    recs.update(r);
  }
  return Status::OK();
}

// Its replicas are gone: tasks left without one are recomputed (released) or, with
// no run_spec to recompute from, forgotten; actors err.
void drop_replicas(SchedulerState& s, WorkerId wid, Recs& recs) {
  for (TaskId id : s.worker(wid).has_what.to_vector()) {
    s.remove_replica(id, wid);
    const TaskState& ts = s.task(id);
    if (ts.actor) {
      recs.set(id, TaskStatus::erred);
    } else if (ts.who_has.empty()) {
      recs.set(id, ts.has_run_spec() ? TaskStatus::released : TaskStatus::forgotten);
    }
  }
}

}  // namespace

Result<Effects> add_worker(SchedulerState& s, const AddWorker& m, const Stimulus& stim) {
  if (s.find_worker(m.address)) {
    return Status::Invalid("add_worker: worker " + m.address + " is already registered");
  }
  if (m.nthreads < 1) {
    return Status::Invalid("add_worker: worker " + m.address + " has nthreads < 1");
  }
  Effects out;
  WorkerState ws;
  ws.address = m.address;
  ws.name = m.name;
  ws.host = m.host;
  ws.nthreads = m.nthreads;
  ws.memory_limit = m.memory_limit;
  ws.resources = m.resources;
  ws.status = m.status;
  WorkerId id = s.create_worker(std::move(ws));
  bool running = m.status == WorkerStatus::running;
  if (running) s.set_running(id, true);
  // Other workers' idleness depends on the cluster's average occupancy per thread.
  check_idle_saturated(s, id);
  if (running) DASKCPP_RETURN_NOT_OK(worker_now_running(s, id, stim, out));
  return out;
}

Result<Effects> handle_worker_status_change(SchedulerState& s,
                                            const WorkerStatusChange& m,
                                            const Stimulus& stim) {
  Effects out;
  auto id = s.find_worker(m.worker);
  if (!id) return out;
  WorkerState& ws = s.worker(*id);
  if (ws.status == m.status) return out;
  ws.status = m.status;
  if (m.status == WorkerStatus::running) {
    s.set_running(*id, true);
    check_idle_saturated(s, *id);
    DASKCPP_RETURN_NOT_OK(worker_now_running(s, *id, stim, out));
  } else {
    s.set_running(*id, false);
    s.set_idle(*id, false);
    s.set_idle_task_count(*id, false);
    s.set_saturated(*id, false);
  }
  return out;
}

Result<Effects> remove_worker(SchedulerState& s, const RemoveWorker& m,
                              const Stimulus& stim) {
  Effects out;
  auto found = s.find_worker(m.worker);
  if (!found) return out;  // "already-removed"
  WorkerId wid = *found;
  // The first intent, so assigned rather than appended (which also keeps GCC 12's
  // -Wmaybe-uninitialized false positive on vector<variant> growth quiet).
  if (m.close) out.to_workers = {CloseWorkerMsg{wid, "scheduler-remove-worker"}};
  s.drop_worker(wid);
  Recs recs;
  DASKCPP_RETURN_NOT_OK(release_processing(s, wid, m, stim, recs, out));
  drop_replicas(s, wid, recs);
  DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));
  for (WorkerId other : s.workers_by_address()) {
    out.to_workers.push_back(RemoveWorkerMsg{other, m.worker, stim.id});
  }
  return out;
}

}  // namespace daskcpp::scheduler
