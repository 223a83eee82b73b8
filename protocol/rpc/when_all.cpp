#include "protocol/rpc/when_all.hpp"

#include <spdlog/spdlog.h>

namespace daskcpp::protocol {

void log_when_all_exception(const char* what) {
  spdlog::error("fan-out task failed with an exception: {}", what);
}

}  // namespace daskcpp::protocol
