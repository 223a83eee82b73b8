#pragma once
// The wall clock as upstream's time(): unix seconds as a double, for `started`,
// last_seen, stimulus ids and event timestamps.

namespace daskcpp::protocol {

double unix_now();

}  // namespace daskcpp::protocol
