#pragma once
// The command line of daskcpp-worker, shaped like `dask worker` (distributed/cli/
// dask_worker.py): the scheduler address or --scheduler-file, --nthreads, --name,
// --memory-limit, --local-directory, --host/--listen-address port, --death-timeout,
// --nanny/--no-nanny (default --nanny, as `dask worker`), --nworkers, --nanny-port.
// The hidden --nanny-address/--nanny-ready-fd are what a nanny passes to the worker
// process it spawns (worker/nanny/). Pure string handling.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/status.hpp"

namespace daskcpp::worker {

struct CliOptions {
  std::string scheduler_address;
  std::string scheduler_file;
  int nthreads = 1;
  std::optional<std::string> name;
  std::optional<std::int64_t> memory_limit;  // bytes; "auto"/0 = none
  std::string local_directory;
  std::string host;  // listen and contact host; empty = automatic
  std::uint16_t port = 0;
  double death_timeout_seconds = 60;
  std::string log_level = "info";
  // --resources "GPU=2 MEM=10e9": abstract resources for tasks' resource_restrictions.
  std::map<std::string, double> resources;
  bool show_help = false;
  // Nanny (worker/nanny/): run each worker under a nanny process that restarts it.
  bool nanny = true;
  int nworkers = 1;
  std::uint16_t nanny_port = 0;
  // Set only in a worker process spawned by a nanny: the nanny's address (sent at
  // registration) and the pipe on which the worker reports it is running.
  std::string nanny_address;
  int nanny_ready_fd = -1;
};

Result<CliOptions> parse_cli_options(const std::vector<std::string>& args);
std::string cli_usage();
// "4GB", "512MiB", "1e9", "0.5" (fraction of total memory is not supported: nullopt).
Result<std::optional<std::int64_t>> parse_memory_limit(const std::string& text);
// "GPU=2 MEM=10e9" or "GPU=2,MEM=10e9" (dask_worker.py: commas as spaces, NAME=float).
Result<std::map<std::string, double>> parse_resources(const std::string& text);

}  // namespace daskcpp::worker
