#pragma once
// BatchedStream: a comm in stream mode (protocol.md §4.2-4.3; upstream
// distributed/core.py Server.handle_stream + batched.py BatchedSend).
//
// Outgoing ops go through the BatchedSend. Incoming, every message is a list of
// op-maps (a non-list is a one-element list); they are dispatched in order to
// the stream handler table with the owner's context (`client=...` or
// `worker=...`; the message's own field wins). The string "OK" stops the rest
// of that batch; `close-stream` ends the stream.
//
// The stream ends on close-stream, EOF, a read error, a non-map element or a
// handler error; run() then closes the comm and calls `on_closed` exactly once
// with the reason (OK for close-stream), so the owner removes its client/worker.
// An op with no handler goes to the table's fallback when it has one; else it is
// logged and skipped (upstream raises KeyError and drops the stream; we keep the
// peer connected while ops are still being implemented).
//
// A message is parsed once (ParsedMessage) and each op-map becomes a Value only
// when its handler needs one: an op with a fast handler (add_fast) is first
// offered to it as the msgpack object; the fast handler serves the common shape
// and declines anything else, which then takes the generic path (issue 11).
// Thread safety: none; loop thread only.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "protocol/codec/msgpack_reader.hpp"
#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/batched_send.hpp"
#include "protocol/comm/comm.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// One incoming stream op with its injected context.
struct StreamMessage {
  std::string_view op;
  const Value& msg;    // the op-map as received (still holds "op")
  const Value& extra;  // the owner's context map, e.g. {"client": "Client-..."}
  const std::string& peer;

  // The field from the op-map, else from the context; nullptr if in neither.
  const Value* get(std::string_view key) const {
    if (const Value* v = msg.find(key)) return v;
    return extra.find(key);
  }
};

// A handler error ends the stream (as an exception in a stock stream handler).
using StreamHandler = std::function<Status(const StreamMessage&)>;

// One incoming stream op as parsed, before any Value is built.
struct RawStreamMessage {
  std::string_view op;
  const msgpack::object& msg;    // the op-map
  const ParsedMessage& message;  // the whole message: bin slices, payload frames
  const Value& extra;            // the owner's context map
  const std::string& peer;
};

// A fast path: nullopt declines (the op goes to the generic handler as a Value);
// a Status means handled, and an error ends the stream as for StreamHandler.
using FastStreamHandler = std::function<std::optional<Status>(const RawStreamMessage&)>;

class StreamHandlers {
  // Heterogeneous lookup: an op name from a message is a string_view.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <typename Handler>
  using Table = std::unordered_map<std::string, Handler, NameHash, std::equal_to<>>;

 public:
  void add(std::string op, StreamHandler handler);
  const StreamHandler* find(std::string_view op) const;
  // An accelerator for `op`, which must also have a generic handler (add): it
  // gets every `op` first and may decline it.
  void add_fast(std::string op, FastStreamHandler handler);
  const FastStreamHandler* find_fast(std::string_view op) const;
  // Serves every op with no handler of its own (the daskcpp-worker hands them to
  // the stream handlers Python plugins registered); it logs an op nobody handles.
  void set_fallback(StreamHandler handler) { fallback_ = std::move(handler); }

 private:
  Table<StreamHandler> handlers_;
  Table<FastStreamHandler> fast_;
  StreamHandler fallback_;
};

class BatchedStream : public std::enable_shared_from_this<BatchedStream> {
 public:
  using OnClosed = std::function<void(const Status& reason)>;

  static std::shared_ptr<BatchedStream> make(std::shared_ptr<Comm> comm,
                                             std::chrono::microseconds send_interval);

  BatchedSend& sender() { return *send_; }
  void send(const Value& op) { send_->send(op); }
  void send_alone(Value op) { send_->send_alone(std::move(op)); }

  // Reads and dispatches until the stream ends; returns the reason. The table
  // and `extra` must outlive the coroutine. `on_closed` (may be empty) runs once.
  asio::awaitable<Status> run(const StreamHandlers& handlers, Value extra,
                              OnClosed on_closed);

  // Ends the stream from our side: flushes, closes the comm; run() then returns.
  void close() { send_->close(); }
  bool closed() const { return send_->closed(); }
  const std::string& peer_address() const { return comm_->peer_address(); }

 private:
  BatchedStream(std::shared_ptr<Comm> comm, std::chrono::microseconds send_interval);
  // Dispatches one batch; OK + *stop when close-stream was seen.
  Status dispatch_batch(const ParsedMessage& batch, const StreamHandlers& handlers,
                        const Value& extra, bool* stop);
  // One op-map of a batch (`index` for error messages).
  Status dispatch_op(const ParsedMessage& batch, const msgpack::object& op_map,
                     std::size_t index, const StreamHandlers& handlers,
                     const Value& extra, bool* stop);

  std::shared_ptr<Comm> comm_;
  std::shared_ptr<BatchedSend> send_;
};

}  // namespace daskcpp::protocol
