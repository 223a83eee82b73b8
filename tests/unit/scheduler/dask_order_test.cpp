// The C++ dask.order port on tiny hand graphs. Keys are ints (hash(i) == i in every
// CPython process, so Python's set orders and hence its priorities are fixed); the
// expected priorities are what dask.order.order (dask 2026.8.0) returns for the same
// graphs built from Task/DataNode/TaskRef, and the dependency lists are in the
// iteration order of each Task.dependencies. The large corpus comparison lives in
// tests/integration/test_dask_order_port.py.

#include "scheduler/ordering/dask_order.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using daskcpp::ordering::dask_order;
using daskcpp::ordering::DaskOrderGraph;

struct IntKeyGraph {
  std::vector<std::int64_t> keys;  // tasks, then external keys
  std::vector<std::int64_t> dep_ends, dep_index;
  std::vector<std::uint8_t> is_task;
  std::vector<std::string> texts;

  DaskOrderGraph view(std::size_t task_count) const {
    DaskOrderGraph g;
    g.task_count = task_count;
    g.node_count = keys.size();
    g.dep_ends = dep_ends;
    g.dep_index = dep_index;
    g.is_task = is_task;
    g.key_hash = keys;
    g.key_text = [this](std::size_t x) { return std::string_view(texts[x]); };
    return g;
  }
};

IntKeyGraph make(std::vector<std::int64_t> keys, std::vector<std::int64_t> dep_ends,
                 std::vector<std::int64_t> dep_index, std::vector<std::uint8_t> is_task) {
  IntKeyGraph g{
      std::move(keys), std::move(dep_ends), std::move(dep_index), std::move(is_task), {}};
  for (std::int64_t k : g.keys) g.texts.push_back(std::to_string(k));
  return g;
}

void check(std::size_t task_count, std::vector<std::int64_t> keys,
           std::vector<std::int64_t> dep_ends, std::vector<std::int64_t> dep_index,
           std::vector<std::uint8_t> is_task, std::vector<std::int64_t> expected) {
  const IntKeyGraph g = make(std::move(keys), std::move(dep_ends), std::move(dep_index),
                             std::move(is_task));
  auto result = dask_order(g.view(task_count));
  REQUIRE(result.ok());
  CHECK(result.value() == expected);
}

}  // namespace

TEST_CASE("dask_order matches dask.order.order on hand graphs", "[dask_order]") {
  // the docstring example: 1 and 2 are data, 3 = inc(1), 4 = add(2, 3)
  check(4, {1, 2, 3, 4}, {0, 0, 1, 3}, {0, 1, 2}, {0, 0, 1, 1}, {0, 2, 1, 3});
  // a diamond
  check(4, {1, 2, 3, 4}, {0, 1, 2, 4}, {0, 0, 1, 2}, {1, 1, 1, 1}, {0, 2, 1, 3});
  // two chains joined, one longer
  check(6, {1, 2, 3, 10, 11, 20}, {0, 1, 2, 2, 3, 5}, {0, 1, 3, 4, 2}, {1, 1, 1, 1, 1, 1},
        {0, 1, 2, 3, 4, 5});
  // a tree reduction over 8 inputs
  check(15, {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 20, 21, 30},
        {0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 6, 8, 10, 12, 14},
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13},
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {11, 10, 8, 7, 4, 3, 1, 0, 12, 9, 5, 2, 13, 6, 14});
  // a data root (0) shared by three tasks: removed from the graph, ordered with the
  // first task that needs it
  check(5, {0, 1, 2, 3, 4}, {0, 1, 2, 3, 6}, {0, 0, 0, 1, 2, 3}, {0, 1, 1, 1, 1},
        {0, 3, 2, 1, 4});
  // an external key (100, not in the graph) and a splitter
  check(5, {1, 2, 3, 4, 5, 100}, {1, 2, 3, 4, 6}, {5, 0, 0, 0, 1, 2}, {1, 1, 1, 1, 1},
        {0, 2, 1, 4, 3});
}

TEST_CASE("dask_order names the keys of a cycle as dask does", "[dask_order]") {
  // 1 -> 2 -> 3 -> 1, and 4 depends on 3
  const IntKeyGraph g = make({1, 2, 3, 4}, {1, 2, 3, 4}, {1, 2, 0, 2}, {1, 1, 1, 1});
  auto result = dask_order(g.view(4));
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().message() ==
        "Cycle detected between the following keys:\n  -> 1\n  -> 2\n  -> 3\n  -> 1");
}

TEST_CASE("dask_order of an empty graph is empty", "[dask_order]") {
  const IntKeyGraph g = make({}, {}, {}, {});
  auto result = dask_order(g.view(0));
  REQUIRE(result.ok());
  CHECK(result.value().empty());
}
