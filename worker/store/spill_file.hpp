#pragma once
// Spill files: one value's `__Serialized__` group (the msgpack sub-header and its
// frames, as distributed's serialize_and_split makes them) in one file, so a spilled
// value can be served to a peer or the client without deserializing it, or
// deserialized back into memory. The Python writer (daskcpp._spill.spill) and this
// reader share the layout:
//
//   "DCSPILL1"  u64 header_len  u64 nframes  u64 frame_len[nframes]  header  frames...
//
// (integers little-endian). Reading checks every length against the file size, so a
// truncated or foreign file is a clear error, never an oversized allocation.
// Thread safety: free functions on their arguments.

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/status.hpp"

namespace daskcpp::worker {

struct SpilledGroup {
  Bytes header;
  std::vector<Bytes> frames;
};

// Writes `group` to `path` (replacing it); returns the bytes written.
Result<std::int64_t> write_spill_file(const std::string& path, const SpilledGroup& group);
// Reads a file written by write_spill_file or daskcpp._spill.spill. The frames share
// one buffer.
Result<SpilledGroup> read_spill_file(const std::string& path);

}  // namespace daskcpp::worker
