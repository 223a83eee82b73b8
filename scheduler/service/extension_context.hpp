#pragma once
// ExtensionContext: what a scheduler extension or handler group may use — the
// narrow interface they depend on instead of the whole server (upstream hands
// each Scheduler.extensions entry the Scheduler; here they get only this).
// Each extension registers its handlers on the tables here and keeps its own
// state; the composition root (scheduler/server/extensions.cpp) builds one
// context and registers every extension with it.
// Thread: the scheduler loop.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/batched_stream.hpp"
#include "protocol/comm/rpc_handlers.hpp"
#include "scheduler/service/connection_registry.hpp"
#include "scheduler/service/scheduler_options.hpp"
#include "scheduler/service/scheduler_service.hpp"

namespace daskcpp::scheduler {

namespace asio = protocol::asio;

// Scheduler.log_event: records `msg` under each topic and forwards it to the
// clients subscribed to it (the events extension implements it).
using LogEvent = std::function<void(const std::vector<std::string>& topics,
                                    const protocol::Value& msg)>;

struct ExtensionContext {
  asio::io_context& io;
  SchedulerService& service;
  ConnectionRegistry& connections;
  protocol::RpcHandlers& rpc;
  protocol::StreamHandlers& client_stream;
  protocol::StreamHandlers& worker_stream;
  const SchedulerOptions& options;
  LogEvent log_event;
  // True once the server is closing (work finishing off the loop is dropped).
  std::function<bool()> shutting_down;

  SchedulerState& state() { return service.state(); }
};

}  // namespace daskcpp::scheduler
