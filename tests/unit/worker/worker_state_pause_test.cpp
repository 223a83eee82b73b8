// Pause / unpause of the WorkerState (upstream _handle_pause / _handle_unpause, as
// test_worker_state_machine.py's pause tests): while paused nothing starts executing
// and nothing is fetched; running work finishes; unpausing starts what waited.

#include <string>
#include <vector>

#include "tests/unit/worker/worker_state_fixtures.hpp"

namespace daskcpp::worker {
namespace {

using namespace testing;
using protocol::Value;

TEST_CASE("paused: nothing starts; unpause starts the ready task",
          "[worker_state][pause]") {
  WorkerState ws = make_state(1, 1000);
  CHECK(handle(ws, compute("a", 1, {}, 0, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(handle(ws, PauseEvent{"p"}).empty());
  CHECK_FALSE(ws.running());
  CHECK(handle(ws, compute("b", 2, {}, 0, "s2")).empty());
  // The running task finishes and is reported; b still does not start.
  Instructions done = handle(ws, success("a", 1, "s3"));
  REQUIRE(done.size() == 1);
  CHECK(std::holds_alternative<TaskFinishedMsg>(done[0]));
  CHECK(ws.task(k("b"))->status == TaskStatus::ready);
  CHECK(handle(ws, UnpauseEvent{"u"}) == Instructions{Execute{k("b"), "u"}});
  CHECK(ws.running());
  CHECK(ws.validate().ok());
}

TEST_CASE("paused: dependencies are not fetched until unpaused",
          "[worker_state][pause]") {
  WorkerState ws = make_state(1, 1000);
  CHECK(handle(ws, PauseEvent{"p"}).empty());
  CHECK(handle(ws, compute("y", 1, {{k("x"), {kPeer}}}, 0, "s1")).empty());
  CHECK(ws.task(k("x"))->status == TaskStatus::fetch);
  CHECK(handle(ws, UnpauseEvent{"u"}) ==
        Instructions{GatherDep{kPeer, {k("x")}, 8, "u"}});
  CHECK(ws.validate().ok());
}

}  // namespace
}  // namespace daskcpp::worker
