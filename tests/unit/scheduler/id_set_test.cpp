#include <catch2/catch.hpp>

#include "scheduler/state/ids.hpp"

namespace daskcpp::scheduler {

TEST_CASE("IdSet keeps ids sorted and unique, inline up to two", "[id_set]") {
  IdSet<TaskId> s;
  CHECK(sizeof(s) == 16);
  CHECK(s.insert(TaskId{5}));
  CHECK(s.insert(TaskId{2}));
  CHECK_FALSE(s.insert(TaskId{5}));
  CHECK(s.heap_bytes() == 0);
  CHECK(s.insert(TaskId{9}));
  CHECK(s.to_vector() == std::vector{TaskId{2}, TaskId{5}, TaskId{9}});
  CHECK(s.erase(TaskId{5}));
  CHECK_FALSE(s.erase(TaskId{5}));
  CHECK(s.to_vector() == std::vector{TaskId{2}, TaskId{9}});
  CHECK(s.contains(TaskId{9}));
  CHECK_FALSE(s.contains(TaskId{3}));
}

TEST_CASE("IdSet switches to a tree past the threshold and stays ordered", "[id_set]") {
  IdSet<TaskId> s;
  for (std::uint32_t i = 1000; i > 0; --i) s.insert(TaskId{i * 3});
  CHECK(s.size() == 1000);
  std::uint32_t prev = 0;
  for (TaskId id : s) {
    CHECK(to_index(id) > prev);
    prev = to_index(id);
  }
  for (std::uint32_t i = 1; i <= 1000; i += 2) CHECK(s.erase(TaskId{i * 3}));
  CHECK(s.size() == 500);
  CHECK(s.contains(TaskId{6}));
  CHECK_FALSE(s.contains(TaskId{3}));
  IdSet<TaskId> copy = s;
  CHECK(copy == s);
  IdSet<TaskId> moved = std::move(copy);
  CHECK(moved.size() == 500);
  CHECK(copy.empty());
}
}  // namespace daskcpp::scheduler
