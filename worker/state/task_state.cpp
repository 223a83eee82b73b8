#include "worker/state/task_state.hpp"

namespace daskcpp::worker {

std::string_view to_string(TaskStatus s) {
  switch (s) {
    case TaskStatus::released:
      return "released";
    case TaskStatus::waiting:
      return "waiting";
    case TaskStatus::fetch:
      return "fetch";
    case TaskStatus::flight:
      return "flight";
    case TaskStatus::ready:
      return "ready";
    case TaskStatus::constrained:
      return "constrained";
    case TaskStatus::executing:
      return "executing";
    case TaskStatus::memory:
      return "memory";
    case TaskStatus::error:
      return "error";
    case TaskStatus::cancelled:
      return "cancelled";
    case TaskStatus::resumed:
      return "resumed";
    case TaskStatus::long_running:
      return "long-running";
    case TaskStatus::missing:
      return "missing";
    case TaskStatus::rescheduled:
      return "rescheduled";
    case TaskStatus::forgotten:
      return "forgotten";
  }
  return "?";
}

}  // namespace daskcpp::worker
