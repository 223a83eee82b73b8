#pragma once
// run_nannies: `daskcpp-worker` with --nanny (the default): `--nworkers` nannies in
// this process, each keeping one worker process alive, until they have all closed
// or SIGINT/SIGTERM closes them (upstream distributed/cli/dask_worker.py main's
// run(): wait_for_nannies_to_finish / wait_for_signals_and_close).
// Owns the io_context and runs it on the calling thread.

#include <string>
#include <vector>

#include "worker/server/cli_options.hpp"

namespace daskcpp::worker::nanny {

// `args` is our argv (the worker processes get it, minus the nanny options);
// `scheduler_address` is resolved already ("tcp://..."). Returns the exit status:
// 0 once every nanny closed or after a signal, 1 if a nanny failed to start.
int run_nannies(const CliOptions& cli, const std::vector<std::string>& args,
                const std::string& scheduler_address);

}  // namespace daskcpp::worker::nanny
