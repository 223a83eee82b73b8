#include "scheduler/service/transition_observers.hpp"

#include <algorithm>

namespace daskcpp::scheduler {

TransitionObservers::~TransitionObservers() {
  if (state_.transition_observer() == this) state_.set_transition_observer(nullptr);
}

void TransitionObservers::add(TransitionObserver* observer) {
  if (std::find(members_.begin(), members_.end(), observer) != members_.end()) return;
  members_.push_back(observer);
  install();
}

void TransitionObservers::remove(TransitionObserver* observer) {
  std::erase(members_, observer);
  install();
}

void TransitionObservers::install() {
  state_.set_transition_observer(members_.empty() ? nullptr : this);
}

void TransitionObservers::on_transition(SchedulerState& s, TaskId id, TaskStatus start,
                                        TaskStatus finish, const TransitionArgs& args,
                                        const Stimulus& stim, const LinksBefore* before) {
  // A copy: a member may add or remove members from inside its call.
  const std::vector<TransitionObserver*> members = members_;
  for (TransitionObserver* member : members) {
    member->on_transition(s, id, start, finish, args, stim, before);
  }
}

}  // namespace daskcpp::scheduler
