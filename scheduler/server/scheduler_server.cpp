#include "scheduler/server/scheduler_server.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

#include "protocol/comm/address.hpp"
#include "protocol/comm/rpc_server.hpp"
#include "protocol/messages/uuid.hpp"
#include "protocol/messages/worker_ops.hpp"
#include "protocol/rpc/clock.hpp"
#include "python_compat/graph_materializer.hpp"
#include "python_compat/interpreter.hpp"
#include "scheduler/extensions/logs/log_ring.hpp"
#include "scheduler/python_side/python_side.hpp"
#include "scheduler/server/extensions.hpp"
#include "scheduler/server/host_ip.hpp"
#include "scheduler/server/run_files.hpp"
#include "scheduler/server/unimplemented_ops.hpp"
#include "scheduler/service/peer_info.hpp"
#include "scheduler/service/scheduler_service.hpp"

namespace daskcpp::scheduler {

namespace {

using protocol::Value;

// The subset of Value that identity() produces, as JSON for the scheduler file.
nlohmann::json to_json(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNil:
      return nullptr;
    case Value::Type::kBool:
      return v.as_bool();
    case Value::Type::kInt:
      if (v.as_integer().is_big_unsigned) return v.as_integer().as_uint64();
      return v.as_int64();
    case Value::Type::kFloat32:
    case Value::Type::kFloat64:
      return v.as_double();
    case Value::Type::kStr:
      return v.as_str();
    case Value::Type::kArray: {
      nlohmann::json out = nlohmann::json::array();
      for (const Value& item : v.as_array()) out.push_back(to_json(item));
      return out;
    }
    case Value::Type::kMap: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [k, item] : v.as_map()) {
        out[k.is_str() ? k.as_str() : k.to_debug_string()] = to_json(item);
      }
      return out;
    }
    case Value::Type::kBin:
    case Value::Type::kPayload:
    case Value::Type::kRaw:
      break;
  }
  return v.to_debug_string();
}

}  // namespace

SchedulerServer::SchedulerServer(SchedulerOptions options)
    : options_(std::move(options)),
      io_(1),
      signals_(io_, SIGINT, SIGTERM),
      idle_timer_(io_),
      shutdown_timer_(io_),
      id_("Scheduler-" + protocol::uuid4()),
      ttl_timer_(io_),
      trim_timer_(io_) {
  service_ =
      std::make_unique<SchedulerService>(connections_, options_.config, options_.comm);
  // ServerNode._setup_logging: from now on the process's log also goes to the ring
  // `get_logs` answers from.
  log_ring_ = std::make_shared<LogRing>(options_.log_length);
  spdlog::default_logger()->sinks().push_back(log_ring_);
}

SchedulerServer::~SchedulerServer() {
  std::erase(spdlog::default_logger()->sinks(), log_ring_);
  // Before the interpreter stops: the facade holds Python objects.
  python_side_.reset();
}

Result<protocol::Value> SchedulerServer::diagnostics(std::string_view what,
                                                     double start) {
  if (what == "task_stream") {
    extensions_->task_stream.enable();
    std::vector<protocol::Value> records = extensions_->task_stream.buffer().collect(
        start, std::nullopt, std::nullopt, std::nullopt);
    return protocol::Value(protocol::Array(std::make_move_iterator(records.begin()),
                                           std::make_move_iterator(records.end())));
  }
  if (what == "logs") {
    return log_ring_->get_logs(start, std::nullopt, /*timestamps=*/true);
  }
  if (what == "transition_log") {
    // (key, start, finish, recommendations, stimulus_id, timestamp) as upstream;
    // the native log keeps no recommendations.
    protocol::Array out;
    for (const TransitionLogEntry& e : service_->state().transition_log()) {
      if (e.now < start) continue;
      out.push_back(protocol::Value(protocol::Array{
          SchedulerService::key_value(e.key), protocol::Value(task_status_name(e.start)),
          protocol::Value(task_status_name(e.finish)), protocol::Value(protocol::Map{}),
          protocol::Value(e.stimulus_id), protocol::Value(e.now)}));
    }
    return protocol::Value(std::move(out));
  }
  if (what == "counters") return cpu_counters();
  if (what == "stealing") {
    // extensions["stealing"] of the facade; nil when work stealing is off.
    const WorkStealing* stealing = extensions_->stealing.stealing();
    if (stealing == nullptr) return protocol::Value();
    protocol::Map count_total;
    protocol::Map cost_total;
    for (int level = 0; level < WorkStealing::kLevels; ++level) {
      const auto i = static_cast<std::size_t>(level);
      count_total.emplace_back(protocol::Value(static_cast<std::int64_t>(level)),
                               protocol::Value(stealing->request_count_total()[i]));
      cost_total.emplace_back(protocol::Value(static_cast<std::int64_t>(level)),
                              protocol::Value(stealing->request_cost_total()[i]));
    }
    return protocol::make_map(
        {{"count", protocol::Value(stealing->count())},
         {"in_flight",
          protocol::Value(static_cast<std::int64_t>(stealing->in_flight_count()))},
         {"request_count_total", protocol::Value(std::move(count_total))},
         {"request_cost_total", protocol::Value(std::move(cost_total))}});
  }
  return Status::Invalid("no native diagnostics named " + std::string(what));
}

// Where the scheduler's CPU went (issue 11): the interpreter thread's graph
// intake and the loop thread (the C++ state machine and messaging, plus any Python
// hooks it runs). Read on the loop thread, so its own clock is the loop's.
protocol::Value SchedulerServer::cpu_counters() const {
  const python_compat::GraphMaterializer& m = *materializer_;
  return protocol::make_map(
      {{"loop_cpu_s", static_cast<double>(python_compat::thread_cpu_ns()) * 1e-9},
       {"intake_cpu_s", m.intake_cpu_seconds()},
       {"intake_graphs", static_cast<std::int64_t>(m.intake_graphs())},
       {"intake_tasks", static_cast<std::int64_t>(m.intake_tasks())}});
}

void SchedulerServer::register_handlers() {
  extensions_ = std::make_unique<Extensions>(connections_, service_->observers());
  extension_context_ = std::make_unique<ExtensionContext>(
      ExtensionContext{io_, *service_, connections_, rpc_handlers_,
                       client_stream_handlers_, worker_stream_handlers_, options_,
                       extensions_->log_event_fn(), [this] { return shutting_down_; }});
  register_server_handlers();
  extensions_->register_all(*extension_context_, *materializer_);
  rpc_handlers_.set_fallback(unimplemented_op_handler(rpc_handlers_.server_type()));
}

// The server's own ops, not about tasks: `identity` (protocol.md §5.6; upstream
// Scheduler.identity) and `terminate` (upstream Scheduler.close via Client.shutdown).
void SchedulerServer::register_server_handlers() {
  register_log_handlers(*extension_context_, log_ring_);
  // daskcpp only: the CPU split of issue 11, without going through Python
  // (`client.sync(client.scheduler.daskcpp_counters)`; bench/ reads it).
  rpc_handlers_.add_sync("daskcpp_counters",
                         [this](protocol::RpcRequest&) { return cpu_counters(); });
  rpc_handlers_.add_sync("identity",
                         [this](protocol::RpcRequest& req) -> protocol::Value {
                           std::int64_t n_workers = -1;
                           if (const protocol::Value* n = req.arg("n_workers");
                               n != nullptr && n->is_int()) {
                             n_workers = n->as_int64();
                           }
                           return identity(n_workers);
                         });
  rpc_handlers_.add_sync(
      "terminate", [this](protocol::RpcRequest& req) -> protocol::Value {
        spdlog::info("Received 'terminate' from {}", req.comm->peer_address());
        // After this turn, so the reply is queued before the comms close.
        asio::post(io_, [this] { shutdown("terminate"); });
        return protocol::Value();
      });
}

Status SchedulerServer::start() {
  // The interpreter first: importing dask takes a moment, and no graph may
  // arrive before the materializer can take it.
  python_compat::InterpreterOptions py;
  py.python_executable = options_.python_executable;
  Result<std::unique_ptr<python_compat::Interpreter>> interp =
      python_compat::Interpreter::start(std::move(py));
  if (!interp.ok()) return interp.status().with_context("embedded Python");
  interpreter_ = std::move(*interp);
  materializer_ = std::make_unique<python_compat::GraphMaterializer>(*interpreter_);
  register_handlers();
  protocol::Address bind{options_.host, options_.port};
  Result<std::shared_ptr<protocol::Listener>> listener = protocol::Listener::listen(
      io_.get_executor(), bind, options_.comm,
      [this](std::shared_ptr<protocol::Comm> comm) { on_comm(std::move(comm)); });
  if (!listener.ok()) return listener.status();
  listener_ = *listener;
  std::string host = options_.host;
  if (host.empty() || host == "0.0.0.0" || host == "::") host = reachable_host_ip();
  address_ = protocol::format_address(host, listener_->port());
  time_started_ = protocol::unix_now();
  idle_since_ = time_started_;
  // The facade before accepting: plugins started now see the first workers join.
  Result<std::unique_ptr<PythonSide>> python_side = PythonSide::start(
      *extension_context_, extensions_->plugins, options_, [this] { return address_; },
      id_,
      [this](std::string_view what, double start) { return diagnostics(what, start); });
  if (!python_side.ok()) return python_side.status().with_context("scheduler facade");
  python_side_ = std::move(*python_side);
  extensions_->events.set_listener(
      [this](const std::vector<std::string>& topics, const protocol::Value& msg) {
        python_side_->log_event(topics, msg);
      });
  listener_->start();

  // Upstream logs "  Scheduler at: %25s"; tools grep for it.
  spdlog::info("  Scheduler at: {:>25}", address_);

  if (options_.scheduler_file) {
    Status st = write_scheduler_file(*options_.scheduler_file, to_json(identity(-1)));
    if (!st.ok()) return st.with_context("--scheduler-file");
  }
  if (options_.pid_file) {
    Status st = write_pid_file(*options_.pid_file);
    if (!st.ok()) return st.with_context("--pid-file");
  }
  signals_.async_wait([this](const protocol::ErrorCode& ec, int signo) {
    if (ec) return;
    shutdown(signo == SIGINT ? "SIGINT" : "SIGTERM");
  });
  arm_idle_check();
  arm_ttl_check();
  arm_heap_trim_check();
  return Status::OK();
}

void SchedulerServer::run() { io_.run(); }

void SchedulerServer::on_comm(std::shared_ptr<protocol::Comm> comm) {
  if (shutting_down_) {
    comm->abort();
    return;
  }
  comms_.emplace(comm.get(), comm);
  asio::co_spawn(io_, serve(std::move(comm)), asio::detached);
}

asio::awaitable<void> SchedulerServer::serve(std::shared_ptr<protocol::Comm> comm) {
  co_await protocol::serve_rpc(comm, rpc_handlers_);
  comms_.erase(comm.get());
}

Value SchedulerServer::identity(std::int64_t n_workers) const {
  const SchedulerState& state = service_->state();
  std::int64_t total_memory = 0;
  for (WorkerId id : state.workers_by_address())
    total_memory += state.worker(id).memory_limit;
  protocol::Map workers;
  if (n_workers < 0) n_workers = static_cast<std::int64_t>(state.worker_count());
  for (WorkerId id : state.workers_by_address()) {
    if (static_cast<std::int64_t>(workers.size()) >= n_workers) break;
    const std::string& addr = state.worker(id).address;
    workers.emplace_back(Value(addr), worker_identity(*service_, addr));
  }
  protocol::Map services;
  if (options_.dashboard)
    services.emplace_back(Value("dashboard"), Value(options_.dashboard_port));
  return protocol::make_map(
      {{"type", Value("Scheduler")},
       {"id", Value(id_)},
       {"address", Value(address_)},
       {"services", Value(std::move(services))},
       {"started", Value(time_started_)},
       {"n_workers", Value(static_cast<std::int64_t>(state.worker_count()))},
       {"total_threads", Value(state.total_nthreads())},
       {"total_memory", Value(total_memory)},
       {"workers", Value(std::move(workers))}});
}

void SchedulerServer::arm_idle_check() {
  if (!options_.idle_timeout_seconds || shutting_down_) return;
  idle_timer_.expires_after(std::chrono::milliseconds(250));
  idle_timer_.async_wait([this](const protocol::ErrorCode& ec) {
    if (ec || shutting_down_) return;
    const double now = protocol::unix_now();
    // Upstream check_idle: busy while any client is connected or any task is
    // processing.
    bool processing = false;
    const SchedulerState& state = service_->state();
    for (WorkerId id : state.workers_by_address()) {
      if (!state.worker(id).processing.empty()) processing = true;
    }
    if (!connections_.clients().empty() || processing) idle_since_ = now;
    if (now - idle_since_ > *options_.idle_timeout_seconds) {
      spdlog::info("Scheduler closing after being idle for {:.2f} s",
                   *options_.idle_timeout_seconds);
      shutdown("idle timeout");
      return;
    }
    arm_idle_check();
  });
}

void SchedulerServer::shutdown(const std::string& reason) {
  if (shutting_down_) return;
  shutting_down_ = true;
  spdlog::info("Scheduler closing due to {}...", reason);
  if (python_side_) python_side_->close();
  if (listener_) listener_->stop();
  signals_.cancel();
  idle_timer_.cancel();
  for (auto& [id, client] : connections_.clients()) {
    if (!client.stream->closed()) {
      client.stream->send(protocol::make_map({{"op", Value("stream-closed")}}));
      client.stream->close();
    }
  }
  // Scheduler.close: every worker stream gets close + close-stream (this also
  // closes a nanny), then the comms close.
  for (auto& [addr, w] : connections_.workers()) {
    if (w.stream && !w.stream->closed()) {
      w.stream->send(protocol::CloseWorker{"scheduler-close"}.encode());
      w.stream->send(protocol::make_map({{"op", Value("close-stream")}}));
      w.stream->close();
    }
  }
  ttl_timer_.cancel();
  trim_timer_.cancel();
  service_->connection_pool().close_all();
  for (auto& [ptr, weak] : comms_) {
    if (auto comm = weak.lock()) comm->close();
  }
  remove_run_files();
  shutdown_deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  arm_shutdown_check();
}

void SchedulerServer::arm_shutdown_check() {
  // The loop ends by itself once every comm is gone; a peer that stops reading
  // (or a handshake still pending) must not keep us alive, hence the deadline.
  shutdown_timer_.expires_after(std::chrono::milliseconds(20));
  shutdown_timer_.async_wait([this](const protocol::ErrorCode& ec) {
    if (ec) return;
    if (comms_.empty() && connections_.clients().empty()) {
      spdlog::info("End scheduler");
      io_.stop();
      return;
    }
    if (std::chrono::steady_clock::now() >= shutdown_deadline_) {
      spdlog::warn("Shutdown: aborting {} comms that did not close in time",
                   comms_.size());
      for (auto& [ptr, weak] : comms_) {
        if (auto comm = weak.lock()) comm->abort();
      }
      io_.stop();
      return;
    }
    arm_shutdown_check();
  });
}

// After a burst of work (a large graph run, its tasks released) the heap holds
// freed memory in pages it does not give back by itself; once things are quiet
// again it is handed back (malloc_trim, off the loop), so the scheduler's RSS
// follows what it holds. Not during a burst: a trim holds the allocator's locks.
void SchedulerServer::arm_heap_trim_check() {
  constexpr std::uint64_t kBurstTransitions = 100'000;
  constexpr std::uint64_t kQuietTransitions = 1'000;  // per check interval
  if (shutting_down_) return;
  trim_timer_.expires_after(std::chrono::seconds(1));
  trim_timer_.async_wait([this](const protocol::ErrorCode& ec) {
    if (ec || shutting_down_) return;
    const std::uint64_t now = service_->state().transition_counter;
    const bool quiet = now - transitions_at_last_check_ < kQuietTransitions;
    if (quiet && now - transitions_at_last_trim_ >= kBurstTransitions && materializer_) {
      materializer_->release_freed_memory();
      transitions_at_last_trim_ = now;
    }
    transitions_at_last_check_ = now;
    arm_heap_trim_check();
  });
}

void SchedulerServer::arm_ttl_check() {
  if (options_.worker_ttl_seconds <= 0 || shutting_down_) return;
  ttl_timer_.expires_after(std::chrono::seconds(1));
  ttl_timer_.async_wait([this](const protocol::ErrorCode& ec) {
    if (ec || shutting_down_) return;
    // Scheduler.check_worker_ttl: ttl is at least 10 heartbeat intervals.
    const double now = protocol::unix_now();
    auto& workers = connections_.workers();
    const double ttl =
        std::max(options_.worker_ttl_seconds, 10 * heartbeat_interval(workers.size()));
    std::vector<std::string> expired;
    for (const auto& [addr, w] : workers) {
      if (now - w.last_seen > ttl) expired.push_back(addr);
    }
    for (const std::string& addr : expired) {
      spdlog::warn("Worker failed to heartbeat for {:.0f}s; removing: {}",
                   now - workers.at(addr).last_seen, addr);
      service_->remove_worker(addr, /*expected=*/false, /*close=*/true,
                              "check-worker-ttl");
    }
    arm_ttl_check();
  });
}

void SchedulerServer::remove_run_files() {
  if (options_.scheduler_file) remove_file_quietly(*options_.scheduler_file);
  if (options_.pid_file) remove_file_quietly(*options_.pid_file);
}

}  // namespace daskcpp::scheduler
