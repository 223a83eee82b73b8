#pragma once
// The connection handshake (protocol.md §2; distributed/comm/core.py
// Comm.handshake_info / handshake_configuration): both sides send one map
// {"compression", "python", "pickle-protocol"} and each computes the session
// settings on its own.

#include <cstdint>
#include <optional>
#include <string>

#include "protocol/codec/value.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

struct Handshake {
  std::optional<std::string> compression;                      // nil = none
  Value python = Value(Array{Value(3), Value(11), Value(2)});  // informational
  std::int64_t pickle_protocol = 5;

  // Both `compression` and `pickle-protocol` are required (upstream raises on a
  // missing one); `python` and extra keys are ignored.
  static Result<Handshake> decode(const Value& msg);
  Value encode() const;
  friend bool operator==(const Handshake&, const Handshake&) = default;
};

struct SessionSettings {
  std::optional<std::string> compression;
  std::int64_t pickle_protocol = 5;
  friend bool operator==(const SessionSettings&, const SessionSettings&) = default;
};

// handshake_configuration: pickle protocol = min of both, compression = ours if both
// agree, else none.
SessionSettings negotiate(const Handshake& local, const Handshake& remote);

}  // namespace daskcpp::protocol
