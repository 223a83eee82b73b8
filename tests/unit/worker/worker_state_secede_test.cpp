// Secede / long-running transitions of the WorkerState, shaped like the
// test_secede* cases of distributed/tests/test_worker_state_machine.py: one stimulus,
// then the exact instructions, with validate() after every step.

#include <string>
#include <vector>

#include "tests/unit/worker/worker_state_fixtures.hpp"

namespace daskcpp::worker {
namespace {

using namespace testing;
using protocol::Value;

WorkerState one_thread() { return make_state(1, 1000); }

TEST_CASE("secede frees the slot and reports long-running", "[worker_state][secede]") {
  WorkerState ws = one_thread();
  CHECK(handle(ws, compute("a", 1, {}, 0, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(handle(ws, compute("b", 2, {}, 1, "s2")).empty());  // one thread: b waits
  CHECK(status_of(ws, "b") == TaskStatus::ready);

  Instructions out = handle(ws, SecedeEvent{k("a"), 0.25, "secede-1"});
  CHECK(out == Instructions{LongRunningMsg{k("a"), 1, 0.25, "secede-1"},
                            Execute{k("b"), "secede-1"}});
  CHECK(status_of(ws, "a") == TaskStatus::long_running);
  CHECK(ws.executing() == std::set<Key>{k("b")});
  CHECK(ws.long_running() == std::set<Key>{k("a")});
  CHECK(ws.task_counts() ==
        std::map<std::string, std::int64_t>{{"executing", 1}, {"long-running", 1}});
  check_valid(ws);

  // The seceded task finishes like any other; its startstops say compute.
  out = handle(ws, success("a", 1, "s3"));
  CHECK(out == Instructions{finished("a", 1, "s3")});
  CHECK(ws.long_running().empty());
  CHECK(status_of(ws, "a") == TaskStatus::memory);
  check_valid(ws);
}

TEST_CASE("seceding twice or for an unknown key does nothing", "[worker_state][secede]") {
  WorkerState ws = one_thread();
  handle(ws, compute("a", 1, {}, 0, "s1"));
  handle(ws, SecedeEvent{k("a"), 0.5, "secede-1"});
  CHECK(handle(ws, SecedeEvent{k("a"), 0.7, "secede-2"}).empty());
  CHECK(handle(ws, SecedeEvent{k("zzz"), 0.7, "secede-3"}).empty());
  CHECK(status_of(ws, "a") == TaskStatus::long_running);
  check_valid(ws);
}

TEST_CASE("a cancelled task that secedes is reported when computed again",
          "[worker_state][secede]") {
  WorkerState ws = one_thread();
  handle(ws, compute("a", 1, {}, 0, "s1"));
  CHECK(handle(ws, FreeKeysEvent{{k("a")}, "s2"}).empty());
  CHECK(status_of(ws, "a") == TaskStatus::cancelled);

  // The scheduler forgot it: no long-running message, but the slot is freed.
  CHECK(handle(ws, compute("b", 2, {}, 0, "s3")).empty());  // slot still held by a
  CHECK(handle(ws, SecedeEvent{k("a"), 0.5, "secede-1"}) ==
        Instructions{Execute{k("b"), "secede-1"}});
  CHECK(status_of(ws, "a") == TaskStatus::cancelled);
  CHECK(ws.long_running() == std::set<Key>{k("a")});
  check_valid(ws);

  // Wanted again: long-running at once, and the scheduler hears it seceded.
  CHECK(handle(ws, compute("a", 4, {}, 0, "s4")) ==
        Instructions{LongRunningMsg{k("a"), 4, std::nullopt, "s4"}});
  CHECK(status_of(ws, "a") == TaskStatus::long_running);
  check_valid(ws);
}

TEST_CASE("a cancelled long-running task drops its result", "[worker_state][secede]") {
  WorkerState ws = one_thread();
  handle(ws, compute("a", 1, {}, 0, "s1"));
  handle(ws, SecedeEvent{k("a"), 0.5, "secede-1"});
  CHECK(handle(ws, FreeKeysEvent{{k("a")}, "s2"}).empty());
  CHECK(status_of(ws, "a") == TaskStatus::cancelled);
  check_valid(ws);
  CHECK(handle(ws, success("a", 1, "s3")) == Instructions{FreeData{k("a")}});
  CHECK(ws.task_count() == 0);
  CHECK(ws.long_running().empty());
  check_valid(ws);
}

TEST_CASE("a seceded task's failure reports task-erred", "[worker_state][secede]") {
  WorkerState ws = one_thread();
  handle(ws, compute("a", 1, {}, 0, "s1"));
  handle(ws, SecedeEvent{k("a"), 0.5, "secede-1"});
  Instructions out = handle(ws, failure("a", 1, "s2"));
  REQUIRE(out.size() == 1);
  CHECK(status_of(ws, "a") == TaskStatus::error);
  CHECK(ws.long_running().empty());
  check_valid(ws);
}

}  // namespace
}  // namespace daskcpp::worker
