#pragma once
// Client connection handlers (upstream Scheduler.add_client, remove_client,
// client_heartbeat and the client stream handlers subscribe-topic /
// unsubscribe-topic / heartbeat-client / close-client; protocol.md §4.3, §5.1).
//
// `register-client` turns its comm into the client's batched stream: it sends
// `[stream-start]` alone, serves the stream until it ends, then removes the
// client. All on the loop thread.

#include <cstddef>

namespace daskcpp::scheduler {

class SchedulerServer;

void register_client_handlers(SchedulerServer& server);

// Upstream distributed.scheduler.heartbeat_interval(n): seconds between
// heartbeats for n peers (0.5 up to 10, 1 below 50, 2 below 200, then n/200+1).
double heartbeat_interval(std::size_t n);

}  // namespace daskcpp::scheduler
