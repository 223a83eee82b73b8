// PySetTable against CPython 3.11 sets of ints (hash(i) == i): the iteration and pop
// orders below are what the interpreter in the venv prints for the same operations.

#include "scheduler/ordering/py_set_table.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

namespace {

using daskcpp::ordering::PySetTable;

// Ids are the ints themselves (small enough here), hashes equal the ints.
std::vector<std::int64_t> as_ints(const std::vector<std::int32_t>& ids,
                                  const std::vector<std::int64_t>& values) {
  std::vector<std::int64_t> out;
  for (std::int32_t id : ids) out.push_back(values[static_cast<std::size_t>(id)]);
  return out;
}

}  // namespace

TEST_CASE("PySetTable iterates and pops like a CPython set", "[dask_order][py_set]") {
  // s = set(); s.add(v) for each; list(s); [s.pop() for _ in range(3)]; list(s)
  const std::vector<std::int64_t> values{100, 3,  77, 1024,    5,
                                         9,   64, 31, 1000003, (1LL << 40) + 7};
  PySetTable s;
  for (std::size_t i = 0; i < values.size(); ++i)
    s.add(static_cast<std::int32_t>(i), values[i]);
  CHECK(as_ints(s.elements(), values) == std::vector<std::int64_t>{1024, 64, 3, 100, 5,
                                                                   1000003, 1099511627783,
                                                                   9, 77, 31});
  std::vector<std::int32_t> popped{s.pop(), s.pop(), s.pop()};
  CHECK(as_ints(popped, values) == std::vector<std::int64_t>{1024, 64, 3});
  CHECK(as_ints(s.elements(), values) ==
        std::vector<std::int64_t>{100, 5, 1000003, 1099511627783, 9, 77, 31});
}

TEST_CASE("PySetTable reuses the last dummy on the probe path", "[dask_order][py_set]") {
  // s = {0, 8, 16}; s.remove(0); s.remove(16); s.add(24); list(s) == [8, 24]
  const std::vector<std::int64_t> values{0, 8, 16, 24};
  PySetTable s;
  for (std::int32_t i = 0; i < 3; ++i) s.add(i, values[static_cast<std::size_t>(i)]);
  CHECK(as_ints(s.elements(), values) == std::vector<std::int64_t>{0, 8, 16});
  CHECK(s.discard(0, 0));
  CHECK(s.discard(2, 16));
  CHECK_FALSE(s.discard(2, 16));
  s.add(3, 24);
  CHECK(as_ints(s.elements(), values) == std::vector<std::int64_t>{8, 24});
}
