#pragma once
// Ops of the client's batched stream, in both directions (protocol.md §5.2-§5.4).
//
// Client -> scheduler ops mirror the dicts built in distributed/client.py; the
// scheduler injects `client` into each op if absent, so `client` is optional here
// and written only when set. Scheduler -> client ops mirror Scheduler.report and
// _task_to_report_msg; Client._handle_report calls a handler with the fields as
// keyword arguments, so encode() writes only fields that handler accepts.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/messages/field_reader.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// ---- client -> scheduler ------------------------------------------------------

struct UpdateGraph {
  Value expr_ser;         // __Serialized__ Payload (pickle of a dask expression)
  std::vector<Key> keys;  // a __Set__ on the wire
  // {key: int} or nil (then the scheduler runs dask.order).
  std::optional<KeyInts> internal_priority;
  std::optional<Key> submitting_task;
  Value fifo_timeout;   // str ("100 ms") or number; see parse_timedelta
  Value actors;         // bool, nil or array of keys
  Value code;           // __Pickled__ Payload
  Value annotations;    // __Pickled__ Payload
  Value span_metadata;  // __Pickled__ Payload
  std::optional<std::string> stimulus_id;  // not sent by stock clients
  std::optional<std::string> client;       // injected by the scheduler
  DASKCPP_OP_METHODS(UpdateGraph, "update-graph");
  // fifo_timeout in seconds.
  Result<double> fifo_timeout_seconds() const;
};

struct ClientDesiresKeys {
  std::vector<Key> keys;
  std::optional<std::string> client;  // "fire-and-forget" from fire_and_forget()
  DASKCPP_OP_METHODS(ClientDesiresKeys, "client-desires-keys");
};

struct ClientReleasesKeys {
  std::vector<Key> keys;
  std::optional<std::string> client;
  DASKCPP_OP_METHODS(ClientReleasesKeys, "client-releases-keys");
};

struct CancelKeys {
  std::vector<Key> keys;
  bool force = false;
  std::optional<std::string> reason;
  std::optional<std::string> msg;
  std::optional<std::string> client;
  DASKCPP_OP_METHODS(CancelKeys, "cancel-keys");
};

struct ReportKey {
  Key key;
  std::optional<std::string> client;
  DASKCPP_OP_METHODS(ReportKey, "report-key");
};

// subscribe-topic / unsubscribe-topic share one shape.
template <OpName Name>
struct TopicOp {
  std::string topic;
  std::optional<std::string> client;
  static constexpr std::string_view kOp = Name.view();
  static Result<TopicOp> decode(const Value& msg) {
    DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
    TopicOp m;
    DASKCPP_ASSIGN_OR_RETURN(m.topic, r.str("topic"));
    DASKCPP_ASSIGN_OR_RETURN(m.client, r.opt_str("client"));
    return m;
  }
  Value encode() const {
    FieldWriter w(kOp);
    w.put("topic", topic).put_if("client", client);
    return w.done();
  }
  friend bool operator==(const TopicOp&, const TopicOp&) = default;
};
using SubscribeTopic = TopicOp<"subscribe-topic">;
using UnsubscribeTopic = TopicOp<"unsubscribe-topic">;

using HeartbeatClient = BareOp<"heartbeat-client">;
using CloseClient = BareOp<"close-client">;

// Stream twin of the update_data RPC.
struct UpdateDataStream {
  WhoHas who_has;
  KeyInts nbytes;
  std::optional<std::string> client;
  DASKCPP_OP_METHODS(UpdateDataStream, "update-data");
};

// ---- scheduler -> client ------------------------------------------------------

struct StreamStart {
  std::string warning;
  std::string error;
  DASKCPP_OP_METHODS(StreamStart, "stream-start");
};

struct KeyInMemory {
  Key key;
  std::optional<Value> type;  // bin pickle of the result type; absent for scattered data
  std::optional<AddressList> workers;  // after update_data
  DASKCPP_OP_METHODS(KeyInMemory, "key-in-memory");
};

// Client-side task-erred: exception/traceback as stored (Payloads from the worker,
// or a raw bin pickle for scheduler-made errors such as KilledWorker).
struct ClientTaskErred {
  Key key;
  Value exception;
  std::optional<Value> traceback;  // absent for scheduler-made errors
  DASKCPP_OP_METHODS(ClientTaskErred, "task-erred");
};

struct LostData {
  Key key;
  DASKCPP_OP_METHODS(LostData, "lost-data");
};

struct CancelledKeys {
  std::vector<Key> keys;
  // Each absent, nil or str: cancel-keys sends both (maybe nil), lost dependencies
  // only a reason.
  std::optional<Value> reason;
  std::optional<Value> msg;
  DASKCPP_OP_METHODS(CancelledKeys, "cancelled-keys");
};

struct TaskRetried {
  Key key;
  DASKCPP_OP_METHODS(TaskRetried, "task-retried");
};

using RestartClient = BareOp<"restart">;
using StreamClosed = BareOp<"stream-closed">;

struct Event {
  Value topic;  // str
  Value event;  // [timestamp, msg]
  DASKCPP_OP_METHODS(Event, "event");
};

struct AdjustHeartbeatInterval {
  double interval = 0;
  DASKCPP_OP_METHODS(AdjustHeartbeatInterval, "adjust-heartbeat-interval");
};

}  // namespace daskcpp::protocol
