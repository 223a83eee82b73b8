#pragma once
// The msgpack sub-header distributed writes for a ToPickle object
// (protocol/core.py create_pickled_sub_frames, with compression off):
//   {"pickled-obj": <bin>, "compression": [nil] * n, "num-sub-frames": n}
// in that key order, shortest forms, as Python's msgpack packs it.

#include <cstddef>
#include <string_view>

#include "protocol/bytes.hpp"

namespace daskcpp::python_compat {

Bytes run_spec_header(std::string_view pickled, std::size_t num_buffers);

}  // namespace daskcpp::python_compat
