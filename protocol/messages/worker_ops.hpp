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
#include <tuple>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/messages/field_reader.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/messages/op_fields.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

inline constexpr Shape kStrOrArray{
    "str or array", [](const Value& v) { return v.is_str() || v.is_array(); }};
inline constexpr Shape kPayloadOrNil{
    "payload or nil", [](const Value& v) { return v.is_payload() || v.is_nil(); }};

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
  static constexpr auto kFields =
      std::tuple{field("key", &TaskFinished::key),
                 field("run_id", &TaskFinished::run_id),
                 field("nbytes", &TaskFinished::nbytes),
                 field("type", &TaskFinished::type),
                 field("typename", &TaskFinished::typename_),
                 field("metadata", &TaskFinished::metadata, as_map),
                 field("thread", &TaskFinished::thread),
                 field("startstops", &TaskFinished::startstops),
                 op_field(),
                 field("stimulus_id", &TaskFinished::stimulus_id),
                 written_field("status", "OK")};
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
  static constexpr auto kFields =
      std::tuple{field("key", &TaskErred::key),
                 field("run_id", &TaskErred::run_id),
                 field("exception", &TaskErred::exception),
                 field("traceback", &TaskErred::traceback),
                 field("exception_text", &TaskErred::exception_text),
                 field("traceback_text", &TaskErred::traceback_text),
                 field("thread", &TaskErred::thread),
                 field("startstops", &TaskErred::startstops),
                 op_field(),
                 field("stimulus_id", &TaskErred::stimulus_id),
                 written_field("status", "error")};
};

struct ReleaseWorkerData {
  Key key;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(ReleaseWorkerData, "release-worker-data");
  static constexpr auto kFields =
      std::tuple{field("key", &ReleaseWorkerData::key), op_field(),
                 field("stimulus_id", &ReleaseWorkerData::stimulus_id)};
};

struct Reschedule {
  Key key;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(Reschedule, "reschedule");
  static constexpr auto kFields =
      std::tuple{field("key", &Reschedule::key), op_field(),
                 field("stimulus_id", &Reschedule::stimulus_id)};
};

struct LongRunning {
  Key key;
  std::int64_t run_id = 0;
  std::optional<double> compute_duration;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(LongRunning, "long-running");
  static constexpr auto kFields =
      std::tuple{field("key", &LongRunning::key), field("run_id", &LongRunning::run_id),
                 field("compute_duration", &LongRunning::compute_duration), op_field(),
                 field("stimulus_id", &LongRunning::stimulus_id)};
};

struct AddKeys {
  std::vector<Key> keys;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(AddKeys, "add-keys");
  static constexpr auto kFields = std::tuple{field("keys", &AddKeys::keys), op_field(),
                                             field("stimulus_id", &AddKeys::stimulus_id)};
};

struct RequestRefreshWhoHas {
  std::vector<Key> keys;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(RequestRefreshWhoHas, "request-refresh-who-has");
  static constexpr auto kFields =
      std::tuple{field("keys", &RequestRefreshWhoHas::keys), op_field(),
                 field("stimulus_id", &RequestRefreshWhoHas::stimulus_id)};
};

struct StealResponse {
  Key key;
  std::optional<std::string> state;  // worker task state, nil if unknown
  std::string stimulus_id;
  DASKCPP_OP_METHODS(StealResponse, "steal-response");
  static constexpr auto kFields =
      std::tuple{field("key", &StealResponse::key), field("state", &StealResponse::state),
                 op_field(), field("stimulus_id", &StealResponse::stimulus_id)};
};

// Both directions: the worker reports its status; the scheduler asks for
// closing_gracefully (retire_workers) or reverts it.
struct WorkerStatusChange {
  std::string status;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(WorkerStatusChange, "worker-status-change");
  static constexpr auto kFields =
      std::tuple{op_field(), field("status", &WorkerStatusChange::status),
                 field("stimulus_id", &WorkerStatusChange::stimulus_id)};
};

struct LogEvent {
  Value topic;  // str or array of str
  Value msg;    // any msgpack value
  DASKCPP_OP_METHODS(LogEvent, "log-event");
  static constexpr auto kFields =
      std::tuple{op_field(), field("topic", &LogEvent::topic, kStrOrArray),
                 field("msg", &LogEvent::msg)};
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
  static constexpr auto kFields = std::tuple{
      op_field(),
      field("key", &ComputeTask::key),
      field("run_id", &ComputeTask::run_id),
      field("priority", &ComputeTask::priority),
      field("stimulus_id", &ComputeTask::stimulus_id),
      field("who_has", &ComputeTask::who_has),
      field("nbytes", &ComputeTask::nbytes),
      field("run_spec", &ComputeTask::run_spec, kPayloadOrNil),
      field("resource_restrictions", &ComputeTask::resource_restrictions, kMapOrNil),
      field("actor", &ComputeTask::actor),
      field("annotations", &ComputeTask::annotations, as_map),
      field("span_id", &ComputeTask::span_id)};
};

struct FreeKeys {
  std::vector<Key> keys;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(FreeKeys, "free-keys");
  static constexpr auto kFields =
      std::tuple{op_field(), field("keys", &FreeKeys::keys),
                 field("stimulus_id", &FreeKeys::stimulus_id)};
};

struct StealRequest {
  Key key;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(StealRequest, "steal-request");
  static constexpr auto kFields =
      std::tuple{op_field(), field("key", &StealRequest::key),
                 field("stimulus_id", &StealRequest::stimulus_id)};
};

struct AcquireReplicas {
  WhoHas who_has;
  KeyInts nbytes;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(AcquireReplicas, "acquire-replicas");
  static constexpr auto kFields =
      std::tuple{op_field(), field("who_has", &AcquireReplicas::who_has),
                 field("nbytes", &AcquireReplicas::nbytes),
                 field("stimulus_id", &AcquireReplicas::stimulus_id)};
};

struct RemoveReplicas {
  std::vector<Key> keys;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(RemoveReplicas, "remove-replicas");
  static constexpr auto kFields =
      std::tuple{op_field(), field("keys", &RemoveReplicas::keys),
                 field("stimulus_id", &RemoveReplicas::stimulus_id)};
};

struct RefreshWhoHas {
  WhoHas who_has;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(RefreshWhoHas, "refresh-who-has");
  static constexpr auto kFields =
      std::tuple{op_field(), field("who_has", &RefreshWhoHas::who_has),
                 field("stimulus_id", &RefreshWhoHas::stimulus_id)};
};

// Another worker left (not a close of this one).
struct RemoveWorker {
  std::string worker;
  std::string stimulus_id;
  DASKCPP_OP_METHODS(RemoveWorker, "remove-worker");
  static constexpr auto kFields =
      std::tuple{op_field(), field("worker", &RemoveWorker::worker),
                 field("stimulus_id", &RemoveWorker::stimulus_id)};
};

// {"op": "close", "reason": ...}: the scheduler shuts the worker down.
struct CloseWorker {
  std::string reason;
  DASKCPP_OP_METHODS(CloseWorker, "close");
  static constexpr auto kFields =
      std::tuple{op_field(), field("reason", &CloseWorker::reason)};
};

}  // namespace daskcpp::protocol
