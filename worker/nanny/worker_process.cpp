#include "worker/nanny/worker_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace daskcpp::worker::nanny {

namespace {

constexpr auto kForever = std::chrono::hours(24 * 365);

// In the forked child, before exec: only async-signal-safe calls.
[[noreturn]] void exec_child(const char* executable, char* const* argv, int ready_fd,
                             pid_t parent) {
  if (ready_fd != WorkerProcess::kReadyFd) {
    if (::dup2(ready_fd, WorkerProcess::kReadyFd) < 0) ::_exit(126);
  } else {
    ::fcntl(ready_fd, F_SETFD, 0);  // dup2 clears FD_CLOEXEC; here we must
  }
  // Nothing else of the nanny's (listener, scheduler comms, signal pipe) leaks
  // into the worker, so a dead nanny's port is really free.
  bool closed = false;
#ifdef SYS_close_range
  closed = ::syscall(SYS_close_range, WorkerProcess::kReadyFd + 1, ~0U, 0) == 0;
#endif
  if (!closed) {
    long max_fd = ::sysconf(_SC_OPEN_MAX);
    for (long fd = WorkerProcess::kReadyFd + 1; fd < max_fd && fd < 65536; ++fd) {
      ::close(static_cast<int>(fd));
    }
  }
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(1);  // the nanny died before prctl
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv(executable, argv);
  ::_exit(127);
}

}  // namespace

int exitcode_from_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return -WTERMSIG(wait_status);
  return 255;
}

std::string death_message(pid_t pid, int exitcode) {
  std::string p = std::to_string(pid);
  if (exitcode == 255) return "Worker process " + p + " was killed by unknown signal";
  if (exitcode >= 0) {
    return "Worker process " + p + " exited with status " + std::to_string(exitcode);
  }
  return "Worker process " + p + " was killed by signal " + std::to_string(-exitcode);
}

WorkerProcess::WorkerProcess(asio::any_io_executor executor, std::string executable,
                             std::vector<std::string> args,
                             std::function<void(int)> on_exit)
    : executor_(executor),
      executable_(std::move(executable)),
      args_(std::move(args)),
      on_exit_(std::move(on_exit)),
      sigchld_(executor, SIGCHLD),
      started_(executor),
      stopped_(executor) {
  watch_sigchld();
}

WorkerProcess::~WorkerProcess() {
  sigchld_.cancel();
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void WorkerProcess::watch_sigchld() {
  sigchld_.async_wait([this](const protocol::ErrorCode& ec, int) {
    if (ec) return;
    reap();
    watch_sigchld();
  });
}

// SIGCHLD coalesces and is shared by every nanny of this process: each checks
// its own pid without blocking.
void WorkerProcess::reap() {
  if (pid_ <= 0) return;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) mark_stopped(exitcode_from_wait_status(status));
}

void WorkerProcess::mark_stopped(int exitcode) {
  if (state_ == State::kStopped) return;
  pid_t pid = pid_;
  pid_ = -1;
  if (exitcode != 0) spdlog::info("{}", death_message(pid, exitcode));
  state_ = State::kStopped;
  stopped_.set();
  if (on_exit_) on_exit_(exitcode);
}

Result<int> WorkerProcess::spawn() {
  std::vector<std::string> argv_strings;
  argv_strings.push_back(executable_);
  argv_strings.insert(argv_strings.end(), args_.begin(), args_.end());
  argv_strings.push_back("--nanny-ready-fd");
  argv_strings.push_back(std::to_string(kReadyFd));
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status::IOError(std::string("nanny: pipe2: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::IOError(std::string("nanny: fork: ") + std::strerror(err));
  }
  if (pid == 0) exec_child(executable_.c_str(), argv.data(), fds[1], parent);
  ::close(fds[1]);
  pid_ = pid;
  spdlog::info("Started worker process {}", pid);
  return fds[0];
}

asio::awaitable<Result<WorkerProcess::State>> WorkerProcess::start(
    std::chrono::milliseconds timeout) {
  if (state_ == State::kRunning) co_return state_;
  if (state_ == State::kStarting) {
    co_await started_.wait(kForever);
    co_return state_;
  }
  state_ = State::kStarting;
  started_.clear();
  stopped_.clear();
  timed_out_ = false;
  Result<int> ready_fd = spawn();
  if (!ready_fd.ok()) {
    state_ = State::kFailed;
    started_.set();
    co_return ready_fd.status();
  }
  co_await read_ready(*ready_fd, timeout);
  started_.set();
  if (timed_out_ && state_ != State::kRunning) {
    co_return Status::IOError("worker process " + std::to_string(pid_) +
                              " did not start within " +
                              std::to_string(timeout.count() / 1000) + " s");
  }
  co_return state_;
}

asio::awaitable<void> WorkerProcess::read_ready(int fd,
                                                std::chrono::milliseconds timeout) {
  asio::steady_timer timer(executor_, timeout);
  auto ready = std::make_shared<asio::posix::stream_descriptor>(executor_, fd);
  timer.async_wait([this, ready](const protocol::ErrorCode& ec) {
    if (ec) return;
    timed_out_ = true;
    protocol::ErrorCode ignored;
    ready->cancel(ignored);
  });
  std::string line;
  protocol::ErrorCode ec;
  co_await asio::async_read_until(*ready, asio::dynamic_buffer(line), '\n',
                                  asio::redirect_error(asio::use_awaitable, ec));
  timer.cancel();
  protocol::ErrorCode ignored;
  ready->close(ignored);
  if (state_ != State::kStarting) co_return;  // it exited meanwhile (mark_stopped)
  if (!ec && !line.empty()) {
    line.pop_back();  // '\n'
    worker_address_ = line;
    state_ = State::kRunning;
    co_return;
  }
  // EOF without an address (it failed to start) or the timeout: make sure it goes.
  spdlog::error("Worker failed to connect");
  state_ = State::kFailed;
  if (pid_ > 0) ::kill(pid_, SIGTERM);
}

asio::awaitable<Status> WorkerProcess::kill(std::chrono::milliseconds timeout,
                                            std::string reason) {
  // Upstream first waits for a starting process to be up (it would not watch its
  // stop queue yet); a signal works at any time, so a starting worker is stopped
  // at once and its start() ends not running.
  if (state_ == State::kStopped || state_ == State::kInit) co_return Status::OK();
  if (state_ == State::kStopping) {
    if (co_await stopped_.wait(timeout * 2)) co_return Status::OK();
    co_return Status::IOError("worker process " + std::to_string(pid_) + " did not stop");
  }
  state_ = State::kStopping;
  spdlog::info("Nanny asking worker to close. Reason: {}", reason);
  if (pid_ <= 0) co_return Status::OK();
  ::kill(pid_, SIGTERM);
  const auto wait_timeout = timeout * 4 / 5;
  if (co_await stopped_.wait(wait_timeout)) co_return Status::OK();
  if (pid_ > 0) {
    spdlog::warn("Worker process still alive after {:.1f} seconds, killing",
                 std::chrono::duration<double>(wait_timeout).count());
    ::kill(pid_, SIGKILL);
  }
  if (co_await stopped_.wait(timeout)) co_return Status::OK();
  co_return Status::IOError("worker process " + std::to_string(pid_) +
                            " still alive after SIGKILL");
}

}  // namespace daskcpp::worker::nanny
