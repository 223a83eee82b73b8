#include "scheduler/transitions/stimuli.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "scheduler/placement/placement.hpp"
#include "scheduler/transitions/transition_functions.hpp"

namespace daskcpp::scheduler {

namespace {

void sort_by_priority_reverse(const SchedulerState& s, std::vector<TaskId>& ids) {
  // Recommendations pop LIFO, so the highest priority (smallest tuple) goes last.
  std::stable_sort(ids.begin(), ids.end(), [&](TaskId a, TaskId b) {
    return s.task(b).priority < s.task(a).priority;
  });
}

void free_keys(Effects& out, WorkerId w, const std::string& key, const Stimulus& stim) {
  out.to_workers.push_back(FreeKeysMsg{w, {key}, stim.id});
}

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

void desire(SchedulerState& s, ClientId cid, const std::vector<std::string>& keys,
            Effects& out) {
  for (const std::string& k : keys) {
    auto id = s.find_task(k);
    if (!id) continue;  // upstream: a warning only
    s.task(*id).who_wants.insert(cid);
    s.client(cid).wants_what.insert(*id);
    TaskStatus st = s.task(*id).status;
    if (st == TaskStatus::memory || st == TaskStatus::erred)
      report_on_key(s, *id, cid, out);
  }
}

Status release_for(SchedulerState& s, ClientId cid, const std::vector<std::string>& keys,
                   const Stimulus& stim, Effects& out) {
  std::vector<TaskId> ids;
  for (const std::string& k : keys) {
    if (auto id = s.find_task(k)) ids.push_back(*id);
  }
  Recs recs;
  client_releases_keys_into(s, cid, ids, recs);
  DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));
  return stimulus_queue_slots_maybe_opened(s, stim, out);
}

}  // namespace

Status stimulus_queue_slots_maybe_opened(SchedulerState& s, const Stimulus& stim,
                                         Effects& out) {
  // Equivalent to upstream's "sum the free slots, pop that many": every placement
  // consumes one slot of the least busy worker and check_idle_saturated drops a
  // worker from idle_task_count once it is full, so this stops after exactly as
  // many tasks as there were slots, in O(log W) each.
  while (!s.queued().empty() && !s.idle_task_count().empty()) {
    TaskId top = s.queued().begin()->second;
    Recs recs;
    recs.set(top, TaskStatus::processing);
    DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));
    if (s.task(top).alive && s.task(top).status == TaskStatus::queued) break;
  }
  return Status::OK();
}

Result<Effects> update_graph(SchedulerState& s, const UpdateGraph& g,
                             const Stimulus& stim) {
  Effects out;
  ClientId cid = s.ensure_client(g.client);
  std::unordered_map<std::string_view, const GraphTask*> dsk;
  dsk.reserve(g.tasks.size());
  for (const GraphTask& t : g.tasks) dsk.emplace(t.key, &t);

  // _find_lost_dependencies
  {
    std::unordered_set<std::string_view> seen;
    std::vector<std::string_view> work;
    bool lost = false;
    for (const std::string& k : g.keys) {
      work.push_back(k);
      while (!work.empty() && !lost) {
        std::string_view d = work.back();
        work.pop_back();
        if (!seen.insert(d).second) continue;
        auto it = dsk.find(d);
        if (it == dsk.end()) {
          if (!s.find_task(d)) lost = true;
          continue;
        }
        for (const std::string& dep : it->second->dependencies) work.push_back(dep);
      }
    }
    if (lost) {
      out.to_clients.push_back(CancelledKeysMsg{cid, g.keys, "lost dependencies", ""});
      DASKCPP_RETURN_NOT_OK(release_for(s, cid, g.keys, stim, out));
      return out;
    }
  }

  // _generate_taskstates
  std::vector<TaskId> touched;
  std::vector<TaskId> new_tasks;
  std::unordered_set<TaskId> touched_set;
  std::unordered_set<std::string_view> collisions;
  std::vector<std::string_view> stack(g.keys.begin(), g.keys.end());
  while (!stack.empty()) {
    std::string_view k = stack.back();
    stack.pop_back();
    auto it = dsk.find(k);
    const GraphTask* spec = it == dsk.end() ? nullptr : it->second;
    std::optional<TaskId> id = s.find_task(k);
    if (id && touched_set.count(*id)) continue;
    if (!id) {
      id = s.new_task(k, spec ? std::string_view(spec->prefix_name) : std::string_view{},
                      spec ? std::string_view(spec->group_name) : std::string_view{},
                      TaskStatus::released);
      if (spec) s.task(*id).run_spec = spec->run_spec;
      new_tasks.push_back(*id);
    } else if (!s.task(*id).has_run_spec()) {
      if (spec) s.task(*id).run_spec = spec->run_spec;
    } else if (spec) {
      // Same key, different dependencies: keep the old task (upstream warns).
      std::vector<std::string_view> lhs,
          rhs(spec->dependencies.begin(), spec->dependencies.end());
      for (TaskId d : s.task(*id).dependencies) lhs.push_back(s.key(d));
      std::sort(lhs.begin(), lhs.end());
      std::sort(rhs.begin(), rhs.end());
      rhs.erase(std::unique(rhs.begin(), rhs.end()), rhs.end());
      if (lhs != rhs) collisions.insert(k);
    }
    touched_set.insert(*id);
    touched.push_back(*id);
    if (spec) {
      for (const std::string& dep : spec->dependencies) stack.push_back(dep);
    }
  }
  for (const GraphTask& t : g.tasks) {
    auto id = s.find_task(t.key);
    if (!id || collisions.count(t.key)) continue;
    for (const std::string& dep : t.dependencies) {
      if (auto d = s.find_task(dep)) s.add_dependency(*id, *d);
    }
  }

  // _apply_annotations (already extracted by the materializer) on new tasks.
  for (TaskId id : new_tasks) {
    auto it = dsk.find(s.key(id));
    if (it == dsk.end()) continue;
    const GraphTask& t = *it->second;
    TaskState& ts = s.task(id);
    ts.data_producer = t.data_producer;
    if (t.retries) ts.retries = *t.retries;
    if (t.restrictions.any() || t.restrictions.loose || t.annotations) {
      TaskExtras& ex = ts.mutable_extras();
      ex.restrictions = t.restrictions;
      ex.annotations = t.annotations;
    }
  }

  // _set_priorities
  double generation;
  std::optional<TaskId> parent;
  if (g.submitting_task) parent = s.find_task(*g.submitting_task);
  if (g.submitting_task && parent) {
    // Sub-tasks get better priority than their parent.
    generation = static_cast<double>(s.task(*parent).priority.neg_user) - 0.01;
  } else if (g.submitting_task) {
    generation = s.generation;
  } else if (s.last_time + g.fifo_timeout < stim.now) {
    s.generation += 1;
    generation = s.generation;
    s.last_time = stim.now;
  } else {
    generation = s.generation;
  }
  for (TaskId id : touched) {
    TaskState& ts = s.task(id);
    if (ts.has_priority) continue;
    auto it = dsk.find(s.key(id));
    if (it == dsk.end() || !it->second->order) continue;
    std::int32_t prio = it->second->user_priority.value_or(g.user_priority);
    ts.priority = Priority{-prio, generation, *it->second->order};
    ts.has_priority = true;
  }

  desire(s, cid, g.keys, out);

  if (g.all_actors) {
    for (const std::string& k : g.keys) {
      if (auto id = s.find_task(k)) s.task(*id).actor = true;
    }
  }
  for (const std::string& k : g.actors) {
    if (auto id = s.find_task(k)) s.task(*id).actor = true;
  }

  std::vector<TaskId> wanted;
  for (const std::string& k : g.keys) {
    auto id = s.find_task(k);
    if (id && s.task(*id).status == TaskStatus::released &&
        std::find(wanted.begin(), wanted.end(), *id) == wanted.end()) {
      wanted.push_back(*id);
    }
  }
  sort_by_priority_reverse(s, wanted);
  Recs recs;
  for (TaskId id : wanted) recs.set(id, TaskStatus::waiting);
  for (TaskId id : touched) {
    for (TaskId d : s.task(id).dependencies) {
      if (!is_none(s.task(d).exception_blame)) {
        s.task(id).exception_blame = s.task(d).exception_blame;
        recs.set(id, TaskStatus::erred);
        break;
      }
    }
  }
  DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));

  for (TaskId id : touched) {
    if (!s.task(id).alive) continue;
    TaskStatus st = s.task(id).status;
    if (st == TaskStatus::memory || st == TaskStatus::erred)
      report_on_key(s, id, cid, out);
  }
  return out;
}

Result<Effects> task_finished(SchedulerState& s, const TaskFinished& m,
                              const Stimulus& stim) {
  Effects out;
  auto wid = s.find_worker(m.worker);
  if (!wid) return out;
  auto id = s.find_task(m.key);
  Recs recs;
  if (!id) {
    free_keys(out, *wid, m.key, stim);
  } else {
    TaskState& ts = s.task(*id);
    if (ts.status == TaskStatus::released || ts.status == TaskStatus::queued ||
        ts.status == TaskStatus::no_worker || ts.status == TaskStatus::erred) {
      free_keys(out, *wid, m.key, stim);
    } else if (ts.run_id != m.run_id) {
      if (ts.processing_on != *wid) {
        free_keys(out, *wid, m.key, stim);
      } else {
        recs.set(*id, TaskStatus::released);
      }
    } else if (ts.status == TaskStatus::memory) {
      s.add_replica(*id, *wid);
    } else {
      TaskFinishedArgs a{*wid, m.nbytes, m.type, m.has_type, m.startstops};
      DASKCPP_RETURN_NOT_OK(
          transition(s, *id, TaskStatus::memory, {&a, nullptr}, stim, recs, out));
    }
  }
  DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));
  DASKCPP_RETURN_NOT_OK(stimulus_queue_slots_maybe_opened(s, stim, out));
  return out;
}

Result<Effects> task_erred(SchedulerState& s, const TaskErred& m, const Stimulus& stim) {
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
    auto exc = std::make_shared<TaskException>();
    exc->origin = ExceptionOrigin::worker;
    exc->exception = m.exception;
    exc->traceback = m.traceback;
    exc->exception_text = m.exception_text;
    exc->traceback_text = m.traceback_text;
    TaskErredArgs a{wid.value_or(kNoId<WorkerId>), *id, std::move(exc)};
    DASKCPP_RETURN_NOT_OK(
        transition(s, *id, TaskStatus::erred, {nullptr, &a}, stim, recs, out));
  }
  DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));
  DASKCPP_RETURN_NOT_OK(stimulus_queue_slots_maybe_opened(s, stim, out));
  return out;
}

Result<Effects> release_worker_data(SchedulerState& s, const std::string& worker,
                                    const std::string& key, const Stimulus& stim) {
  Effects out;
  auto id = s.find_task(key);
  auto wid = s.find_worker(worker);
  if (!id || !wid || !s.task(*id).who_has.contains(*wid)) return out;
  s.remove_replica(*id, *wid);
  if (s.task(*id).who_has.empty()) {
    Recs recs;
    recs.set(*id, TaskStatus::released);
    DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));
  }
  return out;
}

Result<Effects> add_keys(SchedulerState& s, const std::string& worker,
                         const std::vector<std::string>& keys, const Stimulus& stim) {
  Effects out;
  auto wid = s.find_worker(worker);
  if (!wid) return out;
  std::vector<std::string> redundant;
  for (const std::string& k : keys) {
    auto id = s.find_task(k);
    if (id && s.task(*id).status == TaskStatus::memory) {
      s.add_replica(*id, *wid);
    } else {
      redundant.push_back(k);
    }
  }
  if (!redundant.empty()) {
    out.to_workers.push_back(RemoveReplicasMsg{*wid, std::move(redundant), stim.id});
  }
  return out;
}

Result<Effects> long_running(SchedulerState& s, const std::string& worker,
                             const std::string& key, std::int64_t run_id,
                             std::optional<double> compute_duration,
                             const Stimulus& stim) {
  Effects out;
  auto wid = s.find_worker(worker);
  auto id = s.find_task(key);
  if (!wid || !id) return out;
  TaskState& ts = s.task(*id);
  if (is_none(ts.processing_on) || ts.processing_on != *wid || ts.run_id != run_id) {
    return out;  // duplicate or stale
  }
  if (s.worker(*wid).long_running.contains(*id)) return out;
  if (compute_duration) {
    TaskPrefix& tp = s.prefix(ts.prefix);
    tp.duration_average = tp.duration_average < 0
                              ? *compute_duration
                              : (tp.duration_average + *compute_duration) / 2;
  }
  s.add_to_long_running(*wid, *id);
  check_idle_saturated(s, *wid);
  DASKCPP_RETURN_NOT_OK(stimulus_queue_slots_maybe_opened(s, stim, out));
  return out;
}

Result<Effects> reschedule(SchedulerState& s, const std::string& key,
                           const std::string& worker, const Stimulus& stim) {
  Effects out;
  auto id = s.find_task(key);
  if (!id || s.task(*id).status != TaskStatus::processing) return out;
  WorkerId on = s.task(*id).processing_on;
  if (!worker.empty() && s.worker(on).address != worker) return out;
  Recs recs;
  recs.set(*id, TaskStatus::released);
  DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));
  return out;
}

Result<Effects> request_refresh_who_has(SchedulerState& s, const std::string& worker,
                                        const std::vector<std::string>& keys,
                                        const Stimulus& stim) {
  Effects out;
  auto wid = s.find_worker(worker);
  if (!wid) return out;
  RefreshWhoHasMsg refresh{*wid, {}, stim.id};
  FreeKeysMsg unknown{*wid, {}, stim.id};
  for (const std::string& k : keys) {
    if (auto id = s.find_task(k)) {
      std::vector<std::string> addrs;
      for (WorkerId w : s.task(*id).who_has) addrs.push_back(s.worker(w).address);
      refresh.who_has.emplace_back(k, std::move(addrs));
    } else {
      unknown.keys.push_back(k);
    }
  }
  if (!refresh.who_has.empty()) out.to_workers.push_back(std::move(refresh));
  if (!unknown.keys.empty()) out.to_workers.push_back(std::move(unknown));
  return out;
}

Result<Effects> add_worker(SchedulerState& s, const AddWorker& w, const Stimulus& stim) {
  if (s.find_worker(w.address)) {
    return Status::Invalid("add_worker: worker " + w.address + " is already registered");
  }
  if (w.nthreads < 1) {
    return Status::Invalid("add_worker: worker " + w.address + " has nthreads < 1");
  }
  Effects out;
  WorkerState ws;
  ws.address = w.address;
  ws.name = w.name;
  ws.host = w.host;
  ws.nthreads = w.nthreads;
  ws.memory_limit = w.memory_limit;
  ws.resources = w.resources;
  ws.status = w.status;
  WorkerId id = s.create_worker(std::move(ws));
  bool running = w.status == WorkerStatus::running;
  if (running) s.set_running(id, true);
  // Other workers' idleness depends on the cluster's average occupancy per thread.
  check_idle_saturated(s, id);
  if (running) {
    DASKCPP_RETURN_NOT_OK(
        transitions(s, bulk_schedule_unrunnable_after_adding_worker(s, id), stim, out));
    DASKCPP_RETURN_NOT_OK(stimulus_queue_slots_maybe_opened(s, stim, out));
  }
  return out;
}

Result<Effects> set_worker_status(SchedulerState& s, const std::string& worker,
                                  WorkerStatus status, const Stimulus& stim) {
  Effects out;
  auto id = s.find_worker(worker);
  if (!id) return out;
  WorkerState& ws = s.worker(*id);
  if (ws.status == status) return out;
  ws.status = status;
  if (status == WorkerStatus::running) {
    s.set_running(*id, true);
    check_idle_saturated(s, *id);
    DASKCPP_RETURN_NOT_OK(
        transitions(s, bulk_schedule_unrunnable_after_adding_worker(s, *id), stim, out));
    DASKCPP_RETURN_NOT_OK(stimulus_queue_slots_maybe_opened(s, stim, out));
  } else {
    s.set_running(*id, false);
    s.set_idle(*id, false);
    s.set_idle_task_count(*id, false);
    s.set_saturated(*id, false);
  }
  return out;
}

Result<Effects> remove_worker(SchedulerState& s, const std::string& worker, bool expected,
                              bool close, const Stimulus& stim) {
  Effects out;
  auto found = s.find_worker(worker);
  if (!found) return out;  // "already-removed"
  WorkerId wid = *found;
  if (close) out.to_workers.push_back(CloseWorkerMsg{wid, "scheduler-remove-worker"});
  s.drop_worker(wid);

  Recs recs;
  for (TaskId id : s.worker(wid).processing.to_vector()) {
    recs.set(id, TaskStatus::released);
    if (expected) continue;
    TaskState& ts = s.task(id);
    ts.suspicious += 1;
    s.prefix(ts.prefix).suspicious += 1;
    if (ts.suspicious > s.config().allowed_failures) {
      recs.erase(id);
      auto exc = std::make_shared<TaskException>();
      exc->origin = ExceptionOrigin::killed_worker;
      exc->last_worker = worker;
      exc->allowed_failures = s.config().allowed_failures;
      exc->exception_text = "Attempted to run task " + s.key(id) + " on " +
                            std::to_string(ts.suspicious) +
                            " different workers, but all those workers died while "
                            "running it. The last worker that attempt to run the task "
                            "was " +
                            worker + ".";
      TaskErredArgs a{wid, id, std::move(exc)};
      Recs r;
      DASKCPP_RETURN_NOT_OK(
          transition(s, id, TaskStatus::erred, {nullptr, &a}, stim, r, out));
      recs.update(r);
    }
  }
  for (TaskId id : s.worker(wid).has_what.to_vector()) {
    s.remove_replica(id, wid);
    const TaskState& ts = s.task(id);
    if (ts.actor) {
      recs.set(id, TaskStatus::erred);
    } else if (ts.who_has.empty()) {
      recs.set(id, ts.has_run_spec() ? TaskStatus::released : TaskStatus::forgotten);
    }
  }
  DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));
  for (WorkerId other : s.workers_by_address()) {
    out.to_workers.push_back(RemoveWorkerMsg{other, worker, stim.id});
  }
  return out;
}

ClientId add_client(SchedulerState& s, const std::string& client) {
  return s.ensure_client(client);
}

Result<Effects> remove_client(SchedulerState& s, const std::string& client,
                              const Stimulus& stim) {
  Effects out;
  auto cid = s.find_client(client);
  if (!cid) return out;
  std::vector<TaskId> ids = s.client(*cid).wants_what.to_vector();
  Recs recs;
  client_releases_keys_into(s, *cid, ids, recs);
  DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));
  DASKCPP_RETURN_NOT_OK(stimulus_queue_slots_maybe_opened(s, stim, out));
  s.drop_client(*cid);
  return out;
}

Result<Effects> client_desires_keys(SchedulerState& s, const std::string& client,
                                    const std::vector<std::string>& keys,
                                    const Stimulus&) {
  Effects out;
  desire(s, s.ensure_client(client), keys, out);
  return out;
}

Result<Effects> client_releases_keys(SchedulerState& s, const std::string& client,
                                     const std::vector<std::string>& keys,
                                     const Stimulus& stim) {
  Effects out;
  auto cid = s.find_client(client);
  if (!cid) return out;
  DASKCPP_RETURN_NOT_OK(release_for(s, *cid, keys, stim, out));
  return out;
}

Result<Effects> cancel_keys(SchedulerState& s, const std::string& client,
                            const std::vector<std::string>& keys, bool force,
                            const std::string& reason, const std::string& msg,
                            const Stimulus& stim) {
  Effects out;
  auto cid = s.find_client(client);
  if (!cid) return out;
  std::vector<std::string> cancelled;
  std::vector<ClientId> clients;
  auto add_client_once = [&](ClientId c) {
    if (std::find(clients.begin(), clients.end(), c) == clients.end())
      clients.push_back(c);
  };
  for (const std::string& k : keys) {
    auto id = s.find_task(k);
    if (!id) continue;
    const TaskState& ts = s.task(*id);
    bool only_this_client = ts.who_wants.size() == 1 && ts.who_wants.contains(*cid);
    if (force || only_this_client) {
      if (!ts.dependents.empty()) {
        std::vector<std::string> deps;
        for (TaskId d : ts.dependents) deps.push_back(s.key(d));
        DASKCPP_ASSIGN_OR_RETURN(Effects sub,
                                 cancel_keys(s, client, deps, force, reason, msg, stim));
        out.append(std::move(sub));
        if (!s.task(*id).alive) continue;
      }
      cancelled.push_back(k);
    }
    if (force) {
      for (ClientId c : s.task(*id).who_wants) add_client_once(c);
    } else {
      add_client_once(*cid);
    }
  }
  for (ClientId c : clients) {
    DASKCPP_RETURN_NOT_OK(release_for(s, c, cancelled, stim, out));
  }
  out.to_clients.push_back(CancelledKeysMsg{kNoId<ClientId>, cancelled, reason, msg});
  return out;
}

Result<Effects> retry(SchedulerState& s, const std::vector<std::string>& keys,
                      std::vector<std::string>& retried, const Stimulus& stim) {
  Effects out;
  std::vector<TaskId> stack;
  for (const std::string& k : keys) {
    if (auto id = s.find_task(k)) stack.push_back(*id);
  }
  std::vector<TaskId> seen;
  std::vector<TaskId> roots;
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
  retried.clear();
  for (TaskId id : seen) retried.push_back(s.key(id));
  Recs recs;
  for (TaskId id : roots) recs.set(id, TaskStatus::waiting);
  DASKCPP_RETURN_NOT_OK(transitions(s, std::move(recs), stim, out));
  return out;
}

Result<Effects> update_data(SchedulerState& s, const std::vector<DataKey>& data,
                            const std::string& client, const Stimulus& stim) {
  Effects out;
  std::vector<std::string> keys;
  for (const DataKey& d : data) {
    auto id = s.find_task(d.key);
    if (!id) {
      id = s.new_task(d.key, d.prefix_name, d.group_name, TaskStatus::memory);
    } else if (s.task(*id).status == TaskStatus::released) {
      s.set_status(*id, TaskStatus::memory);
    } else if (s.task(*id).status != TaskStatus::memory) {
      continue;  // being computed or erred: the computed result will arrive
    }
    if (d.nbytes >= 0) s.set_nbytes(*id, d.nbytes);
    std::vector<std::string> workers;
    for (const std::string& w : d.workers) {
      if (auto wid = s.find_worker(w)) {
        s.add_replica(*id, *wid);
        workers.push_back(w);
      }
    }
    for (ClientId c : s.task(*id).who_wants) {
      out.to_clients.push_back(KeyInMemoryMsg{c, d.key, {}, false, workers});
    }
    keys.push_back(d.key);
  }
  if (!client.empty()) desire(s, s.ensure_client(client), keys, out);
  (void)stim;
  return out;
}

Result<Effects> report_key(SchedulerState& s, const std::string& client,
                           const std::string& key, const Stimulus&) {
  Effects out;
  ClientId cid = s.ensure_client(client);
  if (auto id = s.find_task(key)) {
    report_on_key(s, *id, cid, out);
  } else {
    out.to_clients.push_back(CancelledKeysMsg{cid, {key}, "", ""});
  }
  return out;
}

}  // namespace daskcpp::scheduler
