#include "scheduler/handlers/graph_handlers.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "protocol/messages/client_ops.hpp"
#include "protocol/messages/python_exception.hpp"
#include "protocol/messages/timedelta.hpp"
#include "protocol/rpc/clock.hpp"
#include "protocol/rpc/decode.hpp"
#include "python_compat/graph_materializer.hpp"
#include "scheduler/handlers/annotations.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/scheduler_service.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {

namespace {

using protocol::Key;
using protocol::StreamMessage;
using protocol::Value;

std::string client_of(const StreamMessage& m) {
  const Value* v = m.get("client");
  return v != nullptr && v->is_str() ? v->as_str() : std::string();
}

using protocol::canonical_keys;

// The materialized graph (plus what the message said) as the core's UpdateGraph.
UpdateGraph to_core_update(SchedulerService& svc, const std::string& client,
                           const protocol::UpdateGraph& msg, double fifo_timeout,
                           python_compat::MaterializedGraph&& graph) {
  UpdateGraph g;
  g.client = client;
  g.keys = canonical_keys(msg.keys);
  g.fifo_timeout = fifo_timeout;
  if (msg.submitting_task) g.submitting_task = msg.submitting_task->canonical();
  if (msg.actors.is_bool()) g.all_actors = msg.actors.as_bool();
  if (msg.actors.is_array()) {
    for (const Value& a : msg.actors.as_array()) {
      if (Result<Key> k = Key::from_value(a); k.ok()) g.actors.push_back(k->canonical());
    }
  }
  const SchedulerState& state = svc.state();
  AliasLookup aliases = [&state](std::string_view name) -> std::optional<std::string> {
    auto id = state.find_worker_by_name(name);
    if (!id) return std::nullopt;
    return state.worker(*id).address;
  };
  g.tasks.reserve(graph.tasks.size());
  for (python_compat::MaterializedTask& mt : graph.tasks) {
    GraphTask t;
    t.key = std::move(mt.key);
    t.dependencies = std::move(mt.dependencies);
    t.prefix_name = std::move(mt.key_split);
    t.group_name = std::move(mt.key_split_group);
    t.run_spec = std::move(mt.run_spec);
    t.data_producer = mt.data_producer;
    if (mt.has_order) t.order = mt.order;
    if (mt.annotations.is_map() && !mt.annotations.as_map().empty()) {
      apply_annotations(mt.annotations, aliases, t);
      t.annotations = std::make_shared<const Value>(std::move(mt.annotations));
    }
    g.tasks.push_back(std::move(t));
  }
  return g;
}

// Stock update_graph's except-branch: task-erred for every requested key.
void report_graph_error(SchedulerService& svc, const std::string& client,
                        const std::vector<Key>& keys, Value exception, Value traceback) {
  protocol::BatchedStream* stream = svc.client_stream(client);
  if (stream == nullptr) return;
  for (const Key& k : keys) {
    protocol::ClientTaskErred e;
    e.key = k;
    e.exception = exception;
    e.traceback = traceback;
    stream->send(e.encode());
  }
}

using SteadyTime = std::chrono::steady_clock::time_point;

double seconds_between(SteadyTime from, SteadyTime to) {
  return std::chrono::duration<double>(to - from).count();
}

// `submitted`/`materialized`: when the graph went to the interpreter thread and
// when it came back, for the debug-level timing line (where an intake's time goes).
void finish_update_graph(ExtensionContext& server, const std::string& client,
                         const protocol::UpdateGraph& msg, double fifo_timeout,
                         python_compat::MaterializeResult result, SteadyTime submitted,
                         SteadyTime materialized) {
  SchedulerService& svc = server.service;
  if (!result.ok()) {
    spdlog::error("update-graph from {}: materialization failed: {}", client,
                  result.status().to_string());
    report_graph_error(svc, client, msg.keys,
                       Value(protocol::pickle_runtime_error(
                           "Error during deserialization of the task graph: " +
                           result.status().message())),
                       Value());
    return;
  }
  if (auto* err = std::get_if<python_compat::MaterializeError>(&*result)) {
    spdlog::error("Error during deserialization of the task graph from {}: {}", client,
                  err->text);
    report_graph_error(svc, client, msg.keys,
                       err->exception ? Value(err->exception) : Value(),
                       err->traceback ? Value(err->traceback) : Value());
    return;
  }
  auto& graph = std::get<python_compat::MaterializedGraph>(*result);
  const SteadyTime dequeued = std::chrono::steady_clock::now();
  UpdateGraph g = to_core_update(svc, client, msg, fifo_timeout, std::move(graph));
  Stimulus stim = msg.stimulus_id ? Stimulus{*msg.stimulus_id, protocol::unix_now()}
                                  : svc.make_stimulus("update-graph");
  const SteadyTime converted = std::chrono::steady_clock::now();
  svc.apply(handle(svc.state(), g, stim), "update-graph");
  spdlog::debug(
      "update-graph from {}: {} tasks; materialize {:.3f} s, wait for the loop {:.3f} s, "
      "convert {:.3f} s, transitions {:.3f} s",
      client, g.tasks.size(), seconds_between(submitted, materialized),
      seconds_between(materialized, dequeued), seconds_between(dequeued, converted),
      seconds_between(converted, std::chrono::steady_clock::now()));
}

// A graph at least this large hands its freed intake heap back afterwards; small
// graphs (the submit -> result latency path) do not pay for a malloc_trim.
constexpr std::size_t kTrimAfterTasks = 10'000;

void start_update_graph(ExtensionContext& server,
                        python_compat::GraphMaterializer& materializer,
                        const std::string& client,
                        std::shared_ptr<const protocol::UpdateGraph> msg,
                        Value internal_priority, double fifo_timeout) {
  SchedulerService& svc = server.service;
  svc.hold_client(client);
  python_compat::MaterializeRequest req;
  req.expr = msg->expr_ser.as_payload();
  if (msg->annotations.is_payload()) req.annotations = msg->annotations.as_payload();
  req.keys.reserve(msg->keys.size());
  for (const Key& k : msg->keys) req.keys.push_back(k.wire_value());
  req.internal_priority = std::move(internal_priority);
  asio::io_context& io = server.io;
  const SteadyTime submitted = std::chrono::steady_clock::now();
  materializer.submit(
      std::move(req), [&server, &io, &materializer, client, msg, fifo_timeout,
                       submitted](python_compat::MaterializeResult result) {
        // Interpreter thread: hand the result to the loop.
        const SteadyTime materialized = std::chrono::steady_clock::now();
        std::size_t n_tasks = 0;
        if (result.ok()) {
          if (const auto* g = std::get_if<python_compat::MaterializedGraph>(&*result))
            n_tasks = g->tasks.size();
        }
        auto shared =
            std::make_shared<python_compat::MaterializeResult>(std::move(result));
        asio::post(io, [&server, &materializer, client, msg, fifo_timeout, shared,
                        submitted, materialized, n_tasks]() mutable {
          if (!server.shutting_down()) {
            finish_update_graph(server, client, *msg, fifo_timeout, std::move(*shared),
                                submitted, materialized);
          }
          shared.reset();  // frees what is left of the records
          server.service.release_client(client);
          if (n_tasks >= kTrimAfterTasks) materializer.release_freed_memory();
        });
      });
}

}  // namespace

// The client whose stream carried `m` (the stream's context), whatever client the
// op itself names: fire_and_forget sends client-desires-keys naming the
// "fire-and-forget" pseudo-client, and it must still wait behind the sender's
// update-graph of that very key.
std::string sender_of(const StreamMessage& m) {
  const Value* v = m.extra.find("client");
  return v != nullptr && v->is_str() ? v->as_str() : client_of(m);
}

// A client stream op that is one core event: decode it (a bad one is logged and
// skipped; the client stays), turn it into the event for the client it names (or the
// sender), and handle it in the sender's order, behind any update-graph of the sender
// still being materialized.
template <typename Op, typename ToEvent>
void add_client_event_op(protocol::StreamHandlers& h, SchedulerService& svc,
                         const char* name, ToEvent to_event) {
  h.add(name, [&svc, name, to_event](const StreamMessage& m) -> Status {
    const std::string sender = sender_of(m);
    auto op = protocol::decode_stream_op<Op>(m, "client " + sender);
    if (!op.ok()) return Status::OK();
    SchedulerEvent event = to_event(op->client.value_or(sender), *op);
    svc.run_in_client_order(sender, [&svc, name, event = std::move(event)] {
      svc.apply(handle(svc.state(), event, svc.make_stimulus(name)), name);
    });
    return Status::OK();
  });
}

UpdateData update_data_event(std::string client, const protocol::UpdateDataStream& op) {
  std::unordered_map<std::string, std::int64_t> nbytes;
  for (const auto& [nk, n] : op.nbytes) nbytes[nk.canonical()] = n;
  UpdateData event{{}, std::move(client)};
  for (const auto& [key, workers] : op.who_has) {
    DataKey d;
    d.key = key.canonical();
    const Value decoded = key.decoded();
    d.prefix_name = protocol::key_split(decoded);
    d.group_name = protocol::key_split_group(decoded);
    d.workers = workers;
    if (auto it = nbytes.find(d.key); it != nbytes.end()) d.nbytes = it->second;
    event.data.push_back(std::move(d));
  }
  return event;
}

void register_client_key_ops(ExtensionContext& server) {
  SchedulerService& svc = server.service;
  auto& h = server.client_stream;
  add_client_event_op<protocol::ClientDesiresKeys>(
      h, svc, "client-desires-keys", [](std::string client, const auto& op) {
        // fire_and_forget names a pseudo-client; it is ordered with the sender's ops.
        return ClientDesiresKeys{std::move(client), canonical_keys(op.keys)};
      });
  add_client_event_op<protocol::ClientReleasesKeys>(
      h, svc, "client-releases-keys", [](std::string client, const auto& op) {
        return ClientReleasesKeys{std::move(client), canonical_keys(op.keys)};
      });
  add_client_event_op<protocol::CancelKeys>(
      h, svc, "cancel-keys", [](std::string client, const auto& op) {
        return CancelKeys{std::move(client), canonical_keys(op.keys), op.force,
                          op.reason.value_or(""), op.msg.value_or("")};
      });
  add_client_event_op<protocol::ReportKey>(
      h, svc, "report-key", [](std::string client, const auto& op) {
        return ReportKey{std::move(client), op.key.canonical()};
      });
  add_client_event_op<protocol::UpdateDataStream>(h, svc, "update-data",
                                                  update_data_event);
}

void register_graph_handlers(ExtensionContext& server,
                             python_compat::GraphMaterializer& materializer) {
  SchedulerService& svc = server.service;
  auto& h = server.client_stream;
  h.add("update-graph", [&server, &svc, &materializer](const StreamMessage& m) -> Status {
    auto op =
        protocol::decode_stream_op<protocol::UpdateGraph>(m, "client " + client_of(m));
    if (!op.ok()) return Status::OK();  // a bad op is skipped; the client stays
    const std::string client = op->client.value_or(client_of(m));
    double fifo = op->fifo_timeout_seconds().ok() ? *op->fifo_timeout_seconds() : 0.1;
    const Value* prio = m.msg.find("internal_priority");
    Value internal_priority = prio != nullptr ? *prio : Value();
    auto msg = std::make_shared<const protocol::UpdateGraph>(std::move(*op));
    svc.run_in_client_order(
        client, [&server, &materializer, client, msg, internal_priority, fifo] {
          start_update_graph(server, materializer, client, msg, internal_priority, fifo);
        });
    return Status::OK();
  });
  register_client_key_ops(server);
}

}  // namespace daskcpp::scheduler
