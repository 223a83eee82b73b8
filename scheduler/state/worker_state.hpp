#pragma once
// WorkerState, ClientState, TaskPrefix and TaskGroup: the other plain structs of
// SchedulerState's arenas (mirror the upstream classes of the same names).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "scheduler/state/ids.hpp"
#include "scheduler/state/task_state.hpp"

namespace daskcpp::scheduler {

// distributed.core.Status values a worker can be in.
enum class WorkerStatus : std::uint8_t {
  init,
  running,
  paused,
  closing_gracefully,
  closing,
  closed,
};
const char* worker_status_name(WorkerStatus s);
// Parses "running", "paused", ...; false when unknown.
bool parse_worker_status(std::string_view s, WorkerStatus& out);

struct WorkerState {
  std::string address;
  std::string name;
  std::string host;
  std::int32_t nthreads = 1;
  std::int64_t memory_limit = 0;
  WorkerStatus status = WorkerStatus::init;
  bool alive = false;  // false once removed; worker ids are never reused
  std::vector<std::pair<std::string, double>> resources;

  IdSet<TaskId> processing;
  IdSet<TaskId> long_running;
  IdSet<TaskId> has_what;
  std::int64_t nbytes = 0;  // Σ nbytes of has_what

  // Processing tasks (not long-running) per prefix: occupancy is
  // Σ count × prefix duration + network_occ / bandwidth (upstream _calc_occupancy).
  std::vector<std::pair<PrefixId, std::int32_t>> prefix_count;
  // Dependencies of processing tasks that this worker must fetch: task → #dependents.
  std::vector<std::pair<TaskId, std::int32_t>> needs_what;
  double network_occ = 0;  // bytes still to fetch

  // Position key in the "least busy idle_task_count" index (processing / nthreads).
  double busy_key = 0;
  bool in_idle_task_count = false;
  bool in_idle = false;
  bool in_saturated = false;
};

struct ClientState {
  std::string client_key;
  bool alive = false;
  IdSet<TaskId> wants_what;
};

struct TaskPrefix {
  std::string name;
  double duration_average = -1;  // seconds; < 0: never measured
  double max_exec_time = -1;
  std::int32_t suspicious = 0;
  std::int64_t states[kTaskStatusCount] = {};
};

struct TaskGroup {
  std::string name;
  PrefixId prefix = kNoId<PrefixId>;
  bool alive = false;
  std::int64_t size = 0;  // tasks ever added (upstream len(tg))
  std::int64_t states[kTaskStatusCount] = {};
  IdSet<GroupId> dependencies;
  std::int64_t nbytes_total = 0;
  double start = 0;
  double stop = 0;
  double duration_s = 0;  // Σ compute/transfer/... seconds
  WorkerId last_worker = kNoId<WorkerId>;
  std::int64_t last_worker_tasks_left = 0;
};

}  // namespace daskcpp::scheduler
