// Every op: a round trip through the op table, the exact field order of encode(),
// and one exact error per failure kind.
#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "protocol/codec/message_codec.hpp"
#include "protocol/messages/handshake.hpp"
#include "protocol/messages/op_table.hpp"

namespace daskcpp::protocol {
namespace {

Key k(std::string_view s) { return Key::str(s); }
Key tk(std::string_view s, int i) {
  return *Key::from_value(Value(Array{Value(s), Value(i)}));
}
Value payload(std::string_view body, Payload::Kind kind = Payload::Kind::kSerialized) {
  auto p = std::make_shared<Payload>();
  p->kind = kind;
  p->header = Bytes::copy_of(std::string_view("\x81\xaenum-sub-frames\x01"));
  p->frames = {Bytes::copy_of(body)};
  return Value(PayloadPtr(p));
}
Value bin(std::string_view s) { return Value(Bytes::copy_of(s)); }
Value metrics() {
  return make_map({{"bandwidth", make_map({{"total", 100000000},
                                           {"workers", Value(Map{})},
                                           {"types", Value(Map{})}})},
                   {"digests_total_since_heartbeat", Value(Map{})},
                   {"memory", 77422592},
                   {"spilled_bytes", make_map({{"memory", 0}, {"disk", 0}})}});
}

std::vector<Message> samples() {
  std::vector<StartStop> ss = {{"transfer", 1.5, 2.5, "tcp://a:1"},
                               {"compute", 3, 4, {}}};
  WhoHas who_has = {{tk("x", 1), {"tcp://a:1", "tcp://b:2"}}, {k("y"), {"tcp://a:1"}}};
  KeyInts nbytes = {{tk("x", 1), 8}, {k("y"), 100}};
  return {
      TaskFinished{tk("x", 1), 7, 8, Bytes::copy_of(std::string_view("\x80\x05type")),
                   "int", make_map({{"m", 1}}), 140, ss, "s1"},
      TaskErred{k("x"), 3, payload("exc"), Value(), "ValueError('x')", "tb", std::nullopt,
                ss, "s2"},
      ReleaseWorkerData{k("x"), "s3"},
      AddKeys{{k("x"), tk("y", 2)}, "s4"},
      LongRunning{k("x"), 4, 0.5, "s5"},
      Reschedule{k("x"), "s6"},
      RequestRefreshWhoHas{{k("x")}, "s7"},
      StealResponse{k("x"), std::nullopt, "steal-1"},
      WorkerStatusChange{"running", "s8"},
      LogEvent{Value("tcp://a:1"), make_map({{"action", "closing-worker"}})},
      KeepAlive{},
      CloseStream{},
      ComputeTask{tk("sum", 1), 7, Array{Value(0), Value(1), Value(5)}, "ct-1", who_has,
                  nbytes, payload("spec", Payload::Kind::kPickled), Value(), false,
                  make_map({{"retries", 2}}), "span-1"},
      FreeKeys{{k("x")}, "s9"},
      StealRequest{k("x"), "steal-2"},
      AcquireReplicas{who_has, nbytes, "s10"},
      RemoveReplicas{{k("x"), k("y")}, "s11"},
      RefreshWhoHas{who_has, "s12"},
      RemoveWorker{"tcp://b:2", "s13"},
      CloseWorker{"scheduler-remove-worker"},
      UpdateGraph{payload("expr"),
                  {k("inc-1"), tk("x", 3)},
                  KeyInts{{k("inc-1"), 0}},
                  std::nullopt,
                  Value("100 ms"),
                  Value(false),
                  payload("code", Payload::Kind::kPickled),
                  payload("ann", Payload::Kind::kPickled),
                  payload("span", Payload::Kind::kPickled),
                  std::nullopt,
                  std::nullopt},
      ClientDesiresKeys{{k("x")}, "fire-and-forget"},
      ClientReleasesKeys{{k("x")}, "Client-1"},
      CancelKeys{{k("x")}, true, "user", std::nullopt, std::nullopt},
      ReportKey{tk("x", 0), std::nullopt},
      HeartbeatClient{},
      SubscribeTopic{"print", "Client-1"},
      UnsubscribeTopic{"warn", std::nullopt},
      CloseClient{},
      UpdateDataStream{who_has, nbytes, "Client-1"},
      StreamStart{"", ""},
      KeyInMemory{k("x"), bin("\x80\x05t"), std::nullopt},
      ClientTaskErred{k("x"), bin("\x80\x02pickle"), std::nullopt},
      LostData{k("x")},
      CancelledKeys{{k("x")}, Value("lost dependencies"), std::nullopt},
      TaskRetried{k("x")},
      RestartClient{},
      Event{Value("my-topic"), Value(Array{Value(1.5), make_map({{"hello", "world"}})})},
      AdjustHeartbeatInterval{5.0},
      StreamClosed{},
      RegisterWorker{false, "tcp://a:1", "init", 1, Value("worker-a"), 12.5,
                     make_map({{"GPU", 2}}), 2147483648LL, "/tmp/w",
                     make_map({{"dashboard", 35257}}), std::nullopt, 8296,
                     make_map({{"host", Value(Map{})}}), metrics(), Value(Map{}), "wc-1",
                     "Worker-1"},
      HeartbeatWorker{"tcp://a:1", 13.5, metrics(), Value(Map{}), Value(Map{}), true},
      Unregister{"tcp://a:1", "nanny-close-1", true},
      RegisterNanny{"tcp://n:1"},
      RegisterClient{"Client-1", false, make_map({{"host", Value(Map{})}})},
      Identity{-1, true},
      Gather{{k("x"), tk("y", 1)}, true},
      WhoHasRequest{std::nullopt, true},
      HasWhat{AddressList{"tcp://a:1"}, true},
      Ncores{std::nullopt, true},
      NcoresRunning{std::nullopt, std::nullopt},
      Processing{AddressList{}, true},
      NbytesRequest{std::vector<Key>{k("x")}, false, true},
      Scatter{KeyValues{{k("int-1"), payload("1")}}, std::nullopt, "Client-1",
              Value(false), Value(20), true},
      SchedulerUpdateData{who_has, nbytes, "Client-1", true},
      Retry{{k("boom")}, "Client-1", true},
      RestartRequest{Value(60), true, "client-restart-1", true},
      GetData{{k("x"), tk("y", 1)}, true, "tcp://b:2", true},
      WorkerUpdateData{KeyValues{{k("x"), payload("v")}}, std::nullopt, true},
  };
}

TEST_CASE("every op in the table round-trips through its decoder", "[messages]") {
  const std::vector<Message> all = samples();
  std::set<std::size_t> tags;
  for (const Message& m : all) tags.insert(m.index());
  REQUIRE(tags.size() == static_cast<std::size_t>(OpTag::kCount));
  std::set<std::size_t> rows_seen;
  for (const OpInfo& row : op_table()) {
    const Message& m = all[static_cast<std::size_t>(row.tag)];
    REQUIRE(tag_of(m) == row.tag);
    INFO(row.name << " on " << channel_name(row.channel));
    CHECK(op_name(m) == row.name);
    const Value wire = encode_op(m);
    auto back = decode_op(row.channel, wire);
    REQUIRE(back.ok());
    CHECK(*back == m);
    CHECK(encode_op(*back) == wire);
    rows_seen.insert(static_cast<std::size_t>(row.tag));
  }
  CHECK(rows_seen.size() == static_cast<std::size_t>(OpTag::kCount));
}

std::string bytes_of(const Value& v) {
  auto b = encode_msgpack(v);
  REQUIRE(b.ok());
  return std::string(b->view());
}

TEST_CASE("encode writes the stock field order", "[messages]") {
  // Worker dataclasses put op/stimulus_id after their fields.
  CHECK(bytes_of(ReleaseWorkerData{k("x"), "s"}.encode()) ==
        bytes_of(make_map(
            {{"key", "x"}, {"op", "release-worker-data"}, {"stimulus_id", "s"}})));
  // compute-task: exactly the 11 fields of ComputeTaskEvent, in _task_to_msg's order.
  const Value ct = std::get<ComputeTask>(samples()[12]).encode();
  std::vector<std::string> names;
  for (const auto& [name, _] : ct.as_map()) names.push_back(name.as_str());
  CHECK(names == std::vector<std::string>{"op", "key", "run_id", "priority",
                                          "stimulus_id", "who_has", "nbytes", "run_spec",
                                          "resource_restrictions", "actor", "annotations",
                                          "span_id"});
  // update-graph keys travel as a __Set__.
  const Value ug = std::get<UpdateGraph>(samples()[20]).encode();
  REQUIRE(set_items(*ug.find("keys")) != nullptr);
  CHECK(set_items(*ug.find("keys"))->size() == 2);
  // key-in-memory without type (scattered data) has no type field at all.
  CHECK(bytes_of(KeyInMemory{k("x"), std::nullopt, std::nullopt}.encode()) ==
        bytes_of(make_map({{"op", "key-in-memory"}, {"key", "x"}})));
}

TEST_CASE("decode errors name the op and the field", "[messages][errors]") {
  SECTION("missing field") {
    auto r = ComputeTask::decode(make_map({{"op", "compute-task"}}));
    CHECK(r.status().code() == StatusCode::kKeyError);
    CHECK(r.status().message() == "compute-task: missing field 'key'");
  }
  SECTION("wrong type") {
    Value v = TaskFinished{k("x"), 1, 8, std::nullopt, "int", Value(Map{}), {}, {}, "s"}
                  .encode();
    for (auto& [name, field] : v.as_map()) {
      if (name.as_str() == "run_id") field = Value("seven");
    }
    auto r = TaskFinished::decode(v);
    CHECK(r.status().code() == StatusCode::kTypeError);
    CHECK(r.status().message() == "task-finished: field 'run_id': expected int, got str");
  }
  SECTION("key of the wrong type: bin and nil") {
    auto r = LostData::decode(make_map({{"op", "lost-data"}, {"key", bin("x")}}));
    CHECK(r.status().message() ==
          "lost-data: field 'key': a key must be str, int, float or tuple, got bin");
    auto n = FreeKeys::decode(make_map({{"op", "free-keys"},
                                        {"keys", Value(Array{Value("a"), Value()})},
                                        {"stimulus_id", "s"}}));
    CHECK(n.status().message() ==
          "free-keys: field 'keys': item 1: a key must be str, int, float or tuple, got "
          "nil");
  }
  SECTION("tuple key inside who_has with a non-list value") {
    auto r = RefreshWhoHas::decode(
        make_map({{"op", "refresh-who-has"},
                  {"who_has", Value(Map{{tk("x", 1).wire_value(), Value("tcp://a:1")}})},
                  {"stimulus_id", "s"}}));
    CHECK(r.status().message() ==
          "refresh-who-has: field 'who_has': addresses of ('x', 1): expected array, got "
          "str");
  }
  SECTION("unknown op") {
    auto r = lookup_op(Channel::kClientToScheduler, "nope");
    CHECK(r.status().code() == StatusCode::kNotImplemented);
    CHECK(r.status().message() == "unknown op 'nope' on client-to-scheduler stream");
    auto d = decode_op(Channel::kWorkerRpc, make_map({{"op", "compute-task"}}));
    CHECK(d.status().message() == "unknown op 'compute-task' on worker RPC");
  }
  SECTION("no op, op not a str, not a map") {
    CHECK(decode_op(Channel::kSchedulerRpc, make_map({{"keys", 1}})).status().message() ==
          "message without 'op' on scheduler RPC");
    CHECK(decode_op(Channel::kSchedulerRpc, make_map({{"op", 3}})).status().message() ==
          "'op' must be str, got int");
    CHECK(TaskRetried::decode(Value("OK")).status().message() ==
          "task-retried: expected a map, got str");
  }
  SECTION("heartbeat metrics missing what the stock scheduler dereferences") {
    Value v = std::get<HeartbeatWorker>(samples()[41]).encode();
    for (auto& [name, field] : v.as_map()) {
      if (name.as_str() == "metrics") field = make_map({{"memory", 1}});
    }
    CHECK(HeartbeatWorker::decode(v).status().message() ==
          "heartbeat_worker: field 'metrics': missing 'metrics.bandwidth'");
  }
  SECTION("fifo_timeout that parse_timedelta refuses") {
    Value v = std::get<UpdateGraph>(samples()[20]).encode();
    for (auto& [name, field] : v.as_map()) {
      if (name.as_str() == "fifo_timeout") field = Value("1 fortnight");
    }
    CHECK(UpdateGraph::decode(v).status().message() ==
          "update-graph: field 'fifo_timeout': Invalid time unit: fortnight");
  }
  SECTION("extra fields are tolerated") {
    auto r = LostData::decode(make_map({{"op", "lost-data"}, {"key", "x"}, {"new", 1}}));
    REQUIRE(r.ok());
    CHECK(r->key == k("x"));
  }
}

TEST_CASE("update-graph fifo_timeout in seconds", "[messages]") {
  UpdateGraph g = std::get<UpdateGraph>(samples()[20]);
  CHECK(*g.fifo_timeout_seconds() == 0.1);
  g.fifo_timeout = Value("60s");
  CHECK(*g.fifo_timeout_seconds() == 60);
}

TEST_CASE("reply shapes round-trip", "[messages][rpc]") {
  GatherReply ok{true, KeyValues{{k("x"), payload("v")}}, {}};
  CHECK(*GatherReply::decode(ok.encode()) == ok);
  GatherReply err{false, {}, {k("x"), tk("y", 1)}};
  CHECK(*GatherReply::decode(err.encode()) == err);
  CHECK(GatherReply::decode(make_map({{"status", "weird"}})).status().message() ==
        "gather reply: field 'status': expected 'OK' or 'error', got 'weird'");
  GetDataReply busy{true, {}};
  CHECK(bytes_of(busy.encode()) == bytes_of(make_map({{"status", "busy"}})));
  CHECK(*GetDataReply::decode(busy.encode()) == busy);
  GetDataReply data{false, KeyValues{{k("x"), payload("v")}}};
  CHECK(*GetDataReply::decode(data.encode()) == data);
  CHECK(is_ok_ack(ok_ack()));
  CHECK(bytes_of(ok_ack()) == "\xa2OK");
  WorkerUpdateDataReply wu{KeyInts{{k("x"), 28}}};
  CHECK(*WorkerUpdateDataReply::decode(wu.encode()) == wu);
  RegisterWorkerReply rw{1.5, 0.5, Value(Map{}), "", ""};
  CHECK(*RegisterWorkerReply::decode(rw.encode()) == rw);
  HeartbeatReply hb{2.5, 1.0};
  CHECK(*HeartbeatReply::decode(hb.encode()) == hb);
  CHECK(bytes_of(heartbeat_missing_reply()) ==
        bytes_of(make_map({{"status", "missing"}})));
  CHECK(bytes_of(register_worker_error_reply("name taken, a", 1.0)) ==
        bytes_of(make_map(
            {{"status", "error"}, {"message", "name taken, a"}, {"time", 1.0}})));
}

TEST_CASE("handshake encode/decode and negotiation", "[messages][handshake]") {
  Handshake ours;
  CHECK(bytes_of(ours.encode()) ==
        bytes_of(make_map({{"compression", Value()},
                           {"python", Value(Array{Value(3), Value(11), Value(2)})},
                           {"pickle-protocol", 5}})));
  CHECK(*Handshake::decode(ours.encode()) == ours);
  Handshake theirs{"lz4", Value(), 4};
  CHECK(negotiate(ours, theirs) == SessionSettings{std::nullopt, 4});
  Handshake lz{"lz4", Value(), 5};
  CHECK(negotiate(lz, theirs) == SessionSettings{"lz4", 4});
  CHECK(Handshake::decode(make_map({{"compression", Value()}})).status().message() ==
        "handshake: missing field 'pickle-protocol'");
}

}  // namespace
}  // namespace daskcpp::protocol
