#pragma once
// Hex helpers for golden-byte protocol tests.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/bytes.hpp"

namespace daskcpp::test {

// "83 ab 63" or "83ab63" -> bytes; spaces and newlines are ignored.
inline std::vector<std::uint8_t> hex_vector(std::string_view hex) {
  auto nibble = [](char c) -> std::uint8_t {
    if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
    return static_cast<std::uint8_t>((c | 0x20) - 'a' + 10);
  };
  std::vector<std::uint8_t> out;
  int pending = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\n') continue;
    if (pending < 0) {
      pending = nibble(c);
    } else {
      out.push_back(static_cast<std::uint8_t>((pending << 4) | nibble(c)));
      pending = -1;
    }
  }
  return out;
}

inline Bytes hex_bytes(std::string_view hex) {
  return Bytes::from_vector(hex_vector(hex));
}

inline std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

inline std::string to_hex(const Bytes& b) { return to_hex(b.span()); }

}  // namespace daskcpp::test

#include <catch2/catch.hpp>

#include "protocol/status.hpp"

namespace Catch {
template <>
struct StringMaker<daskcpp::Status> {
  static std::string convert(const daskcpp::Status& s) { return s.to_string(); }
};
}  // namespace Catch
