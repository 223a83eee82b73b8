#include "scheduler/transitions/validate.hpp"

#include <string>

#include "scheduler/placement/placement.hpp"

namespace daskcpp::scheduler {

namespace {

bool is_ready_or_waiting(TaskStatus st) {
  return st == TaskStatus::waiting || st == TaskStatus::queued ||
         st == TaskStatus::processing || st == TaskStatus::no_worker;
}

}  // namespace

Status validate_task(const SchedulerState& s, TaskId id) {
  const TaskState& ts = s.task(id);
  auto fail = [&](const char* what) {
    return Status::Invalid(std::string("invariant violated for key ") + s.key(id) + " (" +
                           task_status_name(ts.status) + "): " + what);
  };
  if (!ts.alive) return Status::Invalid("validate on a free task slot");

  // validate_task_state
  for (TaskId d : ts.waiting_on) {
    if (!ts.dependencies.contains(d))
      return fail("waiting_on not subset of dependencies");
    if (!s.task(d).who_has.empty()) return fail("waiting on in-memory dependency");
    if (s.task(d).status == TaskStatus::released) return fail("waiting on released dep");
  }
  for (TaskId d : ts.waiters) {
    if (!ts.dependents.contains(d)) return fail("waiters not subset of dependents");
  }
  for (TaskId d : ts.dependencies) {
    if (!s.task(d).dependents.contains(id)) return fail("not in dependency's dependents");
    if (is_ready_or_waiting(ts.status) && !ts.waiting_on.contains(d) &&
        s.task(d).who_has.empty()) {
      return fail("dependency missing: neither waited on nor in memory");
    }
  }
  for (TaskId d : ts.dependents) {
    if (!s.task(d).dependencies.contains(id))
      return fail("not in dependent's dependencies");
  }
  for (WorkerId w : ts.who_has) {
    if (!s.worker(w).has_what.contains(id))
      return fail("who_has not mirrored in has_what");
  }
  for (ClientId c : ts.who_wants) {
    if (!s.client(c).wants_what.contains(id)) {
      return fail("who_wants not mirrored in wants_what");
    }
  }
  const bool queued = s.is_queued(id);
  const bool unrunnable = s.unrunnable().count(id) != 0;

  switch (ts.status) {
    case TaskStatus::released:
      if (!ts.waiters.empty()) return fail("released task has waiters");
      if (!ts.waiting_on.empty()) return fail("released task waits");
      if (!ts.who_has.empty()) return fail("released task has replicas");
      if (!is_none(ts.processing_on)) return fail("released task is processing");
      for (TaskId d : ts.dependencies) {
        if (s.task(d).waiters.contains(id)) return fail("released task is a waiter");
      }
      if (queued || unrunnable) return fail("released task queued or unrunnable");
      break;
    case TaskStatus::waiting:
      if (ts.waiting_on.empty()) return fail("waiting task waits on nothing");
      if (!ts.who_has.empty() || !is_none(ts.processing_on)) return fail("waiting: busy");
      if (queued || unrunnable) return fail("waiting task queued or unrunnable");
      for (TaskId d : ts.dependencies) {
        if (s.task(d).who_has.empty() == !ts.waiting_on.contains(d)) {
          return fail("waiting_on does not match dependencies without replicas");
        }
        if (!s.task(d).waiters.contains(id)) return fail("not in dependency's waiters");
      }
      break;
    case TaskStatus::queued:
    case TaskStatus::no_worker:
    case TaskStatus::processing:
      if (!ts.waiting_on.empty()) return fail("ready task still waits");
      if (!ts.who_has.empty()) return fail("ready task has replicas");
      for (TaskId d : ts.dependencies) {
        if (s.task(d).who_has.empty()) return fail("ready task lacks a dependency");
        if (!s.task(d).waiters.contains(id)) return fail("not in dependency's waiters");
      }
      if (ts.status == TaskStatus::queued) {
        if (!queued || unrunnable) return fail("queued task not in the queue");
        if (ts.has_restrictions()) return fail("queued task has restrictions");
        if (!is_none(ts.processing_on)) return fail("queued task is processing");
      } else if (ts.status == TaskStatus::no_worker) {
        if (!unrunnable || queued) return fail("no-worker task not unrunnable");
        if (!is_none(ts.processing_on)) return fail("no-worker task is processing");
      } else {
        if (queued || unrunnable) return fail("processing task queued or unrunnable");
        if (is_none(ts.processing_on)) return fail("processing on nobody");
        if (!s.worker(ts.processing_on).processing.contains(id)) {
          return fail("processing_on worker does not list the task");
        }
      }
      break;
    case TaskStatus::memory:
      if (ts.who_has.empty()) return fail("memory task without replicas");
      if (!is_none(ts.processing_on) || !ts.waiting_on.empty())
        return fail("memory: busy");
      if (queued || unrunnable) return fail("memory task queued or unrunnable");
      for (TaskId d : ts.dependents) {
        if (ts.waiters.contains(d) != is_ready_or_waiting(s.task(d).status)) {
          return fail("waiters do not match dependents' states");
        }
        if (s.task(d).waiting_on.contains(id))
          return fail("dependent waits on memory task");
      }
      break;
    case TaskStatus::erred:
      if (is_none(ts.exception_blame)) return fail("erred task without blame");
      if (!ts.who_has.empty()) return fail("erred task has replicas");
      if (queued) return fail("erred task queued");
      break;
    case TaskStatus::forgotten:
      return fail("forgotten task still present");
  }
  return Status::OK();
}

Status validate_state(const SchedulerState& s) {
  for (TaskId id : s.all_tasks()) DASKCPP_RETURN_NOT_OK(validate_task(s, id));
  for (WorkerId w : s.workers_by_address()) {
    const WorkerState& ws = s.worker(w);
    bool running = ws.status == WorkerStatus::running;
    if (running != s.running().contains(w)) {
      return Status::Invalid("worker " + ws.address + ": running set out of sync");
    }
    if (!running && (ws.in_idle || ws.in_saturated || ws.in_idle_task_count)) {
      return Status::Invalid("worker " + ws.address + ": not running but idle/saturated");
    }
    for (TaskId t : ws.long_running) {
      if (!ws.processing.contains(t)) {
        return Status::Invalid("worker " + ws.address + ": long_running not processing");
      }
    }
    for (TaskId t : ws.processing) {
      if (s.task(t).processing_on != w) {
        return Status::Invalid("worker " + ws.address + ": processes " + s.key(t) +
                               " which is processing elsewhere");
      }
    }
    bool has_slots = running && !worker_full(ws, s.config().worker_saturation);
    if (has_slots != ws.in_idle_task_count) {
      return Status::Invalid("worker " + ws.address + ": idle_task_count out of sync");
    }
  }
  return Status::OK();
}

}  // namespace daskcpp::scheduler
