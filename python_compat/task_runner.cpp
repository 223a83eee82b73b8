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

TaskOutcome outcome_from_py(const py::tuple& t) {
  TaskOutcome out;
  if (t[0].cast<std::string>() == "OK") {
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
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void TaskRunner::thread_main() {
  while (true) {
    std::pair<TaskJob, Done> item;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    const TaskJob& job = item.first;
    Result<TaskOutcome> outcome = [&job]() -> Result<TaskOutcome> {
      PyGilGuard gil;
      return guarded("execute", [&job] {
        py::list deps;
        for (const auto& [key, id] : job.dependencies) {
          deps.append(py::make_tuple(py::bytes(key), id));
        }
        py::tuple t = helper("execute")(job.result_id, to_py(job.spec_header),
                                        to_py_list(job.spec_frames), deps);
        return outcome_from_py(t);
      });
    }();
    item.second(std::move(outcome));  // without the GIL
  }
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
