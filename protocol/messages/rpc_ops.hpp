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
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/messages/field_reader.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// ---- worker / nanny -> scheduler ----------------------------------------------

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
};

// Checks metrics.bandwidth.{total,workers,types}, digests_total_since_heartbeat,
// memory, spilled_bytes.{memory,disk}: their absence makes the stock scheduler raise.
Status check_worker_metrics(const FieldReader& r, const Value& metrics);

struct Unregister {
  std::string address;
  std::optional<std::string> stimulus_id;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(Unregister, "unregister");
};

// No `reply` field; the nanny sends {"status": "ok"} on the same comm afterwards.
struct RegisterNanny {
  std::string address;
  DASKCPP_OP_METHODS(RegisterNanny, "register_nanny");
};

// {"status": "OK", "time", "heartbeat-interval", "worker-plugins", "warning", "error"}.
struct RegisterWorkerReply {
  double time = 0;
  double heartbeat_interval = 0.5;
  Value worker_plugins = Value(Map{});  // {name: bin pickle}
  std::string warning;
  std::string error;
  static Result<RegisterWorkerReply> decode(const Value& msg);
  Value encode() const;
  friend bool operator==(const RegisterWorkerReply&,
                         const RegisterWorkerReply&) = default;
};
// {"status": "error", "message": ..., "time": ...} (e.g. "name taken, <name>").
Value register_worker_error_reply(std::string_view message, double time);

// {"status": "OK", "time", "heartbeat-interval"}; {"status": "missing"} for an
// unknown worker.
struct HeartbeatReply {
  double time = 0;
  double heartbeat_interval = 0.5;
  static Result<HeartbeatReply> decode(const Value& msg);
  Value encode() const;
  friend bool operator==(const HeartbeatReply&, const HeartbeatReply&) = default;
};
Value heartbeat_missing_reply();

// ---- client -> scheduler ------------------------------------------------------

// Opener of the client stream.
struct RegisterClient {
  std::string client;
  std::optional<bool> reply;
  Value versions;
  DASKCPP_OP_METHODS(RegisterClient, "register-client");
};

struct Identity {
  std::optional<std::int64_t> n_workers;  // -1 all, 0 none; absent = 0
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(Identity, "identity");
};

struct Gather {
  std::vector<Key> keys;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(Gather, "gather");
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
};

// has_what / ncores / ncores_running / processing: {"workers": [addr] or nil}.
template <OpName Name>
struct WorkersQuery {
  std::optional<AddressList> workers;
  std::optional<bool> reply;
  static constexpr std::string_view kOp = Name.view();
  static Result<WorkersQuery> decode(const Value& msg) {
    DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
    WorkersQuery m;
    if (r.has("workers")) {
      DASKCPP_ASSIGN_OR_RETURN(m.workers, r.str_list_or_nil("workers"));
    }
    DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
    return m;
  }
  Value encode() const {
    FieldWriter w(kOp);
    w.put("workers", workers).put_if("reply", reply);
    return w.done();
  }
  friend bool operator==(const WorkersQuery&, const WorkersQuery&) = default;
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
};

struct Scatter {
  KeyValues data;  // {key: Payload}
  std::optional<AddressList> workers;
  std::optional<std::string> client;
  Value broadcast = Value(false);  // bool or int
  Value timeout = Value(2);        // number (seconds)
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(Scatter, "scatter");
};

// update_data sent to the scheduler (direct scatter).
struct SchedulerUpdateData {
  WhoHas who_has;
  KeyInts nbytes;
  std::optional<std::string> client;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(SchedulerUpdateData, "update_data");
};

struct Retry {
  std::vector<Key> keys;
  std::optional<std::string> client;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(Retry, "retry");
};

struct RestartRequest {
  Value timeout;  // number
  bool wait_for_workers = true;
  std::optional<std::string> stimulus_id;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(RestartRequest, "restart");
};

// ---- scheduler (or peer) -> worker --------------------------------------------

struct GetData {
  std::vector<Key> keys;
  bool keys_as_set = false;  // workers send a __Set__, the scheduler an array
  std::optional<std::string> who;
  std::optional<bool> reply;
  DASKCPP_OP_METHODS(GetData, "get_data");
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
};

// {"nbytes": {key: int}, "status": "OK"}.
struct WorkerUpdateDataReply {
  KeyInts nbytes;
  static Result<WorkerUpdateDataReply> decode(const Value& msg);
  Value encode() const;
  friend bool operator==(const WorkerUpdateDataReply&,
                         const WorkerUpdateDataReply&) = default;
};

}  // namespace daskcpp::protocol
