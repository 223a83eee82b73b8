#include "protocol/comm/batched_send.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace daskcpp::protocol {

std::shared_ptr<BatchedSend> BatchedSend::make(std::shared_ptr<Comm> comm,
                                               std::chrono::microseconds interval) {
  return std::shared_ptr<BatchedSend>(new BatchedSend(std::move(comm), interval));
}

namespace {

// The longest msgpack array header (array32).
constexpr std::size_t kHeaderRoom = 5;
// A new batch's buffer starts near the last batch's size, within these bounds
// (one large batch must not make every later one allocate as much).
constexpr std::size_t kMinReserve = 256;
constexpr std::size_t kMaxReserve = 64 * 1024;

}  // namespace

BatchedSend::BatchedSend(std::shared_ptr<Comm> comm, std::chrono::microseconds interval)
    : comm_(std::move(comm)), interval_(interval), timer_(comm_->executor()) {
  start_batch();
}

void BatchedSend::start_batch() {
  body_.clear();
  // About the size of the last batch: a steady stream grows its buffer once.
  body_.reserve(
      std::clamp(last_batch_bytes_ + last_batch_bytes_ / 4, kMinReserve, kMaxReserve));
  body_.resize(kHeaderRoom);
  frames_.clear();
  frames_.emplace_back();  // frame 0, set at flush
  pending_ = 0;
}

void BatchedSend::send(const Value& op) {
  if (closed()) {
    spdlog::debug("BatchedSend to {}: dropping {} after close", comm_->peer_address(),
                  op.to_debug_string(80));
    return;
  }
  send_encoded([&op](MsgpackWriter& w, Frames& payload_frames) {
    // Cannot fail: payloads have a frame list to go to.
    (void)write_value(w, op, WriteOptions{&payload_frames, false});
  });
}

void BatchedSend::send_alone(Value op) {
  flush();
  if (closed()) return;
  send(op);
  flush();
}

void BatchedSend::arm() {
  if (armed_) return;
  armed_ = true;
  // A deadline already passed completes on the next loop turn, which is what
  // lets ops produced in this turn join the batch.
  timer_.expires_at(
      std::max(asio::steady_timer::clock_type::now(), last_flush_ + interval_));
  const std::uint64_t generation = ++timer_generation_;
  timer_.async_wait([self = shared_from_this(), generation](const ErrorCode& ec) {
    self->on_timer(ec, generation);
  });
}

void BatchedSend::on_timer(const ErrorCode& ec, std::uint64_t generation) {
  // A wait cancelled by flush()/abort() (which handled the buffer) or
  // superseded by a newer arm() must not touch the current state.
  if (ec || generation != timer_generation_) return;
  armed_ = false;
  flush();
}

void BatchedSend::flush() {
  if (armed_) {
    armed_ = false;
    timer_.cancel();
  }
  if (pending_ == 0 || comm_->closed()) return;
  const std::size_t n = pending_;
  // The array header goes right before the first op, in the room kept for it.
  std::vector<std::uint8_t> header;
  MsgpackWriter(header).array_header(n);
  const std::size_t offset = kHeaderRoom - header.size();
  std::copy(header.begin(), header.end(),
            body_.begin() + static_cast<std::ptrdiff_t>(offset));
  last_batch_bytes_ = body_.size();
  auto owner = std::make_shared<const std::vector<std::uint8_t>>(std::move(body_));
  frames_[0] = Bytes(owner, owner->data() + offset, owner->size() - offset);
  Frames frames = std::move(frames_);
  start_batch();
  Status st = comm_->write_frames(std::move(frames));
  last_flush_ = asio::steady_timer::clock_type::now();
  if (!st.ok()) {
    // Upstream BatchedSend aborts the comm on a failed write; the stream's
    // reader then sees EOF and the owner removes the peer.
    spdlog::warn("BatchedSend to {}: {}; closing the stream", comm_->peer_address(),
                 st.to_string());
    abort();
    return;
  }
  ++batches_written_;
  ops_written_ += n;
}

void BatchedSend::close() {
  if (closed_) return;
  flush();
  closed_ = true;
  comm_->close();
}

void BatchedSend::abort() {
  closed_ = true;
  start_batch();
  if (armed_) {
    armed_ = false;
    timer_.cancel();
  }
  comm_->abort();
}

}  // namespace daskcpp::protocol
