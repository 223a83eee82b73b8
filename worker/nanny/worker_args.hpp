#pragma once
// The command line of a worker process spawned by a nanny, derived from the
// nanny's own (upstream Nanny.instantiate passes its worker_kwargs to Worker).
// Pure string handling.

#include <optional>
#include <string>
#include <vector>

namespace daskcpp::worker::nanny {

// `args` is the nanny's argv (args[0] is the program). Drops argv[0] and the
// options only a nanny uses (--nanny/--no-nanny, --nworkers, --nanny-port,
// --nanny-address, --nanny-ready-fd) and --name; then appends --no-nanny and
// `--name <name>` if given. Every other option, the scheduler address and
// --scheduler-file pass through unchanged.
std::vector<std::string> worker_process_args(const std::vector<std::string>& args,
                                             const std::optional<std::string>& name);

// The name of worker `index` of `nworkers` (dask_worker.py: "<name>-<i>" when
// there are several and a name was given).
std::optional<std::string> worker_name(const std::optional<std::string>& name,
                                       int nworkers, int index);

}  // namespace daskcpp::worker::nanny
