#pragma once
// GraphMaterializer: turns an update-graph's pickled dask expression into flat
// per-task records, on the embedded interpreter's thread.
//
// Mirrors the Python half of distributed's Scheduler.update_graph: deserialize
// expr_ser (failure -> the stock "Error during deserialization of the task graph"
// RuntimeError), _materialize_graph, _cull for LLGExpr, dask.order.order when
// internal_priority is empty (by the C++ port scheduler/ordering/dask_order.hpp on
// the records, with hashes and istask flags from Python), the annotation merge of
// _apply_annotations, and the ToPickle(run_spec) pickling stock does for every
// compute-task. The Python side is python_compat/daskcpp/_materialize.py.
//
// Thread safety: submit() may be called from any thread; on_done runs on the
// interpreter thread (post it to your loop). The Interpreter must outlive it.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/codec/pickled_run_spec.hpp"
#include "protocol/codec/value.hpp"
#include "protocol/status.hpp"
#include "python_compat/interpreter.hpp"

namespace daskcpp::python_compat {

struct MaterializeRequest {
  protocol::PayloadPtr expr;          // update-graph.expr_ser (kSerialized)
  protocol::PayloadPtr annotations;   // update-graph.annotations (kPickled) or null
  std::vector<protocol::Value> keys;  // update-graph.keys (the __Set__ items)
  protocol::Value internal_priority;  // map Key -> int, or nil
};

struct MaterializedTask {
  // Canonical key bytes (shortest msgpack of the key, as Key::from_value writes
  // them); the scheduler interns them as they are, never decoding them.
  std::string key;
  std::vector<std::string> dependencies;  // canonical key bytes
  // dask.order / internal_priority value; has_order is false only for a task the
  // client's internal_priority does not mention (stock then gives it no priority).
  std::int64_t order = 0;
  bool has_order = true;
  bool data_producer = false;
  // Per-key annotations merged over the global ones (stock's `ts.annotations or
  // {}`); values msgpack cannot carry are dropped with a warning.
  protocol::Value annotations;
  std::string key_split;
  std::string key_split_group;
  // The pickled run_spec and its out-of-band buffers, as stock sends
  // ToPickle(ts.run_spec); stored over a sibling's pickle where they share bytes.
  std::shared_ptr<const protocol::PickledRunSpec> run_spec;
};

struct MaterializedGraph {
  std::vector<MaterializedTask> tasks;  // dict order of the materialized graph
  // Dependencies outside `tasks` (tasks the scheduler should already have), as
  // canonical key bytes; a missing one means "lost dependencies".
  std::vector<std::string> external_dependencies;
  protocol::Value global_annotations;  // msgpack-able part of update-graph.annotations
  bool culled = false;                 // the expression was an LLGExpr
  std::size_t dropped_annotations = 0;
};

// A graph that cannot be materialized: what the scheduler reports as task-erred
// for every requested key. exception/traceback are the kSerialized payloads of
// distributed.core.error_message (traceback may be null).
struct MaterializeError {
  std::string text;  // str(exception), what stock logs
  protocol::PayloadPtr exception;
  protocol::PayloadPtr traceback;
};

using MaterializeOutcome = std::variant<MaterializedGraph, MaterializeError>;
// A Status (rather than an outcome) means our side failed: interpreter stopped,
// helper package broken, request not encodable.
using MaterializeResult = Result<MaterializeOutcome>;

class GraphMaterializer {
 public:
  explicit GraphMaterializer(Interpreter& interpreter) : interpreter_(interpreter) {}

  void submit(MaterializeRequest request, std::function<void(MaterializeResult)> on_done);
  MaterializeResult materialize(MaterializeRequest request);  // blocking
  // Hands the heap's freed pages back to the OS (malloc_trim, on the interpreter
  // thread, off the loop): after a large graph's records are consumed, and after
  // a burst of work. Without it the scheduler keeps its intake peak while it
  // holds the graph.
  void release_freed_memory();

  // CPU seconds the interpreter thread spent materializing, and how many graphs
  // and tasks it produced: the "intake" share of the scheduler's CPU (issue 11).
  // Readable from any thread.
  double intake_cpu_seconds() const {
    return static_cast<double>(intake_cpu_ns_.load(std::memory_order_relaxed)) * 1e-9;
  }
  std::uint64_t intake_graphs() const {
    return intake_graphs_.load(std::memory_order_relaxed);
  }
  std::uint64_t intake_tasks() const {
    return intake_tasks_.load(std::memory_order_relaxed);
  }

 private:
  Interpreter& interpreter_;
  std::atomic<std::int64_t> intake_cpu_ns_{0};
  std::atomic<std::uint64_t> intake_graphs_{0};
  std::atomic<std::uint64_t> intake_tasks_{0};
};

// CPU time of the calling thread, in nanoseconds (CLOCK_THREAD_CPUTIME_ID).
std::int64_t thread_cpu_ns();

}  // namespace daskcpp::python_compat
