#pragma once
// Files the scheduler leaves for others: the scheduler file (JSON of
// Scheduler.identity(), what `Client(scheduler_file=...)` and `dask worker
// --scheduler-file` read; upstream Scheduler.start_unsafe) and the pid file.
// Both are written atomically (tmp + rename) so a reader polling for the file
// never sees half of it.

#include <nlohmann/json.hpp>
#include <string>

#include "protocol/status.hpp"

namespace daskcpp::scheduler {

Status write_file_atomically(const std::string& path, const std::string& contents);
// json.dump(identity, indent=2) as upstream.
Status write_scheduler_file(const std::string& path, const nlohmann::json& identity);
Status write_pid_file(const std::string& path);
// Best effort; a missing file is fine.
void remove_file_quietly(const std::string& path);

}  // namespace daskcpp::scheduler
