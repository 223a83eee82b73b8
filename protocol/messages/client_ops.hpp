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
#include <tuple>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/messages/field_reader.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/messages/op_fields.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

inline constexpr Shape kPayload{"payload", [](const Value& v) { return v.is_payload(); }};
inline constexpr Shape kActors{"bool, nil or array", [](const Value& v) {
                                 return v.is_bool() || v.is_nil() || v.is_array();
                               }};
inline constexpr Shape kTimestampAndMsg{"[timestamp, msg]", [](const Value& v) {
                                          return v.is_array() && v.as_array().size() == 2;
                                        }};
// update-graph's fifo_timeout: a timedelta parse_timedelta accepts.
Status check_fifo_timeout(const FieldReader& r, std::string_view field, const Value& v);

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
  static constexpr auto kFields =
      std::tuple{op_field(),
                 field("expr_ser", &UpdateGraph::expr_ser, kPayload),
                 field("keys", &UpdateGraph::keys, as_key_set),
                 field("internal_priority", &UpdateGraph::internal_priority),
                 field("submitting_task", &UpdateGraph::submitting_task),
                 field("fifo_timeout", &UpdateGraph::fifo_timeout, check_fifo_timeout),
                 field("actors", &UpdateGraph::actors, kActors),
                 field("code", &UpdateGraph::code),
                 field("annotations", &UpdateGraph::annotations),
                 field("span_metadata", &UpdateGraph::span_metadata),
                 opt_field("stimulus_id", &UpdateGraph::stimulus_id),
                 opt_field("client", &UpdateGraph::client)};
  // fifo_timeout in seconds.
  Result<double> fifo_timeout_seconds() const;
};

struct ClientDesiresKeys {
  std::vector<Key> keys;
  std::optional<std::string> client;  // "fire-and-forget" from fire_and_forget()
  DASKCPP_OP_METHODS(ClientDesiresKeys, "client-desires-keys");
  static constexpr auto kFields =
      std::tuple{op_field(), field("keys", &ClientDesiresKeys::keys),
                 opt_field("client", &ClientDesiresKeys::client)};
};

struct ClientReleasesKeys {
  std::vector<Key> keys;
  std::optional<std::string> client;
  DASKCPP_OP_METHODS(ClientReleasesKeys, "client-releases-keys");
  static constexpr auto kFields =
      std::tuple{op_field(), field("keys", &ClientReleasesKeys::keys),
                 opt_field("client", &ClientReleasesKeys::client)};
};

struct CancelKeys {
  std::vector<Key> keys;
  bool force = false;
  std::optional<std::string> reason;
  std::optional<std::string> msg;
  std::optional<std::string> client;
  DASKCPP_OP_METHODS(CancelKeys, "cancel-keys");
  static constexpr auto kFields =
      std::tuple{op_field(),
                 field("keys", &CancelKeys::keys),
                 opt_field("force", &CancelKeys::force),
                 opt_field_or_nil("reason", &CancelKeys::reason),
                 opt_field_or_nil("msg", &CancelKeys::msg),
                 opt_field("client", &CancelKeys::client)};
};

struct ReportKey {
  Key key;
  std::optional<std::string> client;
  DASKCPP_OP_METHODS(ReportKey, "report-key");
  static constexpr auto kFields = std::tuple{op_field(), field("key", &ReportKey::key),
                                             opt_field("client", &ReportKey::client)};
};

// subscribe-topic / unsubscribe-topic share one shape.
template <OpName Name>
struct TopicOp {
  std::string topic;
  std::optional<std::string> client;
  DASKCPP_OP_METHODS(TopicOp, Name.view());
  static constexpr auto kFields = std::tuple{op_field(), field("topic", &TopicOp::topic),
                                             opt_field("client", &TopicOp::client)};
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
  static constexpr auto kFields =
      std::tuple{op_field(), field("who_has", &UpdateDataStream::who_has),
                 field("nbytes", &UpdateDataStream::nbytes),
                 opt_field("client", &UpdateDataStream::client)};
};

// ---- scheduler -> client ------------------------------------------------------

struct StreamStart {
  std::string warning;
  std::string error;
  DASKCPP_OP_METHODS(StreamStart, "stream-start");
  static constexpr auto kFields =
      std::tuple{op_field(), field("warning", &StreamStart::warning),
                 field("error", &StreamStart::error)};
};

struct KeyInMemory {
  Key key;
  std::optional<Value> type;  // bin pickle of the result type; absent for scattered data
  std::optional<AddressList> workers;  // after update_data
  DASKCPP_OP_METHODS(KeyInMemory, "key-in-memory");
  static constexpr auto kFields =
      std::tuple{op_field(), field("key", &KeyInMemory::key),
                 opt_field("type", &KeyInMemory::type, kBinOrNil),
                 opt_field("workers", &KeyInMemory::workers, as_str_list)};
};

// Client-side task-erred: exception/traceback as stored (Payloads from the worker,
// or a raw bin pickle for scheduler-made errors such as KilledWorker).
struct ClientTaskErred {
  Key key;
  Value exception;
  std::optional<Value> traceback;  // absent for scheduler-made errors
  DASKCPP_OP_METHODS(ClientTaskErred, "task-erred");
  static constexpr auto kFields =
      std::tuple{op_field(), field("key", &ClientTaskErred::key),
                 field("exception", &ClientTaskErred::exception),
                 opt_field("traceback", &ClientTaskErred::traceback)};
};

struct LostData {
  Key key;
  DASKCPP_OP_METHODS(LostData, "lost-data");
  static constexpr auto kFields = std::tuple{op_field(), field("key", &LostData::key)};
};

struct CancelledKeys {
  std::vector<Key> keys;
  // Each absent, nil or str: cancel-keys sends both (maybe nil), lost dependencies
  // only a reason.
  std::optional<Value> reason;
  std::optional<Value> msg;
  DASKCPP_OP_METHODS(CancelledKeys, "cancelled-keys");
  static constexpr auto kFields =
      std::tuple{op_field(), field("keys", &CancelledKeys::keys),
                 opt_field("reason", &CancelledKeys::reason, kStrOrNil),
                 opt_field("msg", &CancelledKeys::msg, kStrOrNil)};
};

struct TaskRetried {
  Key key;
  DASKCPP_OP_METHODS(TaskRetried, "task-retried");
  static constexpr auto kFields = std::tuple{op_field(), field("key", &TaskRetried::key)};
};

using RestartClient = BareOp<"restart">;
using StreamClosed = BareOp<"stream-closed">;

struct Event {
  Value topic;  // str
  Value event;  // [timestamp, msg]
  DASKCPP_OP_METHODS(Event, "event");
  static constexpr auto kFields =
      std::tuple{op_field(), field("topic", &Event::topic),
                 field("event", &Event::event, kTimestampAndMsg)};
};

struct AdjustHeartbeatInterval {
  double interval = 0;
  DASKCPP_OP_METHODS(AdjustHeartbeatInterval, "adjust-heartbeat-interval");
  static constexpr auto kFields =
      std::tuple{op_field(), field("interval", &AdjustHeartbeatInterval::interval)};
};

}  // namespace daskcpp::protocol
