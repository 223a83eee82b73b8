#include "bench/sim/sim_worker.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "bench/sim/none_value.hpp"
#include "protocol/codec/msgpack_view.hpp"
#include "protocol/comm/address.hpp"
#include "protocol/comm/connect.hpp"
#include "protocol/comm/rpc_server.hpp"
#include "protocol/comm/worker_link.hpp"
#include "protocol/messages/hot_ops.hpp"
#include "protocol/messages/rpc_ops.hpp"
#include "protocol/messages/uuid.hpp"
#include "protocol/rpc/clock.hpp"
#include "protocol/rpc/decode.hpp"

namespace daskcpp::bench {

namespace {

using protocol::make_map;
using protocol::Map;
using protocol::Value;

// Worker -> scheduler batching: the next loop turn, where a stock worker waits up
// to 2 ms after its last write (distributed.worker BatchedSend). Ops produced in
// one turn still leave together; the worker's own batching delay is kept out of
// the scheduler's measured throughput (issue 11).
constexpr std::chrono::milliseconds kStreamInterval{0};
// Reported to the scheduler; the sim worker holds nothing but Nones.
constexpr std::int64_t kMemoryLimit = 2LL << 30;

std::int64_t process_rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

using protocol::stream_op;

const protocol::Key& dep_key_of(
    const std::pair<protocol::Key, protocol::AddressList>& dep) {
  return dep.first;
}
const protocol::Key& dep_key_of(const protocol::Key& dep) { return dep; }

}  // namespace

// compute-task's key, run_id and dependency keys, read from the parsed message;
// nullopt for anything unusual (the generic handler then decodes it fully).
std::optional<SimWorker::ComputeTaskHead> SimWorker::read_compute_task_head(
    const msgpack::object& m) {
  namespace view = protocol::view;
  ComputeTaskHead head;
  const msgpack::object* key = view::find(m, "key");
  std::optional<std::int64_t> run_id = view::int64(view::find(m, "run_id"));
  const msgpack::object* who_has = view::find(m, "who_has");
  std::string key_bytes;
  if (key == nullptr || !run_id || who_has == nullptr ||
      who_has->type != msgpack::type::MAP || !view::append_key_bytes(*key, key_bytes)) {
    return std::nullopt;
  }
  head.key = Key::from_wire(std::move(key_bytes));
  head.run_id = *run_id;
  head.dependencies.reserve(who_has->via.map.size);
  for (std::uint32_t i = 0; i < who_has->via.map.size; ++i) {
    std::string dep;
    if (!view::append_key_bytes(who_has->via.map.ptr[i].key, dep)) return std::nullopt;
    head.dependencies.push_back(Key::from_wire(std::move(dep)));
  }
  return head;
}

SimWorker::SimWorker(asio::io_context& io, protocol::ConnectionPool& pool,
                     SimWorkerConfig config, OnClosed on_closed)
    : io_(io),
      pool_(pool),
      config_(std::move(config)),
      on_closed_(std::move(on_closed)),
      rpc_("Worker"),
      heartbeat_timer_(io) {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  server_id_ = "Worker-" + protocol::uuid4(gen);
}

asio::awaitable<Status> SimWorker::start() {
  setup_rpc_handlers();
  setup_stream_handlers();
  auto listener = protocol::Listener::listen(
      io_.get_executor(), protocol::Address{config_.host, 0}, protocol::CommOptions{},
      [this](std::shared_ptr<protocol::Comm> comm) {
        asio::co_spawn(io_, protocol::serve_rpc(std::move(comm), rpc_), asio::detached);
      });
  if (!listener.ok()) {
    closing_ = true;
    finish_close();
    co_return listener.status();
  }
  listener_ = std::move(*listener);
  listener_->start();
  address_ = protocol::format_address(config_.host, listener_->port());
  Status st = co_await register_with_scheduler();
  if (!st.ok()) {
    closing_ = true;
    listener_->stop();
    finish_close();
    co_return st;
  }
  if (closing_) {  // stopped while registering
    stream_->close();
    co_return Status::Cancelled("stopped while registering");
  }
  asio::co_spawn(io_, run_stream(), asio::detached);
  asio::co_spawn(io_, heartbeat_loop(), asio::detached);
  co_return Status::OK();
}

// Mirrors Worker._register_with_scheduler (protocol.md §6.1, Appendix F).
asio::awaitable<Status> SimWorker::register_with_scheduler() {
  auto comm = co_await protocol::connect(
      config_.scheduler_address, protocol::CommOptions{}, protocol::ConnectOptions{});
  if (!comm.ok()) co_return comm.status();
  protocol::RegisterWorker reg;
  reg.reply = false;
  reg.address = address_;
  reg.status = "init";
  reg.nthreads = config_.nthreads;
  reg.name = Value(config_.name);
  reg.now = protocol::unix_now();
  reg.memory_limit = kMemoryLimit;
  reg.local_directory = "/tmp/" + config_.name;
  reg.pid = static_cast<std::int64_t>(getpid());
  reg.versions = config_.versions;
  reg.metrics = metrics();
  reg.stimulus_id = protocol::stimulus_id("worker-connect");
  reg.server_id = server_id_;
  auto decoded = co_await protocol::register_worker(**comm, reg);
  if (!decoded.ok()) co_return decoded.status();
  heartbeat_interval_s_ = decoded->heartbeat_interval;
  if (!decoded->warning.empty()) spdlog::warn("{}: {}", address_, decoded->warning);
  spdlog::debug("Registered {} as {}", address_, config_.name);

  stream_ = protocol::BatchedStream::make(std::move(*comm), kStreamInterval);
  status_ = "running";
  send(
      protocol::WorkerStatusChange{status_, protocol::stimulus_id("worker-status-change")}
          .encode());
  co_return Status::OK();
}

asio::awaitable<void> SimWorker::run_stream() {
  // Keeps the stream alive for as long as run() reads from it.
  std::shared_ptr<protocol::BatchedStream> stream = stream_;
  Status ended = co_await stream->run(stream_handlers_, Value(Map{}), nullptr);
  if (!closing_) {
    spdlog::info("{}: connection to scheduler broken: {}", address_, ended.to_string());
    stop("scheduler-stream-closed");
  }
}

Value SimWorker::metrics() const {
  std::int64_t ready = 0;
  for (const auto& [key, task] : tasks_) ready += task.status == TaskStatus::kReady;
  protocol::WorkerMetrics m;
  m.task_counts.emplace_back("memory", static_cast<std::int64_t>(memory_.size()));
  m.task_counts.emplace_back("ready", ready);
  m.task_counts.emplace_back("executing", static_cast<std::int64_t>(executing_));
  m.managed_bytes = kNoneNbytes * static_cast<std::int64_t>(memory_.size());
  m.spilled_memory = m.managed_bytes;
  m.memory = process_rss_bytes();
  m.time = protocol::unix_now();
  return protocol::metrics_value(std::move(m));
}

// Mirrors Worker.heartbeat. The first beat is at a random point of the first
// interval so that a thousand workers started together do not beat together.
asio::awaitable<void> SimWorker::heartbeat_loop() {
  std::minstd_rand jitter(static_cast<std::uint32_t>(config_.thread_id + 1));
  double delay =
      heartbeat_interval_s_ * std::uniform_real_distribution<>(0.1, 1.0)(jitter);
  while (!closing_) {
    heartbeat_timer_.expires_after(
        std::chrono::microseconds(static_cast<std::int64_t>(delay * 1e6)));
    protocol::ErrorCode ec;
    co_await heartbeat_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || closing_) co_return;
    const double now = protocol::unix_now();
    Map executing;
    for (const auto& [key, task] : tasks_) {
      if (task.status == TaskStatus::kExecuting) {
        executing.emplace_back(key.wire_value(), now - task.start);
      }
    }
    protocol::HeartbeatOutcome beat = co_await protocol::heartbeat(
        pool_, config_.scheduler_address, address_, now, metrics(), std::move(executing));
    if (closing_) co_return;
    delay = heartbeat_interval_s_;
    if (!beat.error.ok()) {
      spdlog::warn("{}: heartbeat failed: {}", address_, beat.error.to_string());
      continue;
    }
    if (beat.missing) {
      spdlog::error("{}: scheduler was unaware of this worker; closing", address_);
      stop("worker-heartbeat-missing");
      co_return;
    }
    if (beat.interval) delay = heartbeat_interval_s_ = *beat.interval;
  }
}

void SimWorker::stop(const std::string& reason) {
  if (closing_) return;
  closing_ = true;
  spdlog::debug("Stopping worker at {}. Reason: {}", address_, reason);
  status_ = "closing";
  if (stream_ && !stream_->closed()) {
    protocol::send_closing(*stream_, address_, reason,
                           protocol::stimulus_id("worker-close"));
  }
  if (listener_) listener_->stop();
  heartbeat_timer_.cancel();
  finish_close();
}

void SimWorker::send(Value op) {
  // An RPC (free_keys) may arrive before the stream exists.
  if (stream_) stream_->send(std::move(op));
}

void SimWorker::finish_close() {
  if (closed_) return;
  closed_ = true;
  if (on_closed_) on_closed_(*this);
}

// ---- stream ops -----------------------------------------------------------------

void SimWorker::setup_stream_handlers() {
  auto& h = stream_handlers_;
  h.add("compute-task",
        stream_op<protocol::ComputeTask>([this](const protocol::ComputeTask& op) {
          on_compute_task(op.key, op.run_id, op.who_has);
        }));
  // The once-per-task ops without Value trees (the generic handlers above take
  // whatever these decline). A simulated worker needs only the key, the run id and
  // the dependencies of a compute-task.
  h.add_fast("compute-task",
             [this](const protocol::RawStreamMessage& m) -> std::optional<Status> {
               std::optional<ComputeTaskHead> head = read_compute_task_head(m.msg);
               if (!head) return std::nullopt;
               on_compute_task(head->key, head->run_id, head->dependencies);
               return Status::OK();
             });
  h.add_fast("free-keys",
             [this](const protocol::RawStreamMessage& m) -> std::optional<Status> {
               std::optional<protocol::FreeKeys> op = protocol::read_free_keys(m.msg);
               if (!op) return std::nullopt;
               on_free_keys(op->keys, op->stimulus_id);
               return Status::OK();
             });
  h.add("free-keys", stream_op<protocol::FreeKeys>([this](const protocol::FreeKeys& op) {
          on_free_keys(op.keys, op.stimulus_id);
        }));
  // The scheduler has already dropped these replicas from its bookkeeping.
  h.add("remove-replicas",
        stream_op<protocol::RemoveReplicas>([this](const protocol::RemoveReplicas& op) {
          on_free_keys(op.keys, op.stimulus_id);
        }));
  h.add("steal-request",
        stream_op<protocol::StealRequest>(
            [this](const protocol::StealRequest& op) { on_steal_request(op); }));
  h.add("acquire-replicas",
        stream_op<protocol::AcquireReplicas>(
            [this](const protocol::AcquireReplicas& op) { on_acquire_replicas(op); }));
  h.add("worker-status-change",
        stream_op<protocol::WorkerStatusChange>(
            [this](const protocol::WorkerStatusChange& op) {
              status_ = op.status;
              send(protocol::WorkerStatusChange{status_, op.stimulus_id}.encode());
            }));
  h.add("close", stream_op<protocol::CloseWorker>(
                     [this](const protocol::CloseWorker& op) { stop(op.reason); }));
  // Nothing to do: we never fetch, so replica locations and departed peers are moot.
  for (const char* op : {"refresh-who-has", "remove-worker", "cancel-compute"}) {
    h.add(op, [](const protocol::StreamMessage&) { return Status::OK(); });
  }
}

// Mirrors Worker handle_compute_task / _handle_compute_task: a key already in
// memory is reported at once; one already queued or running only takes the new
// run_id; otherwise its missing dependencies count as fetched (add-keys) and it
// joins the ready queue.
template <typename Deps>
void SimWorker::on_compute_task(const Key& key, std::int64_t run_id, const Deps& deps) {
  config_.stats->on_compute_task(protocol::unix_now());
  if (memory_.contains(key)) {
    double now = protocol::unix_now();
    send_task_finished(key, run_id, now, now + 1e-6);
    return;
  }
  if (auto it = tasks_.find(key); it != tasks_.end()) {
    it->second.run_id = run_id;
    it->second.cancelled = false;
    return;
  }
  std::vector<Key> fetched;
  for (const auto& dep : deps) {
    const Key& dep_key = dep_key_of(dep);
    if (memory_.insert(dep_key).second) fetched.push_back(dep_key);
  }
  if (!fetched.empty()) {
    send(
        protocol::AddKeys{std::move(fetched), protocol::stimulus_id("gather-dep-success")}
            .encode());
  }
  Task task;
  task.run_id = run_id;
  task.seq = next_seq_++;
  tasks_.emplace(key, task);
  ready_.emplace_back(key, task.seq);
  start_ready_tasks();
}

void SimWorker::start_ready_tasks() {
  while (executing_ < config_.nthreads && !ready_.empty()) {
    auto [key, seq] = std::move(ready_.front());
    ready_.pop_front();
    auto it = tasks_.find(key);
    if (it == tasks_.end() || it->second.seq != seq ||
        it->second.status != TaskStatus::kReady) {
      continue;  // stolen or freed since it was queued
    }
    it->second.status = TaskStatus::kExecuting;
    it->second.start = protocol::unix_now();
    ++executing_;
    if (config_.compute.count() == 0) {
      asio::post(io_, [this, key = std::move(key), seq] { on_task_done(key, seq); });
    } else {
      auto timer = std::make_shared<asio::steady_timer>(io_, config_.compute);
      timer->async_wait([this, timer, key = std::move(key),
                         seq](const protocol::ErrorCode&) { on_task_done(key, seq); });
    }
  }
}

void SimWorker::on_task_done(const Key& key, std::uint64_t seq) {
  --executing_;
  auto it = tasks_.find(key);
  if (closing_ || it == tasks_.end() || it->second.seq != seq) return;
  Task task = it->second;
  tasks_.erase(it);
  if (!task.cancelled) {
    memory_.insert(key);
    // Stock work stealing asserts on a compute duration of exactly 0 (Appendix F).
    send_task_finished(key, task.run_id, task.start,
                       std::max(protocol::unix_now(), task.start + 1e-6));
  }
  start_ready_tasks();
}

void SimWorker::send_task_finished(const Key& key, std::int64_t run_id, double start,
                                   double stop) {
  protocol::TaskFinished msg;
  msg.key = key;
  msg.run_id = run_id;
  msg.nbytes = kNoneNbytes;
  msg.type = none_type_pickle();
  msg.typename_ = kNoneTypename;
  msg.thread = config_.thread_id;
  msg.startstops.push_back(protocol::StartStop{"compute", start, stop, std::nullopt});
  msg.stimulus_id = protocol::stimulus_id("task-finished");
  if (stream_) {
    stream_->sender().send_encoded([&msg](protocol::MsgpackWriter& w, protocol::Frames&) {
      protocol::write_task_finished(w, msg);
    });
  }
  config_.stats->on_task_finished(stop);
}

// Mirrors the free-keys / remove-replicas handling of the worker state machine:
// queued tasks are forgotten, running ones cancelled (their result dropped), and
// every held key is answered with release-worker-data.
void SimWorker::on_free_keys(const std::vector<Key>& keys, const std::string& sid) {
  for (const Key& key : keys) {
    if (auto it = tasks_.find(key); it != tasks_.end()) {
      if (it->second.status == TaskStatus::kReady) {
        tasks_.erase(it);
      } else {
        it->second.cancelled = true;
      }
    }
    if (memory_.erase(key) > 0) {
      send(protocol::ReleaseWorkerData{key, sid}.encode());
    }
  }
}

// Mirrors WorkerState._handle_steal_request: report the state; a task that has not
// started yet is dropped so that the thief may run it.
void SimWorker::on_steal_request(const protocol::StealRequest& op) {
  std::optional<std::string> state;
  if (auto it = tasks_.find(op.key); it != tasks_.end()) {
    if (it->second.status == TaskStatus::kReady) {
      state = "ready";
      tasks_.erase(it);
    } else {
      state = it->second.cancelled ? "cancelled" : "executing";
    }
  } else if (memory_.contains(op.key)) {
    state = "memory";
  }
  send(protocol::StealResponse{op.key, state, op.stimulus_id}.encode());
}

// The replicas count as fetched at once; reported with add-keys as after a
// real gather_dep.
void SimWorker::on_acquire_replicas(const protocol::AcquireReplicas& op) {
  std::vector<Key> fetched;
  for (const auto& [key, holders] : op.who_has) {
    if (!tasks_.contains(key) && memory_.insert(key).second) fetched.push_back(key);
  }
  if (!fetched.empty()) {
    send(protocol::AddKeys{std::move(fetched), op.stimulus_id}.encode());
  }
}

// ---- RPCs -----------------------------------------------------------------------

void SimWorker::setup_rpc_handlers() {
  rpc_.add("get_data", [this](protocol::RpcRequest& req) { return serve_get_data(req); });
  rpc_.add_sync("gather",
                [this](protocol::RpcRequest& req) { return serve_gather(req); });
  rpc_.add_sync("free_keys", [this](protocol::RpcRequest& req) -> Value {
    Value request = req.args;
    request.set("op", "free-keys");
    if (!request.find("stimulus_id"))
      request.set("stimulus_id", protocol::stimulus_id("free-keys"));
    auto op = protocol::FreeKeys::decode(request);
    if (!op.ok()) {
      spdlog::warn("free_keys from {}: {}", req.comm->peer_address(),
                   op.status().to_string());
      return Value();
    }
    on_free_keys(op->keys, op->stimulus_id);
    return Value();
  });
  rpc_.add_sync("identity", [this](protocol::RpcRequest&) {
    return make_map({{"type", "Worker"},
                     {"id", Value(server_id_)},
                     {"scheduler", Value(config_.scheduler_address)},
                     {"nthreads", config_.nthreads},
                     {"memory_limit", kMemoryLimit}});
  });
  rpc_.add_sync("keys", [this](protocol::RpcRequest&) {
    protocol::Array keys;
    for (const Key& key : memory_) keys.push_back(key.wire_value());
    return Value(std::move(keys));
  });
  rpc_.add_sync("terminate", [this](protocol::RpcRequest&) {
    stop("worker-terminate");
    return Value("OK");
  });
}

// Mirrors Worker.get_data without the busy limit: every held key is None; after
// the reply, wait for the requester's "OK".
asio::awaitable<Value> SimWorker::serve_get_data(protocol::RpcRequest& req) {
  auto decoded = protocol::decode_get_data(req);
  if (!decoded.ok()) co_return Value();
  protocol::GetDataReply reply;
  const std::int64_t pickle_protocol = req.comm->session().pickle_protocol;
  for (const Key& key : decoded->keys) {
    if (memory_.contains(key))
      reply.data.emplace_back(key, none_payload(pickle_protocol));
  }
  co_await protocol::reply_get_data(req, reply);
  co_return Value();
}

// Mirrors Worker.gather (replicate/rebalance): the listed keys count as fetched.
Value SimWorker::serve_gather(protocol::RpcRequest& req) {
  auto r = protocol::FieldReader::open("gather", req.args);
  if (!r.ok()) return Value();
  auto who_has = r->who_has("who_has");
  if (!who_has.ok()) {
    spdlog::warn("gather from {}: {}", req.comm->peer_address(),
                 who_has.status().to_string());
    return make_map({{"status", "partial-fail"}, {"keys", Value(protocol::Array{})}});
  }
  for (const auto& [key, holders] : *who_has) memory_.insert(key);
  return make_map({{"status", "OK"}});
}

}  // namespace daskcpp::bench
