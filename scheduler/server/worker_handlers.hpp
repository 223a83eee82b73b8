#pragma once
// Worker connection handlers (upstream Scheduler.add_worker, handle_worker,
// heartbeat_worker, remove_worker via `unregister`, add_nanny, and the worker
// stream handlers task-finished, task-erred, release-worker-data, add-keys,
// long-running, reschedule, request-refresh-who-has, worker-status-change,
// log-event, keep-alive, steal-response; protocol.md §6.1-§6.7).
//
// `register-worker` writes its reply on the comm, then serves the comm as the
// worker's batched stream until it ends, then removes the worker. Loop thread.

#include <string>

#include "protocol/codec/value.hpp"

namespace daskcpp::scheduler {

class SchedulerServer;

void register_worker_handlers(SchedulerServer& server);

// Upstream WorkerState.identity() of a registered worker.
protocol::Value worker_identity(SchedulerServer& server, const std::string& address);

}  // namespace daskcpp::scheduler
