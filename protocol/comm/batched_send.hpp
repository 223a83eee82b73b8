#pragma once
// BatchedSend: the outgoing half of a batched stream (upstream
// distributed/batched.py BatchedSend). Ops are buffered and written as ONE
// msgpack array per interval (scheduler->client 2 ms, scheduler->worker 5 ms),
// so every op produced for a peer during a loop turn leaves in one write.
//
// An op is encoded when it is sent, into the batch's frame 0 (and its payloads
// into the batch's frame list), so a batch is one buffer and no op is kept as a
// Value tree. The ops sent once per task are not built as Values at all:
// send_encoded() hands the caller the batch's writer (issue 11).
//
// The first flush after a quiet period goes out on the next loop turn (ops
// queued in the same turn still coalesce); later ones wait until `interval`
// after the previous flush, as upstream's `next_deadline`.
// Owns a timer and shares the Comm with the stream's reader.
// Thread safety: none; loop thread only.

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "protocol/codec/msgpack_writer.hpp"
#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/comm.hpp"

namespace daskcpp::protocol {

class BatchedSend : public std::enable_shared_from_this<BatchedSend> {
 public:
  static std::shared_ptr<BatchedSend> make(std::shared_ptr<Comm> comm,
                                           std::chrono::microseconds interval);
  BatchedSend(const BatchedSend&) = delete;
  BatchedSend& operator=(const BatchedSend&) = delete;

  // Buffers one op-map. Dropped (with a debug log) once the comm is closed,
  // like upstream's send() after close.
  void send(const Value& op);
  // Buffers one op written by `write(MsgpackWriter&, Frames& payload_frames)`,
  // which must append exactly one msgpack object (the op-map) and may append
  // payload frames (write_value with WriteOptions{&payload_frames}). Dropped once
  // the comm is closed, as send().
  template <typename Write>
  void send_encoded(Write&& write) {
    if (closed()) return;
    MsgpackWriter w(body_);
    write(w, frames_);
    ++pending_;
    arm();
  }
  // Writes `op` as a batch of its own: the buffer is flushed first, and nothing
  // joins it (the client's first stream message `[stream-start]`, §4.3).
  void send_alone(Value op);
  // Writes the buffer now, if any.
  void flush();
  // Flushes, then closes the comm gracefully. Idempotent.
  void close();
  // Closes the comm without flushing.
  void abort();

  bool closed() const { return closed_ || comm_->closed(); }
  const std::shared_ptr<Comm>& comm() const { return comm_; }
  std::size_t pending() const { return pending_; }
  std::uint64_t batches_written() const { return batches_written_; }
  std::uint64_t ops_written() const { return ops_written_; }

 private:
  BatchedSend(std::shared_ptr<Comm> comm, std::chrono::microseconds interval);
  void arm();
  void on_timer(const ErrorCode& ec, std::uint64_t generation);
  // An empty batch: room for the array header, then the ops.
  void start_batch();

  std::shared_ptr<Comm> comm_;
  std::chrono::microseconds interval_;
  asio::steady_timer timer_;
  // The batch being built: frame 0 is body_ (kHeaderRoom bytes kept free for the
  // array header, written at flush), frames_[1..] the ops' payload frames.
  std::vector<std::uint8_t> body_;
  Frames frames_;
  std::size_t pending_ = 0;
  std::size_t last_batch_bytes_ = 0;
  bool armed_ = false;
  std::uint64_t timer_generation_ = 0;
  bool closed_ = false;
  asio::steady_timer::time_point last_flush_{};
  std::uint64_t batches_written_ = 0;
  std::uint64_t ops_written_ = 0;
};

}  // namespace daskcpp::protocol
