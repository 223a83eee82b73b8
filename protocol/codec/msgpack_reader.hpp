#pragma once
// The msgpack-c boundary: one document is parsed with msgpack-c under an
// unpack_limit and turned into a Value; every msgpack-c exception becomes a
// Status here and nowhere else. Mirrors msgpack.loads(raw=False, use_list=False,
// strict_map_key=False) plus, when a frame list is given, the object hook of
// distributed.protocol.core.loads for `__Serialized__` / `__Pickled__` maps.
//
// Thread safety: stateless; call from any thread.

#include <cstdint>
#include <memory>
#include <msgpack.hpp>
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

// Strict UTF-8 as Python's msgpack decoder (raw=False) requires of a str.
bool is_valid_utf8(std::string_view s);

// A received message parsed by msgpack-c but not yet turned into Values: the hot
// stream ops (task-finished, compute-task) are read straight from its object tree
// (msgpack_view.hpp), everything else is converted one op-map at a time with
// to_value(), exactly as decode_message would have converted it. The objects
// point into frame 0, which the message keeps alive. Movable, not copyable.
class ParsedMessage {
 public:
  // Parses frame 0 under `limits`; the same errors as decode_message.
  static Result<ParsedMessage> parse(Frames frames, const DecodeLimits& limits);

  const msgpack::object& root() const { return root_; }
  const Frames& frames() const { return frames_; }
  // `o` (this message's root or a part of it) as a Value, payloads resolved.
  Result<Value> to_value(const msgpack::object& o) const;
  // A bin inside frame 0 as a slice of it (no copy).
  Bytes bin_slice(const msgpack::object& bin) const;

 private:
  // Gives a zone back to this thread's pool (msgpack_reader.cpp).
  struct ZoneReturn {
    void operator()(msgpack::zone* zone) const noexcept;
  };
  using PooledZone = std::unique_ptr<msgpack::zone, ZoneReturn>;
  static PooledZone take_zone();

  ParsedMessage(Frames frames, const DecodeLimits& limits);
  Frames frames_;
  DecodeLimits limits_;
  PooledZone zone_;  // owns root_'s objects
  msgpack::object root_;
};

}  // namespace daskcpp::protocol
