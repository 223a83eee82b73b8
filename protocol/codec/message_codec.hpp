#pragma once
// Frames <-> Value (protocol.md §3). Frame 0 is decoded with msgpack-c under
// limits; `{"__Serialized__": k}` / `{"__Pickled__": k}` maps are resolved
// against the message's frames into Payloads (never deserialized). Encoding
// writes frame 0 and appends each Payload's sub-header and frames with fresh,
// depth-first indices, so payloads from several messages can be forwarded in one.
//
// msgpack-c throws; every exception is caught here and becomes a Status.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/codec/value.hpp"
#include "protocol/framing/frame_decoder.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

struct DecodeLimits {
  std::size_t max_depth = 64;                 // nesting of arrays/maps
  std::size_t max_container_size = 1u << 24;  // elements of one array/map
  std::size_t max_string_bytes = 1u << 30;
};

// Decodes one msgpack document. Reserved payload maps are left as plain maps.
Result<Value> decode_msgpack(std::span<const std::uint8_t> bytes,
                             const DecodeLimits& limits = {});
// Encodes a Value without payloads (fails on a Payload: it has no frame list).
Result<Bytes> encode_msgpack(const Value& v);
// Appends the msgpack encoding of `v` (no payloads) to `out`.
Status append_msgpack(const Value& v, std::vector<std::uint8_t>& out);

// A whole message: frame 0 decoded, payload maps resolved against `frames`.
Result<Value> decode_message(const Frames& frames, const DecodeLimits& limits = {});
// A whole message: frame 0 plus the frames of every Payload, renumbered.
Frames encode_message(const Value& v);

// Canonical bytes of a Dask key (str/int/float/tuple of keys), re-encoded in
// shortest form: the hash and equality key of a task (protocol.md §9).
Result<std::string> canonical_key_bytes(const Value& key);

// Decompresses one sub-frame as named by a sub-header's `compression` entry:
// nil/"" -> as is; "lz4" -> python-lz4 block format (u32le size + LZ4 block).
// Anything else -> NotImplemented naming the codec.
Result<Bytes> decompress_frame(std::string_view compression, const Bytes& frame,
                               std::size_t max_decompressed_bytes = 1ull << 32);

}  // namespace daskcpp::protocol
