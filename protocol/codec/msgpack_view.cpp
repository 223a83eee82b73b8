#include "protocol/codec/msgpack_view.hpp"

#include <cstring>
#include <limits>
#include <vector>

#include "protocol/codec/msgpack_reader.hpp"
#include "protocol/codec/msgpack_writer.hpp"

namespace daskcpp::protocol::view {

namespace {

// As validate_key (message_codec.cpp): deeper tuple keys do not occur.
constexpr int kMaxKeyDepth = 64;

bool write_key(const Object& o, MsgpackWriter& w, int depth) {
  if (depth > kMaxKeyDepth) return false;
  switch (o.type) {
    case msgpack::type::STR: {
      const std::string_view s(o.via.str.ptr, o.via.str.size);
      if (!is_valid_utf8(s)) return false;
      w.str(s);
      return true;
    }
    case msgpack::type::POSITIVE_INTEGER:
      w.integer(Integer{static_cast<std::int64_t>(o.via.u64),
                        o.via.u64 > static_cast<std::uint64_t>(INT64_MAX)});
      return true;
    case msgpack::type::NEGATIVE_INTEGER:
      w.integer(Integer{o.via.i64, false});
      return true;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      w.float64(o.via.f64);
      return true;
    case msgpack::type::ARRAY:
      w.array_header(o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        if (!write_key(o.via.array.ptr[i], w, depth + 1)) return false;
      }
      return true;
    default:
      return false;
  }
}

}  // namespace

const Object* find(const Object& o, std::string_view name) {
  if (o.type != msgpack::type::MAP) return nullptr;
  const msgpack::object_kv* kv = o.via.map.ptr;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const Object& k = kv[i].key;
    if (k.type == msgpack::type::STR && k.via.str.size == name.size() &&
        std::memcmp(k.via.str.ptr, name.data(), name.size()) == 0) {
      return &kv[i].val;
    }
  }
  return nullptr;
}

std::optional<std::string_view> str(const Object* o) {
  if (o == nullptr || o->type != msgpack::type::STR) return std::nullopt;
  const std::string_view s(o->via.str.ptr, o->via.str.size);
  if (!is_valid_utf8(s)) return std::nullopt;
  return s;
}

std::optional<std::int64_t> int64(const Object* o) {
  if (o == nullptr) return std::nullopt;
  if (o->type == msgpack::type::NEGATIVE_INTEGER) return o->via.i64;
  if (o->type == msgpack::type::POSITIVE_INTEGER &&
      o->via.u64 <=
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(o->via.u64);
  }
  return std::nullopt;
}

std::optional<double> number(const Object* o) {
  if (o == nullptr) return std::nullopt;
  switch (o->type) {
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return o->via.f64;
    case msgpack::type::POSITIVE_INTEGER:
      return static_cast<double>(o->via.u64);
    case msgpack::type::NEGATIVE_INTEGER:
      return static_cast<double>(o->via.i64);
    default:
      return std::nullopt;
  }
}

bool append_key_bytes(const Object& o, std::string& out) {
  // Short keys dominate; the writer appends to a vector, copied once into `out`.
  std::vector<std::uint8_t> bytes;
  bytes.reserve(64);
  MsgpackWriter w(bytes);
  if (!write_key(o, w, 0)) return false;
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return true;
}

}  // namespace daskcpp::protocol::view
