#include "protocol/codec/message_codec.hpp"

#include <string>

#include "protocol/codec/msgpack_reader.hpp"
#include "protocol/codec/msgpack_writer.hpp"

namespace daskcpp::protocol {

namespace {

// Most frame 0s are a few hundred bytes; start there and let the vector grow.
constexpr std::size_t kFrame0Reserve = 256;
// Deeper tuple keys do not occur; the bound keeps recursion finite on any input.
constexpr int kMaxKeyDepth = 64;

// Mirrors dask.core.validate_key / iskey: str, int, float or a tuple of keys.
// bool is not an int there (type(key) is checked, not isinstance).
Status validate_key(const Value& key, int depth) {
  if (depth > kMaxKeyDepth) {
    return Status::Invalid("key nested deeper than " + std::to_string(kMaxKeyDepth));
  }
  switch (key.type()) {
    case Value::Type::kStr:
    case Value::Type::kInt:
    case Value::Type::kFloat32:
    case Value::Type::kFloat64:
      return Status::OK();
    case Value::Type::kArray: {
      const Array& parts = key.as_array();
      for (std::size_t i = 0; i < parts.size(); ++i) {
        if (!validate_key(parts[i], depth + 1).ok()) {
          return Status::TypeError(
              "Composite key contains unexpected key type at index=" + std::to_string(i) +
              " (key=" + key.to_debug_string(128) + ")");
        }
      }
      return Status::OK();
    }
    default:
      return Status::TypeError(std::string("Unexpected key type ") +
                               type_name(key.type()) +
                               " (key=" + key.to_debug_string(128) + ")");
  }
}

}  // namespace

Result<Value> decode_msgpack(std::span<const std::uint8_t> bytes,
                             const DecodeLimits& limits) {
  return read_msgpack(bytes, limits, ReadContext{});
}

Status append_msgpack(const Value& v, std::vector<std::uint8_t>& out) {
  MsgpackWriter w(out);
  return write_value(w, v, WriteOptions{});
}

Result<Bytes> encode_msgpack(const Value& v) {
  std::vector<std::uint8_t> out;
  out.reserve(kFrame0Reserve);
  DASKCPP_RETURN_NOT_OK(append_msgpack(v, out));
  return Bytes::from_vector(std::move(out));
}

Result<Value> decode_message(const Frames& frames, const DecodeLimits& limits) {
  if (frames.empty())
    return Status::Invalid("message has no frames (frame 0 is missing)");
  return read_msgpack(frames[0].span(), limits, ReadContext{&frames[0], &frames});
}

Frames encode_message(const Value& v) {
  Frames frames;
  frames.reserve(4);
  frames.emplace_back();  // frame 0, filled in below
  std::vector<std::uint8_t> frame0;
  frame0.reserve(kFrame0Reserve);
  MsgpackWriter w(frame0);
  // Cannot fail: payloads have a frame list to go to.
  Status st = write_value(w, v, WriteOptions{&frames, false});
  (void)st;
  frames[0] = Bytes::from_vector(std::move(frame0));
  return frames;
}

Result<std::string> canonical_key_bytes(const Value& key) {
  DASKCPP_RETURN_NOT_OK(validate_key(key, 0));
  std::vector<std::uint8_t> out;
  out.reserve(64);
  MsgpackWriter w(out);
  // A float32 key from another encoder is a Python float once decoded: float64.
  DASKCPP_RETURN_NOT_OK(write_value(w, key, WriteOptions{nullptr, true}));
  return std::string(out.begin(), out.end());
}

}  // namespace daskcpp::protocol
