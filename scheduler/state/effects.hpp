#pragma once
// Effects: what a transition or stimulus produces (upstream RecsMsgs) —
// recommendations for further transitions plus typed intents for clients and workers.
// Intents carry keys as strings (a task may be forgotten before the server sends) and
// workers/clients as ids (worker ids are never reused; the server maps ids to comms).
// The server layer turns each intent into exactly one wire message (§5.4, §6.4).

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "protocol/bytes.hpp"
#include "scheduler/state/ids.hpp"
#include "scheduler/state/task_state.hpp"

namespace daskcpp::scheduler {

// ---- client intents (§5.4) ----
struct KeyInMemoryMsg {
  ClientId client;
  std::string key;
  Bytes type;  // pickled result type; empty when unknown (scatter, report_on_key)
  bool has_type = false;
  std::vector<std::string> workers;  // only after update_data
  friend bool operator==(const KeyInMemoryMsg&, const KeyInMemoryMsg&) = default;
};
struct TaskErredMsg {
  ClientId client;
  std::string key;
  std::shared_ptr<const TaskException> exception;  // of the blamed task; may be null
  friend bool operator==(const TaskErredMsg&, const TaskErredMsg&) = default;
};
struct LostDataMsg {
  ClientId client;
  std::string key;
  friend bool operator==(const LostDataMsg&, const LostDataMsg&) = default;
};
// client == kNoId<ClientId>: broadcast to every connected client (cancel-keys).
struct CancelledKeysMsg {
  ClientId client;
  std::vector<std::string> keys;
  std::string reason;  // empty: nil
  std::string msg;     // empty: nil
  friend bool operator==(const CancelledKeysMsg&, const CancelledKeysMsg&) = default;
};
struct TaskRetriedMsg {
  ClientId client;
  std::string key;
  friend bool operator==(const TaskRetriedMsg&, const TaskRetriedMsg&) = default;
};
using ClientMsg = std::variant<KeyInMemoryMsg, TaskErredMsg, LostDataMsg,
                               CancelledKeysMsg, TaskRetriedMsg>;

// ---- worker intents (§6.4) ----
struct ComputeTaskDep {
  std::string key;
  std::vector<std::string> who_has;  // addresses, never empty
  std::int64_t nbytes;
  friend bool operator==(const ComputeTaskDep&, const ComputeTaskDep&) = default;
};
struct ComputeTaskMsg {
  WorkerId worker;
  std::string key;
  std::int64_t run_id;
  Priority priority;
  std::string stimulus_id;
  std::vector<ComputeTaskDep> dependencies;
  RunSpecHandle run_spec;
  std::vector<std::pair<std::string, double>> resource_restrictions;  // empty: nil
  bool actor = false;
  AnnotationsHandle annotations;  // null: {}
  friend bool operator==(const ComputeTaskMsg&, const ComputeTaskMsg&) = default;
};
struct FreeKeysMsg {
  WorkerId worker;
  std::vector<std::string> keys;
  std::string stimulus_id;
  friend bool operator==(const FreeKeysMsg&, const FreeKeysMsg&) = default;
};
struct RemoveReplicasMsg {
  WorkerId worker;
  std::vector<std::string> keys;
  std::string stimulus_id;
  friend bool operator==(const RemoveReplicasMsg&, const RemoveReplicasMsg&) = default;
};
struct RefreshWhoHasMsg {
  WorkerId worker;
  std::vector<std::pair<std::string, std::vector<std::string>>> who_has;
  std::string stimulus_id;
  friend bool operator==(const RefreshWhoHasMsg&, const RefreshWhoHasMsg&) = default;
};
// Tell `worker` that `removed` left the cluster.
struct RemoveWorkerMsg {
  WorkerId worker;
  std::string removed;
  std::string stimulus_id;
  friend bool operator==(const RemoveWorkerMsg&, const RemoveWorkerMsg&) = default;
};
struct CloseWorkerMsg {
  WorkerId worker;
  std::string reason;
  friend bool operator==(const CloseWorkerMsg&, const CloseWorkerMsg&) = default;
};
using WorkerMsg = std::variant<ComputeTaskMsg, FreeKeysMsg, RemoveReplicasMsg,
                               RefreshWhoHasMsg, RemoveWorkerMsg, CloseWorkerMsg>;

// Recommendations with Python dict semantics, which the recommendations loop relies on:
// setting an existing key overwrites its value in place, a new key goes to the end,
// pop() takes the most recently inserted entry (dict.popitem).
class Recs {
 public:
  void set(TaskId id, TaskStatus to) {
    auto [it, inserted] = index_.try_emplace(id, items_.size());
    if (inserted) {
      items_.emplace_back(id, to);
    } else {
      items_[it->second].second = to;
    }
  }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  std::pair<TaskId, TaskStatus> pop() {
    auto back = items_.back();
    items_.pop_back();
    index_.erase(back.first);
    return back;
  }
  const TaskStatus* get(TaskId id) const {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  void erase(TaskId id) {
    auto it = index_.find(id);
    if (it == index_.end()) return;
    std::size_t pos = it->second;
    index_.erase(it);
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(pos));
    for (std::size_t i = pos; i < items_.size(); ++i) index_[items_[i].first] = i;
  }
  void update(const Recs& other) {
    for (const auto& [id, to] : other.items_) set(id, to);
  }
  const std::vector<std::pair<TaskId, TaskStatus>>& items() const { return items_; }
  void clear() {
    items_.clear();
    index_.clear();
  }

 private:
  std::vector<std::pair<TaskId, TaskStatus>> items_;
  std::unordered_map<TaskId, std::size_t> index_;
};

struct Effects {
  std::vector<ClientMsg> to_clients;
  std::vector<WorkerMsg> to_workers;
  // The keys stimulus_retry reset: the retry RPC's reply, not a message.
  std::vector<std::string> retried;

  void append(Effects&& other) {
    for (auto& m : other.to_clients) to_clients.push_back(std::move(m));
    for (auto& m : other.to_workers) to_workers.push_back(std::move(m));
    for (auto& k : other.retried) retried.push_back(std::move(k));
  }
  bool empty() const { return to_clients.empty() && to_workers.empty(); }
};

}  // namespace daskcpp::scheduler
