#pragma once
// Opening a comm to a Dask peer (upstream distributed/comm/core.py connect):
// resolve, TCP connect with jittered exponential back-off until the connect
// timeout, configure the socket, then handshake.
// Runs on the caller's executor (the loop thread); never blocks it.

#include <chrono>
#include <memory>
#include <string_view>

#include "protocol/comm/asio.hpp"
#include "protocol/comm/comm.hpp"
#include "protocol/comm/comm_options.hpp"

namespace daskcpp::protocol {

struct ConnectOptions {
  // distributed.comm.timeouts.connect: total time across all attempts.
  std::chrono::milliseconds timeout{30'000};
  // First back-off; doubles per attempt (with jitter), capped at max_backoff.
  std::chrono::milliseconds initial_backoff{10};
  std::chrono::milliseconds max_backoff{1'000};
};

asio::awaitable<Result<std::shared_ptr<Comm>>> connect(std::string_view address,
                                                       CommOptions comm_options,
                                                       ConnectOptions connect_options);

}  // namespace daskcpp::protocol
