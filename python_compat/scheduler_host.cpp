#include "python_compat/scheduler_host.hpp"

#include <pybind11/embed.h>
#include <pybind11/stl.h>
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "protocol/codec/message_codec.hpp"
#include "python_compat/py_ref.hpp"

namespace daskcpp::python_compat {

namespace py = pybind11;
using protocol::Value;

namespace {

// ---- values across the boundary: the wire format is the converter ----------------

py::list frames_to_py(const Value& v) {
  py::list out;
  for (const Bytes& f : protocol::encode_message(v)) {
    out.append(py::bytes(reinterpret_cast<const char*>(f.data()), f.size()));
  }
  return out;
}

Value value_from_py(const py::handle& frames) {
  protocol::Frames decoded;
  for (py::handle f : frames) {
    std::string_view s = f.cast<std::string_view>();
    decoded.push_back(Bytes::copy_of(s));
  }
  Result<Value> v = protocol::decode_message(decoded);
  if (!v.ok()) throw std::runtime_error("daskcpp facade: " + v.status().to_string());
  return std::move(*v);
}

[[noreturn]] void raise(const Status& st) {
  if (st.code() == StatusCode::kKeyError) throw py::key_error(st.message());
  if (st.code() == StatusCode::kInvalid) throw py::attribute_error(st.message());
  throw std::runtime_error(st.message());
}

void check(const Status& st) {
  if (!st.ok()) raise(st);
}

py::list field(const Result<Value>& r) {
  if (!r.ok()) raise(r.status());
  return frames_to_py(*r);
}

std::string bytes_arg(const py::bytes& b) { return std::string(b); }

// The bridge object the facade holds (`facade._bridge`).
struct Bridge {
  SchedulerPort* port;
};

void define_bridge(py::module_& m) {
  py::class_<Bridge>(m, "Bridge")
      .def("address", [](Bridge& b) { return b.port->address(); })
      .def("id", [](Bridge& b) { return b.port->id(); })
      .def("info", [](Bridge& b, std::string name) { return field(b.port->info(name)); })
      .def("diagnostics",
           [](Bridge& b, std::string what, double start) {
             return field(b.port->diagnostics(what, start));
           })
      .def("task_count", [](Bridge& b) { return b.port->task_count(); })
      .def("task_keys",
           [](Bridge& b) {
             py::list out;
             for (const std::string& k : b.port->task_keys()) out.append(py::bytes(k));
             return out;
           })
      .def("has_task",
           [](Bridge& b, const py::bytes& key) {
             return b.port->has_task(bytes_arg(key));
           })
      .def("task_field",
           [](Bridge& b, const py::bytes& key, std::string name) {
             return field(b.port->task_field(bytes_arg(key), name));
           })
      .def("set_task_field",
           [](Bridge& b, const py::bytes& key, std::string name, py::list frames) {
             check(b.port->set_task_field(bytes_arg(key), name, value_from_py(frames)));
           })
      .def("worker_addresses", [](Bridge& b) { return b.port->worker_addresses(); })
      .def("worker_field",
           [](Bridge& b, std::string address, std::string name) {
             return field(b.port->worker_field(address, name));
           })
      .def("client_ids", [](Bridge& b) { return b.port->client_ids(); })
      .def("client_field",
           [](Bridge& b, std::string client, std::string name) {
             return field(b.port->client_field(client, name));
           })
      .def("transitions",
           [](Bridge& b, py::list recs, std::string stimulus_id) {
             std::vector<std::pair<std::string, std::string>> r;
             for (py::handle item : recs) {
               auto t = item.cast<py::tuple>();
               r.emplace_back(bytes_arg(t[0].cast<py::bytes>()),
                              t[1].cast<std::string>());
             }
             check(b.port->transitions(r, stimulus_id));
           })
      .def("stimulus_queue_slots_maybe_opened",
           [](Bridge& b, std::string stimulus_id) {
             check(b.port->stimulus_queue_slots_maybe_opened(stimulus_id));
           })
      .def("log_event",
           [](Bridge& b, py::list frames) {
             Value v = value_from_py(frames);
             std::vector<std::string> topics;
             for (const Value& t : v.as_array().at(0).as_array()) {
               if (t.is_str()) topics.push_back(t.as_str());
             }
             b.port->log_event(topics, v.as_array().at(1));
           })
      .def("send_all",
           [](Bridge& b, py::list frames) {
             Value v = value_from_py(frames);
             b.port->send_all(v.as_array().at(0), v.as_array().at(1));
           })
      .def("set_hook_mask",
           [](Bridge& b, std::uint32_t mask) { b.port->set_hook_mask(mask); })
      .def("route_rpc", [](Bridge& b, std::string op) { b.port->route_rpc(op); })
      .def("route_stream", [](Bridge& b, std::string op) { b.port->route_stream(op); })
      .def("store_worker_plugin",
           [](Bridge& b, std::string name, const py::bytes& plugin) {
             std::string data(plugin);
             b.port->store_worker_plugin(name,
                                         Value(Bytes::from_string(std::move(data))));
           })
      .def("comm_write",
           [](Bridge& b, std::int64_t id, py::list frames) {
             return b.port->comm_write(id, value_from_py(frames));
           })
      .def("comm_closed",
           [](Bridge& b, std::int64_t id) { return b.port->comm_closed(id); })
      .def("set_shuffle_active",
           [](Bridge& b, bool active) { b.port->set_shuffle_active(active); })
      .def_static("log", [](std::string level, std::string text) {
        if (level == "error") {
          spdlog::error("{}", text);
        } else if (level == "warning") {
          spdlog::warn("{}", text);
        } else {
          spdlog::info("{}", text);
        }
      });
}

py::module_ bridge_module() {
  static py::module_::module_def def;
  py::module_ sys = py::module_::import("sys");
  py::dict modules = sys.attr("modules");
  if (modules.contains("daskcpp._scheduler_bridge")) {
    return modules["daskcpp._scheduler_bridge"].cast<py::module_>();
  }
  py::module_ m =
      py::module_::create_extension_module("daskcpp._scheduler_bridge", nullptr, &def);
  define_bridge(m);
  modules["daskcpp._scheduler_bridge"] = m;
  return m;
}

std::string python_error_text(const py::error_already_set& e) { return e.what(); }

}  // namespace

// Holds the facade as a plain reference (pybind11's types are hidden-visibility and
// cannot be members of this exported class).
struct SchedulerPythonHost::Impl {
  Bridge bridge;
  OwnedRef facade_ref;
  py::object facade() const {
    return py::reinterpret_borrow<py::object>(facade_ref.get());
  }
};

SchedulerPythonHost::SchedulerPythonHost(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

SchedulerPythonHost::~SchedulerPythonHost() {
  if (!impl_ || !Py_IsInitialized()) return;
  impl_->facade_ref.reset();
}

Result<std::unique_ptr<SchedulerPythonHost>> SchedulerPythonHost::create(
    SchedulerPort& port) {
  // The scheduler loop thread keeps one Python thread state for the process's
  // lifetime: Python state tied to the thread (asyncio's running loop, thread
  // locals) must survive between calls, and creating/deleting a thread state per
  // call is both slow and unsafe. Ensure without Release keeps it; SaveThread hands
  // the GIL back. Later acquisitions (pybind11's gil_scoped_acquire) reuse it.
  static thread_local bool adopted = false;
  if (!adopted) {
    adopted = true;
    (void)PyGILState_Ensure();
    (void)PyEval_SaveThread();
  }
  auto impl = std::make_unique<Impl>();
  impl->bridge.port = &port;
  int fd = -1;
  try {
    py::gil_scoped_acquire gil;
    py::module_ m = bridge_module();
    py::object bridge = py::cast(&impl->bridge, py::return_value_policy::reference);
    py::module_ facade_mod = py::module_::import("daskcpp._scheduler");
    py::object facade = facade_mod.attr("SchedulerFacade")(bridge);
    fd = facade.attr("_fileno")().cast<int>();
    impl->facade_ref = OwnedRef(facade.release().ptr());
  } catch (const py::error_already_set& e) {
    return Status::PythonError("scheduler facade: " + python_error_text(e));
  } catch (const std::exception& e) {
    return Status::PythonError(std::string("scheduler facade: ") + e.what());
  }
  std::unique_ptr<SchedulerPythonHost> host(new SchedulerPythonHost(std::move(impl)));
  host->selector_fd_ = fd;
  return host;
}

std::optional<double> SchedulerPythonHost::step() {
  py::gil_scoped_acquire gil;
  try {
    double next = impl_->facade().attr("_step")().cast<double>();
    if (next < 0) return std::nullopt;
    return next;
  } catch (const py::error_already_set& e) {
    spdlog::error("scheduler facade: asyncio loop step failed: {}", python_error_text(e));
    return std::nullopt;
  }
}

void SchedulerPythonHost::call_rpc(const std::string& op, const std::string& peer,
                                   std::int64_t comm_id, const Value& args, Reply reply) {
  py::gil_scoped_acquire gil;
  auto shared = std::make_shared<Reply>(std::move(reply));
  try {
    py::cpp_function on_reply([shared, op](py::list frames) {
      Value v;
      try {
        v = value_from_py(frames);
      } catch (const std::exception& e) {
        spdlog::error("scheduler facade: reply to {} not encodable: {}", op, e.what());
      }
      if (*shared) {
        Reply r = std::move(*shared);
        *shared = nullptr;
        r(std::move(v));
      }
    });
    impl_->facade().attr("_rpc")(op, peer, frames_to_py(args), on_reply, comm_id);
  } catch (const py::error_already_set& e) {
    spdlog::error("scheduler facade: op {} from {} failed: {}", op, peer,
                  python_error_text(e));
    if (*shared) (*shared)(Value());
  }
}

void SchedulerPythonHost::call_stream(const std::string& op, const std::string& peer,
                                      const Value& msg) {
  py::gil_scoped_acquire gil;
  try {
    impl_->facade().attr("_stream")(op, peer, frames_to_py(msg));
  } catch (const py::error_already_set& e) {
    spdlog::error("scheduler facade: stream op {} from {} failed: {}", op, peer,
                  python_error_text(e));
  }
}

void SchedulerPythonHost::hook(std::string_view name, const Value& kwargs) {
  py::gil_scoped_acquire gil;
  try {
    impl_->facade().attr("_hook")(std::string(name), frames_to_py(kwargs));
  } catch (const py::error_already_set& e) {
    spdlog::error("scheduler facade: hook {} failed: {}", name, python_error_text(e));
  }
}

void SchedulerPythonHost::transition(std::string_view key, std::string_view start,
                                     std::string_view finish,
                                     std::string_view stimulus_id, const Value* kwargs,
                                     bool only_shuffle) {
  py::gil_scoped_acquire gil;
  try {
    py::object frames =
        kwargs != nullptr ? py::object(frames_to_py(*kwargs)) : py::none();
    impl_->facade().attr("_transition")(py::bytes(key.data(), key.size()),
                                        std::string(start), std::string(finish),
                                        std::string(stimulus_id), frames, only_shuffle);
  } catch (const py::error_already_set& e) {
    spdlog::error("scheduler facade: hook transition failed: {}", python_error_text(e));
  }
}

Status SchedulerPythonHost::install_default_extensions() {
  py::gil_scoped_acquire gil;
  try {
    impl_->facade().attr("_install_default_extensions")();
  } catch (const py::error_already_set& e) {
    return Status::PythonError("default extensions: " + python_error_text(e));
  }
  return Status::OK();
}

Status SchedulerPythonHost::load_preloads(const std::vector<std::string>& preload,
                                          const std::vector<std::string>& preload_argv) {
  py::gil_scoped_acquire gil;
  try {
    impl_->facade().attr("_load_preloads")(preload, preload_argv);
  } catch (const py::error_already_set& e) {
    return Status::PythonError("preload: " + python_error_text(e));
  }
  return Status::OK();
}

Status SchedulerPythonHost::start_plugins() {
  py::gil_scoped_acquire gil;
  try {
    impl_->facade().attr("_start_plugins")();
  } catch (const py::error_already_set& e) {
    return Status::PythonError("plugin start: " + python_error_text(e));
  }
  return Status::OK();
}

std::vector<std::string> SchedulerPythonHost::valid_workers_downscaling(
    const std::vector<std::string>& candidates) {
  py::gil_scoped_acquire gil;
  try {
    return impl_->facade()
        .attr("_valid_workers_downscaling")(candidates)
        .cast<std::vector<std::string>>();
  } catch (const py::error_already_set& e) {
    spdlog::error("scheduler facade: valid_workers_downscaling failed: {}",
                  python_error_text(e));
  } catch (const py::cast_error& e) {
    spdlog::error("scheduler facade: valid_workers_downscaling: {}", e.what());
  }
  return candidates;
}

Value SchedulerPythonHost::version_message(const Value& workers, const Value& source) {
  py::gil_scoped_acquire gil;
  try {
    return value_from_py(impl_->facade().attr("_version_message")(
        frames_to_py(protocol::make_map({{"workers", workers}, {"source", source}}))));
  } catch (const py::error_already_set& e) {
    spdlog::error("scheduler facade: version comparison failed: {}",
                  python_error_text(e));
  } catch (const std::exception& e) {
    spdlog::error("scheduler facade: version comparison: {}", e.what());
  }
  return Value();
}

Status SchedulerPythonHost::exec(const std::string& source) {
  py::gil_scoped_acquire gil;
  try {
    py::dict scope;
    scope["facade"] = impl_->facade();
    py::exec(source, scope);
  } catch (const py::error_already_set& e) {
    return Status::PythonError(python_error_text(e));
  }
  return Status::OK();
}

void SchedulerPythonHost::close() {
  py::gil_scoped_acquire gil;
  try {
    impl_->facade().attr("_close")();
  } catch (const py::error_already_set& e) {
    spdlog::error("scheduler facade: close failed: {}", python_error_text(e));
  }
}

}  // namespace daskcpp::python_compat
