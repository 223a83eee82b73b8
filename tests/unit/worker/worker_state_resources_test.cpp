// Worker resources (upstream `dask worker --resources`, WorkerState total_resources /
// available_resources, the constrained queue of _ensure_computing): a task with
// resource_restrictions starts only when every restricted amount is available and
// gives it back when its execution ends, succeeded, erred or cancelled.

#include <string>
#include <vector>

#include "tests/unit/worker/worker_state_fixtures.hpp"

namespace daskcpp::worker {
namespace {

using namespace testing;

WorkerState gpu_worker(double gpus) {
  return WorkerState(WorkerStateOptions{kSelf, 2, 10, 1000}, {{"GPU", gpus}});
}

ComputeTaskEvent gpu_task(const char* key, double priority, double gpus,
                          const char* stimulus) {
  ComputeTaskEvent ev = compute(key, 1, {}, priority, stimulus);
  if (gpus > 0) ev.resource_restrictions = {{"GPU", gpus}};
  return ev;
}

double gpu_available(const WorkerState& ws) { return ws.available_resources().at("GPU"); }

TEST_CASE("resources: two GPU=1 tasks on GPU=1 and two threads run one at a time",
          "[worker_state][resources]") {
  WorkerState ws = gpu_worker(1);
  CHECK(ws.total_resources() == std::map<std::string, double>{{"GPU", 1}});
  CHECK(handle(ws, gpu_task("a", 0, 1, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(gpu_available(ws) == 0);
  CHECK(handle(ws, gpu_task("b", 1, 1, "s2")).empty());
  CHECK(ws.task(k("b"))->status == TaskStatus::constrained);
  CHECK(ws.task_counts() ==
        std::map<std::string, std::int64_t>{{"constrained", 1}, {"executing", 1}});
  REQUIRE(ws.validate().ok());
  // An unrestricted task takes the free thread meanwhile.
  CHECK(handle(ws, gpu_task("c", 2, 0, "s3")) == Instructions{Execute{k("c"), "s3"}});
  Instructions done = handle(ws, success("a", 1, "s4"));
  REQUIRE(done.size() == 2);
  CHECK(std::holds_alternative<TaskFinishedMsg>(done[0]));
  CHECK(done[1] == Instruction{Execute{k("b"), "s4"}});
  CHECK(gpu_available(ws) == 0);
  REQUIRE(ws.validate().ok());
  CHECK(handle(ws, success("b", 1, "s5")).size() == 1);
  CHECK(gpu_available(ws) == 1);
  CHECK(ws.validate().ok());
}

TEST_CASE("resources: released when the task errs", "[worker_state][resources]") {
  WorkerState ws = gpu_worker(1);
  CHECK(handle(ws, gpu_task("a", 0, 1, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(handle(ws, gpu_task("b", 1, 1, "s2")).empty());
  Instructions erred = handle(ws, failure("a", 1, "s3"));
  REQUIRE(erred.size() == 2);
  CHECK(std::holds_alternative<TaskErredMsg>(erred[0]));
  CHECK(erred[1] == Instruction{Execute{k("b"), "s3"}});
  CHECK(ws.task(k("a"))->status == TaskStatus::error);
  CHECK(handle(ws, failure("b", 1, "s4")).size() == 1);
  CHECK(gpu_available(ws) == 1);
  CHECK(ws.validate().ok());
}

TEST_CASE("resources: a cancelled task holds them until its execution ends",
          "[worker_state][resources]") {
  WorkerState ws = gpu_worker(1);
  CHECK(handle(ws, gpu_task("a", 0, 1, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(handle(ws, gpu_task("b", 1, 1, "s2")).empty());
  CHECK(handle(ws, FreeKeysEvent{{k("a")}, "s3"}).empty());
  CHECK(ws.task(k("a"))->status == TaskStatus::cancelled);
  CHECK(gpu_available(ws) == 0);
  CHECK(handle(ws, failure("a", 1, "s4")) == Instructions{Execute{k("b"), "s4"}});
  CHECK(ws.task(k("a")) == nullptr);
  REQUIRE(ws.validate().ok());
  // A constrained task that is freed before it starts held nothing.
  CHECK(handle(ws, gpu_task("c", 2, 1, "s5")).empty());
  CHECK(handle(ws, FreeKeysEvent{{k("c")}, "s6"}).empty());
  CHECK(ws.task(k("c")) == nullptr);
  CHECK(handle(ws, success("b", 1, "s7")).size() == 1);
  CHECK(gpu_available(ws) == 1);
  CHECK(ws.validate().ok());
}

TEST_CASE("resources: a seceded task keeps them; missing resources never start",
          "[worker_state][resources]") {
  WorkerState ws = gpu_worker(2);
  CHECK(handle(ws, gpu_task("a", 0, 2, "s1")) == Instructions{Execute{k("a"), "s1"}});
  CHECK(handle(ws, gpu_task("b", 1, 1, "s2")).empty());
  // Seceding frees the thread, not the GPUs (upstream releases at execute done).
  CHECK(handle(ws, SecedeEvent{k("a"), 0.5, "s3"}).size() == 1);
  CHECK(ws.task(k("b"))->status == TaskStatus::constrained);
  CHECK(gpu_available(ws) == 0);
  REQUIRE(ws.validate().ok());
  CHECK(handle(ws, success("a", 1, "s4"))[1] == Instruction{Execute{k("b"), "s4"}});
  CHECK(gpu_available(ws) == 1);
  // A resource this worker lacks.
  ComputeTaskEvent tpu = gpu_task("t", 2, 0, "s5");
  tpu.resource_restrictions = {{"TPU", 1.0}};
  CHECK(handle(ws, tpu).empty());
  CHECK(ws.task(k("t"))->status == TaskStatus::constrained);
  CHECK(ws.validate().ok());
}

}  // namespace
}  // namespace daskcpp::worker
