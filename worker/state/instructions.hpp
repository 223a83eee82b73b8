#pragma once
// What the WorkerState asks its owner to do (upstream Instruction subclasses of
// distributed/worker_state_machine.py, same names): Execute a task, GatherDep from a
// peer, one typed message for the scheduler stream per SendMessageToScheduler
// subclass, plus FreeData, because here the data store lives outside the state
// machine. worker/server/scheduler_messages.cpp turns each message into its wire op.
//
// Thread safety: plain data.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/messages/key.hpp"
#include "worker/state/events.hpp"
#include "worker/state/task_state.hpp"

namespace daskcpp::worker {

struct Execute {
  Key key;
  std::string stimulus_id;
  friend bool operator==(const Execute&, const Execute&) = default;
};

// Fetch `keys` from `worker` with one get_data.
struct GatherDep {
  std::string worker;
  std::vector<Key> keys;
  std::int64_t total_nbytes = 0;
  std::string stimulus_id;
  friend bool operator==(const GatherDep&, const GatherDep&) = default;
};

// Drop the key's value from the data store.
struct FreeData {
  Key key;
  friend bool operator==(const FreeData&, const FreeData&) = default;
};

// ---- SendMessageToScheduler (protocol.md §6.4) ----

struct TaskFinishedMsg {
  Key key;
  std::int64_t run_id = 0;
  std::int64_t nbytes = 0;
  std::optional<Bytes> type;  // pickle of the result's type
  std::string type_name;
  std::optional<std::int64_t> thread;
  std::vector<StartStop> startstops;
  std::string stimulus_id;
  friend bool operator==(const TaskFinishedMsg&, const TaskFinishedMsg&) = default;
};

struct TaskErredMsg {
  Key key;
  std::int64_t run_id = 0;
  OpaquePayload exception;
  OpaquePayload traceback;
  std::string exception_text;
  std::string traceback_text;
  std::optional<std::int64_t> thread;
  std::vector<StartStop> startstops;
  std::string stimulus_id;
  friend bool operator==(const TaskErredMsg&, const TaskErredMsg&) = default;
};

struct ReleaseWorkerDataMsg {
  Key key;
  std::string stimulus_id;
  friend bool operator==(const ReleaseWorkerDataMsg&,
                         const ReleaseWorkerDataMsg&) = default;
};

// The state the task was in when the steal request arrived; nullopt if unknown here.
struct StealResponseMsg {
  Key key;
  std::optional<std::string> state;
  std::string stimulus_id;
  friend bool operator==(const StealResponseMsg&, const StealResponseMsg&) = default;
};

// These keys, fetched from peers, are now also held here.
struct AddKeysMsg {
  std::vector<Key> keys;
  std::string stimulus_id;
  friend bool operator==(const AddKeysMsg&, const AddKeysMsg&) = default;
};

// compute_duration: nullopt when reported in arrears (the task seceded while
// cancelled).
struct LongRunningMsg {
  Key key;
  std::int64_t run_id = 0;
  std::optional<double> compute_duration;
  std::string stimulus_id;
  friend bool operator==(const LongRunningMsg&, const LongRunningMsg&) = default;
};

// The task raised Reschedule: the scheduler should place it again (upstream
// RescheduleMsg).
struct RescheduleMsg {
  Key key;
  std::string stimulus_id;
  friend bool operator==(const RescheduleMsg&, const RescheduleMsg&) = default;
};

// Nobody we know of holds these keys: ask the scheduler who does.
struct RequestRefreshWhoHasMsg {
  std::vector<Key> keys;
  std::string stimulus_id;
  friend bool operator==(const RequestRefreshWhoHasMsg&,
                         const RequestRefreshWhoHasMsg&) = default;
};

using Instruction =
    std::variant<Execute, GatherDep, FreeData, TaskFinishedMsg, TaskErredMsg,
                 ReleaseWorkerDataMsg, StealResponseMsg, AddKeysMsg, LongRunningMsg,
                 RescheduleMsg, RequestRefreshWhoHasMsg>;
using Instructions = std::vector<Instruction>;

}  // namespace daskcpp::worker
