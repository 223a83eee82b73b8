#pragma once
// Shared fixtures of the python_compat tests: the process's one interpreter
// (CPython cannot be started twice) and update-graph payloads produced by the
// stock client code in fixtures/daskcpp_graph_fixtures.py.

#include <string>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/codec/value.hpp"
#include "protocol/framing/frame_decoder.hpp"
#include "python_compat/graph_materializer.hpp"
#include "python_compat/interpreter.hpp"

namespace daskcpp::python_compat::test {

inline constexpr const char* kFixtures = "daskcpp_graph_fixtures";

// Started on first use with the fixtures folder on sys.path; stopped at exit.
Interpreter& interpreter();

// fixtures.<function>(*args), failing the test on a Python error.
std::vector<Bytes> call(const std::string& function, std::vector<Bytes> args = {});

// The update-graph op of a one-op batch, decoded as the scheduler decodes it.
MaterializeRequest request_from_frames(const protocol::Frames& frames);

}  // namespace daskcpp::python_compat::test
