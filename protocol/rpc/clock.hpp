#pragma once
// The wall clock as upstream's time(): unix seconds as a double, for `started`,
// last_seen, stimulus ids and event timestamps.

#include <string>
#include <string_view>

namespace daskcpp::protocol {

double unix_now();

// Upstream's f"{prefix}-{time()}": the stimulus id of something a process starts by
// itself (a heartbeat, a timeout, a close), with `now` printed as Python prints a float.
std::string stimulus_id(std::string_view prefix, double now = unix_now());

}  // namespace daskcpp::protocol
