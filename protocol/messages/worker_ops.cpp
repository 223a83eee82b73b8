#include "protocol/messages/worker_ops.hpp"

#include <utility>

namespace daskcpp::protocol {
namespace {

Status check_payload_or_nil(const FieldReader& r, std::string_view field,
                            const Value& v) {
  if (v.is_payload() || v.is_nil()) return Status::OK();
  return r.expected(field, "payload or nil", v);
}

}  // namespace

// ---- worker -> scheduler ------------------------------------------------------

Result<TaskFinished> TaskFinished::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  TaskFinished m;
  DASKCPP_ASSIGN_OR_RETURN(m.key, r.key("key"));
  DASKCPP_ASSIGN_OR_RETURN(m.run_id, r.int64("run_id"));
  DASKCPP_ASSIGN_OR_RETURN(m.nbytes, r.int64("nbytes"));
  DASKCPP_ASSIGN_OR_RETURN(Value type, r.any("type"));
  if (type.is_bin()) {
    m.type = type.as_bin();
  } else if (!type.is_nil()) {
    return r.expected("type", "bin or nil", type);
  }
  DASKCPP_ASSIGN_OR_RETURN(m.typename_, r.str("typename"));
  DASKCPP_ASSIGN_OR_RETURN(m.metadata, r.map("metadata"));
  DASKCPP_ASSIGN_OR_RETURN(m.thread, r.int_or_nil("thread"));
  DASKCPP_ASSIGN_OR_RETURN(m.startstops, r.startstops("startstops"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.str("stimulus_id"));
  return m;
}

Value TaskFinished::encode() const {
  FieldWriter w;
  w.put("key", key).put("run_id", run_id).put("nbytes", nbytes).put("type", type);
  w.put("typename", typename_).put("metadata", metadata).put("thread", thread);
  w.put("startstops", startstops).put("op", kOp).put("stimulus_id", stimulus_id);
  w.put("status", "OK");
  return std::move(w).done();
}

Result<TaskErred> TaskErred::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  TaskErred m;
  DASKCPP_ASSIGN_OR_RETURN(m.key, r.key("key"));
  DASKCPP_ASSIGN_OR_RETURN(m.run_id, r.int64("run_id"));
  DASKCPP_ASSIGN_OR_RETURN(m.exception, r.any("exception"));
  DASKCPP_ASSIGN_OR_RETURN(m.traceback, r.any("traceback"));
  DASKCPP_ASSIGN_OR_RETURN(m.exception_text, r.str("exception_text"));
  DASKCPP_ASSIGN_OR_RETURN(m.traceback_text, r.str("traceback_text"));
  DASKCPP_ASSIGN_OR_RETURN(m.thread, r.int_or_nil("thread"));
  DASKCPP_ASSIGN_OR_RETURN(m.startstops, r.startstops("startstops"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.str("stimulus_id"));
  return m;
}

Value TaskErred::encode() const {
  FieldWriter w;
  w.put("key", key).put("run_id", run_id).put("exception", exception);
  w.put("traceback", traceback).put("exception_text", exception_text);
  w.put("traceback_text", traceback_text).put("thread", thread);
  w.put("startstops", startstops).put("op", kOp).put("stimulus_id", stimulus_id);
  w.put("status", "error");
  return std::move(w).done();
}

// The three {key, op, stimulus_id} messages share one shape.
template <typename Op>
Result<Op> decode_key_stimulus(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(Op::kOp, msg));
  Op m;
  DASKCPP_ASSIGN_OR_RETURN(m.key, r.key("key"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.str("stimulus_id"));
  return m;
}

Result<ReleaseWorkerData> ReleaseWorkerData::decode(const Value& msg) {
  return decode_key_stimulus<ReleaseWorkerData>(msg);
}
Value ReleaseWorkerData::encode() const {
  return FieldWriter()
      .put("key", key)
      .put("op", kOp)
      .put("stimulus_id", stimulus_id)
      .done();
}

Result<Reschedule> Reschedule::decode(const Value& msg) {
  return decode_key_stimulus<Reschedule>(msg);
}
Value Reschedule::encode() const {
  return FieldWriter()
      .put("key", key)
      .put("op", kOp)
      .put("stimulus_id", stimulus_id)
      .done();
}

Result<LongRunning> LongRunning::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  LongRunning m;
  DASKCPP_ASSIGN_OR_RETURN(m.key, r.key("key"));
  DASKCPP_ASSIGN_OR_RETURN(m.run_id, r.int64("run_id"));
  DASKCPP_ASSIGN_OR_RETURN(m.compute_duration, r.number_or_nil("compute_duration"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.str("stimulus_id"));
  return m;
}
Value LongRunning::encode() const {
  FieldWriter w;
  w.put("key", key).put("run_id", run_id).put("compute_duration", compute_duration);
  w.put("op", kOp).put("stimulus_id", stimulus_id);
  return std::move(w).done();
}

template <typename Op>
Result<Op> decode_keys_stimulus(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(Op::kOp, msg));
  Op m;
  DASKCPP_ASSIGN_OR_RETURN(m.keys, r.keys("keys"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.str("stimulus_id"));
  return m;
}

Result<AddKeys> AddKeys::decode(const Value& msg) {
  return decode_keys_stimulus<AddKeys>(msg);
}
Value AddKeys::encode() const {
  return FieldWriter()
      .put("keys", keys)
      .put("op", kOp)
      .put("stimulus_id", stimulus_id)
      .done();
}

Result<RequestRefreshWhoHas> RequestRefreshWhoHas::decode(const Value& msg) {
  return decode_keys_stimulus<RequestRefreshWhoHas>(msg);
}
Value RequestRefreshWhoHas::encode() const {
  return FieldWriter()
      .put("keys", keys)
      .put("op", kOp)
      .put("stimulus_id", stimulus_id)
      .done();
}

Result<StealResponse> StealResponse::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  StealResponse m;
  DASKCPP_ASSIGN_OR_RETURN(m.key, r.key("key"));
  DASKCPP_ASSIGN_OR_RETURN(m.state, r.str_or_nil("state"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.str("stimulus_id"));
  return m;
}
Value StealResponse::encode() const {
  FieldWriter w;
  w.put("key", key).put("state", state).put("op", kOp).put("stimulus_id", stimulus_id);
  return std::move(w).done();
}

Result<WorkerStatusChange> WorkerStatusChange::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  WorkerStatusChange m;
  DASKCPP_ASSIGN_OR_RETURN(m.status, r.str("status"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.str("stimulus_id"));
  return m;
}
Value WorkerStatusChange::encode() const {
  return FieldWriter(kOp).put("status", status).put("stimulus_id", stimulus_id).done();
}

Result<LogEvent> LogEvent::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  LogEvent m;
  DASKCPP_ASSIGN_OR_RETURN(m.topic, r.any("topic"));
  if (!m.topic.is_str() && !m.topic.is_array()) {
    return r.expected("topic", "str or array", m.topic);
  }
  DASKCPP_ASSIGN_OR_RETURN(m.msg, r.any("msg"));
  return m;
}
Value LogEvent::encode() const {
  return FieldWriter(kOp).put("topic", topic).put("msg", msg).done();
}

// ---- scheduler -> worker ------------------------------------------------------

Result<ComputeTask> ComputeTask::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  ComputeTask m;
  DASKCPP_ASSIGN_OR_RETURN(m.key, r.key("key"));
  DASKCPP_ASSIGN_OR_RETURN(m.run_id, r.int64("run_id"));
  DASKCPP_ASSIGN_OR_RETURN(Value priority, r.any("priority"));
  if (!priority.is_array()) return r.expected("priority", "array of numbers", priority);
  for (const Value& p : priority.as_array()) {
    if (!p.is_number()) return r.expected("priority", "array of numbers", p);
  }
  m.priority = priority.as_array();
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.str("stimulus_id"));
  DASKCPP_ASSIGN_OR_RETURN(m.who_has, r.who_has("who_has"));
  DASKCPP_ASSIGN_OR_RETURN(m.nbytes, r.key_ints("nbytes"));
  DASKCPP_ASSIGN_OR_RETURN(m.run_spec, r.any("run_spec"));
  DASKCPP_RETURN_NOT_OK(check_payload_or_nil(r, "run_spec", m.run_spec));
  DASKCPP_ASSIGN_OR_RETURN(m.resource_restrictions, r.any("resource_restrictions"));
  if (!m.resource_restrictions.is_map() && !m.resource_restrictions.is_nil()) {
    return r.expected("resource_restrictions", "map or nil", m.resource_restrictions);
  }
  DASKCPP_ASSIGN_OR_RETURN(m.actor, r.boolean("actor"));
  DASKCPP_ASSIGN_OR_RETURN(m.annotations, r.map("annotations"));
  DASKCPP_ASSIGN_OR_RETURN(m.span_id, r.str_or_nil("span_id"));
  return m;
}

Value ComputeTask::encode() const {
  FieldWriter w(kOp);
  w.put("key", key).put("run_id", run_id).put("priority", Value(priority));
  w.put("stimulus_id", stimulus_id).put("who_has", who_has).put("nbytes", nbytes);
  w.put("run_spec", run_spec).put("resource_restrictions", resource_restrictions);
  w.put("actor", actor).put("annotations", annotations).put("span_id", span_id);
  return std::move(w).done();
}

Result<FreeKeys> FreeKeys::decode(const Value& msg) {
  return decode_keys_stimulus<FreeKeys>(msg);
}
Value FreeKeys::encode() const {
  return FieldWriter(kOp).put("keys", keys).put("stimulus_id", stimulus_id).done();
}

Result<StealRequest> StealRequest::decode(const Value& msg) {
  return decode_key_stimulus<StealRequest>(msg);
}
Value StealRequest::encode() const {
  return FieldWriter(kOp).put("key", key).put("stimulus_id", stimulus_id).done();
}

Result<AcquireReplicas> AcquireReplicas::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  AcquireReplicas m;
  DASKCPP_ASSIGN_OR_RETURN(m.who_has, r.who_has("who_has"));
  DASKCPP_ASSIGN_OR_RETURN(m.nbytes, r.key_ints("nbytes"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.str("stimulus_id"));
  return m;
}
Value AcquireReplicas::encode() const {
  FieldWriter w(kOp);
  w.put("who_has", who_has).put("nbytes", nbytes).put("stimulus_id", stimulus_id);
  return std::move(w).done();
}

Result<RemoveReplicas> RemoveReplicas::decode(const Value& msg) {
  return decode_keys_stimulus<RemoveReplicas>(msg);
}
Value RemoveReplicas::encode() const {
  return FieldWriter(kOp).put("keys", keys).put("stimulus_id", stimulus_id).done();
}

Result<RefreshWhoHas> RefreshWhoHas::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  RefreshWhoHas m;
  DASKCPP_ASSIGN_OR_RETURN(m.who_has, r.who_has("who_has"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.str("stimulus_id"));
  return m;
}
Value RefreshWhoHas::encode() const {
  return FieldWriter(kOp).put("who_has", who_has).put("stimulus_id", stimulus_id).done();
}

Result<RemoveWorker> RemoveWorker::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  RemoveWorker m;
  DASKCPP_ASSIGN_OR_RETURN(m.worker, r.str("worker"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.str("stimulus_id"));
  return m;
}
Value RemoveWorker::encode() const {
  return FieldWriter(kOp).put("worker", worker).put("stimulus_id", stimulus_id).done();
}

Result<CloseWorker> CloseWorker::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  CloseWorker m;
  DASKCPP_ASSIGN_OR_RETURN(m.reason, r.str("reason"));
  return m;
}
Value CloseWorker::encode() const {
  return FieldWriter(kOp).put("reason", reason).done();
}

}  // namespace daskcpp::protocol
