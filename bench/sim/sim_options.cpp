#include "bench/sim/sim_options.hpp"

#include <charconv>

namespace daskcpp::bench {

namespace {

Result<std::int64_t> parse_int(const std::string& flag, const std::string& text,
                               std::int64_t min, std::int64_t max) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::Invalid(flag + ": expected an integer, got '" + text + "'");
  }
  if (value < min || value > max) {
    return Status::Invalid(flag + ": " + text + " is outside [" + std::to_string(min) +
                           ", " + std::to_string(max) + "]");
  }
  return value;
}

}  // namespace

std::string sim_usage() {
  return "usage: daskcpp-simworker SCHEDULER_ADDRESS --workers N [--nthreads T (1)]\n"
         "         [--compute-ms MS (0)] [--host 127.0.0.1] [--name-prefix sim]\n"
         "         [--log-level warning]\n"
         "Hosts N simulated workers in one process; every task returns None.\n"
         "Prints 'simworker ready N' once all N are registered.\n";
}

Result<SimOptions> parse_sim_options(const std::vector<std::string>& args) {
  SimOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      o.help = true;
      return o;
    }
    if (a.rfind("--", 0) != 0) {
      if (!o.scheduler_address.empty()) {
        return Status::Invalid("unexpected argument '" + a + "'");
      }
      o.scheduler_address = a;
      continue;
    }
    if (i + 1 >= args.size()) return Status::Invalid(a + ": missing value");
    const std::string& v = args[++i];
    if (a == "--workers") {
      DASKCPP_ASSIGN_OR_RETURN(std::int64_t n, parse_int(a, v, 1, 100'000));
      o.workers = static_cast<int>(n);
    } else if (a == "--nthreads") {
      DASKCPP_ASSIGN_OR_RETURN(std::int64_t n, parse_int(a, v, 1, 10'000));
      o.nthreads = static_cast<int>(n);
    } else if (a == "--compute-ms") {
      DASKCPP_ASSIGN_OR_RETURN(o.compute_ms, parse_int(a, v, 0, 86'400'000));
    } else if (a == "--host") {
      o.host = v;
    } else if (a == "--name-prefix") {
      o.name_prefix = v;
    } else if (a == "--log-level") {
      o.log_level = v;
    } else {
      return Status::Invalid("unknown option '" + a + "'");
    }
  }
  if (o.scheduler_address.empty()) return Status::Invalid("missing SCHEDULER_ADDRESS");
  if (o.workers == 0) return Status::Invalid("--workers: required");
  return o;
}

}  // namespace daskcpp::bench
