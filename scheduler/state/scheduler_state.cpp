#include "scheduler/state/scheduler_state.hpp"

#include <algorithm>
#include <cassert>

namespace daskcpp::scheduler {

const char* task_status_name(TaskStatus s) {
  switch (s) {
    case TaskStatus::released:
      return "released";
    case TaskStatus::waiting:
      return "waiting";
    case TaskStatus::queued:
      return "queued";
    case TaskStatus::no_worker:
      return "no-worker";
    case TaskStatus::processing:
      return "processing";
    case TaskStatus::memory:
      return "memory";
    case TaskStatus::erred:
      return "erred";
    case TaskStatus::forgotten:
      return "forgotten";
  }
  return "?";
}

const char* worker_status_name(WorkerStatus s) {
  switch (s) {
    case WorkerStatus::init:
      return "init";
    case WorkerStatus::running:
      return "running";
    case WorkerStatus::paused:
      return "paused";
    case WorkerStatus::closing_gracefully:
      return "closing_gracefully";
    case WorkerStatus::closing:
      return "closing";
    case WorkerStatus::closed:
      return "closed";
  }
  return "?";
}

bool parse_worker_status(std::string_view s, WorkerStatus& out) {
  for (auto st :
       {WorkerStatus::init, WorkerStatus::running, WorkerStatus::paused,
        WorkerStatus::closing_gracefully, WorkerStatus::closing, WorkerStatus::closed}) {
    if (s == worker_status_name(st)) {
      out = st;
      return true;
    }
  }
  return false;
}

SchedulerState::SchedulerState(SchedulerConfig config) : config_(config) {
  fire_and_forget_ = ensure_client("fire-and-forget");
  log_.reserve(std::min<std::size_t>(config_.transition_log_length, 1024));
}

// ---------------------------------------------------------------- tasks

std::optional<TaskId> SchedulerState::find_task(std::string_view key) const {
  auto it = interner_.find(key);
  if (it == interner_.end()) return std::nullopt;
  return it->second;
}

TaskId SchedulerState::new_task(std::string_view key, std::string_view prefix_name,
                                std::string_view group_name, TaskStatus status) {
  TaskId id;
  if (!free_tasks_.empty()) {
    id = free_tasks_.back();
    free_tasks_.pop_back();
  } else {
    id = TaskId{static_cast<std::uint32_t>(tasks_.size())};
    tasks_.emplace_back();
  }
  auto [it, inserted] = interner_.emplace(std::string(key), id);
  assert(inserted);
  (void)inserted;

  if (prefix_name.empty()) prefix_name = key;
  if (group_name.empty()) group_name = prefix_name;
  PrefixId pid;
  if (auto p = prefix_by_name_.find(prefix_name); p != prefix_by_name_.end()) {
    pid = p->second;
  } else {
    pid = PrefixId{static_cast<std::uint32_t>(prefixes_.size())};
    prefixes_.emplace_back();
    prefixes_.back().name = std::string(prefix_name);
    prefix_by_name_.emplace(std::string(prefix_name), pid);
  }
  GroupId gid;
  if (auto g = group_by_name_.find(group_name); g != group_by_name_.end()) {
    gid = g->second;
  } else {
    if (!free_groups_.empty()) {
      gid = free_groups_.back();
      free_groups_.pop_back();
      groups_[to_index(gid)] = TaskGroup{};
    } else {
      gid = GroupId{static_cast<std::uint32_t>(groups_.size())};
      groups_.emplace_back();
    }
    TaskGroup& tg = groups_[to_index(gid)];
    tg.name = std::string(group_name);
    tg.prefix = pid;
    tg.alive = true;
    group_by_name_.emplace(std::string(group_name), gid);
  }

  TaskState& ts = tasks_[to_index(id)];
  ts = TaskState{};
  ts.key = &it->first;
  ts.alive = true;
  ts.status = status;
  ts.prefix = pid;
  ts.group = gid;
  TaskGroup& tg = groups_[to_index(gid)];
  tg.size += 1;
  tg.states[static_cast<int>(status)] += 1;
  prefixes_[to_index(pid)].states[static_cast<int>(status)] += 1;
  return id;
}

void SchedulerState::set_status(TaskId id, TaskStatus status) {
  TaskState& ts = task(id);
  TaskGroup& tg = group(ts.group);
  TaskPrefix& tp = prefix(ts.prefix);
  tg.states[static_cast<int>(ts.status)] -= 1;
  tg.states[static_cast<int>(status)] += 1;
  tp.states[static_cast<int>(ts.status)] -= 1;
  tp.states[static_cast<int>(status)] += 1;
  ts.status = status;
}

void SchedulerState::remove_task(TaskId id) {
  TaskState& ts = task(id);
  assert(ts.status == TaskStatus::forgotten);
  unrunnable_.erase(id);
  for (ClientId c : ts.who_wants) client(c).wants_what.erase(id);
  GroupId gid = ts.group;
  // The group keeps counting forgotten tasks until it is removed as a whole.
  interner_.erase(*ts.key);
  ts = TaskState{};
  free_tasks_.push_back(id);
  remove_group_if_done(gid);
}

void SchedulerState::remove_group_if_done(GroupId id) {
  TaskGroup& tg = group(id);
  for (int s = 0; s < kTaskStatusCount; ++s) {
    if (s != static_cast<int>(TaskStatus::forgotten) && tg.states[s] != 0) return;
  }
  // Upstream TaskPrefix.remove_group: the prefix forgets the group's tasks.
  TaskPrefix& tp = prefix(tg.prefix);
  for (int s = 0; s < kTaskStatusCount; ++s) tp.states[s] -= tg.states[s];
  group_by_name_.erase(tg.name);
  tg = TaskGroup{};
  free_groups_.push_back(id);
}

void SchedulerState::add_dependency(TaskId ts, TaskId dep) {
  task(ts).dependencies.insert(dep);
  task(dep).dependents.insert(ts);
  group(task(ts).group).dependencies.insert(task(dep).group);
}

std::int64_t SchedulerState::get_nbytes(TaskId id) const {
  std::int64_t n = task(id).nbytes;
  return n >= 0 ? n : config_.default_data_size;
}

void SchedulerState::set_nbytes(TaskId id, std::int64_t nbytes) {
  TaskState& ts = task(id);
  std::int64_t diff = nbytes;
  if (ts.nbytes >= 0) diff -= ts.nbytes;
  group(ts.group).nbytes_total += diff;
  for (WorkerId w : ts.who_has) worker(w).nbytes += diff;
  ts.nbytes = nbytes;
}

std::vector<TaskId> SchedulerState::all_tasks() const {
  std::vector<TaskId> out;
  out.reserve(interner_.size());
  for (std::uint32_t i = 0; i < tasks_.size(); ++i) {
    if (tasks_[i].alive) out.push_back(TaskId{i});
  }
  return out;
}

// ---------------------------------------------------------------- replicas

void SchedulerState::add_replica(TaskId ts, WorkerId ws) {
  if (!task(ts).who_has.insert(ws)) return;
  WorkerState& w = worker(ws);
  std::int64_t nbytes = get_nbytes(ts);
  auto n = std::find_if(w.needs_what.begin(), w.needs_what.end(),
                        [&](const auto& p) { return p.first == ts; });
  if (n != w.needs_what.end()) {
    w.needs_what.erase(n);
    double nb = static_cast<double>(nbytes);
    w.network_occ -= std::min(nb, w.network_occ);
    network_occ_global_ -= std::min(nb, network_occ_global_);
  }
  w.has_what.insert(ts);
  w.nbytes += nbytes;
}

void SchedulerState::remove_replica(TaskId ts, WorkerId ws) {
  if (!task(ts).who_has.erase(ws)) return;
  WorkerState& w = worker(ws);
  w.has_what.erase(ts);
  w.nbytes -= get_nbytes(ts);
}

void SchedulerState::remove_all_replicas(TaskId ts) {
  std::int64_t nbytes = get_nbytes(ts);
  for (WorkerId ws : task(ts).who_has) {
    WorkerState& w = worker(ws);
    w.nbytes -= nbytes;
    w.has_what.erase(ts);
  }
  task(ts).who_has.clear();
}

// ---------------------------------------------------------------- workers

std::optional<WorkerId> SchedulerState::find_worker(std::string_view address) const {
  auto it = worker_by_address_.find(address);
  if (it == worker_by_address_.end()) return std::nullopt;
  return it->second;
}

std::optional<WorkerId> SchedulerState::find_worker_by_name(std::string_view name) const {
  auto it = worker_by_name_.find(name);
  if (it == worker_by_name_.end()) return std::nullopt;
  return it->second;
}

const IdSet<WorkerId>* SchedulerState::workers_on_host(std::string_view host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? nullptr : &it->second;
}

void SchedulerState::index_insert_sorted_by_address(std::vector<WorkerId>& v,
                                                    WorkerId id) {
  auto pos = std::lower_bound(v.begin(), v.end(), id, [&](WorkerId a, WorkerId b) {
    return worker(a).address < worker(b).address;
  });
  if (pos != v.end() && *pos == id) return;
  v.insert(pos, id);
}

void SchedulerState::index_erase(std::vector<WorkerId>& v, WorkerId id) {
  auto pos = std::find(v.begin(), v.end(), id);
  if (pos != v.end()) v.erase(pos);
}

WorkerId SchedulerState::create_worker(WorkerState ws) {
  WorkerId id{static_cast<std::uint32_t>(workers_.size())};
  ws.alive = true;
  workers_.push_back(std::move(ws));
  WorkerState& w = workers_.back();
  worker_by_address_[w.address] = id;
  if (!w.name.empty()) worker_by_name_[w.name] = id;
  hosts_[w.host].insert(id);
  total_nthreads_ += w.nthreads;
  index_insert_sorted_by_address(workers_sorted_, id);
  return id;
}

void SchedulerState::drop_worker(WorkerId id) {
  WorkerState& w = worker(id);
  worker_by_address_.erase(w.address);
  if (auto it = worker_by_name_.find(w.name);
      it != worker_by_name_.end() && it->second == id) {
    worker_by_name_.erase(it);
  }
  if (auto it = hosts_.find(w.host); it != hosts_.end()) {
    it->second.erase(id);
    if (it->second.empty()) hosts_.erase(it);
  }
  total_nthreads_ -= w.nthreads;
  index_erase(workers_sorted_, id);
  set_idle(id, false);
  set_idle_task_count(id, false);
  set_saturated(id, false);
  set_running(id, false);
  w.status = WorkerStatus::closed;
  w.alive = false;
}

void SchedulerState::add_to_processing(WorkerId wid, TaskId tid) {
  WorkerState& ws = worker(wid);
  const TaskState& ts = task(tid);
  auto it = std::find_if(ws.prefix_count.begin(), ws.prefix_count.end(),
                         [&](const auto& pc) { return pc.first == ts.prefix; });
  if (it == ws.prefix_count.end()) {
    ws.prefix_count.emplace_back(ts.prefix, 1);
  } else {
    ++it->second;
  }
  ++prefix_count_global_[ts.prefix];
  ws.processing.insert(tid);
  for (TaskId dep : ts.dependencies) {
    if (task(dep).who_has.contains(wid)) continue;
    auto n = std::find_if(ws.needs_what.begin(), ws.needs_what.end(),
                          [&](const auto& p) { return p.first == dep; });
    if (n == ws.needs_what.end()) {
      ws.needs_what.emplace_back(dep, 1);
      double nb = static_cast<double>(get_nbytes(dep));
      ws.network_occ += nb;
      network_occ_global_ += nb;
    } else {
      ++n->second;
    }
  }
}

namespace {
void decrement_prefix(std::vector<std::pair<PrefixId, std::int32_t>>& v,
                      std::unordered_map<PrefixId, std::int64_t>& global, PrefixId p) {
  auto it =
      std::find_if(v.begin(), v.end(), [&](const auto& pc) { return pc.first == p; });
  if (it != v.end() && --it->second == 0) v.erase(it);
  auto g = global.find(p);
  if (g != global.end() && --g->second == 0) global.erase(g);
}

// `ws` in or out of one of the worker indexes.
void set_member(IdSet<WorkerId>& index, WorkerId ws, bool member) {
  if (member) {
    index.insert(ws);
  } else {
    index.erase(ws);
  }
}
}  // namespace

void SchedulerState::add_to_long_running(WorkerId wid, TaskId tid) {
  WorkerState& ws = worker(wid);
  decrement_prefix(ws.prefix_count, prefix_count_global_, task(tid).prefix);
  ws.long_running.insert(tid);
}

void SchedulerState::remove_from_processing(WorkerId wid, TaskId tid) {
  WorkerState& ws = worker(wid);
  const TaskState& ts = task(tid);
  if (!ws.long_running.erase(tid)) {
    decrement_prefix(ws.prefix_count, prefix_count_global_, ts.prefix);
  }
  ws.processing.erase(tid);
  for (TaskId dep : ts.dependencies) {
    auto n = std::find_if(ws.needs_what.begin(), ws.needs_what.end(),
                          [&](const auto& p) { return p.first == dep; });
    if (n == ws.needs_what.end()) continue;
    if (--n->second == 0) {
      ws.needs_what.erase(n);
      double nb = static_cast<double>(get_nbytes(dep));
      ws.network_occ -= std::min(nb, ws.network_occ);
      network_occ_global_ -= std::min(nb, network_occ_global_);
    }
  }
}

double SchedulerState::prefix_duration(PrefixId p) const {
  const TaskPrefix& tp = prefix(p);
  if (tp.duration_average >= 0) return tp.duration_average;
  if (tp.max_exec_time > 0) return 2 * tp.max_exec_time;
  return config_.unknown_task_duration;
}

double SchedulerState::occupancy(WorkerId wid) const {
  const WorkerState& ws = worker(wid);
  double res = 0;
  for (const auto& [p, count] : ws.prefix_count) res += prefix_duration(p) * count;
  return std::max(res + ws.network_occ / config_.bandwidth, 0.0);
}

double SchedulerState::total_occupancy() const {
  double res = 0;
  for (const auto& [p, count] : prefix_count_global_) {
    res += prefix_duration(p) * static_cast<double>(count);
  }
  return std::max(res + network_occ_global_ / config_.bandwidth, 0.0);
}

void SchedulerState::set_running(WorkerId ws, bool running) {
  set_member(running_, ws, running);
}

void SchedulerState::set_idle(WorkerId ws, bool idle) {
  WorkerState& w = worker(ws);
  if (w.in_idle == idle) return;
  w.in_idle = idle;
  if (idle) {
    index_insert_sorted_by_address(idle_, ws);
  } else {
    index_erase(idle_, ws);
  }
}

void SchedulerState::set_saturated(WorkerId ws, bool saturated) {
  WorkerState& w = worker(ws);
  w.in_saturated = saturated;
  set_member(saturated_, ws, saturated);
}

void SchedulerState::set_idle_task_count(WorkerId ws, bool member) {
  WorkerState& w = worker(ws);
  double key = static_cast<double>(w.processing.size()) / w.nthreads;
  if (w.in_idle_task_count) {
    if (member && key == w.busy_key) return;
    // Re-keyed on every task a worker starts or finishes: move the node
    // rather than free one and allocate another.
    auto node = idle_task_count_.extract({w.busy_key, ws});
    if (member) {
      node.value() = {key, ws};
      idle_task_count_.insert(std::move(node));
    }
  } else if (member) {
    idle_task_count_.insert({key, ws});
  }
  w.in_idle_task_count = member;
  w.busy_key = key;
}

// ---------------------------------------------------------------- clients

std::optional<ClientId> SchedulerState::find_client(std::string_view client_key) const {
  auto it = client_by_key_.find(client_key);
  if (it == client_by_key_.end()) return std::nullopt;
  return it->second;
}

ClientId SchedulerState::ensure_client(std::string_view client_key) {
  if (auto c = find_client(client_key)) return *c;
  ClientId id{static_cast<std::uint32_t>(clients_.size())};
  clients_.emplace_back();
  clients_.back().client_key = std::string(client_key);
  clients_.back().alive = true;
  client_by_key_.emplace(std::string(client_key), id);
  return id;
}

void SchedulerState::drop_client(ClientId id) {
  ClientState& cs = client(id);
  client_by_key_.erase(cs.client_key);
  cs.alive = false;
  cs.wants_what.clear();
}

std::vector<ClientId> SchedulerState::alive_clients() const {
  std::vector<ClientId> out;
  for (std::uint32_t i = 0; i < clients_.size(); ++i) {
    if (clients_[i].alive) out.push_back(ClientId{i});
  }
  return out;
}

std::optional<GroupId> SchedulerState::find_group(std::string_view name) const {
  auto it = group_by_name_.find(name);
  if (it == group_by_name_.end()) return std::nullopt;
  return it->second;
}

bool SchedulerState::is_queued(TaskId id) const {
  return queued_.count({task(id).priority, id}) != 0;
}

// ---------------------------------------------------------------- log

void SchedulerState::log_transition(TaskId id, TaskStatus start, TaskStatus finish,
                                    std::string_view stimulus_id, double now) {
  std::size_t cap = config_.transition_log_length;
  if (cap == 0) return;
  if (log_.size() < cap) {
    log_.push_back({key(id), start, finish, std::string(stimulus_id), now});
    return;
  }
  // Reuse the slot's string capacity: no allocation once the ring is warm.
  TransitionLogEntry& e = log_[log_next_];
  e.key.assign(key(id));
  e.start = start;
  e.finish = finish;
  e.stimulus_id.assign(stimulus_id);
  e.now = now;
  log_next_ = (log_next_ + 1) % cap;
  log_wrapped_ = true;
}

std::vector<TransitionLogEntry> SchedulerState::story(
    std::string_view key_or_stimulus) const {
  return story(std::vector<std::string>{std::string(key_or_stimulus)});
}

std::vector<TransitionLogEntry> SchedulerState::transition_log() const {
  std::vector<TransitionLogEntry> out;
  std::size_t n = log_.size();
  std::size_t start = log_wrapped_ ? log_next_ : 0;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(log_[(start + i) % n]);
  return out;
}

std::vector<TransitionLogEntry> SchedulerState::story(
    const std::vector<std::string>& keys_or_stimuli) const {
  std::vector<TransitionLogEntry> out;
  for (const TransitionLogEntry& e : transition_log()) {
    for (const std::string& k : keys_or_stimuli) {
      if (e.key == k || e.stimulus_id == k) {
        out.push_back(e);
        break;
      }
    }
  }
  return out;
}

std::size_t SchedulerState::approx_task_bytes() const {
  std::size_t bytes = tasks_.capacity() * sizeof(TaskState);
  for (const TaskState& ts : tasks_) {
    bytes += ts.dependencies.heap_bytes() + ts.dependents.heap_bytes() +
             ts.waiters.heap_bytes() + ts.waiting_on.heap_bytes() +
             ts.who_has.heap_bytes() + ts.who_wants.heap_bytes();
    if (ts.extras) bytes += sizeof(TaskExtras);
  }
  // Interner: node (next pointer, cached hash, string, id) + bucket + key heap.
  for (const auto& [k, id] : interner_) {
    (void)id;
    bytes += sizeof(void*) * 3 + sizeof(std::string) + sizeof(TaskId) +
             (k.size() > 15 ? k.capacity() + 1 : 0);
  }
  return bytes;
}

}  // namespace daskcpp::scheduler
