#include "protocol/rpc/clock.hpp"

#include <fmt/format.h>

#include <chrono>

namespace daskcpp::protocol {

double unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string stimulus_id(std::string_view prefix, double now) {
  return fmt::format("{}-{}", prefix, now);  // {} is the shortest round trip, as repr()
}

}  // namespace daskcpp::protocol
