#include "scheduler/extensions/admin/admin_handlers.hpp"

#include <spdlog/spdlog.h>
#include <sys/utsname.h>

#include <chrono>
#include <cstdlib>
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

// ---- versions -------------------------------------------------------

Value handle_versions(RpcRequest&) {
  struct utsname u {};
  uname(&u);
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return Value(v != nullptr ? v : "None");
  };
  Value host = protocol::make_map({{"python", Value()},
                                   {"python-bits", Value(64)},
                                   {"OS", Value(u.sysname)},
                                   {"OS-release", Value(u.release)},
                                   {"machine", Value(u.machine)},
                                   {"processor", Value("")},
                                   {"byteorder", Value("little")},
                                   {"LC_ALL", env("LC_ALL")},
                                   {"LANG", env("LANG")}});
  // The scheduler runs no Python packages itself: every one is reported as absent,
  // which is what stock reports for a package it cannot import.
  Map packages;
  for (const char* p : {"python", "dask", "distributed", "msgpack", "cloudpickle",
                        "tornado", "toolz", "numpy", "pandas", "lz4"}) {
    packages.emplace_back(Value(p), Value());
  }
  return protocol::make_map({{"host", host}, {"packages", Value(std::move(packages))}});
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

asio::awaitable<Value> handle_restart(ExtensionContext& ctx, RpcRequest& req) {
  SchedulerService& svc = ctx.service;
  double timeout = 30;
  if (const Value* t = req.arg("timeout"); t != nullptr && t->is_number()) {
    timeout = t->as_double();
  }
  bool wait_for_workers = true;
  if (const Value* wf = req.arg("wait_for_workers"); wf != nullptr && wf->is_bool()) {
    wait_for_workers = wf->as_bool();
  }
  std::string stimulus_prefix = "restart";
  if (const Value* sid = req.arg("stimulus_id"); sid != nullptr && sid->is_str()) {
    stimulus_prefix = sid->as_str();
  }
  spdlog::info("Restarting workers and releasing all keys (stimulus_id={})",
               stimulus_prefix);
  // Every client lets go of everything; with no wanters left all tasks are forgotten.
  SchedulerState& s = svc.state();
  for (ClientId c : s.alive_clients()) {
    std::vector<std::string> keys;
    for (TaskId t : s.client(c).wants_what) keys.push_back(s.key(t));
    svc.apply(handle(s, ClientReleasesKeys{s.client(c).client_key, keys},
                     svc.make_stimulus(stimulus_prefix)),
              "restart");
  }
  for (auto& [id, client] : ctx.connections.clients()) {
    if (client.stream != nullptr && !client.stream->closed()) {
      client.stream->send(protocol::make_map({{"op", Value("restart")}}));
    }
  }
  if (SchedulerHooks* hooks = svc.hooks()) hooks->restart();

  // Nanny workers are killed (their nanny starts a new process); the others are
  // removed and closed, as upstream restart_workers.
  const std::size_t n_workers = s.worker_count();
  std::vector<std::pair<std::string, WorkerId>> old_workers;
  std::vector<std::string> nannies;
  std::vector<std::string> no_nanny;
  for (WorkerId id : s.workers_by_address()) {
    const std::string& addr = s.worker(id).address;
    old_workers.emplace_back(addr, id);
    WorkerConnection* wc = svc.find_worker(addr);
    if (wc != nullptr && wc->nanny) {
      nannies.push_back(*wc->nanny);
    } else {
      no_nanny.push_back(addr);
    }
  }
  for (const std::string& addr : no_nanny) {
    svc.remove_worker(addr, /*expected=*/false, /*close=*/true, stimulus_prefix);
  }
  std::vector<asio::awaitable<Result<Value>>> kills;
  for (const std::string& nanny : nannies) {
    kills.push_back(
        protocol::call_peer(svc.connection_pool(), nanny,
                            protocol::make_map({{"op", Value("kill")},
                                                {"reason", Value(stimulus_prefix)},
                                                {"reply", Value(true)}})));
  }
  auto results = co_await protocol::when_all(std::move(kills));
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i] || !results[i]->ok()) {
      spdlog::error("restart: kill via nanny {} failed", nannies[i]);
    }
  }
  ctx.log_event({"all"}, protocol::make_map({{"action", Value("restart-workers")}}));
  if (!wait_for_workers) co_return Value();

  // Back when as many workers as before are registered and none of the old ones is.
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(timeout));
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  while (true) {
    bool old_gone = true;
    for (const auto& [addr, id] : old_workers) {
      auto now_id = s.find_worker(addr);
      if (now_id && *now_id == id) old_gone = false;
    }
    if (old_gone && s.worker_count() >= n_workers) co_return Value();
    if (std::chrono::steady_clock::now() >= deadline) break;
    asio::steady_timer wait(ex, std::chrono::milliseconds(200));
    protocol::ErrorCode ec;
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  std::string text = "Waited for " + std::to_string(old_workers.size()) +
                     " worker(s) to reconnect after restarting but, after " +
                     std::to_string(static_cast<long long>(timeout)) + "s, " +
                     std::to_string(n_workers - std::min(n_workers, s.worker_count())) +
                     " have not returned. Consider a longer timeout, or "
                     "`wait_for_workers=False`.";
  co_return protocol::exception_reply("TimeoutError", text);
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
  h.add_sync("versions", [](RpcRequest& req) { return handle_versions(req); });
  h.add("broadcast", [ctx](RpcRequest& req) { return handle_broadcast(*ctx, req); });
  h.add("restart", [ctx](RpcRequest& req) { return handle_restart(*ctx, req); });
  h.add_sync("get_story", [ctx](RpcRequest& req) { return handle_get_story(*ctx, req); });
}

}  // namespace daskcpp::scheduler
