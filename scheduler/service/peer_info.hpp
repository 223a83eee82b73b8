#pragma once
// What the scheduler tells about its peers: the heartbeat interval it asks of
// them and a worker's identity (both used by handlers, extensions and the
// server). Thread: the scheduler loop.

#include <cstddef>
#include <string>

#include "protocol/codec/value.hpp"

namespace daskcpp::scheduler {

class SchedulerService;

// Upstream distributed.scheduler.heartbeat_interval(n): seconds between
// heartbeats for n peers (0.5 up to 10, 1 below 50, 2 below 200, then n/200+1).
double heartbeat_interval(std::size_t n);

// Upstream WorkerState.identity() of a registered worker; nil when unknown.
protocol::Value worker_identity(SchedulerService& svc, const std::string& address);

}  // namespace daskcpp::scheduler
