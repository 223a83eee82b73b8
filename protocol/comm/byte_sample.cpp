#include "protocol/comm/byte_sample.hpp"

#include <algorithm>

namespace daskcpp::protocol {

std::string escaped_sample(std::span<const std::uint8_t> bytes, std::size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::size_t n = std::min(bytes.size(), max_bytes);
  out.reserve(n * 4 + 3);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t b = bytes[i];
    if (b >= 0x20 && b < 0x7f && b != '\\') {
      out += static_cast<char>(b);
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    }
  }
  if (bytes.size() > n) out += "...";
  return out;
}

}  // namespace daskcpp::protocol
