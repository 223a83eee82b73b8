// The engine's TransitionObserver hook (upstream's plugin loop in
// SchedulerState._transition) and fire_and_forget's pseudo-client.
#include <memory>

#include "scheduler/transitions/transition_observer.hpp"
#include "scheduler/transitions/transitions.hpp"
#include "test_helpers.hpp"

namespace daskcpp::scheduler::test {

using V = std::vector<std::string>;

namespace {

// Records "key start->finish stimulus" per call, and what it saw of the task.
struct Recorder final : TransitionObserver {
  V calls;
  V links;  // for forgotten: "key deps=[...] dependents=[...]"
  int with_wire = 0;

  void on_transition(SchedulerState& s, TaskId id, TaskStatus start, TaskStatus finish,
                     const TransitionArgs& args, const Stimulus& stim,
                     const LinksBefore* before) override {
    REQUIRE(s.task(id).alive);
    calls.push_back(std::string(s.key(id)) + " " + std::string(task_status_name(start)) +
                    "->" + std::string(task_status_name(finish)) + " " + stim.id);
    if (args.wire != nullptr) ++with_wire;
    if (finish == TaskStatus::forgotten) {
      REQUIRE(before != nullptr);
      std::string line = std::string(s.key(id)) + " deps=[";
      for (TaskId d : before->dependencies) line += std::string(s.key(d)) + ",";
      line += "] dependents=[";
      for (TaskId d : before->dependents) line += std::string(s.key(d)) + ",";
      links.push_back(line + "]");
    } else {
      CHECK(before == nullptr);
    }
  }
};

}  // namespace

TEST_CASE("the observer sees every single transition with the actual finish",
          "[observer]") {
  Harness h;
  Recorder rec;
  h.s.set_transition_observer(&rec);
  h.add_worker("w1");
  h.submit("c1", {{"x"}}, {"x"});
  h.finish("w1", "x");
  h.release("c1", {"x"});
  CHECK(rec.calls == V{"x released->waiting update-graph-2",
                       "x waiting->processing update-graph-2",
                       "x processing->memory task-finished-3",
                       "x memory->forgotten client-releases-keys-4"});
  CHECK(rec.links == V{"x deps=[] dependents=[]"});
}

TEST_CASE("a routed transition is seen as its two halves", "[observer]") {
  XOnTwoWorkers h;
  Recorder rec;
  h.s.set_transition_observer(&rec);
  Recs recs;
  recs.set(*h.s.find_task("x"), TaskStatus::waiting);
  Effects out;
  REQUIRE(transitions(h.s, std::move(recs), Stimulus{"route", h.now}, out).ok());
  // processing -> waiting has no function of its own: via released, whose own
  // recommendation (waiting, then processing again) follows.
  REQUIRE(rec.calls.size() >= 2);
  CHECK(rec.calls[0] == "x processing->released route");
  CHECK(rec.calls[1] == "x released->waiting route");
  CHECK(h.status("x") == TaskStatus::processing);
}

TEST_CASE("a forgotten task is alive during the call, with its links from before",
          "[observer]") {
  Harness h;
  Recorder rec;
  h.add_worker("w1");
  h.submit("c1", {{"a", {}, 0}, {"b", {"a"}, 1}}, {"b"});
  h.s.set_transition_observer(&rec);
  h.release("c1", {"b"});
  // b unlinked itself from a first (propagate_forgotten), as upstream.
  CHECK(rec.links == V{"b deps=[a,] dependents=[]", "a deps=[] dependents=[]"});
  CHECK(h.s.task_count() == 0);
}

TEST_CASE("no observer, no calls; removing it stops them", "[observer]") {
  Harness h;
  Recorder rec;
  h.add_worker("w1");
  h.submit("c1", {{"x"}}, {"x"});
  CHECK(rec.calls.empty());
  h.s.set_transition_observer(&rec);
  h.finish("w1", "x");
  CHECK(rec.calls == V{"x processing->memory task-finished-3"});
  h.s.set_transition_observer(nullptr);
  h.release("c1", {"x"});
  CHECK(rec.calls.size() == 1);
}

TEST_CASE("task-finished's wire message reaches the observer as the kwargs handle",
          "[observer]") {
  Harness h;
  Recorder rec;
  h.add_worker("w1");
  h.submit("c1", {{"x"}}, {"x"});
  h.s.set_transition_observer(&rec);
  TaskFinished m;
  m.worker = "w1";
  m.key = "x";
  m.run_id = h.run_id("x");
  m.nbytes = 8;
  m.wire = std::make_shared<const int>(7);
  h.on(m, "task-finished-");
  CHECK(rec.calls == V{"x processing->memory task-finished-3"});
  CHECK(rec.with_wire == 1);
}

// ---- fire_and_forget ----------------------------------------------------------------

TEST_CASE("fire_and_forget keeps a dropped dependency chain running, then forgets it",
          "[observer][fire-and-forget]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", {{"a"}}, {"a"});
  h.submit("c1", {{"b", {"a"}, 1}}, {"b"});
  h.on(ClientDesiresKeys{"fire-and-forget", {"b"}}, "client-desires-keys-");
  h.release("c1", {"a"});
  h.release("c1", {"b"});
  REQUIRE(h.known("a"));
  REQUIRE(h.known("b"));
  CHECK(h.status("a") == TaskStatus::processing);
  CHECK(h.status("b") == TaskStatus::waiting);
  h.finish("w1", "a");
  CHECK(h.status("b") == TaskStatus::processing);
  h.finish("w1", "b");
  CHECK_FALSE(h.known("b"));
  CHECK_FALSE(h.known("a"));
  CHECK(h.s.task_count() == 0);
}

TEST_CASE("fire_and_forget survives its client leaving", "[observer][fire-and-forget]") {
  Harness h;
  h.add_worker("w1");
  h.on(AddClient{"c1"});
  h.submit("c1", {{"a"}}, {"a"});
  h.submit("c1", {{"b", {"a"}, 1}}, {"b"});
  h.on(ClientDesiresKeys{"fire-and-forget", {"b"}}, "client-desires-keys-");
  h.on(RemoveClient{"c1"}, "remove-client-");
  CHECK(h.status("b") == TaskStatus::waiting);
  h.finish("w1", "a");
  h.finish("w1", "b");
  CHECK(h.s.task_count() == 0);
}

}  // namespace daskcpp::scheduler::test
