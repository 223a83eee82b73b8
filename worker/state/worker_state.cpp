#include "worker/state/worker_state.hpp"

#include <algorithm>
#include <cmath>

namespace daskcpp::worker {

namespace {

using protocol::Value;

Priority to_priority(const protocol::Array& scheduler_priority, double generation) {
  Priority p;
  p.reserve(scheduler_priority.size() + 1);
  for (const Value& v : scheduler_priority)
    p.push_back(v.is_number() ? v.as_double() : 0);
  p.push_back(generation);
  return p;
}

bool is_executing(TaskStatus s) {
  return s == TaskStatus::executing || s == TaskStatus::long_running;
}

}  // namespace

WorkerState::WorkerState(WorkerStateOptions options,
                         std::map<std::string, double> resources)
    : options_(std::move(options)),
      total_resources_(std::move(resources)),
      available_resources_(total_resources_) {}

TaskState& WorkerState::ensure_task(const Key& key) {
  auto [it, inserted] = tasks_.try_emplace(key);
  if (inserted) it->second.key = key;
  return it->second;
}

TaskState* WorkerState::find(const Key& key) {
  auto it = tasks_.find(key);
  return it == tasks_.end() ? nullptr : &it->second;
}

const TaskState* WorkerState::task(const Key& key) const {
  auto it = tasks_.find(key);
  return it == tasks_.end() ? nullptr : &it->second;
}

void WorkerState::leave_queues(TaskState& ts) {
  ready_.erase({ts.priority, ts.key});
  constrained_.erase({ts.priority, ts.key});
  data_needed_.erase({ts.priority, ts.key});
}

// Mirrors WorkerState._handle_compute_task.
Instructions WorkerState::handle(const protocol::ComputeTask& ev) {
  Instructions out;
  TaskState& ts = ensure_task(ev.key);
  leave_queues(ts);  // the priority (part of the queue entry) changes below
  ts.run_id = ev.run_id;
  ts.priority = to_priority(ev.priority, generation_);
  generation_ -= 1;
  ts.run_spec = ev.run_spec;
  ts.annotations = ev.annotations;
  // A running task keeps what it acquired, so that exactly that is given back.
  if (!executing_.contains(ts.key) && !long_running_.contains(ts.key)) {
    ts.resource_restrictions.clear();
    if (ev.resource_restrictions.is_map()) {
      for (const auto& [name, amount] : ev.resource_restrictions.as_map()) {
        // The scheduler sends {str: number}; anything else cannot be honoured.
        if (name.is_str() && amount.is_number())
          ts.resource_restrictions[name.as_str()] = amount.as_double();
      }
    }
  }

  // Dependencies: who holds them and how big they are.
  for (const auto& [dep, addresses] : ev.who_has) {
    TaskState& dts = ensure_task(dep);
    for (const std::string& a : addresses) {
      if (a != options_.address) dts.who_has.insert(a);
    }
    ts.dependencies.insert(dep);
    dts.dependents.insert(ev.key);
  }
  for (const auto& [dep, n] : ev.nbytes) {
    if (TaskState* dts = find(dep); dts != nullptr && dts->nbytes < 0) dts->nbytes = n;
  }

  switch (ts.status) {
    case TaskStatus::memory:
      out.push_back(SendMsg{task_finished_msg(ts, ev.stimulus_id)});
      return out;
    case TaskStatus::ready:
    case TaskStatus::constrained:
      to_ready(ts);  // its restrictions may have changed
      break;
    case TaskStatus::executing:
    case TaskStatus::long_running:
    case TaskStatus::waiting:
    case TaskStatus::resumed:
      break;  // only run_id/priority change
    case TaskStatus::cancelled:
      if (ts.previous == TaskStatus::flight) {
        ts.status = TaskStatus::resumed;  // compute it if the transfer fails
      } else if (ts.previous == TaskStatus::long_running) {
        // _transition_cancelled_waiting: tell the scheduler in arrears that it
        // seceded (it forgot the task while it was cancelled).
        ts.status = TaskStatus::long_running;
        ts.previous.reset();
        out.push_back(
            SendMsg{protocol::LongRunning{ts.key, ts.run_id, std::nullopt, ev.stimulus_id}
                        .encode()});
      } else {
        ts.status = ts.previous.value_or(TaskStatus::executing);
        ts.previous.reset();
      }
      break;
    case TaskStatus::flight:
      ts.status = TaskStatus::resumed;
      ts.previous = TaskStatus::flight;
      break;
    case TaskStatus::released:
    case TaskStatus::fetch:
    case TaskStatus::missing:
    case TaskStatus::error:
      to_waiting(ts, ev.stimulus_id, out);
      break;
  }
  ensure_communicating(ev.stimulus_id, out);
  ensure_computing(ev.stimulus_id, out);
  return out;
}

// Mirrors _transition_released_waiting: fetch what is missing, run when complete.
void WorkerState::to_waiting(TaskState& ts, const std::string& stimulus_id,
                             Instructions& out) {
  ts.status = TaskStatus::waiting;
  ts.waiting_for_data.clear();
  std::vector<Key> missing;
  for (const Key& dep : ts.dependencies) {
    TaskState& dts = tasks_.at(dep);
    if (dts.status == TaskStatus::memory) continue;
    ts.waiting_for_data.insert(dep);
    if (dts.status == TaskStatus::released || dts.status == TaskStatus::missing) {
      to_fetch_or_missing(dts, out, missing);
    } else if (dts.status == TaskStatus::cancelled &&
               dts.previous == TaskStatus::flight) {
      dts.status = TaskStatus::flight;  // still coming; wanted again
      dts.previous.reset();
    }
  }
  request_refresh(missing, stimulus_id, out);
  if (ts.waiting_for_data.empty()) to_ready(ts);
}

void WorkerState::to_fetch_or_missing(TaskState& ts, Instructions& /*out*/,
                                      std::vector<Key>& missing) {
  if (ts.priority.empty()) {
    // A dependency inherits the priority of the first task that needs it.
    for (const Key& d : ts.dependents) {
      if (const TaskState* t = find(d); t != nullptr && !t->priority.empty()) {
        ts.priority = t->priority;
        break;
      }
    }
  }
  if (ts.who_has.empty()) {
    if (ts.status != TaskStatus::missing) missing.push_back(ts.key);
    ts.status = TaskStatus::missing;
    return;
  }
  ts.status = TaskStatus::fetch;
  data_needed_.insert({ts.priority, ts.key});
}

// Mirrors _transition_waiting_ready / _transition_waiting_constrained.
void WorkerState::to_ready(TaskState& ts) {
  if (ts.resource_restrictions.empty()) {
    ts.status = TaskStatus::ready;
    ready_.insert({ts.priority, ts.key});
  } else {
    ts.status = TaskStatus::constrained;
    constrained_.insert({ts.priority, ts.key});
  }
}

void WorkerState::request_refresh(std::vector<Key>& missing,
                                  const std::string& stimulus_id, Instructions& out) {
  if (missing.empty()) return;
  out.push_back(SendMsg{protocol::RequestRefreshWhoHas{missing, stimulus_id}.encode()});
  missing.clear();
}

void WorkerState::put_in_memory(TaskState& ts, std::int64_t nbytes,
                                const std::optional<Bytes>& type_pickle,
                                const std::string& type_name) {
  leave_queues(ts);
  ts.status = TaskStatus::memory;
  ts.previous.reset();
  ts.coming_from.reset();
  ts.nbytes = nbytes;
  ts.type_pickle = type_pickle;
  ts.type_name = type_name;
  for (const Key& d : ts.dependents) {
    TaskState* dts = find(d);
    if (dts == nullptr) continue;
    dts->waiting_for_data.erase(ts.key);
    if (dts->status == TaskStatus::waiting && dts->waiting_for_data.empty())
      to_ready(*dts);
  }
}

// Mirrors _transition_*_released: running work is cancelled, everything else drops
// its data and its claims on dependencies.
void WorkerState::release(TaskState& ts, const std::string& stimulus_id,
                          Instructions& out) {
  switch (ts.status) {
    case TaskStatus::executing:
    case TaskStatus::long_running:
    case TaskStatus::flight:
      ts.previous = ts.status;
      ts.status = TaskStatus::cancelled;
      return;
    case TaskStatus::resumed:
      ts.status = TaskStatus::cancelled;  // previous stays flight
      return;
    case TaskStatus::cancelled:
      return;
    case TaskStatus::memory:
      out.push_back(FreeData{ts.key});
      break;
    default:
      break;
  }
  leave_queues(ts);
  ts.status = TaskStatus::released;
  ts.previous.reset();
  ts.coming_from.reset();
  ts.waiting_for_data.clear();
  ts.run_spec = Value();
  ts.type_pickle.reset();
  ts.type_name.clear();
  ts.nbytes = -1;
  ts.startstops.clear();
  release_dependencies(ts, stimulus_id, out);
  maybe_forget(ts.key);
}

void WorkerState::release_dependencies(TaskState& ts, const std::string& stimulus_id,
                                       Instructions& out) {
  std::set<Key> deps = std::move(ts.dependencies);
  ts.dependencies.clear();
  for (const Key& dep : deps) {
    TaskState* dts = find(dep);
    if (dts == nullptr) continue;
    dts->dependents.erase(ts.key);
    if (!dts->dependents.empty() || !dts->run_spec.is_nil()) continue;
    // Data fetched only for this task: stop fetching it. Replicas in memory stay
    // until the scheduler frees them.
    switch (dts->status) {
      case TaskStatus::fetch:
      case TaskStatus::missing:
      case TaskStatus::flight:
      case TaskStatus::released:
        release(*dts, stimulus_id, out);
        break;
      default:
        break;
    }
  }
}

void WorkerState::maybe_forget(const Key& key) {
  auto it = tasks_.find(key);
  if (it == tasks_.end()) return;
  const TaskState& ts = it->second;
  if (ts.status == TaskStatus::released && ts.dependents.empty()) tasks_.erase(it);
}

// Mirrors _handle_free_keys. A key held in memory is answered with
// release-worker-data (protocol.md §6.4, Appendix F).
Instructions WorkerState::handle(const protocol::FreeKeys& ev) {
  Instructions out;
  for (const Key& key : ev.keys) {
    TaskState* ts = find(key);
    if (ts == nullptr) continue;
    bool was_memory = ts->status == TaskStatus::memory;
    ts->run_spec = Value();
    release(*ts, ev.stimulus_id, out);
    if (was_memory) {
      out.push_back(SendMsg{protocol::ReleaseWorkerData{key, ev.stimulus_id}.encode()});
    }
  }
  ensure_communicating(ev.stimulus_id, out);
  ensure_computing(ev.stimulus_id, out);
  return out;
}

// Mirrors _handle_steal_request: answer with the state before; drop the task if it
// has not started.
Instructions WorkerState::handle(const protocol::StealRequest& ev) {
  Instructions out;
  TaskState* ts = find(ev.key);
  std::optional<std::string> state;
  if (ts != nullptr) state = std::string(to_string(ts->status));
  if (ts != nullptr &&
      (ts->status == TaskStatus::ready || ts->status == TaskStatus::constrained ||
       ts->status == TaskStatus::waiting)) {
    ts->run_spec = Value();
    release(*ts, ev.stimulus_id, out);
  }
  out.push_back(SendMsg{protocol::StealResponse{ev.key, state, ev.stimulus_id}.encode()});
  ensure_communicating(ev.stimulus_id, out);
  ensure_computing(ev.stimulus_id, out);
  return out;
}

Instructions WorkerState::handle(const protocol::AcquireReplicas& ev) {
  Instructions out;
  std::vector<Key> missing;
  for (const auto& [key, addresses] : ev.who_has) {
    TaskState& ts = ensure_task(key);
    for (const std::string& a : addresses) {
      if (a != options_.address) ts.who_has.insert(a);
    }
    for (const auto& [k, n] : ev.nbytes) {
      if (k == key) ts.nbytes = n;
    }
    if (ts.status == TaskStatus::released || ts.status == TaskStatus::missing) {
      to_fetch_or_missing(ts, out, missing);
    }
  }
  request_refresh(missing, ev.stimulus_id, out);
  ensure_communicating(ev.stimulus_id, out);
  return out;
}

// Mirrors _handle_remove_replicas: only replicas no local task still needs.
Instructions WorkerState::handle(const protocol::RemoveReplicas& ev) {
  Instructions out;
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
    ts->run_spec = Value();
    release(*ts, ev.stimulus_id, out);
    out.push_back(SendMsg{protocol::ReleaseWorkerData{key, ev.stimulus_id}.encode()});
  }
  return out;
}

// Mirrors _handle_refresh_who_has: replace what we knew about these keys.
Instructions WorkerState::handle(const protocol::RefreshWhoHas& ev) {
  Instructions out;
  std::vector<Key> missing;
  for (const auto& [key, addresses] : ev.who_has) {
    TaskState* ts = find(key);
    if (ts == nullptr) continue;
    ts->who_has.clear();
    for (const std::string& a : addresses) {
      if (a != options_.address) ts->who_has.insert(a);
    }
    if (ts->status == TaskStatus::missing && !ts->who_has.empty()) {
      to_fetch_or_missing(*ts, out, missing);
    } else if (ts->status == TaskStatus::fetch && ts->who_has.empty()) {
      data_needed_.erase({ts->priority, ts->key});
      ts->status = TaskStatus::missing;
    }
  }
  ensure_communicating(ev.stimulus_id, out);
  return out;
}

// Mirrors _handle_remove_worker: that peer holds nothing any more.
Instructions WorkerState::handle(const protocol::RemoveWorker& ev) {
  Instructions out;
  std::vector<Key> missing;
  for (auto& [key, ts] : tasks_) {
    if (ts.who_has.erase(ev.worker) == 0) continue;
    if (ts.status == TaskStatus::fetch && ts.who_has.empty()) {
      data_needed_.erase({ts.priority, ts.key});
      ts.status = TaskStatus::missing;
      missing.push_back(key);
    }
  }
  std::sort(missing.begin(), missing.end());
  request_refresh(missing, ev.stimulus_id, out);
  busy_workers_.erase(ev.worker);
  ensure_communicating(ev.stimulus_id, out);
  return out;
}

// Mirrors _handle_execute_success / _transition_executing_memory.
Instructions WorkerState::handle(const ExecuteSuccess& ev) {
  Instructions out;
  release_resources(ev.key);
  executing_.erase(ev.key);
  long_running_.erase(ev.key);
  TaskState* ts = find(ev.key);
  if (ts == nullptr) {
    out.push_back(FreeData{ev.key});
  } else if (is_executing(ts->status)) {
    ts->thread = ev.thread;
    ts->startstops.push_back({"compute", ev.start, ev.stop, std::nullopt});
    put_in_memory(*ts, ev.nbytes, ev.type_pickle, ev.type_name);
    out.push_back(SendMsg{task_finished_msg(*ts, ev.stimulus_id)});
  } else if (ts->status == TaskStatus::cancelled) {
    ts->status = TaskStatus::memory;  // so that release() frees the value
    release(*ts, ev.stimulus_id, out);
  } else {
    out.push_back(FreeData{ev.key});  // stale result
  }
  ensure_computing(ev.stimulus_id, out);
  return out;
}

// Mirrors _handle_execute_failure / _transition_executing_error.
Instructions WorkerState::handle(const ExecuteFailure& ev) {
  Instructions out;
  release_resources(ev.key);
  executing_.erase(ev.key);
  long_running_.erase(ev.key);
  TaskState* ts = find(ev.key);
  if (ts != nullptr && is_executing(ts->status)) {
    ts->status = TaskStatus::error;
    ts->thread = ev.thread;
    std::vector<protocol::StartStop> ss = {{"compute", ev.start, ev.stop, std::nullopt}};
    out.push_back(SendMsg{protocol::TaskErred{
        ts->key, ts->run_id, ev.exception, ev.traceback, ev.exception_text,
        ev.traceback_text, ev.thread, ss, ev.stimulus_id}
                              .encode()});
  } else if (ts != nullptr && ts->status == TaskStatus::cancelled) {
    ts->status = TaskStatus::released;
    ts->previous.reset();
    release(*ts, ev.stimulus_id, out);
  }
  ensure_computing(ev.stimulus_id, out);
  return out;
}

std::vector<Key> WorkerState::take_in_flight(const std::string& worker) {
  auto it = in_flight_workers_.find(worker);
  if (it == in_flight_workers_.end()) return {};
  std::vector<Key> keys = std::move(it->second);
  in_flight_workers_.erase(it);
  return keys;
}

void WorkerState::transfer_failed(const std::vector<Key>& keys,
                                  const std::string& stimulus_id, Instructions& out) {
  std::vector<Key> missing;
  for (const Key& key : keys) {
    TaskState* ts = find(key);
    if (ts == nullptr) continue;
    ts->coming_from.reset();
    if (ts->status == TaskStatus::flight) {
      to_fetch_or_missing(*ts, out, missing);
    } else if (ts->status == TaskStatus::cancelled) {
      ts->status = TaskStatus::released;
      ts->previous.reset();
      release(*ts, stimulus_id, out);
    } else if (ts->status == TaskStatus::resumed) {
      ts->previous.reset();
      to_waiting(*ts, stimulus_id, out);  // compute it here instead
    }
  }
  request_refresh(missing, stimulus_id, out);
}

// Mirrors _handle_gather_dep_success.
Instructions WorkerState::handle(const GatherDepSuccess& ev) {
  Instructions out;
  std::vector<Key> asked = take_in_flight(ev.worker);
  std::vector<Key> added;
  std::vector<Key> not_received;
  for (const ReceivedValue& rv : ev.data) {
    TaskState* ts = find(rv.key);
    bool was_asked = std::find(asked.begin(), asked.end(), rv.key) != asked.end();
    if (ts == nullptr || !was_asked) {
      out.push_back(FreeData{rv.key});
      continue;
    }
    if (ts->status == TaskStatus::flight || ts->status == TaskStatus::resumed) {
      ts->startstops.push_back({"transfer", ev.start, ev.stop, ev.worker});
      bool resumed = ts->status == TaskStatus::resumed;
      put_in_memory(*ts, rv.nbytes, rv.type_pickle, rv.type_name);
      added.push_back(rv.key);
      if (resumed) out.push_back(SendMsg{task_finished_msg(*ts, ev.stimulus_id)});
    } else if (ts->status == TaskStatus::cancelled) {
      ts->status = TaskStatus::memory;
      release(*ts, ev.stimulus_id, out);
    } else {
      out.push_back(FreeData{rv.key});
    }
  }
  for (const Key& key : asked) {
    bool got = std::any_of(ev.data.begin(), ev.data.end(),
                           [&](const ReceivedValue& rv) { return rv.key == key; });
    if (got) continue;
    if (TaskState* ts = find(key)) ts->who_has.erase(ev.worker);
    not_received.push_back(key);
  }
  transfer_failed(not_received, ev.stimulus_id, out);
  if (!added.empty()) {
    out.push_back(SendMsg{protocol::AddKeys{added, ev.stimulus_id}.encode()});
  }
  ensure_communicating(ev.stimulus_id, out);
  ensure_computing(ev.stimulus_id, out);
  return out;
}

Instructions WorkerState::handle(const GatherDepBusy& ev) {
  Instructions out;
  busy_workers_.insert(ev.worker);
  transfer_failed(take_in_flight(ev.worker), ev.stimulus_id, out);
  ensure_communicating(ev.stimulus_id, out);
  return out;
}

// Mirrors _handle_gather_dep_network_failure: forget the peer everywhere.
Instructions WorkerState::handle(const GatherDepNetworkFailure& ev) {
  Instructions out;
  std::vector<Key> asked = take_in_flight(ev.worker);
  for (auto& [key, ts] : tasks_) ts.who_has.erase(ev.worker);
  transfer_failed(asked, ev.stimulus_id, out);
  ensure_communicating(ev.stimulus_id, out);
  return out;
}

Instructions WorkerState::handle(const RetryBusyWorker& ev) {
  Instructions out;
  busy_workers_.erase(ev.worker);
  ensure_communicating(ev.stimulus_id, out);
  return out;
}

// Mirrors _handle_update_data (scatter): the values are ours now.
Instructions WorkerState::handle(const UpdateData& ev) {
  Instructions out;
  for (const ReceivedValue& rv : ev.data) {
    TaskState& ts = ensure_task(rv.key);
    if (ts.status == TaskStatus::flight) take_in_flight(*ts.coming_from);
    put_in_memory(ts, rv.nbytes, rv.type_pickle, rv.type_name);
  }
  ensure_computing(ev.stimulus_id, out);
  return out;
}

// Mirrors _handle_secede and _transition_executing_long_running /
// _transition_cancelled_or_resumed_long_running: the thread left the pool, so its
// slot goes to the next ready task. Only a task the scheduler still wants here is
// reported as long-running; a cancelled one is reported if it is computed again.
Instructions WorkerState::handle(const Secede& ev) {
  Instructions out;
  TaskState* ts = find(ev.key);
  if (ts == nullptr) return out;
  bool cancelled_running =
      (ts->status == TaskStatus::cancelled || ts->status == TaskStatus::resumed) &&
      ts->previous && is_executing(*ts->previous);
  if (ts->status == TaskStatus::executing) {
    ts->status = TaskStatus::long_running;
    out.push_back(SendMsg{
        protocol::LongRunning{ts->key, ts->run_id, ev.compute_duration, ev.stimulus_id}
            .encode()});
  } else if (cancelled_running) {
    ts->previous = TaskStatus::long_running;
  } else {
    return out;  // already long-running (secede twice), or no longer running
  }
  executing_.erase(ts->key);
  long_running_.insert(ts->key);
  ensure_computing(ev.stimulus_id, out);
  return out;
}

// Mirrors _handle_pause: nothing new starts; running tasks and transfers go on.
Instructions WorkerState::handle(const Pause&) {
  running_ = false;
  return {};
}

// Mirrors _handle_unpause (and the _ensure_communicating handle_stimulus adds).
Instructions WorkerState::handle(const Unpause& ev) {
  Instructions out;
  running_ = true;
  ensure_communicating(ev.stimulus_id, out);
  ensure_computing(ev.stimulus_id, out);
  return out;
}

// Mirrors _ensure_communicating: per peer, one get_data for the highest-priority
// keys it holds, up to the byte limit, with at most N peers at once.
void WorkerState::ensure_communicating(const std::string& stimulus_id,
                                       Instructions& out) {
  if (!running_) return;
  while (static_cast<int>(in_flight_workers_.size()) <
             options_.transfer_incoming_count_limit &&
         !data_needed_.empty()) {
    std::string worker;
    for (const auto& [priority, key] : data_needed_) {
      for (const std::string& w : tasks_.at(key).who_has) {
        if (!in_flight_workers_.contains(w) && !busy_workers_.contains(w)) {
          worker = w;
          break;
        }
      }
      if (!worker.empty()) break;
    }
    if (worker.empty()) return;  // every holder is busy or already being fetched from
    GatherDep gd{worker, {}, 0, stimulus_id};
    for (auto it = data_needed_.begin(); it != data_needed_.end();) {
      TaskState& ts = tasks_.at(it->second);
      std::int64_t n = std::max<std::int64_t>(ts.nbytes, 0);
      bool fits =
          gd.keys.empty() || gd.total_nbytes + n <= options_.transfer_message_bytes_limit;
      if (!ts.who_has.contains(worker) || !fits) {
        ++it;
        continue;
      }
      gd.keys.push_back(ts.key);
      gd.total_nbytes += n;
      ts.status = TaskStatus::flight;
      ts.coming_from = worker;
      it = data_needed_.erase(it);
    }
    in_flight_workers_[worker] = gd.keys;
    out.push_back(std::move(gd));
  }
}

// Mirrors _ensure_computing and _next_ready_task: fill the threads by priority from
// the ready queue, or from the constrained queue when its first task (only that one:
// constrained tasks start in priority order) comes first and its resources are free.
void WorkerState::ensure_computing(const std::string& stimulus_id, Instructions& out) {
  if (!running_) return;
  while (static_cast<int>(executing_.size()) < options_.nthreads) {
    std::set<QueueEntry>* queue = nullptr;
    bool constrained_ok = !constrained_.empty() &&
                          resources_available(tasks_.at(constrained_.begin()->second));
    if (!ready_.empty() && !constrained_.empty()) {
      queue = constrained_ok && *constrained_.begin() < *ready_.begin() ? &constrained_
                                                                        : &ready_;
    } else if (!ready_.empty()) {
      queue = &ready_;
    } else if (constrained_ok) {
      queue = &constrained_;
    } else {
      return;
    }
    Key key = queue->begin()->second;
    queue->erase(queue->begin());
    TaskState& ts = tasks_.at(key);
    for (const auto& [name, amount] : ts.resource_restrictions)
      available_resources_[name] -= amount;
    ts.status = TaskStatus::executing;
    executing_.insert(key);
    out.push_back(Execute{key, stimulus_id});
  }
}

// Mirrors _resource_restrictions_satisfied; a resource this worker lacks is never
// available.
bool WorkerState::resources_available(const TaskState& ts) const {
  return std::all_of(ts.resource_restrictions.begin(), ts.resource_restrictions.end(),
                     [this](const auto& r) {
                       auto it = available_resources_.find(r.first);
                       return it != available_resources_.end() && it->second >= r.second;
                     });
}

// Mirrors _release_resources in _execute_done_common: only a task that held a thread
// (executing or seceded) acquired anything.
void WorkerState::release_resources(const Key& key) {
  if (!executing_.contains(key) && !long_running_.contains(key)) return;
  const TaskState* ts = task(key);
  if (ts == nullptr) return;
  for (const auto& [name, amount] : ts->resource_restrictions)
    available_resources_[name] += amount;
}

protocol::Value WorkerState::task_finished_msg(const TaskState& ts,
                                               const std::string& stimulus_id) const {
  protocol::TaskFinished msg;
  msg.key = ts.key;
  msg.run_id = ts.run_id;
  msg.nbytes = std::max<std::int64_t>(ts.nbytes, 0);
  msg.type = ts.type_pickle;
  msg.typename_ = ts.type_name;
  msg.thread = ts.thread;
  msg.startstops = ts.startstops;
  msg.stimulus_id = stimulus_id;
  return msg.encode();
}

std::map<std::string, std::int64_t> WorkerState::task_counts() const {
  std::map<std::string, std::int64_t> counts;
  for (const auto& [key, ts] : tasks_) ++counts[std::string(to_string(ts.status))];
  return counts;
}

std::int64_t WorkerState::managed_bytes() const {
  std::int64_t total = 0;
  for (const auto& [key, ts] : tasks_) {
    if (ts.status == TaskStatus::memory) total += std::max<std::int64_t>(ts.nbytes, 0);
  }
  return total;
}

Status WorkerState::validate() const {
  auto fail = [](const TaskState& ts, std::string_view what) {
    return Status::Invalid("task " + ts.key.to_debug_string() + " in state " +
                           std::string(to_string(ts.status)) + ": " + std::string(what));
  };
  for (const auto& [key, ts] : tasks_) {
    bool in_ready = ready_.contains({ts.priority, key});
    bool in_constrained = constrained_.contains({ts.priority, key});
    if (in_constrained != (ts.status == TaskStatus::constrained))
      return fail(ts, "constrained queue");
    bool in_needed = data_needed_.contains({ts.priority, key});
    if (in_ready != (ts.status == TaskStatus::ready)) return fail(ts, "ready queue");
    if (in_needed != (ts.status == TaskStatus::fetch)) return fail(ts, "fetch queue");
    bool running = is_executing(ts.status) || (ts.status == TaskStatus::cancelled &&
                                               ts.previous && is_executing(*ts.previous));
    bool seceded =
        ts.status == TaskStatus::long_running ||
        ((ts.status == TaskStatus::cancelled || ts.status == TaskStatus::resumed) &&
         ts.previous == TaskStatus::long_running);
    if (executing_.contains(key) != (running && !seceded)) {
      return fail(ts, "executing set");
    }
    if (long_running_.contains(key) != seceded) return fail(ts, "long-running set");
    if (ts.status == TaskStatus::waiting && ts.waiting_for_data.empty()) {
      return fail(ts, "waiting on nothing");
    }
    if (ts.status == TaskStatus::fetch && ts.who_has.empty()) {
      return fail(ts, "fetch without holders");
    }
    for (const Key& d : ts.dependents) {
      auto it = tasks_.find(d);
      if (it == tasks_.end() || !it->second.dependencies.contains(key)) {
        return fail(ts, "dependent " + d.to_debug_string() + " does not list it");
      }
    }
    if (ts.status == TaskStatus::released && ts.dependents.empty()) {
      return fail(ts, "released and unneeded but not forgotten");
    }
  }
  // Upstream _validate_resources: available + held by running tasks = total.
  std::map<std::string, double> held = available_resources_;
  for (const std::set<Key>* running : {&executing_, &long_running_}) {
    for (const Key& key : *running) {
      auto it = tasks_.find(key);
      if (it == tasks_.end()) continue;
      for (const auto& [name, amount] : it->second.resource_restrictions)
        held[name] += amount;
    }
  }
  for (const auto& [name, amount] : held) {
    auto total = total_resources_.find(name);
    double expected = total == total_resources_.end() ? 0 : total->second;
    auto available = available_resources_.find(name);
    bool negative = available != available_resources_.end() && available->second < -1e-9;
    if (std::abs(amount - expected) > 1e-9 || negative) {
      return Status::Invalid("resource " + name + ": available plus held is " +
                             std::to_string(amount) + ", total " +
                             std::to_string(expected));
    }
  }
  return Status::OK();
}

}  // namespace daskcpp::worker
