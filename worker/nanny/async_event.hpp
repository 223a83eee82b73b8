#pragma once
// AsyncEvent: a flag coroutines can wait on with a timeout (the asyncio.Event that
// upstream Nanny/WorkerProcess wait on: `running`, `stopped`).
//
// Each waiter parks on its own timer set to its deadline; set() cancels them all.
// A waiter reports true if the event was set while it waited, even if it was
// cleared again before the waiter resumed.
// Thread safety: none; lives on the loop thread.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "protocol/comm/asio.hpp"

namespace daskcpp::worker::nanny {

class AsyncEvent {
 public:
  explicit AsyncEvent(protocol::asio::any_io_executor executor)
      : executor_(std::move(executor)) {}

  void set() {
    set_ = true;
    ++generation_;
    for (auto& timer : waiters_) timer->cancel();
    waiters_.clear();
  }
  void clear() { set_ = false; }
  bool is_set() const { return set_; }

  // True if the event is or becomes set within `timeout`.
  protocol::asio::awaitable<bool> wait(std::chrono::steady_clock::duration timeout) {
    namespace asio = protocol::asio;
    if (set_) co_return true;
    const std::uint64_t generation = generation_;
    auto timer = std::make_shared<asio::steady_timer>(executor_, timeout);
    waiters_.push_back(timer);
    protocol::ErrorCode ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), timer), waiters_.end());
    co_return set_ || generation_ != generation;
  }

 private:
  protocol::asio::any_io_executor executor_;
  bool set_ = false;
  std::uint64_t generation_ = 0;
  std::vector<std::shared_ptr<protocol::asio::steady_timer>> waiters_;
};

}  // namespace daskcpp::worker::nanny
