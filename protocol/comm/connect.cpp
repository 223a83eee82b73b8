#include "protocol/comm/connect.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "protocol/comm/address.hpp"

namespace daskcpp::protocol {

namespace {

// One attempt: resolve + connect, aborted by a timer at `deadline`.
asio::awaitable<Result<tcp::socket>> try_connect(
    const Address& addr, asio::steady_timer::time_point deadline) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  tcp::socket socket(executor);
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer timer(executor);
  timer.expires_at(deadline);
  timer.async_wait([&resolver, &socket, timed_out](const ErrorCode& ec) {
    if (ec) return;
    *timed_out = true;
    resolver.cancel();
    ErrorCode ignored;
    socket.cancel(ignored);
  });
  ErrorCode ec;
  auto endpoints =
      co_await resolver.async_resolve(addr.host, std::to_string(addr.port),
                                      asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) {
    co_await asio::async_connect(socket, endpoints,
                                 asio::redirect_error(asio::use_awaitable, ec));
  }
  timer.cancel();
  // The timer handler captured locals by reference: let it run before returning.
  co_await asio::post(executor, asio::use_awaitable);
  if (*timed_out) co_return Status::IOError("timed out");
  if (ec) co_return Status::IOError(ec.message());
  co_return std::move(socket);
}

}  // namespace

asio::awaitable<Result<std::shared_ptr<Comm>>> connect(std::string_view address,
                                                       CommOptions comm_options,
                                                       ConnectOptions connect_options) {
  Result<Address> addr = parse_address(address);
  if (!addr.ok()) co_return addr.status();
  auto executor = co_await asio::this_coro::executor;
  const auto start = asio::steady_timer::clock_type::now();
  const auto deadline = start + connect_options.timeout;
  std::minstd_rand rng(std::random_device{}());
  auto backoff = connect_options.initial_backoff;
  Status last;
  int attempts = 0;
  while (true) {
    ++attempts;
    Result<tcp::socket> socket = co_await try_connect(*addr, deadline);
    if (socket.ok()) {
      configure_socket(*socket, comm_options.tcp_timeout);
      auto comm = Comm::make(std::move(socket).value(), comm_options);
      Status st = co_await comm->handshake();
      if (!st.ok()) co_return st;
      co_return comm;
    }
    last = socket.status();
    const auto now = asio::steady_timer::clock_type::now();
    if (now >= deadline) break;
    // Jitter in [0.5, 1.5) x backoff, as upstream's randomized retry delay.
    std::uniform_real_distribution<double> jitter(0.5, 1.5);
    auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(backoff * jitter(rng));
    wait = std::min(
        wait, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    spdlog::debug("connect to {} failed ({}); retrying in {} ms", address, last.message(),
                  wait.count());
    asio::steady_timer timer(executor);
    timer.expires_after(wait);
    ErrorCode ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    backoff = std::min(backoff * 2, connect_options.max_backoff);
  }
  co_return Status::IOError(
      "timed out after " + std::to_string(connect_options.timeout.count()) +
      " ms trying to connect to " + std::string(address) + " (" +
      std::to_string(attempts) + " attempts; last error: " + last.message() + ")");
}

}  // namespace daskcpp::protocol
