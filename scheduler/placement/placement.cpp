#include "scheduler/placement/placement.hpp"

#include <cmath>

namespace daskcpp::scheduler {

bool is_rootish(const SchedulerState& s, TaskId id) {
  const TaskState& ts = s.task(id);
  if (ts.has_restrictions()) return false;
  if (ts.has_run_spec() && ts.data_producer) return true;
  const TaskGroup& tg = s.group(ts.group);
  std::int64_t deps_size = 0;
  for (GroupId g : tg.dependencies) deps_size += s.group(g).size;
  return tg.size > s.total_nthreads() * 2 &&
         static_cast<std::int64_t>(tg.dependencies.size()) <
             s.config().rootish_taskgroup &&
         deps_size < s.config().rootish_taskgroup_dependencies;
}

std::int64_t task_slots_available(const WorkerState& ws, double saturation) {
  auto cap = static_cast<std::int64_t>(std::ceil(saturation * ws.nthreads));
  return std::max<std::int64_t>(cap, 1) -
         (static_cast<std::int64_t>(ws.processing.size()) -
          static_cast<std::int64_t>(ws.long_running.size()));
}

bool worker_full(const WorkerState& ws, double saturation) {
  if (std::isinf(saturation)) return false;
  return task_slots_available(ws, saturation) <= 0;
}

void check_idle_saturated(SchedulerState& s, WorkerId id) {
  const WorkerState& ws = s.worker(id);
  if (s.total_nthreads() == 0 || ws.status == WorkerStatus::closed) return;
  double occ = s.occupancy(id);
  auto p = static_cast<std::int64_t>(ws.processing.size());
  double avg = s.total_occupancy() / static_cast<double>(s.total_nthreads());

  s.set_saturated(id, false);
  if (ws.status != WorkerStatus::running) {
    s.set_idle(id, false);
  } else if (p < ws.nthreads || occ < ws.nthreads * avg / 2) {
    s.set_idle(id, true);
  } else {
    s.set_idle(id, false);
    std::int64_t nc = ws.nthreads;
    if (p > nc) {
      double pending = occ * static_cast<double>(p - nc) / static_cast<double>(p * nc);
      if (0.4 < pending && pending > 1.9 * avg) s.set_saturated(id, true);
    }
  }
  bool has_slots = !worker_full(ws, s.config().worker_saturation) &&
                   ws.status == WorkerStatus::running;
  s.set_idle_task_count(id, has_slots);
}

namespace {

// The candidate with the smallest worker_objective; the first one wins ties.
template <class Workers>
std::optional<WorkerId> best_of(const SchedulerState& s, TaskId ts,
                                const Workers& candidates) {
  if (candidates.empty()) return std::nullopt;
  if (candidates.size() == 1) return candidates.front();
  WorkerId best_w = candidates.front();
  WorkerObjective best = worker_objective(s, ts, best_w);
  for (WorkerId w : candidates) {
    WorkerObjective o = worker_objective(s, ts, w);
    if (o < best) {
      best = o;
      best_w = w;
    }
  }
  return best_w;
}

}  // namespace

std::optional<WorkerId> decide_worker_rootish_queuing_enabled(const SchedulerState& s) {
  const auto& itc = s.idle_task_count();
  if (itc.empty()) return std::nullopt;
  return itc.begin()->second;
}

std::optional<WorkerId> decide_worker_rootish_queuing_disabled(SchedulerState& s,
                                                               TaskId id) {
  const TaskState& ts = s.task(id);
  TaskGroup& tg = s.group(ts.group);
  if (s.running().empty()) return std::nullopt;
  WorkerId chosen;
  if (!is_none(tg.last_worker) && tg.last_worker_tasks_left > 0 &&
      s.worker(tg.last_worker).alive &&
      s.worker(tg.last_worker).status == WorkerStatus::running) {
    chosen = tg.last_worker;
  } else {
    // Choosing a new co-assignment worker scans the pool; this happens once per
    // last_worker_tasks_left tasks of the group, not per task.
    std::vector<WorkerId> pool = s.idle().empty() ? s.running().to_vector() : s.idle();
    chosen = *best_of(s, id, pool);
    tg.last_worker_tasks_left = static_cast<std::int64_t>(
        std::floor(static_cast<double>(tg.size) /
                   static_cast<double>(s.total_nthreads()) * s.worker(chosen).nthreads));
  }
  std::int64_t left = tg.states[static_cast<int>(TaskStatus::released)] +
                      tg.states[static_cast<int>(TaskStatus::waiting)];
  tg.last_worker = left > 1 ? chosen : kNoId<WorkerId>;
  tg.last_worker_tasks_left -= 1;
  return chosen;
}

std::optional<IdSet<WorkerId>> valid_workers(const SchedulerState& s, TaskId id) {
  const TaskState& ts = s.task(id);
  const Restrictions* r = ts.restrictions();
  if (r == nullptr || !r->any()) return std::nullopt;

  std::optional<IdSet<WorkerId>> out;
  if (!r->workers.empty()) {
    out.emplace();
    for (const std::string& addr : r->workers) {
      if (auto w = s.find_worker(addr)) out->insert(*w);
    }
  }
  if (!r->hosts.empty()) {
    if (!out) out.emplace();
    for (const std::string& h : r->hosts) {
      // A host restriction may name a worker (alias); it then means that worker's host.
      std::string_view host = h;
      if (auto alias = s.find_worker_by_name(h)) host = s.worker(*alias).host;
      if (const IdSet<WorkerId>* on_host = s.workers_on_host(host)) {
        for (WorkerId w : *on_host) out->insert(w);
      }
    }
  }
  if (!r->resources.empty()) {
    IdSet<WorkerId> ok;
    for (WorkerId w : s.workers_by_address()) {
      const WorkerState& ws = s.worker(w);
      bool all = true;
      for (const auto& [name, required] : r->resources) {
        bool found = false;
        for (const auto& [have_name, supplied] : ws.resources) {
          if (have_name == name && supplied >= required) found = true;
        }
        all = all && found;
      }
      if (all) ok.insert(w);
    }
    if (!out) {
      out = std::move(ok);
    } else {
      IdSet<WorkerId> both;
      for (WorkerId w : *out) {
        if (ok.contains(w)) both.insert(w);
      }
      out = std::move(both);
    }
  }
  IdSet<WorkerId> running_only;
  for (WorkerId w : *out) {
    if (s.running().contains(w)) running_only.insert(w);
  }
  return running_only;
}

double get_comm_cost(const SchedulerState& s, TaskId id, WorkerId ws) {
  std::int64_t nbytes = 0;
  for (TaskId dep : s.task(id).dependencies) {
    if (!s.task(dep).who_has.contains(ws)) nbytes += s.get_nbytes(dep);
  }
  return static_cast<double>(nbytes) / s.config().bandwidth;
}

WorkerObjective worker_objective(const SchedulerState& s, TaskId ts, WorkerId ws) {
  const WorkerState& w = s.worker(ws);
  double stack_time = s.occupancy(ws) / w.nthreads;
  return {stack_time + get_comm_cost(s, ts, ws), w.nbytes};
}

namespace {

// Upstream module-level decide_worker().
std::optional<WorkerId> decide_worker(const SchedulerState& s, TaskId id,
                                      const std::optional<IdSet<WorkerId>>& valid) {
  const TaskState& ts = s.task(id);
  IdSet<WorkerId> candidates;
  if (ts.actor) {
    candidates = s.running();
  } else {
    for (TaskId dep : ts.dependencies) {
      for (WorkerId w : s.task(dep).who_has) {
        if (s.running().contains(w)) candidates.insert(w);
      }
    }
  }
  if (!valid) {
    if (candidates.empty()) candidates = s.running();
  } else {
    IdSet<WorkerId> both;
    for (WorkerId w : candidates) {
      if (valid->contains(w)) both.insert(w);
    }
    candidates = std::move(both);
    if (candidates.empty()) {
      candidates = *valid;
      if (candidates.empty() && ts.loose_restrictions()) {
        return decide_worker(s, id, std::nullopt);
      }
    }
  }
  return best_of(s, id, candidates);
}

}  // namespace

std::optional<WorkerId> decide_worker_non_rootish(const SchedulerState& s, TaskId id) {
  if (s.running().empty()) return std::nullopt;
  const TaskState& ts = s.task(id);
  std::optional<IdSet<WorkerId>> valid = valid_workers(s, id);
  if (!ts.dependencies.empty() || valid) return decide_worker(s, id, valid);

  // No dependencies, no restrictions: least occupied idle (or any running) worker, with
  // round-robin among unoccupied ones. Idle workers are always running.
  const std::vector<WorkerId>& src = s.idle().empty() ? s.workers_by_address() : s.idle();
  std::size_t n = src.size();
  std::size_t start = static_cast<std::size_t>(s.n_tasks) % n;
  if (n < 20) {
    std::optional<WorkerId> best;
    double best_occ = 0;
    for (WorkerId w : src) {
      if (!s.running().contains(w)) continue;
      double o = s.occupancy(w);
      if (!best || o < best_occ) {
        best_occ = o;
        best = w;
      }
    }
    if (best && best_occ == 0) {
      for (std::size_t i = 0; i < n; ++i) {
        WorkerId w = src[(i + start) % n];
        if (s.running().contains(w) && s.occupancy(w) == 0) return w;
      }
    }
    return best;
  }
  for (std::size_t i = 0; i < n; ++i) {
    WorkerId w = src[(i + start) % n];
    if (s.running().contains(w)) return w;
  }
  return std::nullopt;
}

}  // namespace daskcpp::scheduler
