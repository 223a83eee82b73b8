#pragma once
// replicate and rebalance (upstream Scheduler.replicate, rebalance,
// _rebalance_move_data, gather_on_worker, delete_worker_data). Both plan over the
// state (replica_plan.hpp), then copy with the recipients' `gather` RPC (peer to
// peer; the scheduler adds the replicas once a recipient answers OK) and drop with
// the holders' `free_keys` RPC (the scheduler forgets those replicas, as
// release-worker-data does).
//
// rebalance measures a worker by its managed bytes (upstream's default measure is
// process memory from the heartbeats, "optimistic") and offers keys in task-id order
// instead of insertion order; the thresholds are upstream's
// distributed.worker.memory.rebalance.* settings. Upstream's _replica_lock (which
// serialises these with retire_workers) is not mirrored. Thread: the scheduler loop.

#include <memory>

namespace daskcpp::scheduler {

struct ExtensionContext;

void register_replica_handlers(ExtensionContext& server);

}  // namespace daskcpp::scheduler
