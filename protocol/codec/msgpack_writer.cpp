#include "protocol/codec/msgpack_writer.hpp"

#include <bit>
#include <cstring>

namespace daskcpp::protocol {

void MsgpackWriter::put_tagged(std::uint8_t tag, std::uint64_t v, int width) {
  std::uint8_t buf[9];
  buf[0] = tag;
  for (int i = 0; i < width; ++i) {
    buf[1 + i] = static_cast<std::uint8_t>(v >> (8 * (width - 1 - i)));
  }
  out_.insert(out_.end(), buf, buf + 1 + width);
}

// Mirrors msgpack_pack_long_long / msgpack_pack_unsigned_long_long of Python's
// msgpack (pack_template.h): non-negative values use the uint family.
void MsgpackWriter::integer(const Integer& v) {
  if (v.is_big_unsigned) {
    put_tagged(0xcf, v.as_uint64(), 8);
    return;
  }
  const std::int64_t d = v.i;
  const auto u = static_cast<std::uint64_t>(d);
  if (d < -(std::int64_t{1} << 5)) {
    if (d < -(std::int64_t{1} << 15)) {
      if (d < -(std::int64_t{1} << 31)) {
        put_tagged(0xd3, u, 8);
      } else {
        put_tagged(0xd2, u, 4);
      }
    } else if (d < -(1 << 7)) {
      put_tagged(0xd1, u, 2);
    } else {
      put_tagged(0xd0, u, 1);
    }
  } else if (d < (1 << 7)) {
    out_.push_back(static_cast<std::uint8_t>(d));  // positive or negative fixint
  } else if (d < (std::int64_t{1} << 8)) {
    put_tagged(0xcc, u, 1);
  } else if (d < (std::int64_t{1} << 16)) {
    put_tagged(0xcd, u, 2);
  } else if (d < (std::int64_t{1} << 32)) {
    put_tagged(0xce, u, 4);
  } else {
    put_tagged(0xcf, u, 8);
  }
}

void MsgpackWriter::float32(float f) {
  put_tagged(0xca, std::bit_cast<std::uint32_t>(f), 4);
}

void MsgpackWriter::float64(double d) {
  put_tagged(0xcb, std::bit_cast<std::uint64_t>(d), 8);
}

void MsgpackWriter::str(std::string_view s) {
  const std::size_t n = s.size();
  if (n < 32) {
    out_.push_back(static_cast<std::uint8_t>(0xa0 | n));
  } else if (n < 256) {
    put_tagged(0xd9, n, 1);
  } else if (n < 65536) {
    put_tagged(0xda, n, 2);
  } else {
    put_tagged(0xdb, n, 4);
  }
  out_.insert(out_.end(), s.begin(), s.end());
}

void MsgpackWriter::bin(std::span<const std::uint8_t> b) {
  const std::size_t n = b.size();
  if (n < 256) {
    put_tagged(0xc4, n, 1);
  } else if (n < 65536) {
    put_tagged(0xc5, n, 2);
  } else {
    put_tagged(0xc6, n, 4);
  }
  out_.insert(out_.end(), b.begin(), b.end());
}

void MsgpackWriter::array_header(std::size_t n) {
  if (n < 16) {
    out_.push_back(static_cast<std::uint8_t>(0x90 | n));
  } else if (n < 65536) {
    put_tagged(0xdc, n, 2);
  } else {
    put_tagged(0xdd, n, 4);
  }
}

void MsgpackWriter::map_header(std::size_t n) {
  if (n < 16) {
    out_.push_back(static_cast<std::uint8_t>(0x80 | n));
  } else if (n < 65536) {
    put_tagged(0xde, n, 2);
  } else {
    put_tagged(0xdf, n, 4);
  }
}

void MsgpackWriter::raw(std::string_view msgpack) {
  out_.insert(out_.end(), msgpack.begin(), msgpack.end());
}

void write_payload(MsgpackWriter& w, Frames& frames, const Payload& p) {
  // Indices are absolute positions in the message, assigned in the order the
  // packer meets payloads, as distributed.protocol.core.dumps does.
  const std::size_t index = frames.size();
  frames.push_back(p.header);
  frames.insert(frames.end(), p.frames.begin(), p.frames.end());
  w.map_header(1);
  w.str(p.kind == Payload::Kind::kSerialized ? "__Serialized__" : "__Pickled__");
  w.integer(Integer{static_cast<std::int64_t>(index), false});
}

Status write_value(MsgpackWriter& w, const Value& v, const WriteOptions& opts) {
  switch (v.type()) {
    case Value::Type::kNil:
      w.nil();
      return Status::OK();
    case Value::Type::kBool:
      w.boolean(v.as_bool());
      return Status::OK();
    case Value::Type::kInt:
      w.integer(v.as_integer());
      return Status::OK();
    case Value::Type::kFloat32:
      if (opts.floats_as_float64) {
        w.float64(static_cast<double>(v.as_float32()));
      } else {
        w.float32(v.as_float32());
      }
      return Status::OK();
    case Value::Type::kFloat64:
      w.float64(v.as_double());
      return Status::OK();
    case Value::Type::kStr:
      w.str(v.as_str());
      return Status::OK();
    case Value::Type::kBin:
      w.bin(v.as_bin().span());
      return Status::OK();
    case Value::Type::kArray: {
      const Array& a = v.as_array();
      w.array_header(a.size());
      for (const Value& item : a) DASKCPP_RETURN_NOT_OK(write_value(w, item, opts));
      return Status::OK();
    }
    case Value::Type::kMap: {
      const Map& m = v.as_map();
      w.map_header(m.size());
      for (const auto& [key, item] : m) {
        DASKCPP_RETURN_NOT_OK(write_value(w, key, opts));
        DASKCPP_RETURN_NOT_OK(write_value(w, item, opts));
      }
      return Status::OK();
    }
    case Value::Type::kPayload: {
      if (opts.payload_frames == nullptr) {
        return Status::Invalid(
            "cannot encode a Payload as plain msgpack: it needs a message frame list");
      }
      write_payload(w, *opts.payload_frames, *v.as_payload());
      return Status::OK();
    }
    case Value::Type::kRaw:
      w.raw(v.as_raw().bytes);
      return Status::OK();
  }
  return Status::Invalid("unknown Value type");
}

}  // namespace daskcpp::protocol
