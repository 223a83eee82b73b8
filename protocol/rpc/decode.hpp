#pragma once
// The decode-or-log preamble of every handler: decode the op struct from the
// request; a request that does not decode is logged naming the op and the peer
// and answered with the error a stock server raises (a TypeError/ValueError
// uncaught-error), without reaching the handler.

#include <spdlog/spdlog.h>

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/codec/value.hpp"
#include "protocol/comm/batched_stream.hpp"
#include "protocol/comm/rpc_handlers.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// The request's args as Op; a bad request is logged.
template <typename Op>
Result<Op> decode_request(const RpcRequest& req) {
  Result<Op> m = Op::decode(req.args);
  if (!m.ok()) {
    spdlog::warn("Bad {} from {}: {}", req.op, req.comm ? req.comm->peer_address() : "?",
                 m.status().message());
  }
  return m;
}

// A stream message as Op; a bad one is logged as "Bad <op> from <who>: ..." (the
// caller decides whether the stream goes on).
template <typename Op>
Result<Op> decode_stream_op(const StreamMessage& m, std::string_view who) {
  Result<Op> r = Op::decode(m.msg);
  if (!r.ok()) spdlog::error("Bad {} from {}: {}", m.op, who, r.status().message());
  return r;
}

// A stream handler that decodes an Op (decode_stream_op, naming the peer) and
// applies it. Bad input is logged and skipped, the stream stays: for a worker it is
// the only link to its scheduler.
template <typename Op>
StreamHandler stream_op(std::function<void(const Op&)> apply) {
  return [apply = std::move(apply)](const StreamMessage& m) -> Status {
    Result<Op> op = decode_stream_op<Op>(m, m.peer);
    if (op.ok()) apply(*op);
    return Status::OK();
  };
}

// An awaitable that yields `reply` at once (the async handlers' early answer).
asio::awaitable<Value> ready_reply(Value reply);

// Registers `handler(Op, RpcRequest&) -> Value` for `op`, behind decode_request.
template <typename Op, typename F>
void add_sync_op(RpcHandlers& handlers, std::string op, F handler) {
  handlers.add_sync(std::move(op), [handler = std::move(handler)](RpcRequest& req) {
    Result<Op> m = decode_request<Op>(req);
    if (!m.ok()) return status_reply(m.status());
    return Value(handler(std::move(*m), req));
  });
}

// The same for a coroutine `handler(Op, RpcRequest&) -> awaitable<Value>`; it must
// take Op by value (it lives in the coroutine frame).
template <typename Op, typename F>
void add_op(RpcHandlers& handlers, std::string op, F handler) {
  handlers.add(std::move(op),
               [handler = std::move(handler)](RpcRequest& req) -> asio::awaitable<Value> {
                 Result<Op> m = decode_request<Op>(req);
                 if (!m.ok()) return ready_reply(status_reply(m.status()));
                 return handler(std::move(*m), req);
               });
}

}  // namespace daskcpp::protocol
