#include "test_helpers.hpp"

#include <sstream>

namespace daskcpp::scheduler::test {

namespace {

std::string prefix_of(const std::string& key) {
  auto dash = key.find('-');
  return dash == std::string::npos ? key : key.substr(0, dash);
}

std::string join(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + v[i];
  return out + "]";
}

std::string fmt(double d) {
  std::ostringstream o;
  o << d;
  return o.str();
}

std::string describe_exception(const std::shared_ptr<const TaskException>& e) {
  if (!e) return "none";
  switch (e->origin) {
    case ExceptionOrigin::worker:
      return e->exception_text;
    case ExceptionOrigin::killed_worker:
      return "KilledWorker(" + e->last_worker + "," +
             std::to_string(e->allowed_failures) + ")";
    case ExceptionOrigin::memory_error:
      return "MemoryError";
    case ExceptionOrigin::actor_lost:
      return "ActorLost";
  }
  return "?";
}

}  // namespace

Harness::Harness(SchedulerConfig config) : s(config) {}

Stimulus Harness::next(std::string prefix) {
  return Stimulus{prefix + std::to_string(++counter_), now};
}

Effects Harness::check(Result<Effects> r) {
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  Status v = validate_state(s);
  INFO(v.to_string());
  REQUIRE(v.ok());
  return std::move(r).value();
}

Effects Harness::on(const SchedulerEvent& event, std::string prefix) {
  return check(handle(s, event, next(std::move(prefix))));
}

Effects Harness::add_worker(const std::string& addr, int nthreads, bool running,
                            std::int64_t memory_limit) {
  AddWorker w;
  w.address = addr;
  w.name = addr;
  w.host = "h-" + addr;
  w.nthreads = nthreads;
  w.memory_limit = memory_limit;
  w.status = running ? WorkerStatus::running : WorkerStatus::init;
  return on(w);
}

Effects Harness::submit(const std::string& client, const std::vector<TaskSpec>& tasks,
                        const std::vector<std::string>& keys, double fifo_timeout) {
  std::vector<GraphTask> specs;
  for (const TaskSpec& t : tasks) specs.push_back(graph_task(t.key, t.order, t.deps));
  return submit_graph(graph(client, std::move(specs), keys, fifo_timeout));
}

Effects Harness::submit_graph(UpdateGraph g) {
  return check(handle(s, g, next("update-graph-")));
}

Effects Harness::finish(const std::string& worker, const std::string& key,
                        std::int64_t nbytes) {
  return finish_run(worker, key, run_id(key), nbytes);
}

Effects Harness::finish_run(const std::string& worker, const std::string& key,
                            std::int64_t run_id, std::int64_t nbytes) {
  TaskFinished m;
  m.worker = worker;
  m.key = key;
  m.run_id = run_id;
  m.nbytes = nbytes;
  m.type = Bytes::copy_of(std::string_view("int"));
  m.has_type = true;
  m.startstops.push_back({"compute", now - 0.25, now});
  return on(m, "task-finished-");
}

Effects Harness::err(const std::string& worker, const std::string& key,
                     const std::string& exception) {
  TaskErred m;
  m.worker = worker;
  m.key = key;
  m.run_id = run_id(key);
  m.exception = std::make_shared<const std::string>(exception);
  m.exception_text = exception;
  return on(m, "task-erred-");
}

Effects Harness::release(const std::string& client,
                         const std::vector<std::string>& keys) {
  return on(ClientReleasesKeys{client, keys}, "client-releases-keys-");
}

Effects Harness::remove_worker(const std::string& worker, bool expected) {
  return on(RemoveWorker{worker, expected, /*close=*/true}, "remove-worker-");
}

XOnTwoWorkers::XOnTwoWorkers() {
  add_worker("w1");
  add_worker("w2");
  submit("c1", {{"x"}}, {"x"});
}

GraphTask graph_task(const std::string& key, std::int64_t order,
                     const std::vector<std::string>& deps) {
  GraphTask t;
  t.key = key;
  t.dependencies = deps;
  t.prefix_name = prefix_of(key);
  t.group_name = prefix_of(key);
  t.run_spec = std::make_shared<const std::string>("spec-" + key);
  t.order = order;
  return t;
}

UpdateGraph graph(const std::string& client, std::vector<GraphTask> tasks,
                  std::vector<std::string> keys, double fifo_timeout) {
  UpdateGraph g;
  g.client = client;
  g.tasks = std::move(tasks);
  g.keys = std::move(keys);
  g.fifo_timeout = fifo_timeout;
  return g;
}

TaskStatus Harness::status(const std::string& key) const {
  auto id = s.find_task(key);
  REQUIRE(id.has_value());
  return s.task(*id).status;
}

std::int64_t Harness::run_id(const std::string& key) const {
  auto id = s.find_task(key);
  REQUIRE(id.has_value());
  return s.task(*id).run_id;
}

std::string describe(const SchedulerState& s, const WorkerMsg& m) {
  auto addr = [&](WorkerId w) { return s.worker(w).address; };
  if (auto* c = std::get_if<ComputeTaskMsg>(&m)) {
    std::string deps;
    for (const ComputeTaskDep& d : c->dependencies) {
      deps += (deps.empty() ? "" : ",") + d.key + ":" + join(d.who_has);
    }
    return addr(c->worker) + " compute-task " + c->key + " prio=[" +
           std::to_string(c->priority.neg_user) + "," + fmt(c->priority.generation) +
           "," + std::to_string(c->priority.order) + "]" +
           (deps.empty() ? "" : " deps={" + deps + "}");
  }
  if (auto* f = std::get_if<FreeKeysMsg>(&m))
    return addr(f->worker) + " free-keys " + join(f->keys);
  if (auto* r = std::get_if<RemoveReplicasMsg>(&m)) {
    return addr(r->worker) + " remove-replicas " + join(r->keys);
  }
  if (auto* r = std::get_if<RefreshWhoHasMsg>(&m)) {
    std::string out = addr(r->worker) + " refresh-who-has";
    for (const auto& [k, v] : r->who_has) out += " " + k + ":" + join(v);
    return out;
  }
  if (auto* r = std::get_if<RemoveWorkerMsg>(&m)) {
    return addr(r->worker) + " remove-worker " + r->removed;
  }
  if (auto* c = std::get_if<CloseWorkerMsg>(&m))
    return addr(c->worker) + " close " + c->reason;
  return "?";
}

std::string describe(const SchedulerState& s, const ClientMsg& m) {
  auto who = [&](ClientId c) {
    return is_none(c) ? std::string("*") : s.client(c).client_key;
  };
  if (auto* k = std::get_if<KeyInMemoryMsg>(&m)) {
    return who(k->client) + " key-in-memory " + k->key + (k->has_type ? " +type" : "") +
           (k->workers.empty() ? "" : " workers=" + join(k->workers));
  }
  if (auto* e = std::get_if<TaskErredMsg>(&m)) {
    return who(e->client) + " task-erred " + e->key + " " +
           describe_exception(e->exception);
  }
  if (auto* l = std::get_if<LostDataMsg>(&m))
    return who(l->client) + " lost-data " + l->key;
  if (auto* c = std::get_if<CancelledKeysMsg>(&m)) {
    return who(c->client) + " cancelled-keys " + join(c->keys) +
           (c->reason.empty() ? "" : " " + c->reason);
  }
  if (auto* r = std::get_if<TaskRetriedMsg>(&m))
    return who(r->client) + " task-retried " + r->key;
  return "?";
}

std::vector<std::string> workers(const SchedulerState& s, const Effects& e) {
  std::vector<std::string> out;
  for (const WorkerMsg& m : e.to_workers) out.push_back(describe(s, m));
  return out;
}

std::vector<std::string> clients(const SchedulerState& s, const Effects& e) {
  std::vector<std::string> out;
  for (const ClientMsg& m : e.to_clients) out.push_back(describe(s, m));
  return out;
}

}  // namespace daskcpp::scheduler::test
