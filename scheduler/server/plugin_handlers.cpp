#include "scheduler/server/plugin_handlers.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/comm/rpc_handlers.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "protocol/rpc/fan_out.hpp"
#include "protocol/rpc/when_all.hpp"
#include "scheduler/server/data_handlers.hpp"
#include "scheduler/server/scheduler_server.hpp"
#include "scheduler/server/scheduler_service.hpp"
#include "scheduler/server/worker_rpc.hpp"

namespace daskcpp::scheduler {

using protocol::Map;
using protocol::RpcRequest;
using protocol::Value;

namespace {

Value* find_entry(Map& m, const std::string& name) {
  for (auto& [k, v] : m) {
    if (k.is_str() && k.as_str() == name) return &v;
  }
  return nullptr;
}

// Upstream dict assignment: a known name keeps its place, a new one goes last.
void store(Map& m, const std::string& name, Value plugin) {
  if (Value* v = find_entry(m, name)) {
    *v = std::move(plugin);
  } else {
    m.emplace_back(Value(name), std::move(plugin));
  }
}

bool erase(Map& m, const std::string& name) {
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (it->first.is_str() && it->first.as_str() == name) {
      m.erase(it);
      return true;
    }
  }
  return false;
}

// Scheduler.broadcast(msg=...) to every worker (or its nanny), on_error="raise":
// the reply maps worker address -> reply; a worker whose handler raised has its
// uncaught-error forwarded to the caller, a comm failure becomes OSError.
asio::awaitable<Value> broadcast(SchedulerServer& server, Map msg, bool to_nanny) {
  SchedulerService& svc = server.service();
  const SchedulerState& s = svc.state();
  std::vector<std::string> keys;
  std::vector<std::string> addresses;
  for (WorkerId id : s.workers_by_address()) {
    const std::string& addr = s.worker(id).address;
    if (!to_nanny) {
      keys.push_back(addr);
      addresses.push_back(addr);
      continue;
    }
    const WorkerConnection* wc = svc.find_worker(addr);
    if (wc != nullptr && wc->nanny) {
      keys.push_back(addr);
      addresses.push_back(*wc->nanny);
    }
  }
  std::vector<Result<Value>> replies = co_await protocol::call_all(
      svc.connection_pool(), addresses, protocol::broadcast_request(msg));
  Map out;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const Status& error = replies[i].status();
    if (!error.ok()) {
      spdlog::error("broadcast to {} failed: {}", addresses[i], error.to_string());
      co_return protocol::exception_reply("OSError", error.to_string());
    }
    const Value& r = replies[i].value();
    if (protocol::is_uncaught_error(r)) {
      spdlog::error("broadcast to {} failed: remote error", addresses[i]);
      co_return r;
    }
    out.emplace_back(Value(keys[i]), r);
  }
  co_return Value(std::move(out));
}

struct PluginKind {
  std::string_view label;      // "Worker" / "Nanny", for logs and errors
  std::string_view add_op;     // plugin-add / plugin_add
  std::string_view remove_op;  // plugin-remove / plugin_remove
  bool to_nanny;
};

constexpr PluginKind kWorkerKind{"Worker", "plugin-add", "plugin-remove", false};
constexpr PluginKind kNannyKind{"Nanny", "plugin_add", "plugin_remove", true};

Map& plugins_of(SchedulerServer& server, const PluginKind& kind) {
  return kind.to_nanny ? server.nanny_plugins() : server.worker_plugins();
}

std::string op_name(const PluginKind& kind, bool add) {
  std::string lower(kind.label == "Worker" ? "worker" : "nanny");
  return (add ? "register_" : "unregister_") + lower + "_plugin";
}

asio::awaitable<Value> register_plugin(SchedulerServer& server, const PluginKind& kind,
                                       RpcRequest& req) {
  const std::string op = op_name(kind, true);
  const Value* plugin = req.arg("plugin");
  if (plugin == nullptr || !(plugin->is_bin() || plugin->is_payload())) {
    co_return protocol::exception_reply("TypeError",
                                        op + ": field 'plugin' must be bytes");
  }
  const Value* name = req.arg("name");
  if (name == nullptr || !name->is_str()) {
    co_return protocol::exception_reply("TypeError", op + ": field 'name' must be a str");
  }
  const Value* idem = req.arg("idempotent");
  const bool idempotent = idem != nullptr && idem->is_bool() && idem->as_bool();
  spdlog::info("Registering {} plugin {}", kind.label, name->as_str());
  Map& plugins = plugins_of(server, kind);
  if (idempotent && find_entry(plugins, name->as_str()) != nullptr) {
    co_return Value(Map{});
  }
  store(plugins, name->as_str(), *plugin);
  Map msg;
  msg.emplace_back(Value("op"), Value(kind.add_op));
  msg.emplace_back(Value("plugin"), *plugin);
  msg.emplace_back(Value("name"), *name);
  co_return co_await broadcast(server, std::move(msg), kind.to_nanny);
}

asio::awaitable<Value> unregister_plugin(SchedulerServer& server, const PluginKind& kind,
                                         RpcRequest& req) {
  const Value* name = req.arg("name");
  if (name == nullptr || !name->is_str()) {
    co_return protocol::exception_reply(
        "TypeError", op_name(kind, false) + ": field 'name' must be a str");
  }
  if (!erase(plugins_of(server, kind), name->as_str())) {
    std::string lower(kind.label == "Worker" ? "worker" : "nanny");
    co_return protocol::exception_reply(
        "ValueError", "The " + lower + " plugin " + name->as_str() + " does not exist");
  }
  Map msg;
  msg.emplace_back(Value("op"), Value(kind.remove_op));
  msg.emplace_back(Value("name"), *name);
  co_return co_await broadcast(server, std::move(msg), kind.to_nanny);
}

}  // namespace

void register_plugin_handlers(SchedulerServer& server) {
  auto& h = server.rpc_handlers();
  for (const PluginKind* kind : {&kWorkerKind, &kNannyKind}) {
    h.add(op_name(*kind, true), [&server, kind](RpcRequest& req) {
      return register_plugin(server, *kind, req);
    });
    h.add(op_name(*kind, false), [&server, kind](RpcRequest& req) {
      return unregister_plugin(server, *kind, req);
    });
  }
}

}  // namespace daskcpp::scheduler
