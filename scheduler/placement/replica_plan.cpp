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
    if (args.allowed &&
        std::find(args.allowed->begin(), args.allowed->end(), w) == args.allowed->end())
      continue;
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

namespace daskcpp::scheduler {

namespace {

// Python heapq entries: smallest tuple first (the most negative byte budget).
struct HeapEntry {
  std::int64_t bytes_max;  // negative: how far from the mean
  std::int64_t bytes_min;  // negative while the worker still counts
  WorkerId worker;
  std::size_t next = 0;  // senders: position in their key list
  friend bool operator>(const HeapEntry& a, const HeapEntry& b) {
    return std::tie(a.bytes_max, a.bytes_min, a.worker) >
           std::tie(b.bytes_max, b.bytes_min, b.worker);
  }
};

void heap_push(std::vector<HeapEntry>& h, HeapEntry e) {
  h.push_back(e);
  std::push_heap(h.begin(), h.end(), std::greater<>{});
}

HeapEntry heap_pop(std::vector<HeapEntry>& h) {
  std::pop_heap(h.begin(), h.end(), std::greater<>{});
  HeapEntry e = h.back();
  h.pop_back();
  return e;
}

}  // namespace

std::vector<RebalanceMove> plan_rebalance(const SchedulerState& s,
                                          const IdSet<TaskId>* keys,
                                          const std::vector<WorkerId>& workers) {
  std::vector<RebalanceMove> moves;
  if (workers.empty()) return moves;
  const SchedulerConfig& c = s.config();
  std::int64_t sum = 0;
  for (WorkerId w : workers) sum += s.worker(w).nbytes;
  const std::int64_t mean = sum / static_cast<std::int64_t>(workers.size());
  std::vector<HeapEntry> senders;
  std::vector<HeapEntry> recipients;
  std::map<WorkerId, std::vector<TaskId>> sender_keys;
  for (WorkerId w : workers) {
    const WorkerState& ws = s.worker(w);
    const std::int64_t memory = ws.nbytes;
    std::int64_t half_gap = 0;
    double sender_min = 0;
    double recipient_max = kInfinity;
    if (ws.memory_limit > 0) {
      const auto limit = static_cast<double>(ws.memory_limit);
      half_gap = static_cast<std::int64_t>(c.rebalance_sender_recipient_gap / 2 * limit);
      sender_min = c.rebalance_sender_min * limit;
      recipient_max = c.rebalance_recipient_max * limit;
    }
    if (!ws.has_what.empty() && memory >= mean + half_gap &&
        static_cast<double>(memory) >= sender_min) {
      const std::int64_t max = mean - memory;
      senders.push_back(HeapEntry{max, max + half_gap, w, 0});
      sender_keys[w] = ws.has_what.to_vector();
    } else if (memory < mean - half_gap && static_cast<double>(memory) < recipient_max) {
      const std::int64_t max = memory - mean;
      recipients.push_back(HeapEntry{max, max + half_gap, w, 0});
    }
  }
  if (senders.empty() || recipients.empty()) return moves;
  std::make_heap(senders.begin(), senders.end(), std::greater<>{});
  std::make_heap(recipients.begin(), recipients.end(), std::greater<>{});

  while (!senders.empty() && !recipients.empty()) {
    HeapEntry snd = heap_pop(senders);
    const std::vector<TaskId>& offer = sender_keys[snd.worker];
    bool moved = false;
    while (snd.next < offer.size() && !moved) {
      const TaskId t = offer[snd.next++];
      if (keys != nullptr && !keys->contains(t)) continue;
      const std::int64_t nbytes = std::max<std::int64_t>(s.task(t).nbytes, 0);
      if (nbytes + snd.bytes_max > 0) continue;  // would overshoot the mean
      std::vector<HeapEntry> skipped;
      std::optional<HeapEntry> rec;
      while (!recipients.empty()) {
        if (nbytes + recipients.front().bytes_max > 0) break;
        HeapEntry r = heap_pop(recipients);
        if (!s.worker(r.worker).has_what.contains(t)) {
          rec = r;
          break;
        }
        skipped.push_back(r);
      }
      for (const HeapEntry& r : skipped) heap_push(recipients, r);
      if (!rec) continue;
      moves.push_back(RebalanceMove{snd.worker, rec->worker, t});
      snd.bytes_max += nbytes;
      snd.bytes_min += nbytes;
      rec->bytes_max += nbytes;
      rec->bytes_min += nbytes;
      if (rec->bytes_min < 0) heap_push(recipients, *rec);
      if (snd.bytes_min < 0) heap_push(senders, snd);
      moved = true;
    }
    // A sender with nothing left to offer leaves the heap (upstream for/else).
  }
  return moves;
}

}  // namespace daskcpp::scheduler
