// Work stealing (scheduler/stealing/): the balance pass, the steal-request /
// steal-response handshake and the races around it, as stimulus in, exact
// intents out (upstream distributed/tests/test_steal.py covers the same ground with
// real workers).
#include <memory>

#include "scheduler/stealing/work_stealing.hpp"
#include "test_helpers.hpp"

namespace daskcpp::scheduler::test {

namespace {

using V = std::vector<std::string>;

std::vector<std::string> requests(const SchedulerState& s,
                                  const std::vector<StealRequestMsg>& rs) {
  std::vector<std::string> out;
  for (const StealRequestMsg& r : rs) {
    out.push_back(s.worker(r.worker).address + " steal-request " + r.key + " " +
                  r.stimulus_id);
  }
  return out;
}

std::vector<std::string> actions(std::vector<StealLogRecord> log) {
  std::vector<std::string> out;
  for (const StealLogRecord& r : log) out.push_back(r.action + " " + r.key);
  return out;
}

Restrictions on_w1(bool loose = true) {
  Restrictions r;
  r.workers = {"w1"};
  r.loose = loose;
  return r;
}

// w1 and w2 (one thread each) with stealing on; c1 has piled `n` independent
// tasks t-0 .. t-(n-1) onto w1 (loose restrictions), so w2 is idle. t-0 has the
// lowest priority (w1 would run it last), so it is the first one offered.
struct Piled : Harness {
  explicit Piled(int n = 4, Restrictions r = on_w1(), bool actors = false) {
    add_worker("w1");
    add_worker("w2");
    steal = std::make_unique<WorkStealing>(s);
    std::vector<GraphTask> tasks;
    std::vector<std::string> keys;
    for (int i = 0; i < n; ++i) {
      GraphTask t = graph_task("t-" + std::to_string(i), n - 1 - i);
      t.restrictions = r;
      keys.push_back(t.key);
      tasks.push_back(std::move(t));
    }
    UpdateGraph g = graph("c1", std::move(tasks), keys);
    g.all_actors = actors;
    if (actors) g.actors = keys;
    Effects e = submit_graph(std::move(g));
    REQUIRE(e.to_workers.size() == static_cast<std::size_t>(n));
    for (const std::string& k : keys) REQUIRE(on_worker(k) == "w1");
  }

  std::string on_worker(const std::string& key) const {
    WorkerId w = s.task(*s.find_task(key)).processing_on;
    return is_none(w) ? std::string("-") : s.worker(w).address;
  }

  Effects respond(const std::string& key, std::optional<std::string> state,
                  const std::string& stimulus_id, const std::string& worker = "w1") {
    Stimulus stim{stimulus_id, now};
    return check(steal->move_task_confirm(key, state, worker, stim));
  }

  std::unique_ptr<WorkStealing> steal;
};

}  // namespace

TEST_CASE("processing tasks sit in the stealable sets by cost level", "[stealing]") {
  Piled h;
  for (int i = 0; i < 4; ++i) {
    TaskId id = *h.s.find_task("t-" + std::to_string(i));
    CHECK(h.steal->stealable_at(id) == std::pair{h.wid("w1"), 0});
  }
  // A task leaving processing leaves its set.
  h.finish("w1", "t-0");
  CHECK_FALSE(h.steal->stealable_at(*h.s.find_task("t-0")));
}

TEST_CASE("cost level compares dependency transfer with compute time", "[stealing]") {
  Harness h;
  h.add_worker("w1");
  h.add_worker("w2");
  WorkStealing steal(h.s);
  h.submit("c1", {{"a", {}, 0}, {"b", {"a"}, 1}}, {"b"});
  h.finish("w1", "a", /*nbytes=*/100'000'000);  // 1 s at the default 100 MB/s
  TaskId b = *h.s.find_task("b");
  REQUIRE(h.status("b") == TaskStatus::processing);
  // transfer (1 s + 0.1 s latency) / compute (unknown-task-duration 0.5 s) = 2.2:
  // level round(log2(2.2) + 6) = 7.
  auto ratio = steal.steal_time_ratio(b);
  REQUIRE(ratio);
  CHECK(ratio->first == Approx(2.2));
  CHECK(ratio->second == 7);
  CHECK(steal.stealable_at(b) == std::pair{h.wid("w1"), 7});
  // Far too costly to move: never stealable.
  TaskPrefix& pb = h.s.prefix(h.s.task(b).prefix);
  pb.duration_average = 0.0001;
  CHECK_FALSE(steal.steal_time_ratio(b));
}

TEST_CASE("a measured duration re-levels tasks placed on a guess", "[stealing]") {
  Harness h;
  h.add_worker("w1", 2);
  h.add_worker("w2", 2);
  WorkStealing steal(h.s);
  h.submit("c1", {{"a", {}, 0}, {"b-1", {"a"}, 1}, {"b-2", {"a"}, 2}}, {"b-1", "b-2"});
  h.finish("w1", "a", 100'000'000);
  TaskId b2 = *h.s.find_task("b-2");
  REQUIRE(steal.stealable_at(b2)->second == 7);
  // b-1 took 0.25 s (the harness's startstops): b-2's ratio is now 1.1 / 0.25.
  h.finish("w1", "b-1");
  CHECK(steal.stealable_at(b2)->second == 8);
}

TEST_CASE("balance asks the saturated worker to give a task to the idle one",
          "[stealing]") {
  Piled h;
  std::vector<StealRequestMsg> r = h.steal->balance();
  // One steal fills w2 (it is no longer unoccupied), so one request per pass.
  CHECK(requests(h.s, r) == V{"w1 steal-request t-0 steal-0"});
  CHECK(actions(h.steal->take_log()) == V{"request t-0"});
  CHECK(h.steal->in_flight(*h.s.find_task("t-0")));
  CHECK(h.steal->in_flight_occupancy(h.wid("w2")) == Approx(0.5));
  CHECK(h.steal->in_flight_occupancy(h.wid("w1")) == Approx(-0.5));
  // In flight: not asked again.
  CHECK(requests(h.s, h.steal->balance()) == V{"w1 steal-request t-1 steal-1"});
}

TEST_CASE("nothing to balance: no idle worker, or every worker idle", "[stealing]") {
  Harness h;
  h.add_worker("w1");
  h.add_worker("w2");
  WorkStealing steal(h.s);
  CHECK(steal.balance().empty());
  h.submit("c1", {{"x"}}, {"x"});
  CHECK(steal.balance().empty());
}

TEST_CASE("victim confirms (ready): the task moves to the thief under a new run_id",
          "[stealing]") {
  Piled h;
  REQUIRE(requests(h.s, h.steal->balance()) == V{"w1 steal-request t-0 steal-0"});
  std::int64_t old_run = h.run_id("t-0");
  Effects e = h.respond("t-0", "ready", "steal-0");
  CHECK(workers(h.s, e) == V{"w2 compute-task t-0 prio=[0,1,3]"});
  CHECK(h.on_worker("t-0") == "w2");
  CHECK(h.run_id("t-0") != old_run);
  CHECK_FALSE(h.steal->in_flight(*h.s.find_task("t-0")));
  CHECK(h.steal->in_flight_occupancy(h.wid("w2")) == 0);
  CHECK(h.s.worker(h.wid("w1")).processing.size() == 3);
  CHECK(h.s.worker(h.wid("w2")).processing.size() == 1);
  CHECK(h.steal->stealable_at(*h.s.find_task("t-0")) == std::pair{h.wid("w2"), 0});
  CHECK(actions(h.steal->take_log()) == V{"request t-0", "confirm t-0"});

  // The victim finishes the old run anyway: stale, it is told to drop it.
  e = h.finish_run("w1", "t-0", old_run);
  CHECK(workers(h.s, e) == V{"w1 free-keys [t-0]"});
  CHECK(e.to_clients.empty());
  CHECK(h.status("t-0") == TaskStatus::processing);
  e = h.finish("w2", "t-0");
  CHECK(clients(h.s, e) == V{"c1 key-in-memory t-0 +type"});
}

TEST_CASE("victim confirms from waiting or constrained as from ready", "[stealing]") {
  for (const char* state : {"waiting", "constrained"}) {
    Piled h;
    h.steal->balance();
    Effects e = h.respond("t-0", std::string(state), "steal-0");
    CHECK(workers(h.s, e) == V{"w2 compute-task t-0 prio=[0,1,3]"});
    CHECK(h.on_worker("t-0") == "w2");
  }
}

TEST_CASE("victim already runs the task: the steal is abandoned", "[stealing]") {
  for (const char* state :
       {"executing", "memory", "long-running", "cancelled", "resumed"}) {
    Piled h;
    h.steal->balance();
    std::int64_t run = h.run_id("t-0");
    Effects e = h.respond("t-0", std::string(state), "steal-0");
    CHECK(e.empty());
    CHECK(h.on_worker("t-0") == "w1");
    CHECK(h.run_id("t-0") == run);
    CHECK_FALSE(h.steal->in_flight(*h.s.find_task("t-0")));
    CHECK(h.steal->in_flight_occupancy(h.wid("w2")) == 0);
    CHECK(actions(h.steal->take_log()) == V{"request t-0", "already-computing t-0"});
    // Its result is accepted as usual.
    e = h.finish("w1", "t-0");
    CHECK(clients(h.s, e) == V{"c1 key-in-memory t-0 +type"});
  }
}

TEST_CASE("victim does not know the task (released / nil): it is rescheduled",
          "[stealing]") {
  for (std::optional<std::string> state :
       {std::optional<std::string>("released"), std::optional<std::string>()}) {
    Piled h;
    h.steal->balance();
    std::int64_t run = h.run_id("t-0");
    Effects e = h.respond("t-0", state, "steal-0");
    // processing -> released -> waiting -> processing, placed afresh (w1 is its
    // restriction).
    CHECK(workers(h.s, e) == V{"w1 free-keys [t-0]", "w1 compute-task t-0 prio=[0,1,3]"});
    CHECK(h.status("t-0") == TaskStatus::processing);
    CHECK(h.run_id("t-0") != run);
    CHECK(actions(h.steal->take_log()) == V{"request t-0", "reschedule t-0"});
  }
}

TEST_CASE("an answer to an older request is stale", "[stealing]") {
  Piled h;
  h.steal->balance();
  Effects e = h.respond("t-0", "ready", "steal-41");
  CHECK(e.empty());
  CHECK(h.on_worker("t-0") == "w1");
  CHECK(h.steal->in_flight(*h.s.find_task("t-0")));
  CHECK(actions(h.steal->take_log()) == V{"request t-0", "stale-response t-0"});
}

TEST_CASE("thief removed mid-steal: a confirmed steal is rescheduled", "[stealing]") {
  Piled h;
  h.steal->balance();
  h.remove_worker("w2");
  Effects e = h.respond("t-0", "ready", "steal-0");
  CHECK(workers(h.s, e) == V{"w1 free-keys [t-0]", "w1 compute-task t-0 prio=[0,1,3]"});
  CHECK(h.on_worker("t-0") == "w1");
  auto log = h.steal->take_log();
  REQUIRE(log.size() == 2);
  CHECK(log[1].action == "reschedule");
  CHECK(log[1].thief_gone);
}

TEST_CASE("victim removed mid-steal: the steal is dropped, the task re-placed once",
          "[stealing]") {
  Piled h(2);
  h.steal->balance();
  Effects e = h.remove_worker("w1");
  // Both tasks go to w2 by the ordinary removal path.
  CHECK(workers(h.s, e) == V{"w1 close scheduler-remove-worker",
                             "w2 compute-task t-0 prio=[0,1,1]",
                             "w2 compute-task t-1 prio=[0,1,0]", "w2 remove-worker w1"});
  CHECK(h.steal->in_flight_count() == 0);
  // A response that was already on its way changes nothing.
  e = h.respond("t-0", "ready", "steal-0");
  CHECK(e.empty());
  CHECK(h.on_worker("t-0") == "w2");
  CHECK(actions(h.steal->take_log()) == V{"request t-0", "already-aborted t-0"});
}

TEST_CASE("task released mid-steal (free-keys crossing the request)", "[stealing]") {
  Piled h;
  h.steal->balance();
  Effects e = h.release("c1", {"t-0"});
  CHECK(workers(h.s, e) == V{"w1 free-keys [t-0]"});
  CHECK(h.steal->in_flight_count() == 0);
  CHECK(h.steal->in_flight_occupancy(h.wid("w2")) == 0);
  // The key is forgotten: its answer is dropped.
  CHECK(h.respond("t-0", "ready", "steal-0").empty());
  // Submitted again and processing on the victim: the old answer is stale there too.
  GraphTask t = graph_task("t-0", 3);
  t.restrictions = on_w1();
  h.submit_graph(graph("c1", {t}, {"t-0"}));
  REQUIRE(h.on_worker("t-0") == "w1");
  CHECK(h.respond("t-0", "ready", "steal-0").empty());
  CHECK(h.on_worker("t-0") == "w1");
  CHECK(actions(h.steal->take_log()) == V{"request t-0", "already-aborted t-0"});
}

TEST_CASE("task finishing on the victim while the steal is in flight", "[stealing]") {
  Piled h;
  h.steal->balance();
  Effects e = h.finish("w1", "t-0");
  CHECK(clients(h.s, e) == V{"c1 key-in-memory t-0 +type"});
  CHECK(h.steal->in_flight_count() == 0);
  e = h.respond("t-0", "memory", "steal-0");
  CHECK(e.empty());
  CHECK(h.status("t-0") == TaskStatus::memory);
}

TEST_CASE("strict worker restrictions: never stolen to another worker", "[stealing]") {
  Piled h(4, on_w1(/*loose=*/false));
  CHECK(h.steal->balance().empty());
}

TEST_CASE("actors are never stolen", "[stealing]") {
  Piled h(4, on_w1(), /*actors=*/true);
  CHECK_FALSE(h.steal->stealable_at(*h.s.find_task("t-0")));
  CHECK(h.steal->balance().empty());
}

TEST_CASE("resource restrictions: only a thief with the resources", "[stealing]") {
  Harness h;
  for (const char* addr : {"w1", "w2", "w3"}) {
    AddWorker w;
    w.address = addr;
    w.name = addr;
    w.host = std::string("h-") + addr;
    w.status = WorkerStatus::running;
    if (std::string(addr) != "w2") w.resources = {{"GPU", 1}};
    h.on(w);
  }
  WorkStealing steal(h.s);
  std::vector<GraphTask> tasks;
  for (int i = 0; i < 4; ++i) {
    GraphTask t = graph_task("g-" + std::to_string(i), 3 - i);
    t.restrictions.workers = {"w1"};
    t.restrictions.loose = true;
    t.restrictions.resources = {{"GPU", 1}};
    tasks.push_back(std::move(t));
  }
  h.submit_graph(graph("c1", std::move(tasks), {"g-0", "g-1", "g-2", "g-3"}));
  // w2 is the first idle worker but lacks a GPU; w3 has one.
  CHECK(requests(h.s, steal.balance()) == V{"w1 steal-request g-0 steal-0"});
  Effects e = h.check(steal.move_task_confirm("g-0", "ready", "w1", {"steal-0", h.now}));
  CHECK(workers(h.s, e) == V{"w3 compute-task g-0 prio=[0,1,3]"});

  // Without any GPU thief nothing moves, loose or not.
  h.remove_worker("w3");
  CHECK(steal.balance().empty());
}

TEST_CASE("long-running (seceded) tasks are never stolen", "[stealing]") {
  Piled h(4);
  // t-0 and t-1, the first ones offered, seceded; t-2 is taken instead.
  for (const char* key : {"t-0", "t-1"}) {
    h.on(LongRunning{"w1", key, h.run_id(key), std::nullopt});
  }
  CHECK(requests(h.s, h.steal->balance()) == V{"w1 steal-request t-2 steal-0"});
  CHECK_FALSE(h.steal->stealable_at(*h.s.find_task("t-0")));
  CHECK_FALSE(h.steal->stealable_at(*h.s.find_task("t-1")));
  // All seceded: nothing to take.
  Piled all(2);
  for (const char* key : {"t-0", "t-1"}) {
    all.on(LongRunning{"w1", key, all.run_id(key), std::nullopt});
  }
  CHECK(all.steal->balance().empty());
}

TEST_CASE("balance keeps stealing until the thief is busy", "[stealing]") {
  Piled h(8);
  // Occupancy w1 = 8 × 0.5 s. Each request adds 0.5 s to w2; w2 stays a thief while
  // it holds under one task (nprocessing < nthreads) or less than half the average.
  std::vector<StealRequestMsg> r = h.steal->balance();
  CHECK(requests(h.s, r) ==
        V{"w1 steal-request t-0 steal-0", "w1 steal-request t-1 steal-1"});
}

TEST_CASE("an unexpected victim state leaves the task where it is", "[stealing]") {
  Piled h;
  h.steal->balance();
  Effects e = h.respond("t-0", "flight", "steal-0");
  CHECK(e.empty());
  CHECK(h.on_worker("t-0") == "w1");
  CHECK(h.steal->in_flight_count() == 0);
  CHECK(actions(h.steal->take_log()) == V{"request t-0", "unexpected-state t-0"});
}

TEST_CASE("a paused worker is never a thief", "[stealing]") {
  Piled h;
  h.on(WorkerStatusChange{"w2", WorkerStatus::paused});
  CHECK(h.steal->balance().empty());
  h.on(WorkerStatusChange{"w2", WorkerStatus::running});
  CHECK(requests(h.s, h.steal->balance()) == V{"w1 steal-request t-0 steal-0"});
}

}  // namespace daskcpp::scheduler::test
