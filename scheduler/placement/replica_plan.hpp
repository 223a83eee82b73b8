#pragma once
// Replica planning over a const SchedulerState: which worker should fetch a copy of
// which key before a worker retires, which workers are good to retire, and which
// workers should gain or drop copies for replicate(n=...). Mirrors upstream
// active_memory_manager RetireWorker.run/done + ActiveMemoryManagerExtension.
// _find_recipient, Scheduler.workers_to_close and the planning half of
// Scheduler.replicate (distributed/scheduler.py).
//
// Memory of a worker is its managed bytes (WorkerState::nbytes) plus what this plan
// already sends it; upstream ranks by the process memory the heartbeats report
// ("optimistic" memory), which the core does not track.
//
// Thread: the scheduler loop. Pure functions; randomness is passed in.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "scheduler/state/ids.hpp"
#include "scheduler/state/scheduler_state.hpp"

namespace daskcpp::scheduler {

// Per recipient, the keys it should acquire (recipients in first-use order).
using ReplicaRequests = std::vector<std::pair<WorkerId, std::vector<TaskId>>>;

struct RetirePlan {
  ReplicaRequests acquire;
  std::size_t n_unique = 0;  // keys that still need a copy elsewhere
  // Retiring workers with a key that has nowhere to go, or holding an actor: upstream
  // aborts their retirement.
  std::vector<WorkerId> no_recipients;
};

// True when a holder of `ts` other than `ws` can keep the data (running or paused).
bool has_safe_replica(const SchedulerState& s, TaskId ts, WorkerId ws);

// One AMM round of RetireWorker for every worker in `retiring`: each in-memory key
// whose only safe copy is on a retiring worker gets one recipient, the running
// worker (not retiring, not already holding it) with the least memory.
RetirePlan plan_retirement(const SchedulerState& s,
                           const std::vector<WorkerId>& retiring);

// RetireWorker.done: every key on `ws` has a safe copy elsewhere (or ws is gone).
bool retirement_done(const SchedulerState& s, WorkerId ws);

struct WorkersToClose {
  std::optional<double> memory_ratio;
  std::optional<std::int64_t> n;
  std::optional<std::int64_t> minimum;
  std::optional<std::int64_t> target;
  // The workers plugins allow closing (SchedulerPlugin.valid_workers_downscaling);
  // nullopt = no plugin restricts.
  std::optional<std::vector<WorkerId>> allowed;
};
// Scheduler.workers_to_close with key=address (every worker its own group).
std::vector<WorkerId> workers_to_close(const SchedulerState& s, WorkersToClose args);

// One round of Scheduler.replicate for `keys` over `workers` (running ones): the
// holders that should drop a copy (delete=True: more than n copies) and the workers
// that should gather one (at most branching_factor × len(who_has) per key per round).
struct ReplicateRound {
  std::vector<std::pair<WorkerId, std::vector<TaskId>>> drop;
  ReplicaRequests gather;
};
ReplicateRound plan_replicate(const SchedulerState& s, const std::vector<TaskId>& keys,
                              const std::vector<WorkerId>& workers, std::int64_t n,
                              std::int64_t branching_factor, bool drop_extra,
                              std::mt19937_64& rng);

// Scheduler._rebalance_find_msgs with measure = managed bytes (WorkerState::nbytes):
// workers at least half a gap above the mean (and above sender-min × memory_limit)
// send, workers half a gap below it (and below recipient-max) receive; the sender and
// recipient farthest from the mean are paired first. A sender offers its keys in
// TaskId order (upstream: insertion order of has_what, least recently inserted
// first). `keys`: null for every key. Returns (sender, recipient, task) moves.
struct RebalanceMove {
  WorkerId sender;
  WorkerId recipient;
  TaskId task;
  friend bool operator==(const RebalanceMove&, const RebalanceMove&) = default;
};
std::vector<RebalanceMove> plan_rebalance(const SchedulerState& s,
                                          const IdSet<TaskId>* keys,
                                          const std::vector<WorkerId>& workers);

}  // namespace daskcpp::scheduler
