// The transition table itself (upstream WorkerState._transition): a (start, finish)
// pair not in the table goes through `released`; an impossible pair is an error that
// names the key, both states and the stimulus id.

#include <string>
#include <vector>

#include "tests/unit/worker/worker_state_fixtures.hpp"

namespace daskcpp::worker {
namespace {

using namespace testing;

Recs recommend(const char* key, TaskStatus to) {
  Recs recs;
  recs.set(k(key), to);
  return recs;
}

TEST_CASE("flight -> waiting is not in the table: it goes through released",
          "[worker_state][transitions]") {
  WorkerState ws = make_state();
  handle(ws, compute("y", 2, {{k("x"), {kPeer}}}));
  REQUIRE(status_of(ws, "x") == TaskStatus::flight);
  // flight -> released (cancelled, previous flight) -> cancelled -> waiting (resumed).
  Result<Instructions> out = ws.transitions(recommend("x", TaskStatus::waiting), "t1");
  REQUIRE(out.ok());
  CHECK(out->empty());
  CHECK(status_of(ws, "x") == TaskStatus::resumed);
  CHECK(ws.task(k("x"))->previous == TaskStatus::flight);
  check_valid(ws);
}

TEST_CASE("scattering a key being fetched goes fetch -> released -> memory",
          "[worker_state][transitions]") {
  WorkerState ws = make_state();
  handle(ws, GatherDepBusyEvent{kPeer, "s0"});  // keep x in fetch
  handle(ws, compute("y", 2, {{k("x"), {kPeer}}}));
  REQUIRE(status_of(ws, "x") == TaskStatus::fetch);
  // fetch -> memory is not in the table: fetch -> released (x stays, y depends on
  // it) -> memory, which makes y ready.
  Instructions out =
      handle(ws, UpdateDataEvent{{{k("x"), 8, std::nullopt, "int"}}, "s1"});
  CHECK(out == Instructions{Execute{k("y"), "s1"}});
  CHECK(status_of(ws, "x") == TaskStatus::memory);
  check_valid(ws);
}

TEST_CASE("an impossible transition names the key, both states and the stimulus",
          "[worker_state][transitions]") {
  WorkerState ws = make_state();
  handle(ws, compute("y", 2, {{k("x"), {kSelf}}}));  // nobody else holds x
  REQUIRE(status_of(ws, "x") == TaskStatus::missing);
  // missing -> executing: not in the table; via released, released -> executing is
  // not either.
  Result<Instructions> out =
      ws.transitions(recommend("x", TaskStatus::executing), "stim-42");
  REQUIRE_FALSE(out.ok());
  const std::string text = out.status().to_string();
  INFO(text);
  CHECK(text.find("Impossible transition from missing to executing") !=
        std::string::npos);
  CHECK(text.find(k("x").to_debug_string()) != std::string::npos);
  CHECK(text.find("stimulus_id=stim-42") != std::string::npos);
}

TEST_CASE("a pair with released on one side and no entry is impossible",
          "[worker_state][transitions]") {
  WorkerState ws = make_state();
  handle(ws, compute("x", 1));
  REQUIRE(status_of(ws, "x") == TaskStatus::executing);
  handle(ws, success("x"));
  REQUIRE(status_of(ws, "x") == TaskStatus::memory);
  // memory -> released exists; released -> long-running does not.
  Result<Instructions> out =
      ws.transitions(recommend("x", TaskStatus::long_running), "stim-7");
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().to_string().find("to long-running") != std::string::npos);
}

TEST_CASE("a recommendation for an unknown key or the current state does nothing",
          "[worker_state][transitions]") {
  WorkerState ws = make_state();
  handle(ws, compute("x", 1));
  Result<Instructions> out = ws.transitions(recommend("zz", TaskStatus::waiting), "t");
  REQUIRE(out.ok());
  CHECK(out->empty());
  out = ws.transitions(recommend("x", TaskStatus::executing), "t");
  REQUIRE(out.ok());
  CHECK(out->empty());
  check_valid(ws);
}

TEST_CASE("the recommendations loop runs until steady", "[worker_state][transitions]") {
  WorkerState ws = make_state();
  handle(ws, compute("y", 2, {{k("x"), {kPeer}}}));
  // One event: x arrives -> memory, which recommends y ready, which the loop applies,
  // and y starts.
  Instructions out = handle(
      ws, GatherDepSuccessEvent{kPeer, {{k("x"), 8, std::nullopt, "int"}}, 1, 2, "s3"});
  CHECK(out == Instructions{AddKeysMsg{{k("x")}, "s3"}, Execute{k("y"), "s3"}});
  CHECK(status_of(ws, "y") == TaskStatus::executing);
  check_valid(ws);
}

}  // namespace
}  // namespace daskcpp::worker
