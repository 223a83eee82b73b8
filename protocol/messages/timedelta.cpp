#include "protocol/messages/timedelta.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>

namespace daskcpp::protocol {
namespace {

struct Unit {
  std::string_view name;
  double seconds;
};

// dask.utils.timedelta_sizes (the upper-case copies are covered by lower-casing).
constexpr Unit kUnits[] = {
    {"s", 1},
    {"ms", 1e-3},
    {"us", 1e-6},
    {"ns", 1e-9},
    {"m", 60},
    {"h", 3600},
    {"d", 3600 * 24},
    {"w", 7 * 3600 * 24},
    {"second", 1},
    {"minute", 60},
    {"hour", 3600},
    {"day", 3600 * 24},
    {"week", 7 * 3600 * 24},
    {"millisecond", 1e-3},
    {"microsecond", 1e-6},
    {"nanosecond", 1e-9},
    {"seconds", 1},
    {"minutes", 60},
    {"hours", 3600},
    {"days", 3600 * 24},
    {"weeks", 7 * 3600 * 24},
    {"milliseconds", 1e-3},
    {"microseconds", 1e-6},
    {"nanoseconds", 1e-9},
};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Python's float(text) for the characters that can reach it here: digits, '.', an
// exponent, underscores between digits, surrounding whitespace.
Result<double> python_float(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r\v\f";
  std::size_t b = text.find_first_not_of(kSpace);
  std::size_t e = text.find_last_not_of(kSpace);
  std::string_view t = b == std::string_view::npos ? "" : text.substr(b, e - b + 1);
  std::string clean;
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '_') {
      if (i == 0 || i + 1 == t.size() || !is_digit(t[i - 1]) || !is_digit(t[i + 1])) {
        clean.clear();
        break;
      }
      continue;
    }
    if (!is_digit(c) && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-') {
      clean.clear();
      break;
    }
    clean += c;
  }
  if (!clean.empty()) {
    errno = 0;
    char* end = nullptr;
    double d = std::strtod(clean.c_str(), &end);
    if (end == clean.c_str() + clean.size()) return d;
  }
  return Status::Invalid("could not convert string to float: '" + std::string(text) +
                         "'");
}

}  // namespace

Result<double> parse_timedelta(std::string_view input) {
  std::string s;
  for (char c : input) {
    if (c != ' ') s += c;
  }
  if (s.empty()) return Status::Invalid("parse_timedelta: empty string");
  if (!is_digit(s[0])) s.insert(s.begin(), '1');
  std::size_t index = s.size();
  while (index > 0 && is_alpha(s[index - 1])) --index;
  std::string prefix = s.substr(0, index);
  std::string suffix = s.substr(index);
  if (suffix.empty()) suffix = "seconds";
  DASKCPP_ASSIGN_OR_RETURN(double n, python_float(prefix));
  std::string lower;
  for (char c : suffix)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const Unit& u : kUnits) {
    if (u.name == lower) return n * u.seconds;
  }
  return Status::Invalid("Invalid time unit: " + suffix);
}

Result<double> parse_timedelta(const Value& v) {
  if (v.is_str()) return parse_timedelta(std::string_view(v.as_str()));
  if (v.is_number()) return v.as_double();
  return Status::TypeError(std::string("timedelta must be str or number, got ") +
                           type_name(v.type()));
}

Result<std::optional<double>> parse_optional_timedelta(const Value* v) {
  if (v == nullptr || v->is_nil()) return std::optional<double>();
  DASKCPP_ASSIGN_OR_RETURN(double seconds, parse_timedelta(*v));
  return std::optional<double>(seconds);
}

}  // namespace daskcpp::protocol
