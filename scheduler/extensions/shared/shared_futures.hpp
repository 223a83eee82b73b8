#pragma once
// What the Variable and Queue extensions share (upstream distributed/variable.py,
// distributed/queues.py): the future record a client turns back into a Future, the
// wait for a key that a client's update-graph has not created yet, timeouts as
// dask.utils.parse_timedelta reads them, and the waiter list their blocking gets park
// on. Futures they hold are kept alive by a pseudo-client ("variable-<name>",
// "queue-<name>") that desires the key, as upstream.
// Thread: the scheduler loop.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/status.hpp"

namespace daskcpp::scheduler {

namespace asio = protocol::asio;
class SchedulerService;
using SteadyClock = std::chrono::steady_clock;

// Parked coroutines (also the Lock/Semaphore/Event waiters of coordination_handlers);
// notify_all() wakes every one of them (they re-check their
// condition), notify_one() the longest waiting.
class WaiterList {
 public:
  // Suspends until notified or `deadline`; true when notified.
  asio::awaitable<bool> wait(std::optional<SteadyClock::time_point> deadline);
  void notify_all();
  void notify_one();
  bool empty() const { return timers_.empty(); }

 private:
  std::vector<std::shared_ptr<asio::steady_timer>> timers_;
};

// The `name` and `timeout` arguments that variable_set/get and queue_put/get start
// with (timeout as dask.utils.parse_timedelta reads it, nil = wait forever).
struct NamedWait {
  std::string name;
  std::optional<double> timeout;
};
// Reads the request's NamedWait into `out`; the error reply naming `op` when it
// cannot.
std::optional<protocol::Value> read_name_and_timeout(const protocol::Value& args,
                                                     std::string_view op, NamedWait& out);

std::optional<SteadyClock::time_point> deadline_after(std::optional<double> seconds);

// Polls every 10 ms (upstream asyncio.sleep(0.01)) until `canonical` is a known task;
// false once the deadline passed first.
asio::awaitable<bool> wait_for_task(SchedulerService& svc, std::string canonical,
                                    std::optional<SteadyClock::time_point> deadline);

// {"type": "Future", "value": key, ...extra..., "state": <task state or "lost">} plus
// "exception"/"traceback" when erred (upstream VariableExtension.get /
// QueueExtension.get `process`). `extra` entries come between value and state.
protocol::Value future_record(const SchedulerService& svc, const protocol::Value& key,
                              const std::string& canonical, protocol::Map extra = {});

// What a Variable or a Queue holds: a future (its key as the client sent it and
// the key's canonical bytes) or plain msgpack data.
struct HeldValue {
  bool is_future = false;
  protocol::Value value;  // the key as the client sent it, or the data
  std::string canonical;  // futures: the key's canonical bytes
};

// Reads a variable_set / queue_put request: `key` (a future) or `data`. For a
// future, waits until the key is a known task, as upstream does; past `deadline`
// that is upstream's TimeoutError "Task <key> unknown to scheduler.". Returns the
// value, or the error reply to send (named after `op`).
asio::awaitable<std::variant<HeldValue, protocol::Value>> read_held_value(
    SchedulerService& svc, protocol::Value args, std::string op,
    std::optional<SteadyClock::time_point> deadline);

// A name field as the maps key it (str names as is, others by their debug form).
std::optional<std::string> name_field(const protocol::Value& args,
                                      std::string_view field = "name");

}  // namespace daskcpp::scheduler
