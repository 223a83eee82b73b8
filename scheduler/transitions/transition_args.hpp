#pragma once
// What a transition is given besides the task: the Stimulus that caused it (its id
// and the injected clock) and the keyword arguments of processing -> memory and
// -> erred (upstream passes them as **kwargs through _transition). A header of its
// own so the engine (transitions.hpp) and the functions it dispatches to
// (transition_functions.hpp) both use it without including each other.
//
// Thread: the scheduler loop.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/bytes.hpp"
#include "scheduler/state/ids.hpp"
#include "scheduler/state/task_state.hpp"

namespace daskcpp::scheduler {

// What caused a batch of transitions, and when (injected clock; the core never reads
// the wall clock).
struct Stimulus {
  std::string id;
  double now = 0;
};

struct StartStop {
  std::string action;  // "compute", "transfer", ...
  double start = 0;
  double stop = 0;
  friend bool operator==(const StartStop&, const StartStop&) = default;
};

// Keyword arguments of processing → memory (fields of task-finished).
struct TaskFinishedArgs {
  WorkerId worker;
  std::int64_t nbytes = -1;
  Bytes type;
  bool has_type = false;
  std::vector<StartStop> startstops;
};

// Keyword arguments of → erred.
struct TaskErredArgs {
  WorkerId worker = kNoId<WorkerId>;  // worker that reported the error, if any
  TaskId cause = kNoId<TaskId>;
  std::shared_ptr<const TaskException> exception;  // null: keep the stored one
};

// The worker's task-finished / task-erred op map as decoded (a protocol::Value,
// opaque here): what upstream passes on as the hooks' **kwargs. Null for
// transitions that no worker message caused.
using WireMessageHandle = std::shared_ptr<const void>;

struct TransitionArgs {
  const TaskFinishedArgs* finished = nullptr;
  const TaskErredArgs* erred = nullptr;
  WireMessageHandle wire;
};

}  // namespace daskcpp::scheduler
