#pragma once
// Scheduler.broadcast: one message to many workers (or their nannies) at once,
// the replies as {worker address: reply}. Used by the `broadcast` RPC and by the
// plugin extension. Thread: the scheduler loop.

#include <string>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"

namespace daskcpp::scheduler {

namespace asio = protocol::asio;

class SchedulerService;

struct BroadcastOptions {
  bool to_nanny = false;
  // "raise" (the first failure is the reply), "return"/"return_pickle" (a failed
  // worker maps to its exception), "ignore" (failed workers are left out).
  std::string on_error = "raise";
  // A named worker that is not connected: a KeyError reply (the broadcast RPC), or
  // left out (the plugin extension, which names the workers it knows).
  bool unknown_worker_is_error = true;
};

asio::awaitable<protocol::Value> broadcast(SchedulerService& svc,
                                           std::vector<std::string> workers,
                                           protocol::Map msg, BroadcastOptions options);

}  // namespace daskcpp::scheduler
