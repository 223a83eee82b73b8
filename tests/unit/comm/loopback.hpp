#pragma once
// Test harness for comm tests over loopback sockets: drives one io_context on
// the test thread until a coroutine finishes (bounded by a generous deadline so
// a hang fails the test instead of the CI job).

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

#include "protocol/comm/asio.hpp"

namespace daskcpp::test {

namespace asio = protocol::asio;

template <typename T>
T run_coro(asio::io_context& io, asio::awaitable<T> coro) {
  std::optional<T> out;
  std::exception_ptr error;
  bool done = false;
  // co_spawn needs a default-constructible result; Result<T> is not, so the
  // value travels through `out` and the spawned coroutine returns void.
  auto wrapper = [](asio::awaitable<T> inner,
                    std::optional<T>* slot) -> asio::awaitable<void> {
    slot->emplace(co_await std::move(inner));
  };
  asio::co_spawn(io, wrapper(std::move(coro), &out), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  io.restart();
  while (!done && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(100));
  }
  if (!done) throw std::runtime_error("coroutine did not finish within 20 s");
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

// Runs handlers until `pred()` holds (or the deadline passes); returns pred().
template <typename Pred>
bool run_until(asio::io_context& io, Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  io.restart();
  while (!pred() && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(100));
  }
  return pred();
}

}  // namespace daskcpp::test
