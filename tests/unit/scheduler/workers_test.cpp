// Workers joining, pausing and dying; stale and unknown reports; restrictions.
#include "test_helpers.hpp"

namespace daskcpp::scheduler::test {

using V = std::vector<std::string>;

TEST_CASE("a dead worker's processing task is re-placed with a new run_id", "[workers]") {
  XOnTwoWorkers h;
  REQUIRE(h.s.task(*h.s.find_task("x")).processing_on == h.wid("w1"));
  Effects e = h.remove_worker("w1");
  CHECK(workers(h.s, e) == V{"w1 close scheduler-remove-worker",
                             "w2 compute-task x prio=[0,1,0]", "w2 remove-worker w1"});
  CHECK(h.run_id("x") == 1);
  CHECK(h.s.task(*h.s.find_task("x")).suspicious == 1);
  // The old run's report arrives from nowhere: the worker is gone, ignored.
  e = h.finish_run("w1", "x", 0);
  CHECK(e.empty());
  e = h.finish("w2", "x");
  CHECK(clients(h.s, e) == V{"c1 key-in-memory x +type"});
}

TEST_CASE("expected removal does not make tasks suspicious", "[workers]") {
  XOnTwoWorkers h;
  h.remove_worker("w1", /*expected=*/true);
  CHECK(h.s.task(*h.s.find_task("x")).suspicious == 0);
}

TEST_CASE("KilledWorker after allowed_failures worker deaths", "[workers]") {
  Harness h;
  h.add_worker("w0");
  h.submit("c1", {{"x"}}, {"x"});
  // allowed_failures = 3: the 4th death errs the task.
  for (int i = 1; i <= 3; ++i) {
    std::string next = "w" + std::to_string(i);
    h.add_worker(next);
    Effects e = h.remove_worker("w" + std::to_string(i - 1));
    CHECK(workers(h.s, e) ==
          V{"w" + std::to_string(i - 1) + " close scheduler-remove-worker",
            next + " compute-task x prio=[0,1,0]",
            next + " remove-worker w" + std::to_string(i - 1)});
  }
  h.add_worker("w4");
  Effects e = h.remove_worker("w3");
  CHECK(workers(h.s, e) == V{"w3 close scheduler-remove-worker", "w4 remove-worker w3"});
  CHECK(clients(h.s, e) == V{"c1 task-erred x KilledWorker(w3,3)"});
  CHECK(h.status("x") == TaskStatus::erred);
  CHECK(h.s.task(*h.s.find_task("x")).suspicious == 4);
}

TEST_CASE("losing the only replica: lost-data and recompute", "[workers]") {
  XOnTwoWorkers h;
  h.finish("w1", "x");
  Effects e = h.remove_worker("w1");
  CHECK(clients(h.s, e) == V{"c1 lost-data x"});
  CHECK(workers(h.s, e) == V{"w1 close scheduler-remove-worker",
                             "w2 compute-task x prio=[0,1,0]", "w2 remove-worker w1"});
}

TEST_CASE("losing a dependency re-runs it before the dependent", "[workers]") {
  Harness h;
  h.add_worker("w1");
  h.add_worker("w2");
  h.submit("c1", {{"a", {}, 0}, {"b", {"a"}, 1}}, {"b"});
  h.finish("w1", "a");  // b now processing on w1
  REQUIRE(h.status("b") == TaskStatus::processing);
  Effects e = h.remove_worker("w1");
  CHECK(workers(h.s, e) == V{"w1 close scheduler-remove-worker",
                             "w2 compute-task a prio=[0,1,0]", "w2 remove-worker w1"});
  CHECK(h.status("b") == TaskStatus::waiting);
}

TEST_CASE("losing scattered data forgets it and cancels the futures", "[workers]") {
  Harness h;
  h.add_worker("w1");
  h.add_worker("w2");
  Effects e = h.on(UpdateData{{DataKey{"int-abc", "int", "int", {"w1"}, 28}}, "c1"});
  CHECK(clients(h.s, e) == V{"c1 key-in-memory int-abc"});
  CHECK(h.status("int-abc") == TaskStatus::memory);
  e = h.remove_worker("w1");
  CHECK(clients(h.s, e) == V{"c1 cancelled-keys [int-abc] already forgotten"});
  CHECK_FALSE(h.known("int-abc"));
}

TEST_CASE("no running worker: no-worker / queued, then placed when one runs",
          "[workers]") {
  Harness h;
  // With no threads at all every unrestricted task counts as root-ish and is queued
  // (as upstream); a restricted task goes to no-worker.
  Effects e = h.submit("c1", {{"x"}}, {"x"});
  CHECK(e.empty());
  CHECK(h.status("x") == TaskStatus::queued);
  GraphTask t = graph_task("r", 1);
  t.restrictions.workers = {"w1"};
  e = h.submit_graph(graph("c1", {t}, {"r"}, /*fifo_timeout=*/0));
  CHECK(e.empty());
  CHECK(h.status("r") == TaskStatus::no_worker);
  e = h.add_worker("w1", 1, /*running=*/false);
  CHECK(e.empty());
  e = h.on(WorkerStatusChange{"w1", WorkerStatus::running});
  CHECK(workers(h.s, e) ==
        V{"w1 compute-task r prio=[0,1,1]", "w1 compute-task x prio=[0,1,0]"});
}

TEST_CASE("paused workers get no new tasks", "[workers]") {
  Harness h;
  h.add_worker("w1");
  h.add_worker("w2");
  h.on(WorkerStatusChange{"w1", WorkerStatus::paused});
  Effects e = h.submit("c1", {{"x"}}, {"x"});
  CHECK(workers(h.s, e) == V{"w2 compute-task x prio=[0,1,0]"});
}

TEST_CASE("stale task-finished (run_id mismatch) is answered with free-keys",
          "[workers]") {
  XOnTwoWorkers h;
  // Another worker reports a run it was never given.
  Effects e = h.finish_run("w2", "x", 42);
  CHECK(workers(h.s, e) == V{"w2 free-keys [x]"});
  CHECK(h.status("x") == TaskStatus::processing);
  // The worker it runs on reports an old run: released and sent again.
  e = h.finish_run("w1", "x", 42);
  CHECK(workers(h.s, e) == V{"w1 free-keys [x]", "w2 compute-task x prio=[0,1,0]"});
}

TEST_CASE("task-finished for an unknown key is answered with free-keys", "[workers]") {
  Harness h;
  h.add_worker("w1");
  Effects e = h.finish_run("w1", "nobody-knows", 3);
  CHECK(workers(h.s, e) == V{"w1 free-keys [nobody-knows]"});
  CHECK_FALSE(h.known("nobody-knows"));
}

TEST_CASE("add-keys for unknown keys asks for remove-replicas; refresh-who-has",
          "[workers]") {
  XOnTwoWorkers h;
  h.finish("w1", "x");
  Effects e = h.on(AddKeys{"w2", {"x", "y"}});
  CHECK(workers(h.s, e) == V{"w2 remove-replicas [y]"});
  e = h.on(RequestRefreshWhoHas{"w2", {"x", "z"}});
  CHECK(workers(h.s, e) == V{"w2 refresh-who-has x:[w1,w2]", "w2 free-keys [z]"});
  // release-worker-data of one replica keeps the task; of the last releases it.
  e = h.on(ReleaseWorkerData{"w1", "x"});
  CHECK(e.empty());
  CHECK(h.status("x") == TaskStatus::memory);
}

TEST_CASE("worker restrictions, loose restrictions and no-worker", "[workers]") {
  Harness h;
  h.add_worker("w1");
  h.add_worker("w2");
  auto restricted = [&](const std::string& key, std::vector<std::string> ws, bool loose) {
    GraphTask t = graph_task(key);
    t.restrictions.workers = std::move(ws);
    t.restrictions.loose = loose;
    return h.submit_graph(graph("c1", {t}, {key}, /*fifo_timeout=*/0));
  };
  CHECK(workers(h.s, restricted("r", {"w2"}, false)) ==
        V{"w2 compute-task r prio=[0,1,0]"});
  CHECK(restricted("s", {"w9"}, false).empty());
  CHECK(h.status("s") == TaskStatus::no_worker);
  CHECK(workers(h.s, restricted("t", {"w9"}, true)).size() == 1);
  CHECK(workers(h.s, h.add_worker("w9")) == V{"w9 compute-task s prio=[0,1,0]"});
}

TEST_CASE("reschedule and long-running", "[workers]") {
  XOnTwoWorkers h;
  Effects e = h.on(Reschedule{"x", "w2"});
  CHECK(e.empty());  // not processing there
  e = h.on(Reschedule{"x", "w1"});
  CHECK(workers(h.s, e) == V{"w1 free-keys [x]", "w2 compute-task x prio=[0,1,0]"});
  e = h.on(LongRunning{"w2", "x", h.run_id("x"), 1.5});
  CHECK(e.empty());
  CHECK(h.s.worker(h.wid("w2")).long_running.size() == 1);
  CHECK(h.s.prefix(h.s.task(*h.s.find_task("x")).prefix).duration_average == 1.5);
  // Seceded tasks no longer count toward occupancy.
  CHECK(h.s.occupancy(h.wid("w2")) == 0);
  h.finish("w2", "x");
  CHECK(h.s.worker(h.wid("w2")).long_running.empty());
}

}  // namespace daskcpp::scheduler::test
