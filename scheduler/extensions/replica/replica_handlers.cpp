#include "scheduler/extensions/replica/replica_handlers.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "protocol/messages/key.hpp"
#include "protocol/rpc/clock.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "protocol/rpc/fan_out.hpp"
#include "protocol/rpc/when_all.hpp"
#include "scheduler/placement/replica_plan.hpp"
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

// The replica extension's own state: the RNG of its random holder choices.
struct ReplicaContext {
  explicit ReplicaContext(ExtensionContext& s) : server(s), rng(std::random_device{}()) {}
  ExtensionContext& server;
  std::mt19937_64 rng;
};

Value key_of(const SchedulerState& s, TaskId t) {
  return SchedulerService::key_value(s.key(t));
}

// One request to a worker during replication; a comm failure is logged (as
// upstream's "Communication with worker ... failed during replication") and nullopt.
asio::awaitable<std::optional<Value>> call_for_replication(SchedulerService& svc,
                                                           const std::string& address,
                                                           Value request) {
  Result<Value> reply =
      co_await protocol::call_peer(svc.connection_pool(), address, std::move(request));
  if (!reply.ok()) {
    spdlog::warn("Communication with worker {} failed during replication: {}", address,
                 reply.status().to_string());
    co_return std::nullopt;
  }
  co_return std::move(reply).value();
}

// Scheduler.gather_on_worker: the recipient fetches `who_has` from its peers. Returns
// the canonical keys that failed (all of them when the worker cannot be reached).
asio::awaitable<std::set<std::string>> gather_on_worker(
    SchedulerService& svc, std::string address,
    std::vector<std::pair<TaskId, std::vector<std::string>>> who_has) {
  SchedulerState& s = svc.state();
  std::set<std::string> asked;
  Map request_who_has;
  for (const auto& [t, holders] : who_has) {
    asked.insert(s.key(t));
    Array addrs;
    for (const std::string& h : holders) addrs.push_back(Value(h));
    request_who_has.emplace_back(key_of(s, t), Value(std::move(addrs)));
  }
  Value request = protocol::make_map({{"op", Value("gather")},
                                      {"who_has", Value(std::move(request_who_has))},
                                      {"reply", Value(true)}});
  std::optional<Value> reply = co_await call_for_replication(svc, address, request);
  if (!reply) co_return asked;
  if (!svc.state().find_worker(address)) {
    spdlog::warn("Worker {} lost during replication", address);
    co_return asked;
  }
  const Value* status = reply->is_map() ? reply->find("status") : nullptr;
  std::set<std::string> failed;
  if (status == nullptr || !status->is_str() ||
      (status->as_str() != "OK" && status->as_str() != "partial-fail")) {
    spdlog::warn("Unexpected message from {}: {}", address, reply->to_debug_string(200));
    co_return asked;
  }
  if (status->as_str() == "partial-fail") {
    if (const Value* keys = reply->find("keys"); keys != nullptr && keys->is_array()) {
      for (const Value& k : keys->as_array()) {
        Result<protocol::Key> key = protocol::Key::from_value(k);
        if (key.ok()) failed.insert(key->canonical());
      }
    }
    spdlog::warn("Worker {} failed to acquire keys: {}", address, failed.size());
  }
  std::vector<std::string> ok;
  for (const std::string& k : asked) {
    if (!failed.contains(k)) ok.push_back(k);
  }
  svc.apply(handle(s, AddKeys{address, ok}, svc.make_stimulus("replicate-add")),
            "gather_on_worker");
  co_return failed;
}

// Scheduler.delete_worker_data: free_keys on the holder, then forget its replicas.
// True when the holder answered (when_all needs a value).
asio::awaitable<bool> delete_worker_data(SchedulerService& svc, std::string address,
                                         std::vector<std::string> keys,
                                         std::string stimulus_id) {
  Array wire_keys;
  for (const std::string& k : keys) wire_keys.push_back(SchedulerService::key_value(k));
  Value request = protocol::make_map({{"op", Value("free_keys")},
                                      {"keys", Value(std::move(wire_keys))},
                                      {"stimulus_id", Value(stimulus_id)},
                                      {"reply", Value(true)}});
  std::optional<Value> reply = co_await call_for_replication(svc, address, request);
  if (!reply) co_return false;
  for (const std::string& k : keys) {
    svc.apply(handle(svc.state(), ReleaseWorkerData{address, k},
                     Stimulus{stimulus_id, protocol::unix_now()}),
              "delete_worker_data");
  }
  co_return true;
}

Result<std::vector<TaskId>> task_ids(const SchedulerState& s, const Value& keys,
                                     std::vector<Value>& missing) {
  if (!keys.is_array()) return Status::TypeError("field 'keys': expected a list");
  std::vector<TaskId> out;
  for (const Value& k : keys.as_array()) {
    DASKCPP_ASSIGN_OR_RETURN(protocol::Key key, protocol::Key::from_value(k));
    auto id = s.find_task(key.canonical());
    if (!id || s.task(*id).who_has.empty()) {
      missing.push_back(k);
      continue;
    }
    if (std::find(out.begin(), out.end(), *id) == out.end()) out.push_back(*id);
  }
  return out;
}

// How the `workers` argument names workers. Upstream takes addresses only, not
// worker names (which submit/scatter accept): rebalance looks each up as an
// address (KeyError otherwise); replicate goes through Scheduler.workers_list,
// where an entry without ':' selects every worker whose address contains it (a
// host), so a name usually selects nothing.
enum class WorkerSpec { addresses, workers_list };

Result<std::vector<WorkerId>> worker_ids(const SchedulerState& s, const Value* workers,
                                         bool running_only, WorkerSpec spec) {
  std::vector<WorkerId> out;
  auto add = [&](WorkerId id) {
    if (running_only && s.worker(id).status != WorkerStatus::running) return;
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  if (workers == nullptr || workers->is_nil()) {
    for (WorkerId w : s.workers_by_address()) add(w);
    return out;
  }
  if (!workers->is_array()) return Status::TypeError("field 'workers': expected a list");
  for (const Value& a : workers->as_array()) {
    if (!a.is_str()) return Status::TypeError("field 'workers': expected addresses");
    const std::string& w = a.as_str();
    if (spec == WorkerSpec::workers_list && w.find(':') == std::string::npos) {
      for (WorkerId id : s.workers_by_address()) {
        if (s.worker(id).address.find(w) != std::string::npos) add(id);
      }
      continue;
    }
    auto id = s.find_worker(w);
    if (!id) return Status::KeyError(w);
    add(*id);
  }
  return out;
}

asio::awaitable<Value> handle_replicate(std::shared_ptr<ReplicaContext> ctx,
                                        RpcRequest& req) {
  SchedulerService& svc = ctx->server.service;
  SchedulerState& s = svc.state();
  const Value args = req.args;  // `req` is not ours once we suspend
  std::string stimulus_id = svc.make_stimulus("replicate").id;
  if (const Value* sid = args.find("stimulus_id"); sid != nullptr && sid->is_str()) {
    stimulus_id = sid->as_str();
  }
  std::int64_t branching = 2;
  if (const Value* b = args.find("branching_factor"); b != nullptr && b->is_int()) {
    branching = b->as_int64();
  }
  if (branching <= 0) co_return protocol::exception_reply("AssertionError", "");
  const bool drop_extra =
      !(args.find("delete") != nullptr && args.find("delete")->is_bool() &&
        !args.find("delete")->as_bool());
  Result<std::vector<WorkerId>> workers =
      worker_ids(s, args.find("workers"), true, WorkerSpec::workers_list);
  if (!workers.ok()) co_return protocol::status_reply(workers.status());
  auto n_workers = static_cast<std::int64_t>(workers->size());
  std::int64_t n = n_workers;
  if (const Value* nv = args.find("n"); nv != nullptr && nv->is_int()) {
    n = std::min(nv->as_int64(), n_workers);
  }
  if (n <= 0)
    co_return protocol::exception_reply("ValueError",
                                        "Can not use replicate to delete data");
  const Value* keys_v = args.find("keys");
  std::vector<Value> missing;
  Result<std::vector<TaskId>> ids =
      task_ids(s, keys_v != nullptr ? *keys_v : Value(Array{}), missing);
  if (!ids.ok()) co_return protocol::status_reply(ids.status());
  if (!missing.empty()) {
    co_return protocol::make_map(
        {{"status", Value("partial-fail")}, {"keys", Value(Array(missing))}});
  }
  // Tasks are re-resolved by key every round: a slot may be reused once forgotten.
  std::vector<std::string> keys;
  for (TaskId t : *ids) keys.push_back(s.key(t));
  auto live = [&] {
    std::vector<TaskId> out;
    for (const std::string& k : keys) {
      if (auto id = s.find_task(k)) out.push_back(*id);
    }
    return out;
  };
  std::vector<WorkerId> wids = *workers;
  auto alive_workers = [&] {
    std::vector<WorkerId> out;
    for (WorkerId w : wids) {
      if (s.worker(w).alive) out.push_back(w);
    }
    return out;
  };
  if (drop_extra) {
    ReplicateRound round = plan_replicate(s, live(), alive_workers(), n, branching,
                                          /*drop_extra=*/true, ctx->rng);
    std::vector<asio::awaitable<bool>> drops;
    for (const auto& [w, tasks] : round.drop) {
      std::vector<std::string> ks;
      for (TaskId t : tasks) ks.push_back(s.key(t));
      drops.push_back(
          delete_worker_data(svc, s.worker(w).address, std::move(ks), stimulus_id));
    }
    co_await protocol::when_all(std::move(drops));
  }
  // Copy until every key has n replicas (a round that adds nothing ends the loop, so
  // a recipient that keeps failing cannot spin it forever).
  while (true) {
    ReplicateRound round = plan_replicate(s, live(), alive_workers(), n, branching,
                                          /*drop_extra=*/false, ctx->rng);
    if (round.gather.empty()) break;
    std::vector<asio::awaitable<std::set<std::string>>> gathers;
    for (const auto& [w, tasks] : round.gather) {
      std::vector<std::pair<TaskId, std::vector<std::string>>> who_has;
      for (TaskId t : tasks) {
        std::vector<std::string> holders;
        for (WorkerId h : s.task(t).who_has) holders.push_back(s.worker(h).address);
        who_has.emplace_back(t, std::move(holders));
      }
      gathers.push_back(gather_on_worker(svc, s.worker(w).address, std::move(who_has)));
    }
    auto failed = co_await protocol::when_all(std::move(gathers));
    std::size_t n_failed = 0;
    std::size_t n_asked = 0;
    for (std::size_t i = 0; i < failed.size(); ++i) {
      n_asked += round.gather[i].second.size();
      n_failed += failed[i] ? failed[i]->size() : round.gather[i].second.size();
    }
    if (n_failed == n_asked) break;
  }
  Array worker_addrs;
  for (WorkerId w : wids) worker_addrs.push_back(Value(s.worker(w).address));
  ctx->server.log_event(
      {"all"},
      protocol::make_map({{"action", Value("replicate")},
                          {"workers", Value(std::move(worker_addrs))},
                          {"key-count", Value(static_cast<std::int64_t>(keys.size()))},
                          {"branching-factor", Value(branching)}}));
  co_return Value();
}

asio::awaitable<Value> handle_rebalance(std::shared_ptr<ReplicaContext> ctx,
                                        RpcRequest& req) {
  SchedulerService& svc = ctx->server.service;
  SchedulerState& s = svc.state();
  const Value args = req.args;
  std::string stimulus_id = svc.make_stimulus("rebalance").id;
  if (const Value* sid = args.find("stimulus_id"); sid != nullptr && sid->is_str()) {
    stimulus_id = sid->as_str();
  }
  const Value ok = protocol::make_map({{"status", Value("OK")}});
  Result<std::vector<WorkerId>> workers =
      worker_ids(s, args.find("workers"), false, WorkerSpec::addresses);
  if (!workers.ok()) co_return protocol::status_reply(workers.status());
  if (workers->empty()) co_return ok;
  const Value* keys_v = args.find("keys");
  const bool all_keys = keys_v == nullptr || keys_v->is_nil();
  IdSet<TaskId> allowed;
  if (!all_keys) {
    std::vector<Value> missing;
    Result<std::vector<TaskId>> ids = task_ids(s, *keys_v, missing);
    if (!ids.ok()) co_return protocol::status_reply(ids.status());
    if (ids->empty() && missing.empty()) co_return ok;
    if (!missing.empty()) {
      co_return protocol::make_map(
          {{"status", Value("partial-fail")}, {"keys", Value(Array(missing))}});
    }
    for (TaskId t : *ids) allowed.insert(t);
  }
  std::vector<RebalanceMove> moves =
      plan_rebalance(s, all_keys ? nullptr : &allowed, *workers);
  if (moves.empty()) {
    ctx->server.log_event({"all"}, protocol::make_map({{"action", Value("rebalance")},
                                                       {"moved_keys", Value(0)}}));
    co_return ok;
  }
  // recipient -> [(task, senders)]
  std::map<WorkerId, std::vector<std::pair<TaskId, std::vector<std::string>>>>
      to_recipients;
  for (const RebalanceMove& m : moves) {
    auto& list = to_recipients[m.recipient];
    auto it = std::find_if(list.begin(), list.end(),
                           [&](const auto& e) { return e.first == m.task; });
    if (it == list.end()) {
      list.emplace_back(m.task, std::vector<std::string>{});
      it = std::prev(list.end());
    }
    it->second.push_back(s.worker(m.sender).address);
  }
  std::vector<std::pair<std::string, std::string>>
      planned;  // (sender addr, recipient addr)
  std::vector<std::string> planned_keys;
  for (const RebalanceMove& m : moves) {
    planned.emplace_back(s.worker(m.sender).address, s.worker(m.recipient).address);
    planned_keys.push_back(s.key(m.task));
  }
  std::vector<std::string> recipients;
  std::vector<asio::awaitable<std::set<std::string>>> gathers;
  for (auto& [w, who_has] : to_recipients) {
    recipients.push_back(s.worker(w).address);
    gathers.push_back(gather_on_worker(svc, s.worker(w).address, std::move(who_has)));
  }
  auto failed = co_await protocol::when_all(std::move(gathers));
  std::map<std::string, std::set<std::string>> failed_by_recipient;
  std::set<std::string> missing_keys;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    if (failed[i]) {
      failed_by_recipient[recipients[i]] = *failed[i];
      missing_keys.insert(failed[i]->begin(), failed[i]->end());
    }
  }
  std::map<std::string, std::vector<std::string>> to_senders;
  for (std::size_t i = 0; i < planned.size(); ++i) {
    if (!failed_by_recipient[planned[i].second].contains(planned_keys[i])) {
      to_senders[planned[i].first].push_back(planned_keys[i]);
    }
  }
  std::vector<asio::awaitable<bool>> drops;
  for (auto& [sender, ks] : to_senders) {
    drops.push_back(delete_worker_data(svc, sender, ks, stimulus_id));
  }
  co_await protocol::when_all(std::move(drops));
  ctx->server.log_event(
      {"all"}, protocol::make_map(
                   {{"action", Value("rebalance")},
                    {"moved_keys", Value(static_cast<std::int64_t>(moves.size()))}}));
  if (!missing_keys.empty() && !all_keys) {
    Array keys;
    for (const std::string& k : missing_keys)
      keys.push_back(SchedulerService::key_value(k));
    co_return protocol::make_map(
        {{"status", Value("partial-fail")}, {"keys", Value(std::move(keys))}});
  }
  co_return ok;
}

}  // namespace

void register_replica_handlers(ExtensionContext& server) {
  auto ctx = std::make_shared<ReplicaContext>(server);
  protocol::RpcHandlers& h = server.rpc;
  h.add("replicate", [ctx](RpcRequest& req) { return handle_replicate(ctx, req); });
  h.add("rebalance", [ctx](RpcRequest& req) { return handle_rebalance(ctx, req); });
}

}  // namespace daskcpp::scheduler
