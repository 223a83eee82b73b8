#include "scheduler/placement/replica_plan.hpp"

#include <algorithm>
#include <map>

namespace daskcpp::scheduler {

namespace {

bool keeps_data(const WorkerState& ws) {
  return ws.alive &&
         (ws.status == WorkerStatus::running || ws.status == WorkerStatus::paused);
}

template <typename Id>
void add_request(std::vector<std::pair<WorkerId, std::vector<Id>>>& out, WorkerId w,
                 Id item) {
  auto it = std::find_if(out.begin(), out.end(),
                         [w](const auto& entry) { return entry.first == w; });
  if (it == out.end()) {
    out.emplace_back(w, std::vector<Id>{item});
  } else {
    it->second.push_back(item);
  }
}

}  // namespace

bool has_safe_replica(const SchedulerState& s, TaskId ts, WorkerId ws) {
  for (WorkerId holder : s.task(ts).who_has) {
    if (holder != ws && keeps_data(s.worker(holder))) return true;
  }
  return false;
}

RetirePlan plan_retirement(const SchedulerState& s,
                           const std::vector<WorkerId>& retiring) {
  RetirePlan plan;
  // Projected memory: what each candidate has plus what this round sends it.
  std::map<WorkerId, std::int64_t> memory;
  for (WorkerId w : s.running()) {
    if (std::find(retiring.begin(), retiring.end(), w) != retiring.end()) continue;
    memory.emplace(w, s.worker(w).nbytes);
  }
  // A key held only by several retiring workers gets one copy, not one per holder.
  IdSet<TaskId> planned;
  for (WorkerId wid : retiring) {
    const WorkerState& ws = s.worker(wid);
    if (!ws.alive) continue;
    bool stuck = false;
    for (TaskId t : ws.has_what) {
      const TaskState& ts = s.task(t);
      if (ts.actor) {
        // Upstream: a worker holding an actor is not retired.
        stuck = true;
        continue;
      }
      if (ts.status != TaskStatus::memory || has_safe_replica(s, t, wid)) continue;
      if (planned.contains(t)) continue;
      ++plan.n_unique;
      std::optional<WorkerId> best;
      for (const auto& [cand, bytes] : memory) {
        if (ts.who_has.contains(cand)) continue;
        if (!best || bytes < memory.at(*best)) best = cand;
      }
      if (!best) {
        stuck = true;
        continue;
      }
      memory[*best] += std::max<std::int64_t>(ts.nbytes, 0);
      planned.insert(t);
      add_request(plan.acquire, *best, t);
    }
    if (stuck) plan.no_recipients.push_back(wid);
  }
  return plan;
}

bool retirement_done(const SchedulerState& s, WorkerId ws) {
  const WorkerState& w = s.worker(ws);
  if (!w.alive) return true;
  for (TaskId t : w.has_what) {
    if (!has_safe_replica(s, t, ws)) return false;
  }
  return true;
}

std::vector<WorkerId> workers_to_close(const SchedulerState& s, WorkersToClose args) {
  const auto n_workers = static_cast<std::int64_t>(s.worker_count());
  if (args.target && !args.n) args.n = n_workers - *args.target;
  if (args.n) {
    args.n = std::max<std::int64_t>(*args.n, 0);
    args.target = n_workers - *args.n;
  }
  if (!args.n && !args.memory_ratio) args.memory_ratio = 2;
  const std::vector<WorkerId>& all = s.workers_by_address();
  if ((!args.n || *args.n == 0) && std::all_of(all.begin(), all.end(), [&](WorkerId w) {
        return !s.worker(w).processing.empty();
      })) {
    return {};
  }
  // Workers running long tasks (secede) are never closed.
  std::vector<WorkerId> valid;
  std::int64_t limit = 0;
  std::int64_t total = 0;
  for (WorkerId w : all) {
    if (!s.worker(w).long_running.empty()) continue;
    valid.push_back(w);
    limit += s.worker(w).memory_limit;
    total += s.worker(w).nbytes;
  }
  // sorted(groups, key=(is_idle, -nbytes)), popped from the end: idle workers with
  // the least data first. stable_sort keeps address order among equals.
  std::stable_sort(valid.begin(), valid.end(), [&](WorkerId a, WorkerId b) {
    const bool ia = s.worker(a).processing.empty();
    const bool ib = s.worker(b).processing.empty();
    if (ia != ib) return !ia;
    return -s.worker(a).nbytes < -s.worker(b).nbytes;
  });
  std::vector<WorkerId> out;
  std::int64_t n_remain = n_workers;
  while (!valid.empty()) {
    WorkerId w = valid.back();
    valid.pop_back();
    if (!args.n && !s.worker(w).processing.empty()) break;
    if (args.minimum && *args.minimum != 0 && n_remain - 1 < *args.minimum) break;
    limit -= s.worker(w).memory_limit;
    const bool by_n = args.n && n_remain - 1 >= args.target.value_or(0);
    const bool by_memory =
        args.memory_ratio &&
        static_cast<double>(limit) >= *args.memory_ratio * static_cast<double>(total);
    if (!by_n && !by_memory) break;
    out.push_back(w);
    --n_remain;
  }
  return out;
}

ReplicateRound plan_replicate(const SchedulerState& s, const std::vector<TaskId>& keys,
                              const std::vector<WorkerId>& workers, std::int64_t n,
                              std::int64_t branching_factor, bool drop_extra,
                              std::mt19937_64& rng) {
  ReplicateRound round;
  for (TaskId t : keys) {
    const TaskState& ts = s.task(t);
    if (!ts.alive || ts.status != TaskStatus::memory) continue;
    std::vector<WorkerId> holding;
    std::vector<WorkerId> lacking;
    for (WorkerId w : workers) {
      (ts.who_has.contains(w) ? holding : lacking).push_back(w);
    }
    const auto have = static_cast<std::int64_t>(holding.size());
    if (drop_extra && have > n) {
      std::shuffle(holding.begin(), holding.end(), rng);
      for (std::int64_t i = 0; i < have - n; ++i) add_request(round.drop, holding[i], t);
      continue;
    }
    const std::int64_t missing = n - have;
    if (missing <= 0 || lacking.empty()) continue;
    const std::int64_t count = std::min<std::int64_t>(
        {missing, branching_factor * static_cast<std::int64_t>(ts.who_has.size()),
         static_cast<std::int64_t>(lacking.size())});
    std::shuffle(lacking.begin(), lacking.end(), rng);
    for (std::int64_t i = 0; i < count; ++i) add_request(round.gather, lacking[i], t);
  }
  return round;
}

}  // namespace daskcpp::scheduler
