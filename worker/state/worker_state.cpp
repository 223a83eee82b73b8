// The engine: handle_stimulus, the recommendations loop and the transition
// dispatcher (upstream WorkerState.handle_stimulus, _transitions, _transition), and
// what starts work once the recommendations are steady (_ensure_communicating,
// _ensure_computing).

#include "worker/state/worker_state.hpp"

#include <algorithm>

namespace daskcpp::worker {

namespace {

Status impossible_transition(const Key& key, TaskStatus start, TaskStatus finish,
                             const std::string& stimulus_id) {
  return Status::Invalid("Impossible transition from " + std::string(to_string(start)) +
                         " to " + std::string(to_string(finish)) + " for key " +
                         key.to_debug_string() + " (stimulus_id=" + stimulus_id + ")");
}

void append(Instructions& out, Instructions&& more) {
  for (Instruction& i : more) out.push_back(std::move(i));
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

Result<Instructions> WorkerState::handle_stimulus(const StateMachineEvent& ev) {
  RecsInstrs handled = std::visit([this](const auto& e) { return handle_event(e); }, ev);
  const std::string& stimulus_id =
      std::visit([](const auto& e) -> const std::string& { return e.stimulus_id; }, ev);
  Instructions out = std::move(handled.instructions);
  DASKCPP_ASSIGN_OR_RETURN(Instructions more,
                           transitions(std::move(handled.recs), stimulus_id));
  append(out, std::move(more));
  return out;
}

Result<Instructions> WorkerState::transitions(Recs recs, const std::string& stimulus_id) {
  Instructions out;
  Status st = run_recommendations(std::move(recs), stimulus_id, out);
  if (st.ok()) flush_gathered_messages(stimulus_id, out);
  // Transfers first, once every task has reached fetch, so that one GatherDep
  // carries all a peer holds (upstream #6497); then the threads.
  if (st.ok()) st = ensure_communicating(stimulus_id, out);
  if (st.ok()) st = ensure_computing(stimulus_id, out);
  pending_values_.clear();
  newly_missing_.clear();
  added_keys_.clear();
  if (!st.ok()) return st;
  return out;
}

Status WorkerState::run_recommendations(Recs recs, const std::string& stimulus_id,
                                        Instructions& out) {
  while (!recs.empty()) {
    auto [key, finish] = recs.pop();
    RecsInstrs step;
    DASKCPP_RETURN_NOT_OK(transition(key, finish, stimulus_id, step));
    recs.update(step.recs);
    append(out, std::move(step.instructions));
  }
  return Status::OK();
}

// Upstream WorkerState._transition.
Status WorkerState::transition(const Key& key, TaskStatus finish,
                               const std::string& stimulus_id, RecsInstrs& out) {
  TaskState* ts = find(key);
  if (ts == nullptr) return Status::OK();  // forgotten meanwhile
  const TaskStatus start = ts->status;
  if (start == finish) return Status::OK();

  RecsInstrs local;
  if (TransitionFn fn = transition_function(start, finish)) {
    (this->*fn)(*ts, stimulus_id, local);
  } else if (start != TaskStatus::released && finish != TaskStatus::released) {
    // start -> released -> finish, following the released step's own
    // recommendations for the key on the way, except forgetting it.
    DASKCPP_RETURN_NOT_OK(transition(key, TaskStatus::released, stimulus_id, local));
    while (std::optional<TaskStatus> v = local.recs.take(key)) {
      if (*v == TaskStatus::forgotten) continue;
      DASKCPP_RETURN_NOT_OK(transition(key, *v, stimulus_id, local));
    }
    ts = find(key);
    if (ts == nullptr) return Status::OK();
    if (ts->status != finish) {
      if (transition_function(ts->status, finish) == nullptr) {
        return impossible_transition(key, start, finish, stimulus_id);
      }
      DASKCPP_RETURN_NOT_OK(transition(key, finish, stimulus_id, local));
    }
  } else {
    return impossible_transition(key, start, finish, stimulus_id);
  }
  merge_recs_instructions(out, std::move(local));
  return Status::OK();
}

// What the transitions of one stimulus gathered goes out as one message each:
// keys nobody holds (asked about together), then keys fetched from peers.
void WorkerState::flush_gathered_messages(const std::string& stimulus_id,
                                          Instructions& out) {
  std::vector<Key> missing;
  for (const Key& key : newly_missing_) {
    const TaskState* ts = task(key);
    if (ts != nullptr && ts->status == TaskStatus::missing) missing.push_back(key);
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  if (!missing.empty()) out.push_back(RequestRefreshWhoHasMsg{missing, stimulus_id});
  if (!added_keys_.empty()) {
    std::sort(added_keys_.begin(), added_keys_.end());
    out.push_back(AddKeysMsg{added_keys_, stimulus_id});
  }
}

Status WorkerState::ensure_communicating(const std::string& stimulus_id,
                                         Instructions& out) {
  if (!running_) return Status::OK();
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
    if (worker.empty()) break;  // every holder is busy or already being fetched from
    GatherDep gd{worker, {}, 0, stimulus_id};
    for (const auto& [priority, key] : data_needed_) {
      const TaskState& ts = tasks_.at(key);
      std::int64_t n = std::max<std::int64_t>(ts.nbytes, 0);
      bool fits =
          gd.keys.empty() || gd.total_nbytes + n <= options_.transfer_message_bytes_limit;
      if (!ts.who_has.contains(worker) || !fits) continue;
      gd.keys.push_back(key);
      gd.total_nbytes += n;
    }
    in_flight_workers_[worker] = gd.keys;
    std::vector<Key> keys = gd.keys;
    out.push_back(std::move(gd));
    RecsInstrs step;
    for (const Key& key : keys) {
      tasks_.at(key).coming_from = worker;
      DASKCPP_RETURN_NOT_OK(transition(key, TaskStatus::flight, stimulus_id, step));
    }
    append(out, std::move(step.instructions));
    DASKCPP_RETURN_NOT_OK(run_recommendations(std::move(step.recs), stimulus_id, out));
  }
  return Status::OK();
}

// Upstream _ensure_computing and _next_ready_task: from the ready queue, or from the
// constrained queue when its first task (only that one: constrained tasks start in
// priority order) comes first and its resources are free.
Status WorkerState::ensure_computing(const std::string& stimulus_id, Instructions& out) {
  if (!running_) return Status::OK();
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
      break;
    }
    Key key = queue->begin()->second;
    queue->erase(queue->begin());
    RecsInstrs step;
    DASKCPP_RETURN_NOT_OK(transition(key, TaskStatus::executing, stimulus_id, step));
    append(out, std::move(step.instructions));
    DASKCPP_RETURN_NOT_OK(run_recommendations(std::move(step.recs), stimulus_id, out));
  }
  return Status::OK();
}

// Upstream _resource_restrictions_satisfied; a resource this worker lacks is never
// available.
bool WorkerState::resources_available(const TaskState& ts) const {
  return std::all_of(ts.resource_restrictions.begin(), ts.resource_restrictions.end(),
                     [this](const auto& r) {
                       auto it = available_resources_.find(r.first);
                       return it != available_resources_.end() && it->second >= r.second;
                     });
}

}  // namespace daskcpp::worker
