#include "scheduler/server/cli_options.hpp"

#include <charconv>

#include "protocol/messages/timedelta.hpp"

namespace daskcpp::scheduler {

namespace {

Result<std::uint16_t> parse_port(const std::string& text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      value > 65535) {
    return Status::Invalid("--port: expected 0..65535, got '" + text + "'");
  }
  return static_cast<std::uint16_t>(value);
}

bool valid_log_level(const std::string& level) {
  for (const char* name :
       {"trace", "debug", "info", "warning", "warn", "error", "critical", "off"}) {
    if (level == name) return true;
  }
  return false;
}

// Stock's click errors for trailing arguments without a --preload to take them
// (preloading.validate_preload_argv; its checks of a click dask_setup's argv run in
// Python at startup).
Status unexpected_arguments(const CliOptions& out) {
  for (const std::string& a : out.preload_argv) {
    if (a.rfind('-', 0) == 0) return Status::Invalid("No such option '" + a + "'.");
  }
  std::string joined;
  for (const std::string& a : out.preload_argv) joined += (joined.empty() ? "" : " ") + a;
  return Status::Invalid(
      std::string("Got unexpected extra argument") +
      (out.preload_argv.size() > 1 ? "s" : "") + ": (" + joined +
      "). If you intended these as values for a --preload module, list --preload "
      "before them. Otherwise check spelling -- see '--help' for valid options.");
}

}  // namespace

Result<CliOptions> parse_cli_options(const std::vector<std::string>& args) {
  CliOptions out;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto value = [&]() -> Result<std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) return Status::Invalid(name + ": missing value");
      return args[++i];
    };
    if (name == "--help" || name == "-h") {
      out.show_help = true;
    } else if (name == "--version") {
      out.show_version = true;
    } else if (name == "--host") {
      DASKCPP_ASSIGN_OR_RETURN(out.host, value());
    } else if (name == "--port") {
      DASKCPP_ASSIGN_OR_RETURN(std::string v, value());
      DASKCPP_ASSIGN_OR_RETURN(out.port, parse_port(v));
    } else if (name == "--scheduler-file") {
      DASKCPP_ASSIGN_OR_RETURN(out.scheduler_file, value());
    } else if (name == "--pid-file") {
      DASKCPP_ASSIGN_OR_RETURN(out.pid_file, value());
    } else if (name == "--idle-timeout") {
      DASKCPP_ASSIGN_OR_RETURN(std::string v, value());
      Result<double> seconds = protocol::parse_timedelta(std::string_view(v));
      if (!seconds.ok()) return seconds.status().with_context("--idle-timeout");
      out.idle_timeout_seconds = *seconds;
    } else if (name == "--dashboard-address") {
      DASKCPP_ASSIGN_OR_RETURN(out.dashboard_address, value());
    } else if (name == "--dashboard") {
      out.dashboard = true;
    } else if (name == "--no-dashboard") {
      out.dashboard = false;
    } else if (name == "--python") {
      DASKCPP_ASSIGN_OR_RETURN(out.python, value());
    } else if (name == "--preload") {
      DASKCPP_ASSIGN_OR_RETURN(std::string v, value());
      out.preload.push_back(std::move(v));
    } else if (name == "--log-level") {
      DASKCPP_ASSIGN_OR_RETURN(out.log_level, value());
      if (!valid_log_level(out.log_level)) {
        return Status::Invalid("--log-level: unknown level '" + out.log_level + "'");
      }
    } else {
      // Stock's click command ignores unknown options: they and any positional
      // argument, wherever they stand, are the preloads' argv (`preload_argv`).
      out.preload_argv.push_back(args[i]);
    }
  }
  if (!out.preload_argv.empty() && out.preload.empty()) return unexpected_arguments(out);
  return out;
}

std::string cli_usage() {
  return "Usage: daskcpp-scheduler [OPTIONS] [PRELOAD_ARGV]...\n"
         "\n"
         "  --host TEXT               address to listen on (default: all interfaces)\n"
         "  --port INTEGER            port to listen on (default 8786; 0 = any free)\n"
         "  --scheduler-file PATH     write connection information to this JSON file\n"
         "  --pid-file PATH           write the process id to this file\n"
         "  --idle-timeout TEXT       shut down after this long without clients\n"
         "  --dashboard-address TEXT  dashboard address (default :8787)\n"
         "  --dashboard/--no-dashboard\n"
         "  --python PATH             python of the environment that unpickles graphs\n"
         "                            (default: $DASKCPP_PYTHON, else the build's venv)\n"
         "  --log-level LEVEL         trace|debug|info|warning|error|critical\n"
         "  --preload TEXT            module, .py file or source run as a scheduler\n"
         "                            preload (repeatable); options not listed here\n"
         "                            and positional arguments are its argv\n"
         "  --version, --help\n";
}

}  // namespace daskcpp::scheduler
