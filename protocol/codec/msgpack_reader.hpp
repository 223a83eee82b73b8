#pragma once
// The msgpack-c boundary: one document is parsed with msgpack-c under an
// unpack_limit and turned into a Value; every msgpack-c exception becomes a
// Status here and nowhere else. Mirrors msgpack.loads(raw=False, use_list=False,
// strict_map_key=False) plus, when a frame list is given, the object hook of
// distributed.protocol.core.loads for `__Serialized__` / `__Pickled__` maps.
//
// Thread safety: stateless; call from any thread.

#include <cstdint>
#include <span>

#include "protocol/bytes.hpp"
#include "protocol/codec/message_codec.hpp"
#include "protocol/codec/value.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

struct ReadContext {
  // When set, `bytes` lies inside it and bin values become slices of it, not copies.
  const Bytes* owner = nullptr;
  // When set, payload maps are resolved against these frames (decode_message).
  const Frames* frames = nullptr;
};

Result<Value> read_msgpack(std::span<const std::uint8_t> bytes,
                           const DecodeLimits& limits, const ReadContext& ctx);

}  // namespace daskcpp::protocol
