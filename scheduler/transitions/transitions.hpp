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
#include "scheduler/transitions/transition_args.hpp"

namespace daskcpp::scheduler {

// One transition of `id` to `finish`; its recommendations are merged into `recs`.
Status transition(SchedulerState& s, TaskId id, TaskStatus finish,
                  const TransitionArgs& args, const Stimulus& stim, Recs& recs,
                  Effects& out);

// The recommendations loop: runs until no recommendation is left. With
// config().validate every task touched is validated afterwards.
Status transitions(SchedulerState& s, Recs recs, const Stimulus& stim, Effects& out);

}  // namespace daskcpp::scheduler
