#include "protocol/comm/batched_stream.hpp"

#include <spdlog/spdlog.h>

#include "protocol/codec/msgpack_view.hpp"

namespace daskcpp::protocol {

void StreamHandlers::add(std::string op, StreamHandler handler) {
  handlers_.insert_or_assign(std::move(op), std::move(handler));
}

void StreamHandlers::add_fast(std::string op, FastStreamHandler handler) {
  fast_.insert_or_assign(std::move(op), std::move(handler));
}

const FastStreamHandler* StreamHandlers::find_fast(std::string_view op) const {
  if (fast_.empty()) return nullptr;
  auto it = fast_.find(op);
  return it != fast_.end() ? &it->second : nullptr;
}

const StreamHandler* StreamHandlers::find(std::string_view op) const {
  auto it = handlers_.find(op);
  if (it != handlers_.end()) return &it->second;
  return fallback_ ? &fallback_ : nullptr;
}

std::shared_ptr<BatchedStream> BatchedStream::make(
    std::shared_ptr<Comm> comm, std::chrono::microseconds send_interval) {
  return std::shared_ptr<BatchedStream>(
      new BatchedStream(std::move(comm), send_interval));
}

BatchedStream::BatchedStream(std::shared_ptr<Comm> comm,
                             std::chrono::microseconds send_interval)
    : comm_(std::move(comm)), send_(BatchedSend::make(comm_, send_interval)) {}

Status BatchedStream::dispatch_batch(const ParsedMessage& batch,
                                     const StreamHandlers& handlers, const Value& extra,
                                     bool* stop) {
  const msgpack::object& root = batch.root();
  const msgpack::object* items = &root;
  std::size_t count = 1;
  if (root.type == msgpack::type::ARRAY) {
    items = root.via.array.ptr;
    count = root.via.array.size;
  }
  for (std::size_t i = 0; i < count && !*stop; ++i) {
    const msgpack::object& item = items[i];
    if (view::str(&item) == "OK") break;  // legacy batch terminator
    DASKCPP_RETURN_NOT_OK(dispatch_op(batch, item, i, handlers, extra, stop));
  }
  return Status::OK();
}

Status BatchedStream::dispatch_op(const ParsedMessage& batch, const msgpack::object& item,
                                  std::size_t index, const StreamHandlers& handlers,
                                  const Value& extra, bool* stop) {
  const std::string& peer = comm_->peer_address();
  const std::optional<std::string_view> op_name = view::str(view::find(item, "op"));
  if (op_name && *op_name == "close-stream") {
    spdlog::info("Received 'close-stream' from {}; closing.", peer);
    *stop = true;
    return Status::OK();
  }
  if (op_name && !op_name->empty()) {
    if (const FastStreamHandler* fast = handlers.find_fast(*op_name)) {
      if (std::optional<Status> st =
              (*fast)(RawStreamMessage{*op_name, item, batch, extra, peer})) {
        if (!st->ok())
          return st->with_context("stream op '" + std::string(*op_name) + "' from " +
                                  peer);
        if (comm_->closed()) *stop = true;
        return Status::OK();
      }
    }
  }
  // The generic path: this op-map as a Value, converted as decode_message would.
  Result<Value> converted = batch.to_value(item);
  if (!converted.ok()) {
    return converted.status().with_context("stream message " + std::to_string(index) +
                                           " from " + peer);
  }
  const Value& msg = *converted;
  if (!msg.is_map()) {
    return Status::TypeError(std::string("stream message ") + std::to_string(index) +
                             " from " + peer + " is " + type_name(msg.type()) +
                             ", not a map: " + msg.to_debug_string(80));
  }
  if (!op_name || op_name->empty()) {
    // Upstream logs "odd message" and carries on.
    spdlog::error("odd message from {}: {}", peer, msg.to_debug_string(120));
    return Status::OK();
  }
  const std::string& op = msg.find("op")->as_str();
  const StreamHandler* handler = handlers.find(op);
  if (handler == nullptr) {
    spdlog::error("No stream handler {} (stream from {}); op ignored", op, peer);
    return Status::OK();
  }
  StreamMessage sm{op, msg, extra, peer};
  Status st = (*handler)(sm);
  if (!st.ok()) return st.with_context("stream op '" + op + "' from " + peer);
  if (comm_->closed()) *stop = true;  // the handler ended the stream (close-client, ...)
  return Status::OK();
}

asio::awaitable<Status> BatchedStream::run(const StreamHandlers& handlers, Value extra,
                                           OnClosed on_closed) {
  auto self = shared_from_this();
  spdlog::info("Starting established connection to {}", comm_->peer_address());
  Status reason;
  while (true) {
    Result<ParsedMessage> batch = co_await comm_->read_parsed();
    if (!batch.ok()) {
      reason = batch.status();
      spdlog::info("Connection to {} has been closed: {}", comm_->peer_address(),
                   reason.message());
      break;
    }
    bool stop = false;
    Status st = dispatch_batch(*batch, handlers, extra, &stop);
    if (!st.ok()) {
      spdlog::error("Stream from {} ends: {}", comm_->peer_address(), st.to_string());
      reason = st;
      break;
    }
    if (stop) break;
  }
  send_->close();
  if (on_closed) on_closed(reason);
  co_return reason;
}

}  // namespace daskcpp::protocol
