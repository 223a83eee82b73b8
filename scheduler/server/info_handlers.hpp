#pragma once
// Scheduler-level RPC ops that are not about tasks: `identity` (protocol.md
// §5.6; upstream Scheduler.identity) and `terminate` (upstream Scheduler.close
// via Client.shutdown). Loop thread.

namespace daskcpp::scheduler {

class SchedulerServer;

void register_info_handlers(SchedulerServer& server);

}  // namespace daskcpp::scheduler
