#pragma once
// SimStats: what one daskcpp-simworker process counts across all its simulated
// workers, so that the benchmark driver can time pure scheduling from the
// workers' side: from the first compute-task received to the last task-finished
// queued, with no client or graph intake in the interval (issue 11). The same
// interval is measured the same way under either scheduler.
//
// SIGUSR1 makes the fleet print one line `simworker stats {json}` on stdout
// (to_json) and reset the counters, so the driver brackets a case with two
// signals. Thread safety: none; the fleet's io_context thread only.

#include <cstdint>
#include <string>

namespace daskcpp::bench {

struct SimStats {
  std::uint64_t compute_tasks = 0;   // compute-task ops received
  std::uint64_t tasks_finished = 0;  // task-finished ops queued
  double first_compute = 0;          // unix time of the first compute-task; 0 = none
  double last_finished = 0;          // unix time of the last task-finished
  double cpu_at_reset = 0;           // process CPU seconds at the last reset

  void on_compute_task(double now) {
    if (compute_tasks++ == 0) first_compute = now;
  }
  void on_task_finished(double now) {
    ++tasks_finished;
    last_finished = now;
  }
  // The counters, the interval and the process CPU since the last reset, as JSON.
  std::string to_json() const;
  void reset();
};

// User + system CPU seconds of this process.
double process_cpu_seconds();

}  // namespace daskcpp::bench
