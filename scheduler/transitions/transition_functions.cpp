// Transition functions, one per (start, finish) pair of upstream's
// _TRANSITIONS_TABLE, in the order scheduler.py defines them.

#include "scheduler/transitions/transition_functions.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "scheduler/placement/placement.hpp"

namespace daskcpp::scheduler {

namespace {

std::string impossible(const SchedulerState& s, TaskId id, const char* what,
                       const Stimulus& stim) {
  return std::string(what) + " for key " + s.key(id) + " (stimulus_id=" + stim.id + ")";
}

void free_keys(Effects& out, WorkerId ws, const std::string& key,
               const std::string& stimulus_id) {
  out.to_workers.push_back(FreeKeysMsg{ws, {key}, stimulus_id});
}

std::shared_ptr<const TaskException> exception_of(const SchedulerState& s, TaskId id) {
  const TaskState& ts = s.task(id);
  return ts.extras ? ts.extras->exception : nullptr;
}

void report_erred(const SchedulerState& s, TaskId id, TaskId failing, Effects& out) {
  auto exc = exception_of(s, failing);
  for (ClientId c : s.task(id).who_wants) {
    out.to_clients.push_back(TaskErredMsg{c, s.key(id), exc});
  }
}

// Upstream SchedulerState._add_to_processing.
Status add_to_processing(TransitionCtx& c, TaskId id, WorkerId ws) {
  SchedulerState& s = c.s;
  s.add_to_processing(ws, id);
  s.task(id).processing_on = ws;
  s.set_status(id, TaskStatus::processing);
  check_idle_saturated(s, ws);
  s.n_tasks += 1;

  // Crude safety valve against order-of-magnitude mistakes (upstream: only when
  // distributed.worker.memory.terminate is set, which it is by default).
  std::int64_t ndep_bytes = 0;
  for (TaskId dep : s.task(id).dependencies)
    ndep_bytes += std::max<std::int64_t>(s.task(dep).nbytes, 0);
  const WorkerState& w = s.worker(ws);
  if (w.memory_limit > 0 && ndep_bytes > w.memory_limit) {
    auto exc = std::make_shared<TaskException>();
    exc->origin = ExceptionOrigin::memory_error;
    exc->exception_text = "Task " + s.key(id) + " has " + std::to_string(ndep_bytes) +
                          " bytes worth of input dependencies, but worker " + w.address +
                          " has memory_limit set to " + std::to_string(w.memory_limit) +
                          ".";
    TaskErredArgs erred{ws, id, std::move(exc)};
    TransitionArgs args{nullptr, &erred, nullptr};
    return c.transition(s, id, TaskStatus::erred, args, c.stim, c.recs, c.out);
  }
  c.out.to_workers.push_back(task_to_msg(s, id, ws, c.stim.id));
  return Status::OK();
}

// Upstream SchedulerState._exit_processing_common: the worker, if still current.
std::optional<WorkerId> exit_processing_common(SchedulerState& s, TaskId id) {
  TaskState& ts = s.task(id);
  WorkerId ws = ts.processing_on;
  ts.processing_on = kNoId<WorkerId>;
  s.remove_from_processing(ws, id);
  if (!s.worker(ws).alive) return std::nullopt;
  check_idle_saturated(s, ws);
  return ws;
}

// Upstream SchedulerState._add_to_memory.
void add_to_memory(TransitionCtx& c, TaskId id, WorkerId ws, const Bytes& type,
                   bool has_type) {
  SchedulerState& s = c.s;
  s.add_replica(id, ws);

  std::vector<TaskId> deps = s.task(id).dependents.to_vector();
  std::stable_sort(deps.begin(), deps.end(), [&](TaskId a, TaskId b) {
    return s.task(b).priority < s.task(a).priority;  // reverse priority
  });
  for (TaskId dts : deps) {
    IdSet<TaskId>& w = s.task(dts).waiting_on;
    if (w.erase(id) && w.empty()) c.recs.set(dts, TaskStatus::processing);
  }
  for (TaskId dts : s.task(id).dependencies) {
    TaskState& d = s.task(dts);
    d.waiters.erase(id);
    if (d.waiters.empty() && d.who_wants.empty()) c.recs.set(dts, TaskStatus::released);
  }
  TaskState& ts = s.task(id);
  if (ts.waiters.empty() && ts.who_wants.empty()) {
    c.recs.set(id, TaskStatus::released);
  } else {
    for (ClientId cl : ts.who_wants) {
      c.out.to_clients.push_back(KeyInMemoryMsg{cl, s.key(id), type, has_type, {}});
    }
  }
  s.set_status(id, TaskStatus::memory);

  ClientId ff = s.fire_and_forget();
  if (s.client(ff).wants_what.contains(id))
    client_releases_keys_into(s, ff, {id}, c.recs);
}

// Upstream SchedulerState._propagate_released.
void propagate_released(TransitionCtx& c, TaskId id) {
  SchedulerState& s = c.s;
  s.set_status(id, TaskStatus::released);
  TaskState& ts = s.task(id);
  if (ts.has_lost_dependencies) {
    c.recs.set(id, TaskStatus::forgotten);
  } else if (!ts.waiters.empty() || !ts.who_wants.empty()) {
    c.recs.set(id, TaskStatus::waiting);
  }
  const TaskStatus* rec = c.recs.get(id);
  if (rec == nullptr || *rec != TaskStatus::waiting) {
    for (TaskId dts : ts.dependencies) {
      TaskState& d = s.task(dts);
      if (d.status == TaskStatus::released) continue;
      d.waiters.erase(id);
      if (d.waiters.empty() && d.who_wants.empty()) c.recs.set(dts, TaskStatus::released);
    }
    ts.waiters.clear();
  }
}

// Upstream SchedulerState._propagate_forgotten.
void propagate_forgotten(TransitionCtx& c, TaskId id) {
  SchedulerState& s = c.s;
  s.set_status(id, TaskStatus::forgotten);
  TaskState& ts = s.task(id);
  for (TaskId dts : ts.dependents) {
    TaskState& d = s.task(dts);
    d.has_lost_dependencies = true;
    d.dependencies.erase(id);
    d.waiting_on.erase(id);
    if (d.status != TaskStatus::memory && d.status != TaskStatus::erred) {
      c.recs.set(dts, TaskStatus::forgotten);
    }
  }
  ts.dependents.clear();
  ts.waiters.clear();
  for (TaskId dts : ts.dependencies) {
    TaskState& d = s.task(dts);
    d.dependents.erase(id);
    d.waiters.erase(id);
    if (d.dependents.empty() && d.who_wants.empty()) {
      c.recs.set(dts, TaskStatus::forgotten);
    }
  }
  ts.dependencies.clear();
  ts.waiting_on.clear();
  for (WorkerId ws : ts.who_has) {
    if (s.worker(ws).alive) free_keys(c.out, ws, s.key(id), c.stim.id);
  }
  s.remove_all_replicas(id);
}

// Upstream _task_to_client_msgs for a forgotten task.
void report_forgotten(TransitionCtx& c, TaskId id) {
  for (ClientId cl : c.s.task(id).who_wants) {
    c.out.to_clients.push_back(
        CancelledKeysMsg{cl, {c.s.key(id)}, "already forgotten", ""});
  }
}

// Upstream SchedulerState._propagate_erred.
Status propagate_erred(TransitionCtx& c, TaskId id, const TaskErredArgs* a) {
  SchedulerState& s = c.s;
  s.set_status(id, TaskStatus::erred);
  TaskState& ts = s.task(id);
  if (a != nullptr && !is_none(a->worker)) ts.mutable_extras().erred_on.insert(a->worker);
  if (a != nullptr && a->exception) ts.mutable_extras().exception = a->exception;
  TaskId failing;
  if (a != nullptr && !is_none(a->cause)) {
    failing = a->cause;
    ts.exception_blame = failing;
  } else {
    if (is_none(ts.exception_blame)) {
      return Status::Invalid(impossible(s, id, "erred without a cause or blame", c.stim));
    }
    failing = ts.exception_blame;
  }
  for (TaskId dts : ts.waiters) {
    s.task(dts).exception_blame = failing;
    c.recs.set(dts, TaskStatus::erred);
  }
  for (TaskId dts : ts.dependencies) {
    TaskState& d = s.task(dts);
    d.waiters.erase(id);
    if (d.waiters.empty() && d.who_wants.empty()) c.recs.set(dts, TaskStatus::released);
  }
  ts.waiters.clear();
  report_erred(s, id, failing, c.out);

  ClientId ff = s.fire_and_forget();
  if (s.client(ff).wants_what.contains(id))
    client_releases_keys_into(s, ff, {id}, c.recs);
  return Status::OK();
}

}  // namespace

ComputeTaskMsg task_to_msg(SchedulerState& s, TaskId id, WorkerId ws,
                           const std::string& stimulus_id) {
  TaskState& ts = s.task(id);
  ts.run_id = s.next_run_id();
  ComputeTaskMsg msg;
  msg.worker = ws;
  msg.key = s.key(id);
  msg.run_id = ts.run_id;
  msg.priority = ts.priority;
  msg.stimulus_id = stimulus_id;
  msg.dependencies.reserve(ts.dependencies.size());
  for (TaskId dep : ts.dependencies) {
    const TaskState& d = s.task(dep);
    ComputeTaskDep cd{s.key(dep), {}, d.nbytes};
    for (WorkerId w : d.who_has) cd.who_has.push_back(s.worker(w).address);
    msg.dependencies.push_back(std::move(cd));
  }
  msg.run_spec = ts.run_spec;
  msg.actor = ts.actor;
  if (ts.extras) {
    msg.resource_restrictions = ts.extras->restrictions.resources;
    msg.annotations = ts.extras->annotations;
  }
  return msg;
}

void client_releases_keys_into(SchedulerState& s, ClientId client,
                               const std::vector<TaskId>& keys, Recs& recs) {
  ClientState& cs = s.client(client);
  for (TaskId id : keys) {
    if (!s.task(id).alive || !cs.wants_what.erase(id)) continue;
    TaskState& ts = s.task(id);
    ts.who_wants.erase(client);
    if (!ts.who_wants.empty()) continue;
    if (ts.dependents.empty()) {
      recs.set(id, TaskStatus::forgotten);
    } else if (ts.status != TaskStatus::erred && ts.waiters.empty()) {
      recs.set(id, TaskStatus::released);
    }
  }
}

void report_on_key(const SchedulerState& s, TaskId id, ClientId client, Effects& out) {
  const TaskState& ts = s.task(id);
  std::vector<ClientId> to;
  for (ClientId c : ts.who_wants) {
    if (c != client) to.push_back(c);
  }
  if (!is_none(client)) to.push_back(client);
  for (ClientId c : to) {
    switch (ts.status) {
      case TaskStatus::memory:
        out.to_clients.push_back(KeyInMemoryMsg{c, s.key(id), {}, false, {}});
        break;
      case TaskStatus::erred:
        out.to_clients.push_back(
            TaskErredMsg{c, s.key(id), exception_of(s, ts.exception_blame)});
        break;
      case TaskStatus::forgotten:
        out.to_clients.push_back(
            CancelledKeysMsg{c, {s.key(id)}, "already forgotten", ""});
        break;
      default:
        break;
    }
  }
}

Status transition_released_waiting(TransitionCtx& c, TaskId id) {
  SchedulerState& s = c.s;
  if (s.task(id).has_lost_dependencies) {
    c.recs.set(id, TaskStatus::forgotten);
    return Status::OK();
  }
  s.set_status(id, TaskStatus::waiting);
  TaskState& ts = s.task(id);
  for (TaskId dts : ts.dependencies) {
    TaskState& d = s.task(dts);
    if (d.who_has.empty()) ts.waiting_on.insert(dts);
    if (d.status == TaskStatus::released) {
      c.recs.set(dts, TaskStatus::waiting);
    } else {
      d.waiters.insert(id);
    }
  }
  ts.waiters.clear();
  for (TaskId dts : ts.dependents) {
    if (s.task(dts).status == TaskStatus::waiting) ts.waiters.insert(dts);
  }
  if (ts.waiting_on.empty()) c.recs.set(id, TaskStatus::processing);
  return Status::OK();
}

Status transition_no_worker_processing(TransitionCtx& c, TaskId id) {
  if (auto ws = decide_worker_non_rootish(c.s, id)) {
    c.s.unrunnable().erase(id);
    return add_to_processing(c, id, *ws);
  }
  return Status::OK();  // stays no-worker
}

Status transition_no_worker_erred(TransitionCtx& c, TaskId id) {
  c.s.unrunnable().erase(id);
  return propagate_erred(c, id, c.args.erred);
}

Status transition_queued_erred(TransitionCtx& c, TaskId id) {
  c.s.queued().erase({c.s.task(id).priority, id});
  return propagate_erred(c, id, c.args.erred);
}

Status transition_waiting_processing(TransitionCtx& c, TaskId id) {
  SchedulerState& s = c.s;
  std::optional<WorkerId> ws;
  if (is_rootish(s, id)) {
    // scheduler.py 2440: a non-queueable task (P2P output) is never queued.
    if (std::isinf(s.config().worker_saturation) || !s.task(id).queueable) {
      ws = decide_worker_rootish_queuing_disabled(s, id);
      if (!ws) {
        c.recs.set(id, TaskStatus::no_worker);
        return Status::OK();
      }
    } else {
      ws = decide_worker_rootish_queuing_enabled(s);
      if (!ws) {
        c.recs.set(id, TaskStatus::queued);
        return Status::OK();
      }
    }
  } else {
    ws = decide_worker_non_rootish(s, id);
    if (!ws) {
      c.recs.set(id, TaskStatus::no_worker);
      return Status::OK();
    }
  }
  return add_to_processing(c, id, *ws);
}

// Race only: a replica appeared while the task waited again; nothing to do.
Status transition_waiting_memory(TransitionCtx&, TaskId) { return Status::OK(); }

Status transition_processing_memory(TransitionCtx& c, TaskId id) {
  SchedulerState& s = c.s;
  const TaskFinishedArgs* a = c.args.finished;
  if (a == nullptr) {
    return Status::Invalid(
        impossible(s, id, "processing -> memory without task-finished", c.stim));
  }
  if (!s.worker(a->worker).alive) {
    c.recs.set(id, TaskStatus::released);
    return Status::OK();
  }
  if (a->worker != s.task(id).processing_on) {
    return Status::Invalid(
        impossible(s, id,
                   ("processing -> memory on " + s.worker(a->worker).address +
                    " while processing elsewhere")
                       .c_str(),
                   c.stim));
  }
  // Timing information (TaskGroup.add_duration / TaskPrefix.add_duration).
  TaskGroup& tg = s.group(s.task(id).group);
  TaskPrefix& tp = s.prefix(tg.prefix);
  for (const StartStop& ss : a->startstops) {
    double d = std::max(std::round((ss.stop - ss.start) * 1e6), 0.0) / 1e6;
    tg.duration_s += d;
    if (ss.action == "compute") {
      if (tg.stop < ss.stop) tg.stop = ss.stop;
      if (tg.start == 0.0 || tg.start > ss.start) tg.start = ss.start;
      tp.duration_average =
          tp.duration_average < 0 ? d : 0.5 * d + 0.5 * tp.duration_average;
    }
  }
  if (a->nbytes >= 0) s.set_nbytes(id, a->nbytes);
  exit_processing_common(s, id);
  add_to_memory(c, id, a->worker, a->type, a->has_type);
  return Status::OK();
}

Status transition_memory_released(TransitionCtx& c, TaskId id) {
  SchedulerState& s = c.s;
  TaskState& ts = s.task(id);
  if (ts.actor && !ts.who_wants.empty()) {
    ts.exception_blame = id;
    auto exc = std::make_shared<TaskException>();
    exc->origin = ExceptionOrigin::actor_lost;
    exc->exception_text = "Worker holding Actor was lost";
    ts.mutable_extras().exception = std::move(exc);
    c.recs.set(id, TaskStatus::erred);  // don't try to recreate
    return Status::OK();
  }
  for (WorkerId ws : ts.who_has) free_keys(c.out, ws, s.key(id), c.stim.id);
  s.remove_all_replicas(id);
  s.set_status(id, TaskStatus::released);
  for (ClientId cl : ts.who_wants) c.out.to_clients.push_back(LostDataMsg{cl, s.key(id)});

  if (!ts.has_run_spec() || ts.has_lost_dependencies) {
    c.recs.set(id, TaskStatus::forgotten);
  } else if (!ts.who_wants.empty() || !ts.waiters.empty()) {
    bool erred_dep =
        std::any_of(ts.dependencies.begin(), ts.dependencies.end(),
                    [&](TaskId d) { return s.task(d).status == TaskStatus::erred; });
    if (!erred_dep) c.recs.set(id, TaskStatus::waiting);
  }
  for (TaskId dts : ts.waiters) {
    TaskState& d = s.task(dts);
    if (d.status == TaskStatus::no_worker || d.status == TaskStatus::processing ||
        d.status == TaskStatus::queued) {
      c.recs.set(dts, TaskStatus::waiting);
    } else if (d.status == TaskStatus::waiting) {
      d.waiting_on.insert(id);
    }
  }
  return Status::OK();
}

Status transition_released_erred(TransitionCtx& c, TaskId id) {
  SchedulerState& s = c.s;
  TaskState& ts = s.task(id);
  TaskId failing = ts.exception_blame;
  if (is_none(failing)) {
    return Status::Invalid(impossible(s, id, "released -> erred without blame", c.stim));
  }
  for (TaskId dts : ts.dependents) {
    TaskState& d = s.task(dts);
    if (d.who_has.empty()) {
      d.exception_blame = failing;
      c.recs.set(dts, TaskStatus::erred);
    }
  }
  report_erred(s, id, failing, c.out);
  s.set_status(id, TaskStatus::erred);
  return Status::OK();
}

Status transition_erred_released(TransitionCtx& c, TaskId id) {
  SchedulerState& s = c.s;
  TaskState& ts = s.task(id);
  ts.exception_blame = kNoId<TaskId>;
  for (TaskId dts : ts.dependents) {
    if (s.task(dts).status == TaskStatus::erred) c.recs.set(dts, TaskStatus::waiting);
  }
  if (ts.extras) {
    ts.extras->exception.reset();
    for (WorkerId ws : ts.extras->erred_on) {
      if (s.worker(ws).alive) free_keys(c.out, ws, s.key(id), c.stim.id);
    }
    ts.extras->erred_on.clear();
  }
  for (ClientId cl : ts.who_wants)
    c.out.to_clients.push_back(TaskRetriedMsg{cl, s.key(id)});
  s.set_status(id, TaskStatus::released);
  return Status::OK();
}

Status transition_waiting_released(TransitionCtx& c, TaskId id) {
  SchedulerState& s = c.s;
  TaskState& ts = s.task(id);
  for (TaskId dts : ts.dependencies) {
    TaskState& d = s.task(dts);
    if (d.waiters.erase(id) && d.waiters.empty() && d.who_wants.empty()) {
      c.recs.set(dts, TaskStatus::released);
    }
  }
  ts.waiting_on.clear();
  s.set_status(id, TaskStatus::released);
  if (ts.has_lost_dependencies) {
    c.recs.set(id, TaskStatus::forgotten);
  } else if (is_none(ts.exception_blame) &&
             (!ts.who_wants.empty() || !ts.waiters.empty())) {
    c.recs.set(id, TaskStatus::waiting);
  } else {
    ts.waiters.clear();
  }
  return Status::OK();
}

Status transition_processing_released(TransitionCtx& c, TaskId id) {
  if (auto ws = exit_processing_common(c.s, id)) {
    free_keys(c.out, *ws, c.s.key(id), c.stim.id);
  }
  propagate_released(c, id);
  return Status::OK();
}

Status transition_processing_erred(TransitionCtx& c, TaskId id) {
  exit_processing_common(c.s, id);
  return propagate_erred(c, id, c.args.erred);
}

Status transition_no_worker_released(TransitionCtx& c, TaskId id) {
  c.s.unrunnable().erase(id);
  propagate_released(c, id);
  return Status::OK();
}

Status transition_waiting_queued(TransitionCtx& c, TaskId id) {
  c.s.set_status(id, TaskStatus::queued);
  c.s.queued().insert({c.s.task(id).priority, id});
  return Status::OK();
}

Status transition_waiting_no_worker(TransitionCtx& c, TaskId id) {
  c.s.set_status(id, TaskStatus::no_worker);
  c.s.unrunnable()[id] = c.stim.now;
  return Status::OK();
}

Status transition_queued_released(TransitionCtx& c, TaskId id) {
  c.s.queued().erase({c.s.task(id).priority, id});
  propagate_released(c, id);
  return Status::OK();
}

Status transition_queued_processing(TransitionCtx& c, TaskId id) {
  if (auto ws = decide_worker_rootish_queuing_enabled(c.s)) {
    c.s.queued().erase({c.s.task(id).priority, id});
    return add_to_processing(c, id, *ws);
  }
  return Status::OK();  // stays queued
}

Status transition_memory_erred(TransitionCtx& c, TaskId id) {
  SchedulerState& s = c.s;
  TaskState& ts = s.task(id);
  for (WorkerId ws : ts.who_has) free_keys(c.out, ws, s.key(id), c.stim.id);
  s.remove_all_replicas(id);
  for (TaskId dts : ts.dependents) {
    TaskState& d = s.task(dts);
    if (d.who_has.empty()) {
      d.exception_blame = id;
      c.recs.set(dts, TaskStatus::erred);
    }
  }
  auto exc = std::make_shared<TaskException>();
  exc->origin = ExceptionOrigin::actor_lost;
  exc->exception_text = "Worker holding Actor was lost";
  for (ClientId cl : ts.who_wants)
    c.out.to_clients.push_back(TaskErredMsg{cl, s.key(id), exc});
  TaskErredArgs a{kNoId<WorkerId>, id, exc};
  return propagate_erred(c, id, &a);
}

Status transition_memory_forgotten(TransitionCtx& c, TaskId id) {
  propagate_forgotten(c, id);
  report_forgotten(c, id);
  return Status::OK();  // the slot is freed by transition() once logged
}

Status transition_released_forgotten(TransitionCtx& c, TaskId id) {
  propagate_forgotten(c, id);
  report_forgotten(c, id);
  return Status::OK();
}

TransitionFn transition_function(TaskStatus start, TaskStatus finish) {
  using S = TaskStatus;
  struct Entry {
    S start;
    S finish;
    TransitionFn fn;
  };
  static constexpr Entry kTable[] = {
      {S::released, S::waiting, transition_released_waiting},
      {S::waiting, S::released, transition_waiting_released},
      {S::waiting, S::processing, transition_waiting_processing},
      {S::waiting, S::no_worker, transition_waiting_no_worker},
      {S::waiting, S::queued, transition_waiting_queued},
      {S::waiting, S::memory, transition_waiting_memory},
      {S::queued, S::released, transition_queued_released},
      {S::queued, S::processing, transition_queued_processing},
      {S::queued, S::erred, transition_queued_erred},
      {S::processing, S::released, transition_processing_released},
      {S::processing, S::memory, transition_processing_memory},
      {S::processing, S::erred, transition_processing_erred},
      {S::no_worker, S::released, transition_no_worker_released},
      {S::no_worker, S::processing, transition_no_worker_processing},
      {S::no_worker, S::erred, transition_no_worker_erred},
      {S::released, S::forgotten, transition_released_forgotten},
      {S::memory, S::erred, transition_memory_erred},
      {S::memory, S::forgotten, transition_memory_forgotten},
      {S::erred, S::released, transition_erred_released},
      {S::memory, S::released, transition_memory_released},
      {S::released, S::erred, transition_released_erred},
  };
  // A dense (start × finish) view of kTable, built once.
  static const auto kDense = [] {
    std::array<std::array<TransitionFn, kTaskStatusCount>, kTaskStatusCount> d{};
    for (const Entry& e : kTable) {
      d[static_cast<int>(e.start)][static_cast<int>(e.finish)] = e.fn;
    }
    return d;
  }();
  return kDense[static_cast<int>(start)][static_cast<int>(finish)];
}

}  // namespace daskcpp::scheduler
