#pragma once
// Test harness for the scheduler core: a SchedulerState with validation on, a stimulus
// counter instead of a clock, and describe() that renders each intent as one line so
// tests read "event in, exact intents out" (test_worker_state_machine style).

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "scheduler/state/scheduler_state.hpp"
#include "scheduler/transitions/stimuli.hpp"
#include "scheduler/transitions/validate.hpp"

namespace daskcpp::scheduler::test {

struct TaskSpec {
  std::string key;
  std::vector<std::string> deps = {};
  std::int64_t order = 0;
};

class Harness {
 public:
  explicit Harness(SchedulerConfig config = validated());
  static SchedulerConfig validated() {
    SchedulerConfig c;
    c.validate = true;
    return c;
  }

  SchedulerState s;
  double now = 1000.0;

  Stimulus next(std::string prefix = "s");

  // handle(event) with the next stimulus id; REQUIREs that it succeeded and that the
  // whole state validates. The helpers below build the common events.
  Effects on(const SchedulerEvent& event, std::string prefix = "s");
  Effects add_worker(const std::string& addr, int nthreads = 1, bool running = true,
                     std::int64_t memory_limit = 0);
  Effects submit(const std::string& client, const std::vector<TaskSpec>& tasks,
                 const std::vector<std::string>& keys, double fifo_timeout = 0.1);
  Effects submit_graph(UpdateGraph g);
  Effects finish(const std::string& worker, const std::string& key,
                 std::int64_t nbytes = 8);
  Effects finish_run(const std::string& worker, const std::string& key,
                     std::int64_t run_id, std::int64_t nbytes = 8);
  Effects err(const std::string& worker, const std::string& key,
              const std::string& exception = "boom");
  Effects release(const std::string& client, const std::vector<std::string>& keys);
  Effects remove_worker(const std::string& worker, bool expected = false);
  Effects check(Result<Effects> r);

  TaskStatus status(const std::string& key) const;
  bool known(const std::string& key) const { return s.find_task(key).has_value(); }
  std::int64_t run_id(const std::string& key) const;
  WorkerId wid(const std::string& addr) const { return *s.find_worker(addr); }

 private:
  int counter_ = 0;
};

// The shared opening of many stories: w1 and w2 running, c1 has submitted x
// (processing on w1).
struct XOnTwoWorkers : Harness {
  XOnTwoWorkers();
};

// A graph task `key` with graph order `order`, prefix and group key_split(key) and a
// run_spec of its own.
GraphTask graph_task(const std::string& key, std::int64_t order = 0,
                     const std::vector<std::string>& deps = {});
// An update-graph from `client` wanting `keys`.
UpdateGraph graph(const std::string& client, std::vector<GraphTask> tasks,
                  std::vector<std::string> keys, double fifo_timeout = 0.1);

std::string describe(const SchedulerState& s, const WorkerMsg& m);
std::string describe(const SchedulerState& s, const ClientMsg& m);
std::vector<std::string> workers(const SchedulerState& s, const Effects& e);
std::vector<std::string> clients(const SchedulerState& s, const Effects& e);

}  // namespace daskcpp::scheduler::test
