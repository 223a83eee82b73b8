#pragma once
// Value: the msgpack message model of the Dask protocol (protocol.md §3).
//
// A decoded frame 0 becomes a tree of Values that keeps everything Python's
// msgpack distinguishes, so that decode-then-encode yields the original bytes:
//  - str vs bin (keys and ops are str; pickles are bin),
//  - integers of every width (stored as int64, or uint64 above INT64_MAX; the
//    encoder writes the shortest form, as Python's packer does),
//  - float32 vs float64, nil, bool,
//  - arrays (Python tuples and lists both travel as arrays),
//  - maps with keys of any type, in insertion order (tuple keys in who_has),
//  - the reserved maps `__Set__` / `__Enum__` stay ordinary maps (helpers below),
//  - `{"__Serialized__": k}` / `{"__Pickled__": k}` become a Payload: the
//    sub-header frame and its sub-frames as shared byte slices, never
//    deserialized, and renumbered when the Value is encoded into a new message,
//  - RawMsgpack: bytes that already are one msgpack document (a task key's
//    canonical bytes, protocol/messages/key.hpp), written verbatim by the encoder
//    so a key is never decoded only to be re-encoded. Decoding never yields one;
//    it compares equal to the decoded Value whose encoding is those bytes.
//
// Thread safety: a Value is a plain value type; distinct Values may be used from
// different threads, and Payloads/bin Bytes are immutable and shared.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "protocol/bytes.hpp"

namespace daskcpp::protocol {

// An opaque `__Serialized__` / `__Pickled__` sub-frame group (protocol.md §3.3-3.5).
struct Payload {
  enum class Kind : std::uint8_t { kSerialized, kPickled };
  Kind kind = Kind::kSerialized;
  Bytes header;               // the sub-header frame, raw msgpack, forwarded verbatim
  std::vector<Bytes> frames;  // the `num-sub-frames` frames that follow the sub-header

  friend bool operator==(const Payload&, const Payload&) = default;
};
using PayloadPtr = std::shared_ptr<const Payload>;

// One complete msgpack document, already encoded (see the file comment).
struct RawMsgpack {
  std::string bytes;
  friend bool operator==(const RawMsgpack&, const RawMsgpack&) = default;
};

class Value;
using Array = std::vector<Value>;
using Map = std::vector<std::pair<Value, Value>>;  // insertion order, as Python dicts

// An integer as msgpack carries it: any int64, plus uint64 values above INT64_MAX.
struct Integer {
  std::int64_t i = 0;
  bool is_big_unsigned = false;  // then the value is static_cast<uint64_t>(i)
  std::uint64_t as_uint64() const { return static_cast<std::uint64_t>(i); }
  friend bool operator==(const Integer&, const Integer&) = default;
};

class Value {
 public:
  enum class Type : std::uint8_t {
    kNil,
    kBool,
    kInt,
    kFloat32,
    kFloat64,
    kStr,
    kBin,
    kArray,
    kMap,
    kPayload,
    kRaw,
  };

  Value() = default;  // nil
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(Integer{i, false}) {}
  Value(std::int64_t i) : v_(Integer{i, false}) {}
  Value(std::uint64_t u)
      : v_(Integer{static_cast<std::int64_t>(u),
                   u > static_cast<std::uint64_t>(INT64_MAX)}) {}
  Value(double d) : v_(d) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(Bytes b) : v_(std::move(b)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Map m) : v_(std::move(m)) {}
  Value(PayloadPtr p) : v_(std::move(p)) {}
  Value(RawMsgpack r) : v_(std::move(r)) {}

  static Value float32(float f) {
    Value v;
    v.v_ = f;
    return v;
  }

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_nil() const { return type() == Type::kNil; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_int() const { return type() == Type::kInt; }
  bool is_float() const { return type() == Type::kFloat32 || type() == Type::kFloat64; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_str() const { return type() == Type::kStr; }
  bool is_bin() const { return type() == Type::kBin; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_map() const { return type() == Type::kMap; }
  bool is_payload() const { return type() == Type::kPayload; }
  bool is_raw() const { return type() == Type::kRaw; }

  // Unchecked accessors: the caller has checked type() (std::get throws otherwise).
  bool as_bool() const { return std::get<bool>(v_); }
  const Integer& as_integer() const { return std::get<Integer>(v_); }
  std::int64_t as_int64() const { return std::get<Integer>(v_).i; }
  float as_float32() const { return std::get<float>(v_); }
  // Any number as a double (ints and float32 widened).
  double as_double() const;
  const std::string& as_str() const { return std::get<std::string>(v_); }
  const Bytes& as_bin() const { return std::get<Bytes>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  const Map& as_map() const { return std::get<Map>(v_); }
  Map& as_map() { return std::get<Map>(v_); }
  const PayloadPtr& as_payload() const { return std::get<PayloadPtr>(v_); }
  const RawMsgpack& as_raw() const { return std::get<RawMsgpack>(v_); }

  // Map lookup by str key; nullptr if this is not a map or the key is absent.
  const Value* find(std::string_view key) const;
  // Appends (does not replace) a str-keyed entry; this must be a map.
  Value& set(std::string_view key, Value v);

  // Human-readable, Python-repr-like, bounded; for logs and test failures.
  std::string to_debug_string(std::size_t max_len = 512) const;

  // Deep equality; payloads compare by content, not by pointer; a RawMsgpack equals
  // any Value whose msgpack encoding is its bytes.
  friend bool operator==(const Value& a, const Value& b);

 private:
  std::variant<std::monostate, bool, Integer, float, double, std::string, Bytes, Array,
               Map, PayloadPtr, RawMsgpack>
      v_;
};

const char* type_name(Value::Type t);

// Builds a str-keyed map: map({{"op", "compute-task"}, {"key", k}}).
Value make_map(std::initializer_list<std::pair<std::string_view, Value>> entries);

// `{"__Set__": true, "as-list": [...]}` — a Python set.
Value make_set(Array items);
// The items of a `__Set__` map, or nullptr if `v` is not one.
const Array* set_items(const Value& v);
// A `__Enum__` map (`{"__Enum__": true, "name", "__module__", "__name__"}`)?
bool is_enum(const Value& v);

}  // namespace daskcpp::protocol
