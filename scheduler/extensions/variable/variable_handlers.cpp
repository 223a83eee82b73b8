#include "scheduler/extensions/variable/variable_handlers.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "protocol/messages/key.hpp"
#include "protocol/messages/timedelta.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "scheduler/extensions/shared/shared_futures.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/scheduler_service.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {

using protocol::RpcRequest;
using protocol::Value;

namespace {

struct Variables {
  explicit Variables(ExtensionContext& s) : server(s), rng(std::random_device{}()) {}
  ExtensionContext& server;
  std::mt19937_64 rng;
  std::map<std::string, HeldValue> variables;
  WaiterList started;  // a new variable appeared
  // Tokens handed out by variable_get and not confirmed yet, per (key, name).
  std::map<std::pair<std::string, std::string>, std::set<std::string>> waiting;
  std::map<std::string, std::shared_ptr<WaiterList>> confirmed;  // per name

  SchedulerService& svc() { return server.service; }

  std::shared_ptr<WaiterList> confirmed_list(const std::string& name) {
    auto& slot = confirmed[name];
    if (!slot) slot = std::make_shared<WaiterList>();
    return slot;
  }

  std::string token() {
    static const char* kHex = "0123456789abcdef";
    std::string out(32, '0');
    for (char& c : out) c = kHex[rng() & 0xf];
    return out;
  }
};

std::string holder(const std::string& name) { return "variable-" + name; }

// VariableExtension.release: once no token for (key, name) is outstanding.
asio::awaitable<void> release(std::shared_ptr<Variables> v, std::string canonical,
                              std::string name) {
  const auto slot = std::make_pair(canonical, name);
  while (true) {
    auto it = v->waiting.find(slot);
    if (it == v->waiting.end() || it->second.empty()) break;
    co_await v->confirmed_list(name)->wait(std::nullopt);
  }
  SchedulerService& svc = v->svc();
  svc.apply(handle(svc.state(), ClientReleasesKeys{holder(name), {canonical}},
                   svc.make_stimulus("variable-release")),
            "variable release");
  v->waiting.erase(slot);
}

asio::awaitable<Value> variable_set(std::shared_ptr<Variables> v, RpcRequest& req) {
  const Value args = req.args;  // `req` is not ours once we suspend
  NamedWait w;
  if (auto reply = read_name_and_timeout(args, "variable_set", w))
    co_return std::move(*reply);
  auto read = read_held_value(v->svc(), args, "variable_set", deadline_after(w.timeout));
  auto read_result = co_await std::move(read);
  if (auto* reply = std::get_if<Value>(&read_result)) co_return std::move(*reply);
  HeldValue record = std::move(std::get<HeldValue>(read_result));
  if (record.is_future) {
    SchedulerService& svc = v->svc();
    svc.apply(handle(svc.state(), ClientDesiresKeys{holder(w.name), {record.canonical}},
                     svc.make_stimulus("variable-set")),
              "variable_set");
  }
  auto old = v->variables.find(w.name);
  if (old != v->variables.end() && old->second.is_future &&
      (!record.is_future || old->second.canonical != record.canonical)) {
    asio::co_spawn(co_await asio::this_coro::executor,
                   release(v, old->second.canonical, w.name), asio::detached);
  }
  const bool is_new = old == v->variables.end();
  v->variables[w.name] = std::move(record);
  if (is_new) v->started.notify_all();
  co_return Value();
}

asio::awaitable<Value> variable_get(std::shared_ptr<Variables> v, RpcRequest& req) {
  const Value args = req.args;
  NamedWait w;
  if (auto reply = read_name_and_timeout(args, "variable_get", w))
    co_return std::move(*reply);
  const auto deadline = deadline_after(w.timeout);
  while (!v->variables.contains(w.name)) {
    if (!co_await v->started.wait(deadline) && !v->variables.contains(w.name)) {
      co_return protocol::exception_reply("TimeoutError", "");
    }
  }
  const HeldValue& record = v->variables.at(w.name);
  if (!record.is_future) {
    co_return protocol::make_map({{"type", Value("msgpack")}, {"value", record.value}});
  }
  std::string token = v->token();
  v->waiting[{record.canonical, w.name}].insert(token);
  protocol::Map extra;
  extra.emplace_back(Value("token"), Value(token));
  co_return future_record(v->svc(), record.value, record.canonical, std::move(extra));
}

// variable-future-received-confirm: the client now desires the key itself.
Status future_received_confirm(Variables& v, const protocol::StreamMessage& m) {
  const Value* client = m.get("client");
  const Value* key = m.get("key");
  auto name = name_field(m.msg);
  const Value* token = m.get("token");
  if (client == nullptr || !client->is_str() || key == nullptr || !name ||
      token == nullptr || !token->is_str()) {
    spdlog::warn(
        "variable-future-received-confirm from {}: missing client, key, name or "
        "token",
        m.peer);
    return Status::OK();
  }
  Result<protocol::Key> k = protocol::Key::from_value(*key);
  if (!k.ok()) {
    spdlog::warn("variable-future-received-confirm from {}: {}", m.peer,
                 k.status().message());
    return Status::OK();
  }
  SchedulerService& svc = v.svc();
  svc.apply(handle(svc.state(), ClientDesiresKeys{client->as_str(), {k->canonical()}},
                   svc.make_stimulus("variable-confirm")),
            "variable-future-received-confirm");
  auto it = v.waiting.find({k->canonical(), *name});
  if (it != v.waiting.end()) {
    it->second.erase(token->as_str());
    if (it->second.empty()) v.confirmed_list(*name)->notify_all();
  }
  return Status::OK();
}

asio::awaitable<void> variable_delete(std::shared_ptr<Variables> v, std::string name) {
  auto it = v->variables.find(name);
  if (it != v->variables.end() && it->second.is_future) {
    co_await release(v, it->second.canonical, name);
  }
  v->confirmed.erase(name);
  v->variables.erase(name);
  SchedulerService& svc = v->svc();
  svc.apply(handle(svc.state(), RemoveClient{holder(name)},
                   svc.make_stimulus("variable-delete")),
            "variable_delete");
}

}  // namespace

void register_variable_handlers(ExtensionContext& server) {
  auto v = std::make_shared<Variables>(server);
  protocol::RpcHandlers& h = server.rpc;
  h.add("variable_set", [v](RpcRequest& r) { return variable_set(v, r); });
  h.add("variable_get", [v](RpcRequest& r) { return variable_get(v, r); });
  auto& stream = server.client_stream;
  stream.add("variable-future-received-confirm", [v](const protocol::StreamMessage& m) {
    return future_received_confirm(*v, m);
  });
  stream.add("variable_delete", [v](const protocol::StreamMessage& m) -> Status {
    auto name = name_field(m.msg);
    if (!name) {
      spdlog::warn("variable_delete from {}: field 'name' is required", m.peer);
      return Status::OK();
    }
    asio::co_spawn(v->server.io, variable_delete(v, *name), asio::detached);
    return Status::OK();
  });
}

}  // namespace daskcpp::scheduler
