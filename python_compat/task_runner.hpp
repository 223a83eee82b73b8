#pragma once
// TaskRunner: the worker's bridge to Python — runs task payloads on `nthreads`
// executor threads and (de)serializes the values the worker holds (upstream: the
// worker's ThreadPoolExecutor running _run_task_simple, plus to_serialize /
// deserialize on its event loop).
//
// One interpreter (python_compat/interpreter.hpp) serves every thread: each Python
// call takes the GIL for its duration only, so the executor threads run Python
// concurrently the way a stock worker's thread pool does (numpy & co. release the
// GIL inside), and C++ never holds the GIL while it waits or does I/O.
//
// Values stay Python objects in daskcpp._worker's store, named by ValueIds the
// caller chooses; the C++ side sees only ids, bytes and numbers.
//
// Owns the executor threads and their queue. submit(), serialize(), deserialize()
// and release() may be called from any thread; a job's callback runs on the executor
// thread that ran it (the worker posts it to its loop).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/status.hpp"
#include "python_compat/interpreter.hpp"

namespace daskcpp::python_compat {

using ValueId = std::uint64_t;

// What task-finished reports about a value: dask sizeof, pickle of its type (nullopt
// only if even the type name failed), dask.utils.typename.
struct ValueInfo {
  std::int64_t nbytes = 0;
  std::optional<Bytes> type_pickle;
  std::string type_name;
};

// One `__Serialized__` group: the msgpack sub-header and its frames.
struct SerializedValue {
  Bytes header;
  std::vector<Bytes> frames;
};

struct TaskJob {
  ValueId result_id = 0;
  Bytes spec_header;  // the run_spec's __Pickled__ sub-header
  std::vector<Bytes> spec_frames;
  // (canonical msgpack bytes of the dependency key, id of its value)
  std::vector<std::pair<std::string, ValueId>> dependencies;
};

struct TaskOutcome {
  bool ok = true;
  ValueInfo info;  // when ok; the value is stored under the job's result_id
  double start = 0;
  double stop = 0;
  std::int64_t thread = 0;
  // When !ok: distributed.core.error_message's fields.
  SerializedValue exception;
  std::optional<SerializedValue> traceback;
  std::string exception_text;
  std::string traceback_text;
};

class TaskRunner {
 public:
  // A Python-level failure of the bridge itself (not of the task) is an error
  // Result; a task that raised is an ok Result with outcome.ok == false.
  using Done = std::function<void(Result<TaskOutcome>)>;

  // Imports daskcpp._worker and starts the executor threads. `interpreter` must
  // outlive the runner.
  static Result<std::unique_ptr<TaskRunner>> start(Interpreter& interpreter,
                                                   int nthreads);
  ~TaskRunner();  // stop()
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Queues a task; false (and `done` not called) once stop() has begun.
  bool submit(TaskJob job, Done done);
  // Lets the running tasks finish, drops queued ones, joins the threads.
  void stop();

  // to_serialize(value) as a get_data reply carries it.
  Result<SerializedValue> serialize(ValueId id, int pickle_protocol);
  // Stores the deserialized value under `id`.
  Result<ValueInfo> deserialize(ValueId id, const SerializedValue& value);
  void release(ValueId id);
  // msgpack of distributed.versions.get_versions() (register-worker `versions`).
  Result<Bytes> versions_msgpack();
  // Values currently held in the Python store (tests, leak checks).
  Result<std::int64_t> stored_count();

 private:
  TaskRunner() = default;
  void thread_main();

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<TaskJob, Done>> queue_;
  bool stopping_ = false;
};

}  // namespace daskcpp::python_compat
