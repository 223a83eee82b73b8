// Keys, key_split / key_split_group and parse_timedelta against golden outputs
// computed once with the pinned venv (dask.utils.key_split,
// distributed.utils.key_split_group, dask.utils.parse_timedelta).
#include <catch2/catch.hpp>
#include <string>
#include <unordered_set>
#include <vector>

#include "protocol/codec/message_codec.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/messages/timedelta.hpp"

namespace daskcpp::protocol {
namespace {

Value arr(Array a) { return Value(std::move(a)); }

struct SplitCase {
  Value key;
  std::string split;
  std::string group;
};

TEST_CASE("key_split and key_split_group match upstream", "[messages][keys]") {
  const std::vector<SplitCase> cases = {
      {Value("inc-cdb3bc80f6e84e1d8a1b3c1e2f3a4b5c"), "inc", "inc"},
      {Value("slowinc-08a3940a-3639-48f5-b22a-979bb2ac79e0"), "slowinc", "slowinc"},
      {Value("ae05086432ca935f6eba409a8ecd4896"), "data", "data"},
      {Value("hello-world-1"), "hello-world", "hello-world"},
      {Value("x"), "x", "x"},
      {Value("x-1"), "x", "x"},
      {Value("x-1-2-3"), "x", "x"},
      {Value("x-abcdefab"), "x", "x"},
      {Value("x-absolute-y"), "x", "x"},
      {Value("x-abcdefgh-y"), "x", "x"},
      {Value("_(x)"), "x", "x"},
      {Value("('x-2', 1)"), "x", "x-2"},
      {Value("('x', 1)"), "x", "x"},
      {Value("(x"), "x", "x"},
      {Value("<module.submodule.myclass object at 0xdaf372>"), "myclass", "myclass"},
      {Value("<foo.Bar object at 0x7f>"), "Bar", "Bar"},
      {Value("finalize-hlgfinalizecompute-f7bdf7d90d5a43f08db549e66ba7b288"),
       "finalize-hlgfinalizecompute", "finalize-hlgfinalizecompute"},
      {Value(
           "sum-aggregate-finalize-hlgfinalizecompute-f7bdf7d90d5a43f08db549e66ba7b288"),
       "sum-aggregate", "sum-aggregate"},
      {Value("from_sequence-inc-sum-part-0a1b2c3d"), "from_sequence-inc-sum-part",
       "from_sequence-inc-sum-part"},
      {Value("1-x"), "1-x", "1-x"},
      {Value("123"), "123", "123"},
      {Value("__main__.foo-1"), "main__.foo", "main__.foo"},
      {Value("-x"), "Other", "Other"},
      {Value("a--b"), "a", "a"},
      {Value("é-x-y"), "é-x-y", "é-x-y"},
      {Value("ABCDEF0123456789abcdef0123456789"), "ABCDEF0123456789abcdef0123456789",
       "ABCDEF0123456789abcdef0123456789"},
      {Value("data-key"), "data-key", "data-key"},
      {Value("add-3b254958-a651-41be-83ef-25bb21756a0c"), "add", "add"},
      {Value("a,b-c"), "a,b-c", "a,b-c"},
      {Value("'quoted'-word"), "quoted-word", "quoted-word"},
      {arr({Value("sum-92f3391a24764f04f03fa56ae2804159"), Value(1)}), "sum",
       "sum-92f3391a24764f04f03fa56ae2804159"},
      {arr({Value("x-2"), Value(1)}), "x", "x-2"},
      // Python's key_split_group returns the inner tuple ('a-b', 1) itself here; we
      // return its group name (documented deviation, never produced by dask).
      {arr({arr({Value("a-b"), Value(1)}), Value(2)}), "a-b", "a-b"},
      {arr({Value("(x"), Value(3)}), "x", "(x"},
      {Value(3), "Other", "Other"},
      {Value(1.5), "Other", "Other"},
  };
  for (const SplitCase& c : cases) {
    INFO(c.key.to_debug_string());
    CHECK(key_split(c.key) == c.split);
    CHECK(key_split_group(c.key) == c.group);
  }
}

TEST_CASE("keys compare and hash by canonical bytes", "[messages][keys]") {
  auto tuple_key = Key::from_value(arr({Value("x"), Value(1)}));
  auto str_key = Key::from_value(Value("('x', 1)"));
  REQUIRE(tuple_key.ok());
  REQUIRE(str_key.ok());
  CHECK_FALSE(*tuple_key == *str_key);
  CHECK(*tuple_key == *Key::from_value(arr({Value("x"), Value(std::int64_t{1})})));
  // The canonical form is the shortest msgpack: fixarray(2), fixstr "x", fixint 1.
  CHECK(tuple_key->canonical() == std::string("\x92\xa1x\x01", 4));
  std::unordered_set<Key> set{*tuple_key, *str_key, Key::str("y")};
  CHECK(set.size() == 3);
  CHECK(set.count(Key::str("y")) == 1);
}

TEST_CASE("a key is its canonical bytes, sent as they are", "[messages][keys]") {
  const Value tuple = arr({Value("x-1"), Value(2), Value(0.5), arr({Value("y")})});
  auto key = Key::from_value(tuple);
  REQUIRE(key.ok());
  // from_wire takes the bytes as they are; value() writes them verbatim.
  Key again = Key::from_wire(key->canonical());
  CHECK(again == *key);
  CHECK(again.wire_value().is_raw());
  CHECK(again.wire_value().as_raw().bytes == key->canonical());
  CHECK(again.wire_value() == tuple);  // a raw Value equals the Value it encodes
  CHECK(again.decoded() == tuple);
  CHECK(again.to_debug_string() == "('x-1', 2, 0.5, ('y',))");
  CHECK(key_split(again) == "x");
  CHECK(key_split_group(again.wire_value()) == "x-1");
  CHECK_FALSE(again.is_str());
  CHECK(Key::str(std::string(300, 'a')).is_str());
  CHECK(Key::str("k").canonical() == "\xa1k");
  // Inside a message the bytes follow the field name unchanged.
  auto msg = encode_msgpack(make_map({{"key", again.wire_value()}}));
  REQUIRE(msg.ok());
  CHECK(std::string(msg->view()) == "\x81\xa3key" + key->canonical());
  // Decoding a message built in-process (no bytes in between) still yields the key.
  auto round = Key::from_value(again.wire_value());
  REQUIRE(round.ok());
  CHECK(*round == *key);
  // A default Key has no bytes and is nil, as before.
  CHECK(Key().wire_value().is_nil());
}

TEST_CASE("a key of the wrong type is refused with its type", "[messages][keys]") {
  auto bin = Key::from_value(Value(Bytes::copy_of(std::string_view("x"))));
  CHECK(bin.status().code() == StatusCode::kTypeError);
  CHECK(bin.status().message() == "a key must be str, int, float or tuple, got bin");
  auto nil = Key::from_value(Value());
  CHECK(nil.status().message() == "a key must be str, int, float or tuple, got nil");
  auto nested = Key::from_value(arr({Value("x"), Value(true)}));
  CHECK(nested.status().message() == "a key must be str, int, float or tuple, got bool");
}

TEST_CASE("parse_timedelta matches upstream", "[messages][timedelta]") {
  const std::vector<std::pair<std::string, double>> cases = {
      {"100 ms", 0.1},
      {"60s", 60},
      {"30 s", 30},
      {"3.5 seconds", 3.5},
      {"300ms", 0.3},
      {"1h", 3600},
      {"2 Minutes", 120},
      {"ms", 0.001},
      {".5s", 1.5},
      {"1e3us", 0.001},
      {"1_000 ns", 1.0000000000000002e-06},
      {"5", 5},
      {"2W", 1209600},
      {"1.5 DAYS", 129600},
  };
  for (const auto& [text, seconds] : cases) {
    INFO(text);
    auto r = parse_timedelta(std::string_view(text));
    REQUIRE(r.ok());
    CHECK(*r == seconds);
  }
  CHECK(*parse_timedelta(Value(20)) == 20);
  CHECK(*parse_timedelta(Value(0.25)) == 0.25);
  CHECK(parse_timedelta(std::string_view("1 fortnight")).status().message() ==
        "Invalid time unit: fortnight");
  CHECK(parse_timedelta(std::string_view("abc")).status().message() ==
        "Invalid time unit: abc");
  CHECK(parse_timedelta(std::string_view("-1s")).status().message() ==
        "could not convert string to float: '1-1'");
  CHECK(parse_timedelta(Value()).status().code() == StatusCode::kTypeError);
}

}  // namespace
}  // namespace daskcpp::protocol
