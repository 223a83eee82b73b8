#pragma once
// What the scheduler answers an RPC op it has no handler for. Stock answers any
// unknown op with None (core.py handle_comm) and daskcpp does the same for ops
// stock does not know either; but an op of stock's Scheduler.handlers table that
// daskcpp does not implement would hand the user a None where stock returns data
// (and an AttributeError far from the cause), so it fails with an error naming
// the op instead.

#include <string_view>

#include "protocol/comm/rpc_handlers.hpp"

namespace daskcpp::scheduler {

// True for an op in the pinned release's Scheduler.handlers (plus its Server
// base's and its default extensions').
bool is_stock_scheduler_op(std::string_view op);

// The handler for RpcHandlers::set_fallback: NotImplementedError naming the op
// for a stock op, None (and stock's "No handler" warning) for any other.
protocol::RpcHandler unimplemented_op_handler(std::string server_type);

}  // namespace daskcpp::scheduler
