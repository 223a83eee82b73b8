#include "scheduler/extensions/plugins/plugin_handlers.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/comm/rpc_handlers.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "protocol/rpc/fan_out.hpp"
#include "protocol/rpc/when_all.hpp"
#include "scheduler/service/broadcast.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/scheduler_service.hpp"
#include "scheduler/service/worker_rpc.hpp"

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
asio::awaitable<Value> broadcast_to_all(ExtensionContext& server, Map msg,
                                        bool to_nanny) {
  const SchedulerState& s = server.service.state();
  std::vector<std::string> workers;
  for (WorkerId id : s.workers_by_address()) workers.push_back(s.worker(id).address);
  BroadcastOptions options;
  options.to_nanny = to_nanny;
  options.unknown_worker_is_error = false;
  co_return co_await broadcast(server.service, std::move(workers), std::move(msg),
                               std::move(options));
}

struct PluginKind {
  std::string_view label;      // "Worker" / "Nanny", for logs and errors
  std::string_view add_op;     // plugin-add / plugin_add
  std::string_view remove_op;  // plugin-remove / plugin_remove
  bool to_nanny;
};

constexpr PluginKind kWorkerKind{"Worker", "plugin-add", "plugin-remove", false};
constexpr PluginKind kNannyKind{"Nanny", "plugin_add", "plugin_remove", true};

Map& plugins_of(PluginStore& plugin_store, const PluginKind& kind) {
  return kind.to_nanny ? plugin_store.nanny : plugin_store.worker;
}

std::string op_name(const PluginKind& kind, bool add) {
  std::string lower(kind.label == "Worker" ? "worker" : "nanny");
  return (add ? "register_" : "unregister_") + lower + "_plugin";
}

asio::awaitable<Value> register_plugin(ExtensionContext& server,
                                       PluginStore& plugin_store, const PluginKind& kind,
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
  Map& plugins = plugins_of(plugin_store, kind);
  if (idempotent && find_entry(plugins, name->as_str()) != nullptr) {
    co_return Value(Map{});
  }
  store(plugins, name->as_str(), *plugin);
  Map msg;
  msg.emplace_back(Value("op"), Value(kind.add_op));
  msg.emplace_back(Value("plugin"), *plugin);
  msg.emplace_back(Value("name"), *name);
  co_return co_await broadcast_to_all(server, std::move(msg), kind.to_nanny);
}

asio::awaitable<Value> unregister_plugin(ExtensionContext& server,
                                         PluginStore& plugin_store,
                                         const PluginKind& kind, RpcRequest& req) {
  const Value* name = req.arg("name");
  if (name == nullptr || !name->is_str()) {
    co_return protocol::exception_reply(
        "TypeError", op_name(kind, false) + ": field 'name' must be a str");
  }
  if (!erase(plugins_of(plugin_store, kind), name->as_str())) {
    std::string lower(kind.label == "Worker" ? "worker" : "nanny");
    co_return protocol::exception_reply(
        "ValueError", "The " + lower + " plugin " + name->as_str() + " does not exist");
  }
  Map msg;
  msg.emplace_back(Value("op"), Value(kind.remove_op));
  msg.emplace_back(Value("name"), *name);
  co_return co_await broadcast_to_all(server, std::move(msg), kind.to_nanny);
}

}  // namespace

void register_plugin_handlers(ExtensionContext& server, PluginStore& plugin_store) {
  auto& h = server.rpc;
  for (const PluginKind* kind : {&kWorkerKind, &kNannyKind}) {
    h.add(op_name(*kind, true), [&server, &plugin_store, kind](RpcRequest& req) {
      return register_plugin(server, plugin_store, *kind, req);
    });
    h.add(op_name(*kind, false), [&server, &plugin_store, kind](RpcRequest& req) {
      return unregister_plugin(server, plugin_store, *kind, req);
    });
  }
}

}  // namespace daskcpp::scheduler
