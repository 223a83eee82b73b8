// decode_msgpack / encode_msgpack / canonical_key_bytes against the bytes Python's
// msgpack (use_bin_type=True) produces; every expected hex string below was
// produced by msgpack.dumps in the project venv.
#include <catch2/catch.hpp>
#include <string>

#include "protocol/codec/message_codec.hpp"
#include "tests/unit/protocol/test_bytes.hpp"

namespace daskcpp::protocol {
namespace {

using test::hex_vector;
using test::to_hex;

std::string encode_hex(const Value& v) {
  auto b = encode_msgpack(v);
  REQUIRE(b.ok());
  return to_hex(*b);
}

Value decode_hex(std::string_view hex) {
  const auto bytes = hex_vector(hex);
  auto v = decode_msgpack(bytes);
  INFO(v.status().to_string());
  REQUIRE(v.ok());
  return *v;
}

Status decode_error(const std::vector<std::uint8_t>& bytes,
                    const DecodeLimits& limits = {}) {
  auto v = decode_msgpack(bytes, limits);
  REQUIRE_FALSE(v.ok());
  return v.status();
}

TEST_CASE("int widths match Python's packer", "[codec]") {
  struct Case {
    Value v;
    const char* hex;
  };
  const std::vector<Case> cases = {
      {Value(INT64_MIN), "d38000000000000000"},
      {Value(std::int64_t{-2147483649}), "d3ffffffff7fffffff"},
      {Value(std::int64_t{-2147483648}), "d280000000"},
      {Value(-32769), "d2ffff7fff"},
      {Value(-32768), "d18000"},
      {Value(-129), "d1ff7f"},
      {Value(-128), "d080"},
      {Value(-33), "d0df"},
      {Value(-32), "e0"},
      {Value(-1), "ff"},
      {Value(0), "00"},
      {Value(127), "7f"},
      {Value(128), "cc80"},
      {Value(255), "ccff"},
      {Value(256), "cd0100"},
      {Value(65535), "cdffff"},
      {Value(65536), "ce00010000"},
      {Value(std::int64_t{1} << 32), "cf0000000100000000"},
      {Value(std::uint64_t{1} << 63), "cf8000000000000000"},
      {Value(UINT64_MAX), "cfffffffffffffffff"},
  };
  for (const Case& c : cases) {
    INFO(c.hex);
    CHECK(encode_hex(c.v) == c.hex);
    const Value back = decode_hex(c.hex);
    CHECK(back == c.v);
  }
  const Value big = decode_hex("cf8000000000000000");
  CHECK(big.as_integer().is_big_unsigned);
  CHECK(big.as_integer().as_uint64() == (std::uint64_t{1} << 63));
  CHECK_FALSE(decode_hex("cf0000000100000000").as_integer().is_big_unsigned);
  CHECK(decode_hex("d38000000000000000").as_int64() == INT64_MIN);
}

TEST_CASE("non-shortest ints decode and re-encode in shortest form", "[codec]") {
  CHECK(encode_hex(decode_hex("d005")) == "05");
  CHECK(encode_hex(decode_hex("cf0000000000000080")) == "cc80");
  CHECK(encode_hex(decode_hex("d3ffffffffffffffff")) == "ff");
}

TEST_CASE("float32 and float64 keep their width", "[codec]") {
  const Value f32 = decode_hex("ca3fc00000");
  REQUIRE(f32.type() == Value::Type::kFloat32);
  CHECK(f32.as_float32() == 1.5f);
  CHECK(f32.as_double() == 1.5);
  CHECK(encode_hex(f32) == "ca3fc00000");

  const Value f64 = decode_hex("cb3ff8000000000000");
  REQUIRE(f64.type() == Value::Type::kFloat64);
  CHECK(f64.as_double() == 1.5);
  CHECK(encode_hex(Value(1.5)) == "cb3ff8000000000000");
  CHECK_FALSE(f32 == f64);
}

TEST_CASE("str widths match Python's packer", "[codec]") {
  struct Case {
    std::size_t n;
    const char* prefix;
  };
  for (const Case& c :
       {Case{0, "a0"}, Case{31, "bf"}, Case{32, "d920"}, Case{255, "d9ff"},
        Case{256, "da0100"}, Case{65535, "daffff"}, Case{65536, "db00010000"}}) {
    INFO(c.n);
    const std::string s(c.n, 'a');
    const std::string hex = encode_hex(Value(s));
    std::string expected = c.prefix;
    for (std::size_t i = 0; i < c.n; ++i) expected += "61";
    CHECK(hex == expected);
    const Value back = decode_hex(hex);
    REQUIRE(back.is_str());
    CHECK(back.as_str() == s);
  }
}

TEST_CASE("bin widths match Python's packer", "[codec]") {
  struct Case {
    std::size_t n;
    const char* prefix;
  };
  for (const Case& c : {Case{0, "c400"}, Case{255, "c4ff"}, Case{256, "c50100"},
                        Case{65535, "c5ffff"}, Case{65536, "c600010000"}}) {
    INFO(c.n);
    const Value v(Bytes::from_vector(std::vector<std::uint8_t>(c.n, 0x61)));
    const std::string hex = encode_hex(v);
    std::string expected = c.prefix;
    for (std::size_t i = 0; i < c.n; ++i) expected += "61";
    CHECK(hex == expected);
    const Value back = decode_hex(hex);
    REQUIRE(back.is_bin());
    CHECK(back == v);
  }
}

TEST_CASE("str and bin stay distinct", "[codec]") {
  const Value s = decode_hex("a161");
  const Value b = decode_hex("c40161");
  CHECK(s.is_str());
  CHECK(b.is_bin());
  CHECK_FALSE(s == b);
  CHECK(encode_hex(s) == "a161");
  CHECK(encode_hex(b) == "c40161");
}

TEST_CASE("array and map header widths", "[codec]") {
  CHECK(encode_hex(Value(Array(15))).substr(0, 2) == "9f");
  CHECK(encode_hex(Value(Array(16))).substr(0, 6) == "dc0010");
  CHECK(encode_hex(Value(Array(65536))).substr(0, 10) == "dd00010000");
  Map m15, m16;
  for (int i = 0; i < 15; ++i) m15.emplace_back(Value(i), Value());
  for (int i = 0; i < 16; ++i) m16.emplace_back(Value(i), Value());
  CHECK(encode_hex(Value(m15)).substr(0, 2) == "8f");
  CHECK(encode_hex(Value(m16)).substr(0, 6) == "de0010");
  CHECK(decode_hex(encode_hex(Value(m16))) == Value(m16));
}

TEST_CASE("tuple keys as map keys round-trip", "[codec]") {
  // {("x", 1): (1,), "a": {"__Set__": True, "as-list": ("k",)}}
  const char* hex = "8292a178019101a16182a75f5f5365745f5fc3a761732d6c69737491a16b";
  const Value v = decode_hex(hex);
  REQUIRE(v.is_map());
  REQUIRE(v.as_map().size() == 2);
  CHECK(v.as_map()[0].first == Value(Array{"x", 1}));
  CHECK(v.as_map()[0].second == Value(Array{1}));
  CHECK(encode_hex(v) == hex);
  CHECK(v.find("x") == nullptr);  // find() looks at str keys only
  const Value* a = v.find("a");
  REQUIRE(a != nullptr);
  const Array* items = set_items(*a);
  REQUIRE(items != nullptr);
  CHECK(*items == Array{"k"});
}

TEST_CASE("__Set__ helpers", "[codec]") {
  const Value s = make_set({"a", Array{"b", 2}});
  CHECK(encode_hex(s) == "82a75f5f5365745f5fc3a761732d6c69737492a16192a16202");
  const Array* items = set_items(s);
  REQUIRE(items != nullptr);
  CHECK(items->size() == 2);
  CHECK(set_items(make_map({{"as-list", Array{}}})) == nullptr);
  CHECK(set_items(Value(1)) == nullptr);
}

TEST_CASE("__Enum__ maps are recognised", "[codec]") {
  // get_metadata.default = dask.typing._NoDefault.no_default (observed).
  const Value e = make_map({{"__Enum__", true},
                            {"name", "no_default"},
                            {"__module__", "dask.typing"},
                            {"__name__", "_NoDefault"}});
  CHECK(is_enum(e));
  const Value back = decode_hex(encode_hex(e));
  CHECK(is_enum(back));
  CHECK(back == e);
  CHECK_FALSE(is_enum(make_map({{"__Enum__", true}, {"name", "x"}})));
  CHECK_FALSE(is_enum(make_map({{"name", "x"}})));
}

TEST_CASE("reserved payload maps stay plain maps in decode_msgpack", "[codec]") {
  const Value v = decode_hex("81ae5f5f53657269616c697a65645f5f01");
  REQUIRE(v.is_map());
  CHECK(v.find("__Serialized__") != nullptr);
}

TEST_CASE("bad msgpack gives exact errors", "[codec][errors]") {
  CHECK(decode_error({}) == Status::Invalid("msgpack document truncated after 0 bytes"));
  CHECK(decode_error(hex_vector("d92061")) ==
        Status::Invalid("msgpack document truncated after 3 bytes"));
  CHECK(decode_error(hex_vector("c1")) ==
        Status::Invalid("msgpack parse error: parse error"));
  CHECK(decode_error(hex_vector("0102")) ==
        Status::Invalid("msgpack document of 1 bytes is followed by 1 trailing bytes"));
  CHECK(decode_error(hex_vector("a2c328")) ==
        Status::Invalid("msgpack str of 2 bytes is not valid UTF-8"));
  CHECK(decode_error(hex_vector("a3eda080")) ==  // a UTF-16 surrogate
        Status::Invalid("msgpack str of 3 bytes is not valid UTF-8"));
  CHECK(decode_error(hex_vector("d40100")) ==
        Status::Invalid("msgpack ext type 1 is not used by the Dask protocol"));
}

TEST_CASE("huge announced sizes are refused before allocating", "[codec][errors]") {
  // array32 / map32 / str32 / bin32 announcing 2^32-1 in a 5-byte document.
  CHECK(decode_error(hex_vector("ddffffffff")) ==
        Status::CapacityError("msgpack array announces more than 5 elements "
                              "(max_container_size, or the input size)"));
  CHECK(decode_error(hex_vector("dfffffffff")) ==
        Status::CapacityError("msgpack map announces more than 2 entries "
                              "(max_container_size, or half the input size)"));
  // str32 / bin32: msgpack-c waits for the bytes before it would copy anything,
  // and we reference them in place, so these are merely truncated documents.
  CHECK(decode_error(hex_vector("dbffffffff")) ==
        Status::Invalid("msgpack document truncated after 5 bytes"));
  CHECK(decode_error(hex_vector("c6ffffffff")) ==
        Status::Invalid("msgpack document truncated after 5 bytes"));
  DecodeLimits small_strings;
  small_strings.max_string_bytes = 2;
  CHECK(decode_error(hex_vector("a3616263"), small_strings) ==
        Status::CapacityError("msgpack str announces more than 2 bytes "
                              "(max_string_bytes, or the input size)"));
  CHECK(decode_error(hex_vector("c403616263"), small_strings) ==
        Status::CapacityError("msgpack bin announces more than 2 bytes "
                              "(max_string_bytes, or the input size)"));
  DecodeLimits limits;
  limits.max_container_size = 2;
  CHECK(decode_error(hex_vector("93010203"), limits) ==
        Status::CapacityError("msgpack array announces more than 2 elements "
                              "(max_container_size, or the input size)"));
}

TEST_CASE("msgpack nested 100000 deep is a CapacityError", "[codec][errors]") {
  std::vector<std::uint8_t> deep(100000, 0x91);
  deep.push_back(0xc0);
  CHECK(decode_error(deep) ==
        Status::CapacityError("msgpack nesting exceeds max_depth=64"));
  std::vector<std::uint8_t> maps;
  for (int i = 0; i < 100000; ++i) maps.insert(maps.end(), {0x81, 0x00});
  maps.push_back(0xc0);
  CHECK(decode_error(maps) ==
        Status::CapacityError("msgpack nesting exceeds max_depth=64"));
}

TEST_CASE("nesting up to max_depth is accepted", "[codec]") {
  DecodeLimits limits;
  limits.max_depth = 8;
  std::vector<std::uint8_t> ok(7, 0x91);
  ok.push_back(0xc0);
  CHECK(decode_msgpack(ok, limits).ok());
  std::vector<std::uint8_t> too_deep(9, 0x91);
  too_deep.push_back(0xc0);
  CHECK(decode_error(too_deep, limits) ==
        Status::CapacityError("msgpack nesting exceeds max_depth=8"));
}

TEST_CASE("a Payload cannot be encoded as plain msgpack", "[codec][errors]") {
  const Value v = make_map({{"x", PayloadPtr(std::make_shared<Payload>())}});
  auto b = encode_msgpack(v);
  REQUIRE_FALSE(b.ok());
  CHECK(b.status() ==
        Status::Invalid(
            "cannot encode a Payload as plain msgpack: it needs a message frame list"));
}

TEST_CASE("canonical key bytes", "[codec][keys]") {
  auto hex_of = [](const Value& key) {
    auto r = canonical_key_bytes(key);
    INFO(r.status().to_string());
    REQUIRE(r.ok());
    return to_hex(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(r->data()), r->size()));
  };
  CHECK(hex_of(Value("x")) == "a178");
  CHECK(hex_of(Value(3)) == "03");
  CHECK(hex_of(Value(1.5)) == "cb3ff8000000000000");
  CHECK(hex_of(Value::float32(1.5f)) == "cb3ff8000000000000");
  CHECK(hex_of(Value(Array{"sum", 1})) == "92a373756d01");
  CHECK(hex_of(Value(Array{"a", Array{"b", 2}})) == "92a16192a16202");
  CHECK(hex_of(Value(Array{})) == "90");
  // A longer-than-needed encoding from another encoder canonicalises.
  CHECK(hex_of(decode_hex("92d903616263d00c")) == "92a36162630c");

  auto err = [](const Value& key) {
    auto r = canonical_key_bytes(key);
    REQUIRE_FALSE(r.ok());
    return r.status();
  };
  CHECK(err(Value(Bytes::copy_of(std::string_view("ab")))) ==
        Status::TypeError("Unexpected key type bin (key=b'ab')"));
  CHECK(err(Value(true)) == Status::TypeError("Unexpected key type bool (key=True)"));
  CHECK(err(Value()) == Status::TypeError("Unexpected key type nil (key=None)"));
  CHECK(err(make_map({{"a", 1}})) ==
        Status::TypeError("Unexpected key type map (key={'a': 1})"));
  CHECK(err(Value(Array{"x", Value()})) ==
        Status::TypeError(
            "Composite key contains unexpected key type at index=1 (key=('x', None))"));
}

}  // namespace
}  // namespace daskcpp::protocol
