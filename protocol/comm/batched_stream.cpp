#include "protocol/comm/batched_stream.hpp"

#include <spdlog/spdlog.h>

namespace daskcpp::protocol {

void StreamHandlers::add(std::string op, StreamHandler handler) {
  handlers_.insert_or_assign(std::move(op), std::move(handler));
}

const StreamHandler* StreamHandlers::find(std::string_view op) const {
  auto it = handlers_.find(std::string(op));
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

Status BatchedStream::dispatch_batch(const Value& batch, const StreamHandlers& handlers,
                                     const Value& extra, bool* stop) {
  const Value* items = &batch;
  std::size_t count = 1;
  if (batch.is_array()) {
    items = batch.as_array().data();
    count = batch.as_array().size();
  }
  const std::string& peer = comm_->peer_address();
  for (std::size_t i = 0; i < count; ++i) {
    const Value& msg = items[i];
    if (msg.is_str() && msg.as_str() == "OK") break;  // legacy batch terminator
    if (!msg.is_map()) {
      return Status::TypeError(std::string("stream message ") + std::to_string(i) +
                               " from " + peer + " is " + type_name(msg.type()) +
                               ", not a map: " + msg.to_debug_string(80));
    }
    const Value* op = msg.find("op");
    if (op == nullptr || !op->is_str() || op->as_str().empty()) {
      // Upstream logs "odd message" and carries on.
      spdlog::error("odd message from {}: {}", peer, msg.to_debug_string(120));
      continue;
    }
    if (op->as_str() == "close-stream") {
      spdlog::info("Received 'close-stream' from {}; closing.", peer);
      *stop = true;
      return Status::OK();
    }
    const StreamHandler* handler = handlers.find(op->as_str());
    if (handler == nullptr) {
      spdlog::error("No stream handler {} (stream from {}); op ignored", op->as_str(),
                    peer);
      continue;
    }
    StreamMessage sm{op->as_str(), msg, extra, peer};
    Status st = (*handler)(sm);
    if (!st.ok()) return st.with_context("stream op '" + op->as_str() + "' from " + peer);
    if (comm_->closed()) {
      *stop = true;  // the handler ended the stream (close-client, ...)
      return Status::OK();
    }
  }
  return Status::OK();
}

asio::awaitable<Status> BatchedStream::run(const StreamHandlers& handlers, Value extra,
                                           OnClosed on_closed) {
  auto self = shared_from_this();
  spdlog::info("Starting established connection to {}", comm_->peer_address());
  Status reason;
  while (true) {
    Result<Value> batch = co_await comm_->read();
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
