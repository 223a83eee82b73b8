// Cost of turning the scheduler core's compute-task intents into wire messages:
// 10k tasks, each keyed by a tuple ("sum-<token>", i) with two tuple dependencies,
// encoded with SchedulerService::encode_worker_msg + encode_message as send_effects
// does. Usage: key_encode_bench [repetitions]   (repetitions=1 for callgrind)
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "protocol/codec/message_codec.hpp"
#include "protocol/messages/key.hpp"
#include "scheduler/server/scheduler_server.hpp"
#include "scheduler/service/scheduler_service.hpp"

namespace {

using namespace daskcpp;
using protocol::Array;
using protocol::Value;
using Clock = std::chrono::steady_clock;

constexpr int kTasks = 10000;

std::string canonical(const std::string& name, int i) {
  auto k = protocol::Key::from_value(Value(Array{Value(name), Value(i)}));
  return k.ok() ? k->canonical() : std::string();
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  spdlog::set_level(spdlog::level::warn);
  scheduler::SchedulerServer server{scheduler::SchedulerOptions{}};
  const scheduler::SchedulerService& svc = server.service();

  std::vector<scheduler::ComputeTaskMsg> intents;
  intents.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    scheduler::ComputeTaskMsg c;
    c.worker = scheduler::WorkerId{0};
    c.key = canonical("sum-92f3391a24764f04f03fa56ae2804159", i);
    c.run_id = i;
    c.priority = scheduler::Priority{0, 1, i};
    c.stimulus_id = "update-graph-1795580470.2264605";
    for (int d = 0; d < 2; ++d) {
      c.dependencies.push_back(
          {canonical("arange-92f3391a24764f04f03fa56ae2804159", 2 * i + d),
           {"tcp://127.0.0.1:36725"},
           8});
    }
    intents.push_back(std::move(c));
  }

  std::size_t bytes = 0;
  const auto start = Clock::now();
  for (int r = 0; r < reps; ++r) {
    for (const scheduler::ComputeTaskMsg& c : intents) {
      protocol::Frames frames = protocol::encode_message(svc.encode_worker_msg(c));
      bytes += frames[0].size();
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double tasks = static_cast<double>(kTasks) * reps;
  std::printf("compute-task encode: %d tasks x %d reps, %.0f ns/task, %zu bytes\n",
              kTasks, reps, seconds / tasks * 1e9, bytes);
  return 0;
}
