// The native diagnostics behind get_task_stream and get_scheduler_logs, and the
// TransitionObservers fan-out they hang on (no sockets, no clock).
#include <catch2/catch.hpp>

#include "scheduler/extensions/logs/log_ring.hpp"
#include "scheduler/extensions/task_stream/task_stream.hpp"
#include "scheduler/service/transition_observers.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {
namespace {

using protocol::Array;
using protocol::Value;

// A record whose single compute ended at `stop`, keyed by `key`.
Value record(const std::string& key, double stop) {
  Value ss = protocol::make_map(
      {{"action", Value("compute")}, {"start", Value(stop - 1)}, {"stop", Value(stop)}});
  return protocol::make_map({{"key", Value(key)}, {"startstops", Value(Array{ss})}});
}

std::vector<std::string> keys(const std::vector<Value>& records) {
  std::vector<std::string> out;
  for (const Value& r : records) out.push_back(r.find("key")->as_str());
  return out;
}

using V = std::vector<std::string>;
using std::nullopt;

// Stops 10, 20, ..., 50 for keys a..e.
TaskStreamBuffer five() {
  TaskStreamBuffer b;
  const char* names[] = {"a", "b", "c", "d", "e"};
  for (int i = 0; i < 5; ++i) b.append(record(names[i], 10.0 * (i + 1)));
  return b;
}

}  // namespace

TEST_CASE("task stream collect: start and stop bisect on the latest stop",
          "[task-stream]") {
  TaskStreamBuffer b = five();
  CHECK(keys(b.collect(nullopt, nullopt, nullopt, nullopt)) ==
        V{"a", "b", "c", "d", "e"});
  CHECK(keys(b.collect(20.0, nullopt, nullopt, nullopt)) == V{"b", "c", "d", "e"});
  CHECK(keys(b.collect(15.0, 40.0, nullopt, nullopt)) == V{"b", "c"});
  CHECK(keys(b.collect(nullopt, 35.0, nullopt, nullopt)) == V{"a", "b", "c"});
  CHECK(b.collect(60.0, nullopt, nullopt, nullopt).empty());
  CHECK(b.collect(0.0, 0.0, nullopt, nullopt).empty());
}

TEST_CASE("task stream collect: count from the end, after start, before stop",
          "[task-stream]") {
  TaskStreamBuffer b = five();
  CHECK(keys(b.collect(nullopt, nullopt, 2, nullopt)) == V{"d", "e"});
  CHECK(keys(b.collect(nullopt, nullopt, 9, nullopt)) == V{"a", "b", "c", "d", "e"});
  CHECK(keys(b.collect(20.0, nullopt, 2, nullopt)) == V{"b", "c"});
  CHECK(keys(b.collect(nullopt, 40.0, 2, nullopt)) == V{"b", "c"});
  // Both bounds given: count is ignored (as upstream).
  CHECK(keys(b.collect(10.0, 40.0, 1, nullopt)) == V{"a", "b", "c"});
  CHECK(b.collect(nullopt, nullopt, 0, nullopt).empty());
}

TEST_CASE("task stream collect: start_index counts records ever appended",
          "[task-stream]") {
  TaskStreamBuffer b(3);
  for (int i = 0; i < 5; ++i) b.append(record("k" + std::to_string(i), i));
  CHECK(b.index() == 5);
  CHECK(b.size() == 3);
  CHECK(keys(b.collect(nullopt, nullopt, nullopt, 3)) == V{"k3", "k4"});
  CHECK(keys(b.collect(nullopt, nullopt, nullopt, 0)) == V{"k2", "k3", "k4"});
  CHECK(b.collect(nullopt, nullopt, nullopt, 5).empty());
  CHECK(b.collect(nullopt, nullopt, nullopt, 9).empty());
  // start_index wins over the time bounds.
  CHECK(keys(b.collect(100.0, 0.0, 1, 4)) == V{"k4"});
}

TEST_CASE("task stream record: stock's kwargs order, minus the op's own fields",
          "[task-stream]") {
  Value wire = protocol::make_map({{"op", Value("task-finished")},
                                   {"key", Value("x")},
                                   {"run_id", Value(3)},
                                   {"nbytes", Value(28)},
                                   {"typename", Value("int")},
                                   {"metadata", protocol::make_map({})},
                                   {"stimulus_id", Value("task-finished-1")},
                                   {"status", Value("OK")}});
  Value r = task_stream_record(wire, "tcp://w1", false, "task-finished-1");
  V names;
  for (const auto& [k, v] : r.as_map()) names.push_back(k.as_str());
  CHECK(names ==
        V{"stimulus_id", "worker", "metadata", "nbytes", "typename", "status", "key"});
  CHECK(*r.find("worker") == Value("tcp://w1"));
  CHECK(*r.find("key") == Value("x"));

  Value erred = task_stream_record(wire, "tcp://w1", true, "task-erred-2");
  CHECK(erred.as_map()[1].first == Value("cause"));
  CHECK(*erred.find("cause") == Value("x"));
  CHECK(*erred.find("stimulus_id") == Value("task-erred-2"));
}

namespace {

struct Counter final : TransitionObserver {
  int calls = 0;
  void on_transition(SchedulerState&, TaskId, TaskStatus, TaskStatus,
                     const TransitionArgs&, const Stimulus&,
                     const LinksBefore*) override {
    ++calls;
  }
};

}  // namespace

TEST_CASE("TransitionObservers installs itself only while it has members",
          "[observers]") {
  SchedulerState s;
  Counter a;
  Counter b;
  {
    TransitionObservers obs(s);
    CHECK(s.transition_observer() == nullptr);
    obs.add(&a);
    CHECK(s.transition_observer() == &obs);
    obs.add(&a);  // twice: once
    obs.add(&b);
    obs.on_transition(s, TaskId{0}, TaskStatus::released, TaskStatus::waiting, {},
                      Stimulus{"s", 0}, nullptr);
    CHECK(a.calls == 1);
    CHECK(b.calls == 1);
    obs.remove(&a);
    CHECK(s.transition_observer() == &obs);
    obs.remove(&b);
    CHECK(s.transition_observer() == nullptr);
    obs.remove(&b);  // absent: nothing
    obs.add(&a);
  }
  // Destroyed while installed: the state's slot is cleared.
  CHECK(s.transition_observer() == nullptr);
}

TEST_CASE("the task stream observes only once enabled and records finished tasks",
          "[task-stream]") {
  SchedulerState s;
  TransitionObservers obs(s);
  {
    TaskStream stream(obs);
    CHECK(s.transition_observer() == nullptr);
    stream.enable();
    stream.enable();
    CHECK(s.transition_observer() == &obs);

    REQUIRE(handle(s, AddWorker{"tcp://w1", "w1", "h", 1, 0, {}, WorkerStatus::running},
                   Stimulus{"add", 1})
                .ok());
    UpdateGraph g;
    g.client = "c1";
    GraphTask t;
    t.key = "x";
    t.prefix_name = "x";
    t.group_name = "x";
    t.run_spec = std::make_shared<const std::string>("spec");
    g.tasks.push_back(t);
    g.keys = {"x"};
    REQUIRE(handle(s, g, Stimulus{"graph", 2}).ok());
    TaskFinished tf;
    tf.worker = "tcp://w1";
    tf.key = "x";
    tf.run_id = s.task(*s.find_task("x")).run_id;
    tf.nbytes = 28;
    tf.wire = std::make_shared<const Value>(protocol::make_map(
        {{"op", Value("task-finished")},
         {"key", Value("x")},
         {"nbytes", Value(28)},
         {"startstops", Value(Array{protocol::make_map({{"stop", Value(5.0)}})})}}));
    REQUIRE(handle(s, tf, Stimulus{"tf-1", 3}).ok());
    REQUIRE(stream.buffer().index() == 1);
    const Value r = stream.buffer().collect(nullopt, nullopt, nullopt, nullopt)[0];
    CHECK(*r.find("worker") == Value("tcp://w1"));
    CHECK(*r.find("stimulus_id") == Value("tf-1"));
    CHECK(*r.find("nbytes") == Value(28));
    CHECK(r.find("op") == nullptr);
  }
  CHECK(s.transition_observer() == nullptr);
}

// ---- scheduler logs -----------------------------------------------------------------

TEST_CASE("log ring: stock format, newest first, n and start", "[logs]") {
  LogRing ring(3);
  const double t0 = 1700000000.25;  // 2023-11-14 22:13:20.250 UTC
  ring.add(t0, spdlog::level::info, "one");
  ring.add(t0 + 1, spdlog::level::warn, "two");
  ring.add(t0 + 2, spdlog::level::err, "three");
  ring.add(t0 + 3, spdlog::level::debug, "four");  // drops "one"

  Value all = ring.get_logs(0, nullopt, false);
  REQUIRE(all.as_array().size() == 3);
  const Array& newest = all.as_array()[0].as_array();
  CHECK(newest[0] == Value("DEBUG"));
  const std::string& text = newest[1].as_str();
  CHECK(text.substr(19) == ",250 - distributed.scheduler - DEBUG - four");
  CHECK(all.as_array()[1].as_array()[0] == Value("ERROR"));
  CHECK(all.as_array()[2].as_array()[0] == Value("WARNING"));

  CHECK(ring.get_logs(0, 1, false).as_array().size() == 1);
  CHECK(ring.get_logs(0, 0, false).as_array().size() == 3);  // 0: all, as `if n and`
  // Stops at the first record older than start.
  CHECK(ring.get_logs(t0 + 2, nullopt, false).as_array().size() == 2);
  Value stamped = ring.get_logs(t0 + 3, nullopt, true);
  REQUIRE(stamped.as_array().size() == 1);
  CHECK(stamped.as_array()[0].as_array()[0] == Value(t0 + 3));
  CHECK(python_levelname(spdlog::level::critical) == std::string("CRITICAL"));
  CHECK(python_levelname(spdlog::level::info) == std::string("INFO"));
}

}  // namespace daskcpp::scheduler
