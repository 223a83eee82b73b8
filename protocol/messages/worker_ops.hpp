#pragma once
// Ops of the worker's batched stream, in both directions (protocol.md §6.4, §6.5).
//
// Worker -> scheduler ops mirror the SendMessageToScheduler dataclasses of
// distributed/worker_state_machine.py; their to_dict() writes the dataclass fields
// first, then "op", "stimulus_id" (and "status" for task-finished/-erred), and encode()
// keeps that order so replays are byte-identical.
// Scheduler -> worker ops mirror the dicts built in distributed/scheduler.py
// (_task_to_msg, stealing.py, active_memory_manager.py). The stock worker builds a
// dataclass from them with cls(**fields): encode() writes exactly the stock field
// set, never one more or one less.
//
// decode() tolerates extra fields and reports the first bad field by name.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/messages/field_reader.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// ---- worker -> scheduler ------------------------------------------------------

// TaskFinishedMsg.
struct TaskFinished {
  Key key;
  std::int64_t run_id = 0;
  std::int64_t nbytes = 0;
  std::optional<Bytes> type;  // pickle of the result's type (nil if unpicklable)
  std::string typename_;      // "typename" on the wire
  Value metadata = Value(Map{});
  std::optional<std::int64_t> thread;
  std::vector<StartStop> startstops;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(TaskFinished, "task-finished");
};

// TaskErredMsg. exception/traceback are Payloads forwarded verbatim to clients.
struct TaskErred {
  Key key;
  std::int64_t run_id = 0;
  Value exception;
  Value traceback;  // Payload or nil
  std::string exception_text;
  std::string traceback_text;
  std::optional<std::int64_t> thread;
  std::vector<StartStop> startstops;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(TaskErred, "task-erred");
};

struct ReleaseWorkerData {
  Key key;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(ReleaseWorkerData, "release-worker-data");
};

struct Reschedule {
  Key key;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(Reschedule, "reschedule");
};

struct LongRunning {
  Key key;
  std::int64_t run_id = 0;
  std::optional<double> compute_duration;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(LongRunning, "long-running");
};

struct AddKeys {
  std::vector<Key> keys;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(AddKeys, "add-keys");
};

struct RequestRefreshWhoHas {
  std::vector<Key> keys;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(RequestRefreshWhoHas, "request-refresh-who-has");
};

struct StealResponse {
  Key key;
  std::optional<std::string> state;  // worker task state, nil if unknown
  std::string stimulus_id;
  DASKCPP_OP_METHODS(StealResponse, "steal-response");
};

// Both directions: the worker reports its status; the scheduler asks for
// closing_gracefully (retire_workers) or reverts it.
struct WorkerStatusChange {
  std::string status;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(WorkerStatusChange, "worker-status-change");
};

struct LogEvent {
  Value topic;  // str or array of str
  Value msg;    // any msgpack value
  DASKCPP_OP_METHODS(LogEvent, "log-event");
};

using KeepAlive = BareOp<"keep-alive">;
// Ends a batched stream; the same op on every stream.
using CloseStream = BareOp<"close-stream">;

// ---- scheduler -> worker ------------------------------------------------------

// Scheduler._task_to_msg; the exact field set of ComputeTaskEvent.
struct ComputeTask {
  Key key;
  std::int64_t run_id = 0;
  Array priority;  // numbers
  std::string stimulus_id;
  WhoHas who_has;
  KeyInts nbytes;
  Value run_spec;               // __Pickled__ Payload of the GraphNode, or nil
  Value resource_restrictions;  // map or nil
  bool actor = false;
  Value annotations = Value(Map{});
  std::optional<std::string> span_id;
  DASKCPP_OP_METHODS(ComputeTask, "compute-task");
};

struct FreeKeys {
  std::vector<Key> keys;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(FreeKeys, "free-keys");
};

struct StealRequest {
  Key key;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(StealRequest, "steal-request");
};

struct AcquireReplicas {
  WhoHas who_has;
  KeyInts nbytes;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(AcquireReplicas, "acquire-replicas");
};

struct RemoveReplicas {
  std::vector<Key> keys;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(RemoveReplicas, "remove-replicas");
};

struct RefreshWhoHas {
  WhoHas who_has;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(RefreshWhoHas, "refresh-who-has");
};

// Another worker left (not a close of this one).
struct RemoveWorker {
  std::string worker;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(RemoveWorker, "remove-worker");
};

// {"op": "close", "reason": ...}: the scheduler shuts the worker down.
struct CloseWorker {
  std::string reason;
  DASKCPP_OP_METHODS(CloseWorker, "close");
};

}  // namespace daskcpp::protocol
