#pragma once
// when_all: run several awaitables concurrently and collect their results in
// order — the fan-out of a request to several peers (upstream asyncio.gather in
// Scheduler.broadcast, scatter_to_workers, rebalance). Boost 1.74 has no
// awaitable operators.

#include <exception>
#include <memory>
#include <optional>
#include <vector>

#include "protocol/comm/asio.hpp"

namespace daskcpp::protocol {

void log_when_all_exception(const char* what);

namespace when_all_detail {

template <typename T>
struct Join {
  Join(asio::any_io_executor ex, std::size_t n)
      : left(n), results(n), done(ex, asio::steady_timer::time_point::max()) {}
  std::size_t left;
  std::vector<std::optional<T>> results;
  asio::steady_timer done;  // cancelled when the last task finishes
};

// A named function template, not a lambda inside when_all: gcc 12 at -O2 emits the
// frame-destroy function of a coroutine lambda local to a function template into a
// COMDAT section it may discard, and the link fails ("defined in discarded section")
// once two translation units instantiate when_all for the same T.
template <typename T>
asio::awaitable<void> run_one(std::shared_ptr<Join<T>> join, std::size_t idx,
                              asio::awaitable<T> task) {
  try {
    join->results[idx].emplace(co_await std::move(task));
  } catch (const std::exception& e) {
    log_when_all_exception(e.what());
  }
  if (--join->left == 0) join->done.cancel();
}

}  // namespace when_all_detail

// Results in the order of `tasks` once all finished. nullopt: that task threw
// (ours report errors as values, so this is a bug; logged).
template <typename T>
asio::awaitable<std::vector<std::optional<T>>> when_all(
    std::vector<asio::awaitable<T>> tasks) {
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto join = std::make_shared<when_all_detail::Join<T>>(ex, tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    asio::co_spawn(ex, when_all_detail::run_one<T>(join, i, std::move(tasks[i])),
                   asio::detached);
  }
  if (join->left > 0) {
    ErrorCode ec;
    co_await join->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(join->results);
}

}  // namespace daskcpp::protocol
