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

// Scheduler.workers_to_close 7393-7395: the candidates (no long-running task) pass
// through the plugins' valid_workers_downscaling hooks.
std::optional<std::vector<WorkerId>> allowed_by_plugins(SchedulerService& svc) {
  SchedulerHooks* hooks = svc.hooks();
  if (hooks == nullptr) return std::nullopt;
  const SchedulerState& s = svc.state();
  std::vector<std::string> candidates;
  for (WorkerId w : s.workers_by_address()) {
    if (s.worker(w).long_running.empty()) candidates.push_back(s.worker(w).address);
  }
  std::optional<std::vector<std::string>> valid =
      hooks->valid_workers_downscaling(candidates);
  if (!valid) return std::nullopt;
  std::vector<WorkerId> out;
  for (const std::string& a : *valid) {
    if (auto id = s.find_worker(a)) out.push_back(*id);
  }
  return out;
}

Result<std::vector<WorkerId>> select_by_workers_to_close(SchedulerService& svc,
                                                         const Value& args) {
  const SchedulerState& s = svc.state();
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
  w.allowed = allowed_by_plugins(svc);
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
    Result<std::vector<WorkerId>> chosen = select_by_workers_to_close(svc, args);
    if (!chosen.ok()) return protocol::status_reply(chosen.status());
    ids = std::move(*chosen);
  }
  return ids;
}

// One retire_workers call in progress (upstream Scheduler.retire_workers with its
// ad-hoc RetireWorker AMM policy): the workers being retired and the synchronous
// steps the coroutine below repeats until each has moved its unique data away and
// left, or was given back its previous status.
class Retirement {
 public:
  Retirement(ExtensionContext& ctx, const Value& args)
      : ctx_(ctx),
        svc_(ctx.service),
        close_workers_(flag(args.find("close_workers"), false)),
        remove_(flag(args.find("remove"), true)) {
    const Value* sid = args.find("stimulus_id");
    stimulus_id_ = sid != nullptr && sid->is_str()
                       ? sid->as_str()
                       : svc_.make_stimulus("retire-workers").id;
  }

  const std::string& stimulus_id() const { return stimulus_id_; }

  // Every selected worker becomes closing_gracefully, in the core and on the worker.
  void start(const std::vector<WorkerId>& ids) {
    for (WorkerId id : ids) {
      const WorkerState& ws = svc_.state().worker(id);
      retiring_.push_back(Retiring{id, ws.address, ws.status, Value(), false, false});
      set_status(id, ws.address, WorkerStatus::closing_gracefully);
    }
  }

  // Workers that left on their own are done (upstream: policy done); false when none
  // is left to wait for.
  bool any_pending() {
    bool pending = false;
    for (Retiring& r : retiring_) {
      if (r.finished) continue;
      if (!svc_.state().worker(r.id).alive) {
        r.finished = r.ok = true;
        if (r.identity.is_nil()) r.identity = Value(Map{});
        continue;
      }
      pending = true;
    }
    return pending;
  }

  // One RetireWorker plan: ask recipients to acquire the unique data; a worker whose
  // data has nowhere to go gets its previous status back and is not retired.
  void replan() {
    std::vector<WorkerId> pending;
    for (const Retiring& r : retiring_) {
      if (!r.finished) pending.push_back(r.id);
    }
    RetirePlan plan = plan_retirement(svc_.state(), pending);
    for (const auto& [recipient, tasks] : plan.acquire) {
      request_acquire_replicas(svc_, recipient, tasks,
                               svc_.make_stimulus("active_memory_manager").id);
    }
    for (WorkerId stuck : plan.no_recipients) {
      Retiring& r = *std::find_if(retiring_.begin(), retiring_.end(),
                                  [&](const Retiring& x) { return x.id == stuck; });
      spdlog::warn(
          "Could not retire worker '{}': unique data could not be moved to any other "
          "worker (stimulus_id='{}')",
          r.address, stimulus_id_);
      set_status(r.id, r.address, r.prev_status);
      r.identity = worker_identity(svc_, r.address);
      r.finished = true;
    }
  }

  // Removes (or closes) the workers whose data has moved; returns the most keys a
  // worker still holds, which sets the next poll interval.
  std::size_t finish_moved() {
    std::size_t most_keys = 0;
    for (Retiring& r : retiring_) {
      if (r.finished) continue;
      most_keys = std::max(most_keys, svc_.state().worker(r.id).has_what.size());
      if (!retirement_done(svc_.state(), r.id)) continue;
      r.identity = worker_identity(svc_, r.address);
      if (remove_) {
        r.identity = with_status(std::move(r.identity), "closed");
        svc_.remove_worker(r.address, /*expected=*/true, close_workers_, stimulus_id_);
      } else if (close_workers_) {
        send_to_worker(svc_, r.id,
                       protocol::CloseWorker{"scheduler-close-worker"}.encode());
      }
      spdlog::info("Retired worker '{}' (stimulus_id='{}')", r.address, stimulus_id_);
      r.finished = r.ok = true;
    }
    return most_keys;
  }

  bool all_finished() const {
    return std::all_of(retiring_.begin(), retiring_.end(),
                       [](const Retiring& r) { return r.finished; });
  }

  // {address: identity} of the retired workers, after the events upstream logs.
  Value reply() const {
    Map reply;
    std::vector<std::string> retired;
    std::vector<std::string> not_retired;
    for (const Retiring& r : retiring_) {
      if (r.ok) {
        reply.emplace_back(Value(r.address), r.identity);
        retired.push_back(r.address);
      } else {
        not_retired.push_back(r.address);
      }
    }
    ctx_.log_event({"all"},
                   protocol::make_map({{"action", Value("retire-workers")},
                                       {"retired", addresses(retired)},
                                       {"could-not-retire", addresses(not_retired)},
                                       {"stimulus_id", Value(stimulus_id_)}}));
    if (!retired.empty()) log_outcome(retired, "retired");
    if (!not_retired.empty()) log_outcome(not_retired, "could-not-retire");
    return Value(std::move(reply));
  }

 private:
  void set_status(WorkerId id, const std::string& address, WorkerStatus status) {
    svc_.apply(handle(svc_.state(), WorkerStatusChange{address, status},
                      Stimulus{stimulus_id_, protocol::unix_now()}),
               "retire_workers");
    send_status(svc_, id, status, stimulus_id_);
  }

  static Value addresses(const std::vector<std::string>& a) {
    Array out;
    for (const std::string& s : a) out.push_back(Value(s));
    return Value(std::move(out));
  }

  void log_outcome(const std::vector<std::string>& workers, const char* action) const {
    ctx_.log_event(workers, protocol::make_map({{"action", Value(action)},
                                                {"stimulus_id", Value(stimulus_id_)}}));
  }

  ExtensionContext& ctx_;
  SchedulerService& svc_;
  bool close_workers_;
  bool remove_;
  std::string stimulus_id_;
  std::vector<Retiring> retiring_;
};

// Upstream: 0.01 s with 4 keys or fewer, up to 0.5 s with 200 or more.
Clock::duration poll_interval(std::size_t most_keys) {
  const double poll = std::max(0.01, std::min(0.5, static_cast<double>(most_keys) / 400));
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(poll));
}

asio::awaitable<Value> handle_retire_workers(ExtensionContext* ctx, RpcRequest& req) {
  const Value args = req.args;  // `req` is not ours once we suspend
  Retirement retirement(*ctx, args);
  std::variant<std::vector<WorkerId>, Value> selected =
      select_retiring(ctx->service, args, retirement.stimulus_id());
  if (Value* reply = std::get_if<Value>(&selected)) co_return std::move(*reply);
  const std::vector<WorkerId>& ids = std::get<std::vector<WorkerId>>(selected);
  if (ids.empty()) co_return Value(Map{});
  retirement.start(ids);

  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto next_plan = Clock::now();
  while (retirement.any_pending()) {
    if (Clock::now() >= next_plan) {
      retirement.replan();
      next_plan = Clock::now() + kReplanInterval;
    }
    const std::size_t most_keys = retirement.finish_moved();
    if (retirement.all_finished()) break;
    asio::steady_timer wait(ex, poll_interval(most_keys));
    protocol::ErrorCode ec;
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return retirement.reply();
}

Value handle_workers_to_close(ExtensionContext& ctx, RpcRequest& req) {
  const SchedulerState& s = ctx.service.state();
  Result<std::vector<WorkerId>> chosen =
      select_by_workers_to_close(ctx.service, req.args);
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
