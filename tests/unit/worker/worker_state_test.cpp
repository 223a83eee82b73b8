// Shaped like distributed/tests/test_worker_state_machine.py: one stimulus, then
// `instructions == [...]`, with validate() after every step.

#include "worker/state/worker_state.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace daskcpp::worker {
namespace {

using protocol::Value;

const std::string kSelf = "tcp://127.0.0.1:1";
const std::string kPeer = "tcp://127.0.0.1:2";
const std::string kPeer2 = "tcp://127.0.0.1:3";

Key k(const char* s) { return Key::str(s); }

protocol::ComputeTask compute(const char* key, std::int64_t run_id,
                              protocol::WhoHas who_has = {}, double priority = 0,
                              const char* stimulus = "s1") {
  protocol::ComputeTask ev;
  ev.key = k(key);
  ev.run_id = run_id;
  ev.priority = protocol::Array{Value(priority)};
  ev.stimulus_id = stimulus;
  for (const auto& [dep, addrs] : who_has) ev.nbytes.push_back({dep, 8});
  ev.who_has = std::move(who_has);
  ev.run_spec = Value(Bytes::copy_of(std::string_view("spec")));  // opaque here
  return ev;
}

ExecuteSuccess success(const char* key, std::int64_t run_id = 1,
                       const char* stimulus = "s2") {
  return ExecuteSuccess{k(key),  run_id, 28,  Bytes::copy_of(std::string_view("T")),
                        "int",   1.0,    1.5, 7,
                        stimulus};
}

protocol::Value finished(const char* key, std::int64_t run_id, const char* stimulus,
                         std::vector<protocol::StartStop> ss) {
  protocol::TaskFinished m;
  m.key = k(key);
  m.run_id = run_id;
  m.nbytes = 28;
  m.type = Bytes::copy_of(std::string_view("T"));
  m.typename_ = "int";
  m.thread = 7;
  m.startstops = std::move(ss);
  m.stimulus_id = stimulus;
  return m.encode();
}

WorkerState make_state(int nthreads = 1) {
  return WorkerState(WorkerStateOptions{kSelf, nthreads, 10, 50'000'000});
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

TEST_CASE("compute-task without dependencies executes at once", "[worker_state]") {
  WorkerState ws = make_state();
  Instructions out = ws.handle(compute("x", 1));
  CHECK(out == Instructions{Execute{k("x"), "s1"}});
  CHECK(status_of(ws, "x") == TaskStatus::executing);
  check_valid(ws);

  out = ws.handle(success("x"));
  CHECK(out ==
        Instructions{SendMsg{finished("x", 1, "s2", {{"compute", 1.0, 1.5, {}}})}});
  CHECK(status_of(ws, "x") == TaskStatus::memory);
  CHECK(ws.task_counts() == std::map<std::string, std::int64_t>{{"memory", 1}});
  CHECK(ws.managed_bytes() == 28);
  check_valid(ws);
}

TEST_CASE("tasks beyond nthreads wait in priority order", "[worker_state]") {
  WorkerState ws = make_state(1);
  CHECK(ws.handle(compute("a", 1, {}, 5)) == Instructions{Execute{k("a"), "s1"}});
  CHECK(ws.handle(compute("b", 2, {}, 3)).empty());
  CHECK(ws.handle(compute("c", 3, {}, 1)).empty());
  CHECK(status_of(ws, "b") == TaskStatus::ready);
  check_valid(ws);
  Instructions out = ws.handle(success("a"));
  REQUIRE(out.size() == 2);
  CHECK(out[1] == Instruction{Execute{k("c"), "s2"}});  // lower priority value first
  check_valid(ws);
}

TEST_CASE("dependencies are fetched from who_has, then the task runs", "[worker_state]") {
  WorkerState ws = make_state();
  Instructions out = ws.handle(compute("y", 2, {{k("x"), {kPeer}}}));
  CHECK(out == Instructions{GatherDep{kPeer, {k("x")}, 8, "s1"}});
  CHECK(status_of(ws, "x") == TaskStatus::flight);
  CHECK(status_of(ws, "y") == TaskStatus::waiting);
  check_valid(ws);

  out =
      ws.handle(GatherDepSuccess{kPeer, {{k("x"), 8, std::nullopt, "int"}}, 1, 2, "s3"});
  CHECK(out == Instructions{SendMsg{protocol::AddKeys{{k("x")}, "s3"}.encode()},
                            Execute{k("y"), "s3"}});
  CHECK(status_of(ws, "x") == TaskStatus::memory);
  CHECK(ws.in_flight_workers().empty());
  check_valid(ws);
}

TEST_CASE("a dependency with no holder is missing and asks the scheduler",
          "[worker_state]") {
  WorkerState ws = make_state();
  Instructions out = ws.handle(compute("y", 2, {{k("x"), {kSelf}}}));  // ourselves only
  CHECK(out ==
        Instructions{SendMsg{protocol::RequestRefreshWhoHas{{k("x")}, "s1"}.encode()}});
  CHECK(status_of(ws, "x") == TaskStatus::missing);
  check_valid(ws);

  out = ws.handle(protocol::RefreshWhoHas{{{k("x"), {kPeer}}}, "s2"});
  CHECK(out == Instructions{GatherDep{kPeer, {k("x")}, 8, "s2"}});
  check_valid(ws);
}

TEST_CASE("busy peer: fetch elsewhere, then retry", "[worker_state]") {
  WorkerState ws = make_state();
  ws.handle(compute("y", 2, {{k("x"), {kPeer}}}));
  Instructions out = ws.handle(GatherDepBusy{kPeer, "s2"});
  CHECK(out.empty());
  CHECK(status_of(ws, "x") == TaskStatus::fetch);
  check_valid(ws);
  out = ws.handle(RetryBusyWorker{kPeer, "s3"});
  CHECK(out == Instructions{GatherDep{kPeer, {k("x")}, 8, "s3"}});
}

TEST_CASE("network failure forgets the peer and uses another holder", "[worker_state]") {
  WorkerState ws = make_state();
  ws.handle(compute("y", 2, {{k("x"), {kPeer, kPeer2}}}));
  const TaskState* x = ws.task(k("x"));
  REQUIRE(x->coming_from == kPeer);
  Instructions out = ws.handle(GatherDepNetworkFailure{kPeer, "s2"});
  CHECK(out == Instructions{GatherDep{kPeer2, {k("x")}, 8, "s2"}});
  check_valid(ws);
}

TEST_CASE("peer without the key: removed from who_has, missing", "[worker_state]") {
  WorkerState ws = make_state();
  ws.handle(compute("y", 2, {{k("x"), {kPeer}}}));
  Instructions out = ws.handle(GatherDepSuccess{kPeer, {}, 1, 2, "s2"});
  CHECK(out ==
        Instructions{SendMsg{protocol::RequestRefreshWhoHas{{k("x")}, "s2"}.encode()}});
  CHECK(status_of(ws, "x") == TaskStatus::missing);
  check_valid(ws);
}

TEST_CASE("free-keys of data in memory answers release-worker-data", "[worker_state]") {
  WorkerState ws = make_state();
  ws.handle(compute("x", 1));
  ws.handle(success("x"));
  Instructions out = ws.handle(protocol::FreeKeys{{k("x"), k("unknown")}, "s3"});
  CHECK(out == Instructions{FreeData{k("x")},
                            SendMsg{protocol::ReleaseWorkerData{k("x"), "s3"}.encode()}});
  CHECK(ws.task(k("x")) == nullptr);
  CHECK(ws.task_count() == 0);
}

TEST_CASE("free-keys while executing cancels; the result is dropped", "[worker_state]") {
  WorkerState ws = make_state();
  ws.handle(compute("x", 1));
  CHECK(ws.handle(protocol::FreeKeys{{k("x")}, "s2"}).empty());
  CHECK(status_of(ws, "x") == TaskStatus::cancelled);
  check_valid(ws);
  Instructions out = ws.handle(success("x", 1, "s3"));
  CHECK(out == Instructions{FreeData{k("x")}});
  CHECK(ws.task_count() == 0);
}

TEST_CASE("cancelled then computed again resumes executing", "[worker_state]") {
  WorkerState ws = make_state();
  ws.handle(compute("x", 1));
  ws.handle(protocol::FreeKeys{{k("x")}, "s2"});
  CHECK(ws.handle(compute("x", 5, {}, 0, "s3")).empty());
  CHECK(status_of(ws, "x") == TaskStatus::executing);
  Instructions out = ws.handle(success("x", 5, "s4"));
  CHECK(out ==
        Instructions{SendMsg{finished("x", 5, "s4", {{"compute", 1.0, 1.5, {}}})}});
}

TEST_CASE("free-keys of a waiting task stops fetching its dependency", "[worker_state]") {
  WorkerState ws = make_state();
  ws.handle(compute("y", 2, {{k("x"), {kPeer}}}));
  CHECK(ws.handle(protocol::FreeKeys{{k("y")}, "s2"}).empty());
  CHECK(ws.task(k("y")) == nullptr);
  CHECK(status_of(ws, "x") == TaskStatus::cancelled);  // it was in flight
  Instructions out =
      ws.handle(GatherDepSuccess{kPeer, {{k("x"), 8, std::nullopt, "int"}}, 1, 2, "s3"});
  CHECK(out == Instructions{FreeData{k("x")}});
  CHECK(ws.task_count() == 0);
}

TEST_CASE("steal-request of a ready task drops it", "[worker_state]") {
  WorkerState ws = make_state(1);
  ws.handle(compute("a", 1));
  ws.handle(compute("b", 2));
  Instructions out = ws.handle(protocol::StealRequest{k("b"), "steal-1"});
  CHECK(out == Instructions{SendMsg{
                   protocol::StealResponse{k("b"), "ready", "steal-1"}.encode()}});
  CHECK(ws.task(k("b")) == nullptr);
  check_valid(ws);
}

TEST_CASE("steal-request of an executing or unknown task is refused", "[worker_state]") {
  WorkerState ws = make_state(1);
  ws.handle(compute("a", 1));
  CHECK(ws.handle(protocol::StealRequest{k("a"), "steal-1"}) ==
        Instructions{
            SendMsg{protocol::StealResponse{k("a"), "executing", "steal-1"}.encode()}});
  CHECK(status_of(ws, "a") == TaskStatus::executing);
  CHECK(ws.handle(protocol::StealRequest{k("zz"), "steal-2"}) ==
        Instructions{
            SendMsg{protocol::StealResponse{k("zz"), std::nullopt, "steal-2"}.encode()}});
}

TEST_CASE("compute-task for a key in memory reports task-finished again",
          "[worker_state]") {
  WorkerState ws = make_state();
  ws.handle(compute("x", 1));
  ws.handle(success("x"));
  Instructions out = ws.handle(compute("x", 9, {}, 0, "s5"));
  CHECK(out ==
        Instructions{SendMsg{finished("x", 9, "s5", {{"compute", 1.0, 1.5, {}}})}});
}

TEST_CASE("task error reports task-erred with the payloads", "[worker_state]") {
  WorkerState ws = make_state();
  ws.handle(compute("x", 3));
  ExecuteFailure f{k("x"), 3, Value("E"), Value(), "ZeroDivisionError()",
                   "tb",   1, 2,          4,       "s2"};
  Instructions out = ws.handle(f);
  std::vector<protocol::StartStop> ss = {{"compute", 1, 2, {}}};
  CHECK(out ==
        Instructions{SendMsg{protocol::TaskErred{k("x"), 3, Value("E"), Value(),
                                                 "ZeroDivisionError()", "tb", 4, ss, "s2"}
                                 .encode()}});
  CHECK(status_of(ws, "x") == TaskStatus::error);
  check_valid(ws);
}

TEST_CASE("remove-worker drops the peer as a holder", "[worker_state]") {
  WorkerState ws = make_state();
  ws.handle(GatherDepBusy{kPeer, "s0"});  // keep kPeer out of ensure_communicating
  ws.handle(compute("y", 2, {{k("x"), {kPeer}}}));
  CHECK(status_of(ws, "x") == TaskStatus::fetch);
  Instructions out = ws.handle(protocol::RemoveWorker{kPeer, "s2"});
  CHECK(out ==
        Instructions{SendMsg{protocol::RequestRefreshWhoHas{{k("x")}, "s2"}.encode()}});
  CHECK(status_of(ws, "x") == TaskStatus::missing);
  check_valid(ws);
}

TEST_CASE("acquire-replicas fetches and reports add-keys", "[worker_state]") {
  WorkerState ws = make_state();
  Instructions out =
      ws.handle(protocol::AcquireReplicas{{{k("x"), {kPeer}}}, {{k("x"), 100}}, "s1"});
  CHECK(out == Instructions{GatherDep{kPeer, {k("x")}, 100, "s1"}});
  out = ws.handle(
      GatherDepSuccess{kPeer, {{k("x"), 100, std::nullopt, "int"}}, 1, 2, "s2"});
  CHECK(out == Instructions{SendMsg{protocol::AddKeys{{k("x")}, "s2"}.encode()}});
  CHECK(status_of(ws, "x") == TaskStatus::memory);
  check_valid(ws);
}

TEST_CASE("remove-replicas releases only unneeded replicas", "[worker_state]") {
  WorkerState ws = make_state(1);
  ws.handle(compute("a", 1));
  ws.handle(GatherDepBusy{kPeer2, "s0"});
  ws.handle(compute("z", 2, {{k("x"), {kPeer}}, {k("w"), {kPeer2}}}));
  ws.handle(GatherDepSuccess{kPeer, {{k("x"), 8, std::nullopt, "int"}}, 1, 2, "s2"});
  // z still waits for w: x must stay.
  CHECK(ws.handle(protocol::RemoveReplicas{{k("x")}, "s3"}).empty());
  CHECK(status_of(ws, "x") == TaskStatus::memory);
  check_valid(ws);
}

TEST_CASE("update-data puts scattered values in memory", "[worker_state]") {
  WorkerState ws = make_state();
  CHECK(ws.handle(UpdateData{{{k("d"), 10, std::nullopt, "int"}}, "s1"}).empty());
  CHECK(status_of(ws, "d") == TaskStatus::memory);
  CHECK(ws.managed_bytes() == 10);
}

TEST_CASE("transfers are batched per peer within the byte limit", "[worker_state]") {
  WorkerState ws(WorkerStateOptions{kSelf, 1, 10, 10});
  Instructions out = ws.handle(
      compute("y", 2, {{k("a"), {kPeer}}, {k("b"), {kPeer}}, {k("c"), {kPeer2}}}));
  // 8 bytes each, limit 10: a alone from kPeer, c from kPeer2; b waits for kPeer.
  CHECK(out == Instructions{GatherDep{kPeer, {k("a")}, 8, "s1"},
                            GatherDep{kPeer2, {k("c")}, 8, "s1"}});
  CHECK(status_of(ws, "b") == TaskStatus::fetch);
  check_valid(ws);
}

}  // namespace
}  // namespace daskcpp::worker
