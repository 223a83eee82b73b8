#pragma once
// The transition engine: one (from, to) table of transition functions and the
// recommendations loop. Mirrors SchedulerState._transition, _transitions and
// _TRANSITIONS_TABLE (distributed/scheduler.py, protocol.md §10.2).
//
// A pair not in the table goes through `released` (start → released → finish, where
// the released step's own recommendation for the key wins, as upstream); any other
// pair is an error naming the key, both states and the stimulus id. Transitions never
// send anything: they append intents to an Effects that the caller hands to the server
// once transitions() is steady.
//
// Thread: the scheduler loop.

#include <string>
#include <string_view>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/status.hpp"
#include "scheduler/state/effects.hpp"
#include "scheduler/state/scheduler_state.hpp"

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

struct TransitionArgs {
  const TaskFinishedArgs* finished = nullptr;
  const TaskErredArgs* erred = nullptr;
};

// One transition of `id` to `finish`; its recommendations are merged into `recs`.
Status transition(SchedulerState& s, TaskId id, TaskStatus finish,
                  const TransitionArgs& args, const Stimulus& stim, Recs& recs,
                  Effects& out);

// The recommendations loop: runs until no recommendation is left. With
// config().validate every task touched is validated afterwards.
Status transitions(SchedulerState& s, Recs recs, const Stimulus& stim, Effects& out);

}  // namespace daskcpp::scheduler
