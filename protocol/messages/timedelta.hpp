#pragma once
// parse_timedelta: port of dask.utils.parse_timedelta for the timedelta fields peers
// send as strings or numbers (update-graph.fifo_timeout "100 ms"/"60s",
// Variable.set timeout "30 s"; protocol.md Appendix A).

#include <optional>
#include <string_view>

#include "protocol/codec/value.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// Seconds. Spaces are removed; a missing leading digit gets an implied 1 (so "ms" is
// 1 ms and ".5s" is 1.5 s, as upstream); units s/ms/us/ns/m/h/d/w and the long names
// (second(s), millisecond(s), ..., week(s)), case-insensitive; no unit = seconds.
// Invalid text -> Invalid status with upstream's wording.
Result<double> parse_timedelta(std::string_view s);
// A str is parsed, a number is taken as seconds; anything else is a TypeError.
Result<double> parse_timedelta(const Value& v);
// An optional timeout argument: absent or nil -> nullopt, else parse_timedelta(*v).
Result<std::optional<double>> parse_optional_timedelta(const Value* v);

}  // namespace daskcpp::protocol
