#include "protocol/comm/batched_send.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace daskcpp::protocol {

std::shared_ptr<BatchedSend> BatchedSend::make(std::shared_ptr<Comm> comm,
                                               std::chrono::microseconds interval) {
  return std::shared_ptr<BatchedSend>(new BatchedSend(std::move(comm), interval));
}

BatchedSend::BatchedSend(std::shared_ptr<Comm> comm, std::chrono::microseconds interval)
    : comm_(std::move(comm)), interval_(interval), timer_(comm_->executor()) {}

void BatchedSend::send(Value op) {
  if (closed()) {
    spdlog::debug("BatchedSend to {}: dropping {} after close", comm_->peer_address(),
                  op.to_debug_string(80));
    return;
  }
  buffer_.push_back(std::move(op));
  arm();
}

void BatchedSend::send_alone(Value op) {
  flush();
  if (closed()) return;
  buffer_.push_back(std::move(op));
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
  if (buffer_.empty() || comm_->closed()) return;
  Array batch;
  batch.swap(buffer_);
  const std::size_t n = batch.size();
  Status st = comm_->write(Value(std::move(batch)));
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
  buffer_.clear();
  if (armed_) {
    armed_ = false;
    timer_.cancel();
  }
  comm_->abort();
}

}  // namespace daskcpp::protocol
