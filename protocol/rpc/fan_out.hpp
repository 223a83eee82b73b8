#pragma once
// Requests to other servers whose replies are returned as sent (uncaught-error
// maps included, so a broadcast can forward a peer's exception unchanged), one
// at a time or fanned out to many (upstream Scheduler.broadcast's
// asyncio.gather of send_recv).

#include <string>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/connection_pool.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// One request/reply over a pooled comm. IOError when the comm fails.
asio::awaitable<Result<Value>> call_peer(ConnectionPool& pool, const std::string& address,
                                         Value request);

// call_peer to every address concurrently; the replies in address order.
asio::awaitable<std::vector<Result<Value>>> call_all(
    ConnectionPool& pool, const std::vector<std::string>& addresses, Value request);

// `msg` as broadcast sends it: `close: false` first, `reply: true` last, any
// close/reply in `msg` dropped (distributed.scheduler.reuse-broadcast-comm is False).
Value broadcast_request(const Map& msg);

}  // namespace daskcpp::protocol
