#pragma once
// WorkerProcess: the one worker child process of a Nanny (upstream
// distributed/nanny.py WorkerProcess).
//
// Owns the child's pid, the read end of its ready pipe and a SIGCHLD watch.
// start() forks and execs `<executable> <args> --nanny-ready-fd 3` and waits for the
// worker's "<address>\n" on the pipe (sent once it is registered and running, as the
// init_result_q message upstream); EOF first means it failed. kill() sends SIGTERM
// (the worker closes cleanly without telling the nanny), waits 0.8 * timeout, then
// SIGKILL. When the child exits, the state becomes stopped and `on_exit(exitcode)`
// runs (exitcode < 0: killed by that signal), as mark_stopped upstream.
// The child gets PR_SET_PDEATHSIG=SIGTERM, so it does not outlive a killed nanny
// (upstream: the daemon process / the stop queue's EOF).
// Thread safety: none; lives on the nanny's loop thread. Between fork and exec the
// child only makes async-signal-safe calls, so other threads (Asio's resolver) are
// harmless.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "protocol/comm/asio.hpp"
#include "protocol/status.hpp"
#include "worker/nanny/async_event.hpp"

namespace daskcpp::worker::nanny {

namespace asio = protocol::asio;

// waitpid status -> multiprocessing's exitcode: the exit status, or -signal.
int exitcode_from_wait_status(int wait_status);
// WorkerProcess._death_message.
std::string death_message(pid_t pid, int exitcode);

class WorkerProcess {
 public:
  enum class State { kInit, kStarting, kRunning, kStopping, kStopped, kFailed };
  static constexpr int kReadyFd = 3;

  WorkerProcess(asio::any_io_executor executor, std::string executable,
                std::vector<std::string> args, std::function<void(int)> on_exit);
  // A child still alive is SIGKILLed and reaped.
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Ensures a worker process is running; joins a start already under way.
  // Returns the state it ended in (kRunning on success). A worker that is not
  // running after `timeout` gets SIGTERM and an error.
  asio::awaitable<Result<State>> start(std::chrono::milliseconds timeout);
  // Ensures the process has exited (see class comment). Error if it is still alive
  // after 1.8 * timeout.
  asio::awaitable<Status> kill(std::chrono::milliseconds timeout, std::string reason);

  State state() const { return state_; }
  pid_t pid() const { return pid_; }
  // The address the last worker reported (kept after it exits, for `unregister`).
  const std::string& worker_address() const { return worker_address_; }
  bool alive() const { return pid_ > 0; }

 private:
  // Forks and execs; returns the read end of the ready pipe.
  Result<int> spawn();
  asio::awaitable<void> read_ready(int fd, std::chrono::milliseconds timeout);
  void watch_sigchld();
  void reap();
  void mark_stopped(int exitcode);

  asio::any_io_executor executor_;
  std::string executable_;
  std::vector<std::string> args_;
  std::function<void(int)> on_exit_;
  asio::signal_set sigchld_;
  AsyncEvent started_;  // start() finished (upstream `running`)
  AsyncEvent stopped_;
  State state_ = State::kInit;
  pid_t pid_ = -1;
  std::string worker_address_;
  bool timed_out_ = false;
};

}  // namespace daskcpp::worker::nanny
