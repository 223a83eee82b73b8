#include "scheduler/handlers/data_handlers.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>

#include "protocol/messages/python_exception.hpp"
#include "protocol/messages/rpc_ops.hpp"
#include "protocol/rpc/clock.hpp"
#include "protocol/rpc/decode.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "protocol/rpc/when_all.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/scheduler_service.hpp"
#include "scheduler/service/worker_rpc.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {

using protocol::Array;
using protocol::Key;
using protocol::Map;
using protocol::RpcRequest;
using protocol::Value;

namespace {

// What the data handlers keep between requests.
struct DataContext {
  explicit DataContext(ExtensionContext& s) : server(s), rng(std::random_device{}()) {}
  ExtensionContext& server;
  std::mt19937_64 rng;                // holder choice in gather
  std::uint64_t scatter_counter = 0;  // utils_comm._round_robin_counter
};

// Upstream coerce_address: an address we know, or a worker name.
std::optional<WorkerId> coerce_worker(const SchedulerState& s, const std::string& w) {
  if (auto id = s.find_worker(w)) return id;
  return s.find_worker_by_name(w);
}

std::vector<std::string> holder_addresses(const SchedulerState& s, const Key& key) {
  std::vector<std::string> out;
  if (auto id = s.find_task(key.canonical())) {
    for (WorkerId w : s.task(*id).who_has) out.push_back(s.worker(w).address);
  }
  return out;
}

Value addresses_value(const std::vector<std::string>& addresses) {
  Array a;
  a.reserve(addresses.size());
  for (const std::string& x : addresses) a.emplace_back(x);
  return Value(std::move(a));
}

Value task_keys_value(const SchedulerState& s, const IdSet<TaskId>& tasks) {
  Array a;
  for (TaskId t : tasks) a.push_back(SchedulerService::key_value(s.key(t)));
  return Value(std::move(a));
}

// Workers named in a `workers` argument (unknown ones dropped), or all of them.
std::vector<WorkerId> selected_workers(
    const SchedulerState& s, const std::optional<protocol::AddressList>& names) {
  if (!names) return s.workers_by_address();
  std::vector<WorkerId> out;
  for (const std::string& n : *names) {
    if (auto id = coerce_worker(s, n)) out.push_back(*id);
  }
  return out;
}

std::vector<DataKey> data_keys(const SchedulerState& s, const protocol::WhoHas& who_has,
                               const std::map<Key, std::int64_t>& nbytes) {
  std::vector<DataKey> out;
  out.reserve(who_has.size());
  for (const auto& [key, workers] : who_has) {
    DataKey d;
    d.key = key.canonical();
    d.prefix_name = protocol::key_split(key.wire_value());
    d.group_name = protocol::key_split_group(key.wire_value());
    for (const std::string& w : workers) {
      auto id = coerce_worker(s, w);
      d.workers.push_back(id ? s.worker(*id).address : w);
    }
    auto n = nbytes.find(key);
    if (n != nbytes.end()) d.nbytes = n->second;
    out.push_back(std::move(d));
  }
  return out;
}

// ---- gather ----------------------------------------------------------------------

asio::awaitable<Value> handle_gather(DataContext& ctx, protocol::Gather m) {
  SchedulerService& svc = ctx.server.service;
  protocol::WhoHas who_has;
  who_has.reserve(m.keys.size());
  for (const Key& k : m.keys) who_has.emplace_back(k, holder_addresses(svc.state(), k));
  GatherResult result = co_await gather_from_workers(
      svc.connection_pool(), who_has, ctx.rng,
      [&svc](const Key& k) { return holder_addresses(svc.state(), k); });
  ctx.server.log_event({"all"}, protocol::make_map({{"action", Value("gather")},
                                                    {"count", Value(m.keys.size())}}));
  protocol::GatherReply reply;
  if (result.failed_keys.empty()) {
    reply.data = std::move(result.data);
  } else {
    std::string states;
    for (const Key& k : result.failed_keys) {
      auto id = svc.state().find_task(k.canonical());
      states += k.to_debug_string() + ": " +
                (id ? task_status_name(svc.state().task(*id).status) : "forgotten") +
                ", ";
    }
    spdlog::error("Couldn't gather keys: {{{}}}", states);
    reply.ok = false;
    reply.missing = std::move(result.failed_keys);
  }
  co_return reply.encode();
}

// ---- scatter ---------------------------------------------------------------------

std::vector<std::string> scatter_targets(
    const SchedulerState& s, const std::optional<protocol::AddressList>& names) {
  std::vector<std::string> out;
  if (!names) {
    for (WorkerId w : s.running()) out.push_back(s.worker(w).address);
    return out;
  }
  for (const std::string& n : *names) {
    auto id = coerce_worker(s, n);
    if (id && s.worker(*id).alive && s.worker(*id).status == WorkerStatus::running) {
      out.push_back(s.worker(*id).address);
    }
  }
  return out;
}

asio::awaitable<Value> handle_scatter(DataContext& ctx, protocol::Scatter m) {
  SchedulerService& svc = ctx.server.service;

  // Wait up to `timeout` for a running worker, polling every 0.1 s as upstream.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(m.timeout.as_double()));
  std::vector<std::string> workers = scatter_targets(svc.state(), m.workers);
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  while (workers.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      co_return protocol::exception_reply("TimeoutError", "No valid workers found");
    }
    asio::steady_timer wait(ex, std::chrono::milliseconds(100));
    protocol::ErrorCode ec;
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    workers = scatter_targets(svc.state(), m.workers);
  }

  // Round-robin assignment; with `broadcast` every key also goes to the next n-1
  // workers (upstream replicates afterwards; sending the copies directly gives the
  // same placement without a second round of worker-to-worker transfers).
  const std::size_t n_keys = m.data.size();
  auto assignment = assign_round_robin(workers, n_keys, ctx.scatter_counter);
  std::size_t copies = 1;
  if (m.broadcast.is_bool() && m.broadcast.as_bool()) copies = workers.size();
  if (m.broadcast.is_int() && m.broadcast.as_int64() > 1) {
    copies = std::min<std::size_t>(workers.size(),
                                   static_cast<std::size_t>(m.broadcast.as_int64()));
  }
  std::vector<std::string> sorted = workers;
  std::sort(sorted.begin(), sorted.end());
  std::map<std::string, protocol::KeyValues> per_worker;
  std::vector<std::string> worker_order;
  protocol::WhoHas who_has(n_keys);
  for (const auto& [worker, indices] : assignment) {
    const std::size_t first = static_cast<std::size_t>(
        std::find(sorted.begin(), sorted.end(), worker) - sorted.begin());
    for (std::size_t i : indices) {
      who_has[i].first = m.data[i].first;
      for (std::size_t c = 0; c < copies; ++c) {
        const std::string& target = sorted[(first + c) % sorted.size()];
        auto [it, inserted] = per_worker.try_emplace(target);
        if (inserted) worker_order.push_back(target);
        it->second.emplace_back(m.data[i].first, m.data[i].second);
        who_has[i].second.push_back(target);
      }
    }
  }
  std::vector<asio::awaitable<Result<protocol::KeyInts>>> tasks;
  for (const std::string& w : worker_order) {
    tasks.push_back(update_data_on_worker(svc.connection_pool(), w, per_worker[w]));
  }
  auto replies = co_await protocol::when_all(std::move(tasks));
  std::map<Key, std::int64_t> nbytes;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i])
      co_return protocol::exception_reply("RuntimeError", "scatter: internal error");
    if (!replies[i]->ok()) {
      spdlog::error("scatter: update_data on {} failed: {}", worker_order[i],
                    replies[i]->status().to_string());
      co_return protocol::status_reply(replies[i]->status());
    }
    for (const auto& [k, n] : replies[i]->value()) nbytes[k] = n;
  }

  const std::string client = m.client.value_or("");
  svc.apply(
      handle(svc.state(), UpdateData{data_keys(svc.state(), who_has, nbytes), client},
             svc.make_stimulus("scatter")),
      "scatter");
  std::vector<std::string> topics{"all"};
  if (!client.empty()) topics.insert(topics.begin(), client);
  ctx.server.log_event(topics, protocol::make_map({{"action", Value("scatter")},
                                                   {"client", Value(client)},
                                                   {"count", Value(n_keys)}}));
  Array keys;
  keys.reserve(n_keys);
  for (const auto& [k, v] : m.data) keys.push_back(k.wire_value());
  co_return Value(std::move(keys));
}

// ---- synchronous queries and stimuli ------------------------------------------------

Value handle_update_data(DataContext& ctx, protocol::SchedulerUpdateData m) {
  SchedulerService& svc = ctx.server.service;
  std::map<Key, std::int64_t> nbytes(m.nbytes.begin(), m.nbytes.end());
  for (const auto& [key, workers] : m.who_has) {
    for (const std::string& w : workers) {
      if (!coerce_worker(svc.state(), w)) return protocol::exception_reply("KeyError", w);
    }
  }
  svc.apply(
      handle(svc.state(),
             UpdateData{data_keys(svc.state(), m.who_has, nbytes), m.client.value_or("")},
             svc.make_stimulus("update-data")),
      "update_data");
  return Value();
}

Value handle_who_has(DataContext& ctx, protocol::WhoHasRequest m) {
  const SchedulerState& s = ctx.server.service.state();
  Map out;
  if (m.keys) {
    for (const Key& k : *m.keys) {
      out.emplace_back(k.wire_value(), addresses_value(holder_addresses(s, k)));
    }
  } else {
    for (TaskId t : s.all_tasks()) {
      std::vector<std::string> addrs;
      for (WorkerId w : s.task(t).who_has) addrs.push_back(s.worker(w).address);
      out.emplace_back(SchedulerService::key_value(s.key(t)), addresses_value(addrs));
    }
  }
  return Value(std::move(out));
}

Value handle_has_what(DataContext& ctx, protocol::HasWhat m) {
  const SchedulerState& s = ctx.server.service.state();
  Map out;
  if (m.workers) {
    for (const std::string& w : *m.workers) {
      auto id = coerce_worker(s, w);
      out.emplace_back(Value(id ? s.worker(*id).address : w),
                       id ? task_keys_value(s, s.worker(*id).has_what) : Value(Array{}));
    }
  } else {
    for (WorkerId w : s.workers_by_address()) {
      out.emplace_back(Value(s.worker(w).address),
                       task_keys_value(s, s.worker(w).has_what));
    }
  }
  return Value(std::move(out));
}

Value handle_ncores(DataContext& ctx, protocol::Ncores m, bool running_only) {
  const SchedulerState& s = ctx.server.service.state();
  Map out;
  for (WorkerId w : selected_workers(s, m.workers)) {
    const WorkerState& ws = s.worker(w);
    if (running_only && ws.status != WorkerStatus::running) continue;
    out.emplace_back(Value(ws.address), Value(static_cast<std::int64_t>(ws.nthreads)));
  }
  return Value(std::move(out));
}

Value handle_processing(DataContext& ctx, protocol::Processing m) {
  const SchedulerState& s = ctx.server.service.state();
  if (m.workers) {
    for (const std::string& w : *m.workers) {
      if (!coerce_worker(s, w)) return protocol::exception_reply("KeyError", w);
    }
  }
  Map out;
  for (WorkerId w : selected_workers(s, m.workers)) {
    const WorkerState& ws = s.worker(w);
    // Upstream's processing set includes the long-running tasks.
    IdSet<TaskId> all = ws.processing;
    for (TaskId t : ws.long_running) all.insert(t);
    out.emplace_back(Value(ws.address), task_keys_value(s, all));
  }
  return Value(std::move(out));
}

Value handle_nbytes(DataContext& ctx, protocol::NbytesRequest m) {
  const SchedulerState& s = ctx.server.service.state();
  std::vector<std::pair<Value, std::int64_t>> result;
  if (m.keys) {
    for (const Key& k : *m.keys) {
      auto id = s.find_task(k.canonical());
      if (!id) return protocol::exception_reply("KeyError", k.to_debug_string());
      result.emplace_back(k.wire_value(), s.task(*id).nbytes);
    }
  } else {
    for (TaskId t : s.all_tasks()) {
      if (s.task(t).nbytes >= 0) {
        result.emplace_back(SchedulerService::key_value(s.key(t)), s.task(t).nbytes);
      }
    }
  }
  Map out;
  if (m.summary) {
    std::vector<std::pair<std::string, std::int64_t>> sums;  // first-seen order
    for (const auto& [k, n] : result) {
      std::string prefix = protocol::key_split(k);
      auto it = std::find_if(sums.begin(), sums.end(),
                             [&](const auto& p) { return p.first == prefix; });
      if (it == sums.end()) {
        sums.emplace_back(std::move(prefix), n);
      } else {
        it->second += n;
      }
    }
    for (auto& [p, n] : sums) out.emplace_back(Value(std::move(p)), Value(n));
  } else {
    for (auto& [k, n] : result) out.emplace_back(std::move(k), Value(n));
  }
  return Value(std::move(out));
}

Value handle_retry(DataContext& ctx, protocol::Retry m) {
  SchedulerService& svc = ctx.server.service;
  spdlog::info("Client {} requests to retry {} keys", m.client.value_or("None"),
               m.keys.size());
  if (m.client) {
    ctx.server.log_event(
        {*m.client}, protocol::make_map(
                         {{"action", Value("retry")}, {"count", Value(m.keys.size())}}));
  }
  std::vector<std::string> keys;
  for (const Key& k : m.keys) {
    // Upstream indexes self.tasks[key]: an unknown key is a KeyError.
    if (!svc.state().find_task(k.canonical())) {
      return protocol::exception_reply("KeyError", k.to_debug_string());
    }
    keys.push_back(k.canonical());
  }
  Result<Effects> fx =
      handle(svc.state(), Retry{keys}, svc.make_stimulus("stimulus-retry"));
  std::vector<std::string> retried = fx.ok() ? fx->retried : std::vector<std::string>{};
  svc.apply(std::move(fx), "retry");
  Array out;
  for (const std::string& k : retried) out.push_back(SchedulerService::key_value(k));
  return Value(std::move(out));
}

}  // namespace

void register_data_handlers(ExtensionContext& server) {
  auto ctx = std::make_shared<DataContext>(server);
  protocol::RpcHandlers& h = server.rpc;
  protocol::add_op<protocol::Gather>(h, "gather", [ctx](protocol::Gather m, RpcRequest&) {
    return handle_gather(*ctx, std::move(m));
  });
  protocol::add_op<protocol::Scatter>(h, "scatter",
                                      [ctx](protocol::Scatter m, RpcRequest&) {
                                        return handle_scatter(*ctx, std::move(m));
                                      });
  protocol::add_sync_op<protocol::SchedulerUpdateData>(
      h, "update_data", [ctx](protocol::SchedulerUpdateData m, RpcRequest&) {
        return handle_update_data(*ctx, std::move(m));
      });
  protocol::add_sync_op<protocol::WhoHasRequest>(
      h, "who_has", [ctx](protocol::WhoHasRequest m, RpcRequest&) {
        return handle_who_has(*ctx, std::move(m));
      });
  protocol::add_sync_op<protocol::HasWhat>(h, "has_what",
                                           [ctx](protocol::HasWhat m, RpcRequest&) {
                                             return handle_has_what(*ctx, std::move(m));
                                           });
  protocol::add_sync_op<protocol::Ncores>(
      h, "ncores", [ctx](protocol::Ncores m, RpcRequest&) {
        return handle_ncores(*ctx, std::move(m), false);
      });
  protocol::add_sync_op<protocol::Ncores>(
      h, "ncores_running", [ctx](protocol::Ncores m, RpcRequest&) {
        return handle_ncores(*ctx, std::move(m), true);
      });
  protocol::add_sync_op<protocol::Processing>(
      h, "processing", [ctx](protocol::Processing m, RpcRequest&) {
        return handle_processing(*ctx, std::move(m));
      });
  protocol::add_sync_op<protocol::NbytesRequest>(
      h, "nbytes", [ctx](protocol::NbytesRequest m, RpcRequest&) {
        return handle_nbytes(*ctx, std::move(m));
      });
  protocol::add_sync_op<protocol::Retry>(
      h, "retry",
      [ctx](protocol::Retry m, RpcRequest&) { return handle_retry(*ctx, std::move(m)); });
}

}  // namespace daskcpp::scheduler
