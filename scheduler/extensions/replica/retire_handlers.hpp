#pragma once
// retire_workers and workers_to_close (upstream Scheduler.retire_workers,
// _track_retire_worker, workers_to_close; active_memory_manager RetireWorker).
//
// Each retiring worker goes to closing_gracefully (in the state and on the worker,
// by `worker-status-change`), so nothing new is placed on it. Every key whose only
// safe copy is on a retiring worker is sent, by `acquire-replicas`, to the running
// worker with the least managed memory (replica_plan.hpp); the worker fetches it and
// answers `add-keys`, which adds the replica. The plan is re-run every 2 s (upstream's
// ad-hoc AMM interval) so a lost recipient is replaced; in between, the handler polls
// until every key on the worker has a copy elsewhere, then removes (and closes) it.
// A worker whose keys have nowhere to go (no other running worker, or an actor)
// returns to its previous status and is left out of the reply, as upstream.
//
// Not mirrored: upstream's _replica_lock serialising retire_workers with replicate
// and rebalance; `key=` (a pickled grouping callable) for workers_to_close is
// answered with NotImplementedError. Thread: the scheduler loop.

#include <memory>

namespace daskcpp::scheduler {

struct ExtensionContext;

void register_retire_handlers(ExtensionContext& server);

}  // namespace daskcpp::scheduler
