// Memory per task on a 100k-task graph, and a leak check over many rounds.
#include <cstdio>

#include "test_helpers.hpp"

namespace daskcpp::scheduler::test {

TEST_CASE("memory per task of a 100k-task map-reduce graph", "[memory]") {
  SchedulerConfig cfg;  // no per-transition validation: this is a size measurement
  cfg.transition_log_length = 1000;
  Harness h(cfg);
  for (int i = 0; i < 8; ++i)
    h.add_worker("tcp://10.0.0." + std::to_string(i) + ":1234", 4);
  // 90k map tasks in chunks of 9 feeding 10k reductions: a tree-ish shape with
  // dependencies and dependents on every task. Keys look like dask's.
  const int kReduce = 10000;
  const int kFan = 9;
  UpdateGraph g;
  g.client = "Client-6fca1d2c-e887-11f1-9e6b-02fc00000001";
  auto hex = [](int i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%032x", i * 2654435761u);
    return std::string(buf);
  };
  std::int64_t order = 0;
  for (int r = 0; r < kReduce; ++r) {
    GraphTask red;
    red.key = "sum-" + hex(r);
    red.prefix_name = red.group_name = "sum";
    red.run_spec = std::make_shared<const int>(0);
    for (int f = 0; f < kFan; ++f) {
      GraphTask m;
      m.key = "inc-" + hex(r * kFan + f);
      m.prefix_name = m.group_name = "inc";
      m.run_spec = red.run_spec;
      m.order = order++;
      red.dependencies.push_back(m.key);
      g.tasks.push_back(std::move(m));
    }
    red.order = order++;
    g.keys.push_back(red.key);
    g.tasks.push_back(std::move(red));
  }
  auto r = handle(h.s, g, h.next());
  REQUIRE(r.ok());
  REQUIRE(h.s.task_count() == 100000);
  std::size_t bytes = h.s.approx_task_bytes();
  double per_task = static_cast<double>(bytes) / 100000.0;
  WARN("sizeof(TaskState) = " << sizeof(TaskState)
                              << " bytes; arena + id sets + "
                                 "interned keys = "
                              << per_task << " bytes/task for 100k tasks");
  CHECK(sizeof(TaskState) <= 200);
  CHECK(per_task < 400);
  Status v = validate_state(h.s);
  INFO(v.to_string());
  CHECK(v.ok());
}

TEST_CASE("forgotten tasks leave nothing behind over many graphs", "[memory]") {
  Harness h;
  h.add_worker("w1", 2);
  for (int round = 0; round < 20; ++round) {
    std::string a = "a-" + std::to_string(round);
    std::string b = "b-" + std::to_string(round);
    h.submit("c1", {{a, {}, 0}, {b, {a}, 1}}, {b});
    h.finish("w1", a);
    h.finish("w1", b);
    h.release("c1", {b});
  }
  CHECK(h.s.task_count() == 0);
  CHECK(h.s.group_count() == 0);
  CHECK(h.s.worker(h.wid("w1")).has_what.empty());
  CHECK(h.s.worker(h.wid("w1")).nbytes == 0);
  CHECK(h.s.client(*h.s.find_client("c1")).wants_what.empty());
}

}  // namespace daskcpp::scheduler::test
