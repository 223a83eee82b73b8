#pragma once
// watch_for_peer_close: for an RPC whose Python handler keeps writing on the
// request's comm after the request (`feed`, the progress bars' data comm), reads that
// comm until the peer closes it, so the handler's next write fails at once (stock
// finds out only when a write fails, one or two intervals later). serve_rpc does not
// read while a handler runs, so this is the comm's only reader; the caller closes the
// comm before returning to serve_rpc, which ends the watch and writes no reply.
//
// Thread: the scheduler loop.

#include <memory>
#include <string_view>

#include "protocol/comm/comm.hpp"

namespace daskcpp::scheduler {

// Ops whose handler streams replies on the request's comm (Scheduler.feed).
bool streams_replies(std::string_view op);

void watch_for_peer_close(std::shared_ptr<protocol::Comm> comm);

}  // namespace daskcpp::scheduler
