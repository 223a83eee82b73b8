// Replays the update-graph ops captured from a stock client (tests/fixtures/traces/raw,
// DTRACE01) through the materializer and compares with the compute-task the stock
// scheduler sent for them in the same capture.

#include <catch2/catch.hpp>
#include <variant>

#include "protocol/codec/message_codec.hpp"
#include "protocol/framing/frame_decoder.hpp"
#include "protocol/messages/key.hpp"
#include "python_compat/graph_materializer.hpp"
#include "tests/unit/python_compat/test_support.hpp"
#include "tests/unit/trace_fixtures.hpp"

namespace daskcpp::python_compat {
namespace {

using protocol::Value;

struct Captured {
  std::vector<protocol::Frames> update_graphs;  // one-op batches
  std::vector<Value> compute_tasks;
};

// Every update-graph (as its own one-op message) and compute-task op of a capture.
Captured ops_of(const std::string& name) {
  auto records = protocol::read_trace(daskcpp::test::traces_dir() + "/" + name);
  REQUIRE(records.ok());
  Captured out;
  for (const auto& rec : records.value()) {
    if (rec.type != protocol::TraceRecordType::kMessage) continue;
    protocol::FrameDecoder decoder;
    std::vector<protocol::Frames> messages;
    REQUIRE(decoder.consume(rec.payload.span(), messages).ok());
    for (const auto& frames : messages) {
      auto msg = protocol::decode_message(frames);
      REQUIRE(msg.ok());
      if (!msg.value().is_array()) continue;
      for (const Value& op : msg.value().as_array()) {
        const Value* name_v = op.find("op");
        if (name_v == nullptr || !name_v->is_str()) continue;
        if (name_v->as_str() == "compute-task") out.compute_tasks.push_back(op);
        if (name_v->as_str() == "update-graph") {
          // Re-encode alone so request_from_frames sees a one-op batch.
          out.update_graphs.push_back(
              protocol::encode_message(Value(protocol::Array{op})));
        }
      }
    }
  }
  return out;
}

TEST_CASE("captured submit: run_spec equals the stock scheduler's compute-task",
          "[materializer][trace]") {
  Captured c = ops_of("01_submit_inc.bin");
  REQUIRE(c.update_graphs.size() == 1);
  REQUIRE(c.compute_tasks.size() == 1);
  GraphMaterializer m(test::interpreter());
  auto r = m.materialize(test::request_from_frames(c.update_graphs[0]));
  REQUIRE(r.ok());
  REQUIRE(std::holds_alternative<MaterializedGraph>(r.value()));
  const auto& g = std::get<MaterializedGraph>(r.value());
  REQUIRE(g.tasks.size() == 1);
  const MaterializedTask& t = g.tasks[0];
  const Value& ct = c.compute_tasks[0];
  CHECK(protocol::Key::from_wire(t.key).wire_value() == *ct.find("key"));
  CHECK(t.key_split == "inc");
  CHECK(t.annotations == *ct.find("annotations"));
  CHECK(t.order == ct.find("priority")->as_array().back().as_int64());
  const protocol::Payload& stock = *ct.find("run_spec")->as_payload();
  CHECK(stock.kind == protocol::Payload::Kind::kPickled);
  CHECK(t.run_spec->payload().header == stock.header);
  CHECK(t.run_spec->payload().frames == stock.frames);
}

TEST_CASE("every captured update-graph materializes", "[materializer][trace]") {
  auto name = GENERATE(as<std::string>{}, "01_submit_inc.bin", "04_task_raises.bin",
                       "06_cancel_pending.bin");
  INFO(name);
  Captured c = ops_of(name);
  REQUIRE_FALSE(c.update_graphs.empty());
  GraphMaterializer m(test::interpreter());
  for (const auto& frames : c.update_graphs) {
    MaterializeRequest request = test::request_from_frames(frames);
    const std::size_t n_keys = request.keys.size();
    auto r = m.materialize(std::move(request));
    REQUIRE(r.ok());
    REQUIRE(std::holds_alternative<MaterializedGraph>(r.value()));
    const auto& g = std::get<MaterializedGraph>(r.value());
    CHECK(g.tasks.size() >= n_keys);
    for (const auto& t : g.tasks) CHECK(t.run_spec->payload().header.size() > 30);
  }
}

}  // namespace
}  // namespace daskcpp::python_compat
