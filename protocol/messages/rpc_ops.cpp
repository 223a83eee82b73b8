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

Value register_worker_error_reply(std::string_view message, double time) {
  return FieldWriter()
      .put("status", "error")
      .put("message", message)
      .put("time", time)
      .done();
}

Value heartbeat_missing_reply() { return FieldWriter().put("status", "missing").done(); }

// ---- client -> scheduler ------------------------------------------------------

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

// ---- scheduler (or peer) -> worker --------------------------------------------

Status GetDataKeysField::decode(const FieldReader& r, GetData& op) const {
  DASKCPP_ASSIGN_OR_RETURN(op.keys, r.keys("keys", /*allow_set=*/true));
  op.keys_as_set = !r.find("keys")->is_array();
  return Status::OK();
}

void GetDataKeysField::encode(FieldWriter& w, const GetData& op,
                              std::string_view /*op_name*/) const {
  if (op.keys_as_set) {
    w.put_set("keys", op.keys);
  } else {
    w.put("keys", op.keys);
  }
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

}  // namespace daskcpp::protocol
