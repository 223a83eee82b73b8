#pragma once
// Serving one comm's RPC requests (upstream distributed/core.py
// Server._handle_comm). Reads a request map, dispatches by op, writes the
// reply unless `reply` is false, and loops until EOF, the `close` op, a
// `close: true` request or bad input.
//
// Bad input (not a map, no `op`, undecodable bytes) is logged once with the
// peer and a short sample, and closes only this comm.
// An unknown op gets a nil reply and a warning naming the op and the peer
// (stock quirk, protocol.md Appendix C.10).
// Runs on the loop thread; one coroutine per comm.

#include <memory>

#include "protocol/comm/asio.hpp"
#include "protocol/comm/comm.hpp"
#include "protocol/comm/rpc_handlers.hpp"

namespace daskcpp::protocol {

// The table must outlive the returned coroutine.
asio::awaitable<void> serve_rpc(std::shared_ptr<Comm> comm, const RpcHandlers& handlers);

}  // namespace daskcpp::protocol
