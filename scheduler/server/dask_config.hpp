#pragma once
// The distributed.scheduler.* settings daskcpp-scheduler honours, read from the
// places dask.config reads them: YAML files in ~/.config/dask (every *.yaml /
// *.yml, in name order) and DASK_CONFIG (a file or a directory), then
// DASK_-prefixed environment variables, which win
// (DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=5). Keys are normalized as
// dask does: lower case, '_' == '-'.
//
// The YAML reader is deliberately small: nested block mappings of scalars
// (`key: value`, indentation, comments, quoted strings). Flow collections,
// lists and anchors are skipped — none of the keys we read uses them.
// /etc/dask and <sys.prefix>/etc/dask are not read.
//
// Settings read: allowed-failures, worker-saturation, worker-ttl,
// unknown-task-duration, bandwidth, default-data-size, work-stealing,
// work-stealing-interval (and
// distributed.scheduler.validate), and distributed.worker.memory.rebalance.{sender-min,
// recipient-max, sender-recipient-gap} for rebalance, distributed.admin.log-length. Pure
// functions plus one loader; startup only.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.hpp"
#include "scheduler/state/config.hpp"

namespace daskcpp::scheduler {

// Flattened "a.b.c" -> scalar text.
using FlatConfig = std::map<std::string, std::string>;

// "Allowed_Failures" -> "allowed-failures".
std::string normalize_config_key(std::string_view key);

// Adds the scalars of one YAML document to `out` (later calls override).
void parse_config_yaml(std::string_view text, FlatConfig& out);

// Adds DASK_A__B__C=value entries of `environ` ("NAME=value" strings) to `out`.
void parse_config_env(const std::vector<std::string>& environ, FlatConfig& out);

struct SchedulerSettings {
  SchedulerConfig config;
  double worker_ttl_seconds = 300;  // <= 0: never expire
  std::size_t log_length = 10000;   // distributed.admin.log-length
};

// Applies the flattened config over the defaults; a value that does not parse
// is an error naming the key.
Result<SchedulerSettings> settings_from_config(const FlatConfig& flat);

// Reads the YAML files and the process environment.
Result<SchedulerSettings> load_scheduler_settings();

}  // namespace daskcpp::scheduler
