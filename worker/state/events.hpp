#pragma once
// Stimuli the WorkerState handles besides the scheduler's stream ops (which it takes
// as the protocol structs: ComputeTask, FreeKeys, StealRequest, ...). Mirrors the
// StateMachineEvent subclasses of distributed/worker_state_machine.py.
//
// Thread safety: plain data.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/codec/value.hpp"
#include "protocol/messages/key.hpp"

namespace daskcpp::worker {

using protocol::Key;

// ExecuteSuccessEvent: the executor ran the task; the value is in the data store.
struct ExecuteSuccess {
  Key key;
  std::int64_t run_id = 0;
  std::int64_t nbytes = 0;
  std::optional<Bytes> type_pickle;
  std::string type_name;
  double start = 0;
  double stop = 0;
  std::optional<std::int64_t> thread;
  std::string stimulus_id;
};

// ExecuteFailureEvent: the task raised; exception/traceback are the Serialized
// payloads distributed.core.error_message builds (traceback may be nil).
struct ExecuteFailure {
  Key key;
  std::int64_t run_id = 0;
  protocol::Value exception;
  protocol::Value traceback;
  std::string exception_text;
  std::string traceback_text;
  double start = 0;
  double stop = 0;
  std::optional<std::int64_t> thread;
  std::string stimulus_id;
};

// One value that arrived from a peer, already deserialized into the data store.
struct ReceivedValue {
  Key key;
  std::int64_t nbytes = 0;
  std::optional<Bytes> type_pickle;
  std::string type_name;
};

// GatherDepSuccessEvent: the peer answered OK; keys it did not have are absent.
struct GatherDepSuccess {
  std::string worker;
  std::vector<ReceivedValue> data;
  double start = 0;
  double stop = 0;
  std::string stimulus_id;
};

// GatherDepBusyEvent: the peer answered {"status": "busy"}.
struct GatherDepBusy {
  std::string worker;
  std::string stimulus_id;
};

// GatherDepNetworkFailureEvent: the peer is unreachable; forget it as a holder of
// anything.
struct GatherDepNetworkFailure {
  std::string worker;
  std::string stimulus_id;
};

// A peer that answered busy may be asked again (upstream retries after a delay).
struct RetryBusyWorker {
  std::string worker;
  std::string stimulus_id;
};

// UpdateDataEvent (scatter): these values are now in the data store.
struct UpdateData {
  std::vector<ReceivedValue> data;
  std::string stimulus_id;
};

// SecedeEvent: the task's thread left the executor pool (distributed.secede /
// worker_client); its slot is free for another task and the task is long-running.
struct Secede {
  Key key;
  double compute_duration = 0;
  std::string stimulus_id;
};

// PauseEvent / UnpauseEvent: process memory crossed the pause threshold (or the
// scheduler asked). While paused no task starts and no dependency is fetched; what
// is running or in flight finishes.
struct Pause {
  std::string stimulus_id;
};
struct Unpause {
  std::string stimulus_id;
};

}  // namespace daskcpp::worker
