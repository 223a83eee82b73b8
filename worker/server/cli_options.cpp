#include "worker/server/cli_options.hpp"

#include <cctype>
#include <cmath>
#include <stdexcept>
#include <thread>

namespace daskcpp::worker {

std::string cli_usage() {
  return "Usage: daskcpp-worker [OPTIONS] [SCHEDULER]\n\n"
         "  --scheduler-file PATH   read the scheduler address from this JSON file\n"
         "  --nthreads N            executor threads (default 1)\n"
         "  --name NAME             unique worker name (default: its address)\n"
         "  --memory-limit BYTES    e.g. 4GB, 2GiB; spill at 60%/70%, pause at 80%; "
         "auto/0: none\n"
         "  --local-directory PATH  scratch directory\n"
         "  --host HOST             host to listen on and advertise\n"
         "  --worker-port PORT      port to listen on (default: random)\n"
         "  --death-timeout SECONDS give up reaching the scheduler after this long\n"
         "  --nanny / --no-nanny    run the worker under a nanny that restarts it\n"
         "                          (default --nanny)\n"
         "  --nworkers N            worker processes to start, each with its nanny\n"
         "                          (negative: CPU count + 1 + N)\n"
         "  --nanny-port PORT       port the nanny listens on (default: random)\n"
         "  --resources \"NAME=N ...\" abstract resources, e.g. \"GPU=2 MEM=10e9\"\n"
         "                          (for tasks submitted with resources=)\n"
         "  --log-level LEVEL       debug, info, warning, error\n";
}

Result<std::optional<std::int64_t>> parse_memory_limit(const std::string& text) {
  if (text.empty() || text == "auto" || text == "0") return std::optional<std::int64_t>{};
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) ||
                             text[i] == '.' || text[i] == 'e' || text[i] == 'E')) {
    ++i;
  }
  double number = 0;
  try {
    number = std::stod(text.substr(0, i));
  } catch (const std::exception&) {
    return Status::Invalid("--memory-limit: not a size: '" + text + "'");
  }
  std::string unit;
  for (char c : text.substr(i)) {
    if (!std::isspace(static_cast<unsigned char>(c)))
      unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  double scale = 1;
  if (unit.empty() || unit == "b") {
    scale = 1;
  } else if (unit == "kb" || unit == "k") {
    scale = 1e3;
  } else if (unit == "mb" || unit == "m") {
    scale = 1e6;
  } else if (unit == "gb" || unit == "g") {
    scale = 1e9;
  } else if (unit == "tb" || unit == "t") {
    scale = 1e12;
  } else if (unit == "kib") {
    scale = 1024.0;
  } else if (unit == "mib") {
    scale = 1024.0 * 1024;
  } else if (unit == "gib") {
    scale = 1024.0 * 1024 * 1024;
  } else if (unit == "tib") {
    scale = 1024.0 * 1024 * 1024 * 1024;
  } else {
    return Status::Invalid("--memory-limit: unknown unit '" + unit + "'");
  }
  if (number <= 1 && unit.empty()) {
    return std::optional<std::int64_t>{};  // a fraction of RAM: not supported yet
  }
  return std::optional<std::int64_t>{
      static_cast<std::int64_t>(std::llround(number * scale))};
}

Result<std::map<std::string, double>> parse_resources(const std::string& text) {
  std::map<std::string, double> out;
  std::string spaced = text;
  for (char& c : spaced) {
    if (c == ',') c = ' ';
  }
  std::size_t pos = 0;
  while (pos < spaced.size()) {
    if (std::isspace(static_cast<unsigned char>(spaced[pos]))) {
      ++pos;
      continue;
    }
    std::size_t end = pos;
    while (end < spaced.size() && !std::isspace(static_cast<unsigned char>(spaced[end])))
      ++end;
    std::string pair = spaced.substr(pos, end - pos);
    pos = end;
    std::size_t eq = pair.find('=');
    if (eq == 0 || eq == std::string::npos || pair.find('=', eq + 1) != std::string::npos)
      return Status::Invalid("--resources: expected NAME=number, got '" + pair + "'");
    std::string amount = pair.substr(eq + 1);
    try {
      std::size_t used = 0;
      double d = std::stod(amount, &used);
      if (used != amount.size() || !std::isfinite(d)) throw std::invalid_argument(amount);
      out[pair.substr(0, eq)] = d;
    } catch (const std::exception&) {
      return Status::Invalid("--resources: not a number in '" + pair + "'");
    }
  }
  return out;
}

Result<CliOptions> parse_cli_options(const std::vector<std::string>& args) {
  CliOptions o;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string arg = args[i];
    std::optional<std::string> inline_value;
    if (arg.rfind("--", 0) == 0) {
      if (auto eq = arg.find('='); eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    auto value = [&]() -> Result<std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) return Status::Invalid(arg + " needs a value");
      return args[++i];
    };
    auto number = [&](const std::string& v) -> Result<double> {
      try {
        std::size_t used = 0;
        double d = std::stod(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return d;
      } catch (const std::exception&) {
        return Status::Invalid(arg + ": not a number: '" + v + "'");
      }
    };
    if (arg == "-h" || arg == "--help") {
      o.show_help = true;
    } else if (arg == "--scheduler-file") {
      DASKCPP_ASSIGN_OR_RETURN(o.scheduler_file, value());
    } else if (arg == "--nthreads" || arg == "--nworkers-threads") {
      DASKCPP_ASSIGN_OR_RETURN(std::string v, value());
      DASKCPP_ASSIGN_OR_RETURN(double n, number(v));
      if (n < 1) return Status::Invalid("--nthreads must be at least 1");
      o.nthreads = static_cast<int>(n);
    } else if (arg == "--name") {
      DASKCPP_ASSIGN_OR_RETURN(std::string v, value());
      o.name = v;
    } else if (arg == "--memory-limit") {
      DASKCPP_ASSIGN_OR_RETURN(std::string v, value());
      DASKCPP_ASSIGN_OR_RETURN(o.memory_limit, parse_memory_limit(v));
    } else if (arg == "--local-directory") {
      DASKCPP_ASSIGN_OR_RETURN(o.local_directory, value());
    } else if (arg == "--host") {
      DASKCPP_ASSIGN_OR_RETURN(o.host, value());
    } else if (arg == "--worker-port") {
      DASKCPP_ASSIGN_OR_RETURN(std::string v, value());
      DASKCPP_ASSIGN_OR_RETURN(double p, number(v));
      if (p < 0 || p > 65535) return Status::Invalid("--worker-port out of range");
      o.port = static_cast<std::uint16_t>(p);
    } else if (arg == "--death-timeout") {
      DASKCPP_ASSIGN_OR_RETURN(std::string v, value());
      DASKCPP_ASSIGN_OR_RETURN(o.death_timeout_seconds, number(v));
    } else if (arg == "--resources") {
      DASKCPP_ASSIGN_OR_RETURN(std::string v, value());
      DASKCPP_ASSIGN_OR_RETURN(o.resources, parse_resources(v));
    } else if (arg == "--log-level") {
      DASKCPP_ASSIGN_OR_RETURN(o.log_level, value());
    } else if (arg == "--nanny") {
      o.nanny = true;
    } else if (arg == "--no-nanny") {
      o.nanny = false;
    } else if (arg == "--nworkers") {
      DASKCPP_ASSIGN_OR_RETURN(std::string v, value());
      DASKCPP_ASSIGN_OR_RETURN(double n, number(v));
      if (n < 0) n += static_cast<double>(std::thread::hardware_concurrency()) + 1;
      if (n < 1 || n > 1024) {
        return Status::Invalid(
            "Failed to launch worker. Must specify --nworkers so that there's at least "
            "one process.");
      }
      o.nworkers = static_cast<int>(n);
    } else if (arg == "--nanny-port") {
      DASKCPP_ASSIGN_OR_RETURN(std::string v, value());
      DASKCPP_ASSIGN_OR_RETURN(double p, number(v));
      if (p < 0 || p > 65535) return Status::Invalid("--nanny-port out of range");
      o.nanny_port = static_cast<std::uint16_t>(p);
    } else if (arg == "--nanny-address") {
      DASKCPP_ASSIGN_OR_RETURN(o.nanny_address, value());
    } else if (arg == "--nanny-ready-fd") {
      DASKCPP_ASSIGN_OR_RETURN(std::string v, value());
      DASKCPP_ASSIGN_OR_RETURN(double fd, number(v));
      if (fd < 0 || fd > 65535) return Status::Invalid("--nanny-ready-fd out of range");
      o.nanny_ready_fd = static_cast<int>(fd);
    } else if (arg == "--no-dashboard" || arg == "--dashboard") {
      // accepted for `dask worker` compatibility
    } else if (arg.rfind("-", 0) == 0) {
      return Status::Invalid("unknown option " + arg);
    } else if (o.scheduler_address.empty()) {
      o.scheduler_address = arg;
    } else {
      return Status::Invalid("unexpected argument " + arg);
    }
  }
  if (!o.show_help && o.scheduler_address.empty() && o.scheduler_file.empty()) {
    return Status::Invalid("need a scheduler address or --scheduler-file");
  }
  // The messages of distributed/cli/dask_worker.py main().
  if (o.nworkers > 1 && !o.nanny) {
    return Status::Invalid(
        "Failed to launch worker.  You cannot use the --no-nanny argument when "
        "n_workers > 1.");
  }
  if (o.nworkers > 1 && (o.port != 0 || o.nanny_port != 0)) {
    return Status::Invalid(
        "Failed to launch worker. --worker-port/--nanny-port with --nworkers > 1 "
        "(a port range) is not supported");
  }
  return o;
}

}  // namespace daskcpp::worker
