// Read-only views of the WorkerState: lookups, heartbeat metrics, and the invariant
// check (upstream validate_state).

#include <cmath>

#include "worker/state/worker_state.hpp"

namespace daskcpp::worker {

const TaskState* WorkerState::task(const Key& key) const {
  auto it = tasks_.find(key);
  return it == tasks_.end() ? nullptr : &it->second;
}

std::map<std::string, std::int64_t> WorkerState::task_counts() const {
  std::map<std::string, std::int64_t> counts;
  for (const auto& [key, ts] : tasks_) ++counts[std::string(to_string(ts.status))];
  return counts;
}

std::int64_t WorkerState::managed_bytes() const {
  std::int64_t total = 0;
  for (const auto& [key, ts] : tasks_) {
    if (ts.status == TaskStatus::memory) total += std::max<std::int64_t>(ts.nbytes, 0);
  }
  return total;
}

Status WorkerState::validate() const {
  auto fail = [](const TaskState& ts, std::string_view what) {
    return Status::Invalid("task " + ts.key.to_debug_string() + " in state " +
                           std::string(to_string(ts.status)) + ": " + std::string(what));
  };
  for (const auto& [key, ts] : tasks_) {
    bool in_ready = ready_.contains({ts.priority, key});
    bool in_constrained = constrained_.contains({ts.priority, key});
    if (in_constrained != (ts.status == TaskStatus::constrained))
      return fail(ts, "constrained queue");
    bool in_needed = data_needed_.contains({ts.priority, key});
    if (in_ready != (ts.status == TaskStatus::ready)) return fail(ts, "ready queue");
    if (in_needed != (ts.status == TaskStatus::fetch)) return fail(ts, "fetch queue");
    bool running = is_executing(ts.status) || (ts.status == TaskStatus::cancelled &&
                                               ts.previous && is_executing(*ts.previous));
    bool seceded =
        ts.status == TaskStatus::long_running ||
        ((ts.status == TaskStatus::cancelled || ts.status == TaskStatus::resumed) &&
         ts.previous == TaskStatus::long_running);
    if (executing_.contains(key) != (running && !seceded)) {
      return fail(ts, "executing set");
    }
    if (long_running_.contains(key) != seceded) return fail(ts, "long-running set");
    if (ts.status == TaskStatus::waiting && ts.waiting_for_data.empty()) {
      return fail(ts, "waiting on nothing");
    }
    if (ts.status == TaskStatus::fetch && ts.who_has.empty()) {
      return fail(ts, "fetch without holders");
    }
    for (const Key& d : ts.dependents) {
      auto it = tasks_.find(d);
      if (it == tasks_.end() || !it->second.dependencies.contains(key)) {
        return fail(ts, "dependent " + d.to_debug_string() + " does not list it");
      }
    }
    if (ts.status == TaskStatus::released && ts.dependents.empty()) {
      return fail(ts, "released and unneeded but not forgotten");
    }
  }
  // Upstream _validate_resources: available + held by running tasks = total.
  std::map<std::string, double> held = available_resources_;
  for (const std::set<Key>* running : {&executing_, &long_running_}) {
    for (const Key& key : *running) {
      auto it = tasks_.find(key);
      if (it == tasks_.end()) continue;
      for (const auto& [name, amount] : it->second.resource_restrictions)
        held[name] += amount;
    }
  }
  for (const auto& [name, amount] : held) {
    auto total = total_resources_.find(name);
    double expected = total == total_resources_.end() ? 0 : total->second;
    auto available = available_resources_.find(name);
    bool negative = available != available_resources_.end() && available->second < -1e-9;
    if (std::abs(amount - expected) > 1e-9 || negative) {
      return Status::Invalid("resource " + name + ": available plus held is " +
                             std::to_string(amount) + ", total " +
                             std::to_string(expected));
    }
  }
  return Status::OK();
}

}  // namespace daskcpp::worker
