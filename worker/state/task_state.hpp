#pragma once
// TaskState: what this worker knows about one key (upstream
// distributed/worker_state_machine.py TaskState), as plain data. Tasks refer to each
// other by Key; the owning WorkerState keeps them in one map.
//
// Thread safety: plain data, owned by the WorkerState on the worker's loop thread.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/codec/value.hpp"
#include "protocol/messages/key.hpp"

namespace daskcpp::worker {

using protocol::Key;

// Upstream TaskStateState, printed with the same strings ("long-running").
enum class TaskStatus : std::uint8_t {
  released,
  waiting,
  fetch,
  flight,
  ready,
  constrained,  // ready, but waiting for its resource_restrictions
  executing,
  memory,
  error,
  cancelled,
  resumed,
  long_running,
  missing,
  rescheduled,  // only as a transition's target: the task raised Reschedule
  forgotten,    // only as a transition's target: the task is dropped
};

std::string_view to_string(TaskStatus s);

// Running on one of our threads (seceded or not).
inline bool is_executing(TaskStatus s) {
  return s == TaskStatus::executing || s == TaskStatus::long_running;
}

// One timed action on the task (task-finished's startstops).
struct StartStop {
  std::string action;  // compute | transfer
  double start = 0;
  double stop = 0;
  std::optional<std::string> source;  // transfers only: the peer
  friend bool operator==(const StartStop&, const StartStop&) = default;
};

// The scheduler's priority tuple followed by our own decreasing generation
// (upstream appends self.generation so that later compute-tasks of equal priority
// run first). Compared lexicographically, smaller first.
using Priority = std::vector<double>;

struct TaskState {
  Key key;
  TaskStatus status = TaskStatus::released;
  // For cancelled/resumed: the state the task was in when it got cancelled
  // (executing, long-running or flight), as upstream's ts.previous.
  std::optional<TaskStatus> previous;
  std::int64_t run_id = -1;
  Priority priority;
  // The __Pickled__ GraphNode (opaque here); nil for data we only fetch.
  protocol::Value run_spec;
  protocol::Value annotations = protocol::Value(protocol::Map{});
  // Its execution or transfer has ended (upstream ts.done): a cancelled task that is
  // done can be released for good.
  bool done = false;
  // Set when its execution raised (upstream ts.exception, ts.traceback, ...): the
  // Serialized payloads, opaque here, and their texts.
  protocol::Value exception;
  protocol::Value traceback;
  std::string exception_text;
  std::string traceback_text;
  std::set<Key> dependencies;
  std::set<Key> dependents;
  std::set<Key> waiting_for_data;
  std::set<std::string> who_has;
  std::optional<std::string> coming_from;  // the peer it is in flight from
  std::int64_t nbytes = -1;
  // Set once the value is in memory (executed, fetched or scattered).
  std::optional<Bytes> type_pickle;
  std::string type_name;
  std::optional<std::int64_t> thread;
  std::vector<StartStop> startstops;
  // {resource: amount} held while it runs (the compute-task's resource_restrictions).
  std::map<std::string, double> resource_restrictions;
};

}  // namespace daskcpp::worker
