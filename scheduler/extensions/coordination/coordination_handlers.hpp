#pragma once
// Coordination primitives (protocol.md §8): published datasets (upstream
// distributed/publish.py PublishExtension), Lock/Semaphore (upstream
// distributed/semaphore.py SemaphoreExtension) and Event (distributed/event.py
// EventExtension). semaphore_acquire and event_wait suspend until a lease frees up,
// the event is set, or their timeout passes; they never block the loop (each waiter
// parks on its own timer, which a release/set cancels to wake it).
//
// Leases not refreshed within the semaphore's lease_timeout are dropped when the
// next acquire finds the semaphore full (upstream drops them from a periodic
// callback every lease-validation-interval; the effect on acquirers is the same).
// Thread: the scheduler loop.

namespace daskcpp::scheduler {

struct ExtensionContext;

void register_coordination_handlers(ExtensionContext& server);

}  // namespace daskcpp::scheduler
