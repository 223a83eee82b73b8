// MultiLockTable (scheduler/extensions/multi_lock/multi_lock_table.hpp): upstream
// MultiLockExtension's _request_locks / _retain_locks bookkeeping.

#include "scheduler/extensions/multi_lock/multi_lock_table.hpp"

#include <catch2/catch.hpp>

namespace daskcpp::scheduler {
namespace {

using Names = std::vector<std::string>;

TEST_CASE("multi-lock: a waiter gets the locks its holder releases", "[multi_lock]") {
  MultiLockTable t;
  REQUIRE(t.request({"x", "y"}, "a", 2).value() == true);
  // b queues on the free z first (least contended), then behind a on y.
  REQUIRE(t.request({"y", "z"}, "b", 2).value() == false);
  CHECK(t.users("y") == Names{"a", "b"});
  CHECK(t.users("z") == Names{"b"});
  CHECK_FALSE(t.satisfied("b"));

  CHECK(t.release_all("a").value() == Names{"b"});
  CHECK(t.satisfied("b"));
  CHECK(t.users("x").empty());
  CHECK(t.users("y") == Names{"b"});
  CHECK_FALSE(t.requesting("a"));
}

TEST_CASE("multi-lock: a timed-out waiter withdraws without waking anyone",
          "[multi_lock]") {
  MultiLockTable t;
  REQUIRE(t.request({"x"}, "a", 1).value() == true);
  REQUIRE(t.request({"x"}, "b", 1).value() == false);
  REQUIRE(t.request({"x"}, "c", 1).value() == false);

  CHECK(t.release({"x"}, "b").empty());
  CHECK(t.users("x") == Names{"a", "c"});
  CHECK(t.release_all("a").value() == Names{"c"});
  CHECK(t.satisfied("c"));
}

TEST_CASE("multi-lock: num_locks takes the free ones and drops the rest",
          "[multi_lock]") {
  MultiLockTable t;
  REQUIRE(t.request({"p"}, "d", 1).value() == true);
  REQUIRE(t.request({"p", "q"}, "c", 1).value() == true);
  // c never queued on p: it got q first.
  CHECK(t.users("p") == Names{"d"});
  CHECK(t.users("q") == Names{"c"});
  CHECK(t.release_all("d").value().empty());
}

TEST_CASE("multi-lock: bad requests are errors", "[multi_lock]") {
  MultiLockTable t;
  REQUIRE(t.request({"x"}, "a", 1).ok());
  Result<bool> again = t.request({"y"}, "a", 1);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().message() == "multi_lock_acquire: id a is already acquiring");
  Result<bool> zero = t.request({"y"}, "b", 0);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.status().message() ==
        "multi_lock_acquire: num_locks must be in [1, len(locks)]");
  CHECK_FALSE(t.requesting("b"));
  Result<std::vector<std::string>> unknown = t.release_all("nobody");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == StatusCode::kKeyError);
}

}  // namespace
}  // namespace daskcpp::scheduler
