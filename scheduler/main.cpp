// daskcpp-scheduler: a drop-in for `dask scheduler` (architecture.md).
// Parses the command line, sets up logging, runs the SchedulerServer on this
// thread until SIGINT/SIGTERM, `terminate` or the idle timeout.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocol/comm/address.hpp"
#include "scheduler/server/cli_options.hpp"
#include "scheduler/server/dask_config.hpp"
#include "scheduler/server/scheduler_server.hpp"

namespace {

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("daskcpp.scheduler");
  // Shaped like upstream's "%(asctime)s - %(name)s - %(levelname)s - %(message)s".
  logger->set_pattern("%Y-%m-%d %H:%M:%S,%e - %n - %^%l%$ - %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level == "warning" ? "warn" : level));
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace daskcpp;
  std::vector<std::string> args(argv, argv + argc);
  Result<scheduler::CliOptions> cli = scheduler::parse_cli_options(args);
  if (!cli.ok()) {
    std::fprintf(stderr, "Error: %s\n\n%s", cli.status().message().c_str(),
                 scheduler::cli_usage().c_str());
    return 2;
  }
  if (cli->show_help) {
    std::fputs(scheduler::cli_usage().c_str(), stdout);
    return 0;
  }
  if (cli->show_version) {
    std::puts("daskcpp-scheduler 0.1.0");
    return 0;
  }
  setup_logging(cli->log_level);

  scheduler::SchedulerOptions options;
  options.host = cli->host;
  options.port = cli->port;
  options.scheduler_file = cli->scheduler_file;
  options.pid_file = cli->pid_file;
  options.idle_timeout_seconds = cli->idle_timeout_seconds;
  options.dashboard = cli->dashboard;
  Result<scheduler::SchedulerSettings> settings = scheduler::load_scheduler_settings();
  if (!settings.ok()) {
    spdlog::critical("{}", settings.status().message());
    return 2;
  }
  options.config = settings->config;
  options.worker_ttl_seconds = settings->worker_ttl_seconds;
  options.log_length = settings->log_length;
  options.python_executable = cli->python;
  options.preload = cli->preload;
  options.preload_argv = cli->preload_argv;
  if (options.python_executable.empty()) {
    if (const char* env = std::getenv("DASKCPP_PYTHON")) options.python_executable = env;
  }
  if (cli->dashboard) {
    Result<protocol::Address> dash =
        protocol::parse_address(cli->dashboard_address, 8787);
    if (!dash.ok()) {
      spdlog::critical("--dashboard-address: {}", dash.status().message());
      return 2;
    }
    options.dashboard_port = dash->port;
  }

  try {
    scheduler::SchedulerServer server(std::move(options));
    Status st = server.start();
    if (!st.ok()) {
      spdlog::critical("Cannot start the scheduler: {}", st.to_string());
      return 1;
    }
    server.run();
  } catch (const std::exception& e) {
    // Only startup may throw (style.md §5); anything else is a bug worth a line.
    spdlog::critical("Scheduler failed: {}", e.what());
    return 1;
  }
  return 0;
}
