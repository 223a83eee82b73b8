#include "scheduler/extensions/coordination/coordination_handlers.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/comm/asio.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "scheduler/extensions/shared/shared_futures.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/scheduler_service.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {

using protocol::RpcRequest;
using protocol::Value;
using Clock = std::chrono::steady_clock;

namespace {

struct Semaphore {
  std::int64_t max_leases = 1;
  std::optional<double> lease_timeout;  // seconds; nullopt: never expires
  std::map<std::string, Clock::time_point> leases;
  WaiterList waiters;
};

struct EventFlag {
  bool set = false;
  WaiterList waiters;
};

// One published dataset (upstream PublishExtension.datasets[name]).
struct Dataset {
  Value name;
  Value data;  // the client's Serialized, forwarded as is
  std::vector<protocol::Key> keys;
};

struct Coordination {
  explicit Coordination(ExtensionContext& s) : server(s) {}
  ExtensionContext& server;
  std::map<std::string, std::shared_ptr<Semaphore>> semaphores;
  std::map<std::string, std::shared_ptr<EventFlag>> events;
  std::vector<Dataset> datasets;  // in publish order
  // publish_flush_batched_send seen per uid; the RPC waits for it (stream/RPC order).
  std::map<std::string, std::shared_ptr<EventFlag>> flushes;
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
  return protocol::exception_reply("TypeError",
                                   std::string(op) + ": field 'name' is required");
}

// ---- semaphores ------------------------------------------------------------------

Value semaphore_register(Coordination& c, RpcRequest& req) {
  auto name = name_of(req);
  if (!name) return missing_name("semaphore_register");
  const Value* max = req.arg("max_leases");
  if (max == nullptr || !max->is_int()) {
    return protocol::exception_reply(
        "TypeError", "semaphore_register: field 'max_leases': expected int");
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
    return protocol::exception_reply(
        "ValueError", "Inconsistent max leases: " + std::to_string(max->as_int64()) +
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
    co_return protocol::exception_reply("RuntimeError",
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

std::shared_ptr<EventFlag> event_named(Coordination& c, const std::string& name) {
  auto& slot = c.events[name];
  if (!slot) slot = std::make_shared<EventFlag>();
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
  std::shared_ptr<EventFlag> ev = event_named(*c, *name);
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
  std::shared_ptr<EventFlag> ev = event_named(c, *name);
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

// ---- published datasets ----------------------------------------------------------

std::string uid_of(const Value* uid) {
  if (uid == nullptr) return {};
  if (uid->is_bin()) {
    const Bytes& b = uid->as_bin();
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  return uid->is_str() ? uid->as_str() : uid->to_debug_string();
}

std::shared_ptr<EventFlag> flush_named(Coordination& c, const std::string& uid) {
  auto& slot = c.flushes[uid];
  if (!slot) slot = std::make_shared<EventFlag>();
  return slot;
}

// Upstream _sync_batched_send: the client's stream must have caught up with its RPC
// (publish_flush_batched_send with the same uid), waiting in 30 s rounds while the
// client is connected.
asio::awaitable<bool> sync_batched_send(Coordination& c, const std::string& client,
                                        const std::string& uid) {
  std::shared_ptr<EventFlag> ev = flush_named(c, uid);
  while (!ev->set) {
    if (!co_await ev->waiters.wait(Clock::now() + std::chrono::seconds(30)) && !ev->set &&
        c.server.connections.find_client(client) == nullptr) {
      c.flushes.erase(uid);
      co_return false;
    }
  }
  c.flushes.erase(uid);
  co_return true;
}

std::string published_client(const Value& name) {
  return "published-" + (name.is_str() ? name.as_str() : name.to_debug_string());
}

using protocol::canonical_keys;

Result<std::vector<protocol::Key>> keys_of(const Value& v) {
  if (!v.is_array())
    return Status::TypeError("publish_put: field 'keys': expected lists");
  std::vector<protocol::Key> out;
  for (const Value& k : v.as_array()) {
    DASKCPP_ASSIGN_OR_RETURN(protocol::Key key, protocol::Key::from_value(k));
    out.push_back(std::move(key));
  }
  return out;
}

asio::awaitable<Value> publish_put(std::shared_ptr<Coordination> c, RpcRequest& req) {
  const Value* names = req.arg("names");
  const Value* keys = req.arg("keys");
  const Value* data = req.arg("data");
  if (names == nullptr || keys == nullptr || data == nullptr || !names->is_array() ||
      !keys->is_array() || !data->is_array() ||
      names->as_array().size() != keys->as_array().size() ||
      names->as_array().size() != data->as_array().size()) {
    co_return protocol::exception_reply(
        "ValueError",
        "publish_put: 'names', 'keys' and 'data' must be lists of one length");
  }
  const Value* override = req.arg("override");
  const bool replace = override != nullptr && override->is_bool() && override->as_bool();
  const std::string client = name_of(req, "client").value_or("");
  const std::string uid = uid_of(req.arg("uid"));
  // Copies: `req` is not ours once we suspend.
  std::vector<Value> name_list = names->as_array();
  std::vector<Value> key_lists = keys->as_array();
  std::vector<Value> payloads = data->as_array();
  if (!co_await sync_batched_send(*c, client, uid)) {
    co_return protocol::exception_reply("TimeoutError",
                                        "publish_put: client " + client + " is gone");
  }
  SchedulerService& svc = c->server.service;
  for (std::size_t i = 0; i < name_list.size(); ++i) {
    Result<std::vector<protocol::Key>> ks = keys_of(key_lists[i]);
    if (!ks.ok()) co_return protocol::status_reply(ks.status());
    auto it = std::find_if(c->datasets.begin(), c->datasets.end(),
                           [&](const Dataset& d) { return d.name == name_list[i]; });
    if (it != c->datasets.end()) {
      if (!replace) {
        co_return protocol::exception_reply(
            "KeyError", "Dataset " +
                            (name_list[i].is_str() ? name_list[i].as_str()
                                                   : name_list[i].to_debug_string()) +
                            " already exists");
      }
      svc.apply(
          handle(svc.state(),
                 ClientReleasesKeys{published_client(it->name), canonical_keys(it->keys)},
                 svc.make_stimulus("publish-put")),
          "publish_put");
      c->datasets.erase(it);
    }
    svc.apply(
        handle(svc.state(),
               ClientDesiresKeys{published_client(name_list[i]), canonical_keys(*ks)},
               svc.make_stimulus("publish-put")),
        "publish_put");
    c->datasets.push_back(Dataset{name_list[i], payloads[i], std::move(*ks)});
  }
  co_return Value();
}

asio::awaitable<Value> publish_delete(std::shared_ptr<Coordination> c, RpcRequest& req) {
  const Value* names = req.arg("names");
  if (names == nullptr || !names->is_array()) {
    co_return protocol::exception_reply("TypeError",
                                        "publish_delete: field 'names': expected a list");
  }
  std::vector<Value> name_list = names->as_array();
  const std::string client = name_of(req, "client").value_or("");
  if (!co_await sync_batched_send(*c, client, uid_of(req.arg("uid")))) {
    co_return protocol::exception_reply("TimeoutError",
                                        "publish_delete: client " + client + " is gone");
  }
  SchedulerService& svc = c->server.service;
  for (const Value& name : name_list) {
    auto it = std::find_if(c->datasets.begin(), c->datasets.end(),
                           [&](const Dataset& d) { return d.name == name; });
    if (it == c->datasets.end()) continue;
    svc.apply(
        handle(svc.state(),
               ClientReleasesKeys{published_client(it->name), canonical_keys(it->keys)},
               svc.make_stimulus("publish-delete")),
        "publish_delete");
    c->datasets.erase(it);
  }
  co_return Value();
}

Value publish_get(Coordination& c, RpcRequest& req) {
  const Value* names = req.arg("names");
  if (names == nullptr || !names->is_array()) {
    return protocol::exception_reply("TypeError",
                                     "publish_get: field 'names': expected a list");
  }
  protocol::Array out;
  for (const Value& name : names->as_array()) {
    auto it = std::find_if(c.datasets.begin(), c.datasets.end(),
                           [&](const Dataset& d) { return d.name == name; });
    if (it == c.datasets.end()) {
      out.emplace_back();
      continue;
    }
    protocol::Array keys;
    for (const protocol::Key& k : it->keys) keys.push_back(k.wire_value());
    out.push_back(
        protocol::make_map({{"data", it->data}, {"keys", Value(std::move(keys))}}));
  }
  return Value(std::move(out));
}

Value publish_list(Coordination& c) {
  // sorted(datasets, key=str)
  std::vector<std::pair<std::string, Value>> names;
  for (const Dataset& d : c.datasets) {
    names.emplace_back(d.name.is_str() ? d.name.as_str() : d.name.to_debug_string(),
                       d.name);
  }
  std::sort(names.begin(), names.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  protocol::Array out;
  for (auto& [s, v] : names) out.push_back(std::move(v));
  return Value(std::move(out));
}

}  // namespace

void register_coordination_handlers(ExtensionContext& server) {
  auto c = std::make_shared<Coordination>(server);
  protocol::RpcHandlers& h = server.rpc;
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
  h.add("publish_put", [c](RpcRequest& r) { return publish_put(c, r); });
  h.add("publish_delete", [c](RpcRequest& r) { return publish_delete(c, r); });
  h.add_sync("publish_get", [c](RpcRequest& r) { return publish_get(*c, r); });
  h.add_sync("publish_list", [c](RpcRequest&) { return publish_list(*c); });
  server.client_stream.add(
      "publish_flush_batched_send", [c](const protocol::StreamMessage& m) -> Status {
        // After this client's earlier stream ops: an update-graph still being
        // materialized must have created its tasks before publish_put desires them.
        const std::string uid = uid_of(m.get("uid"));
        const Value* client = m.get("client");
        auto flush = [c, uid] {
          std::shared_ptr<EventFlag> ev = flush_named(*c, uid);
          ev->set = true;
          ev->waiters.notify_all();
        };
        if (client != nullptr && client->is_str()) {
          c->server.service.run_in_client_order(client->as_str(), flush);
        } else {
          flush();
        }
        return Status::OK();
      });
}

}  // namespace daskcpp::scheduler
