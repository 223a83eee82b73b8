#pragma once
// Interpreter: the process's one embedded CPython, owned by one dedicated thread.
//
// Owns: the interpreter (Py_InitializeFromConfig .. Py_FinalizeEx) and the thread it
// lives on. Other threads hand it jobs; jobs run one at a time, in order, on that
// thread with the GIL held, and report back through their own callbacks (the
// scheduler's callbacks post the result to its event loop). The stock scheduler
// runs the same work in `offload`'s single thread.
//
// CPython (and numpy) cannot be re-initialized reliably after finalization, so a
// process may start one Interpreter only; a second start() is an error.
//
// Thread safety: post(), call() and stop() may be called from any thread.

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/status.hpp"

namespace daskcpp::python_compat {

struct InterpreterOptions {
  // The environment's python (a virtualenv's bin/python works); empty = the
  // build-time default, CMake's DASKCPP_PYTHON.
  std::string python_executable;
  // Prepended to sys.path after the folder holding the `daskcpp` helper package.
  std::vector<std::string> sys_path;
  // Imported at startup, before the GC is frozen (their objects then never get
  // scanned by collections).
  std::vector<std::string> preload_modules = {"daskcpp._materialize"};
};

class Interpreter {
 public:
  // A job runs on the interpreter thread with the GIL held. It must not throw.
  using Job = std::function<void()>;
  using CallDone = std::function<void(Result<std::vector<Bytes>>)>;

  // Starts the thread and the interpreter; returns once both are up (or failed).
  static Result<std::unique_ptr<Interpreter>> start(InterpreterOptions options);
  ~Interpreter();  // stop()
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Queues a job; false (job dropped) once stop() has begun.
  bool post(Job job);

  // Runs the jobs already queued, finalizes the interpreter, joins the thread.
  void stop();

  // `module.function(*args)` with bytes arguments; the function returns bytes or
  // a list/tuple of bytes. For tests, benchmarks and small helpers.
  void call(std::string module, std::string function, std::vector<Bytes> args,
            CallDone on_done);
  Result<std::vector<Bytes>> call_sync(std::string module, std::string function,
                                       std::vector<Bytes> args);

  // Runs a job and waits for it (tests and startup code; never from the loop).
  Status run_sync(const std::function<Status()>& job);

  static std::string default_python_executable();

 private:
  explicit Interpreter(InterpreterOptions options);
  void thread_main(std::promise<Status>* started);

  InterpreterOptions options_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  bool stopped_ = false;
};

}  // namespace daskcpp::python_compat
