#pragma once
// Comm: one connected TCP stream carrying Dask messages (upstream
// distributed/comm/tcp.py TCP, comm/core.py Comm).
//
// Owns the socket, the push FrameDecoder and a bounded write queue. Reads are
// zero-copy for large bodies (FrameDecoder::prepare/commit); small reads go
// through the decoder's staging buffer. Writes are scatter-gather: prelude + frames, with
// one async_write in flight; everything queued behind it goes out in the next
// write (Beast chat-multi websocket_session::on_send).
//
// Lifetime: always held by shared_ptr; pending handlers keep it alive
// (shared_from_this), so it is never destroyed inside its own handler.
// Thread safety: none. A Comm lives on the one io_context thread that owns the
// scheduler (style.md §4); with a single-threaded io_context no strand is
// needed. Do not use one Comm from two threads.
// At most one read() may be outstanding at a time (as in Python). Member
// coroutines pin the comm once running; whoever co_spawns one instead of
// awaiting it must hold a shared_ptr until it starts.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/codec/msgpack_reader.hpp"
#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/comm_options.hpp"
#include "protocol/framing/frame_decoder.hpp"
#include "protocol/messages/handshake.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// TCP_NODELAY plus keepalive as upstream set_tcp_timeout (protocol.md §1.3).
void configure_socket(tcp::socket& socket, std::chrono::seconds tcp_timeout);

// "tcp://host:port" of an endpoint, IPv6 bracketed; v4-mapped v6 shown as v4.
std::string format_endpoint(const tcp::endpoint& endpoint);

class Comm : public std::enable_shared_from_this<Comm> {
 public:
  static std::shared_ptr<Comm> make(tcp::socket socket, CommOptions options);
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  // Writes our handshake and reads theirs (either order on the wire), bounded
  // by options.handshake_timeout. On failure the comm is aborted.
  asio::awaitable<Status> handshake();

  // The next message, decoded. IOError on EOF/close, the decoder's error on bad
  // bytes (then the comm is aborted: a framing error cannot be resynchronised).
  asio::awaitable<Result<Value>> read();
  // As read(), aborting the comm if nothing arrives within `timeout`.
  asio::awaitable<Result<Value>> read(std::chrono::milliseconds timeout);
  // The next message's raw frames.
  asio::awaitable<Result<Frames>> read_frames();
  // The next message parsed but not converted to Values (batched streams read
  // their hot ops from it); a frame 0 that does not parse aborts the comm, as in
  // read().
  asio::awaitable<Result<ParsedMessage>> read_parsed();

  // Queues one message; returns at once. Fails if the comm is closed/closing or
  // the queue is over its byte limit (the peer does not read: caller closes).
  Status write(const Value& message);
  Status write_frames(Frames frames);
  // Completes when everything queued so far is on the wire (or the comm broke).
  asio::awaitable<Status> flush();

  // Graceful: sends what is queued, then shutdown + close. Idempotent.
  void close();
  // Immediate: drops the queue and closes the socket. Idempotent.
  void abort();
  bool closed() const { return closed_ || closing_; }

  const std::string& peer_address() const { return peer_address_; }
  const std::string& local_address() const { return local_address_; }
  // Negotiated compression / pickle protocol (valid after handshake()).
  const SessionSettings& session() const { return session_; }
  const CommOptions& options() const { return options_; }
  asio::any_io_executor executor() { return socket_.get_executor(); }

  // Bytes queued or in flight, for tests and metrics.
  std::uint64_t queued_bytes() const { return queued_bytes_; }

 private:
  Comm(tcp::socket socket, CommOptions options);
  struct OutMessage {
    std::vector<std::uint8_t> prelude;
    Frames frames;
    std::uint64_t bytes = 0;
  };
  void do_write();
  void on_write(const ErrorCode& ec);
  void finish_close();
  void notify_drained();
  Status decode_error(const Status& st, std::span<const std::uint8_t> sample);

  tcp::socket socket_;
  CommOptions options_;
  std::string peer_address_;
  std::string local_address_;
  SessionSettings session_;

  FrameDecoder decoder_;
  std::deque<Frames> decoded_;  // messages completed by one read but not yet returned
  Status read_error_;           // bad bytes seen; returned once decoded_ is drained

  std::deque<OutMessage> queue_;       // waiting behind the write in flight
  std::vector<OutMessage> in_flight_;  // the write in flight
  std::uint64_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  Status write_error_;
  // Cancelled (never expires) to wake flush() waiters when the queue drains.
  asio::steady_timer drained_;
};

}  // namespace daskcpp::protocol
