#pragma once
// Client-facing admin RPCs (upstream Scheduler.broadcast, restart, get_story;
// protocol.md §5.6; run_function, versions and the diagnostics gathered from the
// workers are the Python facade's). broadcast and restart are coroutines awaiting
// workers/nannies; the rest answer at once.
// Thread: the scheduler loop.

namespace daskcpp::scheduler {

struct ExtensionContext;

void register_admin_handlers(ExtensionContext& server);

}  // namespace daskcpp::scheduler
