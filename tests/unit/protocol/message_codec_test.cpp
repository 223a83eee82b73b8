// decode_message / encode_message: payload resolution and renumbering (§3.3-3.5).
#include "protocol/codec/message_codec.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/protocol/test_bytes.hpp"

namespace daskcpp::protocol {
namespace {

using test::to_hex;

Bytes msgpack_of(const Value& v) {
  auto b = encode_msgpack(v);
  REQUIRE(b.ok());
  return *b;
}

Bytes raw(std::string_view s) { return Bytes::copy_of(s); }

Bytes serialized_header(std::int64_t n) {
  return msgpack_of(make_map({{"serializer", "pickle"},
                              {"writeable", Array{}},
                              {"compression", Array(static_cast<std::size_t>(n))},
                              {"num-sub-frames", n}}));
}

Bytes pickled_header(std::string_view pickle, std::int64_t n) {
  return msgpack_of(make_map({{"pickled-obj", raw(pickle)}, {"num-sub-frames", n}}));
}

Value ref(const char* kind, std::int64_t index) { return make_map({{kind, index}}); }

Value decode_ok(const Frames& frames) {
  auto v = decode_message(frames);
  INFO(v.status().to_string());
  REQUIRE(v.ok());
  return *v;
}

Status decode_err(const Frames& frames) {
  auto v = decode_message(frames);
  REQUIRE_FALSE(v.ok());
  return v.status();
}

void check_same_frames(const Frames& got, const Frames& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("frame " << i);
    CHECK(to_hex(got[i]) == to_hex(want[i]));
  }
}

TEST_CASE("__Serialized__ and __Pickled__ become Payloads and round-trip", "[message]") {
  const Frames frames{msgpack_of(make_map({{"op", "x"},
                                           {"data", ref("__Serialized__", 1)},
                                           {"code", ref("__Pickled__", 3)}})),
                      serialized_header(1), raw("payload-bytes"),
                      pickled_header("\x80\x05N.", 0)};
  const Value v = decode_ok(frames);

  const Value* data = v.find("data");
  REQUIRE(data != nullptr);
  REQUIRE(data->is_payload());
  const Payload& p = *data->as_payload();
  CHECK(p.kind == Payload::Kind::kSerialized);
  CHECK(p.header.data() == frames[1].data());  // a slice, not a copy
  REQUIRE(p.frames.size() == 1);
  CHECK(p.frames[0].data() == frames[2].data());

  const Value* code = v.find("code");
  REQUIRE(code != nullptr);
  REQUIRE(code->is_payload());
  CHECK(code->as_payload()->kind == Payload::Kind::kPickled);
  CHECK(code->as_payload()->header == frames[3]);
  CHECK(code->as_payload()->frames.empty());

  check_same_frames(encode_message(v), frames);
}

TEST_CASE("any map holding a payload key is replaced, as the object hook does",
          "[message]") {
  const Frames frames{
      msgpack_of(make_map({{"d", make_map({{"extra", 1}, {"__Pickled__", 1}})}})),
      pickled_header("p", 0)};
  const Value v = decode_ok(frames);
  REQUIRE(v.find("d")->is_payload());
  CHECK(to_hex(encode_message(v)[0]) ==
        to_hex(msgpack_of(make_map({{"d", ref("__Pickled__", 1)}}))));
}

TEST_CASE("nested payloads in a batch of two ops keep one index space", "[message]") {
  // As observed in 06_cancel_pending: two update-graph ops in one batch used
  // sub-header frames 1,3,4,5 and 6,8,9,10.
  auto op = [](std::int64_t first) {
    return make_map({{"op", "update-graph"},
                     {"expr", Array{make_map({{"graph", ref("__Serialized__", first)}})}},
                     {"code", ref("__Pickled__", first + 2)},
                     {"annotations", ref("__Pickled__", first + 3)},
                     {"span_metadata", ref("__Pickled__", first + 4)}});
  };
  const Frames frames{msgpack_of(Array{op(1), op(6)}),
                      serialized_header(1),
                      raw("graph-a"),
                      pickled_header("ca", 0),
                      pickled_header("aa", 0),
                      pickled_header("sa", 0),
                      serialized_header(1),
                      raw("graph-b"),
                      pickled_header("cb", 0),
                      pickled_header("ab", 0),
                      pickled_header("sb", 0)};
  const Value v = decode_ok(frames);
  const Array& ops = v.as_array();
  REQUIRE(ops.size() == 2);
  const PayloadPtr& graph_b =
      ops[1].find("expr")->as_array()[0].find("graph")->as_payload();
  CHECK(graph_b->header.data() == frames[6].data());
  CHECK(to_hex(graph_b->frames[0]) == to_hex(raw("graph-b")));
  CHECK(ops[1].find("span_metadata")->as_payload()->header.data() == frames[10].data());
  check_same_frames(encode_message(v), frames);
}

TEST_CASE("payloads from two messages are renumbered depth-first", "[message]") {
  // Message A: a task-erred with exception@1 and traceback@3.
  const Frames a{msgpack_of(make_map({{"op", "task-erred"},
                                      {"exception", ref("__Serialized__", 1)},
                                      {"traceback", ref("__Serialized__", 3)}})),
                 serialized_header(1), raw("exc"), serialized_header(1), raw("tb")};
  // Message B: a get_data reply with one two-frame payload@1.
  const Frames b{
      msgpack_of(make_map({{"data", make_map({{"k", ref("__Serialized__", 1)}})}})),
      serialized_header(2), raw("d1"), raw("d2")};
  const Value va = decode_ok(a);
  const Value vb = decode_ok(b);

  const Value forwarded = Array{make_map({{"op", "one"},
                                          {"e", *vb.find("data")->find("k")},
                                          {"t", *va.find("traceback")}}),
                                make_map({{"op", "two"}, {"x", *va.find("exception")}})};
  const Frames out = encode_message(forwarded);

  const Value expected_frame0 =
      Array{make_map({{"op", "one"},
                      {"e", ref("__Serialized__", 1)},
                      {"t", ref("__Serialized__", 4)}}),
            make_map({{"op", "two"}, {"x", ref("__Serialized__", 6)}})};
  check_same_frames(
      out, Frames{msgpack_of(expected_frame0), b[1], b[2], b[3], a[3], a[4], a[1], a[2]});
  // Forwarded, not copied.
  CHECK(out[2].data() == b[2].data());
  CHECK(out[7].data() == a[2].data());
  // And it decodes back to the same Value.
  CHECK(decode_ok(out) == forwarded);
}

TEST_CASE("payload index errors", "[message][errors]") {
  const Bytes h0 = serialized_header(0);
  CHECK(decode_err({msgpack_of(make_map({{"d", ref("__Serialized__", 5)}})), h0}) ==
        Status::Invalid(
            "__Serialized__ index 5 is out of range: the message has 2 frames"));
  CHECK(decode_err({msgpack_of(ref("__Serialized__", 0)), h0}) ==
        Status::Invalid("__Serialized__ index 0 points at frame 0, the message itself"));
  CHECK(decode_err({msgpack_of(ref("__Pickled__", -1)), h0}) ==
        Status::Invalid("__Pickled__ index -1 must be >= 1"));
  // The legacy in-band form {"__Serialized__": True, "data": ...} is never sent.
  CHECK(decode_err({msgpack_of(make_map({{"__Serialized__", true}})), h0}) ==
        Status::Invalid("__Serialized__ index must be an int >= 1, got bool"));
  CHECK(decode_err({}) == Status::Invalid("message has no frames (frame 0 is missing)"));
}

TEST_CASE("sub-header errors", "[message][errors]") {
  const Bytes f0 = msgpack_of(Array{ref("__Serialized__", 1)});
  CHECK(decode_err({f0, serialized_header(3), raw("only-one")}) ==
        Status::Invalid("__Serialized__ sub-header in frame 1 announces 3 sub-frames but "
                        "only 1 frames follow it"));
  CHECK(
      decode_err({f0, msgpack_of(make_map({{"serializer", "pickle"}}))}) ==
      Status::Invalid(
          "__Serialized__ sub-header in frame 1 has no non-negative int num-sub-frames"));
  CHECK(
      decode_err({f0, msgpack_of(make_map({{"num-sub-frames", -1}}))}) ==
      Status::Invalid(
          "__Serialized__ sub-header in frame 1 has no non-negative int num-sub-frames"));
  CHECK(
      decode_err({f0, msgpack_of(Value(3))}) ==
      Status::Invalid(
          "__Serialized__ sub-header in frame 1 has no non-negative int num-sub-frames"));
  CHECK(
      decode_err({f0, test::hex_bytes("c1")}) ==
      Status::Invalid("__Serialized__ sub-header in frame 1: msgpack parse error: parse "
                      "error"));
}

TEST_CASE("bin values in frame 0 are slices of the frame", "[message]") {
  const Frames frames{msgpack_of(make_map({{"type", raw("\x80\x04pickle")}}))};
  const Value v = decode_ok(frames);
  const Bytes& type = v.find("type")->as_bin();
  CHECK(type.data() >= frames[0].data());
  CHECK(type.data() + type.size() <= frames[0].data() + frames[0].size());
}

}  // namespace
}  // namespace daskcpp::protocol
