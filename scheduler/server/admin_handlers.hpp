#pragma once
// Client-facing admin RPCs (upstream Scheduler.get_metadata, set_metadata,
// log_event, get_events, broadcast, versions, run_function, restart;
// protocol.md §5.6, §6.7). broadcast and restart are coroutines awaiting
// workers/nannies; the rest answer at once. Called from register_data_handlers()
// with the shared DataContext. Thread: the scheduler loop.

#include <memory>

namespace daskcpp::scheduler {

class SchedulerServer;
struct DataContext;

void register_admin_handlers(SchedulerServer& server, std::shared_ptr<DataContext> ctx);

}  // namespace daskcpp::scheduler
