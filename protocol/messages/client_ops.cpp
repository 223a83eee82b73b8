#include "protocol/messages/client_ops.hpp"

#include <utility>

#include "protocol/messages/timedelta.hpp"

namespace daskcpp::protocol {

// ---- client -> scheduler ------------------------------------------------------

Result<UpdateGraph> UpdateGraph::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  UpdateGraph m;
  DASKCPP_ASSIGN_OR_RETURN(m.expr_ser, r.any("expr_ser"));
  if (!m.expr_ser.is_payload()) return r.expected("expr_ser", "payload", m.expr_ser);
  DASKCPP_ASSIGN_OR_RETURN(m.keys, r.keys("keys", /*allow_set=*/true));
  DASKCPP_ASSIGN_OR_RETURN(Value prio, r.any("internal_priority"));
  if (!prio.is_nil()) {
    DASKCPP_ASSIGN_OR_RETURN(m.internal_priority, r.key_ints("internal_priority"));
  }
  DASKCPP_ASSIGN_OR_RETURN(m.submitting_task, r.key_or_nil("submitting_task"));
  DASKCPP_ASSIGN_OR_RETURN(m.fifo_timeout, r.any("fifo_timeout"));
  if (Result<double> t = parse_timedelta(m.fifo_timeout); !t.ok()) {
    return r.type_error("fifo_timeout", t.status().message());
  }
  DASKCPP_ASSIGN_OR_RETURN(m.actors, r.any("actors"));
  if (!m.actors.is_bool() && !m.actors.is_nil() && !m.actors.is_array()) {
    return r.expected("actors", "bool, nil or array", m.actors);
  }
  DASKCPP_ASSIGN_OR_RETURN(m.code, r.any("code"));
  DASKCPP_ASSIGN_OR_RETURN(m.annotations, r.any("annotations"));
  DASKCPP_ASSIGN_OR_RETURN(m.span_metadata, r.any("span_metadata"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.opt_str("stimulus_id"));
  DASKCPP_ASSIGN_OR_RETURN(m.client, r.opt_str("client"));
  return m;
}

Value UpdateGraph::encode() const {
  FieldWriter w(kOp);
  w.put("expr_ser", expr_ser).put_set("keys", keys);
  w.put("internal_priority", internal_priority).put("submitting_task", submitting_task);
  w.put("fifo_timeout", fifo_timeout).put("actors", actors).put("code", code);
  w.put("annotations", annotations).put("span_metadata", span_metadata);
  w.put_if("stimulus_id", stimulus_id).put_if("client", client);
  return w.done();
}

Result<double> UpdateGraph::fifo_timeout_seconds() const {
  return parse_timedelta(fifo_timeout);
}

template <typename Op>
Result<Op> decode_keys_client(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(Op::kOp, msg));
  Op m;
  DASKCPP_ASSIGN_OR_RETURN(m.keys, r.keys("keys"));
  DASKCPP_ASSIGN_OR_RETURN(m.client, r.opt_str("client"));
  return m;
}

Result<ClientDesiresKeys> ClientDesiresKeys::decode(const Value& msg) {
  return decode_keys_client<ClientDesiresKeys>(msg);
}
Value ClientDesiresKeys::encode() const {
  return FieldWriter(kOp).put("keys", keys).put_if("client", client).done();
}

Result<ClientReleasesKeys> ClientReleasesKeys::decode(const Value& msg) {
  return decode_keys_client<ClientReleasesKeys>(msg);
}
Value ClientReleasesKeys::encode() const {
  return FieldWriter(kOp).put("keys", keys).put_if("client", client).done();
}

Result<CancelKeys> CancelKeys::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  CancelKeys m;
  DASKCPP_ASSIGN_OR_RETURN(m.keys, r.keys("keys"));
  DASKCPP_ASSIGN_OR_RETURN(std::optional<bool> force, r.opt_bool("force"));
  m.force = force.value_or(false);
  DASKCPP_ASSIGN_OR_RETURN(m.reason, r.opt_str("reason"));
  DASKCPP_ASSIGN_OR_RETURN(m.msg, r.opt_str("msg"));
  DASKCPP_ASSIGN_OR_RETURN(m.client, r.opt_str("client"));
  return m;
}
Value CancelKeys::encode() const {
  FieldWriter w(kOp);
  w.put("keys", keys).put("force", force).put("reason", reason).put("msg", msg);
  w.put_if("client", client);
  return w.done();
}

Result<ReportKey> ReportKey::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  ReportKey m;
  DASKCPP_ASSIGN_OR_RETURN(m.key, r.key("key"));
  DASKCPP_ASSIGN_OR_RETURN(m.client, r.opt_str("client"));
  return m;
}
Value ReportKey::encode() const {
  return FieldWriter(kOp).put("key", key).put_if("client", client).done();
}

Result<UpdateDataStream> UpdateDataStream::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  UpdateDataStream m;
  DASKCPP_ASSIGN_OR_RETURN(m.who_has, r.who_has("who_has"));
  DASKCPP_ASSIGN_OR_RETURN(m.nbytes, r.key_ints("nbytes"));
  DASKCPP_ASSIGN_OR_RETURN(m.client, r.opt_str("client"));
  return m;
}
Value UpdateDataStream::encode() const {
  FieldWriter w(kOp);
  w.put("who_has", who_has).put("nbytes", nbytes).put_if("client", client);
  return w.done();
}

// ---- scheduler -> client ------------------------------------------------------

Result<StreamStart> StreamStart::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  StreamStart m;
  DASKCPP_ASSIGN_OR_RETURN(m.warning, r.str("warning"));
  DASKCPP_ASSIGN_OR_RETURN(m.error, r.str("error"));
  return m;
}
Value StreamStart::encode() const {
  return FieldWriter(kOp).put("warning", warning).put("error", error).done();
}

Result<KeyInMemory> KeyInMemory::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  KeyInMemory m;
  DASKCPP_ASSIGN_OR_RETURN(m.key, r.key("key"));
  m.type = r.opt_any("type");
  if (m.type && !m.type->is_bin() && !m.type->is_nil()) {
    return r.expected("type", "bin or nil", *m.type);
  }
  if (r.has("workers")) {
    DASKCPP_ASSIGN_OR_RETURN(m.workers, r.str_list("workers"));
  }
  return m;
}
Value KeyInMemory::encode() const {
  FieldWriter w(kOp);
  w.put("key", key).put_if("type", type).put_if("workers", workers);
  return w.done();
}

Result<ClientTaskErred> ClientTaskErred::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  ClientTaskErred m;
  DASKCPP_ASSIGN_OR_RETURN(m.key, r.key("key"));
  DASKCPP_ASSIGN_OR_RETURN(m.exception, r.any("exception"));
  m.traceback = r.opt_any("traceback");
  return m;
}
Value ClientTaskErred::encode() const {
  FieldWriter w(kOp);
  w.put("key", key).put("exception", exception).put_if("traceback", traceback);
  return w.done();
}

template <typename Op>
Result<Op> decode_key_only(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(Op::kOp, msg));
  Op m;
  DASKCPP_ASSIGN_OR_RETURN(m.key, r.key("key"));
  return m;
}

Result<LostData> LostData::decode(const Value& msg) {
  return decode_key_only<LostData>(msg);
}
Value LostData::encode() const { return FieldWriter(kOp).put("key", key).done(); }

Result<TaskRetried> TaskRetried::decode(const Value& msg) {
  return decode_key_only<TaskRetried>(msg);
}
Value TaskRetried::encode() const { return FieldWriter(kOp).put("key", key).done(); }

Result<CancelledKeys> CancelledKeys::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  CancelledKeys m;
  DASKCPP_ASSIGN_OR_RETURN(m.keys, r.keys("keys"));
  m.reason = r.opt_any("reason");
  m.msg = r.opt_any("msg");
  if (m.reason && !m.reason->is_str() && !m.reason->is_nil()) {
    return r.expected("reason", "str or nil", *m.reason);
  }
  if (m.msg && !m.msg->is_str() && !m.msg->is_nil()) {
    return r.expected("msg", "str or nil", *m.msg);
  }
  return m;
}
Value CancelledKeys::encode() const {
  FieldWriter w(kOp);
  w.put("keys", keys).put_if("reason", reason).put_if("msg", msg);
  return w.done();
}

Result<Event> Event::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  Event m;
  DASKCPP_ASSIGN_OR_RETURN(m.topic, r.any("topic"));
  DASKCPP_ASSIGN_OR_RETURN(m.event, r.any("event"));
  if (!m.event.is_array() || m.event.as_array().size() != 2) {
    return r.expected("event", "[timestamp, msg]", m.event);
  }
  return m;
}
Value Event::encode() const {
  return FieldWriter(kOp).put("topic", topic).put("event", event).done();
}

Result<AdjustHeartbeatInterval> AdjustHeartbeatInterval::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  AdjustHeartbeatInterval m;
  DASKCPP_ASSIGN_OR_RETURN(m.interval, r.number("interval"));
  return m;
}
Value AdjustHeartbeatInterval::encode() const {
  return FieldWriter(kOp).put("interval", interval).done();
}

}  // namespace daskcpp::protocol
