// Root-ish tasks and scheduler-side queuing (protocol.md §10.4).
#include "scheduler/transitions/graph_observer.hpp"
#include "test_helpers.hpp"

namespace daskcpp::scheduler::test {

using V = std::vector<std::string>;

namespace {
std::vector<TaskSpec> map_tasks(int n) {
  std::vector<TaskSpec> t;
  for (int i = 0; i < n; ++i) t.push_back({"inc-" + std::to_string(i), {}, i});
  return t;
}
std::vector<std::string> map_keys(int n) {
  std::vector<std::string> k;
  for (int i = 0; i < n; ++i) k.push_back("inc-" + std::to_string(i));
  return k;
}
}  // namespace

TEST_CASE("02_map_gather: 10 tasks on 2 x 1-thread workers, two in flight each",
          "[queuing]") {
  Harness h;
  h.add_worker("w1");
  h.add_worker("w2");
  Effects e = h.submit("c1", map_tasks(10), map_keys(10));
  CHECK(workers(h.s, e) ==
        V{"w1 compute-task inc-0 prio=[0,1,0]", "w2 compute-task inc-1 prio=[0,1,1]",
          "w1 compute-task inc-2 prio=[0,1,2]", "w2 compute-task inc-3 prio=[0,1,3]"});
  CHECK(h.s.queued().size() == 6);
  for (int i = 4; i < 10; ++i) {
    CHECK(h.status("inc-" + std::to_string(i)) == TaskStatus::queued);
  }
  e = h.finish("w1", "inc-0");
  CHECK(clients(h.s, e) == V{"c1 key-in-memory inc-0 +type"});
  CHECK(workers(h.s, e) == V{"w1 compute-task inc-4 prio=[0,1,4]"});
  e = h.finish("w2", "inc-1");
  CHECK(workers(h.s, e) == V{"w2 compute-task inc-5 prio=[0,1,5]"});
  e = h.finish("w2", "inc-3");
  CHECK(workers(h.s, e) == V{"w2 compute-task inc-6 prio=[0,1,6]"});
  // Releasing queued keys takes them out of the queue without sending anything.
  e = h.release("c1", {"inc-9"});
  CHECK(e.empty());
  CHECK_FALSE(h.known("inc-9"));
  CHECK(h.s.queued().size() == 2);
}

TEST_CASE("a new worker drains the queue up to its slots", "[queuing]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", map_tasks(8), map_keys(8));
  CHECK(h.s.queued().size() == 6);
  Effects e = h.add_worker("w2", 2);  // ceil(1.1 * 2) = 3 slots
  CHECK(workers(h.s, e) == V{"w2 compute-task inc-2 prio=[0,1,2]",
                             "w2 compute-task inc-3 prio=[0,1,3]",
                             "w2 compute-task inc-4 prio=[0,1,4]"});
}

TEST_CASE("long-running tasks free their slot", "[queuing]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", map_tasks(6), map_keys(6));
  Effects e = h.on(LongRunning{"w1", "inc-0", h.run_id("inc-0"), {}});
  CHECK(workers(h.s, e) == V{"w1 compute-task inc-2 prio=[0,1,2]"});
}

TEST_CASE("worker-saturation inf: root-ish tasks are all sent, co-assigned",
          "[queuing]") {
  SchedulerConfig cfg = Harness::validated();
  cfg.worker_saturation = kInfinity;
  Harness h(cfg);
  h.add_worker("w1");
  h.add_worker("w2");
  Effects e = h.submit("c1", map_tasks(8), map_keys(8));
  CHECK(workers(h.s, e) ==
        V{"w1 compute-task inc-0 prio=[0,1,0]", "w1 compute-task inc-1 prio=[0,1,1]",
          "w1 compute-task inc-2 prio=[0,1,2]", "w1 compute-task inc-3 prio=[0,1,3]",
          "w2 compute-task inc-4 prio=[0,1,4]", "w2 compute-task inc-5 prio=[0,1,5]",
          "w2 compute-task inc-6 prio=[0,1,6]", "w2 compute-task inc-7 prio=[0,1,7]"});
  CHECK(h.s.queued().empty());
}

TEST_CASE("root-ish tasks with no workers wait in the queue", "[queuing]") {
  Harness h;
  UpdateGraph g = graph("c1", {}, {}, /*fifo_timeout=*/0);
  for (int i = 0; i < 3; ++i) {
    GraphTask t = graph_task("read-" + std::to_string(i), i);
    t.data_producer = true;  // explicitly root-ish
    g.tasks.push_back(t);
    g.keys.push_back(t.key);
  }
  Effects e = h.submit_graph(g);
  CHECK(e.empty());
  CHECK(h.s.queued().size() == 3);
  e = h.add_worker("w1");
  CHECK(workers(h.s, e) ==
        V{"w1 compute-task read-0 prio=[0,1,0]", "w1 compute-task read-1 prio=[0,1,1]"});
}

namespace {
// Does what the P2P extension does to a barrier's dependents (_queueable = False)
// to every task of a graph, at the point stock calls update_graph hooks.
class MarkNotQueueable final : public GraphObserver {
 public:
  void on_update_graph(SchedulerState& s, const UpdateGraph&,
                       const std::vector<TaskId>& touched, const std::vector<TaskId>&,
                       const Stimulus&) override {
    for (TaskId id : touched) s.task(id).queueable = false;
    ++calls;
  }
  int calls = 0;
};
}  // namespace

TEST_CASE(
    "non-queueable root-ish tasks take the queuing-disabled path (scheduler.py 2440)",
    "[queuing]") {
  Harness h;
  MarkNotQueueable observer;
  h.s.set_graph_observer(&observer);
  h.add_worker("w1");
  Effects e = h.submit("c1", map_tasks(4), map_keys(4));
  CHECK(observer.calls == 1);
  CHECK(workers(h.s, e) ==
        V{"w1 compute-task inc-0 prio=[0,1,0]", "w1 compute-task inc-1 prio=[0,1,1]",
          "w1 compute-task inc-2 prio=[0,1,2]", "w1 compute-task inc-3 prio=[0,1,3]"});
  CHECK(h.s.queued().empty());
  h.s.set_graph_observer(nullptr);
}

TEST_CASE("the graph observer is not called when none is installed", "[queuing]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", map_tasks(4), map_keys(4));
  CHECK(h.s.queued().size() == 2);  // queueable by default: queued as usual
}

}  // namespace daskcpp::scheduler::test
