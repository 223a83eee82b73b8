#include "python_compat/interpreter.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <utility>

#include "python_compat/py_ref.hpp"

#ifndef DASKCPP_DEFAULT_PYTHON
#error "DASKCPP_DEFAULT_PYTHON must be defined by python_compat/CMakeLists.txt"
#endif
#ifndef DASKCPP_PYTHON_COMPAT_DIR
#error "DASKCPP_PYTHON_COMPAT_DIR must be defined by python_compat/CMakeLists.txt"
#endif

namespace daskcpp::python_compat {

namespace {

std::atomic<bool> g_started_once{false};

Status status_from(const PyStatus& st, std::string_view what) {
  if (!PyStatus_Exception(st)) return Status::OK();
  std::string msg = std::string("Python initialization: ") + std::string(what);
  if (st.func != nullptr) msg += std::string(" (") + st.func + ")";
  if (st.err_msg != nullptr) msg += std::string(": ") + st.err_msg;
  return Status::PythonError(msg);
}

Status initialize(const std::string& executable) {
  PyConfig config;
  // The non-isolated config: PYTHONPATH etc. apply, as for a stock scheduler
  // started from the same environment.
  PyConfig_InitPythonConfig(&config);
  config.install_signal_handlers = 0;  // signals belong to the C++ process
  config.parse_argv = 0;
  // With `executable` set, getpath finds a virtualenv's pyvenv.cfg next to it and
  // uses that environment's site-packages.
  Status st = status_from(
      PyConfig_SetBytesString(&config, &config.program_name, executable.c_str()),
      "program_name");
  if (st.ok()) {
    st = status_from(
        PyConfig_SetBytesString(&config, &config.executable, executable.c_str()),
        "executable");
  }
  if (st.ok())
    st = status_from(Py_InitializeFromConfig(&config), "Py_InitializeFromConfig");
  PyConfig_Clear(&config);
  return st;
}

Status setup(const InterpreterOptions& options) {
  PyObject* path = PySys_GetObject("path");  // borrowed
  if (path == nullptr) return Status::PythonError("sys.path is missing");
  std::vector<std::string> entries = {DASKCPP_PYTHON_COMPAT_DIR};
  entries.insert(entries.end(), options.sys_path.begin(), options.sys_path.end());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    DASKCPP_ASSIGN_OR_RETURN(
        OwnedRef entry, checked(PyUnicode_FromString(entries[i].c_str()), "sys.path"));
    if (PyList_Insert(path, static_cast<Py_ssize_t>(i), entry.get()) != 0) {
      return python_error_status("sys.path.insert");
    }
  }
  for (const std::string& name : options.preload_modules) {
    DASKCPP_ASSIGN_OR_RETURN(
        OwnedRef module, checked(PyImport_ImportModule(name.c_str()), "import " + name));
  }
  // Everything imported so far lives for the whole process: move it out of the
  // collector's generations so collections during graph intake stay cheap.
  DASKCPP_ASSIGN_OR_RETURN(OwnedRef gc,
                           checked(PyImport_ImportModule("gc"), "import gc"));
  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef frozen,
      checked(PyObject_CallMethod(gc.get(), "freeze", nullptr), "gc.freeze"));
  return Status::OK();
}

Result<std::vector<Bytes>> bytes_list(PyObject* obj, std::string_view context) {
  std::vector<Bytes> out;
  auto take = [&](PyObject* item) -> Status {
    char* data = nullptr;
    Py_ssize_t size = 0;
    if (PyBytes_AsStringAndSize(item, &data, &size) != 0) {
      return python_error_status(std::string(context) + ": expected bytes");
    }
    out.push_back(Bytes::copy_of(std::string_view(data, static_cast<std::size_t>(size))));
    return Status::OK();
  };
  if (PyBytes_Check(obj)) {
    DASKCPP_RETURN_NOT_OK(take(obj));
    return out;
  }
  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef seq,
      checked(PySequence_Fast(obj, "expected bytes or a sequence"), context));
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.get());
  for (Py_ssize_t i = 0; i < n; ++i) {
    DASKCPP_RETURN_NOT_OK(take(PySequence_Fast_GET_ITEM(seq.get(), i)));
  }
  return out;
}

Result<std::vector<Bytes>> call_now(const std::string& module,
                                    const std::string& function,
                                    const std::vector<Bytes>& args) {
  const std::string what = module + "." + function;
  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef mod, checked(PyImport_ImportModule(module.c_str()), "import " + module));
  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef fn, checked(PyObject_GetAttrString(mod.get(), function.c_str()), what));
  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef tuple, checked(PyTuple_New(static_cast<Py_ssize_t>(args.size())), what));
  for (std::size_t i = 0; i < args.size(); ++i) {
    PyObject* b = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(args[i].data()),
                                            static_cast<Py_ssize_t>(args[i].size()));
    if (b == nullptr) return python_error_status(what);
    PyTuple_SET_ITEM(tuple.get(), static_cast<Py_ssize_t>(i), b);  // steals
  }
  DASKCPP_ASSIGN_OR_RETURN(OwnedRef result,
                           checked(PyObject_CallObject(fn.get(), tuple.get()), what));
  return bytes_list(result.get(), what);
}

}  // namespace

std::string Interpreter::default_python_executable() { return DASKCPP_DEFAULT_PYTHON; }

Interpreter::Interpreter(InterpreterOptions options) : options_(std::move(options)) {
  if (options_.python_executable.empty()) {
    options_.python_executable = default_python_executable();
  }
}

Result<std::unique_ptr<Interpreter>> Interpreter::start(InterpreterOptions options) {
  if (g_started_once.exchange(true)) {
    return Status::Invalid(
        "an embedded Python interpreter was already started in this process; "
        "CPython cannot be initialized twice");
  }
  std::unique_ptr<Interpreter> interp(new Interpreter(std::move(options)));
  std::promise<Status> started;
  std::future<Status> ready = started.get_future();
  interp->thread_ = std::thread([&interp, &started] { interp->thread_main(&started); });
  Status st = ready.get();
  if (!st.ok()) {
    interp->stop();
    return st;
  }
  return interp;
}

Interpreter::~Interpreter() { stop(); }

void Interpreter::thread_main(std::promise<Status>* started) {
  Status st = initialize(options_.python_executable);
  if (!st.ok()) {
    started->set_value(st);
    return;
  }
  st = setup(options_);
  PyThreadState* main_state = PyEval_SaveThread();
  started->set_value(st);
  if (st.ok()) {
    spdlog::info("embedded Python started ({})", options_.python_executable);
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) break;  // stopping, and everything queued has run
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      {
        PyGilGuard gil;
        job();
      }
      lock.lock();
    }
  }
  PyEval_RestoreThread(main_state);
  if (Py_FinalizeEx() != 0) spdlog::warn("Py_FinalizeEx reported an error");
}

bool Interpreter::post(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void Interpreter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopping_ = true;
    stopped_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Interpreter::call(std::string module, std::string function, std::vector<Bytes> args,
                       CallDone on_done) {
  auto shared_done = std::make_shared<CallDone>(std::move(on_done));
  bool queued = post([module = std::move(module), function = std::move(function),
                      args = std::move(args),
                      shared_done] { (*shared_done)(call_now(module, function, args)); });
  if (!queued) (*shared_done)(Status::Cancelled("the Python interpreter is stopped"));
}

Result<std::vector<Bytes>> Interpreter::call_sync(std::string module,
                                                  std::string function,
                                                  std::vector<Bytes> args) {
  std::promise<Result<std::vector<Bytes>>> done;
  auto result = done.get_future();
  call(std::move(module), std::move(function), std::move(args),
       [&done](Result<std::vector<Bytes>> r) { done.set_value(std::move(r)); });
  return result.get();
}

Status Interpreter::run_sync(const std::function<Status()>& job) {
  std::promise<Status> done;
  auto result = done.get_future();
  if (!post([&job, &done] { done.set_value(job()); })) {
    return Status::Cancelled("the Python interpreter is stopped");
  }
  return result.get();
}

}  // namespace daskcpp::python_compat
