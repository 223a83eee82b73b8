#pragma once
// TaskState: one task as the scheduler knows it, a plain struct in
// SchedulerState's task arena (mirrors distributed.scheduler.TaskState).
//
// Hot fields live inline (≈ 200 bytes); what few tasks have (restrictions,
// annotations, an exception, erred_on) lives in TaskExtras behind one pointer.
// The run_spec and annotations are opaque handles: the core never looks inside,
// the server layer turns them back into wire payloads.

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/bytes.hpp"
#include "scheduler/state/ids.hpp"

namespace daskcpp::scheduler {

enum class TaskStatus : std::uint8_t {
  released,
  waiting,
  queued,
  no_worker,
  processing,
  memory,
  erred,
  forgotten,
};
inline constexpr int kTaskStatusCount = 8;

// Upstream's spelling: "no-worker", "released", ...
const char* task_status_name(TaskStatus s);

// (-user_priority, generation, order), compared lexicographically; smaller runs first
// (§10.5). The generation is a float only for graphs submitted from inside a task.
struct Priority {
  std::int32_t neg_user = 0;
  double generation = 0;
  std::int64_t order = 0;

  friend auto operator<=>(const Priority&, const Priority&) = default;
  friend bool operator==(const Priority&, const Priority&) = default;
};

// Opaque handles owned by the server layer (a protocol::PickledRunSpec, see
// scheduler/service/run_spec_handle.hpp; the annotation map).
using RunSpecHandle = std::shared_ptr<const void>;
using AnnotationsHandle = std::shared_ptr<const void>;
// A worker's exception/traceback payload, forwarded verbatim to clients.
using ExceptionHandle = std::shared_ptr<const void>;

// Placement restrictions extracted from annotations (§5.3 step 6).
struct Restrictions {
  std::vector<std::string> workers;  // addresses
  std::vector<std::string> hosts;
  std::vector<std::pair<std::string, double>> resources;
  bool loose = false;

  bool any() const { return !workers.empty() || !hosts.empty() || !resources.empty(); }
  friend bool operator==(const Restrictions&, const Restrictions&) = default;
};

// Where an exception came from. Worker-reported exceptions are opaque handles forwarded
// verbatim; the others are made by the scheduler, and the server layer pickles them
// (protocol.md Appendix B) from the plain fields below.
enum class ExceptionOrigin : std::uint8_t {
  worker,         // task-erred from a worker: `exception`/`traceback` bytes
  killed_worker,  // KilledWorker(task, last_worker, allowed_failures)
  memory_error,   // MemoryError(exception_text): inputs exceed the worker's limit
  actor_lost,     // RuntimeError("Worker holding Actor was lost")
};

// The exception a task failed with.
struct TaskException {
  ExceptionOrigin origin = ExceptionOrigin::worker;
  ExceptionHandle exception;  // the worker's Serialized exception, opaque
  ExceptionHandle traceback;  // may be null (nil)
  std::string exception_text;
  std::string traceback_text;
  std::string last_worker;  // killed_worker: address of the last worker that died
  int allowed_failures = 0;
  friend bool operator==(const TaskException&, const TaskException&) = default;
};

// Rarely present per-task data.
struct TaskExtras {
  Restrictions restrictions;
  AnnotationsHandle annotations;
  std::shared_ptr<const TaskException> exception;
  IdSet<WorkerId> erred_on;  // workers that reported the error
};

struct TaskState {
  const std::string* key = nullptr;  // canonical key bytes, owned by the interner
  TaskStatus status = TaskStatus::released;
  bool has_priority = false;
  bool actor = false;
  bool data_producer = false;
  bool has_lost_dependencies = false;
  bool alive = false;  // false: a free arena slot
  // Stock's `_queueable`: false sends a root-ish task down the non-queuing path
  // (the P2P extension clears it on a barrier's dependents).
  bool queueable = true;
  std::int32_t retries = 0;
  std::int32_t suspicious = 0;
  Priority priority;
  std::int64_t run_id = -1;
  std::int64_t nbytes = -1;  // -1: unknown
  WorkerId processing_on = kNoId<WorkerId>;
  TaskId exception_blame = kNoId<TaskId>;
  PrefixId prefix = kNoId<PrefixId>;
  GroupId group = kNoId<GroupId>;

  IdSet<TaskId> dependencies;
  IdSet<TaskId> dependents;
  IdSet<TaskId> waiters;     // dependents still waiting on this task
  IdSet<TaskId> waiting_on;  // dependencies not yet in memory
  IdSet<WorkerId> who_has;
  IdSet<ClientId> who_wants;

  RunSpecHandle run_spec;  // null: pure data (scattered) or not yet known
  std::unique_ptr<TaskExtras> extras;

  bool has_run_spec() const { return run_spec != nullptr; }
  std::string_view key_view() const { return *key; }
  const Restrictions* restrictions() const {
    return extras ? &extras->restrictions : nullptr;
  }
  bool has_restrictions() const { return extras && extras->restrictions.any(); }
  bool loose_restrictions() const { return extras && extras->restrictions.loose; }
  TaskExtras& mutable_extras() {
    if (!extras) extras = std::make_unique<TaskExtras>();
    return *extras;
  }
};

}  // namespace daskcpp::scheduler
