#pragma once
// Key: a Dask task key as it travels on the wire (protocol.md §9), held as its
// canonical msgpack bytes and nothing else. Those bytes are its identity (two keys
// are equal exactly when their canonical bytes are, so "('x', 1)" the string and
// ("x", 1) the tuple differ, and a key re-encoded by another packer in a longer
// form still matches) and also what goes back on the wire: value() hands them to
// the encoder as a RawMsgpack, written verbatim. A key is encoded once, where it
// enters (from_value); the scheduler's interned bytes become a Key again with
// from_wire, never decoded on the way out. decoded() rebuilds the Value tree for
// the few readers that need the parts (key_split, pickling, repr for logs).
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
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

class Key {
 public:
  Key() = default;
  // Accepts str, int, float or an array of keys (a tuple); anything else (bin, nil,
  // bool, map, payload) is a TypeError naming the offending type. Encodes the key
  // (floats as float64, shortest forms) once; a RawMsgpack is decoded first.
  static Result<Key> from_value(const Value& v);
  // Bytes that already are a key's canonical encoding (the scheduler's interned
  // keys, the key blobs of the graph materializer): taken as they are, not decoded
  // or checked.
  static Key from_wire(std::string canonical) { return Key(std::move(canonical)); }
  // A str key; never fails.
  static Key str(std::string_view s);

  const std::string& canonical() const { return canonical_; }
  // The key as a message field: its canonical bytes as a RawMsgpack, written
  // verbatim by the encoder (no decode, no re-encode). Compares equal to the decoded
  // key, but is not a str/int/array to inspect: use decoded() for that (hence not
  // called value()). A default-constructed Key has no bytes and is nil.
  Value wire_value() const {
    return canonical_.empty() ? Value() : Value(RawMsgpack{canonical_});
  }
  // The key as a Value tree (str, int, float or array), decoded on demand; nil for
  // a default-constructed Key.
  Value decoded() const;
  bool is_str() const;
  // Python-repr-like text for logs and error messages (decodes).
  std::string to_debug_string() const { return decoded().to_debug_string(); }

  friend bool operator==(const Key& a, const Key& b) {
    return a.canonical_ == b.canonical_;
  }
  friend std::strong_ordering operator<=>(const Key& a, const Key& b) {
    return a.canonical_ <=> b.canonical_;
  }

 private:
  explicit Key(std::string canonical) : canonical_(std::move(canonical)) {}
  std::string canonical_;
};

struct KeyHash {
  std::size_t operator()(const Key& k) const noexcept {
    return std::hash<std::string>{}(k.canonical());
  }
};

// The canonical bytes of each key, in order: what the scheduler core takes.
std::vector<std::string> canonical_keys(const std::vector<Key>& keys);

// Mirrors dask.utils.key_split: the task prefix ("inc-abc…" -> "inc",
// ("x-2", 1) -> "x"). Where Python would raise (empty tuple) we return "Other",
// which is what key_split itself returns for every other failure. A RawMsgpack
// (a Key's value()) is decoded first.
std::string key_split(const Value& key);
std::string key_split(const Key& key);
// Mirrors distributed.utils.key_split_group: the task group name. For a tuple whose
// first element is not a str (never produced by dask) Python returns that element
// itself; we return key_split_group of it. Empty str/tuple (Python raises) -> "Other".
std::string key_split_group(const Value& key);
std::string key_split_group(const Key& key);

}  // namespace daskcpp::protocol

template <>
struct std::hash<daskcpp::protocol::Key> : daskcpp::protocol::KeyHash {};
