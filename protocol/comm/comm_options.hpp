#pragma once
// Tunables of one comm (protocol.md §1.3, Appendix A). Defaults mirror
// distributed.yaml; the scheduler fills them from its config.

#include <chrono>
#include <cstdint>

#include "protocol/codec/message_codec.hpp"
#include "protocol/framing/frame_decoder.hpp"

namespace daskcpp::protocol {

struct CommOptions {
  FrameLimits frame_limits;
  DecodeLimits decode_limits;
  // distributed.comm.timeouts.connect: bounds the handshake read as well.
  std::chrono::milliseconds handshake_timeout{30'000};
  // distributed.comm.timeouts.tcp: keepalive probes and TCP_USER_TIMEOUT.
  std::chrono::seconds tcp_timeout{30};
  // Pickle protocol we advertise: 5, or 4 on connections the scheduler initiates
  // (protocol.md §2 "Scheduler overrides").
  int pickle_protocol = 5;
  // Bytes queued behind the write in flight before write() refuses (the peer is
  // not reading); Beast's advanced server `queue_limit`.
  std::uint64_t max_queued_write_bytes = 1ull << 30;
};

}  // namespace daskcpp::protocol
