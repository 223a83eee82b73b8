#include "scheduler/transitions/transitions.hpp"

#include <optional>
#include <string>

#include "scheduler/transitions/transition_functions.hpp"
#include "scheduler/transitions/transition_observer.hpp"
#include "scheduler/transitions/validate.hpp"

namespace daskcpp::scheduler {

namespace {

Status impossible_transition(const SchedulerState& s, TaskId id, TaskStatus start,
                             TaskStatus finish, const Stimulus& stim) {
  return Status::Invalid(std::string("Impossible transition from ") +
                         task_status_name(start) + " to " + task_status_name(finish) +
                         " for key " + s.key(id) + " (stimulus_id=" + stim.id + ")");
}

}  // namespace

Status transition(SchedulerState& s, TaskId id, TaskStatus finish,
                  const TransitionArgs& args, const Stimulus& stim, Recs& recs,
                  Effects& out) {
  if (!s.task(id).alive) return Status::OK();
  TaskStatus start = s.task(id).status;
  if (start == finish) return Status::OK();
  s.transition_counter += 1;

  TransitionObserver* observer = s.transition_observer();
  std::optional<LinksBefore> before;
  if (observer != nullptr && finish == TaskStatus::forgotten) {
    before = LinksBefore{s.task(id).dependencies, s.task(id).dependents};
  }

  Recs local;
  TransitionCtx ctx{s, stim, args, local, out, &transition};
  if (TransitionFn fn = transition_function(start, finish)) {
    DASKCPP_RETURN_NOT_OK(fn(ctx, id));
  } else if (start != TaskStatus::released && finish != TaskStatus::released) {
    // start -> released -> finish; the released step's own recommendation wins.
    Recs a;
    DASKCPP_RETURN_NOT_OK(transition(s, id, TaskStatus::released, {}, stim, a, out));
    if (!s.task(id).alive) return Status::OK();
    const TaskStatus* inner = a.get(id);
    TaskStatus v = inner != nullptr ? *inner : finish;
    TransitionFn fn = transition_function(TaskStatus::released, v);
    if (fn == nullptr || s.task(id).status != TaskStatus::released) {
      return impossible_transition(s, id, s.task(id).status, v, stim);
    }
    local.update(a);
    DASKCPP_RETURN_NOT_OK(fn(ctx, id));
    start = TaskStatus::released;
  } else {
    return impossible_transition(s, id, start, finish, stim);
  }

  TaskStatus actual = s.task(id).status;
  s.log_transition(id, start, actual, stim.id, stim.now);
  if (observer != nullptr) {
    observer->on_transition(
        s, id, start, actual, args, stim,
        actual == TaskStatus::forgotten && before ? &*before : nullptr);
  }
  if (TransitionObserver* core = s.processing_observer()) {
    core->on_transition(s, id, start, actual, args, stim, nullptr);
  }
  if (actual == TaskStatus::forgotten) s.remove_task(id);
  recs.update(local);
  return Status::OK();
}

Status transitions(SchedulerState& s, Recs recs, const Stimulus& stim, Effects& out) {
  const bool validate = s.config().validate;
  std::vector<TaskId> touched;
  while (!recs.empty()) {
    auto [id, finish] = recs.pop();
    if (validate) touched.push_back(id);
    Recs local;
    DASKCPP_RETURN_NOT_OK(transition(s, id, finish, {}, stim, local, out));
    recs.update(local);
  }
  if (validate) {
    for (TaskId id : touched) {
      if (s.task(id).alive) DASKCPP_RETURN_NOT_OK(validate_task(s, id));
    }
  }
  return Status::OK();
}

}  // namespace daskcpp::scheduler
