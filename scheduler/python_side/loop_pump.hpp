#pragma once
// LoopPump: steps the scheduler facade's asyncio loop from the Asio loop
// (python_compat/daskcpp/_scheduler_loop.py): when the loop's epoll selector fd is
// readable (I/O and call_soon_threadsafe's self-pipe), at the deadline of its earliest
// timer, and soon after any call into Python that may have scheduled callbacks
// (request_step()). The asyncio selector never blocks, so a step is short.
//
// Thread: the scheduler loop.

#include <memory>

#include "protocol/comm/asio.hpp"
#include "python_compat/scheduler_host.hpp"

namespace daskcpp::scheduler {

namespace asio = protocol::asio;

class LoopPump {
 public:
  LoopPump(asio::io_context& io, python_compat::SchedulerPythonHost& host);
  ~LoopPump();
  LoopPump(const LoopPump&) = delete;
  LoopPump& operator=(const LoopPump&) = delete;

  // Starts watching the selector fd.
  void start();
  // A step on a later turn of the Asio loop (at most one pending).
  void request_step();
  void stop();

 private:
  void step();
  void watch_fd();

  asio::io_context& io_;
  python_compat::SchedulerPythonHost& host_;
  asio::posix::stream_descriptor fd_;
  asio::steady_timer timer_;
  bool step_posted_ = false;
  bool stopped_ = false;
  // Outlives pending handlers: they check it before touching `this`.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace daskcpp::scheduler
