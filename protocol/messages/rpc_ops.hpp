#pragma once
// RPC requests and replies (protocol.md §4.1, §5.5-§5.7, §6.1, §6.2, §6.7, §6.9, §7).
//
// A request is {"op": name, <kwargs in the caller's order>, "reply": bool}; the
// rpc() proxy of distributed/core.py appends `reply` last, except for the stream
// openers (register-worker, register-client) whose callers put it in front and
// register_nanny which has none. `reply` is kept as sent (nullopt = absent) so a
// request re-encodes byte-identically. Replies are plain maps or values; the ones
// the scheduler sends or receives have a struct or builder here.
//
// Requests to the scheduler mirror the signatures of the Scheduler handlers
// (add_worker, heartbeat_worker, gather, ...); requests to workers mirror
// Worker.get_data / Worker.update_data.

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

inline constexpr Shape kStrOrInt{"str or int",
                                 [](const Value& v) { return v.is_str() || v.is_int(); }};
inline constexpr Shape kBoolOrInt{
    "bool or int", [](const Value& v) { return v.is_bool() || v.is_int(); }};

// ---- worker / nanny -> scheduler ----------------------------------------------

// Checks metrics.bandwidth.{total,workers,types}, digests_total_since_heartbeat,
// memory, spilled_bytes.{memory,disk}: their absence makes the stock scheduler raise.
Status check_worker_metrics(const FieldReader& r, const Value& metrics);
inline constexpr FieldCheck kWorkerMetrics = [](const FieldReader& r, std::string_view,
                                                const Value& v) {
  return check_worker_metrics(r, v);
};

// Opener of the worker stream: every keyword Scheduler.add_worker takes without a
// default (Appendix F), plus the optional pid.
struct RegisterWorker {
  std::optional<bool> reply;
  std::string address;
  std::string status;  // "init" from stock workers
  std::int64_t nthreads = 0;
  Value name;  // str or int
  double now = 0;
  Value resources = Value(Map{});  // {str: number}
  std::optional<std::int64_t> memory_limit;
  std::string local_directory;
  Value services = Value(Map{});  // {str: int}
  std::optional<std::string> nanny;
  std::optional<std::int64_t> pid;
  Value versions = Value(Map{});
  Value metrics = Value(Map{});  // checked like heartbeat_worker.metrics
  Value extra = Value(Map{});
  std::string stimulus_id;
  std::string server_id;
  DASKCPP_OP_METHODS(RegisterWorker, "register-worker");
  static constexpr auto kFields =
      std::tuple{op_field(),
                 opt_field("reply", &RegisterWorker::reply),
                 field("address", &RegisterWorker::address),
                 field("status", &RegisterWorker::status),
                 field("nthreads", &RegisterWorker::nthreads),
                 field("name", &RegisterWorker::name, kStrOrInt),
                 field("now", &RegisterWorker::now),
                 field("resources", &RegisterWorker::resources, as_map),
                 field("memory_limit", &RegisterWorker::memory_limit),
                 field("local_directory", &RegisterWorker::local_directory),
                 field("services", &RegisterWorker::services, as_map),
                 field("nanny", &RegisterWorker::nanny),
                 opt_field("pid", &RegisterWorker::pid),
                 field("versions", &RegisterWorker::versions, as_map),
                 field("metrics", &RegisterWorker::metrics, kWorkerMetrics),
                 field("extra", &RegisterWorker::extra, as_map),
                 field("stimulus_id", &RegisterWorker::stimulus_id),
                 field("server_id", &RegisterWorker::server_id)};
};

struct HeartbeatWorker {
  std::string address;
  double now = 0;
  // Kept whole (the scheduler stores it as the worker's last metrics); decode checks
  // the entries Scheduler.heartbeat_worker dereferences unconditionally.
  Value metrics = Value(Map{});
  Value executing;   // {key: seconds} or nil
  Value extensions;  // {name: state} or nil
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(HeartbeatWorker, "heartbeat_worker");
  static constexpr auto kFields =
      std::tuple{op_field(),
                 field("address", &HeartbeatWorker::address),
                 field("now", &HeartbeatWorker::now),
                 field("metrics", &HeartbeatWorker::metrics, kWorkerMetrics),
                 opt_field("executing", &HeartbeatWorker::executing, kMapOrNil),
                 opt_field("extensions", &HeartbeatWorker::extensions, kMapOrNil),
                 opt_field("reply", &HeartbeatWorker::reply)};
};

struct Unregister {
  std::string address;
  std::optional<std::string> stimulus_id;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(Unregister, "unregister");
  static constexpr auto kFields =
      std::tuple{op_field(), field("address", &Unregister::address),
                 opt_field("stimulus_id", &Unregister::stimulus_id),
                 opt_field("reply", &Unregister::reply)};
};

// No `reply` field; the nanny sends {"status": "ok"} on the same comm afterwards.
struct RegisterNanny {
  std::string address;
  DASKCPP_OP_METHODS(RegisterNanny, "register_nanny");
  static constexpr auto kFields =
      std::tuple{op_field(), field("address", &RegisterNanny::address)};
};

// {"status": "OK", "time", "heartbeat-interval", "worker-plugins", "warning", "error"}.
struct RegisterWorkerReply {
  double time = 0;
  double heartbeat_interval = 0.5;
  Value worker_plugins = Value(Map{});  // {name: bin pickle}
  std::string warning;
  std::string error;
  DASKCPP_REPLY_METHODS(RegisterWorkerReply, "register-worker reply");
  static constexpr auto kFields =
      std::tuple{status_field("OK"),
                 field("time", &RegisterWorkerReply::time),
                 field("heartbeat-interval", &RegisterWorkerReply::heartbeat_interval),
                 field("worker-plugins", &RegisterWorkerReply::worker_plugins, as_map),
                 field("warning", &RegisterWorkerReply::warning),
                 field("error", &RegisterWorkerReply::error)};
};
// {"status": "error", "message": ..., "time": ...} (e.g. "name taken, <name>").
Value register_worker_error_reply(std::string_view message, double time);

// {"status": "OK", "time", "heartbeat-interval"}; {"status": "missing"} for an
// unknown worker.
struct HeartbeatReply {
  double time = 0;
  double heartbeat_interval = 0.5;
  DASKCPP_REPLY_METHODS(HeartbeatReply, "heartbeat_worker reply");
  static constexpr auto kFields =
      std::tuple{status_field("OK"), field("time", &HeartbeatReply::time),
                 field("heartbeat-interval", &HeartbeatReply::heartbeat_interval)};
};
Value heartbeat_missing_reply();

// ---- client -> scheduler ------------------------------------------------------

// Opener of the client stream.
struct RegisterClient {
  std::string client;
  std::optional<bool> reply;
  Value versions;
  DASKCPP_OP_METHODS(RegisterClient, "register-client");
  static constexpr auto kFields =
      std::tuple{op_field(), field("client", &RegisterClient::client),
                 opt_field("reply", &RegisterClient::reply),
                 field("versions", &RegisterClient::versions, as_map)};
};

struct Identity {
  std::optional<std::int64_t> n_workers;  // -1 all, 0 none; absent = 0
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(Identity, "identity");
  static constexpr auto kFields =
      std::tuple{op_field(), opt_field("n_workers", &Identity::n_workers, as_int64),
                 opt_field("reply", &Identity::reply)};
};

struct Gather {
  std::vector<Key> keys;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(Gather, "gather");
  static constexpr auto kFields = std::tuple{op_field(), field("keys", &Gather::keys),
                                             opt_field("reply", &Gather::reply)};
};

// {"status": "OK", "data": {key: Payload}} or {"status": "error", "keys": [...]}.
struct GatherReply {
  bool ok = true;
  KeyValues data;            // when ok
  std::vector<Key> missing;  // when !ok
  static Result<GatherReply> decode(const Value& msg);
  Value encode() const;
  friend bool operator==(const GatherReply&, const GatherReply&) = default;
};

struct WhoHasRequest {
  std::optional<std::vector<Key>> keys;  // nil = all
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(WhoHasRequest, "who_has");
  static constexpr auto kFields =
      std::tuple{op_field(), opt_field_or_nil("keys", &WhoHasRequest::keys),
                 opt_field("reply", &WhoHasRequest::reply)};
};

// has_what / ncores / ncores_running / processing: {"workers": [addr] or nil}.
template <OpName Name>
struct WorkersQuery {
  std::optional<AddressList> workers;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(WorkersQuery, Name.view());
  static constexpr auto kFields =
      std::tuple{op_field(), opt_field_or_nil("workers", &WorkersQuery::workers),
                 opt_field("reply", &WorkersQuery::reply)};
};
using HasWhat = WorkersQuery<"has_what">;
using Ncores = WorkersQuery<"ncores">;
using NcoresRunning = WorkersQuery<"ncores_running">;
using Processing = WorkersQuery<"processing">;

struct NbytesRequest {
  std::optional<std::vector<Key>> keys;
  bool summary = true;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(NbytesRequest, "nbytes");
  static constexpr auto kFields =
      std::tuple{op_field(), opt_field_or_nil("keys", &NbytesRequest::keys),
                 opt_field("summary", &NbytesRequest::summary),
                 opt_field("reply", &NbytesRequest::reply)};
};

struct Scatter {
  KeyValues data;  // {key: Payload}
  std::optional<AddressList> workers;
  std::optional<std::string> client;
  Value broadcast = Value(false);  // bool or int
  Value timeout = Value(2);        // number (seconds)
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(Scatter, "scatter");
  static constexpr auto kFields =
      std::tuple{op_field(),
                 field("data", &Scatter::data),
                 opt_field_or_nil("workers", &Scatter::workers),
                 opt_field_or_nil("client", &Scatter::client),
                 opt_field("broadcast", &Scatter::broadcast, kBoolOrInt),
                 opt_field("timeout", &Scatter::timeout, as_number_value),
                 opt_field("reply", &Scatter::reply)};
};

// update_data sent to the scheduler (direct scatter).
struct SchedulerUpdateData {
  WhoHas who_has;
  KeyInts nbytes;
  std::optional<std::string> client;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(SchedulerUpdateData, "update_data");
  static constexpr auto kFields =
      std::tuple{op_field(), field("who_has", &SchedulerUpdateData::who_has),
                 field("nbytes", &SchedulerUpdateData::nbytes),
                 opt_field("client", &SchedulerUpdateData::client),
                 opt_field("reply", &SchedulerUpdateData::reply)};
};

struct Retry {
  std::vector<Key> keys;
  std::optional<std::string> client;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(Retry, "retry");
  static constexpr auto kFields =
      std::tuple{op_field(), field("keys", &Retry::keys),
                 opt_field("client", &Retry::client), opt_field("reply", &Retry::reply)};
};

struct RestartRequest {
  Value timeout;  // number
  bool wait_for_workers = true;
  std::optional<std::string> stimulus_id;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(RestartRequest, "restart");
  static constexpr auto kFields =
      std::tuple{op_field(), field("timeout", &RestartRequest::timeout, as_number_value),
                 opt_field("wait_for_workers", &RestartRequest::wait_for_workers),
                 opt_field("stimulus_id", &RestartRequest::stimulus_id),
                 opt_field("reply", &RestartRequest::reply)};
};

// ---- scheduler (or peer) -> worker --------------------------------------------

struct GetData;
// get_data's keys: workers send a __Set__, the scheduler an array; re-encoded as
// received (GetData::keys_as_set).
struct GetDataKeysField {
  Status decode(const FieldReader& r, GetData& op) const;
  void encode(FieldWriter& w, const GetData& op, std::string_view op_name) const;
};

struct GetData {
  std::vector<Key> keys;
  bool keys_as_set = false;  // workers send a __Set__, the scheduler an array
  std::optional<std::string> who;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(GetData, "get_data");
  static constexpr auto kFields =
      std::tuple{op_field(), GetDataKeysField{}, field("who", &GetData::who),
                 opt_field("reply", &GetData::reply)};
};

// {"status": "OK", "data": {key: Payload}} or {"status": "busy"}.
struct GetDataReply {
  bool busy = false;
  KeyValues data;
  static Result<GetDataReply> decode(const Value& msg);
  Value encode() const;
  friend bool operator==(const GetDataReply&, const GetDataReply&) = default;
};

// The requester's bare "OK" after a successful get_data reply (Appendix C.7).
Value ok_ack();
bool is_ok_ack(const Value& v);

// update_data sent to a worker (scatter).
struct WorkerUpdateData {
  KeyValues data;
  std::optional<std::string> stimulus_id;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(WorkerUpdateData, "update_data");
  static constexpr auto kFields =
      std::tuple{op_field(), field("data", &WorkerUpdateData::data),
                 opt_field("stimulus_id", &WorkerUpdateData::stimulus_id),
                 opt_field("reply", &WorkerUpdateData::reply)};
};

// {"nbytes": {key: int}, "status": "OK"}.
struct WorkerUpdateDataReply {
  KeyInts nbytes;
  DASKCPP_REPLY_METHODS(WorkerUpdateDataReply, "update_data reply");
  static constexpr auto kFields =
      std::tuple{field("nbytes", &WorkerUpdateDataReply::nbytes), status_field("OK")};
};

}  // namespace daskcpp::protocol
