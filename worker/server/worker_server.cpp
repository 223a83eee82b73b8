#include "worker/server/worker_server.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>

#include "protocol/codec/message_codec.hpp"
#include "protocol/comm/address.hpp"
#include "protocol/comm/connect.hpp"
#include "protocol/comm/rpc_server.hpp"
#include "protocol/comm/worker_link.hpp"
#include "protocol/messages/python_exception.hpp"
#include "protocol/messages/uuid.hpp"
#include "protocol/messages/worker_ops.hpp"
#include "protocol/rpc/clock.hpp"
#include "protocol/rpc/decode.hpp"
#include "worker/server/nanny_link.hpp"
#include "worker/server/scheduler_messages.hpp"

namespace daskcpp::worker {

namespace {

using protocol::make_map;
using protocol::Map;
using protocol::Value;

// Worker -> scheduler batching interval (distributed.worker BatchedSend 2 ms).
constexpr std::chrono::milliseconds kStreamInterval{2};

}  // namespace

WorkerServer::WorkerServer(WorkerOptions options)
    : options_(std::move(options)),
      signals_(io_, SIGINT, SIGTERM),
      heartbeat_timer_(io_),
      rpc_("Worker"),
      pool_(protocol::CommOptions{}, protocol::ConnectOptions{}),
      server_id_("Worker-" + protocol::uuid4()) {}

WorkerServer::~WorkerServer() {
  close_python_context();  // plugin teardown, the tasks' client: before the executors
  if (runner_) runner_->stop();
  runner_.reset();  // its threads end before the interpreter does
  if (interpreter_) interpreter_->stop();
}

Status WorkerServer::start() {
  python_compat::InterpreterOptions py;
  py.python_executable = options_.python_executable;
  py.preload_modules = {"daskcpp._worker"};
  DASKCPP_ASSIGN_OR_RETURN(interpreter_, python_compat::Interpreter::start(py));
  DASKCPP_ASSIGN_OR_RETURN(
      runner_, python_compat::TaskRunner::start(*interpreter_, options_.nthreads));
  DASKCPP_ASSIGN_OR_RETURN(Bytes versions, runner_->versions_msgpack());
  DASKCPP_ASSIGN_OR_RETURN(versions_, protocol::decode_msgpack(versions.span()));

  DASKCPP_RETURN_NOT_OK(create_work_directory());
  DASKCPP_RETURN_NOT_OK(start_memory_manager());
  setup_rpc_handlers();
  setup_stream_handlers();
  DASKCPP_ASSIGN_OR_RETURN(
      listener_,
      protocol::Listener::listen(
          io_.get_executor(),
          protocol::Address{options_.listen_host, options_.listen_port},
          protocol::CommOptions{}, [this](std::shared_ptr<protocol::Comm> comm) {
            asio::co_spawn(io_, protocol::serve_rpc(std::move(comm), rpc_),
                           asio::detached);
          }));
  listener_->start();
  signals_.async_wait([this](const protocol::ErrorCode& ec, int sig) {
    if (!ec) close(sig == SIGINT ? "signal-SIGINT" : "signal-SIGTERM", false);
  });
  asio::co_spawn(io_, main_task(), asio::detached);
  return Status::OK();
}

Status WorkerServer::run() {
  io_.run();
  return close_reason_;
}

asio::awaitable<void> WorkerServer::main_task() {
  Status st = co_await register_with_scheduler();
  if (!st.ok()) {
    spdlog::error("Cannot register with the scheduler at {}: {}",
                  options_.scheduler_address, st.to_string());
    close_reason_ = st;
    close("register-failed", false);
    co_return;
  }
  asio::co_spawn(io_, heartbeat_loop(), asio::detached);
  asio::co_spawn(io_, memory_monitor_loop(), asio::detached);
  Status ended = co_await stream_->run(stream_handlers_, Value(Map{}), nullptr);
  if (!closing_) {
    spdlog::info("Connection to scheduler broken: {}", ended.to_string());
    close("scheduler-stream-closed");
  }
}

asio::awaitable<Status> WorkerServer::register_with_scheduler() {
  protocol::ConnectOptions connect;
  connect.timeout = options_.death_timeout;
  auto comm = co_await protocol::connect(options_.scheduler_address,
                                         protocol::CommOptions{}, connect);
  if (!comm.ok()) co_return comm.status();
  std::string host = options_.contact_host;
  if (host.empty()) {
    auto local = protocol::parse_address((*comm)->local_address());
    if (!local.ok()) co_return local.status();
    host = local->host;
  }
  address_ = protocol::format_address(host, listener_->port());
  state_ = std::make_unique<WorkerState>(
      WorkerStateOptions{address_, options_.nthreads, 10, 50'000'000},
      options_.resources);
  if (Status st = configure_python_context(); !st.ok()) co_return st;

  protocol::RegisterWorker reg;
  reg.reply = false;
  reg.address = address_;
  reg.status = "init";
  reg.nthreads = options_.nthreads;
  reg.name = options_.name ? Value(*options_.name) : Value(address_);
  reg.now = protocol::unix_now();
  reg.memory_limit = options_.memory_limit;
  protocol::Map resources;
  for (const auto& [name, amount] : options_.resources)
    resources.emplace_back(Value(name), Value(amount));
  reg.resources = Value(std::move(resources));
  reg.local_directory = work_dir_;
  reg.pid = static_cast<std::int64_t>(getpid());
  reg.versions = versions_;
  reg.metrics = metrics();
  reg.stimulus_id = protocol::stimulus_id("worker-connect");
  reg.server_id = server_id_;
  reg.nanny = options_.nanny_address;
  auto decoded = co_await protocol::register_worker(**comm, reg);
  if (!decoded.ok()) co_return decoded.status();
  heartbeat_interval_ = decoded->heartbeat_interval;
  add_scheduler_plugins(decoded->worker_plugins);
  if (!decoded->warning.empty()) spdlog::warn("{}", decoded->warning);
  spdlog::info("Registered to: {}", options_.scheduler_address);
  spdlog::info("Start worker at: {}", address_);

  stream_ = protocol::BatchedStream::make(std::move(*comm), kStreamInterval);
  status_ = "running";
  stream_->send(
      protocol::WorkerStatusChange{status_, protocol::stimulus_id("worker-status-change")}
          .encode());
  if (options_.on_running) options_.on_running(address_);
  co_return Status::OK();
}

Value WorkerServer::metrics() const {
  protocol::WorkerMetrics m;
  if (state_) {
    for (const auto& [name, n] : state_->task_counts())
      m.task_counts.emplace_back(name, n);
  }
  m.managed_bytes = state_ ? state_->managed_bytes() : 0;
  m.spilled_memory = data_.spilled().memory;
  m.spilled_disk = data_.spilled().disk;
  m.incoming_count =
      state_ ? static_cast<std::int64_t>(state_->in_flight_workers().size()) : 0;
  m.incoming_count_total = incoming_count_total_;
  m.outgoing_count = outgoing_count_;
  m.outgoing_count_total = outgoing_count_total_;
  m.memory = process_memory();
  m.time = protocol::unix_now();
  return protocol::metrics_value(std::move(m));
}

// {name: heartbeat} of the extensions Python plugins registered (the P2P shuffle's
// per-run progress), an empty map when there are none or they failed.
Value WorkerServer::extensions_heartbeat() const {
  Result<std::optional<Bytes>> beats = runner_->extensions_heartbeat();
  if (!beats.ok()) {
    spdlog::warn("extension heartbeats: {}", beats.status().to_string());
    return Value(Map{});
  }
  if (!*beats) return Value(Map{});
  Result<Value> decoded = protocol::decode_msgpack((*beats)->span());
  if (!decoded.ok() || !decoded->is_map()) return Value(Map{});
  return std::move(*decoded);
}

// Mirrors Worker.heartbeat: report, adopt the interval, close when unknown.
asio::awaitable<void> WorkerServer::heartbeat_loop() {
  while (!closing_) {
    heartbeat_timer_.expires_after(
        std::chrono::milliseconds(static_cast<std::int64_t>(heartbeat_interval_ * 1000)));
    protocol::ErrorCode ec;
    co_await heartbeat_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || closing_) co_return;
    Map executing;
    for (const Key& key : state_->executing())
      executing.emplace_back(key.wire_value(), 0.0);
    protocol::HeartbeatOutcome beat = co_await protocol::heartbeat(
        pool_, options_.scheduler_address, address_, protocol::unix_now(), metrics(),
        std::move(executing), extensions_heartbeat());
    if (closing_) co_return;
    if (!beat.error.ok()) {
      spdlog::warn("Heartbeat to scheduler failed: {}", beat.error.to_string());
      continue;
    }
    if (beat.missing) {
      spdlog::error("Scheduler was unaware of this worker; shutting down");
      close("worker-heartbeat-missing");
      co_return;
    }
    if (beat.interval) heartbeat_interval_ = *beat.interval;
  }
}

// Mirrors Worker.close (no nanny, no executor wait): tell the scheduler, stop
// accepting, let the stream flush, then stop the loop.
void WorkerServer::close(const std::string& reason, bool notify_nanny) {
  if (closing_) return;
  closing_ = true;
  spdlog::info("Stopping worker at {}. Reason: {}", address_, reason);
  status_ = "closing";
  if (stream_ && !stream_->closed()) {
    protocol::send_closing(*stream_, address_, reason,
                           protocol::stimulus_id("worker-close"));
  }
  if (listener_) listener_->stop();
  heartbeat_timer_.cancel();
  memory_timer_.cancel();
  signals_.cancel();
  remove_work_directory();
  pool_.close_all();
  asio::co_spawn(io_, finish_close(reason, notify_nanny), asio::detached);
}

asio::awaitable<void> WorkerServer::finish_close(std::string reason, bool notify_nanny) {
  if (notify_nanny && options_.nanny_address) {
    Status st = co_await tell_nanny_close_gracefully(*options_.nanny_address, reason);
    if (!st.ok()) spdlog::warn("Could not tell the nanny we close: {}", st.to_string());
  }
  // Give the graceful close of the stream a moment to reach the scheduler.
  asio::steady_timer timer(io_, std::chrono::milliseconds(100));
  protocol::ErrorCode ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  io_.stop();
}

// ---- state machine glue ---------------------------------------------------------

void WorkerServer::handle(StateMachineEvent event) {
  Result<Instructions> instructions = state_->handle_stimulus(event);
  if (!instructions.ok()) {
    // A bug in the state machine, not bad input: say so loudly; the worker goes on
    // with the state as far as it got (upstream logs InvalidTransition likewise).
    spdlog::error("worker state machine: {}", instructions.status().to_string());
    return;
  }
  dispatch(std::move(*instructions));
}

void WorkerServer::dispatch(Instructions instructions) {
  for (Instruction& ins : instructions) {
    if (auto* ex = std::get_if<Execute>(&ins)) {
      execute(*ex);
    } else if (auto* gd = std::get_if<GatherDep>(&ins)) {
      asio::co_spawn(io_, gather_dep(std::move(*gd)), asio::detached);
    } else if (auto* fd = std::get_if<FreeData>(&ins)) {
      free_data(fd->key);
    } else if (std::optional<Value> op = scheduler_op(ins); op && stream_) {
      stream_->send(std::move(*op));
    }
  }
}

void WorkerServer::store(const Key& key, ValueId id, std::int64_t nbytes) {
  std::optional<StoredValue> replaced = data_.put(key, id, nbytes);
  if (replaced && replaced->id != id) remove_spilled(*replaced);
  spill_to_target();
}

void WorkerServer::free_data(const Key& key) {
  if (std::optional<StoredValue> v = data_.erase(key)) remove_spilled(*v);
}

void WorkerServer::execute(const Execute& ex) {
  const TaskState* ts = state_->task(ex.key);
  python_compat::TaskJob job;
  job.result_id = next_value_id_++;
  job.canonical_key = ex.key.canonical();
  if (ts != nullptr && ts->run_spec.is_payload()) {
    job.spec_header = ts->run_spec.as_payload()->header;
    job.spec_frames = ts->run_spec.as_payload()->frames;
  }
  // Dependencies stay in memory (pinned) until the task is done with them.
  std::vector<Key> pinned;
  if (ts != nullptr) {
    for (const Key& dep : ts->dependencies) {
      data_.pin(dep);
      pinned.push_back(dep);
      if (Status st = unspill(dep); !st.ok()) {
        spdlog::error("unspilling {}: {}", dep.to_debug_string(), st.to_string());
      }
      const StoredValue* v = data_.touch(dep);
      // A missing value makes the helper raise KeyError: reported as a task error.
      job.dependencies.emplace_back(
          dep.canonical(), v != nullptr && v->where == Where::memory ? v->id : 0);
    }
  }
  spill_to_target();
  ValueId id = job.result_id;
  bool queued = runner_->submit(
      std::move(job), [this, key = ex.key, id,
                       pinned = std::move(pinned)](Result<python_compat::TaskOutcome> r) {
        asio::post(io_, [this, key, id, pinned, r = std::move(r)]() mutable {
          for (const Key& dep : pinned) data_.unpin(dep);
          on_execute_done(key, id, std::move(r));
        });
      });
  if (!queued) spdlog::warn("executor stopped; {} not run", ex.key.to_debug_string());
}

Value serialized_payload(const python_compat::SerializedValue& v) {
  auto p = std::make_shared<protocol::Payload>();
  p->kind = protocol::Payload::Kind::kSerialized;
  p->header = v.header;
  p->frames = v.frames;
  return Value(protocol::PayloadPtr(std::move(p)));
}

void WorkerServer::on_execute_done(Key key, ValueId id,
                                   Result<python_compat::TaskOutcome> r) {
  if (closing_) return;
  const TaskState* ts = state_->task(key);
  ExecuteDoneEvent done;
  done.key = key;
  done.run_id = ts ? ts->run_id : 0;
  if (!r.ok()) {
    // The bridge itself failed (not the task): there is no Python exception to
    // forward, so report a RuntimeError pickled without Python (protocol.md
    // Appendix B). Logging alone would leave the task processing forever.
    std::string text = "daskcpp-worker could not run the task: " + r.status().to_string();
    spdlog::error("executing {}: {}", key.to_debug_string(), text);
    done.start = done.stop = protocol::unix_now();
    done.stimulus_id = protocol::stimulus_id("task-erred");
    ExecuteFailureEvent ev;
    static_cast<ExecuteDoneEvent&>(ev) = std::move(done);
    ev.exception = Value(protocol::pickle_runtime_error(text));
    ev.exception_text = std::move(text);
    handle(std::move(ev));
    return;
  }
  done.start = r->start;
  done.stop = r->stop;
  done.thread = r->thread;
  if (r->rescheduled) {
    // Upstream _run_task_simple: stimulus "reschedule-<time>".
    done.stimulus_id = protocol::stimulus_id("reschedule");
    RescheduleEvent ev;
    static_cast<ExecuteDoneEvent&>(ev) = std::move(done);
    handle(std::move(ev));
  } else if (r->ok) {
    store(key, id, r->info.nbytes);
    done.stimulus_id = protocol::stimulus_id("task-finished");
    ExecuteSuccessEvent ev;
    static_cast<ExecuteDoneEvent&>(ev) = std::move(done);
    ev.nbytes = r->info.nbytes;
    ev.type_pickle = r->info.type_pickle;
    ev.type_name = r->info.type_name;
    handle(std::move(ev));
  } else {
    done.stimulus_id = protocol::stimulus_id("task-erred");
    ExecuteFailureEvent ev;
    static_cast<ExecuteDoneEvent&>(ev) = std::move(done);
    ev.exception = serialized_payload(r->exception);
    if (r->traceback) ev.traceback = serialized_payload(*r->traceback);
    ev.exception_text = r->exception_text;
    ev.traceback_text = r->traceback_text;
    handle(std::move(ev));
  }
}

// ---- handler tables -------------------------------------------------------------

namespace {

template <typename Op>
protocol::StreamHandler event_op(std::function<void(StateMachineEvent)> apply) {
  return protocol::stream_op<Op>(
      [apply = std::move(apply)](const Op& op) { apply(to_event(op)); });
}

}  // namespace

void WorkerServer::setup_stream_handlers() {
  using protocol::stream_op;
  auto& h = stream_handlers_;
  // The scheduler ops the state machine handles: each becomes its event.
  auto apply = [this](StateMachineEvent ev) { handle(std::move(ev)); };
  h.add("compute-task", event_op<protocol::ComputeTask>(apply));
  h.add("free-keys", event_op<protocol::FreeKeys>(apply));
  h.add("steal-request", event_op<protocol::StealRequest>(apply));
  h.add("acquire-replicas", event_op<protocol::AcquireReplicas>(apply));
  h.add("remove-replicas", event_op<protocol::RemoveReplicas>(apply));
  h.add("refresh-who-has", event_op<protocol::RefreshWhoHas>(apply));
  h.add("remove-worker", event_op<protocol::RemoveWorker>(apply));
  h.add("worker-status-change", stream_op<protocol::WorkerStatusChange>(
                                    [this](const protocol::WorkerStatusChange& op) {
                                      set_status(op.status, op.stimulus_id);
                                    }));
  h.add("close", stream_op<protocol::CloseWorker>(
                     [this](const protocol::CloseWorker& op) { close(op.reason); }));
  h.add("cancel-compute", [](const protocol::StreamMessage&) { return Status::OK(); });
  h.set_fallback(
      [this](const protocol::StreamMessage& sm) { return forward_stream_op(sm); });
}

void WorkerServer::setup_rpc_handlers() {
  setup_python_rpcs();
  rpc_.add("get_data", [this](protocol::RpcRequest& req) { return serve_get_data(req); });
  rpc_.add("gather", [this](protocol::RpcRequest& req) { return serve_gather(req); });
  rpc_.add_sync("update_data",
                [this](protocol::RpcRequest& req) { return serve_update_data(req); });
  rpc_.add_sync("free_keys", [this](protocol::RpcRequest& req) -> Value {
    FreeKeysEvent ev;
    Result<protocol::FieldReader> r = protocol::FieldReader::open("free_keys", req.args);
    if (!r.ok()) return Value();
    auto keys = r->keys("keys");
    if (!keys.ok()) return Value();
    ev.keys = std::move(*keys);
    auto sid = r->opt_str("stimulus_id");
    ev.stimulus_id =
        (sid.ok() && sid->has_value()) ? **sid : protocol::stimulus_id("free-keys");
    handle(std::move(ev));
    return Value();
  });
  rpc_.add_sync("identity", [this](protocol::RpcRequest&) {
    return make_map({{"type", "Worker"},
                     {"id", Value(server_id_)},
                     {"scheduler", Value(options_.scheduler_address)},
                     {"nthreads", options_.nthreads},
                     {"memory_limit",
                      options_.memory_limit ? Value(*options_.memory_limit) : Value()}});
  });
  rpc_.add_sync("keys", [this](protocol::RpcRequest&) {
    protocol::Array keys;
    for (const Key& key : data_.keys()) keys.push_back(key.wire_value());
    return Value(std::move(keys));
  });
  rpc_.add_sync("terminate", [this](protocol::RpcRequest&) {
    close("worker-terminate");
    return Value("OK");
  });
}

}  // namespace daskcpp::worker
