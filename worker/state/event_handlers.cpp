// Event handlers, one per StateMachineEvent (upstream WorkerState._handle_<event>):
// each updates what the event tells and returns recommendations and instructions;
// none writes a task's status (transitions.cpp does).

#include <algorithm>

#include "worker/state/worker_state.hpp"

namespace daskcpp::worker {

namespace {

void add_holders(TaskState& ts, const std::vector<std::string>& addresses,
                 const std::string& self) {
  for (const std::string& a : addresses) {
    if (a != self) ts.who_has.insert(a);
  }
}

}  // namespace

// Upstream _handle_compute_task.
RecsInstrs WorkerState::handle_event(const ComputeTaskEvent& ev) {
  RecsInstrs out;
  TaskState& ts = ensure_task(ev.key);
  // The priority (part of the queue entry) changes below; queued tasks are queued
  // again with the new one.
  leave_queues(ts);
  ts.run_id = ev.run_id;
  // Upstream appends a decreasing generation, so that later compute-tasks of equal
  // priority run first.
  ts.priority = ev.priority;
  ts.priority.push_back(generation_);
  generation_ -= 1;
  ts.run_spec = ev.run_spec;
  ts.annotations = ev.annotations;
  // A running task keeps what it acquired, so that exactly that is given back.
  if (!executing_.contains(ts.key) && !long_running_.contains(ts.key)) {
    ts.resource_restrictions = ev.resource_restrictions;
  }
  for (const auto& [dep, addresses] : ev.who_has) {
    TaskState& dts = ensure_task(dep);
    add_holders(dts, addresses, options_.address);
    ts.dependencies.insert(dep);
    dts.dependents.insert(ev.key);
  }
  for (const auto& [dep, n] : ev.nbytes) {
    if (TaskState* dts = find(dep); dts != nullptr && dts->nbytes < 0) dts->nbytes = n;
  }

  switch (ts.status) {
    case TaskStatus::memory:
      out.instructions.push_back(task_finished_msg(ts, ev.stimulus_id));
      break;
    case TaskStatus::ready:
    case TaskStatus::constrained: {
      TaskStatus queue =
          ts.resource_restrictions.empty() ? TaskStatus::ready : TaskStatus::constrained;
      if (queue == ts.status) {
        enqueue_ready(ts);
      } else {
        out.recs.set(ts.key, queue);  // its restrictions changed
      }
      break;
    }
    case TaskStatus::executing:
    case TaskStatus::long_running:
    case TaskStatus::waiting:
    case TaskStatus::resumed:
      break;  // only run_id/priority change
    case TaskStatus::cancelled:
    case TaskStatus::flight:
    case TaskStatus::released:
    case TaskStatus::fetch:
    case TaskStatus::missing:
    case TaskStatus::error:
    case TaskStatus::rescheduled:
    case TaskStatus::forgotten:
      out.recs.set(ts.key, TaskStatus::waiting);
      break;
  }
  return out;
}

// Upstream _handle_free_keys. A key held in memory is answered with
// release-worker-data (by the memory -> released transition).
RecsInstrs WorkerState::handle_event(const FreeKeysEvent& ev) {
  RecsInstrs out;
  for (const Key& key : ev.keys) {
    TaskState* ts = find(key);
    if (ts == nullptr) continue;
    ts->run_spec = protocol::Value();
    out.recs.set(key, TaskStatus::released);
  }
  return out;
}

// Upstream _handle_steal_request: answer with the state before; drop the task if it
// has not started.
RecsInstrs WorkerState::handle_event(const StealRequestEvent& ev) {
  RecsInstrs out;
  TaskState* ts = find(ev.key);
  std::optional<std::string> state;
  if (ts != nullptr) state = std::string(to_string(ts->status));
  if (ts != nullptr &&
      (ts->status == TaskStatus::ready || ts->status == TaskStatus::constrained ||
       ts->status == TaskStatus::waiting)) {
    ts->run_spec = protocol::Value();
    out.recs.set(ev.key, TaskStatus::released);
  }
  out.instructions.push_back(StealResponseMsg{ev.key, state, ev.stimulus_id});
  return out;
}

// Upstream _handle_acquire_replicas.
RecsInstrs WorkerState::handle_event(const AcquireReplicasEvent& ev) {
  RecsInstrs out;
  for (const auto& [key, addresses] : ev.who_has) {
    TaskState& ts = ensure_task(key);
    add_holders(ts, addresses, options_.address);
    for (const auto& [k, n] : ev.nbytes) {
      if (k == key) ts.nbytes = n;
    }
    if (ts.status == TaskStatus::released || ts.status == TaskStatus::missing) {
      out.recs.set(key, TaskStatus::fetch);
    }
  }
  return out;
}

// Upstream _handle_remove_replicas: only replicas no local task still needs.
RecsInstrs WorkerState::handle_event(const RemoveReplicasEvent& ev) {
  RecsInstrs out;
  for (const Key& key : ev.keys) {
    TaskState* ts = find(key);
    if (ts == nullptr || ts->status != TaskStatus::memory) continue;
    bool needed =
        std::any_of(ts->dependents.begin(), ts->dependents.end(), [this](const Key& d) {
          const TaskState* t = task(d);
          return t != nullptr && t->status != TaskStatus::memory &&
                 t->status != TaskStatus::released;
        });
    if (needed) continue;
    ts->run_spec = protocol::Value();
    out.recs.set(key, TaskStatus::released);
  }
  return out;
}

// Upstream _handle_refresh_who_has: replace what we knew about these keys. A key
// nobody holds is not asked about again (the scheduler has just answered).
RecsInstrs WorkerState::handle_event(const RefreshWhoHasEvent& ev) {
  RecsInstrs out;
  for (const auto& [key, addresses] : ev.who_has) {
    TaskState* ts = find(key);
    if (ts == nullptr) continue;
    ts->who_has.clear();
    add_holders(*ts, addresses, options_.address);
    if (ts->status == TaskStatus::missing && !ts->who_has.empty()) {
      out.recs.set(key, TaskStatus::fetch);
    } else if (ts->status == TaskStatus::fetch && ts->who_has.empty()) {
      out.recs.set(key, TaskStatus::missing);
    }
  }
  return out;
}

// Upstream _handle_remove_worker: that peer holds nothing any more; keys nobody else
// holds are asked about.
RecsInstrs WorkerState::handle_event(const RemoveWorkerEvent& ev) {
  RecsInstrs out;
  std::vector<Key> missing;
  for (auto& [key, ts] : tasks_) {
    if (ts.who_has.erase(ev.worker) == 0) continue;
    if (ts.status == TaskStatus::fetch && ts.who_has.empty()) {
      out.recs.set(key, TaskStatus::missing);
      missing.push_back(key);
    }
  }
  std::sort(missing.begin(), missing.end());
  if (!missing.empty()) {
    out.instructions.push_back(RequestRefreshWhoHasMsg{missing, ev.stimulus_id});
  }
  busy_workers_.erase(ev.worker);
  return out;
}

// Upstream _execute_done_common: only a task that held a thread (executing or
// seceded) acquired resources (_release_resources).
void WorkerState::execute_done_common(const Key& key) {
  if (!executing_.contains(key) && !long_running_.contains(key)) return;
  executing_.erase(key);
  long_running_.erase(key);
  const TaskState* ts = task(key);
  if (ts == nullptr) return;
  for (const auto& [name, amount] : ts->resource_restrictions)
    available_resources_[name] += amount;
}

// Upstream _handle_execute_success. A result nobody wants any more is dropped.
RecsInstrs WorkerState::handle_event(const ExecuteSuccessEvent& ev) {
  RecsInstrs out;
  execute_done_common(ev.key);
  TaskState* ts = find(ev.key);
  bool running = ts != nullptr && is_executing(ts->status);
  bool cancelled = ts != nullptr && ts->status == TaskStatus::cancelled;
  if (!running && !cancelled) {
    out.instructions.push_back(FreeData{ev.key});  // stale result
    return out;
  }
  if (running) {
    ts->thread = ev.thread;
    ts->startstops.push_back({"compute", ev.start, ev.stop, std::nullopt});
  } else {
    ts->done = true;
  }
  pending_values_[ev.key] = PendingValue{ev.nbytes, ev.type_pickle, ev.type_name, false};
  out.recs.set(ev.key, TaskStatus::memory);
  return out;
}

// Upstream _handle_execute_failure.
RecsInstrs WorkerState::handle_event(const ExecuteFailureEvent& ev) {
  RecsInstrs out;
  execute_done_common(ev.key);
  TaskState* ts = find(ev.key);
  if (ts == nullptr) return out;
  if (is_executing(ts->status)) {
    ts->thread = ev.thread;
    ts->startstops = {{"compute", ev.start, ev.stop, std::nullopt}};
    ts->exception = ev.exception;
    ts->traceback = ev.traceback;
    ts->exception_text = ev.exception_text;
    ts->traceback_text = ev.traceback_text;
  } else if (ts->status == TaskStatus::cancelled) {
    ts->done = true;
  } else {
    return out;
  }
  out.recs.set(ev.key, TaskStatus::error);
  return out;
}

// Upstream _handle_reschedule: the task raised Reschedule (not work stealing, which
// arrives as free-keys). A cancelled task is simply released.
RecsInstrs WorkerState::handle_event(const RescheduleEvent& ev) {
  RecsInstrs out;
  execute_done_common(ev.key);
  TaskState* ts = find(ev.key);
  if (ts == nullptr) return out;
  if (ts->status == TaskStatus::cancelled) {
    ts->done = true;
  } else if (!is_executing(ts->status)) {
    return out;
  }
  out.recs.set(ev.key, TaskStatus::rescheduled);
  return out;
}

std::vector<Key> WorkerState::take_in_flight(const std::string& worker) {
  auto it = in_flight_workers_.find(worker);
  if (it == in_flight_workers_.end()) return {};
  std::vector<Key> keys = std::move(it->second);
  in_flight_workers_.erase(it);
  return keys;
}

void WorkerState::transfer_failed(const std::vector<Key>& keys, Recs& recs) {
  for (const Key& key : keys) {
    TaskState* ts = find(key);
    if (ts == nullptr) continue;
    ts->coming_from.reset();
    if (ts->status == TaskStatus::flight) {
      recs.set(key, TaskStatus::fetch);
    } else if (ts->status == TaskStatus::cancelled) {
      ts->done = true;
      recs.set(key, TaskStatus::released);
    } else if (ts->status == TaskStatus::resumed) {
      recs.set(key, TaskStatus::waiting);  // compute it here instead
    }
  }
}

// Upstream _handle_gather_dep_success.
RecsInstrs WorkerState::handle_event(const GatherDepSuccessEvent& ev) {
  RecsInstrs out;
  std::vector<Key> asked = take_in_flight(ev.worker);
  for (const ReceivedValue& rv : ev.data) {
    TaskState* ts = find(rv.key);
    bool was_asked = std::find(asked.begin(), asked.end(), rv.key) != asked.end();
    bool wanted =
        ts != nullptr && was_asked &&
        (ts->status == TaskStatus::flight || ts->status == TaskStatus::resumed ||
         ts->status == TaskStatus::cancelled);
    if (!wanted) {
      out.instructions.push_back(FreeData{rv.key});
      continue;
    }
    if (ts->status == TaskStatus::cancelled) {
      ts->done = true;
    } else {
      ts->startstops.push_back({"transfer", ev.start, ev.stop, ev.worker});
    }
    pending_values_[rv.key] = PendingValue{rv.nbytes, rv.type_pickle, rv.type_name, true};
    out.recs.set(rv.key, TaskStatus::memory);
  }
  std::vector<Key> not_received;
  for (const Key& key : asked) {
    bool got = std::any_of(ev.data.begin(), ev.data.end(),
                           [&](const ReceivedValue& rv) { return rv.key == key; });
    if (got) continue;
    if (TaskState* ts = find(key)) ts->who_has.erase(ev.worker);
    not_received.push_back(key);
  }
  transfer_failed(not_received, out.recs);
  return out;
}

RecsInstrs WorkerState::handle_event(const GatherDepBusyEvent& ev) {
  RecsInstrs out;
  busy_workers_.insert(ev.worker);
  transfer_failed(take_in_flight(ev.worker), out.recs);
  return out;
}

// Upstream _handle_gather_dep_network_failure: forget the peer everywhere.
RecsInstrs WorkerState::handle_event(const GatherDepNetworkFailureEvent& ev) {
  RecsInstrs out;
  std::vector<Key> asked = take_in_flight(ev.worker);
  for (auto& [key, ts] : tasks_) ts.who_has.erase(ev.worker);
  transfer_failed(asked, out.recs);
  return out;
}

RecsInstrs WorkerState::handle_event(const RetryBusyWorkerEvent& ev) {
  busy_workers_.erase(ev.worker);
  return {};
}

// Upstream _handle_update_data (scatter): the values are ours now.
RecsInstrs WorkerState::handle_event(const UpdateDataEvent& ev) {
  RecsInstrs out;
  for (const ReceivedValue& rv : ev.data) {
    TaskState& ts = ensure_task(rv.key);
    if (ts.status == TaskStatus::flight) take_in_flight(*ts.coming_from);
    pending_values_[rv.key] =
        PendingValue{rv.nbytes, rv.type_pickle, rv.type_name, false};
    if (ts.status == TaskStatus::memory) {
      take_pending_value(ts);  // a new value for a key already held
    } else {
      out.recs.set(rv.key, TaskStatus::memory);
    }
  }
  return out;
}

// Upstream _handle_secede: the thread left the pool, so its slot goes to the next
// ready task. Only a task the scheduler still wants here is reported as
// long-running; a cancelled one is reported if it is computed again
// (_transition_cancelled_or_resumed_long_running).
RecsInstrs WorkerState::handle_event(const SecedeEvent& ev) {
  RecsInstrs out;
  TaskState* ts = find(ev.key);
  if (ts == nullptr) return out;
  if (ts->status == TaskStatus::executing) {
    out.instructions.push_back(
        LongRunningMsg{ts->key, ts->run_id, ev.compute_duration, ev.stimulus_id});
    out.recs.set(ev.key, TaskStatus::long_running);
  } else if ((ts->status == TaskStatus::cancelled || ts->status == TaskStatus::resumed) &&
             ts->previous == TaskStatus::executing) {
    ts->previous = TaskStatus::long_running;
    executing_.erase(ts->key);
    long_running_.insert(ts->key);
  }
  // Otherwise already long-running (secede twice), or no longer running.
  return out;
}

// Upstream _handle_pause: nothing new starts; running tasks and transfers go on.
RecsInstrs WorkerState::handle_event(const PauseEvent&) {
  running_ = false;
  return {};
}

RecsInstrs WorkerState::handle_event(const UnpauseEvent&) {
  running_ = true;
  return {};
}

}  // namespace daskcpp::worker
