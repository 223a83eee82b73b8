#pragma once
// Client-facing data RPCs (upstream Scheduler.gather, scatter, update_data,
// get_who_has, get_has_what, get_ncores, get_ncores_running, get_processing,
// get_nbytes, stimulus_retry; protocol.md §5.5-§5.7). gather and scatter are
// coroutines that await the workers (worker_rpc.hpp) without blocking the loop;
// the others read or change SchedulerState and answer at once.
//
// register_data_handlers() also registers the admin RPCs (admin_handlers.hpp) and the
// coordination primitives (coordination_handlers.hpp); the first two
// groups share one DataContext (RNG, scatter round-robin counter, metadata, events).
// Thread: the scheduler loop.

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/status.hpp"
#include "scheduler/server/metadata_store.hpp"

namespace daskcpp::scheduler {

class SchedulerServer;

struct DataContext {
  explicit DataContext(SchedulerServer& s);

  SchedulerServer& server;
  std::mt19937_64 rng;                // holder choice in gather
  std::uint64_t scatter_counter = 0;  // utils_comm._round_robin_counter
  MetadataStore metadata;
  EventLog events;

  // Scheduler.log_event / Broker.publish: records (now, msg) under each topic and
  // sends {"op": "event", "topic", "event": [time, msg]} to subscribed clients.
  void log_event(const std::vector<std::string>& topics, const protocol::Value& msg);
};

void register_data_handlers(SchedulerServer& server);

}  // namespace daskcpp::scheduler
