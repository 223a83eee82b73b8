// Releasing and forgetting keys: client releases, shared keys, cancel, remove_client.
#include "test_helpers.hpp"

namespace daskcpp::scheduler::test {

using V = std::vector<std::string>;

TEST_CASE("releasing an in-memory key forgets it and frees every replica", "[release]") {
  XOnTwoWorkers h;
  auto rid = h.run_id("x");
  h.finish("w1", "x");
  h.on(AddKeys{"w2", {"x"}});  // a replica on w2
  Effects e = h.release("c1", {"x"});
  CHECK(workers(h.s, e) == V{"w1 free-keys [x]", "w2 free-keys [x]"});
  CHECK(clients(h.s, e).empty());
  CHECK_FALSE(h.known("x"));
  CHECK(h.s.task_count() == 0);
  CHECK(h.s.group_count() == 0);
  // The answers to free-keys are no-ops now; a late task-finished is told to free.
  e = h.on(ReleaseWorkerData{"w1", "x"});
  CHECK(e.empty());
  e = h.finish_run("w2", "x", rid);
  CHECK(workers(h.s, e) == V{"w2 free-keys [x]"});
  // Releasing again (clients do) is harmless.
  e = h.release("c1", {"x"});
  CHECK(e.empty());
}

TEST_CASE("a key wanted by two clients lives until both release it", "[release]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", {{"x"}}, {"x"});
  Effects e = h.submit("c2", {{"x"}}, {"x"});
  CHECK(e.empty());
  e = h.finish("w1", "x");
  CHECK(clients(h.s, e) == V{"c1 key-in-memory x +type", "c2 key-in-memory x +type"});
  e = h.release("c1", {"x"});
  CHECK(e.empty());
  CHECK(h.status("x") == TaskStatus::memory);
  e = h.release("c2", {"x"});
  CHECK(workers(h.s, e) == V{"w1 free-keys [x]"});
  CHECK_FALSE(h.known("x"));
}

TEST_CASE("releasing a pending chain forgets all of it and frees the worker",
          "[release]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", {{"a", {}, 0}, {"b", {"a"}, 1}}, {"b"});
  Effects e = h.release("c1", {"b"});
  CHECK(workers(h.s, e) == V{"w1 free-keys [a]"});
  CHECK(h.s.task_count() == 0);
  CHECK(h.s.worker(h.wid("w1")).processing.empty());
  CHECK(h.s.occupancy(h.wid("w1")) == 0);
}

TEST_CASE("freed task slots are reused", "[release]") {
  Harness h;
  h.add_worker("w1");
  for (int round = 0; round < 50; ++round) {
    std::string k = "t-" + std::to_string(round);
    h.submit("c1", {{k}}, {k});
    h.finish("w1", k);
    h.release("c1", {k});
  }
  CHECK(h.s.task_count() == 0);
  CHECK(h.s.all_tasks().empty());
  h.submit("c1", {{"last"}}, {"last"});
  CHECK(h.s.find_task("last") == TaskId{0});
}

TEST_CASE("cancel: dependents first, then the keys, told to every client", "[release]") {
  Harness h;
  h.add_worker("w1");
  h.on(AddClient{"c2"});
  h.submit("c1", {{"a", {}, 0}, {"b", {"a"}, 1}}, {"a", "b"});
  Effects e = h.on(CancelKeys{"c1", {"a"}, false, "user", ""}, "cancel-");
  CHECK(workers(h.s, e) == V{"w1 free-keys [a]"});
  CHECK(clients(h.s, e) == V{"* cancelled-keys [b] user", "* cancelled-keys [a] user"});
  CHECK(h.s.task_count() == 0);
}

TEST_CASE("cancel does not touch keys other clients want unless forced", "[release]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", {{"x"}}, {"x"});
  h.submit("c2", {{"x"}}, {"x"});
  Effects e = h.on(CancelKeys{"c1", {"x"}, false, "", ""});
  CHECK(clients(h.s, e) == V{"* cancelled-keys []"});
  CHECK(h.status("x") == TaskStatus::processing);
  e = h.on(CancelKeys{"c1", {"x"}, true, "", ""});
  CHECK(workers(h.s, e) == V{"w1 free-keys [x]"});
  CHECK(clients(h.s, e) == V{"* cancelled-keys [x]"});
  CHECK_FALSE(h.known("x"));
}

TEST_CASE("remove_client releases everything it wanted", "[release]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", {{"x"}}, {"x"});
  h.finish("w1", "x");
  Effects e = h.on(RemoveClient{"c1"});
  CHECK(workers(h.s, e) == V{"w1 free-keys [x]"});
  CHECK_FALSE(h.s.find_client("c1"));
}

TEST_CASE("update-graph on lost data cancels the keys", "[release]") {
  Harness h;
  h.add_worker("w1");
  Effects e = h.submit("c1", {{"y", {"gone"}, 0}}, {"y"});
  CHECK(clients(h.s, e) == V{"c1 cancelled-keys [y] lost dependencies"});
  CHECK(e.to_workers.empty());
  CHECK_FALSE(h.known("y"));
}

TEST_CASE("fire-and-forget keys are released once computed", "[release]") {
  Harness h;
  h.add_worker("w1");
  h.submit("c1", {{"x"}}, {"x"});
  h.on(ClientDesiresKeys{"fire-and-forget", {"x"}});
  h.release("c1", {"x"});
  CHECK(h.status("x") == TaskStatus::processing);
  Effects e = h.finish("w1", "x");
  CHECK(workers(h.s, e) == V{"w1 free-keys [x]"});
  CHECK_FALSE(h.known("x"));
}

}  // namespace daskcpp::scheduler::test
