#pragma once
// Key: a Dask task key as it travels on the wire (protocol.md §9), together with its
// canonical msgpack bytes, which are its identity: two keys are equal exactly when
// their canonical bytes are (so "('x', 1)" the string and ("x", 1) the tuple differ,
// and a key re-encoded by another packer in a longer form still matches).
//
// key_split / key_split_group are ports of dask.utils.key_split and
// distributed.utils.key_split_group (task prefix and group names).
//
// Thread safety: plain value type.

#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "protocol/codec/value.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

class Key {
 public:
  Key() = default;
  // Accepts str, int, float or an array of keys (a tuple); anything else (bin, nil,
  // bool, map, payload) is a TypeError naming the offending type.
  static Result<Key> from_value(Value v);
  // A str key; never fails.
  static Key str(std::string_view s);

  const Value& value() const { return value_; }
  const std::string& canonical() const { return canonical_; }
  bool is_str() const { return value_.is_str(); }
  // Python-repr-like text for logs and error messages.
  std::string to_debug_string() const { return value_.to_debug_string(); }

  friend bool operator==(const Key& a, const Key& b) {
    return a.canonical_ == b.canonical_;
  }
  friend std::strong_ordering operator<=>(const Key& a, const Key& b) {
    return a.canonical_ <=> b.canonical_;
  }

 private:
  Key(Value v, std::string canonical)
      : value_(std::move(v)), canonical_(std::move(canonical)) {}
  Value value_;
  std::string canonical_;
};

struct KeyHash {
  std::size_t operator()(const Key& k) const noexcept {
    return std::hash<std::string>{}(k.canonical());
  }
};

// Mirrors dask.utils.key_split: the task prefix ("inc-abc…" -> "inc",
// ("x-2", 1) -> "x"). Where Python would raise (empty tuple) we return "Other",
// which is what key_split itself returns for every other failure.
std::string key_split(const Value& key);
// Mirrors distributed.utils.key_split_group: the task group name. For a tuple whose
// first element is not a str (never produced by dask) Python returns that element
// itself; we return key_split_group of it. Empty str/tuple (Python raises) -> "Other".
std::string key_split_group(const Value& key);

}  // namespace daskcpp::protocol

template <>
struct std::hash<daskcpp::protocol::Key> : daskcpp::protocol::KeyHash {};
