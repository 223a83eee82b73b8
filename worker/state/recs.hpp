#pragma once
// Recs and RecsInstrs: what an event handler or a transition function returns
// (upstream Recs / RecsInstrs / merge_recs_instructions in
// distributed/worker_state_machine.py), shaped like the scheduler core's Recs
// (scheduler/state/effects.hpp).
//
// Thread safety: plain data.

#include <cstddef>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "worker/state/instructions.hpp"
#include "worker/state/task_state.hpp"

namespace daskcpp::worker {

// Recommendations with Python dict semantics, which the recommendations loop relies
// on: setting an existing key overwrites its value in place, a new key goes to the
// end, pop() takes the most recently inserted entry (dict.popitem).
class Recs {
 public:
  void set(const Key& key, TaskStatus to) {
    auto [it, inserted] = index_.try_emplace(key, items_.size());
    if (inserted) {
      items_.emplace_back(key, to);
    } else {
      items_[it->second].second = to;
    }
  }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  std::pair<Key, TaskStatus> pop() {
    auto back = std::move(items_.back());
    items_.pop_back();
    index_.erase(back.first);
    return back;
  }
  const TaskStatus* get(const Key& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  // Removes and returns the recommendation for `key`, if any (dict.pop(key, None)).
  std::optional<TaskStatus> take(const Key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    std::size_t pos = it->second;
    TaskStatus to = items_[pos].second;
    index_.erase(it);
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(pos));
    for (std::size_t i = pos; i < items_.size(); ++i) index_[items_[i].first] = i;
    return to;
  }
  void update(const Recs& other) {
    for (const auto& [key, to] : other.items_) set(key, to);
  }
  const std::vector<std::pair<Key, TaskStatus>>& items() const { return items_; }

 private:
  std::vector<std::pair<Key, TaskStatus>> items_;
  std::unordered_map<Key, std::size_t> index_;
};

struct RecsInstrs {
  Recs recs;
  Instructions instructions;
};

// Upstream merge_recs_instructions: later recommendations win, instructions append.
inline void merge_recs_instructions(RecsInstrs& into, RecsInstrs&& other) {
  into.recs.update(other.recs);
  for (Instruction& i : other.instructions) into.instructions.push_back(std::move(i));
}

}  // namespace daskcpp::worker
