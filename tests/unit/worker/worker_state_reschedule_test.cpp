// A task that raises distributed.Reschedule (P2P output tasks that belong on another
// worker, after shuffle_restrict_task): upstream _handle_reschedule and
// _transition_executing_rescheduled — the scheduler hears `reschedule`, the task is
// released here without a result or an error, and its thread is free again.

#include "tests/unit/worker/worker_state_fixtures.hpp"

namespace daskcpp::worker {
namespace {

using namespace testing;

RescheduleEvent rescheduled(const char* key, std::int64_t run_id, const char* stimulus) {
  RescheduleEvent ev;
  ev.key = k(key);
  ev.run_id = run_id;
  ev.start = 1.0;
  ev.stop = 1.5;
  ev.thread = 7;
  ev.stimulus_id = stimulus;
  return ev;
}

TEST_CASE("Reschedule sends reschedule, forgets the task and frees its thread",
          "[worker_state][reschedule]") {
  WorkerState ws = make_state(1);
  CHECK(handle(ws, compute("a", 1, {}, 0, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(handle(ws, compute("b", 2, {}, 1, "s2")).empty());  // one thread: b waits

  Instructions out = handle(ws, rescheduled("a", 1, "reschedule-1"));
  CHECK(out == Instructions{RescheduleMsg{k("a"), "reschedule-1"},
                            Execute{k("b"), "reschedule-1"}});
  CHECK(ws.task(k("a")) == nullptr);
  CHECK(ws.executing() == std::set<Key>{k("b")});
  check_valid(ws);

  // The scheduler may send it back here later: it runs again.
  CHECK(handle(ws, success("b", 2, "s3")) == Instructions{finished("b", 2, "s3")});
  CHECK(handle(ws, compute("a", 5, {}, 0, "s4")) == Instructions{Execute{k("a"), "s4"}});
  check_valid(ws);
}

TEST_CASE("Reschedule of a task with dependencies keeps their data",
          "[worker_state][reschedule]") {
  WorkerState ws = make_state(1);
  handle(ws, compute("x", 1));
  handle(ws, success("x", 1));
  handle(ws, compute("y", 2, {{k("x"), {kSelf}}}, 0, "s5"));
  CHECK(status_of(ws, "y") == TaskStatus::executing);
  Instructions out = handle(ws, rescheduled("y", 2, "reschedule-2"));
  CHECK(out == Instructions{RescheduleMsg{k("y"), "reschedule-2"}});
  CHECK(ws.task(k("y")) == nullptr);
  CHECK(status_of(ws, "x") == TaskStatus::memory);
  check_valid(ws);
}

TEST_CASE("Reschedule of a seceded task", "[worker_state][reschedule]") {
  WorkerState ws = make_state(1);
  handle(ws, compute("a", 1, {}, 0, "s1"));
  handle(ws, SecedeEvent{k("a"), 0.25, "secede-1"});
  CHECK(status_of(ws, "a") == TaskStatus::long_running);
  Instructions out = handle(ws, rescheduled("a", 1, "reschedule-3"));
  CHECK(out == Instructions{RescheduleMsg{k("a"), "reschedule-3"}});
  CHECK(ws.task(k("a")) == nullptr);
  CHECK(ws.long_running().empty());
  check_valid(ws);
}

TEST_CASE("Reschedule of a cancelled task only releases it",
          "[worker_state][reschedule]") {
  WorkerState ws = make_state(1);
  handle(ws, compute("a", 1, {}, 0, "s1"));
  CHECK(handle(ws, FreeKeysEvent{{k("a")}, "free-1"}).empty());
  CHECK(status_of(ws, "a") == TaskStatus::cancelled);
  CHECK(handle(ws, rescheduled("a", 1, "reschedule-4")).empty());
  CHECK(ws.task(k("a")) == nullptr);
  CHECK(ws.executing().empty());
  check_valid(ws);
}

TEST_CASE("Reschedule for a task not running here is ignored",
          "[worker_state][reschedule]") {
  WorkerState ws = make_state(1);
  handle(ws, compute("a", 1));
  handle(ws, success("a", 1));
  CHECK(handle(ws, rescheduled("a", 1, "reschedule-5")).empty());
  CHECK(status_of(ws, "a") == TaskStatus::memory);
  CHECK(handle(ws, rescheduled("zz", 1, "reschedule-6")).empty());
  check_valid(ws);
}

}  // namespace
}  // namespace daskcpp::worker
