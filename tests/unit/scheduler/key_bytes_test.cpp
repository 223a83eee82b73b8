// A task key is encoded once, where it enters the scheduler, and leaves in the bytes
// it came with: from a decoded update-graph / task-finished through the core's key
// table and intents to an encoded compute-task and key-in-memory, the key's bytes in
// the output frame are the input's canonical bytes, written verbatim.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "protocol/codec/message_codec.hpp"
#include "protocol/codec/pickled_run_spec.hpp"
#include "protocol/messages/client_ops.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/messages/worker_ops.hpp"
#include "scheduler/server/scheduler_server.hpp"
#include "scheduler/service/scheduler_service.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {
namespace {

using protocol::Array;
using protocol::Key;
using protocol::Value;

// The key as a Python peer's msgpack.packb writes it (shortest forms, float64).
std::string python_bytes(const Value& key) {
  auto b = protocol::encode_msgpack(key);
  REQUIRE(b.ok());
  return std::string(b->view());
}

bool contains(const Bytes& frame, const std::string& needle) {
  return std::string(frame.view()).find(needle) != std::string::npos;
}

template <typename Msg>
std::vector<Msg> of_type(const auto& msgs) {
  std::vector<Msg> out;
  for (const auto& m : msgs) {
    if (const Msg* x = std::get_if<Msg>(&m)) out.push_back(*x);
  }
  return out;
}

Effects ok(Result<Effects> r) {
  REQUIRE(r.ok());
  return std::move(r).value();
}

// The key field of an op map, then the key's bytes: "\xa3key" + key.
std::string key_field(const std::string& key_bytes) { return "\xa3key" + key_bytes; }

TEST_CASE("a key leaves in compute-task and key-in-memory with the bytes it came with",
          "[glue][keys]") {
  const Value dep = GENERATE(
      Value("inc-cdb3bc80f6e84e1d8a1b3c1e2f3a4b5c"),
      Value(Array{Value("x-2"), Value(1), Value(2.5),
                  Value(Array{Value("y"), Value(-300), Value(std::int64_t{1} << 40)})}),
      Value(std::string(300, 'k')),  // str16 on the wire
      Value(1.5), Value(7));
  const Value top = Value(Array{Value("sum-92f3391a24764f04f03fa56ae2804159"), Value(0),
                                Value(Array{Value(3.25)})});
  INFO(dep.to_debug_string(80));
  const std::string dep_bytes = python_bytes(dep);
  const std::string top_bytes = python_bytes(top);

  SchedulerServer server{SchedulerOptions{}};
  SchedulerService& svc = server.service();
  SchedulerState& s = svc.state();
  const std::string worker = "tcp://127.0.0.1:4000";
  ok(handle(s, AddWorker{worker, worker, "127.0.0.1", 2, 0, {}, WorkerStatus::running},
            Stimulus{"w", 1}));

  // Intake: the client's keys through the wire and the field reader that
  // update-graph's `keys` also go through (decoded, then made Keys once), and the
  // materialized tasks' keys as the interpreter hands them over (canonical bytes,
  // used as they are).
  protocol::Frames request = protocol::encode_message(protocol::make_map(
      {{"op", Value("client-desires-keys")}, {"keys", Value(Array{dep, top})}}));
  auto request_msg = protocol::decode_message(request);
  REQUIRE(request_msg.ok());
  auto wanted = protocol::ClientDesiresKeys::decode(*request_msg);
  REQUIRE(wanted.ok());
  UpdateGraph g;
  g.client = "client-1";
  g.keys = protocol::canonical_keys(wanted->keys);
  REQUIRE(g.keys == std::vector<std::string>{dep_bytes, top_bytes});
  GraphTask a;
  a.key = dep_bytes;
  a.run_spec = std::make_shared<const protocol::PickledRunSpec>(
      protocol::PickledRunSpec::whole("spec-a"));
  a.order = 0;
  GraphTask b;
  b.key = top_bytes;
  b.dependencies = {dep_bytes};
  b.run_spec = std::make_shared<const protocol::PickledRunSpec>(
      protocol::PickledRunSpec::whole("spec-b"));
  b.order = 1;
  g.tasks = {a, b};
  ok(handle(s, AddClient{g.client}, Stimulus{"client", 2}));
  Effects submitted = ok(handle(s, g, Stimulus{"update-graph", 2}));

  auto computes = of_type<ComputeTaskMsg>(submitted.to_workers);
  REQUIRE(computes.size() == 1);
  protocol::Frames out = protocol::encode_message(svc.encode_worker_msg(computes[0]));
  CHECK(contains(out[0], key_field(dep_bytes)));

  // task-finished from the worker, through the wire and its decoder.
  protocol::TaskFinished tf;
  tf.key = Key::str("placeholder");
  tf.run_id = computes[0].run_id;
  tf.nbytes = 8;
  tf.typename_ = "int";
  tf.stimulus_id = "task-finished-1";
  Value msg = tf.encode();
  for (auto& [field, v] : msg.as_map()) {
    if (field == Value("key")) v = dep;  // as a Python worker writes the key
  }
  protocol::Frames in = protocol::encode_message(msg);
  REQUIRE(contains(in[0], key_field(dep_bytes)));
  auto decoded = protocol::decode_message(in);
  REQUIRE(decoded.ok());
  auto finished = protocol::TaskFinished::decode(*decoded);
  REQUIRE(finished.ok());
  TaskFinished core;
  core.worker = worker;
  core.key = finished->key.canonical();
  core.run_id = finished->run_id;
  core.nbytes = finished->nbytes;
  Effects done = ok(handle(s, core, Stimulus{"task-finished", 3}));

  auto in_memory = of_type<KeyInMemoryMsg>(done.to_clients);
  REQUIRE(in_memory.size() == 1);
  out = protocol::encode_message(svc.encode_client_msg(in_memory[0]));
  CHECK(contains(out[0], key_field(dep_bytes)));

  computes = of_type<ComputeTaskMsg>(done.to_workers);
  REQUIRE(computes.size() == 1);
  out = protocol::encode_message(svc.encode_worker_msg(computes[0]));
  CHECK(contains(out[0], key_field(top_bytes)));
  // who_has and nbytes are maps keyed by the dependency's bytes.
  CHECK(contains(out[0], "\xa7who_has\x81" + dep_bytes));
  CHECK(contains(out[0], "\xa6nbytes\x81" + dep_bytes));
  // And the message decodes to the keys the client sent.
  auto back = protocol::decode_message(out);
  REQUIRE(back.ok());
  CHECK(*back->find("key") == top);
  CHECK(back->find("who_has")->as_map()[0].first == dep);
}

TEST_CASE("a key written by another packer in a longer form leaves in the short one",
          "[glue][keys]") {
  // ("x", 1) with 1 as a uint16 and "x" as a str8: decoded, the key is the same,
  // and from then on it travels as its canonical bytes.
  const std::string longer("\x92\xd9\x01x\xcd\x00\x01", 7);
  auto v = protocol::decode_msgpack(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(longer.data()), longer.size()));
  REQUIRE(v.ok());
  auto key = Key::from_value(*v);
  REQUIRE(key.ok());
  CHECK(key->canonical() == std::string("\x92\xa1x\x01", 4));
  auto encoded = protocol::encode_msgpack(key->wire_value());
  REQUIRE(encoded.ok());
  CHECK(std::string(encoded->view()) == key->canonical());
  CHECK(key->wire_value() == *v);
  CHECK(key->decoded() == *v);
}

}  // namespace
}  // namespace daskcpp::scheduler
