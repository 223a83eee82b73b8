#include "scheduler/server/coordination_handlers.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/comm/asio.hpp"
#include "scheduler/server/data_handlers.hpp"
#include "scheduler/server/scheduler_server.hpp"

namespace daskcpp::scheduler {

using protocol::RpcRequest;
using protocol::Value;
using Clock = std::chrono::steady_clock;

namespace {

// Parked waiters of one name; notify_all() wakes every one of them.
class Waiters {
 public:
  // Suspends until notify_all() or `deadline`; true when notified.
  asio::awaitable<bool> wait(std::optional<Clock::time_point> deadline) {
    asio::any_io_executor ex = co_await asio::this_coro::executor;
    auto timer = std::make_shared<asio::steady_timer>(
        ex, deadline ? *deadline : Clock::time_point::max());
    timers_.push_back(timer);
    protocol::ErrorCode ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::erase(timers_, timer);
    co_return ec == asio::error::operation_aborted;
  }
  void notify_all() {
    for (auto& t : timers_) t->cancel();
  }
  bool empty() const { return timers_.empty(); }

 private:
  std::vector<std::shared_ptr<asio::steady_timer>> timers_;
};

struct Semaphore {
  std::int64_t max_leases = 1;
  std::optional<double> lease_timeout;  // seconds; nullopt: never expires
  std::map<std::string, Clock::time_point> leases;
  Waiters waiters;
};

struct Event {
  bool set = false;
  Waiters waiters;
};

struct Coordination {
  std::map<std::string, std::shared_ptr<Semaphore>> semaphores;
  std::map<std::string, std::shared_ptr<Event>> events;
};

// Names may arrive as str or (normalized upstream to tuples) as arrays.
std::optional<std::string> name_of(const RpcRequest& req,
                                   std::string_view field = "name") {
  const Value* n = req.arg(field);
  if (n == nullptr) return std::nullopt;
  if (n->is_str()) return n->as_str();
  return n->to_debug_string();
}

std::optional<Clock::time_point> deadline_of(const RpcRequest& req) {
  const Value* t = req.arg("timeout");
  if (t == nullptr || !t->is_number()) return std::nullopt;
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(std::max(0.0, t->as_double())));
}

Value missing_name(std::string_view op) {
  return exception_reply("TypeError", std::string(op) + ": field 'name' is required");
}

// ---- semaphores ------------------------------------------------------------------

Value semaphore_register(Coordination& c, RpcRequest& req) {
  auto name = name_of(req);
  if (!name) return missing_name("semaphore_register");
  const Value* max = req.arg("max_leases");
  if (max == nullptr || !max->is_int()) {
    return exception_reply("TypeError",
                           "semaphore_register: field 'max_leases': expected int");
  }
  auto it = c.semaphores.find(*name);
  if (it == c.semaphores.end()) {
    auto sem = std::make_shared<Semaphore>();
    sem->max_leases = max->as_int64();
    if (const Value* lt = req.arg("lease_timeout"); lt != nullptr && lt->is_number()) {
      sem->lease_timeout = lt->as_double();
    }
    c.semaphores.emplace(*name, std::move(sem));
  } else if (it->second->max_leases != max->as_int64()) {
    return exception_reply("ValueError",
                           "Inconsistent max leases: " + std::to_string(max->as_int64()) +
                               ", expected: " + std::to_string(it->second->max_leases));
  }
  return Value();
}

void drop_expired_leases(Semaphore& sem, const std::string& name) {
  if (!sem.lease_timeout) return;
  const auto cutoff =
      Clock::now() - std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(*sem.lease_timeout));
  for (auto it = sem.leases.begin(); it != sem.leases.end();) {
    if (it->second < cutoff) {
      spdlog::info("Lease {} for {} timed out after {}s.", it->first, name,
                   *sem.lease_timeout);
      it = sem.leases.erase(it);
    } else {
      ++it;
    }
  }
}

asio::awaitable<Value> semaphore_acquire(std::shared_ptr<Coordination> c,
                                         RpcRequest& req) {
  auto name = name_of(req);
  if (!name) co_return missing_name("semaphore_acquire");
  auto it = c->semaphores.find(*name);
  if (it == c->semaphores.end()) {
    co_return exception_reply("RuntimeError",
                              "Semaphore or Lock `" + *name + "` not known.");
  }
  std::shared_ptr<Semaphore> sem = it->second;  // survives semaphore_close
  const std::string lease_id = name_of(req, "lease_id").value_or("");
  const auto deadline = deadline_of(req);
  while (true) {
    if (!sem->leases.contains(lease_id) &&
        static_cast<std::int64_t>(sem->leases.size()) >= sem->max_leases) {
      drop_expired_leases(*sem, *name);
    }
    if (sem->leases.contains(lease_id) ||
        static_cast<std::int64_t>(sem->leases.size()) < sem->max_leases) {
      sem->leases[lease_id] = Clock::now();
      co_return Value(true);
    }
    if (deadline && Clock::now() >= *deadline) co_return Value(false);
    // Not notified: the deadline passed (a notified waiter retries).
    if (!co_await sem->waiters.wait(deadline)) co_return Value(false);
  }
}

Value semaphore_release(Coordination& c, RpcRequest& req) {
  auto name = name_of(req);
  const std::string lease_id = name_of(req, "lease_id").value_or("");
  auto it = name ? c.semaphores.find(*name) : c.semaphores.end();
  if (it == c.semaphores.end()) {
    spdlog::warn("Tried to release Lock or Semaphore `{}` but it is not known.",
                 name.value_or("None"));
    return Value();
  }
  if (it->second->leases.erase(lease_id) == 0) {
    spdlog::warn(
        "Tried to release Lock or Semaphore but it was already released: name={}, "
        "lease_id={}",
        *name, lease_id);
    return Value();
  }
  it->second->waiters.notify_all();
  return Value();
}

Value semaphore_refresh_leases(Coordination& c, RpcRequest& req) {
  auto name = name_of(req);
  auto it = name ? c.semaphores.find(*name) : c.semaphores.end();
  const Value* ids = req.arg("lease_ids");
  if (it == c.semaphores.end() || ids == nullptr || !ids->is_array()) return Value();
  for (const Value& id : ids->as_array()) {
    if (!id.is_str()) continue;
    if (!it->second->leases.contains(id.as_str())) {
      spdlog::critical("Refreshing an unknown lease ID {} for {}.", id.as_str(), *name);
    }
    it->second->leases[id.as_str()] = Clock::now();
  }
  return Value();
}

Value semaphore_value(Coordination& c, RpcRequest& req) {
  auto name = name_of(req);
  auto it = name ? c.semaphores.find(*name) : c.semaphores.end();
  return Value(static_cast<std::int64_t>(
      it == c.semaphores.end() ? 0 : it->second->leases.size()));
}

Value semaphore_close(Coordination& c, RpcRequest& req) {
  auto name = name_of(req);
  if (!name) return Value();
  auto it = c.semaphores.find(*name);
  if (it == c.semaphores.end()) return Value();
  if (!it->second->leases.empty()) {
    spdlog::warn("Closing semaphore {} but there remain unreleased leases", *name);
  }
  it->second->waiters.notify_all();
  c.semaphores.erase(it);
  return Value();
}

// ---- events ----------------------------------------------------------------------

std::shared_ptr<Event> event_named(Coordination& c, const std::string& name) {
  auto& slot = c.events[name];
  if (!slot) slot = std::make_shared<Event>();
  return slot;
}

void forget_if_idle(Coordination& c, const std::string& name) {
  auto it = c.events.find(name);
  if (it != c.events.end() && !it->second->set && it->second->waiters.empty()) {
    c.events.erase(it);
  }
}

asio::awaitable<Value> event_wait(std::shared_ptr<Coordination> c, RpcRequest& req) {
  auto name = name_of(req);
  if (!name) co_return missing_name("event_wait");
  std::shared_ptr<Event> ev = event_named(*c, *name);
  const auto deadline = deadline_of(req);
  bool result = true;
  while (!ev->set) {
    if (!co_await ev->waiters.wait(deadline)) {
      result = ev->set;
      break;
    }
  }
  forget_if_idle(*c, *name);
  co_return Value(result);
}

Value event_set(Coordination& c, RpcRequest& req) {
  auto name = name_of(req);
  if (!name) return missing_name("event_set");
  std::shared_ptr<Event> ev = event_named(c, *name);
  ev->set = true;
  ev->waiters.notify_all();
  return Value();
}

Value event_clear(Coordination& c, RpcRequest& req) {
  auto name = name_of(req);
  if (!name) return missing_name("event_clear");
  auto it = c.events.find(*name);
  if (it != c.events.end()) it->second->set = false;
  forget_if_idle(c, *name);
  return Value();
}

Value event_is_set(Coordination& c, RpcRequest& req) {
  auto name = name_of(req);
  if (!name) return Value(false);
  auto it = c.events.find(*name);
  return Value(it != c.events.end() && it->second->set);
}

}  // namespace

void register_coordination_handlers(SchedulerServer& server) {
  auto c = std::make_shared<Coordination>();
  protocol::RpcHandlers& h = server.rpc_handlers();
  h.add_sync("semaphore_register",
             [c](RpcRequest& r) { return semaphore_register(*c, r); });
  h.add("semaphore_acquire", [c](RpcRequest& r) { return semaphore_acquire(c, r); });
  h.add_sync("semaphore_release",
             [c](RpcRequest& r) { return semaphore_release(*c, r); });
  h.add_sync("semaphore_refresh_leases",
             [c](RpcRequest& r) { return semaphore_refresh_leases(*c, r); });
  h.add_sync("semaphore_value", [c](RpcRequest& r) { return semaphore_value(*c, r); });
  h.add_sync("semaphore_close", [c](RpcRequest& r) { return semaphore_close(*c, r); });
  h.add("event_wait", [c](RpcRequest& r) { return event_wait(c, r); });
  h.add_sync("event_set", [c](RpcRequest& r) { return event_set(*c, r); });
  h.add_sync("event_clear", [c](RpcRequest& r) { return event_clear(*c, r); });
  h.add_sync("event_is_set", [c](RpcRequest& r) { return event_is_set(*c, r); });
}

}  // namespace daskcpp::scheduler
