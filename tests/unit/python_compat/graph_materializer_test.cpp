#include "python_compat/graph_materializer.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <variant>

#include "protocol/codec/message_codec.hpp"
#include "protocol/messages/key.hpp"
#include "tests/unit/python_compat/test_support.hpp"

namespace daskcpp::python_compat {
namespace {

using protocol::Value;

// The task's key as a Value tree (the materializer hands over bytes only).
Value key_of(const MaterializedTask& t) {
  return protocol::Key::from_wire(t.key).decoded();
}

std::string str(const Value& v) {
  return v.is_bin() ? std::string(v.as_bin().view()) : v.as_str();
}

std::string encoded(const Value& v) {
  auto b = protocol::encode_msgpack(v);
  REQUIRE(b.ok());
  return std::string(b.value().view());
}

MaterializedGraph materialize_ok(const protocol::Frames& frames) {
  GraphMaterializer m(test::interpreter());
  auto r = m.materialize(test::request_from_frames(frames));
  REQUIRE(r.ok());
  if (auto* e = std::get_if<MaterializeError>(&r.value()))
    FAIL("materialize: " << e->text);
  return std::get<MaterializedGraph>(std::move(r).value());
}

// Compares every record with what stock distributed computes for the same message
// (fixtures.reference): keys, dependencies, order, data_producer, annotations,
// key_split names and the run_spec sub-header + buffers, byte for byte.
void check_against_stock(const std::string& scenario) {
  INFO("scenario " << scenario);
  protocol::Frames frames = test::call("update_graph_frames", {Bytes::copy_of(scenario)});
  MaterializedGraph graph = materialize_ok(frames);
  auto ref_bytes = test::call("reference", frames);
  REQUIRE(ref_bytes.size() == 1);
  auto ref = protocol::decode_msgpack(ref_bytes[0].span());
  REQUIRE(ref.ok());
  const auto& top = ref.value().as_array();
  CHECK(graph.culled == top[0].as_bool());
  const auto& records = top[1].as_array();
  REQUIRE(graph.tasks.size() == records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& rec = records[i].as_array();
    const MaterializedTask& t = graph.tasks[i];
    INFO("task " << i << " " << key_of(t).to_debug_string());
    CHECK(t.key == str(rec[0]));
    // The scheduler interns these bytes as they are: they must be the canonical
    // form Key::from_value writes for the same key.
    auto canonical = protocol::Key::from_value(key_of(t));
    REQUIRE(canonical.ok());
    CHECK(canonical->canonical() == t.key);
    std::vector<std::string> deps = t.dependencies;
    std::sort(deps.begin(), deps.end());
    std::vector<std::string> ref_deps;
    for (const Value& d : rec[1].as_array()) ref_deps.push_back(str(d));
    CHECK(deps == ref_deps);
    CHECK(t.has_order);
    CHECK(t.order == rec[2].as_int64());
    CHECK(t.data_producer == rec[3].as_bool());
    CHECK(encoded(t.annotations) == str(rec[4]));
    CHECK(t.key_split == rec[5].as_str());
    CHECK(t.key_split_group == rec[6].as_str());
    REQUIRE(t.run_spec);
    const protocol::Payload run_spec = t.run_spec->payload();
    CHECK(run_spec.kind == protocol::Payload::Kind::kPickled);
    CHECK(std::string(run_spec.header.view()) == str(rec[7]));
    const auto& bufs = rec[8].as_array();
    REQUIRE(run_spec.frames.size() == bufs.size());
    for (std::size_t b = 0; b < bufs.size(); ++b) {
      CHECK(std::string(run_spec.frames[b].view()) == str(bufs[b]));
    }
  }
}

TEST_CASE("materialized records equal stock distributed's", "[materializer]") {
  auto scenario = GENERATE(as<std::string>{}, "submit", "submit_lambda",
                           "submit_annotated", "map", "delayed_chain", "array_sum",
                           "array_numpy_buffer", "bag", "per_key_annotations",
                           "callable_annotation", "non_msgpack_annotation", "graph_10k");
  check_against_stock(scenario);
}

TEST_CASE("submit: one culled task with its internal priority", "[materializer]") {
  MaterializedGraph g =
      materialize_ok(test::call("update_graph_frames", {Bytes::copy_of("submit")}));
  REQUIRE(g.tasks.size() == 1);
  CHECK(g.culled);
  CHECK(g.tasks[0].key_split == "inc");
  CHECK(g.tasks[0].order == 0);
  CHECK(g.tasks[0].dependencies.empty());
  CHECK(g.external_dependencies.empty());
  CHECK(g.global_annotations == Value(protocol::Map{}));
}

TEST_CASE("annotations: per-key over global, callables evaluated per key",
          "[materializer]") {
  MaterializedGraph g = materialize_ok(
      test::call("update_graph_frames", {Bytes::copy_of("submit_annotated")}));
  REQUIRE(g.tasks.size() == 1);
  CHECK(g.tasks[0].annotations ==
        protocol::make_map({{"workers", Value(protocol::Array{"tcp://127.0.0.1:1234"})},
                            {"priority", 5},
                            {"retries", 2},
                            {"allow_other_workers", true}}));

  MaterializedGraph c = materialize_ok(
      test::call("update_graph_frames", {Bytes::copy_of("callable_annotation")}));
  // The callable is not msgpack-able and is left out of the global map.
  CHECK(c.global_annotations == protocol::make_map({{"custom", "x"}}));
  for (const MaterializedTask& t : c.tasks) {
    const Value* p = t.annotations.find("priority");
    REQUIRE(p != nullptr);
    CHECK(p->as_int64() == (key_of(t).is_array() ? 7 : 1));
  }
}

TEST_CASE("a non-msgpack annotation is dropped and counted", "[materializer]") {
  MaterializedGraph g = materialize_ok(
      test::call("update_graph_frames", {Bytes::copy_of("non_msgpack_annotation")}));
  CHECK(g.dropped_annotations == 1);
  CHECK(g.global_annotations == protocol::make_map({{"retries", 1}}));
  for (const MaterializedTask& t : g.tasks) {
    CHECK(t.annotations == protocol::make_map({{"retries", 1}}));
  }
}

MaterializeError materialize_error(const protocol::Frames& frames) {
  GraphMaterializer m(test::interpreter());
  auto r = m.materialize(test::request_from_frames(frames));
  REQUIRE(r.ok());
  REQUIRE(std::holds_alternative<MaterializeError>(r.value()));
  return std::get<MaterializeError>(std::move(r).value());
}

// What a stock client gets from the exception payload: [type, str(e), type(cause)].
std::vector<std::string> unpickled(const MaterializeError& e) {
  std::vector<Bytes> args = {e.exception->header};
  args.insert(args.end(), e.exception->frames.begin(), e.exception->frames.end());
  std::vector<std::string> out;
  for (const Bytes& b : test::call("error_reference", args)) out.emplace_back(b.view());
  return out;
}

const std::string kDeserializationError =
    "Error during deserialization of the task graph. This frequently\n"
    "occurs if the Scheduler and Client have different environments.\n"
    "For more information, see\n"
    "https://docs.dask.org/en/stable/deployment-considerations.html"
    "#consistent-software-environments\n";

TEST_CASE("a graph referencing a missing module gives the stock RuntimeError",
          "[materializer][errors]") {
  MaterializeError e = materialize_error(
      test::call("update_graph_frames", {Bytes::copy_of("missing_module")}));
  CHECK(e.text == kDeserializationError);
  REQUIRE(e.exception);
  CHECK(e.exception->kind == protocol::Payload::Kind::kSerialized);
  CHECK(unpickled(e) == std::vector<std::string>{"RuntimeError", kDeserializationError,
                                                 "ModuleNotFoundError"});
  // As in traces/14_errors: the traceback is the pickle of None (all frames were
  // the scheduler's own).
  REQUIRE(e.traceback);
  REQUIRE(e.traceback->frames.size() == 1);
  CHECK(e.traceback->frames[0] == Bytes::copy_of(std::string_view("\x80\x05N.", 4)));
  // The sub-header is the one stock writes for to_serialize(bytes).
  auto header = protocol::decode_msgpack(e.exception->header.span());
  REQUIRE(header.ok());
  CHECK(header.value().find("serializer")->as_str() == "dask");
  CHECK(header.value().find("type")->as_str() == "bytes");
  CHECK(header.value().find("num-sub-frames")->as_int64() == 1);

  // The interpreter thread survives and serves the next request.
  check_against_stock("submit");
}

TEST_CASE("garbage instead of a pickle is a deserialization error",
          "[materializer][errors]") {
  MaterializeError e = materialize_error(test::call("garbage_frames"));
  CHECK(e.text == kDeserializationError);
  CHECK(unpickled(e) == std::vector<std::string>{"RuntimeError", kDeserializationError,
                                                 "UnpicklingError"});
  check_against_stock("map");
}

TEST_CASE("an exception while materializing is reported as itself",
          "[materializer][errors]") {
  MaterializeError e = materialize_error(
      test::call("update_graph_frames", {Bytes::copy_of("materialize_raises")}));
  CHECK(e.text == "graph exploded");
  CHECK(unpickled(e) == std::vector<std::string>{"ValueError", "graph exploded", ""});
}

TEST_CASE("a request without a serialized expression is refused",
          "[materializer][errors]") {
  GraphMaterializer m(test::interpreter());
  MaterializeRequest request;
  auto r = m.materialize(request);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "update-graph.expr_ser: expected a __Serialized__ payload");
}

TEST_CASE("submit() reports through its callback", "[materializer]") {
  GraphMaterializer m(test::interpreter());
  std::promise<MaterializeResult> done;
  m.submit(test::request_from_frames(
               test::call("update_graph_frames", {Bytes::copy_of("delayed_chain")})),
           [&done](MaterializeResult r) { done.set_value(std::move(r)); });
  MaterializeResult r = done.get_future().get();
  REQUIRE(r.ok());
  const auto& g = std::get<MaterializedGraph>(r.value());
  CHECK(g.tasks.size() == 10);
  CHECK_FALSE(g.culled);
}

}  // namespace
}  // namespace daskcpp::python_compat
