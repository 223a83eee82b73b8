#pragma once
// Reader for the DTRACE01 captures in shared/docs/traces/raw (protocol.md §12.3),
// for tests that replay recorded wire traffic. The whole file is read into one
// buffer; every record's payload is a Bytes slice of it.
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

namespace daskcpp::test {

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

// The folder given to CMake as DASKCPP_TRACES_DIR.
std::string traces_dir();
// Every *.bin in traces_dir(), sorted by name.
std::vector<std::string> raw_trace_paths();

}  // namespace daskcpp::test
