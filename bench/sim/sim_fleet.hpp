#pragma once
// SimFleet: the N simulated workers of one daskcpp-simworker process.
//
// Owns the io_context (one thread: the caller of run()), the ConnectionPool the
// workers share for heartbeats, and the workers. Asks the scheduler for its
// `versions` once and registers every worker with them (so that a stock
// scheduler sees no version mismatch), registering at most kRegisterWindow
// workers at a time. Prints "simworker ready N" on stdout when all N are
// registered; stops when every worker has closed (scheduler close/lost stream)
// or on SIGINT/SIGTERM, after closing each worker cleanly. SIGUSR1 prints the
// fleet's SimStats on stdout and resets them.
// Thread safety: none; everything runs on the io_context thread.

#include <cstddef>
#include <memory>
#include <vector>

#include "bench/sim/sim_options.hpp"
#include "bench/sim/sim_stats.hpp"
#include "bench/sim/sim_worker.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/connection_pool.hpp"

namespace daskcpp::bench {

class SimFleet {
 public:
  explicit SimFleet(SimOptions options);
  SimFleet(const SimFleet&) = delete;
  SimFleet& operator=(const SimFleet&) = delete;

  // Runs until all workers have closed; an error if registration failed.
  Status run();

 private:
  asio::awaitable<void> main_task();
  asio::awaitable<void> register_some();
  asio::awaitable<protocol::Value> scheduler_versions();
  void stop_all(const std::string& reason);
  void await_stats_signal();
  void on_worker_closed();
  // Stops the loop (after a grace period) once every worker has closed.
  void maybe_finish();

  SimOptions options_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::signal_set stats_signal_;
  SimStats stats_;
  protocol::ConnectionPool pool_;
  std::vector<std::unique_ptr<SimWorker>> workers_;
  protocol::Value versions_;
  std::size_t closed_ = 0;
  std::size_t next_to_register_ = 0;
  std::size_t registering_ = 0;  // register_some coroutines still running
  Status status_;
  bool stopping_ = false;
  bool finishing_ = false;
};

}  // namespace daskcpp::bench
