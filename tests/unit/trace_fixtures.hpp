#pragma once
// The recorded captures the unit tests replay: tests/fixtures/traces/raw in this
// repository, passed in by CMake as DASKCPP_TRACES_DIR (target daskcpp_test_traces).

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "protocol/framing/frame_decoder.hpp"
#include "protocol/trace/trace_file.hpp"

namespace daskcpp::test {

inline std::string traces_dir() { return DASKCPP_TRACES_DIR; }

// Every *.bin capture, sorted by name.
inline std::vector<std::string> raw_trace_paths() {
  return protocol::trace_files(traces_dir());
}

// One recorded message (a kMessage record's payload: prelude and frames) as its frames.
inline protocol::Frames frames_of(const Bytes& wire) {
  protocol::FrameDecoder decoder;
  std::vector<protocol::Frames> out;
  REQUIRE(decoder.consume(wire.span(), out).ok());
  REQUIRE(out.size() == 1);
  return out[0];
}

}  // namespace daskcpp::test
