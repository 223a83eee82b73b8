// Worker resources (upstream `dask worker --resources`, WorkerState total_resources /
// available_resources, the constrained queue of _ensure_computing): a task with
// resource_restrictions starts only when every restricted amount is available and
// gives it back when its execution ends, succeeded, erred or cancelled.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "worker/state/worker_state.hpp"

namespace daskcpp::worker {
namespace {

using protocol::Value;

const std::string kSelf = "tcp://127.0.0.1:1";

Key k(const char* s) { return Key::str(s); }

WorkerState gpu_worker(double gpus) {
  return WorkerState(WorkerStateOptions{kSelf, 2, 10, 1000}, {{"GPU", gpus}});
}

protocol::ComputeTask compute(const char* key, double priority, double gpus,
                              const char* stimulus) {
  protocol::ComputeTask ev;
  ev.key = k(key);
  ev.run_id = 1;
  ev.priority = protocol::Array{Value(priority)};
  ev.stimulus_id = stimulus;
  ev.run_spec = Value(Bytes::copy_of(std::string_view("spec")));  // opaque here
  if (gpus > 0)
    ev.resource_restrictions = Value(protocol::Map{{Value("GPU"), Value(gpus)}});
  return ev;
}

ExecuteSuccess success(const char* key, const char* stimulus) {
  return ExecuteSuccess{
      k(key), 1, 28, Bytes::copy_of(std::string_view("T")), "int", 1.0, 1.5, 7, stimulus};
}

ExecuteFailure failure(const char* key, const char* stimulus) {
  ExecuteFailure f;
  f.key = k(key);
  f.run_id = 1;
  f.exception_text = "ZeroDivisionError()";
  f.stimulus_id = stimulus;
  return f;
}

double gpu_available(const WorkerState& ws) { return ws.available_resources().at("GPU"); }

TEST_CASE("resources: two GPU=1 tasks on GPU=1 and two threads run one at a time",
          "[worker_state][resources]") {
  WorkerState ws = gpu_worker(1);
  CHECK(ws.total_resources() == std::map<std::string, double>{{"GPU", 1}});
  CHECK(ws.handle(compute("a", 0, 1, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(gpu_available(ws) == 0);
  CHECK(ws.handle(compute("b", 1, 1, "s2")).empty());
  CHECK(ws.task(k("b"))->status == TaskStatus::constrained);
  CHECK(ws.task_counts() ==
        std::map<std::string, std::int64_t>{{"constrained", 1}, {"executing", 1}});
  REQUIRE(ws.validate().ok());
  // An unrestricted task takes the free thread meanwhile.
  CHECK(ws.handle(compute("c", 2, 0, "s3")) == Instructions{Execute{k("c"), "s3"}});
  Instructions done = ws.handle(success("a", "s4"));
  REQUIRE(done.size() == 2);
  CHECK(std::holds_alternative<SendMsg>(done[0]));
  CHECK(done[1] == Instruction{Execute{k("b"), "s4"}});
  CHECK(gpu_available(ws) == 0);
  REQUIRE(ws.validate().ok());
  CHECK(ws.handle(success("b", "s5")).size() == 1);
  CHECK(gpu_available(ws) == 1);
  CHECK(ws.validate().ok());
}

TEST_CASE("resources: released when the task errs", "[worker_state][resources]") {
  WorkerState ws = gpu_worker(1);
  CHECK(ws.handle(compute("a", 0, 1, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(ws.handle(compute("b", 1, 1, "s2")).empty());
  Instructions erred = ws.handle(failure("a", "s3"));
  REQUIRE(erred.size() == 2);
  CHECK(std::holds_alternative<SendMsg>(erred[0]));
  CHECK(erred[1] == Instruction{Execute{k("b"), "s3"}});
  CHECK(ws.task(k("a"))->status == TaskStatus::error);
  CHECK(ws.handle(failure("b", "s4")).size() == 1);
  CHECK(gpu_available(ws) == 1);
  CHECK(ws.validate().ok());
}

TEST_CASE("resources: a cancelled task holds them until its execution ends",
          "[worker_state][resources]") {
  WorkerState ws = gpu_worker(1);
  CHECK(ws.handle(compute("a", 0, 1, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(ws.handle(compute("b", 1, 1, "s2")).empty());
  CHECK(ws.handle(protocol::FreeKeys{{k("a")}, "s3"}).empty());
  CHECK(ws.task(k("a"))->status == TaskStatus::cancelled);
  CHECK(gpu_available(ws) == 0);
  CHECK(ws.handle(failure("a", "s4")) == Instructions{Execute{k("b"), "s4"}});
  CHECK(ws.task(k("a")) == nullptr);
  REQUIRE(ws.validate().ok());
  // A constrained task that is freed before it starts held nothing.
  CHECK(ws.handle(compute("c", 2, 1, "s5")).empty());
  CHECK(ws.handle(protocol::FreeKeys{{k("c")}, "s6"}).empty());
  CHECK(ws.task(k("c")) == nullptr);
  CHECK(ws.handle(success("b", "s7")).size() == 1);
  CHECK(gpu_available(ws) == 1);
  CHECK(ws.validate().ok());
}

TEST_CASE("resources: a seceded task keeps them; missing resources never start",
          "[worker_state][resources]") {
  WorkerState ws = gpu_worker(2);
  CHECK(ws.handle(compute("a", 0, 2, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(ws.handle(compute("b", 1, 1, "s2")).empty());
  // Seceding frees the thread, not the GPUs (upstream releases at execute done).
  CHECK(ws.handle(Secede{k("a"), 0.5, "s3"}).size() == 1);
  CHECK(ws.task(k("b"))->status == TaskStatus::constrained);
  CHECK(gpu_available(ws) == 0);
  REQUIRE(ws.validate().ok());
  CHECK(ws.handle(success("a", "s4"))[1] == Instruction{Execute{k("b"), "s4"}});
  CHECK(gpu_available(ws) == 1);
  // A resource this worker lacks.
  protocol::ComputeTask tpu = compute("t", 2, 0, "s5");
  tpu.resource_restrictions = Value(protocol::Map{{Value("TPU"), Value(1.0)}});
  CHECK(ws.handle(tpu).empty());
  CHECK(ws.task(k("t"))->status == TaskStatus::constrained);
  CHECK(ws.validate().ok());
}

}  // namespace
}  // namespace daskcpp::worker
