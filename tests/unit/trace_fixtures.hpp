#pragma once
// The recorded captures the unit tests replay: tests/fixtures/traces/raw in this
// repository, passed in by CMake as DASKCPP_TRACES_DIR (target daskcpp_test_traces).

#include <string>
#include <vector>

#include "protocol/trace/trace_file.hpp"

namespace daskcpp::test {

inline std::string traces_dir() { return DASKCPP_TRACES_DIR; }

// Every *.bin capture, sorted by name.
inline std::vector<std::string> raw_trace_paths() {
  return protocol::trace_files(traces_dir());
}

}  // namespace daskcpp::test
