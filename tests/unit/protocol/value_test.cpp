#include "protocol/codec/value.hpp"

#include <catch2/catch.hpp>
#include <memory>

namespace daskcpp::protocol {
namespace {

TEST_CASE("as_double widens every number", "[value]") {
  CHECK(Value(-3).as_double() == -3.0);
  CHECK(Value(UINT64_MAX).as_double() == 18446744073709551615.0);
  CHECK(Value::float32(0.25f).as_double() == 0.25);
  CHECK(Value(2.5).as_double() == 2.5);
}

TEST_CASE("find and set on str-keyed maps", "[value]") {
  Value v = make_map({{"op", "compute-task"}});
  v.set("key", "x");
  v.set("key", "y");  // appends, does not replace
  REQUIRE(v.as_map().size() == 3);
  REQUIRE(v.find("key") != nullptr);
  CHECK(v.find("key")->as_str() == "x");
  CHECK(v.find("missing") == nullptr);
  CHECK(Value(1).find("op") == nullptr);
  Value fresh;
  fresh.set("a", 1);
  CHECK(fresh == make_map({{"a", 1}}));
}

TEST_CASE("to_debug_string is Python-repr-like and bounded", "[value]") {
  const Value v = make_map({{"op", "x"},
                            {"t", Array{1, Value()}},
                            {"one", Array{true}},
                            {"f", 1.0},
                            {"b", Bytes::copy_of(std::string_view("a\x01'"))}});
  CHECK(v.to_debug_string() ==
        "{'op': 'x', 't': (1, None), 'one': (True,), 'f': 1.0, 'b': b'a\\x01\\''}");
  CHECK(Value(std::string(1000, 'z')).to_debug_string(10) == "'zzzzzzzzz...");
  auto p = std::make_shared<Payload>();
  p->kind = Payload::Kind::kPickled;
  p->header = Bytes::copy_of(std::string_view("hdr"));
  p->frames = {Bytes::copy_of(std::string_view("12345"))};
  CHECK(Value(PayloadPtr(p)).to_debug_string() == "Pickled{header=3 bytes, frames=[5]}");
}

TEST_CASE("equality is deep and compares payloads by content", "[value]") {
  auto make_payload = [](std::string_view frame) {
    auto p = std::make_shared<Payload>();
    p->header = Bytes::copy_of(std::string_view("h"));
    p->frames = {Bytes::copy_of(frame)};
    return Value(PayloadPtr(p));
  };
  CHECK(Value(Array{make_payload("a")}) == Value(Array{make_payload("a")}));
  CHECK_FALSE(Value(Array{make_payload("a")}) == Value(Array{make_payload("b")}));
  CHECK_FALSE(Value(1) == Value(1.0));
  CHECK_FALSE(Value("a") == Value(Bytes::copy_of(std::string_view("a"))));
  CHECK(make_map({{"a", Array{1, 2}}}) == make_map({{"a", Array{1, 2}}}));
  CHECK_FALSE(make_map({{"a", Array{1, 2}}}) == make_map({{"a", Array{2, 1}}}));
}

TEST_CASE("type names", "[value]") {
  CHECK(std::string(type_name(Value::Type::kFloat32)) == "float32");
  CHECK(std::string(type_name(Value(Array{}).type())) == "array");
}

}  // namespace
}  // namespace daskcpp::protocol
