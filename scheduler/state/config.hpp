#pragma once
// SchedulerConfig: the distributed.scheduler.* values the core reads (defaults of
// distributed/distributed.yaml, protocol.md Appendix A). Plain data, passed in.

#include <cstddef>
#include <cstdint>
#include <limits>

namespace daskcpp::scheduler {

struct SchedulerConfig {
  int allowed_failures = 3;
  // +inf disables scheduler-side queuing of root-ish tasks.
  double worker_saturation = 1.1;
  double unknown_task_duration = 0.5;  // seconds
  double bandwidth = 100e6;            // bytes/s
  std::int64_t default_data_size = 1024;
  int rootish_taskgroup = 5;
  int rootish_taskgroup_dependencies = 5;
  std::size_t transition_log_length = 1000;  // distributed.admin.low-level-log-length
  // distributed.scheduler.work-stealing(-interval): the balance pass moves queued
  // tasks from saturated to idle workers every interval (scheduler/stealing/).
  bool work_stealing = true;
  double work_stealing_interval = 1.0;  // seconds
  // distributed.worker.memory.rebalance.* (fractions of a worker's memory_limit).
  double rebalance_sender_min = 0.30;
  double rebalance_recipient_max = 0.60;
  double rebalance_sender_recipient_gap = 0.10;
  // Run validate() on every task touched by transitions() (tests, Debug builds).
  bool validate = false;
};

inline constexpr double kInfinity = std::numeric_limits<double>::infinity();

}  // namespace daskcpp::scheduler
