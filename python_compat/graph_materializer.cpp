#include "python_compat/graph_materializer.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <ctime>
#include <future>
#include <memory>
#include <span>
#include <unordered_map>
#include <utility>

#include "protocol/codec/message_codec.hpp"
#include "python_compat/py_ref.hpp"
#include "scheduler/ordering/dask_order.hpp"

namespace daskcpp::python_compat {

namespace {

using protocol::Payload;
using protocol::PayloadPtr;
using protocol::PickledRunSpec;
using protocol::Value;

constexpr const char* kHelperModule = "daskcpp._materialize";

// A graph's run_specs, made in task order. Each is stored over a base: one per
// task group and pickle length, the first such pickle met (siblings of equal
// length differ only where their keys do; protocol/codec/pickled_run_spec.hpp).
//
// They are allocated in blocks of kBlock consecutive tasks, each task's handle
// an aliasing shared_ptr into its block: one allocation per block instead of
// one per task, and the long-lived run_specs sit together on the heap rather
// than among the short-lived pickles and records of intake, whose freed pages
// the heap could then not give back. A block lives until its last task goes.
class RunSpecBuilder {
 public:
  static constexpr std::size_t kBlock = 256;

  void add(std::size_t group, std::string_view pickle) {
    if (!block_ || block_->size() == block_->capacity()) {
      block_ = std::make_shared<std::vector<PickledRunSpec>>();
      block_->reserve(kBlock);  // never reallocates: the handles point into it
    }
    PickledRunSpec::Base& base = bases_[{group, pickle.size()}];
    block_->push_back(PickledRunSpec::over(base, pickle));
    if (!base) base = block_->back().base();
    specs_.emplace_back(block_, &block_->back());
  }
  std::vector<std::shared_ptr<const PickledRunSpec>>& specs() { return specs_; }

 private:
  struct GroupAndSize {
    std::size_t group;
    std::size_t size;
    bool operator==(const GroupAndSize&) const = default;
  };
  struct Hash {
    std::size_t operator()(const GroupAndSize& g) const {
      return std::hash<std::size_t>()(g.group * 1000003u + g.size);
    }
  };
  std::unordered_map<GroupAndSize, PickledRunSpec::Base, Hash> bases_;
  std::shared_ptr<std::vector<PickledRunSpec>> block_;
  std::vector<std::shared_ptr<const PickledRunSpec>> specs_;
};

// The helper's run_spec_sink: takes the pickled run_specs in chunks while they
// are made, so that a large graph's pickles never all exist at once (they
// would be most of the intake's peak).
// run_spec_sink(group_index_q: bytes, pickles: list[bytes]); `self` is a
// capsule holding the RunSpecBuilder.
PyObject* run_spec_sink_call(PyObject* self, PyObject* args) {
  auto* sink = static_cast<RunSpecBuilder*>(PyCapsule_GetPointer(self, nullptr));
  PyObject* groups = nullptr;
  PyObject* pickles = nullptr;
  if (sink == nullptr ||
      !PyArg_ParseTuple(args, "SO!", &groups, &PyList_Type, &pickles)) {
    return nullptr;
  }
  const Py_ssize_t n = PyList_GET_SIZE(pickles);
  if (PyBytes_GET_SIZE(groups) != n * static_cast<Py_ssize_t>(sizeof(std::int64_t))) {
    PyErr_SetString(PyExc_ValueError, "run_spec_sink: one group index per pickle");
    return nullptr;
  }
  try {
    for (Py_ssize_t i = 0; i < n; ++i) {
      std::int64_t group = 0;
      std::memcpy(&group, PyBytes_AS_STRING(groups) + i * 8, sizeof group);
      PyObject* pickle = PyList_GET_ITEM(pickles, i);
      if (!PyBytes_Check(pickle)) {
        PyErr_SetString(PyExc_TypeError, "run_spec_sink: a pickle is not bytes");
        return nullptr;
      }
      sink->add(static_cast<std::size_t>(group),
                std::string_view(PyBytes_AS_STRING(pickle),
                                 static_cast<std::size_t>(PyBytes_GET_SIZE(pickle))));
    }
  } catch (const std::bad_alloc&) {
    return PyErr_NoMemory();
  }
  Py_RETURN_NONE;
}

PyMethodDef kRunSpecSinkDef = {"run_spec_sink", run_spec_sink_call, METH_VARARGS,
                               nullptr};

// Field positions of the helper's "ok" tuple (see _materialize.materialize).
enum Field : Py_ssize_t {
  kTag,
  kTaskCount,
  kKeyBlob,
  kKeyEnds,
  kDepEnds,
  kDepIndex,
  kHasOrder,
  kOrder,
  kDataProducer,
  kSplitNames,
  kSplitIndex,
  kGroupNames,
  kGroupIndex,
  kGlobalAnnotations,
  kAnnotTask,
  kAnnotBlobs,
  kPickles,
  kBufferTask,
  kBufferFrames,
  kCulled,
  kWarnings,
  kWarningCount,
  kOrderInCpp,
  kIsTask,
  kKeyHash,
  kOrderKeys,
  kFieldCount,
};

Status helper_error(std::string what) {
  return Status::PythonError("materializer helper returned " + what);
}

PyObject* bytes_object(const Bytes& b) {
  return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(b.data()),
                                   static_cast<Py_ssize_t>(b.size()));
}

Result<OwnedRef> bytes_list_object(const std::vector<Bytes>& frames) {
  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef list,
      checked(PyList_New(static_cast<Py_ssize_t>(frames.size())), "materialize"));
  for (std::size_t i = 0; i < frames.size(); ++i) {
    PyObject* b = bytes_object(frames[i]);
    if (b == nullptr) return python_error_status("materialize");
    PyList_SET_ITEM(list.get(), static_cast<Py_ssize_t>(i), b);  // steals
  }
  return list;
}

Result<std::string_view> bytes_view(PyObject* obj, const char* field) {
  char* data = nullptr;
  Py_ssize_t size = 0;
  if (obj == nullptr || !PyBytes_Check(obj) ||
      PyBytes_AsStringAndSize(obj, &data, &size) != 0) {
    PyErr_Clear();
    return helper_error(std::string("a non-bytes ") + field);
  }
  return std::string_view(data, static_cast<std::size_t>(size));
}

// An array('q').tobytes() field.
Result<std::vector<std::int64_t>> int64s(PyObject* obj, const char* field) {
  DASKCPP_ASSIGN_OR_RETURN(std::string_view raw, bytes_view(obj, field));
  if (raw.size() % sizeof(std::int64_t) != 0) {
    return helper_error(std::string("a ragged ") + field);
  }
  std::vector<std::int64_t> out(raw.size() / sizeof(std::int64_t));
  if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

Result<std::vector<std::string>> strings(PyObject* obj, const char* field) {
  if (obj == nullptr || !PyList_Check(obj))
    return helper_error(std::string("no list ") + field);
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(PyList_GET_SIZE(obj)));
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(obj); ++i) {
    Py_ssize_t size = 0;
    const char* s = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(obj, i), &size);
    if (s == nullptr) return python_error_status(field);
    out.emplace_back(s, static_cast<std::size_t>(size));
  }
  return out;
}

// Cumulative end offsets -> checked [begin, end) ranges over a blob of `size`.
Status check_ends(const std::vector<std::int64_t>& ends, std::size_t size,
                  const char* field) {
  std::int64_t prev = 0;
  for (std::int64_t e : ends) {
    if (e < prev) return helper_error(std::string("decreasing offsets in ") + field);
    prev = e;
  }
  if (static_cast<std::uint64_t>(prev) != size) {
    return helper_error(std::string("offsets not covering ") + field);
  }
  return Status::OK();
}

Result<PayloadPtr> serialized_payload(PyObject* header, PyObject* frames) {
  if (header == Py_None) return PayloadPtr{};
  DASKCPP_ASSIGN_OR_RETURN(std::string_view h, bytes_view(header, "error header"));
  auto payload = std::make_shared<Payload>();
  payload->kind = Payload::Kind::kSerialized;
  payload->header = Bytes::copy_of(h);
  if (!PyList_Check(frames)) return helper_error("no error frame list");
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(frames); ++i) {
    DASKCPP_ASSIGN_OR_RETURN(std::string_view f,
                             bytes_view(PyList_GET_ITEM(frames, i), "error frame"));
    payload->frames.push_back(Bytes::copy_of(f));
  }
  return PayloadPtr(std::move(payload));
}

Result<MaterializeOutcome> convert_error(PyObject* result) {
  if (PyTuple_GET_SIZE(result) != 6) return helper_error("a malformed error tuple");
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(result, 1), &size);
  if (text == nullptr) return python_error_status("materialize error text");
  MaterializeError error;
  error.text.assign(text, static_cast<std::size_t>(size));
  DASKCPP_ASSIGN_OR_RETURN(
      error.exception,
      serialized_payload(PyTuple_GET_ITEM(result, 2), PyTuple_GET_ITEM(result, 3)));
  DASKCPP_ASSIGN_OR_RETURN(
      error.traceback,
      serialized_payload(PyTuple_GET_ITEM(result, 4), PyTuple_GET_ITEM(result, 5)));
  if (!error.exception) return helper_error("an error without an exception payload");
  spdlog::error("update-graph: {}", error.text);
  return MaterializeOutcome(std::move(error));
}

// dask.order.order for a graph whose client sent no internal_priority, by the C++
// port: the records' dependency lists plus the nodes' istask flags and the keys'
// hash() (both from this interpreter, which the port's set replay needs); str(key)
// is asked of Python only for nodes whose numeric sort criteria tie.
Result<std::vector<std::int64_t>> order_in_cpp(
    PyObject* r, std::size_t n, std::size_t n_keys,
    const std::vector<std::int64_t>& dep_ends,
    const std::vector<std::int64_t>& dep_index) {
  auto item = [r](Field f) { return PyTuple_GET_ITEM(r, f); };
  DASKCPP_ASSIGN_OR_RETURN(std::string_view is_task,
                           bytes_view(item(kIsTask), "is_task"));
  DASKCPP_ASSIGN_OR_RETURN(auto key_hash, int64s(item(kKeyHash), "key_hash"));
  PyObject* keys = item(kOrderKeys);
  if (is_task.size() != n || key_hash.size() != n_keys || !PyList_Check(keys) ||
      static_cast<std::size_t>(PyList_GET_SIZE(keys)) != n_keys) {
    return helper_error("order inputs of inconsistent lengths");
  }
  for (std::int64_t d : dep_index) {
    if (d < 0 || static_cast<std::size_t>(d) >= n_keys)
      return helper_error("a dependency index out of range");
  }
  std::vector<std::string> texts(n_keys);
  std::vector<char> have_text(n_keys, 0);
  bool text_failed = false;
  ordering::DaskOrderGraph graph;
  graph.task_count = n;
  graph.node_count = n_keys;
  graph.dep_ends = dep_ends;
  graph.dep_index = dep_index;
  graph.is_task = std::span(reinterpret_cast<const std::uint8_t*>(is_task.data()), n);
  graph.key_hash = key_hash;
  graph.key_text = [&](std::size_t x) -> std::string_view {
    if (!have_text[x]) {
      have_text[x] = 1;
      OwnedRef text(PyObject_Str(PyList_GET_ITEM(keys, static_cast<Py_ssize_t>(x))));
      Py_ssize_t size = 0;
      const char* utf8 = text ? PyUnicode_AsUTF8AndSize(text.get(), &size) : nullptr;
      if (utf8 == nullptr) {
        PyErr_Clear();
        text_failed = true;
      } else {
        texts[x].assign(utf8, static_cast<std::size_t>(size));
      }
    }
    return texts[x];
  };
  auto priorities = ordering::dask_order(graph);
  if (text_failed) return helper_error("a key whose str() failed");
  return priorities;
}

// The helper's error tuple for the RuntimeError dask.order.order raises on a cycle.
Result<MaterializeOutcome> cycle_outcome(const std::string& text) {
  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef module, checked(PyImport_ImportModule(kHelperModule), "import helper"));
  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef fn,
      checked(PyObject_GetAttrString(module.get(), "cycle_error"), "cycle_error"));
  DASKCPP_ASSIGN_OR_RETURN(OwnedRef text_obj,
                           checked(PyUnicode_FromStringAndSize(
                                       text.data(), static_cast<Py_ssize_t>(text.size())),
                                   "cycle_error"));
  DASKCPP_ASSIGN_OR_RETURN(OwnedRef error, checked(PyObject_CallFunctionObjArgs(
                                                       fn.get(), text_obj.get(), nullptr),
                                                   "daskcpp._materialize.cycle_error"));
  if (!PyTuple_Check(error.get())) return helper_error("a malformed cycle error");
  return convert_error(error.get());
}

Result<MaterializeOutcome> convert_graph(PyObject* r, RunSpecBuilder& sink) {
  if (PyTuple_GET_SIZE(r) != kFieldCount) return helper_error("a malformed record tuple");
  auto item = [r](Field f) { return PyTuple_GET_ITEM(r, f); };
  const Py_ssize_t n_signed = PyLong_AsSsize_t(item(kTaskCount));
  if (n_signed < 0) {
    PyErr_Clear();
    return helper_error("a bad task count");
  }
  const auto n = static_cast<std::size_t>(n_signed);

  DASKCPP_ASSIGN_OR_RETURN(std::string_view key_blob, bytes_view(item(kKeyBlob), "keys"));
  DASKCPP_ASSIGN_OR_RETURN(auto key_ends, int64s(item(kKeyEnds), "key offsets"));
  DASKCPP_RETURN_NOT_OK(check_ends(key_ends, key_blob.size(), "keys"));
  DASKCPP_ASSIGN_OR_RETURN(auto dep_ends, int64s(item(kDepEnds), "dependency offsets"));
  DASKCPP_ASSIGN_OR_RETURN(auto dep_index, int64s(item(kDepIndex), "dependencies"));
  DASKCPP_RETURN_NOT_OK(check_ends(dep_ends, dep_index.size(), "dependencies"));
  DASKCPP_ASSIGN_OR_RETURN(std::string_view has_order,
                           bytes_view(item(kHasOrder), "has_order"));
  DASKCPP_ASSIGN_OR_RETURN(auto order, int64s(item(kOrder), "order"));
  DASKCPP_ASSIGN_OR_RETURN(std::string_view producer,
                           bytes_view(item(kDataProducer), "data_producer"));
  DASKCPP_ASSIGN_OR_RETURN(auto split_names, strings(item(kSplitNames), "key_split"));
  DASKCPP_ASSIGN_OR_RETURN(auto split_index,
                           int64s(item(kSplitIndex), "key_split index"));
  DASKCPP_ASSIGN_OR_RETURN(auto group_names,
                           strings(item(kGroupNames), "key_split_group"));
  DASKCPP_ASSIGN_OR_RETURN(auto group_index, int64s(item(kGroupIndex), "group index"));
  DASKCPP_ASSIGN_OR_RETURN(std::string_view global_blob,
                           bytes_view(item(kGlobalAnnotations), "global annotations"));
  DASKCPP_ASSIGN_OR_RETURN(auto annot_task, int64s(item(kAnnotTask), "annotation index"));
  // None: the run_specs went to the sink as they were made.
  PyObject* pickles = item(kPickles);
  DASKCPP_ASSIGN_OR_RETURN(auto buffer_task, int64s(item(kBufferTask), "buffer index"));
  PyObject* annot_blobs = item(kAnnotBlobs);
  PyObject* buffer_frames = item(kBufferFrames);

  const std::size_t n_keys = key_ends.size();
  if (n_keys < n || dep_ends.size() != n || has_order.size() != n || order.size() != n ||
      producer.size() != n || split_index.size() != n || group_index.size() != n ||
      pickles != Py_None || sink.specs().size() != n || !PyList_Check(annot_blobs) ||
      static_cast<std::size_t>(PyList_GET_SIZE(annot_blobs)) != annot_task.size() ||
      !PyList_Check(buffer_frames) ||
      static_cast<std::size_t>(PyList_GET_SIZE(buffer_frames)) != buffer_task.size()) {
    return helper_error("fields of inconsistent lengths");
  }

  const bool ordered_in_cpp = PyObject_IsTrue(item(kOrderInCpp)) == 1;
  if (ordered_in_cpp) {
    auto priorities = order_in_cpp(r, n, n_keys, dep_ends, dep_index);
    if (!priorities.ok()) {
      if (priorities.status().code() == StatusCode::kInvalid)
        return cycle_outcome(priorities.status().message());
      return priorities.status();
    }
    order = std::move(priorities).value();
  }

  MaterializedGraph graph;
  graph.culled = PyObject_IsTrue(item(kCulled)) == 1;
  {
    auto global = protocol::decode_msgpack(std::span(
        reinterpret_cast<const std::uint8_t*>(global_blob.data()), global_blob.size()));
    if (!global.ok()) return global.status().with_context("global annotations");
    graph.global_annotations = std::move(global).value();
  }

  auto key_at = [&](std::size_t i) {
    std::size_t begin = i == 0 ? 0 : static_cast<std::size_t>(key_ends[i - 1]);
    return key_blob.substr(begin, static_cast<std::size_t>(key_ends[i]) - begin);
  };
  graph.tasks.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    graph.tasks[i].run_spec = std::move(sink.specs()[i]);
  std::size_t dep_begin = 0;
  for (std::size_t i = 0; i < n; ++i) {
    MaterializedTask& t = graph.tasks[i];
    t.key.assign(key_at(i));
    const auto dep_end = static_cast<std::size_t>(dep_ends[i]);
    t.dependencies.reserve(dep_end - dep_begin);
    for (std::size_t d = dep_begin; d < dep_end; ++d) {
      if (dep_index[d] < 0 || static_cast<std::size_t>(dep_index[d]) >= n_keys) {
        return helper_error("a dependency index out of range");
      }
      t.dependencies.emplace_back(key_at(static_cast<std::size_t>(dep_index[d])));
    }
    dep_begin = dep_end;
    t.has_order = ordered_in_cpp || has_order[i] != 0;
    t.order = order[i];
    t.data_producer = producer[i] != 0;
    if (static_cast<std::uint64_t>(split_index[i]) >= split_names.size() ||
        static_cast<std::uint64_t>(group_index[i]) >= group_names.size()) {
      return helper_error("a name index out of range");
    }
    t.key_split = split_names[static_cast<std::size_t>(split_index[i])];
    t.key_split_group = group_names[static_cast<std::size_t>(group_index[i])];
    t.annotations = graph.global_annotations;
  }
  for (std::size_t j = 0; j < annot_task.size(); ++j) {
    if (annot_task[j] < 0 || static_cast<std::size_t>(annot_task[j]) >= n) {
      return helper_error("an annotation index out of range");
    }
    DASKCPP_ASSIGN_OR_RETURN(std::string_view blob,
                             bytes_view(PyList_GET_ITEM(annot_blobs, j), "annotations"));
    auto v = protocol::decode_msgpack(
        std::span(reinterpret_cast<const std::uint8_t*>(blob.data()), blob.size()));
    if (!v.ok()) return v.status().with_context("task annotations");
    graph.tasks[static_cast<std::size_t>(annot_task[j])].annotations =
        std::move(v).value();
  }
  for (std::size_t j = 0; j < buffer_task.size(); ++j) {
    if (buffer_task[j] < 0 || static_cast<std::size_t>(buffer_task[j]) >= n) {
      return helper_error("a buffer index out of range");
    }
    MaterializedTask& t = graph.tasks[static_cast<std::size_t>(buffer_task[j])];
    PyObject* frames = PyList_GET_ITEM(buffer_frames, j);
    if (!PyList_Check(frames)) return helper_error("no buffer list");
    std::vector<Bytes> buffers;
    for (Py_ssize_t f = 0; f < PyList_GET_SIZE(frames); ++f) {
      DASKCPP_ASSIGN_OR_RETURN(std::string_view buf,
                               bytes_view(PyList_GET_ITEM(frames, f), "buffer"));
      buffers.push_back(Bytes::copy_of(buf));
    }
    // A pickle with out-of-band buffers is stored whole, with them.
    t.run_spec = std::make_shared<const PickledRunSpec>(
        PickledRunSpec::whole(t.run_spec->pickle(), std::move(buffers)));
  }
  for (std::size_t k = n; k < n_keys; ++k)
    graph.external_dependencies.emplace_back(key_at(k));

  DASKCPP_ASSIGN_OR_RETURN(auto warnings, strings(item(kWarnings), "warnings"));
  for (const std::string& w : warnings) spdlog::warn("update-graph: {}", w);
  graph.dropped_annotations =
      static_cast<std::size_t>(PyLong_AsSsize_t(item(kWarningCount)));
  if (graph.dropped_annotations > warnings.size()) {
    spdlog::warn("update-graph: {} more annotations dropped",
                 graph.dropped_annotations - warnings.size());
  }
  return MaterializeOutcome(std::move(graph));
}

Result<Bytes> encode_field(const Value& v, const char* field) {
  auto encoded = protocol::encode_msgpack(v);
  if (!encoded.ok())
    return encoded.status().with_context(std::string("update-graph.") + field);
  return std::move(encoded).value();
}

// Runs on the interpreter thread with the GIL held.
MaterializeResult materialize_now(const MaterializeRequest& request) {
  if (!request.expr || request.expr->kind != Payload::Kind::kSerialized) {
    return Status::TypeError("update-graph.expr_ser: expected a __Serialized__ payload");
  }
  if (request.annotations && request.annotations->kind != Payload::Kind::kPickled) {
    return Status::TypeError("update-graph.annotations: expected a __Pickled__ payload");
  }
  DASKCPP_ASSIGN_OR_RETURN(Bytes keys, encode_field(Value(request.keys), "keys"));
  DASKCPP_ASSIGN_OR_RETURN(Bytes priority,
                           encode_field(request.internal_priority, "internal_priority"));

  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef module, checked(PyImport_ImportModule(kHelperModule), "import helper"));
  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef fn,
      checked(PyObject_GetAttrString(module.get(), "materialize"), "materialize"));
  DASKCPP_ASSIGN_OR_RETURN(OwnedRef expr_header,
                           checked(bytes_object(request.expr->header), "materialize"));
  DASKCPP_ASSIGN_OR_RETURN(OwnedRef expr_frames, bytes_list_object(request.expr->frames));
  OwnedRef annot_header;
  if (request.annotations) {
    DASKCPP_ASSIGN_OR_RETURN(
        annot_header, checked(bytes_object(request.annotations->header), "materialize"));
  } else {
    Py_INCREF(Py_None);
    annot_header.reset(Py_None);
  }
  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef annot_frames,
      bytes_list_object(request.annotations ? request.annotations->frames
                                            : std::vector<Bytes>{}));
  DASKCPP_ASSIGN_OR_RETURN(OwnedRef keys_obj, checked(bytes_object(keys), "materialize"));
  DASKCPP_ASSIGN_OR_RETURN(OwnedRef prio_obj,
                           checked(bytes_object(priority), "materialize"));
  RunSpecBuilder sink;
  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef sink_capsule,
      checked(PyCapsule_New(&sink, nullptr, nullptr), "materialize"));
  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef sink_fn,
      checked(PyCFunction_New(&kRunSpecSinkDef, sink_capsule.get()), "materialize"));

  DASKCPP_ASSIGN_OR_RETURN(
      OwnedRef result, checked(PyObject_CallFunctionObjArgs(
                                   fn.get(), expr_header.get(), expr_frames.get(),
                                   annot_header.get(), annot_frames.get(), keys_obj.get(),
                                   prio_obj.get(), sink_fn.get(), nullptr),
                               "daskcpp._materialize.materialize"));
  PyObject* r = result.get();
  if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) < 1) return helper_error("no tuple");
  const char* tag = PyUnicode_Check(PyTuple_GET_ITEM(r, 0))
                        ? PyUnicode_AsUTF8(PyTuple_GET_ITEM(r, 0))
                        : nullptr;
  if (tag != nullptr && std::strcmp(tag, "ok") == 0) return convert_graph(r, sink);
  if (tag != nullptr && std::strcmp(tag, "error") == 0) return convert_error(r);
  PyErr_Clear();
  return helper_error("an unknown tag");
}

}  // namespace

void GraphMaterializer::submit(MaterializeRequest request,
                               std::function<void(MaterializeResult)> on_done) {
  auto shared_done =
      std::make_shared<std::function<void(MaterializeResult)>>(std::move(on_done));
  bool queued = interpreter_.post([this, request = std::move(request), shared_done] {
    const std::int64_t cpu_before = thread_cpu_ns();
    MaterializeResult result = materialize_now(request);
    intake_cpu_ns_.fetch_add(thread_cpu_ns() - cpu_before, std::memory_order_relaxed);
    intake_graphs_.fetch_add(1, std::memory_order_relaxed);
    if (result.ok()) {
      if (const auto* graph = std::get_if<MaterializedGraph>(&*result)) {
        intake_tasks_.fetch_add(graph->tasks.size(), std::memory_order_relaxed);
      }
    }
    (*shared_done)(std::move(result));
  });
  if (!queued) (*shared_done)(Status::Cancelled("the Python interpreter is stopped"));
}

void GraphMaterializer::release_freed_memory() {
#ifdef __GLIBC__
  (void)interpreter_.post([] { malloc_trim(0); });
#endif
}

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

MaterializeResult GraphMaterializer::materialize(MaterializeRequest request) {
  std::promise<MaterializeResult> done;
  auto result = done.get_future();
  submit(std::move(request),
         [&done](MaterializeResult r) { done.set_value(std::move(r)); });
  return result.get();
}

}  // namespace daskcpp::python_compat
