#pragma once
// MsgpackWriter: appends msgpack to a byte vector using exactly the encodings
// Python's msgpack.Packer(use_bin_type=True) picks (shortest int/str/bin/array/map
// form, str8 allowed, positive ints in the uint family), so a decoded message
// re-encodes to the bytes a Python peer sent (protocol.md §3.1). Floats keep the
// width they were decoded with (Python itself only writes float64).
//
// Thread safety: a writer is a short-lived local; it writes to the caller's vector.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/framing/frame_decoder.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

class MsgpackWriter {
 public:
  explicit MsgpackWriter(std::vector<std::uint8_t>& out) : out_(out) {}

  void nil() { out_.push_back(0xc0); }
  void boolean(bool b) { out_.push_back(b ? 0xc3 : 0xc2); }
  void integer(const Integer& v);
  void float32(float f);
  void float64(double d);
  void str(std::string_view s);
  void bin(std::span<const std::uint8_t> b);
  void array_header(std::size_t n);
  void map_header(std::size_t n);
  // Bytes that already are msgpack (a key's canonical bytes), appended as they are.
  void raw(std::string_view msgpack);

 private:
  void put_tagged(std::uint8_t tag, std::uint64_t v, int width);

  std::vector<std::uint8_t>& out_;
};

struct WriteOptions {
  // Where Payloads go: each one's sub-header and frames are appended and frame 0
  // gets `{"__Serialized__"|"__Pickled__": index}`. nullptr: a Payload is an error.
  Frames* payload_frames = nullptr;
  // Write every float as float64, as Python would after decoding it (canonical keys).
  bool floats_as_float64 = false;
};

// Appends `v`; fails only on a Payload when opts.payload_frames is null.
Status write_value(MsgpackWriter& w, const Value& v, const WriteOptions& opts);

// Appends a payload's placeholder `{"__Serialized__"|"__Pickled__": index}` and
// its sub-header and frames to `frames`.
void write_payload(MsgpackWriter& w, Frames& frames, const Payload& p);

}  // namespace daskcpp::protocol
