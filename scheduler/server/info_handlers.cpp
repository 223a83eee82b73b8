#include "scheduler/server/info_handlers.hpp"

#include <spdlog/spdlog.h>

#include "scheduler/server/scheduler_server.hpp"

namespace daskcpp::scheduler {

using protocol::RpcRequest;
using protocol::Value;

void register_info_handlers(SchedulerServer& server) {
  server.rpc_handlers().add_sync("identity", [&server](RpcRequest& req) -> Value {
    std::int64_t n_workers = -1;
    if (const Value* n = req.arg("n_workers"); n != nullptr && n->is_int()) {
      n_workers = n->as_int64();
    }
    return server.identity(n_workers);
  });
  server.rpc_handlers().add_sync("terminate", [&server](RpcRequest& req) -> Value {
    spdlog::info("Received 'terminate' from {}", req.comm->peer_address());
    // After this turn, so the reply is queued before the comms close.
    asio::post(server.io_context(), [&server] { server.shutdown("terminate"); });
    return Value();
  });
}

}  // namespace daskcpp::scheduler
