#include "protocol/comm/rpc_server.hpp"

#include <spdlog/spdlog.h>

#include "protocol/codec/message_codec.hpp"
#include "protocol/comm/byte_sample.hpp"

namespace daskcpp::protocol {

namespace {

// A bounded, escaped rendering of a bad message for the log line.
std::string sample_of(const Value& v) {
  Result<Bytes> bytes = encode_msgpack(v);
  if (bytes.ok()) return "\"" + escaped_sample(bytes->span()) + "\"";
  return v.to_debug_string(64);
}

}  // namespace

asio::awaitable<void> serve_rpc(std::shared_ptr<Comm> comm, const RpcHandlers& handlers) {
  const std::string peer = comm->peer_address();
  spdlog::debug("Connection from {} to {}", peer, handlers.server_type());
  std::string last_op;
  while (!comm->closed()) {
    Result<Value> msg = co_await comm->read();
    if (!msg.ok()) {
      if (msg.status().code() == StatusCode::kIOError) {
        spdlog::debug(
            "Lost connection to {} while reading message: {}. Last operation: {}", peer,
            msg.status().message(), last_op.empty() ? "None" : last_op);
      } else {
        spdlog::warn("Bad message from {}: {}; closing this comm", peer,
                     msg.status().to_string());
      }
      break;
    }
    if (!msg->is_map()) {
      spdlog::warn(
          "Bad message type from {}: expected a map, got {} {}; closing this comm", peer,
          type_name(msg->type()), sample_of(*msg));
      break;
    }
    RpcRequest req;
    req.comm = comm;
    req.args = Value(Map{});
    bool close_desired = false;
    bool has_op = false;
    // Python looks any op value up in its handler dict: a non-str op (17) is just
    // an unknown op, answered with nil on a comm that stays usable.
    bool non_str_op = false;
    for (auto& [key, value] : msg->as_map()) {
      if (key.is_str()) {
        const std::string& k = key.as_str();
        if (k == "op") {
          has_op = true;
          if (value.is_str()) {
            req.op = value.as_str();
          } else {
            non_str_op = true;
            req.op = value.to_debug_string(64);
          }
          continue;
        }
        if (k == "reply") {
          // Python truthiness: anything but false/nil/0 means reply.
          req.reply = !(value.is_nil() || (value.is_bool() && !value.as_bool()) ||
                        (value.is_int() && value.as_int64() == 0));
          continue;
        }
        if (k == "close") {
          close_desired = value.is_bool() ? value.as_bool() : !value.is_nil();
          continue;
        }
        if (k == "serializers") {
          req.serializers = std::move(value);
          continue;
        }
      }
      req.args.as_map().emplace_back(std::move(key), std::move(value));
    }
    if (!has_op) {
      spdlog::warn(
          "Received unexpected message without 'op' key from {}: {}; closing this comm",
          peer, sample_of(*msg));
      break;
    }
    last_op = req.op;
    if (req.op == "close") {
      if (req.reply) (void)comm->write(Value("OK"));
      break;
    }
    Value result;
    const RpcHandler* handler = non_str_op ? nullptr : handlers.find(req.op);
    if (handler == nullptr && !non_str_op) handler = handlers.fallback();
    if (handler) {
      result = co_await (*handler)(req);
    } else {
      spdlog::warn("No handler {} found in {} (request from {})", req.op,
                   handlers.server_type(), peer);
    }
    if (req.reply && !comm->closed()) {
      Status st = comm->write(result);
      if (!st.ok()) {
        spdlog::debug("Lost connection to {} while sending result for op {}: {}", peer,
                      req.op, st.to_string());
        break;
      }
    }
    if (close_desired) break;
  }
  // Graceful: a reply or "OK" still queued goes out before the socket closes.
  comm->close();
}

}  // namespace daskcpp::protocol
