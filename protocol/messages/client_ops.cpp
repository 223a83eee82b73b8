#include "protocol/messages/client_ops.hpp"

#include "protocol/messages/timedelta.hpp"

namespace daskcpp::protocol {

Status check_fifo_timeout(const FieldReader& r, std::string_view field, const Value& v) {
  if (Result<double> t = parse_timedelta(v); !t.ok()) {
    return r.type_error(field, t.status().message());
  }
  return Status::OK();
}

Result<double> UpdateGraph::fifo_timeout_seconds() const {
  return parse_timedelta(fifo_timeout);
}

}  // namespace daskcpp::protocol
