#pragma once
// WorkStealing: moves tasks queued on saturated workers to idle ones (upstream's
// WorkStealing extension, distributed/stealing.py). Part of the core: no sockets,
// no clock, no Python; the extension (scheduler/extensions/stealing/) runs
// balance() every work-stealing-interval, sends the steal-requests it returns and
// hands each steal-response to move_task_confirm().
//
// The policy, as stock's:
// * Every processing task that may be stolen sits in one stealable set per
//   (worker, cost level). The level compares the transfer time of its
//   dependencies (+ LATENCY) with its compute time (the prefix's duration average,
//   unknown-task-duration when never measured): level 0 for tasks without
//   dependencies, 1..14 for cost ratios 2^(level-6), none (never stolen) above.
// * balance(): idle workers are thieves; saturated workers (or else the 10 most
//   occupied with more tasks than threads) are victims. Levels are walked cheapest
//   first, and within a level the tasks the victim would run last first; a task
//   moves when the thief would start it sooner than the victim (occupancies plus
//   what is already in flight).
// * A steal is a handshake: steal-request to the victim, which answers with the
//   task's state there. ready/waiting/constrained: the victim let the task go and
//   it is sent to the thief; executing/memory/long-running/cancelled/resumed: the
//   steal is abandoned; released/nil (or a thief gone meanwhile): the task is
//   rescheduled. A task that leaves processing while a steal is in flight drops
//   the steal, so a late answer is "already-aborted"; a stolen task's run_id
//   changes, so a late task-finished from the victim is answered free-keys.
//
// Beyond stock: actors, tasks with resource restrictions a thief lacks and tasks
// that seceded (long-running) are never stolen.
//
// It follows tasks in and out of processing through the state's processing
// observer slot, which (unlike the transition observers) does not make the
// worker handlers keep each task-finished's op map.
//
// Thread: the scheduler loop.

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protocol/status.hpp"
#include "scheduler/state/effects.hpp"
#include "scheduler/state/ids.hpp"
#include "scheduler/state/scheduler_state.hpp"
#include "scheduler/transitions/transition_observer.hpp"

namespace daskcpp::scheduler {

// The steal-request to send to `worker` (the victim).
struct StealRequestMsg {
  WorkerId worker;
  std::string key;
  std::string stimulus_id;
  friend bool operator==(const StealRequestMsg&, const StealRequestMsg&) = default;
};

// One entry of the "stealing" event topic (stock's tuples), already flattened to
// strings and numbers by the caller's encoder: action first.
struct StealLogRecord {
  std::string action;  // "request", "confirm", "already-computing", ...
  std::string key;
  std::string state;  // the victim's answer; empty: none
  std::string victim;
  std::string thief;
  std::string stimulus_id;
  std::string worker;  // stale-response / already-aborted: who answered
  int level = -1;      // request only
  double cost = 0;     // request only
  double occ_victim = 0;
  double occ_thief = 0;
  bool thief_gone = false;  // reschedule only
};

class WorkStealing final : public TransitionObserver {
 public:
  static constexpr int kLevels = 15;
  // Seconds added to every transfer estimate: a steal costs network round trips.
  static constexpr double kLatency = 0.1;

  // Installs itself as `s`'s processing observer; uninstalls on destruction.
  explicit WorkStealing(SchedulerState& s);
  ~WorkStealing() override;
  WorkStealing(const WorkStealing&) = delete;
  WorkStealing& operator=(const WorkStealing&) = delete;

  void on_transition(SchedulerState& s, TaskId id, TaskStatus start, TaskStatus finish,
                     const TransitionArgs& args, const Stimulus& stim,
                     const LinksBefore* before) override;

  // One balance pass (stock WorkStealing.balance): the steal-requests to send.
  std::vector<StealRequestMsg> balance();

  // A victim's steal-response (stock move_task_confirm). `state` empty: nil.
  // `worker` is the address that answered.
  Result<Effects> move_task_confirm(const std::string& key,
                                    const std::optional<std::string>& state,
                                    const std::string& worker, const Stimulus& stim);

  // (cost multiplier, level) of a processing task, or none when it must not be
  // stolen (stock steal_time_ratio).
  std::optional<std::pair<double, int>> steal_time_ratio(TaskId id) const;

  // Where a task is stealable: (worker, level); none when it is not.
  std::optional<std::pair<WorkerId, int>> stealable_at(TaskId id) const;
  bool in_flight(TaskId id) const { return in_flight_.contains(id); }
  std::size_t in_flight_count() const { return in_flight_.size(); }
  double in_flight_occupancy(WorkerId ws) const;
  // Balance passes that sent at least one request (stock `count`).
  std::int64_t count() const { return count_; }
  std::int64_t request_count() const { return request_counter_; }
  // Stock's `metrics`: requests and their summed cost (seconds) per cost level.
  const std::array<std::int64_t, kLevels>& request_count_total() const {
    return request_count_total_;
  }
  const std::array<double, kLevels>& request_cost_total() const {
    return request_cost_total_;
  }

  // Events for the "stealing" topic since the last call.
  std::vector<StealLogRecord> take_log() { return std::exchange(log_, {}); }

 private:
  struct InFlight {
    WorkerId victim;
    WorkerId thief;
    double victim_duration;
    double thief_duration;
    std::string stimulus_id;
  };
  // A level's tasks by priority: balance() offers the ones the victim would run
  // last first (stock walks a hash set), which are also the least likely to have
  // started there.
  using Stealable = std::set<std::pair<Priority, TaskId>>;
  using Levels = std::array<Stealable, kLevels>;
  struct Placed {
    WorkerId worker;
    int level;
    Priority priority;  // as when inserted (the set's key)
  };

  Levels& levels_of(WorkerId ws);
  void put_key_in_stealable(TaskId id);
  void remove_key_from_stealable(TaskId id);
  void recalculate_cost(TaskId id);
  void add_to_in_flight(TaskId id, InFlight info);
  std::optional<InFlight> remove_from_in_flight(TaskId id);
  std::string move_task_request(TaskId id, WorkerId victim, WorkerId thief,
                                std::vector<StealRequestMsg>& out);
  double combined_occupancy(WorkerId ws) const;
  std::int64_t combined_nprocessing(WorkerId ws) const;
  bool is_unoccupied(WorkerId ws, double occupancy, std::int64_t nprocessing) const;
  std::optional<WorkerId> get_thief(TaskId id,
                                    const std::vector<WorkerId>& thieves) const;

  SchedulerState& s_;
  std::vector<Levels> stealable_;  // by worker index
  std::unordered_map<TaskId, Placed> key_stealable_;
  std::unordered_map<TaskId, InFlight> in_flight_;
  std::unordered_map<WorkerId, double> in_flight_occupancy_;
  std::unordered_map<WorkerId, std::int64_t> in_flight_tasks_;
  // Tasks placed in a level while their prefix's duration was only an estimate.
  std::unordered_map<PrefixId, IdSet<TaskId>> unknown_durations_;
  // Occupancies fixed for the length of one balance pass (as stock).
  std::unordered_map<WorkerId, double> occupancies_;
  std::int64_t request_counter_ = 0;
  std::int64_t count_ = 0;
  std::array<std::int64_t, kLevels> request_count_total_{};
  std::array<double, kLevels> request_cost_total_{};
  std::vector<StealLogRecord> log_;
};

}  // namespace daskcpp::scheduler
