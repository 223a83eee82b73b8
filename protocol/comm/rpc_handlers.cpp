#include "protocol/comm/rpc_handlers.hpp"

namespace daskcpp::protocol {

void RpcHandlers::add(std::string op, RpcHandler handler) {
  handlers_.insert_or_assign(std::move(op), std::move(handler));
}

void RpcHandlers::add_sync(std::string op, SyncRpcHandler handler) {
  add(std::move(op), [h = std::move(handler)](RpcRequest& req) -> asio::awaitable<Value> {
    co_return h(req);
  });
}

const RpcHandler* RpcHandlers::find(std::string_view op) const {
  auto it = handlers_.find(std::string(op));
  return it == handlers_.end() ? nullptr : &it->second;
}

}  // namespace daskcpp::protocol
