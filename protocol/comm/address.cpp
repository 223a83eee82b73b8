#include "protocol/comm/address.hpp"

#include <charconv>

namespace daskcpp::protocol {

namespace {

Result<std::uint16_t> parse_port(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      value > 65535) {
    return Status::Invalid("bad port in address '" + std::string(whole) + "'");
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

Result<Address> parse_address(std::string_view text,
                              std::optional<std::uint16_t> default_port) {
  std::string_view rest = text;
  if (auto pos = rest.find("://"); pos != std::string_view::npos) {
    std::string_view scheme = rest.substr(0, pos);
    if (scheme != "tcp") {
      return Status::NotImplemented("unsupported comm scheme '" + std::string(scheme) +
                                    "' in address '" + std::string(text) + "'");
    }
    rest.remove_prefix(pos + 3);
  }
  Address out;
  std::string_view port_text;
  bool has_port = false;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) {
      return Status::Invalid("unterminated '[' in address '" + std::string(text) + "'");
    }
    out.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Status::Invalid("expected ':' after ']' in address '" + std::string(text) +
                               "'");
      }
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && rest.find(':') != colon) {
      // Several colons without brackets: a bare IPv6 host, no port.
      out.host = std::string(rest);
    } else if (colon != std::string_view::npos) {
      out.host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
      has_port = true;
    } else {
      out.host = std::string(rest);
    }
  }
  if (has_port) {
    DASKCPP_ASSIGN_OR_RETURN(out.port, parse_port(port_text, text));
  } else if (default_port) {
    out.port = *default_port;
  } else {
    return Status::Invalid("missing port in address '" + std::string(text) + "'");
  }
  return out;
}

std::string format_address(std::string_view host, std::uint16_t port) {
  std::string out = "tcp://";
  if (host.find(':') != std::string_view::npos) {
    out += '[';
    out += host;
    out += ']';
  } else {
    out += host;
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

}  // namespace daskcpp::protocol
