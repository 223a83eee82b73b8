#include "protocol/rpc/fan_out.hpp"

#include <memory>

#include "protocol/rpc/when_all.hpp"

namespace daskcpp::protocol {

asio::awaitable<Result<Value>> call_peer(ConnectionPool& pool, const std::string& address,
                                         Value request) {
  Result<std::shared_ptr<Comm>> comm = co_await pool.acquire(address);
  if (!comm.ok()) co_return comm.status().with_context("connect to " + address);
  if (Status st = (*comm)->write(request); !st.ok()) {
    (*comm)->abort();
    co_return st.with_context("write to " + address);
  }
  Result<Value> reply = co_await (*comm)->read();
  if (!reply.ok()) {
    (*comm)->abort();
    co_return reply.status().with_context("reply from " + address);
  }
  pool.release(address, *comm);
  co_return std::move(reply).value();
}

asio::awaitable<std::vector<Result<Value>>> call_all(
    ConnectionPool& pool, const std::vector<std::string>& addresses, Value request) {
  std::vector<asio::awaitable<Result<Value>>> tasks;
  tasks.reserve(addresses.size());
  for (const std::string& address : addresses) {
    tasks.push_back(call_peer(pool, address, request));
  }
  auto replies = co_await when_all(std::move(tasks));
  std::vector<Result<Value>> out;
  out.reserve(replies.size());
  for (auto& reply : replies) {
    if (reply) {
      out.push_back(std::move(*reply));
    } else {
      out.emplace_back(Status(StatusCode::kUnknown, "internal error"));
    }
  }
  co_return out;
}

Value broadcast_request(const Map& msg) {
  Map request;
  request.emplace_back(Value("close"), Value(false));
  for (const auto& [k, v] : msg) {
    if (k.is_str() && (k.as_str() == "close" || k.as_str() == "reply")) continue;
    request.emplace_back(k, v);
  }
  request.emplace_back(Value("reply"), Value(true));
  return Value(std::move(request));
}

}  // namespace daskcpp::protocol
