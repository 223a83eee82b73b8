#include "scheduler/extensions/admin/admin_handlers.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "protocol/messages/key.hpp"
#include "protocol/messages/python_exception.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "protocol/rpc/fan_out.hpp"
#include "protocol/rpc/when_all.hpp"
#include "scheduler/service/broadcast.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/scheduler_service.hpp"
#include "scheduler/service/worker_rpc.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {

using protocol::Array;
using protocol::Map;
using protocol::RpcRequest;
using protocol::Value;

namespace {

Value type_error(std::string_view op, std::string_view field, std::string_view what) {
  return protocol::exception_reply(
      "TypeError",
      std::string(op) + ": field '" + std::string(field) + "': " + std::string(what));
}

// ---- broadcast -------------------------------------------------------------------

asio::awaitable<Value> handle_broadcast(ExtensionContext& ctx, RpcRequest& req) {
  SchedulerService& svc = ctx.service;
  const SchedulerState& s = svc.state();
  const Value* msg = req.arg("msg");
  if (msg == nullptr || !msg->is_map()) {
    co_return type_error("broadcast", "msg", "expected a dict");
  }
  std::string on_error = "raise";
  if (const Value* oe = req.arg("on_error"); oe != nullptr && oe->is_str()) {
    on_error = oe->as_str();
  }
  if (on_error != "raise" && on_error != "return" && on_error != "return_pickle" &&
      on_error != "ignore") {
    co_return protocol::exception_reply(
        "ValueError",
        "on_error must be 'raise', 'return', 'return_pickle', or "
        "'ignore'; got " +
            protocol::py_repr(on_error));
  }
  std::vector<std::string> workers;
  const Value* w = req.arg("workers");
  const Value* hosts = req.arg("hosts");
  if (w != nullptr && w->is_array()) {
    for (const Value& a : w->as_array()) {
      if (a.is_str()) workers.push_back(a.as_str());
    }
  } else if (hosts == nullptr || hosts->is_nil()) {
    for (WorkerId id : s.workers_by_address()) workers.push_back(s.worker(id).address);
  }
  if (hosts != nullptr && hosts->is_array()) {
    for (const Value& h : hosts->as_array()) {
      if (!h.is_str()) continue;
      if (const IdSet<WorkerId>* on = s.workers_on_host(h.as_str())) {
        for (WorkerId id : *on) workers.push_back(s.worker(id).address);
      }
    }
  }
  BroadcastOptions options;
  const Value* nanny = req.arg("nanny");
  options.to_nanny = nanny != nullptr && nanny->is_bool() && nanny->as_bool();
  options.on_error = on_error;
  co_return co_await broadcast(svc, std::move(workers), msg->as_map(),
                               std::move(options));
}

// ---- restart ---------------------------------------------------------------------

struct RestartOptions {
  double timeout = 30;
  std::string timeout_text = "30";  // as Python formats the number it was given
  bool wait_for_workers = true;
  bool raise = true;  // on_error="raise" (else "return")
  std::string stimulus_id;
};

RestartOptions restart_options(const RpcRequest& req, std::string default_stimulus) {
  RestartOptions o;
  if (const Value* t = req.arg("timeout"); t != nullptr && t->is_number()) {
    o.timeout = t->as_double();
    if (t->is_int()) {
      o.timeout_text = std::to_string(t->as_int64());
    } else {
      // Shortest round-trip digits, as Python's repr; a whole float keeps ".0".
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, o.timeout);
      o.timeout_text.assign(buf, ec == std::errc() ? end : buf);
      if (o.timeout_text.find_first_of(".e") == std::string::npos) o.timeout_text += ".0";
    }
  }
  if (const Value* wf = req.arg("wait_for_workers"); wf != nullptr && wf->is_bool()) {
    o.wait_for_workers = wf->as_bool();
  }
  if (const Value* oe = req.arg("on_error"); oe != nullptr && oe->is_str()) {
    o.raise = oe->as_str() != "return";
  }
  o.stimulus_id = std::move(default_stimulus);
  if (const Value* sid = req.arg("stimulus_id"); sid != nullptr && sid->is_str()) {
    o.stimulus_id = sid->as_str();
  }
  return o;
}

// Python's repr of a set of str, for upstream's messages.
std::string py_set_repr(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += "'" + items[i] + "'";
  }
  return out + "}";
}

// Scheduler.restart_workers (6472-6657): nanny workers are killed (their nanny
// starts a new process), the others are removed and closed. `subset` nullopt means
// every worker; unknown addresses in it are ignored. Answers {address: "OK" |
// "removed" | "timed out"}, or upstream's TimeoutError when `o.raise`.
asio::awaitable<Value> restart_workers(ExtensionContext& ctx,
                                       std::optional<std::vector<std::string>> subset,
                                       RestartOptions o) {
  SchedulerService& svc = ctx.service;
  SchedulerState& s = svc.state();
  const std::size_t n_workers = s.worker_count();
  std::vector<std::pair<std::string, WorkerId>> old_workers;
  std::vector<std::pair<std::string, std::string>> nannies;  // (worker, nanny)
  std::vector<std::string> no_nanny;
  for (WorkerId id : s.workers_by_address()) {
    const std::string& addr = s.worker(id).address;
    if (subset && std::find(subset->begin(), subset->end(), addr) == subset->end()) {
      continue;
    }
    old_workers.emplace_back(addr, id);
    WorkerConnection* wc = svc.find_worker(addr);
    if (wc != nullptr && wc->nanny) {
      nannies.emplace_back(addr, *wc->nanny);
    } else {
      no_nanny.push_back(addr);
    }
  }
  Map out;
  for (const std::string& addr : no_nanny) {
    svc.remove_worker(addr, /*expected=*/false, /*close=*/true, o.stimulus_id);
    out.emplace_back(Value(addr), Value("removed"));
  }
  std::vector<asio::awaitable<Result<Value>>> kills;
  for (const auto& [worker, nanny] : nannies) {
    kills.push_back(
        protocol::call_peer(svc.connection_pool(), nanny,
                            protocol::make_map({{"op", Value("kill")},
                                                {"reason", Value(o.stimulus_id)},
                                                {"reply", Value(true)}})));
  }
  auto results = co_await protocol::when_all(std::move(kills));
  std::vector<std::string> bad_nannies;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const std::string& worker = nannies[i].first;
    if (!results[i] || !results[i]->ok()) {
      spdlog::error("restart: kill via nanny {} failed", nannies[i].second);
      bad_nannies.push_back(worker);
      out.emplace_back(Value(worker), Value("timed out"));
    } else {
      out.emplace_back(Value(worker), Value("OK"));
    }
  }
  if (!bad_nannies.empty()) {
    for (const std::string& addr : bad_nannies) {
      svc.remove_worker(addr, /*expected=*/false, /*close=*/true, o.stimulus_id);
    }
    if (o.raise) {
      co_return protocol::exception_reply(
          "TimeoutError", std::to_string(bad_nannies.size()) + "/" +
                              std::to_string(nannies.size()) +
                              " nanny worker(s) did not shut down within " +
                              o.timeout_text + "s: " + py_set_repr(bad_nannies));
    }
  }
  Array restarted;
  for (const auto& [addr, id] : old_workers) restarted.push_back(Value(addr));
  ctx.log_event({"all"}, protocol::make_map({{"action", Value("restart-workers")},
                                             {"workers", Value(std::move(restarted))},
                                             {"client", Value()}}));
  if (!o.wait_for_workers) co_return Value(std::move(out));

  // Back when as many workers as before are registered and none of the old ones is.
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(o.timeout));
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  while (true) {
    bool old_gone = true;
    for (const auto& [addr, id] : old_workers) {
      auto now_id = s.find_worker(addr);
      if (now_id && *now_id == id) old_gone = false;
    }
    if (old_gone && s.worker_count() >= n_workers) co_return Value(std::move(out));
    if (std::chrono::steady_clock::now() >= deadline) break;
    asio::steady_timer wait(ex, std::chrono::milliseconds(200));
    protocol::ErrorCode ec;
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  std::string text = "Waited for " + std::to_string(old_workers.size()) +
                     " worker(s) to reconnect after restarting but, after " +
                     o.timeout_text + "s, " +
                     std::to_string(n_workers - std::min(n_workers, s.worker_count())) +
                     " have not returned. Consider a longer timeout, or "
                     "`wait_for_workers=False`.";
  if (!no_nanny.empty()) {
    text += " The " + std::to_string(no_nanny.size()) +
            " worker(s) not using Nannies were just shut down instead of restarted "
            "(restart is only possible with Nannies). If your deployment system does "
            "not automatically re-launch terminated processes, then those workers will "
            "never come back, and `Client.restart` will always time out. Do not use "
            "`Client.restart` in that case.";
  }
  if (o.raise) co_return protocol::exception_reply("TimeoutError", text);
  spdlog::error("{} (stimulus_id={})", text, o.stimulus_id);
  // A nanny whose new worker has not registered yet timed out.
  std::vector<std::string> new_nannies;
  for (WorkerId id : s.workers_by_address()) {
    WorkerConnection* wc = svc.find_worker(s.worker(id).address);
    if (wc != nullptr && wc->nanny) new_nannies.push_back(*wc->nanny);
  }
  for (const auto& [worker, nanny] : nannies) {
    if (std::find(new_nannies.begin(), new_nannies.end(), nanny) != new_nannies.end())
      continue;
    for (auto& [k, v] : out) {
      if (k.as_str() == worker) v = Value("timed out");
    }
  }
  co_return Value(std::move(out));
}

// Scheduler.restart: every client lets go of everything, then all workers restart.
asio::awaitable<Value> handle_restart(ExtensionContext& ctx, RpcRequest& req) {
  SchedulerService& svc = ctx.service;
  RestartOptions o = restart_options(req, "restart");
  o.raise = true;
  spdlog::info("Restarting workers and releasing all keys (stimulus_id={})",
               o.stimulus_id);
  // With no wanters left all tasks are forgotten.
  SchedulerState& s = svc.state();
  for (ClientId c : s.alive_clients()) {
    std::vector<std::string> keys;
    for (TaskId t : s.client(c).wants_what) keys.push_back(s.key(t));
    svc.apply(handle(s, ClientReleasesKeys{s.client(c).client_key, keys},
                     svc.make_stimulus(o.stimulus_id)),
              "restart");
  }
  for (auto& [id, client] : ctx.connections.clients()) {
    if (client.stream != nullptr && !client.stream->closed()) {
      client.stream->send(protocol::make_map({{"op", Value("restart")}}));
    }
  }
  if (SchedulerHooks* hooks = svc.hooks()) hooks->restart();
  Value result = co_await restart_workers(ctx, std::nullopt, std::move(o));
  if (result.is_map() && result.find("status") != nullptr) co_return result;  // error
  co_return Value();
}

// Scheduler.restart_workers as an op (Client.restart_workers): `workers` is a
// list of addresses (the client maps names to addresses first).
asio::awaitable<Value> handle_restart_workers(ExtensionContext& ctx, RpcRequest& req) {
  std::optional<std::vector<std::string>> subset;
  if (const Value* w = req.arg("workers"); w != nullptr && w->is_array()) {
    subset.emplace();
    for (const Value& a : w->as_array()) {
      if (a.is_str()) subset->push_back(a.as_str());
    }
  }
  RestartOptions o = restart_options(req, "restart-workers");
  co_return co_await restart_workers(ctx, std::move(subset), std::move(o));
}

// Scheduler.get_story: the transitions of the given keys or stimulus ids, as
// (key, start, finish, recommendations, stimulus_id, timestamp). Each argument is
// tried as a key (its canonical bytes) and, if a str, as a stimulus id. daskcpp's
// log keeps no recommendations: they are {}.
Value handle_get_story(ExtensionContext& server, RpcRequest& req) {
  std::vector<std::string> wanted;
  if (const Value* v = req.arg("keys_or_stimuli"); v != nullptr && v->is_array()) {
    for (const Value& k : v->as_array()) {
      if (Result<protocol::Key> key = protocol::Key::from_value(k); key.ok()) {
        wanted.push_back(key->canonical());
      }
      if (k.is_str()) wanted.push_back(k.as_str());
    }
  }
  Array out;
  for (const TransitionLogEntry& e : server.state().story(wanted)) {
    out.push_back(
        Value(Array{protocol::Key::from_wire(e.key).wire_value(),
                    Value(task_status_name(e.start)), Value(task_status_name(e.finish)),
                    Value(protocol::Map{}), Value(e.stimulus_id), Value(e.now)}));
  }
  return Value(std::move(out));
}

}  // namespace

void register_admin_handlers(ExtensionContext& server) {
  protocol::RpcHandlers& h = server.rpc;
  ExtensionContext* ctx = &server;
  h.add("broadcast", [ctx](RpcRequest& req) { return handle_broadcast(*ctx, req); });
  h.add("restart", [ctx](RpcRequest& req) { return handle_restart(*ctx, req); });
  h.add("restart_workers",
        [ctx](RpcRequest& req) { return handle_restart_workers(*ctx, req); });
  h.add_sync("get_story", [ctx](RpcRequest& req) { return handle_get_story(*ctx, req); });
}

}  // namespace daskcpp::scheduler
