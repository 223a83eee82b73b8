#pragma once
// Client-facing data RPCs (upstream Scheduler.gather, scatter, update_data,
// get_who_has, get_has_what, get_ncores, get_ncores_running, get_processing,
// get_nbytes, stimulus_retry; protocol.md §5.5-§5.7). gather and scatter are
// coroutines that await the workers (worker_rpc.hpp) without blocking the loop;
// the others read or change SchedulerState and answer at once. The group owns
// its state: the RNG of gather's holder choice and scatter's round-robin counter.
// Thread: the scheduler loop.

namespace daskcpp::scheduler {

struct ExtensionContext;

void register_data_handlers(ExtensionContext& server);

}  // namespace daskcpp::scheduler
