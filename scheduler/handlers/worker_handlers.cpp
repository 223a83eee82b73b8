#include "scheduler/handlers/worker_handlers.hpp"

#include <spdlog/spdlog.h>

#include "protocol/codec/msgpack_view.hpp"
#include "protocol/comm/address.hpp"
#include "protocol/comm/batched_stream.hpp"
#include "protocol/messages/hot_ops.hpp"
#include "protocol/messages/rpc_ops.hpp"
#include "protocol/messages/worker_ops.hpp"
#include "protocol/rpc/clock.hpp"
#include "protocol/rpc/decode.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/peer_info.hpp"
#include "scheduler/service/scheduler_service.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {

namespace {

using protocol::RpcRequest;
using protocol::StreamMessage;
using protocol::Value;

std::string name_string(const Value& name) {
  return name.is_str() ? name.as_str() : name.to_debug_string();
}

// The worker a stream op concerns (injected `worker`).
std::string worker_of(const StreamMessage& m) {
  const Value* v = m.get("worker");
  return v != nullptr && v->is_str() ? v->as_str() : std::string();
}

using protocol::canonical_keys;

// Scheduler.add_worker up to the reply: registers the worker and returns its
// stream, or null (after replying or closing) when it cannot join.
std::shared_ptr<protocol::BatchedStream> accept_worker(ExtensionContext& server,
                                                       const PluginStore& plugins,
                                                       RpcRequest& req,
                                                       std::string& address_out) {
  SchedulerService& svc = server.service;
  Result<protocol::RegisterWorker> msg = protocol::RegisterWorker::decode(req.args);
  if (!msg.ok()) {
    spdlog::error("register-worker from {}: {}", req.comm->peer_address(),
                  msg.status().message());
    req.comm->close();
    return nullptr;
  }
  const double now = protocol::unix_now();
  const std::string address = msg->address;
  const std::string name = name_string(msg->name);
  if (svc.state().find_worker(address)) {
    // Upstream raises ValueError("Worker already exists"); no reply is written.
    spdlog::error("Worker already exists {}", address);
    req.comm->close();
    return nullptr;
  }
  if (svc.state().find_worker_by_name(name)) {
    spdlog::warn("Worker tried to connect with a duplicate name: {}", name);
    (void)req.comm->write(
        protocol::register_worker_error_reply("name taken, " + name, now));
    req.comm->close();
    return nullptr;
  }
  AddWorker aw;
  aw.address = address;
  aw.name = name;
  Result<protocol::Address> parsed = protocol::parse_address(address, 0);
  aw.host = parsed.ok() ? parsed->host : address;
  aw.nthreads = static_cast<std::int32_t>(msg->nthreads);
  aw.memory_limit = msg->memory_limit.value_or(0);
  if (msg->resources.is_map()) {
    for (const auto& [k, v] : msg->resources.as_map()) {
      if (k.is_str() && v.is_number())
        aw.resources.emplace_back(k.as_str(), v.as_double());
    }
  }
  if (!parse_worker_status(msg->status, aw.status)) aw.status = WorkerStatus::init;

  Stimulus stim{msg->stimulus_id, now};
  Result<Effects> fx = handle(svc.state(), aw, stim);
  if (!fx.ok()) {
    spdlog::error("register-worker {}: {}", address, fx.status().to_string());
    req.comm->close();
    return nullptr;
  }
  auto stream =
      protocol::BatchedStream::make(req.comm, server.options.worker_stream_interval);
  WorkerConnection conn;
  conn.id = *svc.state().find_worker(address);
  conn.address = address;
  conn.stream = stream;
  conn.nanny = msg->nanny;
  conn.name = msg->name;
  conn.local_directory = msg->local_directory;
  conn.services = msg->services;
  conn.pid = msg->pid;
  conn.metrics = msg->metrics;
  conn.versions = msg->versions;
  conn.last_seen = now;
  svc.connections().workers()[address] = std::move(conn);
  if (SchedulerHooks* hooks = svc.hooks()) hooks->add_worker(address);

  // The reply is a plain map on the comm (not a batch), ahead of any stream op.
  protocol::RegisterWorkerReply reply;
  reply.time = now;
  reply.heartbeat_interval = heartbeat_interval(svc.state().worker_count());
  reply.worker_plugins = Value(plugins.worker);
  (void)req.comm->write(reply.encode());
  svc.send_effects(std::move(*fx));
  server.log_event({address}, protocol::make_map({{"action", Value("add-worker")}}));
  server.log_event({"all"}, protocol::make_map({{"action", Value("add-worker")},
                                                {"worker", Value(address)}}));
  spdlog::info("Register worker addr: {} name: {}", address, name);
  spdlog::info("Starting worker compute stream, {}", address);
  address_out = address;
  return stream;
}

// Scheduler.handle_worker: serves the stream, then removes the worker.
asio::awaitable<void> handle_worker(ExtensionContext& server,
                                    std::shared_ptr<protocol::BatchedStream> stream,
                                    std::string address) {
  SchedulerService& svc = server.service;
  Value extra = protocol::make_map({{"worker", Value(address)}});
  Status reason = co_await stream->run(server.worker_stream, std::move(extra), {});
  // A worker re-registered on this address owns the entry by now.
  WorkerConnection* w = svc.find_worker(address);
  if (w != nullptr && w->stream == stream) {
    const bool expected = w->closing;
    if (!reason.ok() && !expected) {
      spdlog::info("Worker stream {} ended: {}", address, reason.message());
    }
    svc.remove_worker(address, expected, /*close=*/false, "handle-worker-cleanup");
  }
}

asio::awaitable<Value> add_worker(ExtensionContext& server, const PluginStore& plugins,
                                  RpcRequest& req) {
  std::string address;
  std::shared_ptr<protocol::BatchedStream> stream =
      accept_worker(server, plugins, req, address);
  if (stream) co_await handle_worker(server, std::move(stream), std::move(address));
  co_return Value();
}

// Scheduler.heartbeat_worker's extension loop (4653-4655), only when some entry has
// data: an idle worker's {"shuffle": {}} costs no call into Python.
void forward_heartbeat_extensions(SchedulerService& svc, const std::string& address,
                                  const Value* extensions) {
  SchedulerHooks* hooks = svc.hooks();
  if (hooks == nullptr || extensions == nullptr || !extensions->is_map()) return;
  for (const auto& [name, data] : extensions->as_map()) {
    const bool empty = data.is_nil() || (data.is_map() && data.as_map().empty());
    if (!empty) {
      hooks->heartbeat_extensions(address, *extensions);
      return;
    }
  }
}

Value heartbeat(ExtensionContext& server, RpcRequest& req) {
  SchedulerService& svc = server.service;
  Result<protocol::HeartbeatWorker> msg =
      protocol::decode_request<protocol::HeartbeatWorker>(req);
  if (!msg.ok()) return protocol::heartbeat_missing_reply();
  WorkerConnection* w = svc.find_worker(msg->address);
  if (w == nullptr) return protocol::heartbeat_missing_reply();
  const double now = protocol::unix_now();
  w->last_seen = now;
  w->time_delay = msg->now - now;
  w->metrics = msg->metrics;
  forward_heartbeat_extensions(svc, msg->address, req.arg("extensions"));
  protocol::HeartbeatReply reply;
  reply.time = now;
  reply.heartbeat_interval = heartbeat_interval(svc.state().worker_count());
  return reply.encode();
}

Value unregister(ExtensionContext& server, RpcRequest& req) {
  SchedulerService& svc = server.service;
  Result<protocol::Unregister> msg = protocol::decode_request<protocol::Unregister>(req);
  if (!msg.ok()) return Value("already-removed");
  if (svc.find_worker(msg->address) == nullptr) return Value("already-removed");
  svc.remove_worker(msg->address, /*expected=*/false, /*close=*/true,
                    msg->stimulus_id.value_or("unregister"));
  return Value("OK");
}

asio::awaitable<Value> add_nanny(const PluginStore& plugins, RpcRequest& req) {
  // Scheduler.add_nanny: reply, then wait for the nanny's {"status": "ok"} (or EOF).
  (void)req.comm->write(protocol::make_map(
      {{"status", Value("OK")}, {"nanny-plugins", Value(plugins.nanny)}}));
  (void)co_await req.comm->read();
  co_return Value();
}

// A worker stream op that is one core event: decode it (a bad one is logged and
// skipped; the worker's stream stays), turn it into the event, handle it under the
// op's stimulus id and send what it produced (upstream's handle_task_finished,
// handle_task_erred, release_worker_data, ... each call one stimulus).
template <typename Op, typename ToEvent>
void add_event_op(protocol::StreamHandlers& h, SchedulerService& svc, const char* name,
                  ToEvent to_event) {
  h.add(name, [&svc, name, to_event](const StreamMessage& m) -> Status {
    DASKCPP_ASSIGN_OR_RETURN(auto op, protocol::decode_stream_op<Op>(m, m.peer));
    Stimulus stim{op.stimulus_id, protocol::unix_now()};
    svc.apply(handle(svc.state(), to_event(m, std::move(op)), stim), name);
    return Status::OK();
  });
}

TaskFinished task_finished_event(std::string worker, protocol::TaskFinished op) {
  TaskFinished tf;
  tf.worker = std::move(worker);
  tf.key = op.key.canonical();
  tf.run_id = op.run_id;
  tf.nbytes = op.nbytes;
  if (op.type) {
    tf.type = std::move(*op.type);
    tf.has_type = true;
  }
  for (const protocol::StartStop& ss : op.startstops) {
    tf.startstops.push_back({ss.action, ss.start, ss.stop});
  }
  return tf;
}

TaskErred task_erred_event(const StreamMessage& m, protocol::TaskErred op) {
  TaskErred te;
  te.worker = worker_of(m);
  te.key = op.key.canonical();
  te.run_id = op.run_id;
  te.exception = std::make_shared<const Value>(std::move(op.exception));
  if (!op.traceback.is_nil()) {
    te.traceback = std::make_shared<const Value>(std::move(op.traceback));
  }
  te.exception_text = std::move(op.exception_text);
  te.traceback_text = std::move(op.traceback_text);
  return te;
}

// worker-status-change: also marks the connection closing, so that its EOF is an
// expected departure (upstream handle_worker_status_change).
Status worker_status_change(SchedulerService& svc, const StreamMessage& m) {
  DASKCPP_ASSIGN_OR_RETURN(
      auto op, protocol::decode_stream_op<protocol::WorkerStatusChange>(m, m.peer));
  const std::string worker = worker_of(m);
  WorkerStatus status;
  if (!parse_worker_status(op.status, status)) {
    spdlog::warn("worker-status-change from {}: unknown status '{}'", worker, op.status);
    return Status::OK();
  }
  if (status == WorkerStatus::closing || status == WorkerStatus::closed ||
      status == WorkerStatus::closing_gracefully) {
    if (WorkerConnection* w = svc.find_worker(worker)) w->closing = true;
  }
  Stimulus stim{op.stimulus_id, protocol::unix_now()};
  svc.apply(handle(svc.state(), WorkerStatusChange{worker, status}, stim),
            "worker-status-change");
  return Status::OK();
}

// Scheduler.log_worker_event: a dict message learns which worker sent it (unless
// the topic is that worker's own address), then it is an ordinary log_event. Tasks
// reach this through get_worker().log_event, distributed.print and distributed.warn.
Status log_event_from_worker(const LogEvent& log_event, const StreamMessage& m) {
  const std::string worker = worker_of(m);
  const Value* topic = m.msg.find("topic");
  std::vector<std::string> topics;
  if (topic != nullptr && topic->is_str()) {
    topics.push_back(topic->as_str());
  } else if (topic != nullptr && topic->is_array()) {
    for (const Value& t : topic->as_array()) {
      if (t.is_str()) topics.push_back(t.as_str());
    }
  }
  if (topics.empty()) {
    spdlog::warn("Bad log-event from {}: no topic", worker);
    return Status::OK();
  }
  const Value* found = m.msg.find("msg");
  Value msg = found != nullptr ? *found : Value();
  if (msg.is_map()) {
    const Value* action = msg.find("action");
    if (action != nullptr && action->is_str() && action->as_str() == "closing-worker") {
      spdlog::info("Worker {} is closing", worker);
    }
    // Upstream compares the topic argument itself with the address, so a list of
    // topics always gets the field.
    const bool own_topic = topic->is_str() && topic->as_str() == worker;
    if (!own_topic) msg.set("worker", Value(worker));
  }
  log_event(topics, msg);
  return Status::OK();
}

// task-finished / task-erred keep their op map for the transition observers (the
// task stream's record, plugin transition kwargs) — copied only while someone
// observes, so the unobserved hot path pays one null test.
template <typename Event>
Event with_wire(const SchedulerState& state, const StreamMessage& m, Event event) {
  if (state.transition_observer() != nullptr) {
    event.wire = std::make_shared<const Value>(m.msg);
  }
  return event;
}

void register_stream_handlers(ExtensionContext& server) {
  SchedulerService& svc = server.service;
  auto& h = server.worker_stream;
  add_event_op<protocol::TaskFinished>(
      h, svc, "task-finished", [&svc](const StreamMessage& m, auto op) {
        return with_wire(svc.state(), m,
                         task_finished_event(worker_of(m), std::move(op)));
      });
  // The once-per-task op, read without a Value tree. Declined while a transition
  // observer wants the op-map itself (with_wire), and for anything unusual.
  h.add_fast("task-finished",
             [&svc](const protocol::RawStreamMessage& m) -> std::optional<Status> {
               if (svc.state().transition_observer() != nullptr) return std::nullopt;
               std::optional<protocol::TaskFinished> op =
                   protocol::read_task_finished(m.msg, m.message);
               if (!op) return std::nullopt;
               std::optional<std::string_view> worker =
                   protocol::view::str(protocol::view::find(m.msg, "worker"));
               if (!worker) {
                 const Value* injected = m.extra.find("worker");
                 if (injected == nullptr || !injected->is_str()) return std::nullopt;
                 worker = injected->as_str();
               }
               Stimulus stim{op->stimulus_id, protocol::unix_now()};
               TaskFinished event =
                   task_finished_event(std::string(*worker), std::move(*op));
               svc.apply(handle(svc.state(), std::move(event), stim), "task-finished");
               return Status::OK();
             });
  add_event_op<protocol::TaskErred>(
      h, svc, "task-erred", [&svc](const StreamMessage& m, auto op) {
        return with_wire(svc.state(), m, task_erred_event(m, std::move(op)));
      });
  add_event_op<protocol::ReleaseWorkerData>(
      h, svc, "release-worker-data", [](const StreamMessage& m, auto op) {
        return ReleaseWorkerData{worker_of(m), op.key.canonical()};
      });
  add_event_op<protocol::AddKeys>(h, svc, "add-keys",
                                  [](const StreamMessage& m, auto op) {
                                    return AddKeys{worker_of(m), canonical_keys(op.keys)};
                                  });
  add_event_op<
      protocol::LongRunning>(h, svc, "long-running", [](const StreamMessage& m, auto op) {
    return LongRunning{worker_of(m), op.key.canonical(), op.run_id, op.compute_duration};
  });
  add_event_op<protocol::Reschedule>(
      h, svc, "reschedule", [](const StreamMessage& m, auto op) {
        return Reschedule{op.key.canonical(), worker_of(m)};
      });
  add_event_op<protocol::RequestRefreshWhoHas>(
      h, svc, "request-refresh-who-has", [](const StreamMessage& m, auto op) {
        return RequestRefreshWhoHas{worker_of(m), canonical_keys(op.keys)};
      });
  h.add("worker-status-change",
        [&svc](const StreamMessage& m) { return worker_status_change(svc, m); });
  h.add("log-event", [log_event = server.log_event](const StreamMessage& m) {
    return log_event_from_worker(log_event, m);
  });
  h.add("keep-alive", [](const StreamMessage&) -> Status { return Status::OK(); });
  // steal-response belongs to the stealing extension (extensions/stealing/).
}

}  // namespace

void register_worker_handlers(ExtensionContext& server, const PluginStore& plugins) {
  server.rpc.add("register-worker",
                 [&server, &plugins](RpcRequest& req) -> asio::awaitable<Value> {
                   co_return co_await add_worker(server, plugins, req);
                 });
  server.rpc.add_sync("heartbeat_worker",
                      [&server](RpcRequest& req) { return heartbeat(server, req); });
  server.rpc.add_sync("unregister",
                      [&server](RpcRequest& req) { return unregister(server, req); });
  server.rpc.add("register_nanny", [&plugins](RpcRequest& req) -> asio::awaitable<Value> {
    co_return co_await add_nanny(plugins, req);
  });
  register_stream_handlers(server);
}

}  // namespace daskcpp::scheduler
