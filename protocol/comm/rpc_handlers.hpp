#pragma once
// The RPC handler table: op name -> handler (upstream Server.handlers, the
// `handlers = {...}` dict in Scheduler.__init__). One table per server, filled
// by one registration function per group of handlers.
//
// A handler receives the request with `op`, `reply`, `serializers` and `close`
// already popped (as Server._handle_comm does) and returns the reply Value. It
// may suspend (co_await other comms) without blocking the loop: each comm's
// requests are served one after another, all comms concurrently.
// Thread safety: the table is filled before the server starts and then only
// read, on the loop thread.
// A handler reports a failure as the caller expects it: the `uncaught-error` map
// (protocol/messages/python_exception.hpp uncaught_error_reply) as its reply.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/comm.hpp"

namespace daskcpp::protocol {

struct RpcRequest {
  std::shared_ptr<Comm> comm;  // stream openers (register-client) keep using it
  std::string op;
  Value args;         // the request map without op/reply/serializers/close
  Value serializers;  // nil when absent
  bool reply = true;

  // The argument `key`, or nullptr when absent.
  const Value* arg(std::string_view key) const { return args.find(key); }
};

using RpcHandler = std::function<asio::awaitable<Value>(RpcRequest&)>;
using SyncRpcHandler = std::function<Value(RpcRequest&)>;

class RpcHandlers {
 public:
  // `server_type` names the server in the unknown-op warning ("Scheduler").
  explicit RpcHandlers(std::string server_type) : server_type_(std::move(server_type)) {}

  // Registers a handler; a second registration of one op replaces the first.
  void add(std::string op, RpcHandler handler);
  void add_sync(std::string op, SyncRpcHandler handler);
  const RpcHandler* find(std::string_view op) const;
  bool contains(std::string_view op) const { return find(op) != nullptr; }
  // Serves every str op with no handler of its own (the daskcpp-worker hands them
  // to the handlers Python plugins registered); it logs an op nobody handles.
  void set_fallback(RpcHandler handler) { fallback_ = std::move(handler); }
  const RpcHandler* fallback() const { return fallback_ ? &fallback_ : nullptr; }
  const std::string& server_type() const { return server_type_; }

 private:
  std::string server_type_;
  std::unordered_map<std::string, RpcHandler> handlers_;
  RpcHandler fallback_;
};

}  // namespace daskcpp::protocol
