#pragma once
// A short, escaped, printable sample of peer bytes for log lines about bad
// input (style.md §5: "one log line with the peer, op, key and a short escaped
// sample of the bytes").

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace daskcpp::protocol {

// Printable ASCII as is, everything else as \xHH; "..." when cut at max_bytes.
std::string escaped_sample(std::span<const std::uint8_t> bytes,
                           std::size_t max_bytes = 32);

}  // namespace daskcpp::protocol
