#include "python_compat/task_runner.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <spdlog/spdlog.h>

#include <string_view>

#include "python_compat/py_ref.hpp"  // first: Python.h before the std headers

namespace py = pybind11;

namespace daskcpp::python_compat {

namespace {

constexpr const char* kModule = "daskcpp._worker";

py::bytes to_py(const Bytes& b) {
  return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
}

py::list to_py_list(const std::vector<Bytes>& frames) {
  py::list out;
  for (const Bytes& f : frames) out.append(to_py(f));
  return out;
}

Bytes from_py(const py::handle& obj) {
  std::string_view view = obj.cast<std::string_view>();
  return Bytes::copy_of(view);
}

std::vector<Bytes> frames_from_py(const py::handle& obj) {
  std::vector<Bytes> out;
  for (const py::handle& f : obj) out.push_back(from_py(f));
  return out;
}

ValueInfo info_from_py(const py::tuple& t, std::size_t first) {
  ValueInfo info;
  info.nbytes = t[first].cast<std::int64_t>();
  info.type_pickle = from_py(t[first + 1]);
  info.type_name = t[first + 2].cast<std::string>();
  return info;
}

// Calls daskcpp._worker.<function>(*args) with the GIL held by the caller; a Python
// exception becomes a PythonError naming the function.
template <typename F>
auto guarded(std::string_view function, F&& f) -> Result<decltype(f())> {
  try {
    return f();
  } catch (const py::error_already_set& e) {
    return Status::PythonError(std::string(kModule) + "." + std::string(function) + ": " +
                               e.what());
  } catch (const py::cast_error& e) {
    return Status::PythonError(std::string(kModule) + "." + std::string(function) +
                               ": unexpected result: " + e.what());
  }
}

py::object helper(const char* name) { return py::module_::import(kModule).attr(name); }

constexpr const char* kContextModule = "daskcpp._worker_context";

py::object context(const char* name) {
  return py::module_::import(kContextModule).attr(name);
}

// ("error", exc header, exc frames, tb header or None, tb frames, exception_text,
// traceback_text, ...) starting at t[first].
ErrorPayload error_from_py(const py::tuple& t, std::size_t first) {
  ErrorPayload e;
  e.exception = SerializedValue{from_py(t[first]), frames_from_py(t[first + 1])};
  if (!t[first + 2].is_none())
    e.traceback = SerializedValue{from_py(t[first + 2]), frames_from_py(t[first + 3])};
  e.exception_text = t[first + 4].cast<std::string>();
  e.traceback_text = t[first + 5].cast<std::string>();
  return e;
}

// ("OK",) / ("OK", header, frames) / ("error", ...) of the _worker_context RPCs.
CallOutcome call_outcome_from_py(const py::tuple& t) {
  CallOutcome out;
  out.ok = t[0].cast<std::string>() == "OK";
  if (!out.ok) {
    out.error = error_from_py(t, 1);
  } else if (t.size() == 3) {
    out.result = SerializedValue{from_py(t[1]), frames_from_py(t[2])};
  }
  return out;
}

TaskOutcome outcome_from_py(const py::tuple& t) {
  TaskOutcome out;
  const std::string status = t[0].cast<std::string>();
  if (status == "reschedule") {
    out.rescheduled = true;
    out.start = t[1].cast<double>();
    out.stop = t[2].cast<double>();
    out.thread = static_cast<std::int64_t>(t[3].cast<std::uint64_t>());
    return out;
  }
  if (status == "OK") {
    out.ok = true;
    out.info = info_from_py(t, 1);
    out.start = t[4].cast<double>();
    out.stop = t[5].cast<double>();
    out.thread = static_cast<std::int64_t>(t[6].cast<std::uint64_t>());
    return out;
  }
  out.ok = false;
  out.exception = SerializedValue{from_py(t[1]), frames_from_py(t[2])};
  if (!t[3].is_none())
    out.traceback = SerializedValue{from_py(t[3]), frames_from_py(t[4])};
  out.exception_text = t[5].cast<std::string>();
  out.traceback_text = t[6].cast<std::string>();
  out.start = t[7].cast<double>();
  out.stop = t[8].cast<double>();
  out.thread = static_cast<std::int64_t>(t[9].cast<std::uint64_t>());
  return out;
}

}  // namespace

Result<std::unique_ptr<TaskRunner>> TaskRunner::start(Interpreter& interpreter,
                                                      int nthreads) {
  if (nthreads < 1) return Status::Invalid("nthreads must be at least 1");
  Status imported = interpreter.run_sync([]() -> Status {
    Result<bool> r = guarded("import", [] {
      py::module_::import(kModule);
      return true;
    });
    return r.status();
  });
  DASKCPP_RETURN_NOT_OK(imported);
  std::unique_ptr<TaskRunner> runner(new TaskRunner());
  {
    PyGilGuard gil;
    Result<bool> installed = guarded("install", [&runner] {
      runner->install_bridge();
      return true;
    });
    DASKCPP_RETURN_NOT_OK(installed.status());
  }
  for (int i = 0; i < nthreads; ++i) {
    runner->threads_.emplace_back([r = runner.get()] { r->thread_main(); });
  }
  return runner;
}

TaskRunner::~TaskRunner() { stop(); }

bool TaskRunner::submit(TaskJob job, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    queue_.emplace_back(std::move(job), std::move(done));
  }
  wake_.notify_one();
  return true;
}

void TaskRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  if (Py_IsInitialized()) {
    PyGilGuard gil;
    Result<bool> r = guarded("release_rejoiners", [] {
      context("release_rejoiners")();
      return true;
    });
    if (!r.ok()) spdlog::warn("{}", r.status().to_string());
  }
  // No thread is added once stopping_ is set (start_replacement checks it).
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void TaskRunner::install_bridge() {
  py::dict bridge;
  bridge["start_replacement"] = py::cpp_function([this] { start_replacement(); });
  bridge["wake_for_rejoin"] = py::cpp_function([this] { wake_for_rejoin(); });
  bridge["secede"] =
      py::cpp_function([this](py::bytes key, double duration, std::string stimulus_id) {
        std::function<void(std::string, double, std::string)> hook;
        {
          std::lock_guard lock(hooks_mutex_);
          hook = hooks_.on_secede;
        }
        if (hook) hook(std::string(key), duration, std::move(stimulus_id));
      });
  bridge["log_event"] = py::cpp_function([this](py::bytes payload) {
    std::function<void(Bytes)> hook;
    {
      std::lock_guard lock(hooks_mutex_);
      hook = hooks_.on_log_event;
    }
    if (hook) hook(from_py(payload));
  });
  context("install")(bridge);
}

void TaskRunner::start_replacement() {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  threads_.emplace_back([this] { thread_main(); });
}

void TaskRunner::wake_for_rejoin() {
  {
    std::lock_guard lock(mutex_);
    ++rejoin_pending_;
  }
  wake_.notify_one();
}

// Mirrors distributed.threadpoolexecutor._worker: between tasks, a thread first
// makes room for a thread that wants to rejoin; after a task, a thread that seceded
// (and did not rejoin) leaves, its replacement already runs.
void TaskRunner::thread_main() {
  while (true) {
    std::pair<TaskJob, Done> item;
    bool make_room = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock,
                 [this] { return stopping_ || !queue_.empty() || rejoin_pending_ > 0; });
      if (stopping_) return;
      if (rejoin_pending_ > 0) {
        --rejoin_pending_;
        make_room = true;
      } else {
        item = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (make_room) {
      PyGilGuard gil;
      Result<bool> granted =
          guarded("grant_rejoin", [] { return context("grant_rejoin")().cast<bool>(); });
      if (!granted.ok()) spdlog::warn("{}", granted.status().to_string());
      if (granted.ok() && *granted) return;  // the rejoined thread has our slot
      continue;
    }
    const TaskJob& job = item.first;
    bool proceed = true;
    Result<TaskOutcome> outcome = [&job, &proceed]() -> Result<TaskOutcome> {
      PyGilGuard gil;
      Result<TaskOutcome> r = guarded("execute", [&job] {
        py::list deps;
        for (const auto& [key, id] : job.dependencies) {
          deps.append(py::make_tuple(py::bytes(key), id));
        }
        py::tuple t = helper("execute")(job.result_id, to_py(job.spec_header),
                                        to_py_list(job.spec_frames), deps,
                                        py::bytes(job.canonical_key));
        return outcome_from_py(t);
      });
      Result<bool> p = guarded("thread_proceeds",
                               [] { return context("thread_proceeds")().cast<bool>(); });
      proceed = !p.ok() || *p;
      return r;
    }();
    item.second(std::move(outcome));  // without the GIL
    if (!proceed) return;
  }
}

Status TaskRunner::configure_worker(const WorkerInfo& info, WorkerHooks hooks) {
  {
    std::lock_guard lock(hooks_mutex_);
    hooks_ = std::move(hooks);
  }
  PyGilGuard gil;
  Result<bool> r = guarded("configure", [&info] {
    py::dict d;
    d["address"] = info.address;
    d["name"] = info.name;
    d["id"] = info.id;
    d["scheduler"] = info.scheduler_address;
    d["nthreads"] = info.nthreads;
    d["local_directory"] = info.local_directory;
    d["memory_limit"] = info.memory_limit ? py::object(py::int_(*info.memory_limit))
                                          : py::object(py::none());
    context("configure")(d);
    return true;
  });
  return r.status();
}

Result<CallOutcome> TaskRunner::run_function(const Bytes& function,
                                             const std::optional<Bytes>& args,
                                             const std::optional<Bytes>& kwargs,
                                             bool wait) {
  PyGilGuard gil;
  return guarded("run", [&] {
    py::object a = args ? py::object(to_py(*args)) : py::object(py::none());
    py::object k = kwargs ? py::object(to_py(*kwargs)) : py::object(py::none());
    py::tuple t = context("run")(to_py(function), a, k, wait);
    return call_outcome_from_py(t);
  });
}

Result<CallOutcome> TaskRunner::plugin_add(const Bytes& plugin,
                                           const std::optional<std::string>& name,
                                           bool catch_errors) {
  PyGilGuard gil;
  return guarded("plugin_add", [&] {
    py::object n = name ? py::object(py::str(*name)) : py::object(py::none());
    py::tuple t = context("plugin_add")(to_py(plugin), n, catch_errors);
    return call_outcome_from_py(t);
  });
}

Result<CallOutcome> TaskRunner::plugin_remove(const std::string& name) {
  PyGilGuard gil;
  return guarded("plugin_remove", [&] {
    py::tuple t = context("plugin_remove")(name);
    return call_outcome_from_py(t);
  });
}

void TaskRunner::close_worker_context() {
  PyGilGuard gil;
  Result<bool> r = guarded("close", [] {
    context("close")();
    return true;
  });
  if (!r.ok()) spdlog::warn("{}", r.status().to_string());
}

Result<bool> TaskRunner::call_handler(const std::string& op,
                                      const std::vector<Bytes>& request_frames,
                                      HandlerReply done) {
  PyGilGuard gil;
  return guarded("handle_rpc", [&] {
    auto reply = py::cpp_function([done = std::move(done)](const py::list& frames) {
      done(frames_from_py(frames));
    });
    return context("handle_rpc")(op, to_py_list(request_frames), reply).cast<bool>();
  });
}

Result<bool> TaskRunner::call_stream_handler(const std::string& op,
                                             const std::vector<Bytes>& message_frames) {
  PyGilGuard gil;
  return guarded("handle_stream", [&] {
    return context("handle_stream")(op, to_py_list(message_frames)).cast<bool>();
  });
}

Result<std::optional<Bytes>> TaskRunner::extensions_heartbeat() {
  PyGilGuard gil;
  return guarded("extensions_heartbeat", [&]() -> std::optional<Bytes> {
    py::object beats = context("extensions_heartbeat")();
    if (beats.is_none()) return std::nullopt;
    return from_py(beats);
  });
}

Result<SerializedValue> TaskRunner::serialize(ValueId id, int pickle_protocol) {
  PyGilGuard gil;
  return guarded("serialize", [&] {
    py::tuple t = helper("serialize")(id, pickle_protocol);
    return SerializedValue{from_py(t[0]), frames_from_py(t[1])};
  });
}

Result<ValueInfo> TaskRunner::deserialize(ValueId id, const SerializedValue& value) {
  PyGilGuard gil;
  return guarded("deserialize", [&] {
    py::tuple t =
        helper("deserialize")(id, to_py(value.header), to_py_list(value.frames));
    return info_from_py(t, 0);
  });
}

void TaskRunner::release(ValueId id) {
  PyGilGuard gil;
  Result<bool> r = guarded("release", [&] {
    helper("release")(id);
    return true;
  });
  if (!r.ok()) spdlog::warn("{}", r.status().to_string());
}

Result<std::int64_t> TaskRunner::spill(ValueId id, const std::string& path) {
  PyGilGuard gil;
  return guarded("spill", [&] {
    return py::module_::import("daskcpp._spill")
        .attr("spill")(id, path)
        .cast<std::int64_t>();
  });
}

Result<Bytes> TaskRunner::versions_msgpack() {
  PyGilGuard gil;
  return guarded("versions_msgpack",
                 [&] { return from_py(helper("versions_msgpack")()); });
}

Result<std::int64_t> TaskRunner::stored_count() {
  PyGilGuard gil;
  return guarded("stored_count",
                 [&] { return helper("stored_count")().cast<std::int64_t>(); });
}

}  // namespace daskcpp::python_compat
