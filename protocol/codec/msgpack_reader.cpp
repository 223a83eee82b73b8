#include "protocol/codec/msgpack_reader.hpp"

#include <algorithm>
#include <cstring>
#include <msgpack.hpp>
#include <new>
#include <string>
#include <string_view>

namespace daskcpp::protocol {

namespace {

constexpr std::string_view kSerializedKey = "__Serialized__";
constexpr std::string_view kPickledKey = "__Pickled__";

// Strict UTF-8 as Python's decoder (raw=False) applies it: no overlong forms, no
// surrogates, nothing above U+10FFFF. ASCII, by far the common case, is checked
// eight bytes at a time.
bool valid_utf8(const unsigned char* s, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      std::uint64_t chunk;
      std::memcpy(&chunk, s + i, 8);
      if ((chunk & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

// Referencing str/bin/ext in the input instead of copying them into the zone: the
// Value tree copies strings once and slices bins, so a zone copy would be wasted.
bool reference_everything(msgpack::type::object_type, std::size_t, void*) { return true; }

const char* msgpack_type_name(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return "bool";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
      return "int";
    case msgpack::type::FLOAT32:
      return "float32";
    case msgpack::type::FLOAT64:
      return "float64";
    case msgpack::type::STR:
      return "str";
    case msgpack::type::BIN:
      return "bin";
    case msgpack::type::ARRAY:
      return "array";
    case msgpack::type::MAP:
      return "map";
    case msgpack::type::EXT:
      return "ext";
  }
  return "unknown";
}

// Builds the Value tree from msgpack-c's object tree. Recursion depth is bounded by
// the unpack_limit depth that msgpack-c enforced while parsing.
class Converter {
 public:
  Converter(const DecodeLimits& limits, const ReadContext& ctx)
      : limits_(limits), ctx_(ctx) {}

  Status convert(const msgpack::object& o, Value& out) const {
    switch (o.type) {
      case msgpack::type::NIL:
        out = Value();
        return Status::OK();
      case msgpack::type::BOOLEAN:
        out = Value(o.via.boolean);
        return Status::OK();
      case msgpack::type::POSITIVE_INTEGER:
        out = Value(static_cast<std::uint64_t>(o.via.u64));
        return Status::OK();
      case msgpack::type::NEGATIVE_INTEGER:
        out = Value(static_cast<std::int64_t>(o.via.i64));
        return Status::OK();
      case msgpack::type::FLOAT32:
        out = Value::float32(static_cast<float>(o.via.f64));
        return Status::OK();
      case msgpack::type::FLOAT64:
        out = Value(o.via.f64);
        return Status::OK();
      case msgpack::type::STR: {
        const auto* p = reinterpret_cast<const unsigned char*>(o.via.str.ptr);
        if (!valid_utf8(p, o.via.str.size)) {
          return Status::Invalid("msgpack str of " + std::to_string(o.via.str.size) +
                                 " bytes is not valid UTF-8");
        }
        out = Value(std::string(o.via.str.ptr, o.via.str.size));
        return Status::OK();
      }
      case msgpack::type::BIN:
        out = Value(bin_bytes(o.via.bin.ptr, o.via.bin.size));
        return Status::OK();
      case msgpack::type::ARRAY: {
        Array a(o.via.array.size);
        for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
          DASKCPP_RETURN_NOT_OK(convert(o.via.array.ptr[i], a[i]));
        }
        out = Value(std::move(a));
        return Status::OK();
      }
      case msgpack::type::MAP:
        return convert_map(o, out);
      case msgpack::type::EXT:
        return Status::Invalid("msgpack ext type " + std::to_string(o.via.ext.type()) +
                               " is not used by the Dask protocol");
    }
    return Status::Invalid("unknown msgpack object type");
  }

 private:
  Bytes bin_bytes(const char* ptr, std::size_t size) const {
    const auto* p = reinterpret_cast<const std::uint8_t*>(ptr);
    if (ctx_.owner != nullptr && size > 0 && p >= ctx_.owner->data() &&
        p + size <= ctx_.owner->data() + ctx_.owner->size()) {
      return ctx_.owner->slice(static_cast<std::size_t>(p - ctx_.owner->data()), size);
    }
    return Bytes::copy_of(std::span<const std::uint8_t>(p, size));
  }

  Status convert_map(const msgpack::object& o, Value& out) const {
    const msgpack::object_kv* kv = o.via.map.ptr;
    const std::uint32_t n = o.via.map.size;
    if (ctx_.frames != nullptr) {
      // The object hook of distributed.protocol.core.loads: any map holding one
      // of these keys is replaced; `__Serialized__` is looked at first.
      const msgpack::object* serialized = nullptr;
      const msgpack::object* pickled = nullptr;
      for (std::uint32_t i = 0; i < n; ++i) {
        if (kv[i].key.type != msgpack::type::STR) continue;
        const std::string_view k(kv[i].key.via.str.ptr, kv[i].key.via.str.size);
        if (k == kSerializedKey) serialized = &kv[i].val;
        if (k == kPickledKey) pickled = &kv[i].val;
      }
      if (serialized != nullptr) {
        return resolve_payload(Payload::Kind::kSerialized, *serialized, out);
      }
      if (pickled != nullptr)
        return resolve_payload(Payload::Kind::kPickled, *pickled, out);
    }
    Map m(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      DASKCPP_RETURN_NOT_OK(convert(kv[i].key, m[i].first));
      DASKCPP_RETURN_NOT_OK(convert(kv[i].val, m[i].second));
    }
    out = Value(std::move(m));
    return Status::OK();
  }

  Status resolve_payload(Payload::Kind kind, const msgpack::object& index,
                         Value& out) const {
    const std::string name(kind == Payload::Kind::kSerialized ? kSerializedKey
                                                              : kPickledKey);
    const Frames& frames = *ctx_.frames;
    if (index.type == msgpack::type::NEGATIVE_INTEGER) {
      return Status::Invalid(name + " index " + std::to_string(index.via.i64) +
                             " must be >= 1");
    }
    if (index.type != msgpack::type::POSITIVE_INTEGER) {
      return Status::Invalid(name + " index must be an int >= 1, got " +
                             msgpack_type_name(index));
    }
    const std::uint64_t k = index.via.u64;
    if (k == 0) {
      return Status::Invalid(name + " index 0 points at frame 0, the message itself");
    }
    if (k >= frames.size()) {
      return Status::Invalid(name + " index " + std::to_string(k) +
                             " is out of range: the message has " +
                             std::to_string(frames.size()) + " frames");
    }
    const Bytes& header = frames[k];
    const std::string where = name + " sub-header in frame " + std::to_string(k);
    auto sub = read_msgpack(header.span(), limits_, ReadContext{&header, nullptr});
    if (!sub.ok()) return sub.status().with_context(where);
    const Value* count = sub->find("num-sub-frames");
    if (count == nullptr || !count->is_int() || count->as_integer().is_big_unsigned ||
        count->as_int64() < 0) {
      return Status::Invalid(where + " has no non-negative int num-sub-frames");
    }
    const auto n = static_cast<std::uint64_t>(count->as_int64());
    const std::uint64_t available = frames.size() - k - 1;
    if (n > available) {
      return Status::Invalid(where + " announces " + std::to_string(n) +
                             " sub-frames but only " + std::to_string(available) +
                             " frames follow it");
    }
    auto payload = std::make_shared<Payload>();
    payload->kind = kind;
    payload->header = header;
    const auto first = frames.begin() + static_cast<std::ptrdiff_t>(k + 1);
    payload->frames.assign(first, first + static_cast<std::ptrdiff_t>(n));
    out = Value(PayloadPtr(std::move(payload)));
    return Status::OK();
  }

  const DecodeLimits& limits_;
  const ReadContext& ctx_;
};

}  // namespace

namespace {

// Parses one msgpack document with msgpack-c; every msgpack-c exception becomes a
// Status here.
Result<msgpack::object> parse_document(msgpack::zone& zone,
                                       std::span<const std::uint8_t> bytes,
                                       const DecodeLimits& limits) {
  // msgpack-c allocates an array/map's element storage as soon as it reads the
  // header, so a 5-byte `array32 0xffffffff` would cost 96 GiB. Every element takes
  // at least one input byte (a map entry two), which caps the limits by the input.
  const std::size_t size = bytes.size();
  const std::size_t max_array = std::min(limits.max_container_size, size);
  const std::size_t max_map = std::min(limits.max_container_size, size / 2);
  const std::size_t max_str = std::min(limits.max_string_bytes, size);
  const msgpack::unpack_limit limit(max_array, max_map, max_str, max_str, size,
                                    limits.max_depth);
  const char* data = reinterpret_cast<const char*>(bytes.data());
  std::size_t offset = 0;
  try {
    msgpack::object object =
        msgpack::unpack(zone, data, size, offset, reference_everything, nullptr, limit);
    if (offset != size) {
      return Status::Invalid("msgpack document of " + std::to_string(offset) +
                             " bytes is followed by " + std::to_string(size - offset) +
                             " trailing bytes");
    }
    return object;
  } catch (const msgpack::depth_size_overflow&) {
    return Status::CapacityError("msgpack nesting exceeds max_depth=" +
                                 std::to_string(limits.max_depth));
  } catch (const msgpack::array_size_overflow&) {
    return Status::CapacityError("msgpack array announces more than " +
                                 std::to_string(max_array) +
                                 " elements (max_container_size, or the input size)");
  } catch (const msgpack::map_size_overflow&) {
    return Status::CapacityError("msgpack map announces more than " +
                                 std::to_string(max_map) +
                                 " entries (max_container_size, or half the input size)");
  } catch (const msgpack::str_size_overflow&) {
    return Status::CapacityError("msgpack str announces more than " +
                                 std::to_string(max_str) +
                                 " bytes (max_string_bytes, or the input size)");
  } catch (const msgpack::bin_size_overflow&) {
    return Status::CapacityError("msgpack bin announces more than " +
                                 std::to_string(max_str) +
                                 " bytes (max_string_bytes, or the input size)");
  } catch (const msgpack::size_overflow& e) {
    return Status::CapacityError(std::string("msgpack size limit exceeded: ") + e.what());
  } catch (const msgpack::insufficient_bytes&) {
    return Status::Invalid("msgpack document truncated after " + std::to_string(size) +
                           " bytes");
  } catch (const msgpack::parse_error& e) {
    return Status::Invalid(std::string("msgpack parse error: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status::CapacityError("out of memory decoding a msgpack document of " +
                                 std::to_string(size) + " bytes");
  } catch (const std::exception& e) {
    return Status::Invalid(std::string("msgpack decode failed: ") + e.what());
  }
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  return valid_utf8(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

Result<Value> read_msgpack(std::span<const std::uint8_t> bytes,
                           const DecodeLimits& limits, const ReadContext& ctx) {
  msgpack::zone zone;
  DASKCPP_ASSIGN_OR_RETURN(msgpack::object object, parse_document(zone, bytes, limits));
  Value out;
  DASKCPP_RETURN_NOT_OK(Converter(limits, ctx).convert(object, out));
  return out;
}

namespace {

// The zones of parsed messages are reused, per thread: a stream brings one
// message after another, and each would otherwise allocate and free a zone and
// its first 8 KB chunk (a large, slow-path allocation). clear() keeps that chunk.
constexpr std::size_t kPooledZones = 8;

std::vector<std::unique_ptr<msgpack::zone>>& zone_pool() {
  thread_local std::vector<std::unique_ptr<msgpack::zone>> pool = [] {
    std::vector<std::unique_ptr<msgpack::zone>> v;
    v.reserve(kPooledZones);
    return v;
  }();
  return pool;
}

}  // namespace

void ParsedMessage::ZoneReturn::operator()(msgpack::zone* zone) const noexcept {
  auto& pool = zone_pool();
  if (pool.size() < kPooledZones) {
    zone->clear();
    pool.emplace_back(zone);  // capacity reserved: does not allocate
  } else {
    delete zone;
  }
}

ParsedMessage::PooledZone ParsedMessage::take_zone() {
  auto& pool = zone_pool();
  if (pool.empty()) return PooledZone(new msgpack::zone());
  PooledZone zone(pool.back().release());
  pool.pop_back();
  return zone;
}

ParsedMessage::ParsedMessage(Frames frames, const DecodeLimits& limits)
    : frames_(std::move(frames)), limits_(limits) {}

Result<ParsedMessage> ParsedMessage::parse(Frames frames, const DecodeLimits& limits) {
  if (frames.empty())
    return Status::Invalid("message has no frames (frame 0 is missing)");
  ParsedMessage message(std::move(frames), limits);
  message.zone_ = take_zone();
  DASKCPP_ASSIGN_OR_RETURN(
      message.root_, parse_document(*message.zone_, message.frames_[0].span(), limits));
  return message;
}

Result<Value> ParsedMessage::to_value(const msgpack::object& o) const {
  const ReadContext ctx{&frames_[0], &frames_};
  Value out;
  DASKCPP_RETURN_NOT_OK(Converter(limits_, ctx).convert(o, out));
  return out;
}

Bytes ParsedMessage::bin_slice(const msgpack::object& bin) const {
  const Bytes& frame0 = frames_[0];
  const auto* p = reinterpret_cast<const std::uint8_t*>(bin.via.bin.ptr);
  return frame0.slice(static_cast<std::size_t>(p - frame0.data()), bin.via.bin.size);
}

}  // namespace daskcpp::protocol
