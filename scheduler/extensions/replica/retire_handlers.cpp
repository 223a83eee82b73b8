#include "scheduler/extensions/replica/retire_handlers.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "protocol/messages/worker_ops.hpp"
#include "protocol/rpc/clock.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "scheduler/placement/replica_plan.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/peer_info.hpp"
#include "scheduler/service/scheduler_service.hpp"
#include "scheduler/service/worker_rpc.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {

using protocol::Array;
using protocol::Map;
using protocol::RpcRequest;
using protocol::Value;
using Clock = std::chrono::steady_clock;

namespace {

// Upstream retire_workers starts its ad-hoc AMM with interval=2.0.
constexpr std::chrono::seconds kReplanInterval{2};

// str(name) as Python prints an int or a str name.
std::string name_str(const Value& v) {
  if (v.is_str()) return v.as_str();
  if (v.is_int()) return std::to_string(v.as_int64());
  return v.to_debug_string();
}

bool present(const Value* v) { return v != nullptr && !v->is_nil(); }

bool flag(const Value* v, bool dflt) {
  return v != nullptr && v->is_bool() ? v->as_bool() : dflt;
}

void send_to_worker(SchedulerService& svc, WorkerId id, Value msg) {
  WorkerConnection* w = svc.find_worker(id);
  if (w != nullptr && w->stream != nullptr && !w->stream->closed()) {
    w->stream->send(std::move(msg));
  }
}

void send_status(SchedulerService& svc, WorkerId id, WorkerStatus status,
                 const std::string& stimulus_id) {
  send_to_worker(
      svc, id,
      protocol::WorkerStatusChange{worker_status_name(status), stimulus_id}.encode());
}

// Scheduler.request_acquire_replicas for one recipient.
void request_acquire_replicas(SchedulerService& svc, WorkerId recipient,
                              const std::vector<TaskId>& tasks,
                              const std::string& stimulus_id) {
  const SchedulerState& s = svc.state();
  protocol::AcquireReplicas msg;
  msg.stimulus_id = stimulus_id;
  for (TaskId t : tasks) {
    const TaskState& ts = s.task(t);
    const protocol::Key key = protocol::Key::from_wire(s.key(t));
    std::vector<std::string> holders;
    for (WorkerId h : ts.who_has) holders.push_back(s.worker(h).address);
    msg.who_has.emplace_back(key, std::move(holders));
    msg.nbytes.emplace_back(key, std::max<std::int64_t>(ts.nbytes, 0));
  }
  if (!msg.who_has.empty()) send_to_worker(svc, recipient, msg.encode());
}

Value with_status(Value identity, const char* status) {
  if (!identity.is_map()) return identity;
  for (auto& [k, v] : identity.as_map()) {
    if (k.is_str() && k.as_str() == "status") v = Value(status);
  }
  return identity;
}

Result<std::vector<WorkerId>> select_by_workers_to_close(const SchedulerState& s,
                                                         const Value& args) {
  WorkersToClose w;
  for (const auto& [k, v] : args.as_map()) {
    if (!k.is_str() || v.is_nil()) continue;
    const std::string& name = k.as_str();
    if (name == "memory_ratio" && v.is_number()) {
      w.memory_ratio = v.as_double();
    } else if (name == "n" && v.is_int()) {
      w.n = v.as_int64();
    } else if (name == "minimum" && v.is_int()) {
      w.minimum = v.as_int64();
    } else if (name == "target" && v.is_int()) {
      w.target = v.as_int64();
    } else if (name == "key") {
      return Status::NotImplemented(
          "workers_to_close: 'key' (a grouping callable) is not supported by "
          "daskcpp-scheduler");
    }
  }
  return workers_to_close(s, w);
}

const char* const kCloseArgs[] = {"memory_ratio", "n",      "key",
                                  "minimum",      "target", "attribute"};

struct Retiring {
  WorkerId id;
  std::string address;
  WorkerStatus prev_status;
  Value identity;
  bool finished = false;
  bool ok = false;
};

// The workers retire_workers names (`names`, `workers`, or the workers_to_close()
// arguments), or the error reply.
std::variant<std::vector<WorkerId>, Value> select_retiring(
    SchedulerService& svc, const Value& args, const std::string& stimulus_id) {
  SchedulerState& s = svc.state();
  const Value* workers = args.find("workers");
  const Value* names = args.find("names");
  if (present(names) && present(workers)) {
    return protocol::exception_reply("TypeError",
                                     "names and workers are mutually exclusive");
  }
  bool has_close_args = false;
  for (const char* k : kCloseArgs) has_close_args |= present(args.find(k));
  if ((present(names) || present(workers)) && has_close_args) {
    return protocol::exception_reply(
        "TypeError",
        "Parameters for workers_to_close() are mutually exclusive with names and "
        "workers");
  }
  std::vector<WorkerId> ids;
  if (present(names)) {
    if (!names->is_array()) {
      return protocol::exception_reply("TypeError",
                                       "retire_workers: 'names' must be a list");
    }
    std::vector<std::string> wanted;
    for (const Value& n : names->as_array()) wanted.push_back(name_str(n));
    spdlog::info("Retire worker names {}", fmt::join(wanted, ", "));
    for (WorkerId id : s.workers_by_address()) {
      WorkerConnection* w = svc.find_worker(id);
      if (w != nullptr &&
          std::find(wanted.begin(), wanted.end(), name_str(w->name)) != wanted.end()) {
        ids.push_back(id);
      }
    }
  } else if (present(workers)) {
    if (!workers->is_array()) {
      return protocol::exception_reply("TypeError",
                                       "retire_workers: 'workers' must be a list");
    }
    for (const Value& a : workers->as_array()) {
      if (!a.is_str()) continue;
      auto id = s.find_worker(a.as_str());
      if (id && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
    }
    spdlog::info("Retire worker addresses (stimulus_id='{}') {}", stimulus_id,
                 workers->to_debug_string());
  } else {
    Result<std::vector<WorkerId>> chosen = select_by_workers_to_close(s, args);
    if (!chosen.ok()) return protocol::status_reply(chosen.status());
    ids = std::move(*chosen);
  }
  return ids;
}

asio::awaitable<Value> handle_retire_workers(ExtensionContext* ctx, RpcRequest& req) {
  SchedulerService& svc = ctx->service;
  SchedulerState& s = svc.state();
  const Value args = req.args;  // `req` is not ours once we suspend
  const bool close_workers = flag(args.find("close_workers"), false);
  const bool remove = flag(args.find("remove"), true);
  std::string stimulus_id;
  if (const Value* sid = args.find("stimulus_id"); sid != nullptr && sid->is_str()) {
    stimulus_id = sid->as_str();
  } else {
    stimulus_id = svc.make_stimulus("retire-workers").id;
  }

  std::variant<std::vector<WorkerId>, Value> selected =
      select_retiring(svc, args, stimulus_id);
  if (Value* reply = std::get_if<Value>(&selected)) co_return std::move(*reply);
  std::vector<WorkerId> ids = std::move(std::get<std::vector<WorkerId>>(selected));
  if (ids.empty()) co_return Value(Map{});

  std::vector<Retiring> retiring;
  for (WorkerId id : ids) {
    const WorkerState& ws = s.worker(id);
    retiring.push_back(Retiring{id, ws.address, ws.status, Value(), false, false});
    svc.apply(handle(s, WorkerStatusChange{ws.address, WorkerStatus::closing_gracefully},
                     Stimulus{stimulus_id, protocol::unix_now()}),
              "retire_workers");
    send_status(svc, id, WorkerStatus::closing_gracefully, stimulus_id);
  }

  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto next_plan = Clock::now();
  while (true) {
    std::vector<WorkerId> pending;
    for (Retiring& r : retiring) {
      if (r.finished) continue;
      if (!s.worker(r.id).alive) {
        // Gone on its own meanwhile: nothing left to move (upstream: policy done).
        r.finished = r.ok = true;
        if (r.identity.is_nil()) r.identity = Value(Map{});
        continue;
      }
      pending.push_back(r.id);
    }
    if (pending.empty()) break;
    std::size_t most_keys = 0;
    if (Clock::now() >= next_plan) {
      RetirePlan plan = plan_retirement(s, pending);
      for (const auto& [recipient, tasks] : plan.acquire) {
        request_acquire_replicas(svc, recipient, tasks,
                                 svc.make_stimulus("active_memory_manager").id);
      }
      for (WorkerId stuck : plan.no_recipients) {
        Retiring& r = *std::find_if(retiring.begin(), retiring.end(),
                                    [&](const Retiring& x) { return x.id == stuck; });
        spdlog::warn(
            "Could not retire worker '{}': unique data could not be moved to any other "
            "worker (stimulus_id='{}')",
            r.address, stimulus_id);
        svc.apply(handle(s, WorkerStatusChange{r.address, r.prev_status},
                         Stimulus{stimulus_id, protocol::unix_now()}),
                  "retire_workers");
        send_status(svc, r.id, r.prev_status, stimulus_id);
        r.identity = worker_identity(ctx->service, r.address);
        r.finished = true;
      }
      next_plan = Clock::now() + kReplanInterval;
    }
    for (Retiring& r : retiring) {
      if (r.finished) continue;
      most_keys = std::max(most_keys, s.worker(r.id).has_what.size());
      if (!retirement_done(s, r.id)) continue;
      r.identity = worker_identity(ctx->service, r.address);
      if (remove) {
        r.identity = with_status(std::move(r.identity), "closed");
        svc.remove_worker(r.address, /*expected=*/true, close_workers, stimulus_id);
      } else if (close_workers) {
        send_to_worker(svc, r.id,
                       protocol::CloseWorker{"scheduler-close-worker"}.encode());
      }
      spdlog::info("Retired worker '{}' (stimulus_id='{}')", r.address, stimulus_id);
      r.finished = r.ok = true;
    }
    if (std::all_of(retiring.begin(), retiring.end(),
                    [](const Retiring& r) { return r.finished; })) {
      break;
    }
    // Upstream: 0.01 s with 4 keys or fewer, up to 0.5 s with 200 or more.
    const double poll =
        std::max(0.01, std::min(0.5, static_cast<double>(most_keys) / 400));
    asio::steady_timer wait(ex, std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(poll)));
    protocol::ErrorCode ec;
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  Map reply;
  Array retired;
  Array not_retired;
  for (Retiring& r : retiring) {
    if (r.ok) {
      reply.emplace_back(Value(r.address), r.identity);
      retired.push_back(Value(r.address));
    } else {
      not_retired.push_back(Value(r.address));
    }
  }
  ctx->log_event({"all"}, protocol::make_map({{"action", Value("retire-workers")},
                                              {"retired", Value(retired)},
                                              {"could-not-retire", Value(not_retired)},
                                              {"stimulus_id", Value(stimulus_id)}}));
  auto topics = [](const Array& a) {
    std::vector<std::string> out;
    for (const Value& v : a) out.push_back(v.as_str());
    return out;
  };
  if (!retired.empty()) {
    ctx->log_event(topics(retired),
                   protocol::make_map({{"action", Value("retired")},
                                       {"stimulus_id", Value(stimulus_id)}}));
  }
  if (!not_retired.empty()) {
    ctx->log_event(topics(not_retired),
                   protocol::make_map({{"action", Value("could-not-retire")},
                                       {"stimulus_id", Value(stimulus_id)}}));
  }
  co_return Value(std::move(reply));
}

Value handle_workers_to_close(ExtensionContext& ctx, RpcRequest& req) {
  const SchedulerState& s = ctx.service.state();
  Result<std::vector<WorkerId>> chosen = select_by_workers_to_close(s, req.args);
  if (!chosen.ok()) return protocol::status_reply(chosen.status());
  std::string attribute = "address";
  if (const Value* a = req.arg("attribute"); a != nullptr && a->is_str()) {
    attribute = a->as_str();
  }
  Array out;
  for (WorkerId id : *chosen) {
    const WorkerState& ws = s.worker(id);
    if (attribute == "name") {
      WorkerConnection* w = ctx.service.find_worker(id);
      out.push_back(w != nullptr ? w->name : Value(ws.name));
    } else {
      out.push_back(Value(ws.address));
    }
  }
  return Value(std::move(out));
}

}  // namespace

void register_retire_handlers(ExtensionContext& server) {
  ExtensionContext* ctx = &server;
  protocol::RpcHandlers& h = server.rpc;
  h.add("retire_workers",
        [ctx](RpcRequest& req) { return handle_retire_workers(ctx, req); });
  h.add_sync("workers_to_close",
             [ctx](RpcRequest& req) { return handle_workers_to_close(*ctx, req); });
}

}  // namespace daskcpp::scheduler
