#pragma once
// Client connection handlers (upstream Scheduler.add_client, remove_client,
// client_heartbeat and the client stream handlers subscribe-topic /
// unsubscribe-topic / heartbeat-client / close-client; protocol.md §4.3, §5.1).
//
// `register-client` turns its comm into the client's batched stream: it sends
// `[stream-start]` alone, serves the stream until it ends, then removes the
// client. All on the loop thread.

namespace daskcpp::scheduler {

struct ExtensionContext;

void register_client_handlers(ExtensionContext& server);

}  // namespace daskcpp::scheduler
