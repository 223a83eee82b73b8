// Replica planning (scheduler/placement/replica_plan.hpp): retire_workers'
// RetireWorker rounds, workers_to_close, replicate and rebalance plans.

#include "scheduler/placement/replica_plan.hpp"

#include <algorithm>

#include "test_helpers.hpp"

namespace daskcpp::scheduler {
namespace {

using test::Harness;

// Scattered data: `key` in memory on `workers` with `nbytes`.
void put(Harness& h, const std::string& key, std::vector<std::string> workers,
         std::int64_t nbytes) {
  h.on(UpdateData{{DataKey{key, key, key, std::move(workers), nbytes}}, "c"});
}

std::vector<std::string> keys_of(const Harness& h, const std::vector<TaskId>& ids) {
  std::vector<std::string> out;
  for (TaskId t : ids) out.push_back(h.s.key(t));
  return out;
}

void closing(Harness& h, const std::string& w) {
  h.on(WorkerStatusChange{w, WorkerStatus::closing_gracefully});
}

TEST_CASE("retire: each unique key goes to the least loaded running worker",
          "[replica_plan]") {
  Harness h;
  for (const char* w : {"tcp://w1", "tcp://w2", "tcp://w3"}) h.add_worker(w);
  put(h, "on-w2", {"tcp://w2"}, 100);
  put(h, "on-w3", {"tcp://w3"}, 200);
  put(h, "x", {"tcp://w1"}, 500);
  put(h, "z", {"tcp://w1"}, 500);
  put(h, "shared", {"tcp://w1", "tcp://w3"}, 50);
  closing(h, "tcp://w1");

  RetirePlan plan = plan_retirement(h.s, {h.wid("tcp://w1")});

  CHECK(plan.n_unique == 2);
  CHECK(plan.no_recipients.empty());
  // x lands on w2 (100 B), which then weighs 600 B, so z goes to w3 (200 B).
  REQUIRE(plan.acquire.size() == 2);
  CHECK(plan.acquire[0].first == h.wid("tcp://w2"));
  CHECK(keys_of(h, plan.acquire[0].second) == std::vector<std::string>{"x"});
  CHECK(plan.acquire[1].first == h.wid("tcp://w3"));
  CHECK(keys_of(h, plan.acquire[1].second) == std::vector<std::string>{"z"});
  CHECK_FALSE(retirement_done(h.s, h.wid("tcp://w1")));

  h.on(AddKeys{"tcp://w2", {"x"}});
  CHECK_FALSE(retirement_done(h.s, h.wid("tcp://w1")));
  h.on(AddKeys{"tcp://w3", {"z"}});
  CHECK(retirement_done(h.s, h.wid("tcp://w1")));
  CHECK(plan_retirement(h.s, {h.wid("tcp://w1")}).acquire.empty());
}

TEST_CASE("retire: a copy on another retiring worker does not count", "[replica_plan]") {
  Harness h;
  for (const char* w : {"tcp://w1", "tcp://w2", "tcp://w3"}) h.add_worker(w);
  put(h, "both", {"tcp://w1", "tcp://w2"}, 10);
  closing(h, "tcp://w1");
  closing(h, "tcp://w2");

  RetirePlan plan = plan_retirement(h.s, {h.wid("tcp://w1"), h.wid("tcp://w2")});

  // One copy for the key, though both retiring workers hold it.
  CHECK(plan.n_unique == 1);
  REQUIRE(plan.acquire.size() == 1);
  CHECK(plan.acquire[0].first == h.wid("tcp://w3"));
  CHECK_FALSE(retirement_done(h.s, h.wid("tcp://w1")));
  CHECK_FALSE(retirement_done(h.s, h.wid("tcp://w2")));
}

TEST_CASE("retire: the last worker has no recipients", "[replica_plan]") {
  Harness h;
  h.add_worker("tcp://w1");
  put(h, "x", {"tcp://w1"}, 10);
  closing(h, "tcp://w1");

  RetirePlan plan = plan_retirement(h.s, {h.wid("tcp://w1")});

  CHECK(plan.acquire.empty());
  CHECK(plan.no_recipients == std::vector<WorkerId>{h.wid("tcp://w1")});
}

TEST_CASE("workers_to_close: idle workers with the least data first", "[replica_plan]") {
  Harness h;
  h.add_worker("tcp://w1", 1, true, 1000);
  h.add_worker("tcp://w2", 1, true, 1000);
  put(h, "x", {"tcp://w1"}, 100);

  auto args = [](std::optional<std::int64_t> n, std::optional<std::int64_t> minimum,
                 std::optional<std::int64_t> target, std::optional<double> ratio) {
    WorkersToClose w;
    w.n = n;
    w.minimum = minimum;
    w.target = target;
    w.memory_ratio = ratio;
    return w;
  };
  const auto none = std::nullopt;
  CHECK(workers_to_close(h.s, args(1, none, none, none)) ==
        std::vector<WorkerId>{h.wid("tcp://w2")});
  CHECK(workers_to_close(h.s, args(2, none, none, none)) ==
        std::vector<WorkerId>{h.wid("tcp://w2"), h.wid("tcp://w1")});
  CHECK(workers_to_close(h.s, args(1, 2, none, none)).empty());
  CHECK(workers_to_close(h.s, args(none, none, 1, none)) ==
        std::vector<WorkerId>{h.wid("tcp://w2")});
  // memory_ratio=2 (default): 1000 B of limit left stays >= 2 x 100 B of data.
  CHECK(workers_to_close(h.s, args(none, none, none, none)) ==
        std::vector<WorkerId>{h.wid("tcp://w2")});
  CHECK(workers_to_close(h.s, args(none, none, none, 20)).empty());
}

TEST_CASE("replicate: copies up to n, at most branching x holders per round",
          "[replica_plan]") {
  Harness h;
  for (const char* w : {"tcp://w1", "tcp://w2", "tcp://w3", "tcp://w4"}) h.add_worker(w);
  put(h, "x", {"tcp://w1"}, 10);
  const TaskId x = *h.s.find_task("x");
  std::vector<WorkerId> all = h.s.workers_by_address();
  std::mt19937_64 rng(7);

  ReplicateRound r = plan_replicate(h.s, {x}, all, 4, 1, true, rng);
  CHECK(r.drop.empty());
  REQUIRE(r.gather.size() == 1);  // branching 1 x 1 holder
  CHECK(r.gather[0].second == std::vector<TaskId>{x});
  CHECK(r.gather[0].first != h.wid("tcp://w1"));

  r = plan_replicate(h.s, {x}, all, 4, 2, true, rng);
  CHECK(r.gather.size() == 2);
  r = plan_replicate(h.s, {x}, all, 1, 2, true, rng);
  CHECK(r.gather.empty());
  CHECK(r.drop.empty());

  h.on(AddKeys{"tcp://w2", {"x"}});
  h.on(AddKeys{"tcp://w3", {"x"}});
  r = plan_replicate(h.s, {x}, all, 1, 2, true, rng);
  CHECK(r.gather.empty());
  REQUIRE(r.drop.size() == 2);
  for (const auto& [w, ts] : r.drop) {
    CHECK(h.s.task(x).who_has.contains(w));
    CHECK(ts == std::vector<TaskId>{x});
  }
}

TEST_CASE("rebalance: half of the data moves from the sender to the recipient",
          "[replica_plan]") {
  Harness h;
  h.add_worker("tcp://w1");
  h.add_worker("tcp://w2");
  for (int i = 0; i < 10; ++i) put(h, "x" + std::to_string(i), {"tcp://w1"}, 100);
  const std::vector<WorkerId> both = {h.wid("tcp://w1"), h.wid("tcp://w2")};

  std::vector<RebalanceMove> moves = plan_rebalance(h.s, nullptr, both);

  std::vector<std::string> moved;
  for (const RebalanceMove& m : moves) {
    CHECK(m.sender == h.wid("tcp://w1"));
    CHECK(m.recipient == h.wid("tcp://w2"));
    moved.push_back(h.s.key(m.task));
  }
  std::sort(moved.begin(), moved.end());
  CHECK(moved == std::vector<std::string>{"x0", "x1", "x2", "x3", "x4"});

  // Only allowed keys move.
  IdSet<TaskId> allowed;
  allowed.insert(*h.s.find_task("x9"));
  moves = plan_rebalance(h.s, &allowed, both);
  REQUIRE(moves.size() == 1);
  CHECK(h.s.key(moves[0].task) == "x9");
}

TEST_CASE("rebalance: sender-min keeps lightly loaded workers still", "[replica_plan]") {
  Harness h;
  h.add_worker("tcp://w1", 1, true, 10'000);
  h.add_worker("tcp://w2", 1, true, 10'000);
  for (int i = 0; i < 10; ++i) put(h, "x" + std::to_string(i), {"tcp://w1"}, 100);
  // 1000 B < 30% of 10 kB: no sender.
  CHECK(plan_rebalance(h.s, nullptr, {h.wid("tcp://w1"), h.wid("tcp://w2")}).empty());
}

}  // namespace
}  // namespace daskcpp::scheduler
