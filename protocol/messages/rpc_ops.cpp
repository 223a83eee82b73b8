#include "protocol/messages/rpc_ops.hpp"

#include <utility>

namespace daskcpp::protocol {
namespace {

Status require_map_at(const FieldReader& r, const Value& root, std::string_view path,
                      std::initializer_list<std::string_view> steps) {
  const Value* v = &root;
  std::string where(path);
  for (std::string_view step : steps) {
    const Value* next = v->is_map() ? v->find(step) : nullptr;
    where += ".";
    where += step;
    if (next == nullptr) return r.type_error(path, "missing '" + where + "'");
    v = next;
  }
  return Status::OK();
}

Status check_status(const FieldReader& r, std::string_view expected) {
  DASKCPP_ASSIGN_OR_RETURN(std::string status, r.str("status"));
  if (status != expected) {
    return r.type_error("status",
                        "expected '" + std::string(expected) + "', got '" + status + "'");
  }
  return Status::OK();
}

}  // namespace

Status check_worker_metrics(const FieldReader& r, const Value& m) {
  if (!m.is_map()) return r.expected("metrics", "map", m);
  for (auto steps :
       {std::initializer_list<std::string_view>{"bandwidth", "total"},
        std::initializer_list<std::string_view>{"bandwidth", "workers"},
        std::initializer_list<std::string_view>{"bandwidth", "types"},
        std::initializer_list<std::string_view>{"digests_total_since_heartbeat"},
        std::initializer_list<std::string_view>{"memory"},
        std::initializer_list<std::string_view>{"spilled_bytes", "memory"},
        std::initializer_list<std::string_view>{"spilled_bytes", "disk"}}) {
    DASKCPP_RETURN_NOT_OK(require_map_at(r, m, "metrics", steps));
  }
  const Value* bw = m.find("bandwidth");
  if (!bw->find("total")->is_number()) {
    return r.expected("metrics", "number at metrics.bandwidth.total", *bw->find("total"));
  }
  for (std::string_view field : {"workers", "types"}) {
    if (!bw->find(field)->is_map()) {
      return r.expected("metrics", "map at metrics.bandwidth." + std::string(field),
                        *bw->find(field));
    }
  }
  if (!m.find("digests_total_since_heartbeat")->is_map()) {
    return r.expected("metrics", "map at metrics.digests_total_since_heartbeat",
                      *m.find("digests_total_since_heartbeat"));
  }
  return Status::OK();
}

// ---- worker / nanny -> scheduler ----------------------------------------------

Result<RegisterWorker> RegisterWorker::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  RegisterWorker m;
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  DASKCPP_ASSIGN_OR_RETURN(m.address, r.str("address"));
  DASKCPP_ASSIGN_OR_RETURN(m.status, r.str("status"));
  DASKCPP_ASSIGN_OR_RETURN(m.nthreads, r.int64("nthreads"));
  DASKCPP_ASSIGN_OR_RETURN(m.name, r.any("name"));
  if (!m.name.is_str() && !m.name.is_int())
    return r.expected("name", "str or int", m.name);
  DASKCPP_ASSIGN_OR_RETURN(m.now, r.number("now"));
  DASKCPP_ASSIGN_OR_RETURN(m.resources, r.map("resources"));
  DASKCPP_ASSIGN_OR_RETURN(m.memory_limit, r.int_or_nil("memory_limit"));
  DASKCPP_ASSIGN_OR_RETURN(m.local_directory, r.str("local_directory"));
  DASKCPP_ASSIGN_OR_RETURN(m.services, r.map("services"));
  DASKCPP_ASSIGN_OR_RETURN(m.nanny, r.str_or_nil("nanny"));
  if (r.has("pid")) {
    DASKCPP_ASSIGN_OR_RETURN(m.pid, r.int_or_nil("pid"));
  }
  DASKCPP_ASSIGN_OR_RETURN(m.versions, r.map("versions"));
  DASKCPP_ASSIGN_OR_RETURN(m.metrics, r.any("metrics"));
  DASKCPP_RETURN_NOT_OK(check_worker_metrics(r, m.metrics));
  DASKCPP_ASSIGN_OR_RETURN(m.extra, r.map("extra"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.str("stimulus_id"));
  DASKCPP_ASSIGN_OR_RETURN(m.server_id, r.str("server_id"));
  return m;
}

Value RegisterWorker::encode() const {
  FieldWriter w(kOp);
  w.put_if("reply", reply).put("address", address).put("status", status);
  w.put("nthreads", nthreads).put("name", name).put("now", now);
  w.put("resources", resources).put("memory_limit", memory_limit);
  w.put("local_directory", local_directory).put("services", services);
  w.put("nanny", nanny).put_if("pid", pid).put("versions", versions);
  w.put("metrics", metrics).put("extra", extra).put("stimulus_id", stimulus_id);
  w.put("server_id", server_id);
  return w.done();
}

Result<HeartbeatWorker> HeartbeatWorker::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  HeartbeatWorker m;
  DASKCPP_ASSIGN_OR_RETURN(m.address, r.str("address"));
  DASKCPP_ASSIGN_OR_RETURN(m.now, r.number("now"));
  DASKCPP_ASSIGN_OR_RETURN(m.metrics, r.any("metrics"));
  DASKCPP_RETURN_NOT_OK(check_worker_metrics(r, m.metrics));
  m.executing = r.opt_any("executing").value_or(Value());
  if (!m.executing.is_nil() && !m.executing.is_map()) {
    return r.expected("executing", "map or nil", m.executing);
  }
  m.extensions = r.opt_any("extensions").value_or(Value());
  if (!m.extensions.is_nil() && !m.extensions.is_map()) {
    return r.expected("extensions", "map or nil", m.extensions);
  }
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  return m;
}

Value HeartbeatWorker::encode() const {
  FieldWriter w(kOp);
  w.put("address", address).put("now", now).put("metrics", metrics);
  w.put("executing", executing).put("extensions", extensions).put_if("reply", reply);
  return w.done();
}

Result<Unregister> Unregister::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  Unregister m;
  DASKCPP_ASSIGN_OR_RETURN(m.address, r.str("address"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.opt_str("stimulus_id"));
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  return m;
}
Value Unregister::encode() const {
  FieldWriter w(kOp);
  w.put("address", address).put_if("stimulus_id", stimulus_id).put_if("reply", reply);
  return w.done();
}

Result<RegisterNanny> RegisterNanny::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  RegisterNanny m;
  DASKCPP_ASSIGN_OR_RETURN(m.address, r.str("address"));
  return m;
}
Value RegisterNanny::encode() const {
  return FieldWriter(kOp).put("address", address).done();
}

Result<RegisterWorkerReply> RegisterWorkerReply::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r,
                           FieldReader::open("register-worker reply", msg));
  DASKCPP_RETURN_NOT_OK(check_status(r, "OK"));
  RegisterWorkerReply m;
  DASKCPP_ASSIGN_OR_RETURN(m.time, r.number("time"));
  DASKCPP_ASSIGN_OR_RETURN(m.heartbeat_interval, r.number("heartbeat-interval"));
  DASKCPP_ASSIGN_OR_RETURN(m.worker_plugins, r.map("worker-plugins"));
  DASKCPP_ASSIGN_OR_RETURN(m.warning, r.str("warning"));
  DASKCPP_ASSIGN_OR_RETURN(m.error, r.str("error"));
  return m;
}
Value RegisterWorkerReply::encode() const {
  FieldWriter w;
  w.put("status", "OK").put("time", time).put("heartbeat-interval", heartbeat_interval);
  w.put("worker-plugins", worker_plugins).put("warning", warning).put("error", error);
  return w.done();
}

Value register_worker_error_reply(std::string_view message, double time) {
  return FieldWriter()
      .put("status", "error")
      .put("message", message)
      .put("time", time)
      .done();
}

Result<HeartbeatReply> HeartbeatReply::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r,
                           FieldReader::open("heartbeat_worker reply", msg));
  DASKCPP_RETURN_NOT_OK(check_status(r, "OK"));
  HeartbeatReply m;
  DASKCPP_ASSIGN_OR_RETURN(m.time, r.number("time"));
  DASKCPP_ASSIGN_OR_RETURN(m.heartbeat_interval, r.number("heartbeat-interval"));
  return m;
}
Value HeartbeatReply::encode() const {
  FieldWriter w;
  w.put("status", "OK").put("time", time).put("heartbeat-interval", heartbeat_interval);
  return w.done();
}

Value heartbeat_missing_reply() { return FieldWriter().put("status", "missing").done(); }

// ---- client -> scheduler ------------------------------------------------------

Result<RegisterClient> RegisterClient::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  RegisterClient m;
  DASKCPP_ASSIGN_OR_RETURN(m.client, r.str("client"));
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  DASKCPP_ASSIGN_OR_RETURN(m.versions, r.map("versions"));
  return m;
}
Value RegisterClient::encode() const {
  FieldWriter w(kOp);
  w.put("client", client).put_if("reply", reply).put("versions", versions);
  return w.done();
}

Result<Identity> Identity::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  Identity m;
  if (r.has("n_workers")) {
    DASKCPP_ASSIGN_OR_RETURN(m.n_workers, r.int64("n_workers"));
  }
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  return m;
}
Value Identity::encode() const {
  return FieldWriter(kOp).put_if("n_workers", n_workers).put_if("reply", reply).done();
}

Result<Gather> Gather::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  Gather m;
  DASKCPP_ASSIGN_OR_RETURN(m.keys, r.keys("keys"));
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  return m;
}
Value Gather::encode() const {
  return FieldWriter(kOp).put("keys", keys).put_if("reply", reply).done();
}

Result<GatherReply> GatherReply::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open("gather reply", msg));
  DASKCPP_ASSIGN_OR_RETURN(std::string status, r.str("status"));
  GatherReply m;
  if (status == "OK") {
    DASKCPP_ASSIGN_OR_RETURN(m.data, r.key_values("data"));
  } else if (status == "error") {
    m.ok = false;
    DASKCPP_ASSIGN_OR_RETURN(m.missing, r.keys("keys"));
  } else {
    return r.type_error("status", "expected 'OK' or 'error', got '" + status + "'");
  }
  return m;
}
Value GatherReply::encode() const {
  if (ok) return FieldWriter().put("status", "OK").put("data", data).done();
  return FieldWriter().put("status", "error").put("keys", missing).done();
}

Result<WhoHasRequest> WhoHasRequest::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  WhoHasRequest m;
  if (r.has("keys")) {
    DASKCPP_ASSIGN_OR_RETURN(m.keys, r.keys_or_nil("keys"));
  }
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  return m;
}
Value WhoHasRequest::encode() const {
  return FieldWriter(kOp).put("keys", keys).put_if("reply", reply).done();
}

Result<NbytesRequest> NbytesRequest::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  NbytesRequest m;
  if (r.has("keys")) {
    DASKCPP_ASSIGN_OR_RETURN(m.keys, r.keys_or_nil("keys"));
  }
  DASKCPP_ASSIGN_OR_RETURN(std::optional<bool> summary, r.opt_bool("summary"));
  m.summary = summary.value_or(true);
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  return m;
}
Value NbytesRequest::encode() const {
  FieldWriter w(kOp);
  w.put("keys", keys).put("summary", summary).put_if("reply", reply);
  return w.done();
}

Result<Scatter> Scatter::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  Scatter m;
  DASKCPP_ASSIGN_OR_RETURN(m.data, r.key_values("data"));
  if (r.has("workers")) {
    DASKCPP_ASSIGN_OR_RETURN(m.workers, r.str_list_or_nil("workers"));
  }
  DASKCPP_ASSIGN_OR_RETURN(m.client, r.opt_str("client"));
  if (r.has("broadcast")) {
    DASKCPP_ASSIGN_OR_RETURN(m.broadcast, r.any("broadcast"));
    if (!m.broadcast.is_bool() && !m.broadcast.is_int()) {
      return r.expected("broadcast", "bool or int", m.broadcast);
    }
  }
  if (r.has("timeout")) {
    DASKCPP_ASSIGN_OR_RETURN(m.timeout, r.number_value("timeout"));
  }
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  return m;
}
Value Scatter::encode() const {
  FieldWriter w(kOp);
  w.put("data", data).put("workers", workers).put("client", client);
  w.put("broadcast", broadcast).put("timeout", timeout).put_if("reply", reply);
  return w.done();
}

Result<SchedulerUpdateData> SchedulerUpdateData::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  SchedulerUpdateData m;
  DASKCPP_ASSIGN_OR_RETURN(m.who_has, r.who_has("who_has"));
  DASKCPP_ASSIGN_OR_RETURN(m.nbytes, r.key_ints("nbytes"));
  DASKCPP_ASSIGN_OR_RETURN(m.client, r.opt_str("client"));
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  return m;
}
Value SchedulerUpdateData::encode() const {
  FieldWriter w(kOp);
  w.put("who_has", who_has).put("nbytes", nbytes).put_if("client", client);
  w.put_if("reply", reply);
  return w.done();
}

Result<Retry> Retry::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  Retry m;
  DASKCPP_ASSIGN_OR_RETURN(m.keys, r.keys("keys"));
  DASKCPP_ASSIGN_OR_RETURN(m.client, r.opt_str("client"));
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  return m;
}
Value Retry::encode() const {
  FieldWriter w(kOp);
  w.put("keys", keys).put_if("client", client).put_if("reply", reply);
  return w.done();
}

Result<RestartRequest> RestartRequest::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  RestartRequest m;
  DASKCPP_ASSIGN_OR_RETURN(m.timeout, r.number_value("timeout"));
  DASKCPP_ASSIGN_OR_RETURN(std::optional<bool> wait, r.opt_bool("wait_for_workers"));
  m.wait_for_workers = wait.value_or(true);
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.opt_str("stimulus_id"));
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  return m;
}
Value RestartRequest::encode() const {
  FieldWriter w(kOp);
  w.put("timeout", timeout).put("wait_for_workers", wait_for_workers);
  w.put_if("stimulus_id", stimulus_id).put_if("reply", reply);
  return w.done();
}

// ---- scheduler (or peer) -> worker --------------------------------------------

Result<GetData> GetData::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  GetData m;
  DASKCPP_ASSIGN_OR_RETURN(m.keys, r.keys("keys", /*allow_set=*/true));
  m.keys_as_set = !r.find("keys")->is_array();
  DASKCPP_ASSIGN_OR_RETURN(m.who, r.str_or_nil("who"));
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  return m;
}
Value GetData::encode() const {
  FieldWriter w(kOp);
  if (keys_as_set) {
    w.put_set("keys", keys);
  } else {
    w.put("keys", keys);
  }
  w.put("who", who).put_if("reply", reply);
  return w.done();
}

Result<GetDataReply> GetDataReply::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open("get_data reply", msg));
  DASKCPP_ASSIGN_OR_RETURN(std::string status, r.str("status"));
  GetDataReply m;
  if (status == "busy") {
    m.busy = true;
  } else if (status == "OK") {
    DASKCPP_ASSIGN_OR_RETURN(m.data, r.key_values("data"));
  } else {
    return r.type_error("status", "expected 'OK' or 'busy', got '" + status + "'");
  }
  return m;
}
Value GetDataReply::encode() const {
  if (busy) return FieldWriter().put("status", "busy").done();
  return FieldWriter().put("status", "OK").put("data", data).done();
}

Value ok_ack() { return Value("OK"); }
bool is_ok_ack(const Value& v) { return v.is_str() && v.as_str() == "OK"; }

Result<WorkerUpdateData> WorkerUpdateData::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open(kOp, msg));
  WorkerUpdateData m;
  DASKCPP_ASSIGN_OR_RETURN(m.data, r.key_values("data"));
  DASKCPP_ASSIGN_OR_RETURN(m.stimulus_id, r.opt_str("stimulus_id"));
  DASKCPP_ASSIGN_OR_RETURN(m.reply, r.opt_bool("reply"));
  return m;
}
Value WorkerUpdateData::encode() const {
  FieldWriter w(kOp);
  w.put("data", data).put_if("stimulus_id", stimulus_id).put_if("reply", reply);
  return w.done();
}

Result<WorkerUpdateDataReply> WorkerUpdateDataReply::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open("update_data reply", msg));
  DASKCPP_RETURN_NOT_OK(check_status(r, "OK"));
  WorkerUpdateDataReply m;
  DASKCPP_ASSIGN_OR_RETURN(m.nbytes, r.key_ints("nbytes"));
  return m;
}
Value WorkerUpdateDataReply::encode() const {
  return FieldWriter().put("nbytes", nbytes).put("status", "OK").done();
}

}  // namespace daskcpp::protocol
