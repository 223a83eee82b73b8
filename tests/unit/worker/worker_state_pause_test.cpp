// Pause / unpause of the WorkerState (upstream _handle_pause / _handle_unpause, as
// test_worker_state_machine.py's pause tests): while paused nothing starts executing
// and nothing is fetched; running work finishes; unpausing starts what waited.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "worker/state/worker_state.hpp"

namespace daskcpp::worker {
namespace {

using protocol::Value;

const std::string kSelf = "tcp://127.0.0.1:1";
const std::string kPeer = "tcp://127.0.0.1:2";

Key k(const char* s) { return Key::str(s); }

protocol::ComputeTask compute(const char* key, std::int64_t run_id,
                              protocol::WhoHas who_has, const char* stimulus) {
  protocol::ComputeTask ev;
  ev.key = k(key);
  ev.run_id = run_id;
  ev.priority = protocol::Array{Value(0.0)};
  ev.stimulus_id = stimulus;
  for (const auto& [dep, addrs] : who_has) ev.nbytes.push_back({dep, 8});
  ev.who_has = std::move(who_has);
  ev.run_spec = Value(Bytes::copy_of(std::string_view("spec")));  // opaque here
  return ev;
}

ExecuteSuccess success(const char* key, std::int64_t run_id, const char* stimulus) {
  return ExecuteSuccess{k(key),  run_id, 28,  Bytes::copy_of(std::string_view("T")),
                        "int",   1.0,    1.5, 7,
                        stimulus};
}

TEST_CASE("paused: nothing starts; unpause starts the ready task",
          "[worker_state][pause]") {
  WorkerState ws(WorkerStateOptions{kSelf, 1, 10, 1000});
  CHECK(ws.handle(compute("a", 1, {}, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(ws.handle(Pause{"p"}).empty());
  CHECK_FALSE(ws.running());
  CHECK(ws.handle(compute("b", 2, {}, "s2")).empty());
  // The running task finishes and is reported; b still does not start.
  Instructions done = ws.handle(success("a", 1, "s3"));
  REQUIRE(done.size() == 1);
  CHECK(std::holds_alternative<SendMsg>(done[0]));
  CHECK(ws.task(k("b"))->status == TaskStatus::ready);
  CHECK(ws.handle(Unpause{"u"}) == Instructions{Execute{k("b"), "u"}});
  CHECK(ws.running());
  CHECK(ws.validate().ok());
}

TEST_CASE("paused: dependencies are not fetched until unpaused",
          "[worker_state][pause]") {
  WorkerState ws(WorkerStateOptions{kSelf, 1, 10, 1000});
  CHECK(ws.handle(Pause{"p"}).empty());
  CHECK(ws.handle(compute("y", 1, {{k("x"), {kPeer}}}, "s1")).empty());
  CHECK(ws.task(k("x"))->status == TaskStatus::fetch);
  CHECK(ws.handle(Unpause{"u"}) == Instructions{GatherDep{kPeer, {k("x")}, 8, "u"}});
  CHECK(ws.validate().ok());
}

}  // namespace
}  // namespace daskcpp::worker
