#include "scheduler/transitions/graph_intake.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "scheduler/transitions/graph_observer.hpp"
#include "scheduler/transitions/handler_support.hpp"
#include "scheduler/transitions/transition_functions.hpp"

namespace daskcpp::scheduler {

namespace {

// The keys of one update-graph, each looked up in the state at most once: every later
// step works with the TaskIds this table hands out (upstream's sub-steps share the
// dict of TaskStates _generate_taskstates builds).
class GraphKeys {
 public:
  GraphKeys(SchedulerState& s, const UpdateGraph& g) : s_(s) {
    dsk_.reserve(g.tasks.size());
    for (const GraphTask& t : g.tasks) dsk_.emplace(t.key, &t);
  }

  const GraphTask* spec(std::string_view k) const {
    auto it = dsk_.find(k);
    return it == dsk_.end() ? nullptr : it->second;
  }

  std::optional<TaskId> find(std::string_view k) {
    auto [it, inserted] = ids_.try_emplace(k);
    if (inserted) it->second = s_.find_task(k);
    return it->second;
  }

  TaskId create(std::string_view k, const GraphTask* spec) {
    TaskId id =
        s_.new_task(k, spec ? std::string_view(spec->prefix_name) : std::string_view{},
                    spec ? std::string_view(spec->group_name) : std::string_view{},
                    TaskStatus::released);
    ids_[k] = id;
    return id;
  }

  std::vector<TaskId> known(const std::vector<std::string>& keys) {
    std::vector<TaskId> out;
    for (const std::string& k : keys) {
      if (auto id = find(k)) out.push_back(*id);
    }
    return out;
  }

 private:
  SchedulerState& s_;
  std::unordered_map<std::string_view, const GraphTask*> dsk_;
  std::unordered_map<std::string_view, std::optional<TaskId>> ids_;
};

// A task this update-graph reached, with its spec when the graph carries one.
struct Touched {
  TaskId id;
  const GraphTask* spec;
};

struct GeneratedTasks {
  std::vector<Touched> touched;    // reached from the requested keys, in walk order
  std::vector<Touched> new_tasks;  // created by this update-graph
  std::unordered_set<TaskId> collisions;
};

// Upstream _find_lost_dependencies: a requested key (transitively) depends on a key
// that is neither in the graph nor known to the scheduler.
bool find_lost_dependencies(GraphKeys& keys, const UpdateGraph& g) {
  std::unordered_set<std::string_view> seen;
  std::vector<std::string_view> work;
  for (const std::string& k : g.keys) {
    work.push_back(k);
    while (!work.empty()) {
      std::string_view d = work.back();
      work.pop_back();
      if (!seen.insert(d).second) continue;
      const GraphTask* spec = keys.spec(d);
      if (spec == nullptr) {
        if (!keys.find(d)) return true;
        continue;
      }
      for (const std::string& dep : spec->dependencies) work.push_back(dep);
    }
  }
  return false;
}

// Same key resubmitted with other dependencies: upstream keeps the old task and warns.
bool dependencies_differ(const SchedulerState& s, TaskId id, const GraphTask& spec) {
  std::vector<std::string_view> lhs;
  std::vector<std::string_view> rhs(spec.dependencies.begin(), spec.dependencies.end());
  for (TaskId d : s.task(id).dependencies) lhs.push_back(s.key(d));
  std::sort(lhs.begin(), lhs.end());
  std::sort(rhs.begin(), rhs.end());
  rhs.erase(std::unique(rhs.begin(), rhs.end()), rhs.end());
  return lhs != rhs;
}

// Upstream _generate_taskstates: walk from the requested keys through the graph's
// dependencies, creating the tasks the scheduler does not know yet.
GeneratedTasks generate_taskstates(SchedulerState& s, GraphKeys& keys,
                                   const UpdateGraph& g) {
  GeneratedTasks gen;
  std::unordered_set<TaskId> touched;
  std::vector<std::string_view> stack(g.keys.begin(), g.keys.end());
  while (!stack.empty()) {
    std::string_view k = stack.back();
    stack.pop_back();
    const GraphTask* spec = keys.spec(k);
    std::optional<TaskId> id = keys.find(k);
    if (id && touched.count(*id)) continue;
    if (!id) {
      id = keys.create(k, spec);
      if (spec) s.task(*id).run_spec = spec->run_spec;
      gen.new_tasks.push_back({*id, spec});
    } else if (!s.task(*id).has_run_spec()) {
      if (spec) s.task(*id).run_spec = spec->run_spec;
    } else if (spec && dependencies_differ(s, *id, *spec)) {
      gen.collisions.insert(*id);
    }
    touched.insert(*id);
    gen.touched.push_back({*id, spec});
    if (spec)
      stack.insert(stack.end(), spec->dependencies.begin(), spec->dependencies.end());
  }
  return gen;
}

// The "add dependencies" loop of _generate_taskstates, over every task of the graph.
void add_dependencies(SchedulerState& s, GraphKeys& keys, const UpdateGraph& g,
                      const std::unordered_set<TaskId>& collisions) {
  for (const GraphTask& t : g.tasks) {
    auto id = keys.find(t.key);
    if (!id || collisions.count(*id)) continue;
    for (const std::string& dep : t.dependencies) {
      if (auto d = keys.find(dep)) s.add_dependency(*id, *d);
    }
  }
}

// Upstream _apply_annotations (the materializer already extracted them), on new
// tasks only.
void apply_annotations(SchedulerState& s, const std::vector<Touched>& new_tasks) {
  for (const auto& [id, spec] : new_tasks) {
    if (spec == nullptr) continue;
    TaskState& ts = s.task(id);
    ts.data_producer = spec->data_producer;
    if (spec->retries) ts.retries = *spec->retries;
    if (spec->restrictions.any() || spec->restrictions.loose || spec->annotations) {
      TaskExtras& ex = ts.mutable_extras();
      ex.restrictions = spec->restrictions;
      ex.annotations = spec->annotations;
    }
  }
}

// The generation part of upstream _set_priorities: sub-tasks rank just ahead of the
// task that submitted them; otherwise a new generation starts once fifo_timeout has
// passed since the last one.
double priority_generation(SchedulerState& s, GraphKeys& keys, const UpdateGraph& g,
                           const Stimulus& stim) {
  if (g.submitting_task) {
    if (auto parent = keys.find(*g.submitting_task)) {
      return static_cast<double>(s.task(*parent).priority.neg_user) - 0.01;
    }
    return s.generation;
  }
  if (s.last_time + g.fifo_timeout < stim.now) {
    s.generation += 1;
    s.last_time = stim.now;
  }
  return s.generation;
}

// Upstream _set_priorities: (-user priority, generation, graph order) for the tasks
// that have none yet.
void set_priorities(SchedulerState& s, const UpdateGraph& g,
                    const std::vector<Touched>& touched, double generation) {
  for (const auto& [id, spec] : touched) {
    TaskState& ts = s.task(id);
    if (ts.has_priority || spec == nullptr || !spec->order) continue;
    std::int32_t prio = spec->user_priority.value_or(g.user_priority);
    ts.priority = Priority{-prio, generation, *spec->order};
    ts.has_priority = true;
  }
}

void mark_actors(SchedulerState& s, GraphKeys& keys, const UpdateGraph& g,
                 const std::vector<TaskId>& requested) {
  if (g.all_actors) {
    for (TaskId id : requested) s.task(id).actor = true;
  }
  for (TaskId id : keys.known(g.actors)) s.task(id).actor = true;
}

// Requested released tasks go to waiting, highest priority first; a task whose
// dependency already erred is erred with the same blame.
Recs recommend_runnable(SchedulerState& s, const std::vector<TaskId>& requested,
                        const std::vector<Touched>& touched) {
  // First occurrence order (the stable sort keeps it among equal priorities);
  // a set, not a search of `wanted`, which was quadratic in the graph's keys.
  std::vector<TaskId> wanted;
  wanted.reserve(requested.size());
  std::unordered_set<TaskId> seen;
  seen.reserve(requested.size());
  for (TaskId id : requested) {
    if (s.task(id).status == TaskStatus::released && seen.insert(id).second) {
      wanted.push_back(id);
    }
  }
  sort_by_priority_reverse(s, wanted);
  Recs recs;
  for (TaskId id : wanted) recs.set(id, TaskStatus::waiting);
  for (const Touched& t : touched) {
    for (TaskId d : s.task(t.id).dependencies) {
      if (!is_none(s.task(d).exception_blame)) {
        s.task(t.id).exception_blame = s.task(d).exception_blame;
        recs.set(t.id, TaskStatus::erred);
        break;
      }
    }
  }
  return recs;
}

// Tasks of the graph that are already done (in memory or erred) are reported to
// the client at once.
void report_done_tasks(const SchedulerState& s, ClientId client,
                       const std::vector<Touched>& touched, Effects& out) {
  for (const Touched& t : touched) {
    if (!s.task(t.id).alive) continue;
    TaskStatus st = s.task(t.id).status;
    if (st == TaskStatus::memory || st == TaskStatus::erred)
      report_on_key(s, t.id, client, out);
  }
}

}  // namespace

Result<Effects> update_graph(SchedulerState& s, const UpdateGraph& g,
                             const Stimulus& stim) {
  Effects out;
  ClientId cid = s.ensure_client(g.client);
  GraphKeys keys(s, g);
  if (find_lost_dependencies(keys, g)) {
    out.to_clients.push_back(CancelledKeysMsg{cid, g.keys, "lost dependencies", ""});
    DASKCPP_RETURN_NOT_OK(
        client_releases_keys_and_transition(s, cid, keys.known(g.keys), stim, out));
    return out;
  }
  GeneratedTasks gen = generate_taskstates(s, keys, g);
  add_dependencies(s, keys, g, gen.collisions);
  apply_annotations(s, gen.new_tasks);
  set_priorities(s, g, gen.touched, priority_generation(s, keys, g, stim));
  std::vector<TaskId> requested = keys.known(g.keys);
  client_desires_keys_into(s, cid, requested, out);
  mark_actors(s, keys, g, requested);
  if (GraphObserver* o = s.graph_observer()) {
    std::vector<TaskId> touched;
    touched.reserve(gen.touched.size());
    for (const Touched& t : gen.touched) touched.push_back(t.id);
    o->on_update_graph(s, g, touched, requested, stim);
  }
  DASKCPP_RETURN_NOT_OK(
      transitions(s, recommend_runnable(s, requested, gen.touched), stim, out));
  report_done_tasks(s, cid, gen.touched, out);
  return out;
}

}  // namespace daskcpp::scheduler
