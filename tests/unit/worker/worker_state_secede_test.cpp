// Secede / long-running transitions of the WorkerState, shaped like the
// test_secede* cases of distributed/tests/test_worker_state_machine.py: one stimulus,
// then the exact instructions, with validate() after every step.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "worker/state/worker_state.hpp"

namespace daskcpp::worker {
namespace {

using protocol::Value;

const std::string kSelf = "tcp://127.0.0.1:1";

Key k(const char* s) { return Key::str(s); }

protocol::ComputeTask compute(const char* key, std::int64_t run_id, double priority,
                              const char* stimulus) {
  protocol::ComputeTask ev;
  ev.key = k(key);
  ev.run_id = run_id;
  ev.priority = protocol::Array{Value(priority)};
  ev.stimulus_id = stimulus;
  ev.run_spec = Value(Bytes::copy_of(std::string_view("spec")));  // opaque here
  return ev;
}

ExecuteSuccess success(const char* key, std::int64_t run_id, const char* stimulus) {
  return ExecuteSuccess{k(key),  run_id, 28,  Bytes::copy_of(std::string_view("T")),
                        "int",   1.0,    1.5, 7,
                        stimulus};
}

Value long_running(const char* key, std::int64_t run_id, std::optional<double> duration,
                   const char* stimulus) {
  return protocol::LongRunning{k(key), run_id, duration, stimulus}.encode();
}

void check_valid(const WorkerState& ws) {
  Status st = ws.validate();
  INFO(st.to_string());
  CHECK(st.ok());
}

TaskStatus status_of(const WorkerState& ws, const char* key) {
  const TaskState* ts = ws.task(k(key));
  REQUIRE(ts != nullptr);
  return ts->status;
}

WorkerState one_thread() { return WorkerState(WorkerStateOptions{kSelf, 1, 10, 1000}); }

TEST_CASE("secede frees the slot and reports long-running", "[worker_state][secede]") {
  WorkerState ws = one_thread();
  CHECK(ws.handle(compute("a", 1, 0, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(ws.handle(compute("b", 2, 1, "s2")).empty());  // one thread: b waits
  CHECK(status_of(ws, "b") == TaskStatus::ready);

  Instructions out = ws.handle(Secede{k("a"), 0.25, "secede-1"});
  CHECK(out == Instructions{SendMsg{long_running("a", 1, 0.25, "secede-1")},
                            Execute{k("b"), "secede-1"}});
  CHECK(status_of(ws, "a") == TaskStatus::long_running);
  CHECK(ws.executing() == std::set<Key>{k("b")});
  CHECK(ws.long_running() == std::set<Key>{k("a")});
  CHECK(ws.task_counts() ==
        std::map<std::string, std::int64_t>{{"executing", 1}, {"long-running", 1}});
  check_valid(ws);

  // The seceded task finishes like any other; its startstops say compute.
  out = ws.handle(success("a", 1, "s3"));
  protocol::TaskFinished fin;
  fin.key = k("a");
  fin.run_id = 1;
  fin.nbytes = 28;
  fin.type = Bytes::copy_of(std::string_view("T"));
  fin.typename_ = "int";
  fin.thread = 7;
  fin.startstops = {{"compute", 1.0, 1.5, std::nullopt}};
  fin.stimulus_id = "s3";
  CHECK(out == Instructions{SendMsg{fin.encode()}});
  CHECK(ws.long_running().empty());
  CHECK(status_of(ws, "a") == TaskStatus::memory);
  check_valid(ws);
}

TEST_CASE("seceding twice or for an unknown key does nothing", "[worker_state][secede]") {
  WorkerState ws = one_thread();
  ws.handle(compute("a", 1, 0, "s1"));
  ws.handle(Secede{k("a"), 0.5, "secede-1"});
  CHECK(ws.handle(Secede{k("a"), 0.7, "secede-2"}).empty());
  CHECK(ws.handle(Secede{k("zzz"), 0.7, "secede-3"}).empty());
  CHECK(status_of(ws, "a") == TaskStatus::long_running);
  check_valid(ws);
}

TEST_CASE("a cancelled task that secedes is reported when computed again",
          "[worker_state][secede]") {
  WorkerState ws = one_thread();
  ws.handle(compute("a", 1, 0, "s1"));
  CHECK(ws.handle(protocol::FreeKeys{{k("a")}, "s2"}).empty());
  CHECK(status_of(ws, "a") == TaskStatus::cancelled);

  // The scheduler forgot it: no long-running message, but the slot is freed.
  CHECK(ws.handle(compute("b", 2, 0, "s3")).empty());  // slot still held by a
  CHECK(ws.handle(Secede{k("a"), 0.5, "secede-1"}) ==
        Instructions{Execute{k("b"), "secede-1"}});
  CHECK(status_of(ws, "a") == TaskStatus::cancelled);
  CHECK(ws.long_running() == std::set<Key>{k("a")});
  check_valid(ws);

  // Wanted again: long-running at once, and the scheduler hears it seceded.
  CHECK(ws.handle(compute("a", 4, 0, "s4")) ==
        Instructions{SendMsg{long_running("a", 4, std::nullopt, "s4")}});
  CHECK(status_of(ws, "a") == TaskStatus::long_running);
  check_valid(ws);
}

TEST_CASE("a cancelled long-running task drops its result", "[worker_state][secede]") {
  WorkerState ws = one_thread();
  ws.handle(compute("a", 1, 0, "s1"));
  ws.handle(Secede{k("a"), 0.5, "secede-1"});
  CHECK(ws.handle(protocol::FreeKeys{{k("a")}, "s2"}).empty());
  CHECK(status_of(ws, "a") == TaskStatus::cancelled);
  check_valid(ws);
  CHECK(ws.handle(success("a", 1, "s3")) == Instructions{FreeData{k("a")}});
  CHECK(ws.task_count() == 0);
  CHECK(ws.long_running().empty());
  check_valid(ws);
}

TEST_CASE("a seceded task's failure reports task-erred", "[worker_state][secede]") {
  WorkerState ws = one_thread();
  ws.handle(compute("a", 1, 0, "s1"));
  ws.handle(Secede{k("a"), 0.5, "secede-1"});
  ExecuteFailure f{k("a"), 1, Value("exc"), Value(), "boom", "", 1.0, 2.0, 3, "s2"};
  Instructions out = ws.handle(f);
  REQUIRE(out.size() == 1);
  CHECK(status_of(ws, "a") == TaskStatus::error);
  CHECK(ws.long_running().empty());
  check_valid(ws);
}

}  // namespace
}  // namespace daskcpp::worker
