// The per-task fast paths (hot_ops.hpp) against the generic codec: every recorded
// task-finished, compute-task and free-keys reads to the struct Op::decode gives;
// the writers produce the bytes encode_message(op.encode()) produces; anything the
// fast readers do not expect is declined, not misread.
#include "protocol/messages/hot_ops.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "protocol/codec/message_codec.hpp"
#include "protocol/framing/frame_decoder.hpp"
#include "tests/unit/trace_fixtures.hpp"

namespace daskcpp::protocol {
namespace {

using test::frames_of;

// `op` sent on its own, parsed back.
ParsedMessage parsed(const Value& op) {
  auto message = ParsedMessage::parse(encode_message(op), DecodeLimits{});
  REQUIRE(message.ok());
  return std::move(message).value();
}

// The bytes of one op-map written by `write` into a batch of its own.
template <typename Write>
Frames written(Write write) {
  std::vector<std::uint8_t> frame0;
  Frames frames(1);
  MsgpackWriter w(frame0);
  write(w, frames);
  frames[0] = Bytes::from_vector(std::move(frame0));
  return frames;
}

void check_same_frames(const Frames& got, const Frames& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == want[i]);
}

TaskFinished sample_task_finished() {
  TaskFinished op;
  op.key = *Key::from_value(Value(Array{Value("inc-abc"), Value(3)}));
  op.run_id = 17;
  op.nbytes = 28;
  op.type = Bytes::copy_of(std::string_view("\x80\x04\x95int"));
  op.typename_ = "int";
  op.thread = 140000000000001;
  op.startstops.push_back({"compute", 1.5, 2.25, std::nullopt});
  op.startstops.push_back({"transfer", 1.0, 1.25, std::string("tcp://127.0.0.1:1")});
  op.stimulus_id = "task-finished-1765000000.1";
  return op;
}

TEST_CASE("recorded per-task ops read fast as the generic decoder reads them",
          "[messages][traces][hot]") {
  std::map<std::string, int> counts;
  for (const std::string& path : test::raw_trace_paths()) {
    auto records = read_trace(path);
    REQUIRE(records.ok());
    for (const TraceRecord& r : *records) {
      if (r.type != TraceRecordType::kMessage) continue;
      auto message = ParsedMessage::parse(frames_of(r.payload), DecodeLimits{});
      REQUIRE(message.ok());
      const msgpack::object& root = message->root();
      if (root.type != msgpack::type::ARRAY) continue;
      for (std::uint32_t i = 0; i < root.via.array.size; ++i) {
        const msgpack::object& item = root.via.array.ptr[i];
        auto as_value = message->to_value(item);
        REQUIRE(as_value.ok());
        const Value* name = as_value->find("op");
        if (name == nullptr || !name->is_str()) continue;
        INFO(path << ": " << as_value->to_debug_string(400));
        if (name->as_str() == "task-finished") {
          auto fast = read_task_finished(item, *message);
          REQUIRE(fast.has_value());
          CHECK(*fast == *TaskFinished::decode(*as_value));
        } else if (name->as_str() == "compute-task") {
          auto fast = read_compute_task(item, *message);
          REQUIRE(fast.has_value());
          CHECK(*fast == *ComputeTask::decode(*as_value));
        } else if (name->as_str() == "free-keys") {
          auto fast = read_free_keys(item);
          REQUIRE(fast.has_value());
          CHECK(*fast == *FreeKeys::decode(*as_value));
        } else {
          continue;
        }
        ++counts[name->as_str()];
      }
    }
  }
  CHECK(counts["task-finished"] > 0);
  CHECK(counts["compute-task"] > 0);
  CHECK(counts["free-keys"] > 0);
}

TEST_CASE("task-finished: the fast writer and reader agree with the generic codec",
          "[messages][hot]") {
  TaskFinished op = sample_task_finished();
  check_same_frames(
      written([&](MsgpackWriter& w, Frames&) { write_task_finished(w, op); }),
      encode_message(op.encode()));
  ParsedMessage message = parsed(op.encode());
  auto fast = read_task_finished(message.root(), message);
  REQUIRE(fast.has_value());
  CHECK(*fast == op);

  SECTION("nil type and thread, metadata with entries") {
    op.type.reset();
    op.thread.reset();
    op.metadata = make_map({{"span", Value(Array{Value("a"), Value(1.5)})}});
    check_same_frames(
        written([&](MsgpackWriter& w, Frames&) { write_task_finished(w, op); }),
        encode_message(op.encode()));
    ParsedMessage m = parsed(op.encode());
    auto again = read_task_finished(m.root(), m);
    REQUIRE(again.has_value());
    CHECK(*again == op);
  }
}

TEST_CASE("the fast readers decline what they do not expect", "[messages][hot]") {
  Value msg = sample_task_finished().encode();
  auto without = [&](std::string_view field) {
    Map m;
    for (const auto& [k, v] : msg.as_map()) {
      if (k.as_str() != field) m.emplace_back(k, v);
    }
    return Value(std::move(m));
  };
  auto with = [&](std::string_view field, Value value) {
    Value m = without(field);
    m.set(field, std::move(value));
    return m;
  };
  for (const Value& bad :
       {without("key"), without("type"), without("thread"), without("stimulus_id"),
        with("key", Value(Bytes::copy_of(std::string_view("k")))),
        with("run_id", Value("1")), with("type", Value("str")),
        with("startstops", Value(Array{Value(1)})), with("metadata", Value(Array{})),
        with("thread", Value(1.5))}) {
    INFO(bad.to_debug_string(300));
    ParsedMessage m = parsed(bad);
    CHECK_FALSE(read_task_finished(m.root(), m).has_value());
    CHECK_FALSE(TaskFinished::decode(bad).ok());
  }
  ParsedMessage not_keys = parsed(make_map(
      {{"op", "free-keys"}, {"keys", Value(Array{Value()})}, {"stimulus_id", "s"}}));
  CHECK_FALSE(read_free_keys(not_keys.root()).has_value());
}

TEST_CASE("compute-task: the fast writer writes what ComputeTask::encode writes",
          "[messages][hot]") {
  auto payload = std::make_shared<Payload>();
  payload->kind = Payload::Kind::kPickled;
  payload->header = Bytes::copy_of(std::string_view("\x81\xaenum-sub-frames\x01"));
  payload->frames.push_back(Bytes::copy_of(std::string_view("pickle-bytes")));
  const Value run_spec{PayloadPtr(payload)};
  const Value annotations = make_map({{"retries", 2}});
  const std::vector<std::string> holders = {"tcp://127.0.0.1:1", "tcp://127.0.0.1:2"};
  const std::string dep_key = Key::str("x-1").canonical();
  const std::vector<ComputeTaskDepView> deps = {{dep_key, holders, 80}};
  const std::vector<std::pair<std::string, double>> resources = {{"GPU", 1.0}};
  const std::string key =
      Key::from_value(Value(Array{Value("y"), Value(0)}))->canonical();

  for (double generation : {3.0, 2.99}) {
    ComputeTaskView view;
    view.key = key;
    view.run_id = 5;
    view.neg_user_priority = -1;
    view.generation = generation;
    view.order = 42;
    view.stimulus_id = "compute-task-1";
    view.dependencies = deps;
    view.run_spec = run_spec.as_payload().get();
    view.resource_restrictions = resources;
    view.actor = true;
    view.annotations = &annotations;

    ComputeTask op;
    op.key = Key::from_wire(key);
    op.run_id = 5;
    op.priority = Array{Value(-1), generation_value(generation), Value(42)};
    op.stimulus_id = "compute-task-1";
    op.who_has.emplace_back(Key::from_wire(dep_key), holders);
    op.nbytes.emplace_back(Key::from_wire(dep_key), 80);
    op.run_spec = run_spec;
    op.resource_restrictions = make_map({{"GPU", 1.0}});
    op.actor = true;
    op.annotations = annotations;
    INFO("generation " << generation);
    check_same_frames(
        written([&](MsgpackWriter& w, Frames& f) { write_compute_task(w, f, view); }),
        encode_message(op.encode()));

    ParsedMessage m = parsed(op.encode());
    auto fast = read_compute_task(m.root(), m);
    REQUIRE(fast.has_value());
    CHECK(*fast == op);
  }
}

TEST_CASE("key-in-memory: the fast writer writes what KeyInMemory::encode writes",
          "[messages][hot]") {
  const std::string key = Key::str("inc-1").canonical();
  KeyInMemory op;
  op.key = Key::from_wire(key);
  check_same_frames(written([&](MsgpackWriter& w, Frames&) {
                      write_key_in_memory(w, key, Bytes(), false);
                    }),
                    encode_message(op.encode()));
  op.type = Value();
  check_same_frames(written([&](MsgpackWriter& w, Frames&) {
                      write_key_in_memory(w, key, Bytes(), true);
                    }),
                    encode_message(op.encode()));
  const Bytes type = Bytes::copy_of(std::string_view("\x80\x04type"));
  op.type = Value(type);
  check_same_frames(written([&](MsgpackWriter& w, Frames&) {
                      write_key_in_memory(w, key, type, true);
                    }),
                    encode_message(op.encode()));
}

}  // namespace
}  // namespace daskcpp::protocol
