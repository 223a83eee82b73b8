#pragma once
// FieldReader / FieldWriter: the one place that reads typed fields out of an op map
// and writes them back. Every decode error names the op and the field, in the words
// of a Python TypeError, e.g.
//   "task-finished: field 'run_id': expected int, got str"   (TypeError)
//   "compute-task: missing field 'key'"                      (KeyError)
// Fields the reader is not asked about are ignored: stock peers add fields over
// versions, and a receiver must tolerate them.
//
// Thread safety: a reader borrows the Value it reads; use it on one thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/codec/value.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// Shapes shared by several ops.
using AddressList = std::vector<std::string>;
// {key: [address, ...]} in the sender's order (who_has of compute-task & co).
using WhoHas = std::vector<std::pair<Key, AddressList>>;
// {key: int} (nbytes of compute-task, update_data replies, ...).
using KeyInts = std::vector<std::pair<Key, std::int64_t>>;
// {key: any} (get_data / gather / scatter data: Payloads passed through).
using KeyValues = std::vector<std::pair<Key, Value>>;

// One entry of task-finished/task-erred `startstops` (worker_state_machine.StartStop).
struct StartStop {
  std::string action;  // compute | transfer | disk-read | disk-write | deserialize
  double start = 0;
  double stop = 0;
  std::optional<std::string> source;  // transfers only
  friend bool operator==(const StartStop&, const StartStop&) = default;
};

class FieldReader {
 public:
  // Fails unless `msg` is a map.
  static Result<FieldReader> open(std::string_view op, const Value& msg);

  std::string_view op() const { return op_; }
  const Value& message() const { return *msg_; }
  // nullptr when absent.
  const Value* find(std::string_view field) const { return msg_->find(field); }
  bool has(std::string_view field) const { return find(field) != nullptr; }

  // Required fields: absent -> KeyError; wrong type -> TypeError.
  Result<Value> any(std::string_view field) const;
  Result<std::string> str(std::string_view field) const;
  Result<std::int64_t> int64(std::string_view field) const;
  Result<double> number(std::string_view field) const;       // int or float
  Result<Value> number_value(std::string_view field) const;  // kept as sent
  Result<bool> boolean(std::string_view field) const;
  Result<Bytes> bin(std::string_view field) const;
  Result<Value> map(std::string_view field) const;
  Result<Key> key(std::string_view field) const;
  // An array of keys; `allow_set` also accepts a `__Set__` map (update-graph.keys,
  // worker get_data.keys).
  Result<std::vector<Key>> keys(std::string_view field, bool allow_set = false) const;
  Result<AddressList> str_list(std::string_view field) const;
  Result<WhoHas> who_has(std::string_view field) const;
  Result<KeyInts> key_ints(std::string_view field) const;
  Result<KeyValues> key_values(std::string_view field) const;
  Result<std::vector<StartStop>> startstops(std::string_view field) const;
  // An array of numbers, kept as sent (compute-task priority).
  Result<Array> number_array(std::string_view field) const;
  // OK when field "status" is the str `expected`; a TypeError otherwise.
  Status status_is(std::string_view expected) const;

  // Fields that may be nil (and, for the opt_ forms, also absent): nil -> nullopt.
  Result<std::optional<std::string>> str_or_nil(std::string_view field) const;
  Result<std::optional<std::int64_t>> int_or_nil(std::string_view field) const;
  Result<std::optional<double>> number_or_nil(std::string_view field) const;
  Result<std::optional<Key>> key_or_nil(std::string_view field) const;
  Result<std::optional<std::vector<Key>>> keys_or_nil(std::string_view field) const;
  Result<std::optional<AddressList>> str_list_or_nil(std::string_view field) const;
  Result<std::optional<Bytes>> bin_or_nil(std::string_view field) const;
  Result<std::optional<KeyInts>> key_ints_or_nil(std::string_view field) const;
  Result<std::optional<std::string>> opt_str(std::string_view field) const;
  Result<std::optional<bool>> opt_bool(std::string_view field) const;
  // Absent -> nullopt; present (any type, including nil) -> the value.
  std::optional<Value> opt_any(std::string_view field) const;

  // "<op>: field '<field>': <what>" as a TypeError.
  Status type_error(std::string_view field, std::string_view what) const;
  // "<op>: field '<field>': expected <expected>, got <type of v>".
  Status expected(std::string_view field, std::string_view expected,
                  const Value& v) const;
  Status missing(std::string_view field) const;

 private:
  FieldReader(std::string_view op, const Value& msg) : op_(op), msg_(&msg) {}
  Result<const Value*> require(std::string_view field) const;
  // The field when `accepts` it, else "expected <what>, got <type>".
  Result<const Value*> require_as(std::string_view field, bool (Value::*accepts)() const,
                                  std::string_view what) const;
  Result<std::vector<Key>> keys_of(std::string_view field, const Value& v,
                                   bool allow_set) const;

  std::string_view op_;
  const Value* msg_;
};

// Builds an op map in a fixed field order (msgpack map order is part of the bytes).
class FieldWriter {
 public:
  FieldWriter() = default;
  // Starts with {"op": op}.
  explicit FieldWriter(std::string_view op) { put("op", op); }

  // Room for n fields (a performance hint; the map keeps its order).
  void reserve(std::size_t n) { map_.reserve(n); }
  FieldWriter& put(std::string_view field, Value v);
  FieldWriter& put(std::string_view field, const Key& k) {
    return put(field, k.wire_value());
  }
  FieldWriter& put(std::string_view field, const std::vector<Key>& keys);
  FieldWriter& put_set(std::string_view field, const std::vector<Key>& keys);
  FieldWriter& put(std::string_view field, const AddressList& list);
  FieldWriter& put(std::string_view field, const WhoHas& who_has);
  FieldWriter& put(std::string_view field, const KeyInts& m);
  FieldWriter& put(std::string_view field, const KeyValues& m);
  FieldWriter& put(std::string_view field, const std::vector<StartStop>& ss);
  template <typename T>
  FieldWriter& put(std::string_view field, const std::optional<T>& v) {
    if (v) return put(field, *v);
    return put(field, Value());
  }
  // Writes the field only when present.
  template <typename T>
  FieldWriter& put_if(std::string_view field, const std::optional<T>& v) {
    if (v) put(field, *v);
    return *this;
  }

  // Moves the map out; the writer is empty afterwards.
  Value done() { return Value(std::move(map_)); }

 private:
  Map map_;
};

Value keys_to_array(const std::vector<Key>& keys);

// An op name usable as a template argument: BareOp<"keep-alive">.
template <std::size_t N>
struct OpName {
  constexpr OpName(const char (&s)[N]) {  // NOLINT(google-explicit-constructor)
    for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
  }
  constexpr std::string_view view() const { return {chars, N - 1}; }
  char chars[N];
};

}  // namespace daskcpp::protocol
