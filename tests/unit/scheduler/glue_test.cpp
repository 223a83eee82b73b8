// The server glue without sockets: intents → wire messages (checked against the
// compute-task / key-in-memory messages of the recorded traces), annotations →
// restrictions, the dask config reader, and per-client op ordering.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "protocol/codec/message_codec.hpp"
#include "protocol/codec/pickled_run_spec.hpp"
#include "protocol/framing/frame_decoder.hpp"
#include "protocol/messages/key.hpp"
#include "scheduler/handlers/annotations.hpp"
#include "scheduler/handlers/graph_handlers.hpp"
#include "scheduler/server/dask_config.hpp"
#include "scheduler/server/scheduler_server.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/scheduler_service.hpp"
#include "scheduler/transitions/stimuli.hpp"
#include "tests/unit/trace_fixtures.hpp"

namespace daskcpp::scheduler {
namespace {

using protocol::Key;
using protocol::Value;

// Every op-map of every batch the scheduler sent on `conn`-less streams of a trace.
std::vector<Value> sent_ops(const std::string& trace_name, std::string_view op) {
  std::vector<Value> out;
  auto records = protocol::read_trace(test::traces_dir() + "/" + trace_name);
  REQUIRE(records.ok());
  for (const protocol::TraceRecord& r : *records) {
    if (r.type != protocol::TraceRecordType::kMessage || r.dir != 1) continue;
    protocol::FrameDecoder decoder;
    std::vector<protocol::Frames> frames;
    if (!decoder.consume(r.payload.span(), frames).ok() || frames.size() != 1) continue;
    auto msg = protocol::decode_message(frames[0]);
    if (!msg.ok() || !msg->is_array()) continue;
    for (const Value& m : msg->as_array()) {
      const Value* name = m.find("op");
      if (name != nullptr && name->is_str() && name->as_str() == op) out.push_back(m);
    }
  }
  return out;
}

// A recorded stock run_spec payload as the materializer stores it: its pickle
// (the sub-header's "pickled-obj") and buffers.
std::shared_ptr<const protocol::PickledRunSpec> stored_run_spec(
    const protocol::Payload& p) {
  auto header = protocol::decode_msgpack(p.header.span());
  REQUIRE(header.ok());
  const Value* pickle = header->find("pickled-obj");
  REQUIRE(pickle != nullptr);
  return std::make_shared<const protocol::PickledRunSpec>(
      protocol::PickledRunSpec::whole(pickle->as_bin().view(), p.frames));
}

std::string canonical(const Value& key) {
  auto k = Key::from_value(key);
  REQUIRE(k.ok());
  return k->canonical();
}

// The intent the core would have produced for a recorded compute-task.
ComputeTaskMsg intent_of(const Value& m) {
  ComputeTaskMsg c;
  c.worker = WorkerId{0};
  c.key = canonical(*m.find("key"));
  c.run_id = m.find("run_id")->as_int64();
  const auto& prio = m.find("priority")->as_array();
  REQUIRE(prio.size() == 3);
  c.priority = Priority{static_cast<std::int32_t>(prio[0].as_int64()),
                        prio[1].as_double(), prio[2].as_int64()};
  c.stimulus_id = m.find("stimulus_id")->as_str();
  const auto& nbytes = m.find("nbytes")->as_map();
  std::size_t i = 0;
  for (const auto& [k, holders] : m.find("who_has")->as_map()) {
    ComputeTaskDep d;
    d.key = canonical(k);
    for (const Value& a : holders.as_array()) d.who_has.push_back(a.as_str());
    REQUIRE(nbytes[i].first == k);
    d.nbytes = nbytes[i].second.as_int64();
    c.dependencies.push_back(std::move(d));
    ++i;
  }
  c.run_spec = stored_run_spec(*m.find("run_spec")->as_payload());
  if (const Value* r = m.find("resource_restrictions"); r->is_map()) {
    for (const auto& [k, v] : r->as_map())
      c.resource_restrictions.emplace_back(k.as_str(), v.as_double());
  }
  c.actor = m.find("actor")->as_bool();
  if (!m.find("annotations")->as_map().empty()) {
    c.annotations = std::make_shared<const Value>(*m.find("annotations"));
  }
  return c;
}

struct Glue {
  SchedulerServer server{SchedulerOptions{}};
  SchedulerService& svc = server.service();
};

TEST_CASE("compute-task intents encode to the recorded messages (span_id nil)",
          "[glue]") {
  Glue g;
  int checked = 0, with_deps = 0;
  for (const char* trace :
       {"01_submit_inc.bin", "04_task_raises.bin", "06_cancel_pending.bin"}) {
    for (Value recorded : sent_ops(trace, "compute-task")) {
      Value ours = g.svc.encode_worker_msg(intent_of(recorded));
      for (auto& [k, v] : recorded.as_map()) {
        if (k == Value("span_id")) v = Value();  // we have no spans extension
      }
      INFO(recorded.to_debug_string(800));
      CHECK(ours == recorded);
      // Same bytes on the wire, payload frames included.
      auto a = protocol::encode_message(ours);
      auto b = protocol::encode_message(recorded);
      CHECK(a.size() == b.size());
      for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        CHECK(std::string(a[i].view()) == std::string(b[i].view()));
      }
      ++checked;
      if (!recorded.find("who_has")->as_map().empty()) ++with_deps;
    }
  }
  INFO("compute-tasks checked: " << checked << ", with dependencies: " << with_deps);
  CHECK(checked == 3);
  CHECK(with_deps == 0);  // the raw captures hold no compute-task with dependencies
}

TEST_CASE("compute-task with dependencies: the protocol.md §6.4 example (trace 03)",
          "[glue]") {
  Glue g;
  Value dep = Value(
      protocol::Array{Value("arange-sum-92f3391a24764f04f03fa56ae2804159"), Value(1)});
  Value key =
      Value(protocol::Array{Value("sum-92f3391a24764f04f03fa56ae2804159"), Value(1)});
  ComputeTaskMsg c;
  c.worker = WorkerId{0};
  c.key = canonical(key);
  c.run_id = 7;
  c.priority = Priority{0, 1, 5};
  c.stimulus_id = "compute-task-1795580470.2264605";
  c.dependencies.push_back({canonical(dep), {"tcp://127.0.0.1:36725"}, 8});
  Value wire = g.svc.encode_worker_msg(c);
  Value expected = protocol::make_map(
      {{"op", Value("compute-task")},
       {"key", key},
       {"run_id", Value(7)},
       {"priority", Value(protocol::Array{Value(0), Value(1), Value(5)})},
       {"stimulus_id", Value("compute-task-1795580470.2264605")},
       {"who_has", Value(protocol::Map{
                       {dep, Value(protocol::Array{Value("tcp://127.0.0.1:36725")})}})},
       {"nbytes", Value(protocol::Map{{dep, Value(8)}})},
       {"run_spec", Value()},
       {"resource_restrictions", Value()},
       {"actor", Value(false)},
       {"annotations", Value(protocol::Map{})},
       {"span_id", Value()}});
  CHECK(wire == expected);
  // A fractional generation (sub-graph of a task) stays a float.
  c.priority = Priority{0, 0.99, 5};
  CHECK(g.svc.encode_worker_msg(c).find("priority")->as_array()[1] == Value(0.99));
}

TEST_CASE("key-in-memory carries the worker's type bytes exactly as recorded", "[glue]") {
  Glue g;
  auto recorded = sent_ops("01_submit_inc.bin", "key-in-memory");
  REQUIRE(recorded.size() == 1);
  KeyInMemoryMsg m;
  m.key = canonical(*recorded[0].find("key"));
  m.type = recorded[0].find("type")->as_bin();
  m.has_type = true;
  CHECK(g.svc.encode_client_msg(m) == recorded[0]);
  // No type known (scattered data): the field is absent, not nil.
  m.has_type = false;
  CHECK(g.svc.encode_client_msg(m).find("type") == nullptr);
}

TEST_CASE("cancelled-keys: broadcast sends reason and msg, lost dependencies only reason",
          "[glue]") {
  Glue g;
  CancelledKeysMsg b{kNoId<ClientId>, {canonical(Value("x"))}, "", ""};
  Value wire = g.svc.encode_client_msg(b);
  REQUIRE(wire.find("reason") != nullptr);
  CHECK(wire.find("reason")->is_nil());
  REQUIRE(wire.find("msg") != nullptr);
  CHECK(wire.find("msg")->is_nil());
  CancelledKeysMsg lost{ClientId{0}, {canonical(Value("x"))}, "lost dependencies", ""};
  wire = g.svc.encode_client_msg(lost);
  CHECK(*wire.find("reason") == Value("lost dependencies"));
  CHECK(wire.find("msg") == nullptr);
  CHECK(wire.as_map().size() == 3);  // op, keys, reason
}

TEST_CASE("task-erred: worker payloads verbatim, KilledWorker as a bin pickle",
          "[glue]") {
  Glue g;
  auto exc = std::make_shared<TaskException>();
  exc->exception = std::make_shared<const Value>(Value("opaque-exception"));
  exc->traceback = std::make_shared<const Value>(Value("opaque-traceback"));
  TaskErredMsg m{ClientId{0}, canonical(Value("k")), exc};
  Value wire = g.svc.encode_client_msg(m);
  CHECK(*wire.find("exception") == Value("opaque-exception"));
  CHECK(*wire.find("traceback") == Value("opaque-traceback"));

  auto killed = std::make_shared<TaskException>();
  killed->origin = ExceptionOrigin::killed_worker;
  killed->last_worker = "tcp://127.0.0.1:1234";
  killed->allowed_failures = 3;
  m.exception = killed;
  wire = g.svc.encode_client_msg(m);
  REQUIRE(wire.find("exception")->is_bin());
  std::string pickle(wire.find("exception")->as_bin().view());
  CHECK(pickle.find("KilledWorker") != std::string::npos);
  CHECK(wire.find("traceback")->is_nil());
}

TEST_CASE("a free-keys intent for a gone worker is dropped; keys keep their types",
          "[glue]") {
  Glue g;
  Value tuple_key = Value(protocol::Array{Value("x-1"), Value(3)});
  FreeKeysMsg f{WorkerId{0}, {canonical(tuple_key)}, "s-1"};
  Value wire = g.svc.encode_worker_msg(f);
  CHECK(*wire.find("keys") == Value(protocol::Array{tuple_key}));
  CHECK(*wire.find("stimulus_id") == Value("s-1"));
}

TEST_CASE("annotations: addresses are workers, names resolve, the rest are hosts",
          "[glue]") {
  AliasLookup aliases = [](std::string_view n) -> std::optional<std::string> {
    if (n == "alice") return std::string("tcp://10.0.0.1:4000");
    return std::nullopt;
  };
  GraphTask t;
  Value ann = protocol::make_map(
      {{"workers",
        Value(protocol::Array{Value("tcp://127.0.0.1:8000"), Value("10.0.0.2:9"),
                              Value("alice"), Value("somehost")})},
       {"allow_other_workers", Value(true)},
       {"resources", protocol::make_map({{"GPU", Value(2)}})},
       {"retries", Value(4)},
       {"priority", Value(-7)},
       {"custom", Value("kept")}});
  apply_annotations(ann, aliases, t);
  CHECK(t.restrictions.workers == std::vector<std::string>{"tcp://127.0.0.1:8000",
                                                           "tcp://10.0.0.2:9",
                                                           "tcp://10.0.0.1:4000"});
  CHECK(t.restrictions.hosts == std::vector<std::string>{"somehost"});
  CHECK(t.restrictions.loose);
  REQUIRE(t.restrictions.resources.size() == 1);
  CHECK(t.restrictions.resources[0] == std::pair<std::string, double>{"GPU", 2.0});
  CHECK(t.retries == 4);
  CHECK(t.user_priority == -7);

  GraphTask single;
  apply_annotations(protocol::make_map({{"workers", Value("tcp://1.2.3.4:5")}}), aliases,
                    single);
  CHECK(single.restrictions.workers == std::vector<std::string>{"tcp://1.2.3.4:5"});
  CHECK_FALSE(single.restrictions.loose);
}

TEST_CASE("dask config: YAML nesting, env overrides, parsed values", "[glue]") {
  FlatConfig flat;
  parse_config_yaml(
      "# comment\n"
      "distributed:\n"
      "  scheduler:\n"
      "    allowed_failures: 7   # trailing comment\n"
      "    worker-saturation: inf\n"
      "    worker-ttl: '2 minutes'\n"
      "  worker:\n"
      "    allowed-failures: 99\n",
      flat);
  CHECK(flat.at("distributed.scheduler.allowed-failures") == "7");
  CHECK(flat.at("distributed.worker.allowed-failures") == "99");
  parse_config_env({"DASK_DISTRIBUTED__SCHEDULER__UNKNOWN_TASK_DURATION=250ms",
                    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=2", "HOME=/root"},
                   flat);
  auto s = settings_from_config(flat);
  REQUIRE(s.ok());
  CHECK(s->config.allowed_failures == 2);
  CHECK(s->config.worker_saturation == kInfinity);
  CHECK(s->config.unknown_task_duration == Approx(0.25));
  CHECK(s->worker_ttl_seconds == Approx(120));

  FlatConfig off{{"distributed.scheduler.worker-ttl", "null"}};
  CHECK(settings_from_config(off)->worker_ttl_seconds == 0);
  // The transition log keeps stock's default length unless configured.
  CHECK(s->config.transition_log_length == 1000);
  FlatConfig longer{{"distributed.admin.low-level-log-length", "5000"}};
  CHECK(settings_from_config(longer)->config.transition_log_length == 5000);
  FlatConfig bad{{"distributed.scheduler.worker-saturation", "lots"}};
  auto err = settings_from_config(bad);
  REQUIRE_FALSE(err.ok());
  CHECK(err.status().message().find("worker-saturation") != std::string::npos);
}

TEST_CASE("dask config: work-stealing and its interval (a bare number is ms)", "[glue]") {
  CHECK(settings_from_config({})->config.work_stealing);
  CHECK(settings_from_config({})->config.work_stealing_interval == Approx(1.0));
  FlatConfig flat;
  parse_config_env({"DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING=False",
                    "DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING_INTERVAL=100ms"},
                   flat);
  auto s = settings_from_config(flat);
  REQUIRE(s.ok());
  CHECK_FALSE(s->config.work_stealing);
  CHECK(s->config.work_stealing_interval == Approx(0.1));
  FlatConfig ms{{"distributed.scheduler.work-stealing-interval", "250"}};
  CHECK(settings_from_config(ms)->config.work_stealing_interval == Approx(0.25));
}

TEST_CASE("client ops apply in arrival order while an update-graph is in flight",
          "[glue]") {
  Glue g;
  std::vector<std::string> log;
  // update-graph: holds the client until its (asynchronous) result is applied.
  g.svc.run_in_client_order("c", [&] {
    log.push_back("graph-1 start");
    g.svc.hold_client("c");
  });
  g.svc.run_in_client_order("c", [&] { log.push_back("releases"); });
  g.svc.run_in_client_order("c", [&] {
    log.push_back("graph-2 start");
    g.svc.hold_client("c");
  });
  g.svc.run_in_client_order("c", [&] { log.push_back("close"); });
  g.svc.run_in_client_order("other", [&] { log.push_back("other client"); });
  CHECK(log == std::vector<std::string>{"graph-1 start", "other client"});
  log.push_back("graph-1 applied");
  g.svc.release_client("c");
  CHECK(log == std::vector<std::string>{"graph-1 start", "other client",
                                        "graph-1 applied", "releases", "graph-2 start"});
  CHECK(g.svc.client_held("c"));
  g.svc.release_client("c");
  CHECK(log.back() == "close");
  CHECK_FALSE(g.svc.client_held("c"));
  g.svc.run_in_client_order("c", [&] { log.push_back("now"); });
  CHECK(log.back() == "now");
}

TEST_CASE("fire_and_forget's desires wait behind the sender's update-graph",
          "[glue][fire-and-forget]") {
  // The client sends update-graph(b), then client-desires-keys naming the
  // "fire-and-forget" pseudo-client, then releases b. While b's graph is still
  // materializing (the client is held), the desires must queue behind it, or it
  // finds no b, is dropped, and the release forgets b: fire_and_forget never ran b.
  Glue g;
  ExtensionContext ctx{g.server.io_context(),
                       g.svc,
                       g.server.connections(),
                       g.server.rpc_handlers(),
                       g.server.client_stream_handlers(),
                       g.server.worker_stream_handlers(),
                       g.server.options(),
                       [](const std::vector<std::string>&, const Value&) {},
                       [] { return false; }};
  register_client_key_ops(ctx);
  const protocol::StreamHandler* desires =
      g.server.client_stream_handlers().find("client-desires-keys");
  REQUIRE(desires != nullptr);

  g.svc.hold_client("c");  // update-graph(b) is materializing
  const Value msg = protocol::make_map({{"op", Value("client-desires-keys")},
                                        {"keys", Value(protocol::Array{Value("b")})},
                                        {"client", Value("fire-and-forget")}});
  const Value extra = protocol::make_map({{"client", Value("c")}});
  const std::string peer = "tcp://client";
  REQUIRE(
      (*desires)(protocol::StreamMessage{"client-desires-keys", msg, extra, peer}).ok());

  UpdateGraph graph;
  graph.client = "c";
  GraphTask b;
  b.key = protocol::Key::str("b").canonical();
  b.prefix_name = "b";
  b.group_name = "b";
  b.run_spec = std::make_shared<const std::string>("spec");
  graph.tasks.push_back(b);
  graph.keys = {b.key};
  REQUIRE(handle(g.svc.state(), graph, Stimulus{"update-graph-1", 1}).ok());
  g.svc.release_client("c");  // the graph is in; queued ops run now

  SchedulerState& s = g.svc.state();
  const TaskState& ts = s.task(*s.find_task(b.key));
  CHECK(ts.who_wants.contains(s.fire_and_forget()));
  CHECK(s.client(s.fire_and_forget()).wants_what.contains(*s.find_task(b.key)));
}

}  // namespace
}  // namespace daskcpp::scheduler
