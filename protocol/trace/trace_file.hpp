#pragma once
// Reader for DTRACE01 capture files (docs/protocol.md §12.3): wire traffic of stock
// processes recorded by a proxy, replayed by the unit tests and the codec bench
// (tests/fixtures/traces/raw). The whole file is read into one buffer; every
// record's payload is a Bytes slice of it.
//
//   file   := "DTRACE01" record*
//   record := type:u8 conn:u32 dir:u8 time:f64 len:u64 payload[len]   (little-endian)
//
// Thread safety: stateless functions; the returned records are plain values.

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

enum class TraceRecordType : std::uint8_t {
  kConnOpened = 1,  // payload: JSON {"listener", "peer", "peer_role"}
  kMessage = 2,     // payload: one whole wire message (L, N, lengths, frames)
  kEof = 3,         // payload: JSON
  kUnframed = 4,    // bytes the recorder could not frame
};

struct TraceRecord {
  TraceRecordType type = TraceRecordType::kMessage;
  std::uint32_t conn = 0;  // 1-based, in order of accept
  std::uint8_t dir = 0;    // 0: connecting side -> listener, 1: the reverse
  double time = 0;         // Unix time the proxy saw the bytes
  Bytes payload;
};

// All records of one DTRACE01 file, in file order.
Result<std::vector<TraceRecord>> read_trace(const std::string& path);

// Every *.bin file in `dir`, sorted by name; empty if `dir` cannot be read.
std::vector<std::string> trace_files(const std::string& dir);

}  // namespace daskcpp::protocol
