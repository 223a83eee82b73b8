#pragma once
// SchedulerOptions: what daskcpp-scheduler is started with (the command line and
// the distributed.scheduler.* config, cli_options.hpp / dask_config.hpp).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/comm/comm_options.hpp"
#include "scheduler/state/config.hpp"

namespace daskcpp::scheduler {

struct SchedulerOptions {
  std::string host;  // "" = all interfaces
  std::uint16_t port = 8786;
  std::optional<std::string> scheduler_file;
  std::optional<std::string> pid_file;
  std::optional<double> idle_timeout_seconds;
  bool dashboard = true;
  std::uint16_t dashboard_port = 8787;
  // BatchedSend intervals. Clients: 2 ms, as scheduler.py add_client. Workers:
  // 1 ms where add_worker waits 5 ms. Stock pays Python per message and batches to
  // save it; here a write costs a few µs, and with single-threaded workers the
  // dispatch delay, not the scheduler's CPU, bounded the tasks/s (a worker waits
  // for its next compute-task up to the interval after every task-finished).
  std::chrono::microseconds client_stream_interval{2000};
  std::chrono::microseconds worker_stream_interval{1000};
  protocol::CommOptions comm;
  // distributed.scheduler.* (dask_config.hpp reads them).
  SchedulerConfig config;
  double worker_ttl_seconds = 300;  // distributed.scheduler.worker-ttl; <= 0: off
  std::size_t log_length = 10000;   // distributed.admin.log-length (get_logs ring)
  // The Python environment that materializes graphs; "" = the build-time venv.
  std::string python_executable;
  // --preload and its argv; empty = distributed.scheduler.preload(-argv) from the
  // dask config, read on the Python side as stock does.
  std::vector<std::string> preload;
  std::vector<std::string> preload_argv;
};

}  // namespace daskcpp::scheduler
