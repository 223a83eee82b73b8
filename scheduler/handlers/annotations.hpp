#pragma once
// Task annotations → placement restrictions, retries and user priority
// (upstream Scheduler._apply_annotations and the annotation lookup of
// _set_priorities, protocol.md §5.3 step 6). The materializer has already
// merged per-key annotations over the global ones; this reads that map.
//
// Pure functions over plain data (unit-tested); loop thread.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/codec/value.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {

// Maps a worker name (alias) to its address; nullopt when no worker has that name.
using AliasLookup = std::function<std::optional<std::string>(std::string_view)>;

// Scheduler.coerce_address for a `workers` annotation entry: the address of a
// worker named so, a normalized "tcp://host:port" for anything that parses as
// an address, nullopt for a bare host name (a host restriction).
std::optional<std::string> coerce_worker_address(const protocol::Value& entry,
                                                 const AliasLookup& aliases);

// Fills t.restrictions, t.retries and t.user_priority from `annotations` (a map;
// anything else is ignored). Values of the wrong type are skipped with a warning.
void apply_annotations(const protocol::Value& annotations, const AliasLookup& aliases,
                       GraphTask& t);

}  // namespace daskcpp::scheduler
