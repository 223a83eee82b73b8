#include "protocol/rpc/clock.hpp"

#include <chrono>

namespace daskcpp::protocol {

double unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace daskcpp::protocol
