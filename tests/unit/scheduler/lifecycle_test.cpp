// submit → compute-task → task-finished → key-in-memory; chains, diamonds, priorities.
#include "test_helpers.hpp"

namespace daskcpp::scheduler::test {

using V = std::vector<std::string>;

TEST_CASE("submit: one task computes and is reported in memory", "[lifecycle]") {
  Harness h;
  h.add_worker("w1");
  Effects e = h.submit("c1", {{"inc-1"}}, {"inc-1"});
  CHECK(workers(h.s, e) == V{"w1 compute-task inc-1 prio=[0,1,0]"});
  CHECK(clients(h.s, e).empty());
  CHECK(h.status("inc-1") == TaskStatus::processing);
  REQUIRE(e.to_workers.size() == 1);
  const auto& ct = std::get<ComputeTaskMsg>(e.to_workers[0]);
  CHECK(ct.run_id == 0);
  CHECK(ct.stimulus_id == "update-graph-2");
  CHECK(*static_cast<const std::string*>(ct.run_spec.get()) == "spec-inc-1");

  e = h.finish("w1", "inc-1");
  CHECK(workers(h.s, e).empty());
  CHECK(clients(h.s, e) == V{"c1 key-in-memory inc-1 +type"});
  CHECK(h.status("inc-1") == TaskStatus::memory);
  // The prefix learned the compute duration (0.25 s) for occupancy estimates.
  CHECK(h.s.prefix(h.s.task(*h.s.find_task("inc-1")).prefix).duration_average == 0.25);
  auto story = h.s.story("inc-1");
  REQUIRE(story.size() == 3);  // released→waiting→processing→memory
  CHECK(story[2].start == TaskStatus::processing);
  CHECK(story[2].finish == TaskStatus::memory);
  CHECK(story[2].stimulus_id == "task-finished-3");
}

TEST_CASE("a chain runs in order and frees intermediates", "[lifecycle]") {
  Harness h;
  h.add_worker("w1");
  Effects e = h.submit("c1", {{"a", {}, 0}, {"b", {"a"}, 1}, {"c", {"b"}, 2}}, {"c"});
  CHECK(workers(h.s, e) == V{"w1 compute-task a prio=[0,1,0]"});
  CHECK(h.status("b") == TaskStatus::waiting);
  CHECK(h.status("c") == TaskStatus::waiting);

  e = h.finish("w1", "a");
  CHECK(workers(h.s, e) == V{"w1 compute-task b prio=[0,1,1] deps={a:[w1]}"});
  CHECK(clients(h.s, e).empty());

  e = h.finish("w1", "b");
  // a is no longer needed: released (free-keys) before c is placed (LIFO recs).
  CHECK(workers(h.s, e) ==
        V{"w1 free-keys [a]", "w1 compute-task c prio=[0,1,2] deps={b:[w1]}"});
  CHECK(h.status("a") == TaskStatus::released);

  e = h.finish("w1", "c");
  CHECK(workers(h.s, e) == V{"w1 free-keys [b]"});
  CHECK(clients(h.s, e) == V{"c1 key-in-memory c +type"});
}

TEST_CASE("a diamond waits for both branches", "[lifecycle]") {
  Harness h;
  h.add_worker("w1");
  h.add_worker("w2");
  Effects e = h.submit(
      "c1", {{"a", {}, 0}, {"b", {"a"}, 1}, {"c", {"a"}, 2}, {"d", {"b", "c"}, 3}},
      {"d"});
  CHECK(workers(h.s, e) == V{"w1 compute-task a prio=[0,1,0]"});
  e = h.finish("w1", "a");
  // Both dependents go where the data is (comm cost 0 on w1), highest priority first.
  CHECK(workers(h.s, e) == V{"w1 compute-task b prio=[0,1,1] deps={a:[w1]}",
                             "w1 compute-task c prio=[0,1,2] deps={a:[w1]}"});
  e = h.finish("w1", "b");
  CHECK(workers(h.s, e).empty());
  CHECK(h.status("d") == TaskStatus::waiting);
  e = h.finish("w1", "c");
  // Ids follow creation order (d, c, a, b: a depth-first walk from the wanted key).
  CHECK(workers(h.s, e) ==
        V{"w1 free-keys [a]", "w1 compute-task d prio=[0,1,3] deps={c:[w1],b:[w1]}"});
  e = h.finish("w1", "d");
  CHECK(workers(h.s, e) == V{"w1 free-keys [b]", "w1 free-keys [c]"});
  CHECK(clients(h.s, e) == V{"c1 key-in-memory d +type"});
}

TEST_CASE("priorities: generations bump after fifo_timeout, map keeps order",
          "[lifecycle]") {
  Harness h;
  h.add_worker("w1", 4);
  Effects e = h.submit("c1", {{"x"}}, {"x"}, 0.1);
  CHECK(workers(h.s, e) == V{"w1 compute-task x prio=[0,1,0]"});
  // Within fifo_timeout of the last bump: same generation.
  h.now += 0.05;
  e = h.submit("c1", {{"y"}}, {"y"}, 0.1);
  CHECK(workers(h.s, e) == V{"w1 compute-task y prio=[0,1,0]"});
  h.now += 1.0;
  e = h.submit("c1", {{"m-0", {}, 0}, {"m-1", {}, 1}, {"m-2", {}, 2}},
               {"m-0", "m-1", "m-2"}, 0.1);
  CHECK(workers(h.s, e) == V{"w1 compute-task m-0 prio=[0,2,0]",
                             "w1 compute-task m-1 prio=[0,2,1]",
                             "w1 compute-task m-2 prio=[0,2,2]"});
  // Resubmitting a known key keeps its priority.
  h.now += 5;
  e = h.submit("c2", {{"x"}}, {"x"}, 0.1);
  CHECK(h.s.task(*h.s.find_task("x")).priority == Priority{0, 1, 0});

  // User priority and a graph submitted from inside a task.
  GraphTask t = graph_task("sub", 7);
  t.user_priority = 3;
  UpdateGraph g = graph("c1", {t}, {"sub"}, /*fifo_timeout=*/0);
  g.submitting_task = "m-1";
  e = h.submit_graph(g);
  CHECK(workers(h.s, e) == V{"w1 compute-task sub prio=[-3,-0.01,7]"});
}

TEST_CASE("task_finished for a key already in memory adds a replica", "[lifecycle]") {
  XOnTwoWorkers h;
  auto rid = h.run_id("x");
  h.finish("w1", "x");
  Effects e = h.finish_run("w2", "x", rid);
  CHECK(e.empty());
  CHECK(h.s.task(*h.s.find_task("x")).who_has.size() == 2);
}

}  // namespace daskcpp::scheduler::test
