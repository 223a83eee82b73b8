// GatherPlan (the bookkeeping of upstream gather_from_workers + Scheduler.gather's
// retry loop) and scatter's round-robin, driven by hand: no sockets, seeded RNG.

#include <catch2/catch.hpp>
#include <random>

#include "scheduler/service/worker_rpc.hpp"

namespace daskcpp::scheduler {
namespace {

using protocol::Key;
using protocol::KeyValues;
using protocol::Value;
using Outcome = GetDataResponse::Outcome;

Key k(const char* s) { return Key::str(s); }

GetDataResponse ok(KeyValues data) {
  GetDataResponse r;
  r.outcome = Outcome::kOk;
  r.data = std::move(data);
  return r;
}
GetDataResponse with(Outcome o) {
  GetDataResponse r;
  r.outcome = o;
  return r;
}

TEST_CASE("gather: one holder per key, one request per holder in key order",
          "[gather_plan]") {
  GatherPlan plan({{k("x"), {"tcp://a"}}, {k("y"), {"tcp://b"}}, {k("z"), {"tcp://a"}}});
  std::mt19937_64 rng(1);
  GatherPlan::Requests round = plan.next_round(rng);
  CHECK(round ==
        GatherPlan::Requests{{"tcp://a", {k("x"), k("z")}}, {"tcp://b", {k("y")}}});
  // The reply's own order does not matter: data follows the keys asked.
  plan.on_response("tcp://a", {k("x"), k("z")},
                   ok({{k("z"), Value("Z")}, {k("x"), Value("X")}}));
  plan.on_response("tcp://b", {k("y")}, ok({{k("y"), Value("Y")}}));
  CHECK(plan.done());
  CHECK(plan.data() ==
        KeyValues{{k("x"), Value("X")}, {k("z"), Value("Z")}, {k("y"), Value("Y")}});
  CHECK(plan.failed_keys().empty());
  CHECK(plan.missing_workers().empty());
}

TEST_CASE("gather: a comm error marks the holder missing, the other holder is asked",
          "[gather_plan]") {
  GatherPlan plan({{k("x"), {"tcp://a", "tcp://b"}}});
  std::mt19937_64 rng(7);
  GatherPlan::Requests first = plan.next_round(rng);
  REQUIRE(first.size() == 1);
  const std::string chosen = first[0].first;
  const std::string other = chosen == "tcp://a" ? "tcp://b" : "tcp://a";
  plan.on_response(chosen, {k("x")}, with(Outcome::kCommError));
  CHECK(plan.missing_workers() == std::set<std::string>{chosen});
  CHECK(plan.next_round(rng) == GatherPlan::Requests{{other, {k("x")}}});
  plan.on_response(other, {k("x")}, ok({{k("x"), Value(1)}}));
  CHECK(plan.done());
  CHECK(plan.data() == KeyValues{{k("x"), Value(1)}});
}

TEST_CASE("gather: busy holders wait, then are asked again", "[gather_plan]") {
  GatherPlan plan({{k("x"), {"tcp://a"}}});
  std::mt19937_64 rng(3);
  CHECK(plan.next_round(rng) == GatherPlan::Requests{{"tcp://a", {k("x")}}});
  plan.on_response("tcp://a", {k("x")}, with(Outcome::kBusy));
  CHECK(plan.next_round(rng).empty());
  CHECK(plan.any_busy());
  plan.clear_busy();
  CHECK(plan.next_round(rng) == GatherPlan::Requests{{"tcp://a", {k("x")}}});
  CHECK(plan.missing_workers().empty());
}

TEST_CASE("gather: a holder without the key is not asked again, refresh finds others",
          "[gather_plan]") {
  GatherPlan plan({{k("x"), {"tcp://a"}}, {k("y"), {"tcp://a"}}});
  std::mt19937_64 rng(5);
  CHECK(plan.next_round(rng).size() == 1);
  plan.on_response("tcp://a", {k("x"), k("y")}, ok({{k("y"), Value(2)}}));
  CHECK_FALSE(plan.done());
  CHECK(plan.next_round(rng).empty());
  CHECK_FALSE(plan.any_busy());
  // who_has still names tcp://a only: nothing new to ask, x failed.
  CHECK_FALSE(
      plan.refresh([](const Key&) { return std::vector<std::string>{"tcp://a"}; }));
  CHECK(plan.failed_keys() == std::vector<Key>{k("x")});
  // A replica appeared meanwhile on tcp://c: asked in the next round.
  CHECK(plan.refresh([](const Key&) {
    return std::vector<std::string>{"tcp://a", "tcp://c"};
  }));
  CHECK(plan.next_round(rng) == GatherPlan::Requests{{"tcp://c", {k("x")}}});
  plan.on_response("tcp://c", {k("x")}, ok({{k("x"), Value(1)}}));
  CHECK(plan.done());
  CHECK(plan.data() == KeyValues{{k("y"), Value(2)}, {k("x"), Value(1)}});
}

TEST_CASE("gather: refresh skips missing workers", "[gather_plan]") {
  GatherPlan plan({{k("x"), {"tcp://a"}}});
  std::mt19937_64 rng(5);
  (void)plan.next_round(rng);
  plan.on_response("tcp://a", {k("x")}, with(Outcome::kCommError));
  CHECK(plan.next_round(rng).empty());
  CHECK_FALSE(
      plan.refresh([](const Key&) { return std::vector<std::string>{"tcp://a"}; }));
  CHECK(plan.failed_keys() == std::vector<Key>{k("x")});
  CHECK(plan.missing_workers() == std::set<std::string>{"tcp://a"});
}

TEST_CASE("gather: keys without any holder fail, a bad reply fails its keys at once",
          "[gather_plan]") {
  GatherPlan plan({{k("lost"), {}}, {k("x"), {"tcp://a"}}, {k("y"), {"tcp://a"}}});
  std::mt19937_64 rng(9);
  CHECK(plan.next_round(rng) == GatherPlan::Requests{{"tcp://a", {k("x"), k("y")}}});
  plan.on_response("tcp://a", {k("x"), k("y")}, with(Outcome::kBadReply));
  CHECK(plan.next_round(rng).empty());
  CHECK_FALSE(plan.refresh([](const Key&) { return std::vector<std::string>{}; }));
  CHECK(plan.failed_keys() == std::vector<Key>{k("lost"), k("x"), k("y")});
  CHECK(plan.data().empty());
}

TEST_CASE("gather: a key asked twice is fetched once", "[gather_plan]") {
  GatherPlan plan({{k("x"), {"tcp://a"}}, {k("x"), {"tcp://a"}}});
  std::mt19937_64 rng(2);
  CHECK(plan.next_round(rng) == GatherPlan::Requests{{"tcp://a", {k("x")}}});
}

TEST_CASE("scatter round-robin: sorted workers, counter carries over (trace 05)",
          "[scatter]") {
  std::uint64_t counter = 0;
  // Trace 05: three keys over {worker-b 37683, worker-a 45547}: b, a, b.
  auto first =
      assign_round_robin({"tcp://127.0.0.1:45547", "tcp://127.0.0.1:37683"}, 3, counter);
  CHECK(first == std::vector<std::pair<std::string, std::vector<std::size_t>>>{
                     {"tcp://127.0.0.1:37683", {0, 2}}, {"tcp://127.0.0.1:45547", {1}}});
  CHECK(counter == 3);
  // The next scatter of one key starts at 3 % 2 = 1: worker-a, as in the trace.
  auto second =
      assign_round_robin({"tcp://127.0.0.1:45547", "tcp://127.0.0.1:37683"}, 1, counter);
  CHECK(second == std::vector<std::pair<std::string, std::vector<std::size_t>>>{
                      {"tcp://127.0.0.1:45547", {0}}});
  CHECK(counter == 4);
  CHECK(assign_round_robin({}, 2, counter).empty());
}

}  // namespace
}  // namespace daskcpp::scheduler
