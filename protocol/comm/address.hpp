#pragma once
// Dask addresses: "tcp://HOST:PORT", IPv6 hosts bracketed ("tcp://[::1]:8786")
// (protocol.md §1.1; upstream distributed/comm/addressing.py parse_address /
// unparse_host_port). Pure string handling, no sockets.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/status.hpp"

namespace daskcpp::protocol {

inline constexpr std::uint16_t kDefaultSchedulerPort = 8786;

struct Address {
  std::string host;  // without brackets
  std::uint16_t port = 0;
  friend bool operator==(const Address&, const Address&) = default;
};

// Accepts "tcp://host:port", "host:port", "[v6]:port"; a missing port takes
// `default_port` when given. Other schemes (tls://, inproc://) are NotImplemented.
Result<Address> parse_address(std::string_view text,
                              std::optional<std::uint16_t> default_port = std::nullopt);

// "tcp://host:port", bracketing hosts that contain ':'.
std::string format_address(std::string_view host, std::uint16_t port);
inline std::string format_address(const Address& a) {
  return format_address(a.host, a.port);
}

}  // namespace daskcpp::protocol
