#include "scheduler/stealing/work_stealing.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>

#include "scheduler/placement/placement.hpp"
#include "scheduler/transitions/stimuli.hpp"
#include "scheduler/transitions/transition_functions.hpp"

namespace daskcpp::scheduler {

namespace {

// Prefixes whose default-task-durations are ≤ 1 ms (stock `fast_tasks`): moving
// them never pays.
bool is_fast_task(std::string_view prefix) {
  return prefix == "rechunk-split" || prefix == "split-shuffle" ||
         prefix == "split-taskshuffle" || prefix == "split-stage";
}

bool one_of(std::string_view s, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

bool has_resource_restrictions(const TaskState& ts) {
  return ts.restrictions() != nullptr && !ts.restrictions()->resources.empty();
}

bool has_resources(const WorkerState& ws, const TaskState& ts) {
  for (const auto& [name, required] : ts.restrictions()->resources) {
    bool found = false;
    for (const auto& [have, supplied] : ws.resources) {
      if (have == name && supplied >= required) found = true;
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace

WorkStealing::WorkStealing(SchedulerState& s) : s_(s) {
  s_.set_processing_observer(this);
  // Tasks already processing (the extension starts after workers joined, or
  // stealing was re-enabled).
  for (TaskId id : s_.all_tasks()) {
    if (s_.task(id).status == TaskStatus::processing) put_key_in_stealable(id);
  }
}

WorkStealing::~WorkStealing() {
  if (s_.processing_observer() == this) s_.set_processing_observer(nullptr);
}

WorkStealing::Levels& WorkStealing::levels_of(WorkerId ws) {
  std::size_t i = to_index(ws);
  if (stealable_.size() <= i) stealable_.resize(i + 1);
  return stealable_[i];
}

void WorkStealing::on_transition(SchedulerState& s, TaskId id, TaskStatus start,
                                 TaskStatus finish, const TransitionArgs&,
                                 const Stimulus&, const LinksBefore*) {
  if (start == TaskStatus::processing) {
    remove_key_from_stealable(id);
    remove_from_in_flight(id);
    if (finish == TaskStatus::memory) {
      // The prefix now has a measured duration: re-level the tasks placed on a guess.
      auto it = unknown_durations_.find(s.task(id).prefix);
      if (it != unknown_durations_.end()) {
        IdSet<TaskId> tasks = std::move(it->second);
        unknown_durations_.erase(it);
        for (TaskId t : tasks) {
          const TaskState& tts = s.task(t);
          if (t != id && tts.alive && tts.status == TaskStatus::processing &&
              !is_none(tts.processing_on)) {
            recalculate_cost(t);
          }
        }
      }
    }
  }
  if (finish == TaskStatus::processing) put_key_in_stealable(id);
}

std::optional<std::pair<double, int>> WorkStealing::steal_time_ratio(TaskId id) const {
  const TaskState& ts = s_.task(id);
  if (is_fast_task(s_.prefix(ts.prefix).name)) return std::nullopt;
  if (ts.dependencies.empty()) return std::pair{0.0, 0};
  const double compute_time = s_.prefix_duration(ts.prefix);
  if (compute_time <= 0) return std::nullopt;
  std::int64_t nbytes = 0;
  for (TaskId dep : ts.dependencies) nbytes += s_.get_nbytes(dep);
  const double transfer_time =
      static_cast<double>(nbytes) / s_.config().bandwidth + kLatency;
  const double cost_multiplier = transfer_time / compute_time;
  // Python's round(): ties to even, which nearbyint gives in the default mode.
  auto level = static_cast<int>(std::nearbyint(std::log2(cost_multiplier) + 6));
  if (level < 1) level = 1;
  if (level >= kLevels) return std::nullopt;
  return std::pair{cost_multiplier, level};
}

void WorkStealing::put_key_in_stealable(TaskId id) {
  const TaskState& ts = s_.task(id);
  if (ts.actor || is_none(ts.processing_on)) return;
  if (s_.worker(ts.processing_on).long_running.contains(id)) return;
  auto ratio = steal_time_ratio(id);
  if (!ratio) return;
  const int level = ratio->second;
  levels_of(ts.processing_on)[static_cast<std::size_t>(level)].emplace(ts.priority, id);
  key_stealable_[id] = Placed{ts.processing_on, level, ts.priority};
  if (s_.prefix(ts.prefix).duration_average < 0) unknown_durations_[ts.prefix].insert(id);
}

void WorkStealing::remove_key_from_stealable(TaskId id) {
  auto it = key_stealable_.find(id);
  if (it == key_stealable_.end()) return;
  const Placed p = it->second;
  key_stealable_.erase(it);
  levels_of(p.worker)[static_cast<std::size_t>(p.level)].erase({p.priority, id});
}

void WorkStealing::recalculate_cost(TaskId id) {
  if (in_flight_.contains(id)) return;
  remove_key_from_stealable(id);
  put_key_in_stealable(id);
}

std::optional<std::pair<WorkerId, int>> WorkStealing::stealable_at(TaskId id) const {
  auto it = key_stealable_.find(id);
  if (it == key_stealable_.end()) return std::nullopt;
  return std::pair{it->second.worker, it->second.level};
}

double WorkStealing::in_flight_occupancy(WorkerId ws) const {
  auto it = in_flight_occupancy_.find(ws);
  return it == in_flight_occupancy_.end() ? 0.0 : it->second;
}

void WorkStealing::add_to_in_flight(TaskId id, InFlight info) {
  in_flight_occupancy_[info.victim] -= info.victim_duration;
  in_flight_occupancy_[info.thief] += info.thief_duration;
  in_flight_tasks_[info.victim] -= 1;
  in_flight_tasks_[info.thief] += 1;
  in_flight_[id] = std::move(info);
}

std::optional<WorkStealing::InFlight> WorkStealing::remove_from_in_flight(TaskId id) {
  auto it = in_flight_.find(id);
  if (it == in_flight_.end()) return std::nullopt;
  InFlight info = std::move(it->second);
  in_flight_.erase(it);
  in_flight_occupancy_[info.thief] -= info.thief_duration;
  in_flight_occupancy_[info.victim] += info.victim_duration;
  in_flight_tasks_[info.victim] += 1;
  in_flight_tasks_[info.thief] -= 1;
  if (in_flight_.empty()) {
    in_flight_occupancy_.clear();
    in_flight_tasks_.clear();
  }
  return info;
}

std::string WorkStealing::move_task_request(TaskId id, WorkerId victim, WorkerId thief,
                                            std::vector<StealRequestMsg>& out) {
  if (in_flight_.contains(id)) return "in-flight";
  // The response is matched on this id, so it must be unique.
  std::string stimulus_id = "steal-" + std::to_string(request_counter_++);
  remove_key_from_stealable(id);
  const double compute = s_.prefix_duration(s_.task(id).prefix);
  const double victim_duration = compute + get_comm_cost(s_, id, victim);
  const double thief_duration = compute + get_comm_cost(s_, id, thief);
  out.push_back(StealRequestMsg{victim, s_.key(id), stimulus_id});
  add_to_in_flight(id,
                   InFlight{victim, thief, victim_duration, thief_duration, stimulus_id});
  return stimulus_id;
}

double WorkStealing::combined_occupancy(WorkerId ws) const {
  auto it = occupancies_.find(ws);
  const double occ = it == occupancies_.end() ? s_.occupancy(ws) : it->second;
  return occ + in_flight_occupancy(ws);
}

std::int64_t WorkStealing::combined_nprocessing(WorkerId ws) const {
  auto it = in_flight_tasks_.find(ws);
  return static_cast<std::int64_t>(s_.worker(ws).processing.size()) +
         (it == in_flight_tasks_.end() ? 0 : it->second);
}

// Scheduler.is_unoccupied.
bool WorkStealing::is_unoccupied(WorkerId ws, double occupancy,
                                 std::int64_t nprocessing) const {
  const auto nthreads = s_.worker(ws).nthreads;
  const double avg = s_.total_nthreads() > 0
                         ? s_.total_occupancy() / static_cast<double>(s_.total_nthreads())
                         : 0.0;
  return nprocessing < nthreads || occupancy < nthreads * avg / 2;
}

// Stock _get_thief / stealing_objective: the thief that would start the task first;
// ties go to the one with less data, then to the lower address.
std::optional<WorkerId> WorkStealing::get_thief(
    TaskId id, const std::vector<WorkerId>& thieves) const {
  const TaskState& ts = s_.task(id);
  std::vector<WorkerId> candidates = thieves;
  if (auto valid = valid_workers(s_, id)) {
    std::vector<WorkerId> allowed;
    for (WorkerId w : thieves) {
      if (valid->contains(w)) allowed.push_back(w);
    }
    if (!allowed.empty()) {
      candidates = std::move(allowed);
    } else if (!ts.loose_restrictions()) {
      return std::nullopt;
    } else if (has_resource_restrictions(ts)) {
      // Loose restrictions let a task run elsewhere, but never without the
      // resources it asks for.
      std::erase_if(candidates,
                    [&](WorkerId w) { return !has_resources(s_.worker(w), ts); });
      if (candidates.empty()) return std::nullopt;
    }
  }
  std::optional<WorkerId> best;
  std::pair<double, std::int64_t> best_key{};
  for (WorkerId w : candidates) {
    const WorkerState& ws = s_.worker(w);
    std::pair<double, std::int64_t> key{
        combined_occupancy(w) / ws.nthreads + get_comm_cost(s_, id, w), ws.nbytes};
    if (!best || key < best_key) {
      best = w;
      best_key = key;
    }
  }
  return best;
}

std::vector<StealRequestMsg> WorkStealing::balance() {
  std::vector<StealRequestMsg> out;
  // Occupancies do not change during one pass; what is requested is added through
  // in_flight_occupancy_.
  occupancies_.clear();
  for (WorkerId w : s_.workers_by_address()) occupancies_[w] = s_.occupancy(w);

  // Paused and closing workers are never idle, so never thieves.
  std::vector<WorkerId> thieves = s_.idle();
  if (thieves.empty() || thieves.size() == s_.worker_count()) return out;
  auto is_thief = [&thieves](WorkerId w) {
    return std::find(thieves.begin(), thieves.end(), w) != thieves.end();
  };

  std::vector<WorkerId> victims = s_.saturated().to_vector();
  if (victims.empty()) {
    std::vector<WorkerId> all = s_.workers_by_address();
    std::stable_sort(all.begin(), all.end(), [this](WorkerId a, WorkerId b) {
      return combined_occupancy(a) > combined_occupancy(b);
    });
    if (all.size() > 10) all.resize(10);
    for (WorkerId w : all) {
      if (combined_occupancy(w) > 0.2 &&
          combined_nprocessing(w) > s_.worker(w).nthreads && !is_thief(w)) {
        victims.push_back(w);
      }
    }
    if (victims.empty()) return out;
  }
  if (victims.size() < 20) {
    std::stable_sort(victims.begin(), victims.end(), [this](WorkerId a, WorkerId b) {
      return combined_occupancy(a) > combined_occupancy(b);
    });
  }

  for (int level = 0; level < kLevels && !thieves.empty(); ++level) {
    for (WorkerId victim : victims) {
      Stealable& stealable = levels_of(victim)[static_cast<std::size_t>(level)];
      if (stealable.empty() || thieves.empty()) continue;
      const std::vector<std::pair<Priority, TaskId>> offered(stealable.rbegin(),
                                                             stealable.rend());
      for (const auto& [priority, id] : offered) {
        if (thieves.empty()) break;
        auto where = key_stealable_.find(id);
        if (where == key_stealable_.end() || where->second.worker != victim ||
            where->second.level != level) {
          stealable.erase({priority, id});  // not (or no longer) placed here
          continue;
        }
        const TaskState& ts = s_.task(id);
        if (ts.processing_on != victim || !s_.worker(victim).processing.contains(id) ||
            s_.worker(victim).long_running.contains(id)) {
          remove_key_from_stealable(id);  // seceded since (or stale)
          continue;
        }
        std::optional<WorkerId> thief = get_thief(id, thieves);
        if (!thief) continue;
        double occ_thief = combined_occupancy(*thief);
        const double occ_victim = combined_occupancy(victim);
        const double comm_cost_thief = get_comm_cost(s_, id, *thief);
        const double comm_cost_victim = get_comm_cost(s_, id, victim);
        const double compute = s_.prefix_duration(ts.prefix);
        if (occ_thief + comm_cost_thief + compute <=
            occ_victim - (comm_cost_victim + compute) / 2) {
          std::string stimulus_id = move_task_request(id, victim, *thief, out);
          StealLogRecord rec;
          rec.action = "request";
          rec.key = s_.key(id);
          rec.victim = s_.worker(victim).address;
          rec.thief = s_.worker(*thief).address;
          rec.stimulus_id = std::move(stimulus_id);
          rec.level = level;
          rec.cost = compute + comm_cost_victim;
          request_count_total_[static_cast<std::size_t>(level)] += 1;
          request_cost_total_[static_cast<std::size_t>(level)] += rec.cost;
          rec.occ_victim = occ_victim;
          rec.occ_thief = occ_thief;
          log_.push_back(std::move(rec));
          occ_thief = combined_occupancy(*thief);
          if (!is_unoccupied(*thief, occ_thief, combined_nprocessing(*thief))) {
            thieves.erase(std::find(thieves.begin(), thieves.end(), *thief));
          }
        }
      }
      check_idle_saturated(s_, victim);
    }
  }
  if (!out.empty()) count_ += 1;
  return out;
}

Result<Effects> WorkStealing::move_task_confirm(const std::string& key,
                                                const std::optional<std::string>& state,
                                                const std::string& worker,
                                                const Stimulus& stim) {
  Effects out;
  auto found = s_.find_task(key);
  if (!found) return out;  // released between request and response
  const TaskId id = *found;
  const std::string state_text = state.value_or("");
  auto it = in_flight_.find(id);
  if (it == in_flight_.end() || it->second.stimulus_id != stim.id) {
    StealLogRecord rec;
    rec.action = it == in_flight_.end() ? "already-aborted" : "stale-response";
    rec.key = key;
    rec.state = state_text;
    rec.worker = worker;
    rec.stimulus_id = stim.id;
    log_.push_back(std::move(rec));
    return out;
  }
  const InFlight info = *remove_from_in_flight(id);
  const WorkerId victim = info.victim;
  const WorkerId thief = info.thief;
  // A task that left processing on the victim has no in-flight entry any more.
  StealLogRecord rec;
  rec.key = key;
  rec.state = state_text;
  rec.victim = s_.worker(victim).address;
  rec.thief = s_.worker(thief).address;
  rec.stimulus_id = stim.id;

  const bool undefined = !state || *state == "released";
  const bool confirm = state && one_of(*state, {"ready", "constrained", "waiting"});
  const bool reject = state && one_of(*state, {"memory", "executing", "long-running",
                                               "cancelled", "resumed"});
  const bool thief_alive = s_.worker(thief).alive;
  if (undefined || (confirm && !thief_alive)) {
    // The victim no longer has the task (or the thief left): place it afresh.
    rec.action = "reschedule";
    rec.thief_gone = !thief_alive;
    log_.push_back(std::move(rec));
    DASKCPP_ASSIGN_OR_RETURN(out, handle(s_, Reschedule{key, ""}, stim));
  } else if (reject) {
    rec.action = "already-computing";
    log_.push_back(std::move(rec));
  } else if (confirm) {
    // The victim has dropped the task: it now runs on the thief, under a new run_id
    // so that anything late from the victim is stale.
    remove_key_from_stealable(id);
    s_.task(id).processing_on = thief;
    s_.remove_from_processing(victim, id);
    s_.add_to_processing(thief, id);
    put_key_in_stealable(id);
    out.to_workers.push_back(task_to_msg(s_, id, thief, stim.id));
    rec.action = "confirm";
    log_.push_back(std::move(rec));
  } else {
    // Stock raises here; the task stays where it is, as for a rejected steal.
    rec.action = "unexpected-state";
    log_.push_back(std::move(rec));
  }
  if (s_.worker(thief).alive) check_idle_saturated(s_, thief);
  if (s_.worker(victim).alive) check_idle_saturated(s_, victim);
  return out;
}

}  // namespace daskcpp::scheduler
