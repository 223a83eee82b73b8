#pragma once
// Command line of `daskcpp-scheduler`, the subset of stock `dask scheduler`
// (distributed/cli/dask_scheduler.py) we support, plus --log-level.
// Pure parsing: no I/O besides what main() does with the result.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/status.hpp"

namespace daskcpp::scheduler {

struct CliOptions {
  std::string host;  // "" = all interfaces (stock default)
  std::uint16_t port = 8786;
  std::optional<std::string> scheduler_file;
  std::optional<std::string> pid_file;
  std::optional<double> idle_timeout_seconds;
  std::string dashboard_address = ":8787";
  bool dashboard = true;
  std::string log_level = "info";
  std::string python;  // --python; "" = $DASKCPP_PYTHON or the build-time venv
  // --preload (repeatable), and every argument we do not know, in order (dask
  // scheduler's `preload_argv`: click UNPROCESSED with ignore_unknown_options);
  // handed to distributed.preloading. Such arguments without a --preload are an error.
  std::vector<std::string> preload;
  std::vector<std::string> preload_argv;
  bool show_help = false;
  bool show_version = false;
};

// argv[0] is skipped. Accepts "--opt value" and "--opt=value".
Result<CliOptions> parse_cli_options(const std::vector<std::string>& args);

std::string cli_usage();

}  // namespace daskcpp::scheduler
