#pragma once
// GraphObserver: what sees an update-graph after its tasks are created, annotated and
// prioritised and before its transitions run — where stock calls
// SchedulerPlugin.update_graph (distributed/scheduler.py 4974-4988). The Python side
// installs one while some plugin overrides update_graph; null costs one test per graph.
//
// Thread: the scheduler loop.

#include <vector>

#include "scheduler/state/ids.hpp"
#include "scheduler/state/scheduler_state.hpp"
#include "scheduler/transitions/events.hpp"
#include "scheduler/transitions/transition_args.hpp"

namespace daskcpp::scheduler {

class GraphObserver {
 public:
  virtual ~GraphObserver() = default;
  // `touched`: the graph's tasks (new or updated); `requested`: the client's keys.
  virtual void on_update_graph(SchedulerState& s, const UpdateGraph& g,
                               const std::vector<TaskId>& touched,
                               const std::vector<TaskId>& requested,
                               const Stimulus& stim) = 0;
};

}  // namespace daskcpp::scheduler
