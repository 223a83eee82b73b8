#pragma once
// Command line of daskcpp-simworker (the contract the benchmark driver relies on):
//
//   daskcpp-simworker SCHEDULER_ADDRESS --workers N [--nthreads T] [--compute-ms MS]
//                     [--host 127.0.0.1] [--name-prefix sim] [--log-level warning]
//
// Pure parsing, no I/O.

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/status.hpp"

namespace daskcpp::bench {

struct SimOptions {
  std::string scheduler_address;
  int workers = 0;
  int nthreads = 1;
  // Simulated duration of every task; 0 = finished on the next loop turn.
  std::int64_t compute_ms = 0;
  // Listen and contact host of every simulated worker.
  std::string host = "127.0.0.1";
  // Worker i (0-based) registers with the name "<prefix>-<i>".
  std::string name_prefix = "sim";
  std::string log_level = "warning";
  bool help = false;
};

// `args` excludes argv[0]. Unknown flags, missing values and out-of-range numbers
// are errors naming the flag.
Result<SimOptions> parse_sim_options(const std::vector<std::string>& args);

std::string sim_usage();

}  // namespace daskcpp::bench
