// Shaped like distributed/tests/test_worker_state_machine.py: one stimulus, then
// `instructions == [...]`, with validate() after every step.

#include <string>
#include <vector>

#include "tests/unit/worker/worker_state_fixtures.hpp"

namespace daskcpp::worker {
namespace {

using namespace testing;
using protocol::Value;

TEST_CASE("compute-task without dependencies executes at once", "[worker_state]") {
  WorkerState ws = make_state();
  Instructions out = handle(ws, compute("x", 1));
  CHECK(out == Instructions{Execute{k("x"), "s1"}});
  CHECK(status_of(ws, "x") == TaskStatus::executing);
  check_valid(ws);

  out = handle(ws, success("x"));
  CHECK(out == Instructions{finished("x", 1, "s2")});
  CHECK(status_of(ws, "x") == TaskStatus::memory);
  CHECK(ws.task_counts() == std::map<std::string, std::int64_t>{{"memory", 1}});
  CHECK(ws.managed_bytes() == 28);
  check_valid(ws);
}

TEST_CASE("tasks beyond nthreads wait in priority order", "[worker_state]") {
  WorkerState ws = make_state(1);
  CHECK(handle(ws, compute("a", 1, {}, 5)) == Instructions{Execute{k("a"), "s1"}});
  CHECK(handle(ws, compute("b", 2, {}, 3)).empty());
  CHECK(handle(ws, compute("c", 3, {}, 1)).empty());
  CHECK(status_of(ws, "b") == TaskStatus::ready);
  check_valid(ws);
  Instructions out = handle(ws, success("a"));
  REQUIRE(out.size() == 2);
  CHECK(out[1] == Instruction{Execute{k("c"), "s2"}});  // lower priority value first
  check_valid(ws);
}

TEST_CASE("dependencies are fetched from who_has, then the task runs", "[worker_state]") {
  WorkerState ws = make_state();
  Instructions out = handle(ws, compute("y", 2, {{k("x"), {kPeer}}}));
  CHECK(out == Instructions{GatherDep{kPeer, {k("x")}, 8, "s1"}});
  CHECK(status_of(ws, "x") == TaskStatus::flight);
  CHECK(status_of(ws, "y") == TaskStatus::waiting);
  check_valid(ws);

  out = handle(
      ws, GatherDepSuccessEvent{kPeer, {{k("x"), 8, std::nullopt, "int"}}, 1, 2, "s3"});
  CHECK(out == Instructions{AddKeysMsg{{k("x")}, "s3"}, Execute{k("y"), "s3"}});
  CHECK(status_of(ws, "x") == TaskStatus::memory);
  CHECK(ws.in_flight_workers().empty());
  check_valid(ws);
}

TEST_CASE("a dependency with no holder is missing and asks the scheduler",
          "[worker_state]") {
  WorkerState ws = make_state();
  Instructions out = handle(ws, compute("y", 2, {{k("x"), {kSelf}}}));  // ourselves only
  CHECK(out == Instructions{RequestRefreshWhoHasMsg{{k("x")}, "s1"}});
  CHECK(status_of(ws, "x") == TaskStatus::missing);
  check_valid(ws);

  out = handle(ws, RefreshWhoHasEvent{{{k("x"), {kPeer}}}, "s2"});
  CHECK(out == Instructions{GatherDep{kPeer, {k("x")}, 8, "s2"}});
  check_valid(ws);
}

TEST_CASE("busy peer: fetch elsewhere, then retry", "[worker_state]") {
  WorkerState ws = make_state();
  handle(ws, compute("y", 2, {{k("x"), {kPeer}}}));
  Instructions out = handle(ws, GatherDepBusyEvent{kPeer, "s2"});
  CHECK(out.empty());
  CHECK(status_of(ws, "x") == TaskStatus::fetch);
  check_valid(ws);
  out = handle(ws, RetryBusyWorkerEvent{kPeer, "s3"});
  CHECK(out == Instructions{GatherDep{kPeer, {k("x")}, 8, "s3"}});
}

TEST_CASE("network failure forgets the peer and uses another holder", "[worker_state]") {
  WorkerState ws = make_state();
  handle(ws, compute("y", 2, {{k("x"), {kPeer, kPeer2}}}));
  const TaskState* x = ws.task(k("x"));
  REQUIRE(x->coming_from == kPeer);
  Instructions out = handle(ws, GatherDepNetworkFailureEvent{kPeer, "s2"});
  CHECK(out == Instructions{GatherDep{kPeer2, {k("x")}, 8, "s2"}});
  check_valid(ws);
}

TEST_CASE("peer without the key: removed from who_has, missing", "[worker_state]") {
  WorkerState ws = make_state();
  handle(ws, compute("y", 2, {{k("x"), {kPeer}}}));
  Instructions out = handle(ws, GatherDepSuccessEvent{kPeer, {}, 1, 2, "s2"});
  CHECK(out == Instructions{RequestRefreshWhoHasMsg{{k("x")}, "s2"}});
  CHECK(status_of(ws, "x") == TaskStatus::missing);
  check_valid(ws);
}

TEST_CASE("free-keys of data in memory answers release-worker-data", "[worker_state]") {
  WorkerState ws = make_state();
  handle(ws, compute("x", 1));
  handle(ws, success("x"));
  Instructions out = handle(ws, FreeKeysEvent{{k("x"), k("unknown")}, "s3"});
  CHECK(out == Instructions{FreeData{k("x")}, ReleaseWorkerDataMsg{k("x"), "s3"}});
  CHECK(ws.task(k("x")) == nullptr);
  CHECK(ws.task_count() == 0);
}

TEST_CASE("free-keys while executing cancels; the result is dropped", "[worker_state]") {
  WorkerState ws = make_state();
  handle(ws, compute("x", 1));
  CHECK(handle(ws, FreeKeysEvent{{k("x")}, "s2"}).empty());
  CHECK(status_of(ws, "x") == TaskStatus::cancelled);
  check_valid(ws);
  Instructions out = handle(ws, success("x", 1, "s3"));
  CHECK(out == Instructions{FreeData{k("x")}});
  CHECK(ws.task_count() == 0);
}

TEST_CASE("cancelled then computed again resumes executing", "[worker_state]") {
  WorkerState ws = make_state();
  handle(ws, compute("x", 1));
  handle(ws, FreeKeysEvent{{k("x")}, "s2"});
  CHECK(handle(ws, compute("x", 5, {}, 0, "s3")).empty());
  CHECK(status_of(ws, "x") == TaskStatus::executing);
  Instructions out = handle(ws, success("x", 5, "s4"));
  CHECK(out == Instructions{finished("x", 5, "s4")});
}

TEST_CASE("free-keys of a waiting task stops fetching its dependency", "[worker_state]") {
  WorkerState ws = make_state();
  handle(ws, compute("y", 2, {{k("x"), {kPeer}}}));
  CHECK(handle(ws, FreeKeysEvent{{k("y")}, "s2"}).empty());
  CHECK(ws.task(k("y")) == nullptr);
  CHECK(status_of(ws, "x") == TaskStatus::cancelled);  // it was in flight
  Instructions out = handle(
      ws, GatherDepSuccessEvent{kPeer, {{k("x"), 8, std::nullopt, "int"}}, 1, 2, "s3"});
  CHECK(out == Instructions{FreeData{k("x")}});
  CHECK(ws.task_count() == 0);
}

TEST_CASE("steal-request of a ready task drops it", "[worker_state]") {
  WorkerState ws = make_state(1);
  handle(ws, compute("a", 1));
  handle(ws, compute("b", 2));
  Instructions out = handle(ws, StealRequestEvent{k("b"), "steal-1"});
  CHECK(out == Instructions{StealResponseMsg{k("b"), "ready", "steal-1"}});
  CHECK(ws.task(k("b")) == nullptr);
  check_valid(ws);
}

TEST_CASE("steal-request of an executing or unknown task is refused", "[worker_state]") {
  WorkerState ws = make_state(1);
  handle(ws, compute("a", 1));
  CHECK(handle(ws, StealRequestEvent{k("a"), "steal-1"}) ==
        Instructions{StealResponseMsg{k("a"), "executing", "steal-1"}});
  CHECK(status_of(ws, "a") == TaskStatus::executing);
  CHECK(handle(ws, StealRequestEvent{k("zz"), "steal-2"}) ==
        Instructions{StealResponseMsg{k("zz"), std::nullopt, "steal-2"}});
}

TEST_CASE("compute-task for a key in memory reports task-finished again",
          "[worker_state]") {
  WorkerState ws = make_state();
  handle(ws, compute("x", 1));
  handle(ws, success("x"));
  Instructions out = handle(ws, compute("x", 9, {}, 0, "s5"));
  CHECK(out == Instructions{finished("x", 9, "s5")});
}

TEST_CASE("task error reports task-erred with the payloads", "[worker_state]") {
  WorkerState ws = make_state();
  handle(ws, compute("x", 3));
  ExecuteFailureEvent f = failure("x", 3, "s2");
  f.exception = Value("E");
  f.traceback_text = "tb";
  f.start = 1;
  f.stop = 2;
  f.thread = 4;
  Instructions out = handle(ws, f);
  CHECK(out == Instructions{TaskErredMsg{k("x"),
                                         3,
                                         Value("E"),
                                         Value(),
                                         "ZeroDivisionError()",
                                         "tb",
                                         4,
                                         {{"compute", 1, 2, std::nullopt}},
                                         "s2"}});
  CHECK(status_of(ws, "x") == TaskStatus::error);
  check_valid(ws);
}

TEST_CASE("remove-worker drops the peer as a holder", "[worker_state]") {
  WorkerState ws = make_state();
  handle(ws, GatherDepBusyEvent{kPeer, "s0"});  // keep kPeer out of ensure_communicating
  handle(ws, compute("y", 2, {{k("x"), {kPeer}}}));
  CHECK(status_of(ws, "x") == TaskStatus::fetch);
  Instructions out = handle(ws, RemoveWorkerEvent{kPeer, "s2"});
  CHECK(out == Instructions{RequestRefreshWhoHasMsg{{k("x")}, "s2"}});
  CHECK(status_of(ws, "x") == TaskStatus::missing);
  check_valid(ws);
}

TEST_CASE("acquire-replicas fetches and reports add-keys", "[worker_state]") {
  WorkerState ws = make_state();
  Instructions out =
      handle(ws, AcquireReplicasEvent{{{k("x"), {kPeer}}}, {{k("x"), 100}}, "s1"});
  CHECK(out == Instructions{GatherDep{kPeer, {k("x")}, 100, "s1"}});
  out = handle(
      ws, GatherDepSuccessEvent{kPeer, {{k("x"), 100, std::nullopt, "int"}}, 1, 2, "s2"});
  CHECK(out == Instructions{AddKeysMsg{{k("x")}, "s2"}});
  CHECK(status_of(ws, "x") == TaskStatus::memory);
  check_valid(ws);
}

TEST_CASE("remove-replicas releases only unneeded replicas", "[worker_state]") {
  WorkerState ws = make_state(1);
  handle(ws, compute("a", 1));
  handle(ws, GatherDepBusyEvent{kPeer2, "s0"});
  handle(ws, compute("z", 2, {{k("x"), {kPeer}}, {k("w"), {kPeer2}}}));
  handle(ws,
         GatherDepSuccessEvent{kPeer, {{k("x"), 8, std::nullopt, "int"}}, 1, 2, "s2"});
  // z still waits for w: x must stay.
  CHECK(handle(ws, RemoveReplicasEvent{{k("x")}, "s3"}).empty());
  CHECK(status_of(ws, "x") == TaskStatus::memory);
  check_valid(ws);
}

TEST_CASE("update-data puts scattered values in memory", "[worker_state]") {
  WorkerState ws = make_state();
  CHECK(handle(ws, UpdateDataEvent{{{k("d"), 10, std::nullopt, "int"}}, "s1"}).empty());
  CHECK(status_of(ws, "d") == TaskStatus::memory);
  CHECK(ws.managed_bytes() == 10);
}

TEST_CASE("transfers are batched per peer within the byte limit", "[worker_state]") {
  WorkerState ws = make_state(1, 10);
  Instructions out = handle(
      ws, compute("y", 2, {{k("a"), {kPeer}}, {k("b"), {kPeer}}, {k("c"), {kPeer2}}}));
  // 8 bytes each, limit 10: a alone from kPeer, c from kPeer2; b waits for kPeer.
  CHECK(out == Instructions{GatherDep{kPeer, {k("a")}, 8, "s1"},
                            GatherDep{kPeer2, {k("c")}, 8, "s1"}});
  CHECK(status_of(ws, "b") == TaskStatus::fetch);
  check_valid(ws);
}

}  // namespace
}  // namespace daskcpp::worker
