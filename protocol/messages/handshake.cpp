#include "protocol/messages/handshake.hpp"

#include <algorithm>

#include "protocol/messages/field_reader.hpp"

namespace daskcpp::protocol {

Result<Handshake> Handshake::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open("handshake", msg));
  Handshake h;
  DASKCPP_ASSIGN_OR_RETURN(h.compression, r.str_or_nil("compression"));
  h.python = r.opt_any("python").value_or(Value());
  DASKCPP_ASSIGN_OR_RETURN(h.pickle_protocol, r.int64("pickle-protocol"));
  return h;
}

Value Handshake::encode() const {
  FieldWriter w;
  w.put("compression", compression).put("python", python);
  w.put("pickle-protocol", pickle_protocol);
  return w.done();
}

SessionSettings negotiate(const Handshake& local, const Handshake& remote) {
  SessionSettings s;
  s.pickle_protocol = std::min(local.pickle_protocol, remote.pickle_protocol);
  if (local.compression == remote.compression) s.compression = local.compression;
  return s;
}

}  // namespace daskcpp::protocol
