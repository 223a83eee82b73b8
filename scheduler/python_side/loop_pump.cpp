#include "scheduler/python_side/loop_pump.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>

namespace daskcpp::scheduler {

LoopPump::LoopPump(asio::io_context& io, python_compat::SchedulerPythonHost& host)
    : io_(io), host_(host), fd_(io), timer_(io) {}

LoopPump::~LoopPump() {
  *alive_ = false;
  stop();
}

void LoopPump::start() {
  // A duplicate: the descriptor object closes what it owns, the selector keeps its own.
  int fd = ::dup(host_.selector_fd());
  if (fd < 0) {
    spdlog::error("scheduler facade: cannot watch the asyncio selector fd");
    return;
  }
  fd_.assign(fd);
  watch_fd();
  request_step();
}

void LoopPump::watch_fd() {
  if (stopped_) return;
  fd_.async_wait(asio::posix::stream_descriptor::wait_read,
                 [this, alive = alive_](const protocol::ErrorCode& ec) {
                   if (ec || !*alive || stopped_) return;
                   step();
                   watch_fd();
                 });
}

void LoopPump::request_step() {
  if (step_posted_ || stopped_) return;
  step_posted_ = true;
  asio::post(io_, [this, alive = alive_] {
    if (!*alive) return;
    step_posted_ = false;
    if (!stopped_) step();
  });
}

void LoopPump::step() {
  std::optional<double> next = host_.step();
  if (!next) return;
  if (*next <= 0) {
    request_step();
    return;
  }
  timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(*next)));
  timer_.async_wait([this, alive = alive_](const protocol::ErrorCode& ec) {
    if (ec || !*alive || stopped_) return;
    step();
  });
}

void LoopPump::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  protocol::ErrorCode ec;
  fd_.cancel(ec);
  fd_.close(ec);
}

}  // namespace daskcpp::scheduler
