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
// secede()/rejoin() in a task (distributed.threadpoolexecutor) work against these
// threads: a seceding thread gets a replacement and leaves the pool when its task
// ends; a rejoining thread waits until a free thread leaves in its favour.
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
  std::string canonical_key;  // the task's key, canonical msgpack (thread_state.key)
  Bytes spec_header;          // the run_spec's __Pickled__ sub-header
  std::vector<Bytes> spec_frames;
  // (canonical msgpack bytes of the dependency key, id of its value)
  std::vector<std::pair<std::string, ValueId>> dependencies;
};

struct TaskOutcome {
  bool ok = true;
  // The task raised distributed.Reschedule: neither a result nor an error.
  bool rescheduled = false;
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

// distributed.core.error_message's fields, serialized.
struct ErrorPayload {
  SerializedValue exception;
  std::optional<SerializedValue> traceback;
  std::string exception_text;
  std::string traceback_text;
};

// The reply of a Python-side RPC (run, plugin-add, plugin-remove).
struct CallOutcome {
  bool ok = true;
  std::optional<SerializedValue> result;  // run: to_serialize(result)
  ErrorPayload error;                     // when !ok
};

// What tasks see as get_worker()'s attributes (daskcpp._worker_context).
struct WorkerInfo {
  std::string address;
  std::string name;
  std::string id;
  std::string scheduler_address;
  int nthreads = 1;
  std::string local_directory;
  std::optional<std::int64_t> memory_limit;
};

// How Python reaches the worker. Called on executor threads (or the worker facade's
// loop thread) with the GIL held: they must only post to the worker's loop.
struct WorkerHooks {
  // distributed.secede(): SecedeEvent(key, compute_duration, stimulus_id).
  std::function<void(std::string canonical_key, double compute_duration,
                     std::string stimulus_id)>
      on_secede;
  // worker.log_event(topic, msg): msgpack of [topic, msg].
  std::function<void(Bytes topic_and_msg)> on_log_event;
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
  // Lets the running tasks finish, drops queued ones, joins the threads. Threads
  // waiting in rejoin() are let go first so that they can finish.
  void stop();

  // ---- the worker a task sees (daskcpp._worker_context) -------------------------
  // Installs get_worker()'s facade; call once the address is known, before tasks.
  Status configure_worker(const WorkerInfo& info, WorkerHooks hooks);
  // distributed.worker.run: unpickle and call, passing dask_worker if wanted.
  Result<CallOutcome> run_function(const Bytes& function,
                                   const std::optional<Bytes>& args,
                                   const std::optional<Bytes>& kwargs, bool wait);
  // Worker.plugin_add / plugin_remove (setup/teardown with worker=facade).
  Result<CallOutcome> plugin_add(const Bytes& plugin,
                                 const std::optional<std::string>& name,
                                 bool catch_errors);
  Result<CallOutcome> plugin_remove(const std::string& name);
  // Worker.close's Python part: plugin teardown, the task client, the facade loop.
  void close_worker_context();

  // ---- ops a WorkerPlugin registered on the facade (e.g. the P2P shuffle's) -------
  // The reply of a forwarded RPC: the frames of distributed.protocol.dumps(reply).
  // Called once, on the facade's loop thread with the GIL held: it must only post.
  using HandlerReply = std::function<void(std::vector<Bytes>)>;
  // Runs facade.handlers[op](**loads(request_frames)) on the facade's loop
  // (upstream Server._handle_comm); false, and `done` never called, when the facade
  // has no handler for `op`. `request_frames`: the request map without op/reply.
  Result<bool> call_handler(const std::string& op,
                            const std::vector<Bytes>& request_frames, HandlerReply done);
  // Queues facade.stream_handlers[op](**loads(message_frames)) on the facade's loop;
  // queued ops run in call order. False when the facade has no handler for `op`.
  Result<bool> call_stream_handler(const std::string& op,
                                   const std::vector<Bytes>& message_frames);
  // msgpack of {name: extension.heartbeat()} for the facade's extensions
  // (Worker.heartbeat's `extensions`); nullopt when none has a heartbeat.
  Result<std::optional<Bytes>> extensions_heartbeat();

  // to_serialize(value) as a get_data reply carries it.
  Result<SerializedValue> serialize(ValueId id, int pickle_protocol);
  // Stores the deserialized value under `id`.
  Result<ValueInfo> deserialize(ValueId id, const SerializedValue& value);
  void release(ValueId id);
  // daskcpp._spill.spill: writes the value to a spill file at `path` and drops it
  // from the store; returns the bytes written. On error the value stays in memory.
  Result<std::int64_t> spill(ValueId id, const std::string& path);
  // msgpack of distributed.versions.get_versions() (register-worker `versions`).
  Result<Bytes> versions_msgpack();
  // Values currently held in the Python store (tests, leak checks).
  Result<std::int64_t> stored_count();

 private:
  TaskRunner() = default;
  void thread_main();
  // secede(): a new executor thread takes the seceding thread's place. Called from
  // Python with the GIL held.
  void start_replacement();
  // rejoin(): the next free executor thread leaves the pool in its favour.
  void wake_for_rejoin();
  void install_bridge();

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<TaskJob, Done>> queue_;
  bool stopping_ = false;
  int rejoin_pending_ = 0;  // rejoin() calls not yet granted a slot
  std::mutex hooks_mutex_;
  WorkerHooks hooks_;
};

}  // namespace daskcpp::python_compat
