#pragma once
// TransitionObservers: everything that wants to see each transition (the task
// stream, the Python scheduler facade's plugins and shuffle extension) behind the
// one observer slot of SchedulerState. It installs itself on the state while it has
// at least one member and uninstalls itself when the last leaves, so a scheduler
// nobody observes pays the engine's single null test per transition.
//
// Members are called in the order they were added. A member may add or remove
// members (itself included) from inside its call; the change applies from the next
// transition on.
//
// Thread: the scheduler loop.

#include <vector>

#include "scheduler/state/scheduler_state.hpp"
#include "scheduler/transitions/transition_observer.hpp"

namespace daskcpp::scheduler {

class TransitionObservers final : public TransitionObserver {
 public:
  explicit TransitionObservers(SchedulerState& state) : state_(state) {}
  ~TransitionObservers() override;
  TransitionObservers(const TransitionObservers&) = delete;
  TransitionObservers& operator=(const TransitionObservers&) = delete;

  // Adding one already present, or removing one absent, does nothing.
  void add(TransitionObserver* observer);
  void remove(TransitionObserver* observer);
  bool empty() const { return members_.empty(); }

  void on_transition(SchedulerState& s, TaskId id, TaskStatus start, TaskStatus finish,
                     const TransitionArgs& args, const Stimulus& stim,
                     const LinksBefore* before) override;

 private:
  void install();

  SchedulerState& state_;
  std::vector<TransitionObserver*> members_;
};

}  // namespace daskcpp::scheduler
