// task-erred: blame propagation, retries, the retry RPC.
#include "test_helpers.hpp"

namespace daskcpp::scheduler::test {

using V = std::vector<std::string>;

TEST_CASE("an erred task errs its dependents with its blame", "[errors]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", {{"a", {}, 0}, {"b", {"a"}, 1}, {"c", {"b"}, 2}}, {"c"});
  h.submit("c2", {{"b", {"a"}, 1}}, {"b"});
  Effects e = h.err("w1", "a", "ZeroDivisionError");
  CHECK(workers(h.s, e).empty());
  // c2 wants b, c1 wants c; both get a's exception under their own key.
  CHECK(clients(h.s, e) ==
        V{"c2 task-erred b ZeroDivisionError", "c1 task-erred c ZeroDivisionError"});
  CHECK(h.status("a") == TaskStatus::erred);
  CHECK(h.status("b") == TaskStatus::erred);
  CHECK(h.status("c") == TaskStatus::erred);
  auto c = *h.s.find_task("c");
  CHECK(h.s.task(c).exception_blame == *h.s.find_task("a"));

  // A later client asking for c hears about the error at once.
  e = h.on(ClientDesiresKeys{"c3", {"c"}});
  CHECK(clients(h.s, e) ==
        V{"c1 task-erred c ZeroDivisionError", "c3 task-erred c ZeroDivisionError"});
}

TEST_CASE("retries re-run a failing task before it errs", "[errors]") {
  Harness h;
  h.add_worker("w1");
  GraphTask t = graph_task("flaky");
  t.retries = 1;
  Effects e = h.submit_graph(graph("c1", {t}, {"flaky"}));
  CHECK(workers(h.s, e) == V{"w1 compute-task flaky prio=[0,1,0]"});
  CHECK(h.run_id("flaky") == 0);

  e = h.err("w1", "flaky");
  // processing → released → waiting → processing again, with a new run_id.
  CHECK(workers(h.s, e) ==
        V{"w1 free-keys [flaky]", "w1 compute-task flaky prio=[0,1,0]"});
  CHECK(clients(h.s, e).empty());
  CHECK(h.run_id("flaky") == 1);

  e = h.err("w1", "flaky");
  CHECK(workers(h.s, e).empty());
  CHECK(clients(h.s, e) == V{"c1 task-erred flaky boom"});
}

TEST_CASE("retry resets erred tasks and their erred dependents", "[errors]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", {{"a", {}, 0}, {"b", {"a"}, 1}}, {"b"});
  h.err("w1", "a");
  Effects e = h.on(Retry{{"b"}}, "retry-");
  CHECK(e.retried == V{"b", "a"});
  CHECK(workers(h.s, e) == V{"w1 free-keys [a]", "w1 compute-task a prio=[0,1,0]"});
  CHECK(clients(h.s, e) == V{"c1 task-retried b"});
  CHECK(h.status("b") == TaskStatus::waiting);
  e = h.finish("w1", "a");
  CHECK(workers(h.s, e) == V{"w1 compute-task b prio=[0,1,1] deps={a:[w1]}"});
}

TEST_CASE("stale task-erred from a re-assigned task is ignored", "[errors]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", {{"x"}}, {"x"});
  TaskErred m;
  m.worker = "w1";
  m.key = "x";
  m.run_id = 99;
  Effects e = h.on(m);
  // run_id mismatch on the same worker: released and re-run.
  CHECK(workers(h.s, e) == V{"w1 free-keys [x]", "w1 compute-task x prio=[0,1,0]"});
  m.key = "unknown";
  e = h.on(m);
  CHECK(e.empty());
}

TEST_CASE("impossible transitions are errors naming key, states and stimulus",
          "[errors]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", {{"x"}}, {"x"});
  Recs recs;
  Effects out;
  // processing → memory needs the task-finished arguments.
  Status st = transition(h.s, *h.s.find_task("x"), TaskStatus::memory, {},
                         Stimulus{"bad-1", 0}, recs, out);
  CHECK(st.code() == StatusCode::kInvalid);
  CHECK(st.message() ==
        "processing -> memory without task-finished for key x (stimulus_id=bad-1)");
  // released → queued has no table entry and cannot go "through released".
  h.finish("w1", "x");
  h.submit("c1", {{"a", {}, 0}, {"b", {"a"}, 1}}, {"b"});
  h.finish("w1", "a");
  h.finish("w1", "b");
  REQUIRE(h.status("a") == TaskStatus::released);
  st = transition(h.s, *h.s.find_task("a"), TaskStatus::queued, {}, Stimulus{"bad-2", 0},
                  recs, out);
  CHECK(st.message() ==
        "Impossible transition from released to queued for key a (stimulus_id=bad-2)");
}

}  // namespace daskcpp::scheduler::test
