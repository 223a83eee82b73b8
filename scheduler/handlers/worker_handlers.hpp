#pragma once
// Worker connection handlers (upstream Scheduler.add_worker, handle_worker,
// heartbeat_worker, remove_worker via `unregister`, add_nanny, and the worker
// stream handlers task-finished, task-erred, release-worker-data, add-keys,
// long-running, reschedule, request-refresh-who-has, worker-status-change,
// log-event, keep-alive, steal-response; protocol.md §6.1-§6.7).
//
// `register-worker` writes its reply on the comm, then serves the comm as the
// worker's batched stream until it ends, then removes the worker. Loop thread.

#include "scheduler/extensions/plugins/plugin_store.hpp"

namespace daskcpp::scheduler {

struct ExtensionContext;

void register_worker_handlers(ExtensionContext& server, const PluginStore& plugins);

}  // namespace daskcpp::scheduler
