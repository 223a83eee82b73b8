#include "scheduler/server/unimplemented_ops.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <string>

#include "protocol/rpc/error_reply.hpp"

namespace daskcpp::scheduler {

namespace asio = protocol::asio;

namespace {

// distributed 2026.8.0: sorted(Scheduler(...).handlers), which includes the
// Server base's ops and those the default extensions register. Sorted, for
// binary search.
constexpr std::string_view kStockOps[] = {"adaptive_target",
                                          "add_keys",
                                          "amm_handler",
                                          "benchmark_hardware",
                                          "broadcast",
                                          "call_stack",
                                          "check_idle",
                                          "connection_stream",
                                          "dump_cluster_state_to_url",
                                          "dump_state",
                                          "echo",
                                          "event_clear",
                                          "event_is_set",
                                          "event_set",
                                          "event_wait",
                                          "events",
                                          "feed",
                                          "gather",
                                          "get_cluster_state",
                                          "get_error_cause",
                                          "get_logs",
                                          "get_metadata",
                                          "get_runspec",
                                          "get_story",
                                          "get_task_prefix_states",
                                          "get_task_status",
                                          "get_task_stream",
                                          "get_task_stream_index",
                                          "has_what",
                                          "heartbeat_worker",
                                          "identity",
                                          "log_event",
                                          "logs",
                                          "memory_sampler_start",
                                          "memory_sampler_stop",
                                          "multi_lock_acquire",
                                          "multi_lock_release",
                                          "nbytes",
                                          "ncores",
                                          "ncores_running",
                                          "performance_report",
                                          "processing",
                                          "profile",
                                          "proxy",
                                          "publish_delete",
                                          "publish_get",
                                          "publish_list",
                                          "publish_put",
                                          "queue_create",
                                          "queue_get",
                                          "queue_put",
                                          "queue_qsize",
                                          "rebalance",
                                          "register-client",
                                          "register-worker",
                                          "register_nanny",
                                          "register_nanny_plugin",
                                          "register_scheduler_plugin",
                                          "register_worker_plugin",
                                          "replicate",
                                          "restart",
                                          "restart_workers",
                                          "retire_workers",
                                          "retry",
                                          "run_function",
                                          "scatter",
                                          "semaphore_acquire",
                                          "semaphore_close",
                                          "semaphore_refresh_leases",
                                          "semaphore_register",
                                          "semaphore_release",
                                          "semaphore_value",
                                          "set_metadata",
                                          "set_resources",
                                          "set_restrictions",
                                          "shuffle_barrier",
                                          "shuffle_get",
                                          "shuffle_get_or_create",
                                          "shuffle_restrict_task",
                                          "start_task_metadata",
                                          "stop_task_metadata",
                                          "subscribe_worker_status",
                                          "terminate",
                                          "unregister",
                                          "unregister_nanny_plugin",
                                          "unregister_scheduler_plugin",
                                          "unregister_worker_plugin",
                                          "update_data",
                                          "variable_get",
                                          "variable_set",
                                          "versions",
                                          "who_has",
                                          "worker_logs",
                                          "workers_to_close"};

}  // namespace

bool is_stock_scheduler_op(std::string_view op) {
  return std::binary_search(std::begin(kStockOps), std::end(kStockOps), op);
}

protocol::RpcHandler unimplemented_op_handler(std::string server_type) {
  return [server_type = std::move(server_type)](
             protocol::RpcRequest& req) -> asio::awaitable<protocol::Value> {
    const std::string peer = req.comm ? req.comm->peer_address() : std::string("?");
    if (!is_stock_scheduler_op(req.op)) {
      spdlog::warn("No handler {} found in {} (request from {})", req.op, server_type,
                   peer);
      co_return protocol::Value();
    }
    spdlog::warn("Scheduler operation {} (request from {}) is not implemented by {}",
                 req.op, peer, "daskcpp-scheduler");
    co_return protocol::exception_reply(
        "NotImplementedError",
        "daskcpp-scheduler does not implement the scheduler operation '" + req.op + "'");
  };
}

}  // namespace daskcpp::scheduler
