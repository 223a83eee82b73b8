#pragma once
// The stimuli the WorkerState handles (upstream StateMachineEvent subclasses of
// distributed/worker_state_machine.py, same names). The scheduler's stream ops are
// converted into these by worker/server/scheduler_messages.cpp; the core never sees a
// wire struct.
//
// run_spec, annotations and exception/traceback are opaque here: the core stores and
// forwards them, only the server reads them.
// Thread safety: plain data.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/codec/value.hpp"
#include "protocol/messages/key.hpp"

namespace daskcpp::worker {

using protocol::Key;

// An opaque payload the core keeps and forwards (a __Pickled__ run_spec, a
// Serialized exception); nil when absent.
using OpaquePayload = protocol::Value;

// {key: addresses holding it}, in the scheduler's order.
using WhoHasList = std::vector<std::pair<Key, std::vector<std::string>>>;

// ---- from the scheduler (protocol.md §6.4) ----

// ComputeTaskEvent. `priority` is the scheduler's priority tuple.
struct ComputeTaskEvent {
  Key key;
  std::int64_t run_id = 0;
  std::vector<double> priority;
  WhoHasList who_has;  // the dependencies and their holders
  std::vector<std::pair<Key, std::int64_t>> nbytes;
  OpaquePayload run_spec;
  std::map<std::string, double> resource_restrictions;
  OpaquePayload annotations = OpaquePayload(protocol::Map{});
  std::string stimulus_id;
};

struct FreeKeysEvent {
  std::vector<Key> keys;
  std::string stimulus_id;
};

struct StealRequestEvent {
  Key key;
  std::string stimulus_id;
};

struct AcquireReplicasEvent {
  WhoHasList who_has;
  std::vector<std::pair<Key, std::int64_t>> nbytes;
  std::string stimulus_id;
};

struct RemoveReplicasEvent {
  std::vector<Key> keys;
  std::string stimulus_id;
};

struct RefreshWhoHasEvent {
  WhoHasList who_has;
  std::string stimulus_id;
};

// Another worker left the cluster: it holds nothing any more.
struct RemoveWorkerEvent {
  std::string worker;
  std::string stimulus_id;
};

// ---- from the worker's own executor and transfers ----

// ExecuteDoneEvent: what success and failure share.
struct ExecuteDoneEvent {
  Key key;
  std::int64_t run_id = 0;
  double start = 0;
  double stop = 0;
  std::optional<std::int64_t> thread;
  std::string stimulus_id;
};

// The executor ran the task; the value is in the data store.
struct ExecuteSuccessEvent : ExecuteDoneEvent {
  std::int64_t nbytes = 0;
  std::optional<Bytes> type_pickle;
  std::string type_name;
};

// The task raised; exception/traceback are the Serialized payloads
// distributed.core.error_message builds (traceback may be nil).
struct ExecuteFailureEvent : ExecuteDoneEvent {
  OpaquePayload exception;
  OpaquePayload traceback;
  std::string exception_text;
  std::string traceback_text;
};

// The task raised distributed.Reschedule (a P2P output task that belongs on
// another worker): it is released here and the scheduler places it again.
struct RescheduleEvent : ExecuteDoneEvent {};

// One value that arrived from a peer or a scatter, already in the data store.
struct ReceivedValue {
  Key key;
  std::int64_t nbytes = 0;
  std::optional<Bytes> type_pickle;
  std::string type_name;
};

// The peer answered OK; keys it did not have are absent from `data`.
struct GatherDepSuccessEvent {
  std::string worker;
  std::vector<ReceivedValue> data;
  double start = 0;
  double stop = 0;
  std::string stimulus_id;
};

// The peer answered {"status": "busy"}.
struct GatherDepBusyEvent {
  std::string worker;
  std::string stimulus_id;
};

// The peer is unreachable; forget it as a holder of anything.
struct GatherDepNetworkFailureEvent {
  std::string worker;
  std::string stimulus_id;
};

// A peer that answered busy may be asked again (upstream retries after a delay).
struct RetryBusyWorkerEvent {
  std::string worker;
  std::string stimulus_id;
};

// update_data / gather (scatter): these values are now in the data store.
struct UpdateDataEvent {
  std::vector<ReceivedValue> data;
  std::string stimulus_id;
};

// The task's thread left the executor pool (distributed.secede / worker_client); its
// slot is free for another task and the task is long-running.
struct SecedeEvent {
  Key key;
  double compute_duration = 0;
  std::string stimulus_id;
};

// Process memory crossed the pause threshold (or the scheduler asked). While paused
// no task starts and no dependency is fetched; what is running or in flight finishes.
struct PauseEvent {
  std::string stimulus_id;
};
struct UnpauseEvent {
  std::string stimulus_id;
};

using StateMachineEvent =
    std::variant<ComputeTaskEvent, FreeKeysEvent, StealRequestEvent, AcquireReplicasEvent,
                 RemoveReplicasEvent, RefreshWhoHasEvent, RemoveWorkerEvent,
                 ExecuteSuccessEvent, ExecuteFailureEvent, RescheduleEvent,
                 GatherDepSuccessEvent, GatherDepBusyEvent, GatherDepNetworkFailureEvent,
                 RetryBusyWorkerEvent, UpdateDataEvent, SecedeEvent, PauseEvent,
                 UnpauseEvent>;

}  // namespace daskcpp::worker
