#pragma once
// What the WorkerState tests share: addresses, event builders with the defaults the
// tests rely on, and the checks run after every step (shaped like the fixtures of
// distributed/tests/test_worker_state_machine.py).

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "worker/state/worker_state.hpp"

namespace daskcpp::worker::testing {

inline const std::string kSelf = "tcp://127.0.0.1:1";
inline const std::string kPeer = "tcp://127.0.0.1:2";
inline const std::string kPeer2 = "tcp://127.0.0.1:3";

inline Key k(const char* s) { return Key::str(s); }

// compute-task with an opaque run_spec; each dependency is 8 bytes.
inline ComputeTaskEvent compute(const char* key, std::int64_t run_id,
                                WhoHasList who_has = {}, double priority = 0,
                                const char* stimulus = "s1") {
  ComputeTaskEvent ev;
  ev.key = k(key);
  ev.run_id = run_id;
  ev.priority = {priority};
  ev.stimulus_id = stimulus;
  for (const auto& [dep, addrs] : who_has) ev.nbytes.push_back({dep, 8});
  ev.who_has = std::move(who_has);
  ev.run_spec = protocol::Value(Bytes::copy_of(std::string_view("spec")));
  return ev;
}

// A 28-byte int computed from 1.0 to 1.5 on thread 7.
inline ExecuteSuccessEvent success(const char* key, std::int64_t run_id = 1,
                                   const char* stimulus = "s2") {
  ExecuteSuccessEvent ev;
  ev.key = k(key);
  ev.run_id = run_id;
  ev.start = 1.0;
  ev.stop = 1.5;
  ev.thread = 7;
  ev.stimulus_id = stimulus;
  ev.nbytes = 28;
  ev.type_pickle = Bytes::copy_of(std::string_view("T"));
  ev.type_name = "int";
  return ev;
}

inline ExecuteFailureEvent failure(const char* key, std::int64_t run_id,
                                   const char* stimulus) {
  ExecuteFailureEvent ev;
  ev.key = k(key);
  ev.run_id = run_id;
  ev.stimulus_id = stimulus;
  ev.exception_text = "ZeroDivisionError()";
  return ev;
}

// The task-finished that success(key, run_id) leads to.
inline TaskFinishedMsg finished(const char* key, std::int64_t run_id,
                                const char* stimulus,
                                std::vector<StartStop> startstops = {
                                    {"compute", 1.0, 1.5, std::nullopt}}) {
  return TaskFinishedMsg{k(key),
                         run_id,
                         28,
                         Bytes::copy_of(std::string_view("T")),
                         "int",
                         7,
                         std::move(startstops),
                         stimulus};
}

inline WorkerState make_state(int nthreads = 1,
                              std::int64_t message_bytes_limit = 50'000'000) {
  return WorkerState(WorkerStateOptions{kSelf, nthreads, 10, message_bytes_limit});
}

inline void check_valid(const WorkerState& ws) {
  Status st = ws.validate();
  INFO(st.to_string());
  CHECK(st.ok());
}

// handle_stimulus, which must succeed.
inline Instructions handle(WorkerState& ws, StateMachineEvent ev) {
  Result<Instructions> out = ws.handle_stimulus(ev);
  INFO(out.status().to_string());
  REQUIRE(out.ok());
  return std::move(*out);
}

inline TaskStatus status_of(const WorkerState& ws, const char* key) {
  const TaskState* ts = ws.task(k(key));
  REQUIRE(ts != nullptr);
  return ts->status;
}

}  // namespace daskcpp::worker::testing
