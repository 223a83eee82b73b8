#pragma once
// Op structs as declarative field lists. Each op struct declares its wire fields
// once, in wire order (msgpack map order is part of the bytes), e.g.
//
//   static constexpr auto kFields = std::tuple{
//       field("key", &ReleaseWorkerData::key), op_field(),
//       field("stimulus_id", &ReleaseWorkerData::stimulus_id)};
//
// and the one generic decode_fields / encode_fields below walks that list with the
// typed FieldReader / FieldWriter calls, so every op reports its errors in the same
// words (field_reader.hpp). A field entry says:
//  - its wire name and member;
//  - whether it may be absent: field() is required (KeyError when absent);
//    opt_field() may be absent (the member keeps its default) and an unset optional
//    member is not written; opt_field_or_nil() may be absent too but an unset
//    optional is written as nil (the stock sender always sends it);
//  - how it is read: by default from the member's type (read_default below), or by
//    a named reader (as_map, as_key_set, ...);
//  - an optional check of the value read (a Shape such as "str or int", or a
//    function for checks that need more, such as the worker metrics).
// op_field() places {"op": kOp}; written_field() writes a constant the decoder does
// not read; status_field() writes "status" and, on decode, is checked before any
// other field (a reply with another status is not read further).
//
// Thread safety: the lists are constants; decoding and encoding are reentrant.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/messages/field_reader.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

namespace field_detail {

template <typename T>
struct Optional : std::false_type {};
template <typename T>
struct Optional<std::optional<T>> : std::true_type {};
template <typename T>
inline constexpr bool kIsOptional = Optional<T>::value;

// Stores what a reader returned into the member (a plain T into an optional<T>).
template <typename M, typename R>
void assign(M& member, R&& read) {
  member = std::forward<R>(read);
}

}  // namespace field_detail

// ---- readers and writers --------------------------------------------------------

// How one field travels: `read(r, name)` returns a Result of the member's value (or
// of the optional's inner value); `write(w, name, v)` writes a set value.
template <typename Read, typename Write>
struct FieldCodec {
  Read read;
  Write write;
};

inline constexpr auto kPut = [](FieldWriter& w, std::string_view f, const auto& v) {
  w.put(f, v);
};

template <typename Read>
constexpr auto reader(Read read) {
  return FieldCodec<Read, decltype(kPut)>{read, kPut};
}

// Named readers for the cases the member type does not decide.
inline constexpr auto as_map =
    reader([](const FieldReader& r, std::string_view f) { return r.map(f); });
inline constexpr auto as_number_value =
    reader([](const FieldReader& r, std::string_view f) { return r.number_value(f); });
inline constexpr auto as_int64 =
    reader([](const FieldReader& r, std::string_view f) { return r.int64(f); });
inline constexpr auto as_str_list =
    reader([](const FieldReader& r, std::string_view f) { return r.str_list(f); });
// An array or a __Set__ of keys on decode; written as a __Set__.
inline constexpr auto as_key_set =
    FieldCodec{[](const FieldReader& r, std::string_view f) {
                 return r.keys(f, /*allow_set=*/true);
               },
               [](FieldWriter& w, std::string_view f, const std::vector<Key>& keys) {
                 w.put_set(f, keys);
               }};

// The reader a member type implies.
template <typename M>
constexpr auto read_default() {
  using std::is_same_v;
  using Fr = const FieldReader&;
  using F = std::string_view;
  if constexpr (is_same_v<M, std::string>) {
    return reader([](Fr r, F f) { return r.str(f); });
  } else if constexpr (is_same_v<M, std::int64_t>) {
    return reader([](Fr r, F f) { return r.int64(f); });
  } else if constexpr (is_same_v<M, double>) {
    return reader([](Fr r, F f) { return r.number(f); });
  } else if constexpr (is_same_v<M, bool> || is_same_v<M, std::optional<bool>>) {
    return reader([](Fr r, F f) { return r.boolean(f); });
  } else if constexpr (is_same_v<M, Value> || is_same_v<M, std::optional<Value>>) {
    return reader([](Fr r, F f) { return r.any(f); });
  } else if constexpr (is_same_v<M, Key>) {
    return reader([](Fr r, F f) { return r.key(f); });
  } else if constexpr (is_same_v<M, std::vector<Key>>) {
    return reader([](Fr r, F f) { return r.keys(f); });
  } else if constexpr (is_same_v<M, AddressList>) {
    return reader([](Fr r, F f) { return r.str_list(f); });
  } else if constexpr (is_same_v<M, WhoHas>) {
    return reader([](Fr r, F f) { return r.who_has(f); });
  } else if constexpr (is_same_v<M, KeyInts>) {
    return reader([](Fr r, F f) { return r.key_ints(f); });
  } else if constexpr (is_same_v<M, KeyValues>) {
    return reader([](Fr r, F f) { return r.key_values(f); });
  } else if constexpr (is_same_v<M, std::vector<StartStop>>) {
    return reader([](Fr r, F f) { return r.startstops(f); });
  } else if constexpr (is_same_v<M, Array>) {
    return reader([](Fr r, F f) { return r.number_array(f); });
  } else if constexpr (is_same_v<M, std::optional<std::string>>) {
    return reader([](Fr r, F f) { return r.str_or_nil(f); });
  } else if constexpr (is_same_v<M, std::optional<std::int64_t>>) {
    return reader([](Fr r, F f) { return r.int_or_nil(f); });
  } else if constexpr (is_same_v<M, std::optional<double>>) {
    return reader([](Fr r, F f) { return r.number_or_nil(f); });
  } else if constexpr (is_same_v<M, std::optional<Bytes>>) {
    return reader([](Fr r, F f) { return r.bin_or_nil(f); });
  } else if constexpr (is_same_v<M, std::optional<Key>>) {
    return reader([](Fr r, F f) { return r.key_or_nil(f); });
  } else if constexpr (is_same_v<M, std::optional<std::vector<Key>>>) {
    return reader([](Fr r, F f) { return r.keys_or_nil(f); });
  } else if constexpr (is_same_v<M, std::optional<AddressList>>) {
    return reader([](Fr r, F f) { return r.str_list_or_nil(f); });
  } else if constexpr (is_same_v<M, std::optional<KeyInts>>) {
    return reader([](Fr r, F f) { return r.key_ints_or_nil(f); });
  } else {
    static_assert(sizeof(M) == 0, "no default reader for this member type");
  }
}

// ---- checks ---------------------------------------------------------------------

// A check of a Value field beyond its reader: "<op>: field 'x': expected <text>,
// got <type>" unless `accepts`.
struct Shape {
  std::string_view text;
  bool (*accepts)(const Value&);
  Status operator()(const FieldReader& r, std::string_view f, const Value& v) const {
    return accepts(v) ? Status::OK() : r.expected(f, text, v);
  }
};
// A check that needs more than a type test.
using FieldCheck = Status (*)(const FieldReader& r, std::string_view field,
                              const Value& v);
struct NoCheck {};

inline constexpr Shape kMapOrNil{"map or nil",
                                 [](const Value& v) { return v.is_map() || v.is_nil(); }};
inline constexpr Shape kStrOrNil{"str or nil",
                                 [](const Value& v) { return v.is_str() || v.is_nil(); }};
inline constexpr Shape kBinOrNil{"bin or nil",
                                 [](const Value& v) { return v.is_bin() || v.is_nil(); }};

// ---- field entries --------------------------------------------------------------

enum class Presence : std::uint8_t {
  kRequired,       // absent -> KeyError; an unset optional is written as nil
  kOptional,       // may be absent; an unset optional is not written
  kOptionalOrNil,  // may be absent; an unset optional is written as nil
};

template <typename Op, typename M, typename Codec, typename Check>
struct FieldSpec {
  std::string_view name;
  M Op::*member;
  Presence presence;
  Codec codec;
  Check check;

  Status decode(const FieldReader& r, Op& op) const {
    if (presence != Presence::kRequired && !r.has(name)) return Status::OK();
    auto read = codec.read(r, name);
    if (!read.ok()) return read.status();
    M& m = op.*member;
    field_detail::assign(m, std::move(read).value());
    if constexpr (std::is_same_v<Check, NoCheck>) {
      return Status::OK();
    } else if constexpr (field_detail::kIsOptional<M>) {
      return m ? check(r, name, *m) : Status::OK();
    } else {
      return check(r, name, m);
    }
  }

  void encode(FieldWriter& w, const Op& op, std::string_view /*op_name*/) const {
    const M& m = op.*member;
    if constexpr (field_detail::kIsOptional<M>) {
      if (m) {
        codec.write(w, name, *m);
      } else if (presence != Presence::kOptional) {
        w.put(name, Value());
      }
    } else {
      codec.write(w, name, m);
    }
  }
};

namespace field_detail {

template <typename Op, typename M, typename Codec, typename Check>
constexpr auto make(std::string_view name, M Op::*member, Presence p, Codec codec,
                    Check check) {
  return FieldSpec<Op, M, Codec, Check>{name, member, p, codec, check};
}

template <typename Op, typename M>
constexpr auto make(std::string_view name, M Op::*member, Presence p) {
  return make(name, member, p, read_default<M>(), NoCheck{});
}

template <typename Op, typename M, typename R, typename W>
constexpr auto make(std::string_view name, M Op::*member, Presence p,
                    FieldCodec<R, W> codec) {
  return make(name, member, p, codec, NoCheck{});
}

template <typename Op, typename M>
constexpr auto make(std::string_view name, M Op::*member, Presence p, Shape check) {
  return make(name, member, p, read_default<M>(), check);
}

template <typename Op, typename M>
constexpr auto make(std::string_view name, M Op::*member, Presence p, FieldCheck check) {
  return make(name, member, p, read_default<M>(), check);
}

}  // namespace field_detail

// field(name, member[, codec or check]): required.
template <typename Op, typename M, typename... How>
constexpr auto field(std::string_view name, M Op::*member, How... how) {
  return field_detail::make(name, member, Presence::kRequired, how...);
}
// opt_field(name, member[, codec or check]): may be absent; not written when unset.
template <typename Op, typename M, typename... How>
constexpr auto opt_field(std::string_view name, M Op::*member, How... how) {
  return field_detail::make(name, member, Presence::kOptional, how...);
}
// opt_field_or_nil(name, member[, codec or check]): may be absent; nil when unset.
template <typename Op, typename M, typename... How>
constexpr auto opt_field_or_nil(std::string_view name, M Op::*member, How... how) {
  return field_detail::make(name, member, Presence::kOptionalOrNil, how...);
}

// {"op": kOp} at this place of the map; the op table has already matched it.
struct OpField {
  template <typename Op>
  Status decode(const FieldReader&, Op&) const {
    return Status::OK();
  }
  template <typename Op>
  void encode(FieldWriter& w, const Op&, std::string_view op_name) const {
    w.put("op", op_name);
  }
};
constexpr OpField op_field() { return {}; }

// A constant the sender writes and the receiver does not read (task-finished's
// "status": "OK").
struct WrittenField {
  std::string_view name;
  std::string_view value;
  template <typename Op>
  Status decode(const FieldReader&, Op&) const {
    return Status::OK();
  }
  template <typename Op>
  void encode(FieldWriter& w, const Op&, std::string_view) const {
    w.put(name, value);
  }
};
constexpr WrittenField written_field(std::string_view name, std::string_view value) {
  return {name, value};
}

// A reply's "status"; decode_fields checks it before every other field.
struct StatusField {
  std::string_view value;
  Status precheck(const FieldReader& r) const { return r.status_is(value); }
  template <typename Op>
  Status decode(const FieldReader&, Op&) const {
    return Status::OK();
  }
  template <typename Op>
  void encode(FieldWriter& w, const Op&, std::string_view) const {
    w.put("status", value);
  }
};
constexpr StatusField status_field(std::string_view value) { return {value}; }

// ---- the walk ---------------------------------------------------------------------

// Reads an Op from `msg` by Op::kFields; `what` names the message in errors.
template <typename Op>
Result<Op> decode_fields(std::string_view what, const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(what, msg));
  Op op;
  Status st;
  std::apply(
      [&](const auto&... spec) {
        auto precheck = [&](const auto& s) {
          if constexpr (requires { s.precheck(r); }) {
            st = s.precheck(r);
            return st.ok();
          } else {
            return true;
          }
        };
        (precheck(spec) && ...) && ((st = spec.decode(r, op)).ok() && ...);
      },
      Op::kFields);
  if (!st.ok()) return st;
  return op;
}

// Writes `op` by Op::kFields; `op_name` is what op_field() writes.
template <typename Op>
Value encode_fields(const Op& op, std::string_view op_name) {
  FieldWriter w;
  w.reserve(std::tuple_size_v<std::decay_t<decltype(Op::kFields)>>);
  std::apply([&](const auto&... spec) { (spec.encode(w, op, op_name), ...); },
             Op::kFields);
  return w.done();
}

// Declares the members of an op struct whose kFields list its wire fields: kOp,
// decode(), encode(), operator==.
#define DASKCPP_OP_METHODS(Type, name)                                           \
  static constexpr std::string_view kOp = name;                                  \
  static ::daskcpp::Result<Type> decode(const ::daskcpp::protocol::Value& msg) { \
    return ::daskcpp::protocol::decode_fields<Type>(kOp, msg);                   \
  }                                                                              \
  ::daskcpp::protocol::Value encode() const {                                    \
    return ::daskcpp::protocol::encode_fields(*this, kOp);                       \
  }                                                                              \
  friend bool operator==(const Type&, const Type&) = default

// The same for a reply (no "op"); `what` names it in errors ("gather reply").
#define DASKCPP_REPLY_METHODS(Type, what)                                        \
  static ::daskcpp::Result<Type> decode(const ::daskcpp::protocol::Value& msg) { \
    return ::daskcpp::protocol::decode_fields<Type>(what, msg);                  \
  }                                                                              \
  ::daskcpp::protocol::Value encode() const {                                    \
    return ::daskcpp::protocol::encode_fields(*this, {});                        \
  }                                                                              \
  friend bool operator==(const Type&, const Type&) = default

// An op with no fields besides `op` (keep-alive, close-stream, heartbeat-client,
// close-client, restart, stream-closed). Extra fields are ignored on decode.
template <OpName Name>
struct BareOp {
  DASKCPP_OP_METHODS(BareOp, Name.view());
  static constexpr auto kFields = std::tuple{op_field()};
};

}  // namespace daskcpp::protocol
