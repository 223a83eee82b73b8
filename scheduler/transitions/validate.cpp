#include "scheduler/transitions/validate.hpp"

#include <string>

#include "scheduler/placement/placement.hpp"

namespace daskcpp::scheduler {

namespace {

bool is_ready_or_waiting(TaskStatus st) {
  return st == TaskStatus::waiting || st == TaskStatus::queued ||
         st == TaskStatus::processing || st == TaskStatus::no_worker;
}

// One task as the checks see it. Each check returns the violated invariant, or
// nullptr when the task keeps them all.
struct TaskView {
  const SchedulerState& s;
  TaskId id;
  const TaskState& ts;
  bool queued;
  bool unrunnable;
};

// The first half of upstream validate_task_state: the links between tasks,
// workers and clients are mirrored on both ends.
const char* check_links(const TaskView& v) {
  const auto& [s, id, ts, queued, unrunnable] = v;
  for (TaskId d : ts.waiting_on) {
    if (!ts.dependencies.contains(d)) return "waiting_on not subset of dependencies";
    if (!s.task(d).who_has.empty()) return "waiting on in-memory dependency";
    if (s.task(d).status == TaskStatus::released) return "waiting on released dep";
  }
  for (TaskId d : ts.waiters) {
    if (!ts.dependents.contains(d)) return "waiters not subset of dependents";
  }
  for (TaskId d : ts.dependencies) {
    if (!s.task(d).dependents.contains(id)) return "not in dependency's dependents";
    if (is_ready_or_waiting(ts.status) && !ts.waiting_on.contains(d) &&
        s.task(d).who_has.empty()) {
      return "dependency missing: neither waited on nor in memory";
    }
  }
  for (TaskId d : ts.dependents) {
    if (!s.task(d).dependencies.contains(id)) return "not in dependent's dependencies";
  }
  for (WorkerId w : ts.who_has) {
    if (!s.worker(w).has_what.contains(id)) return "who_has not mirrored in has_what";
  }
  for (ClientId c : ts.who_wants) {
    if (!s.client(c).wants_what.contains(id))
      return "who_wants not mirrored in wants_what";
  }
  return nullptr;
}

const char* check_released(const TaskView& v) {
  const auto& [s, id, ts, queued, unrunnable] = v;
  if (!ts.waiters.empty()) return "released task has waiters";
  if (!ts.waiting_on.empty()) return "released task waits";
  if (!ts.who_has.empty()) return "released task has replicas";
  if (!is_none(ts.processing_on)) return "released task is processing";
  for (TaskId d : ts.dependencies) {
    if (s.task(d).waiters.contains(id)) return "released task is a waiter";
  }
  if (queued || unrunnable) return "released task queued or unrunnable";
  return nullptr;
}

const char* check_waiting(const TaskView& v) {
  const auto& [s, id, ts, queued, unrunnable] = v;
  if (ts.waiting_on.empty()) return "waiting task waits on nothing";
  if (!ts.who_has.empty() || !is_none(ts.processing_on)) return "waiting: busy";
  if (queued || unrunnable) return "waiting task queued or unrunnable";
  for (TaskId d : ts.dependencies) {
    if (s.task(d).who_has.empty() == !ts.waiting_on.contains(d)) {
      return "waiting_on does not match dependencies without replicas";
    }
    if (!s.task(d).waiters.contains(id)) return "not in dependency's waiters";
  }
  return nullptr;
}

// queued, no-worker and processing: every dependency in memory.
const char* check_ready(const TaskView& v) {
  const auto& [s, id, ts, queued, unrunnable] = v;
  if (!ts.waiting_on.empty()) return "ready task still waits";
  if (!ts.who_has.empty()) return "ready task has replicas";
  for (TaskId d : ts.dependencies) {
    if (s.task(d).who_has.empty()) return "ready task lacks a dependency";
    if (!s.task(d).waiters.contains(id)) return "not in dependency's waiters";
  }
  if (ts.status == TaskStatus::queued) {
    if (!queued || unrunnable) return "queued task not in the queue";
    if (ts.has_restrictions()) return "queued task has restrictions";
    if (!is_none(ts.processing_on)) return "queued task is processing";
  } else if (ts.status == TaskStatus::no_worker) {
    if (!unrunnable || queued) return "no-worker task not unrunnable";
    if (!is_none(ts.processing_on)) return "no-worker task is processing";
  } else {
    if (queued || unrunnable) return "processing task queued or unrunnable";
    if (is_none(ts.processing_on)) return "processing on nobody";
    if (!s.worker(ts.processing_on).processing.contains(id)) {
      return "processing_on worker does not list the task";
    }
  }
  return nullptr;
}

const char* check_memory(const TaskView& v) {
  const auto& [s, id, ts, queued, unrunnable] = v;
  if (ts.who_has.empty()) return "memory task without replicas";
  if (!is_none(ts.processing_on) || !ts.waiting_on.empty()) return "memory: busy";
  if (queued || unrunnable) return "memory task queued or unrunnable";
  for (TaskId d : ts.dependents) {
    if (ts.waiters.contains(d) != is_ready_or_waiting(s.task(d).status)) {
      return "waiters do not match dependents' states";
    }
    if (s.task(d).waiting_on.contains(id)) return "dependent waits on memory task";
  }
  return nullptr;
}

const char* check_erred(const TaskView& v) {
  const TaskState& ts = v.ts;
  if (is_none(ts.exception_blame)) return "erred task without blame";
  if (!ts.who_has.empty()) return "erred task has replicas";
  if (v.queued) return "erred task queued";
  return nullptr;
}

// The second half of validate_task_state: what the task's state implies.
const char* check_status(const TaskView& v) {
  switch (v.ts.status) {
    case TaskStatus::released:
      return check_released(v);
    case TaskStatus::waiting:
      return check_waiting(v);
    case TaskStatus::queued:
    case TaskStatus::no_worker:
    case TaskStatus::processing:
      return check_ready(v);
    case TaskStatus::memory:
      return check_memory(v);
    case TaskStatus::erred:
      return check_erred(v);
    case TaskStatus::forgotten:
      return "forgotten task still present";
  }
  return nullptr;
}

}  // namespace

Status validate_task(const SchedulerState& s, TaskId id) {
  const TaskState& ts = s.task(id);
  if (!ts.alive) return Status::Invalid("validate on a free task slot");
  TaskView v{s, id, ts, s.is_queued(id), s.unrunnable().count(id) != 0};
  const char* violated = check_links(v);
  if (violated == nullptr) violated = check_status(v);
  if (violated == nullptr) return Status::OK();
  return Status::Invalid(std::string("invariant violated for key ") + s.key(id) + " (" +
                         task_status_name(ts.status) + "): " + violated);
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
