// daskcpp-simworker: N simulated workers in one process, for scheduler-throughput
// benchmarks against the stock scheduler and daskcpp-scheduler (issue 5). See
// sim_options.hpp for the command line and sim_worker.hpp for what a simulated
// worker does.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench/sim/sim_fleet.hpp"
#include "bench/sim/sim_options.hpp"

namespace {

// distributed's level names (--log-level warning) -> spdlog's.
spdlog::level::level_enum log_level(const std::string& name) {
  if (name == "warning" || name == "warn") return spdlog::level::warn;
  if (name == "critical") return spdlog::level::critical;
  return spdlog::level::from_str(name);  // debug, info, error, off; else "off"
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = daskcpp::bench::parse_sim_options(args);
  // Logs go to stderr: stdout carries only the "simworker ready N" line.
  spdlog::set_default_logger(spdlog::stderr_color_mt("simworker"));
  if (!options.ok()) {
    spdlog::error("{}", options.status().to_string());
    std::fputs(daskcpp::bench::sim_usage().c_str(), stderr);
    return 2;
  }
  if (options->help) {
    std::fputs(daskcpp::bench::sim_usage().c_str(), stdout);
    return 0;
  }
  spdlog::set_level(log_level(options->log_level));
  daskcpp::bench::SimFleet fleet(*options);
  daskcpp::Status st = fleet.run();
  if (!st.ok()) {
    spdlog::error("daskcpp-simworker: {}", st.to_string());
    return 1;
  }
  return 0;
}
