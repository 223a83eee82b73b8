#pragma once

// dask.order.order (dask 2026.8.0) ported: the static priorities the scheduler uses to
// break ties between runnable tasks, identical to what Python computes for the same
// graph in the same interpreter.
//
// Python's result depends on the iteration order of its sets, which depends on the
// keys' hash() values (randomised per process for str). The port therefore takes the
// hashes the producing interpreter computed and replays those sets (py_set_table.hpp).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/status.hpp"

namespace daskcpp::ordering {

struct DaskOrderGraph {
  // Nodes [0, task_count) are the graph's keys in dsk order; nodes
  // [task_count, node_count) are external keys (dependencies not in dsk, which
  // dask.order turns into DataNodes), numbered in order of first appearance while
  // walking the tasks' dependency lists in order.
  std::size_t task_count = 0;
  std::size_t node_count = 0;
  // task_count cumulative ends into dep_index; each task's dependencies in the
  // iteration order of its node.dependencies frozenset. The port assumes that
  // frozenset was built as dask's GraphNodes build it (frozenset(a_set)), which fixes
  // its table size; that size only matters for a node of 5+ dependencies once
  // shared data roots have been taken out of the graph.
  std::span<const std::int64_t> dep_ends;
  std::span<const std::int64_t> dep_index;
  // task_count flags: dask.core.istask(node) (false for DataNode).
  std::span<const std::uint8_t> is_task;
  // node_count values of hash(key).
  std::span<const std::int64_t> key_hash;
  // str(key) of a node (only asked for nodes whose other sort criteria tie).
  std::function<std::string_view(std::size_t)> key_text;
};

// The priority of every task node (index < task_count). A cycle is an Invalid status
// whose text is dask's "Cycle detected between the following keys:\n  -> a\n  -> b...".
Result<std::vector<std::int64_t>> dask_order(const DaskOrderGraph& graph);

}  // namespace daskcpp::ordering
