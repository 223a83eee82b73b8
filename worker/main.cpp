// daskcpp-worker: a drop-in for `dask worker` (architecture.md).
// Parses the command line and reads the scheduler file if given. With --nanny (the
// default) runs the nannies (worker/nanny/), which spawn this binary again with
// --no-nanny as their worker processes; with --no-nanny runs the WorkerServer on
// this thread until it closes (scheduler `close`, SIGINT/SIGTERM, lost stream).

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "worker/nanny/nanny_runner.hpp"
#include "worker/server/cli_options.hpp"
#include "worker/server/nanny_link.hpp"
#include "worker/server/worker_server.hpp"

namespace {

void setup_logging(const std::string& level, const std::string& name) {
  auto logger = spdlog::stderr_color_mt(name);
  logger->set_pattern("%Y-%m-%d %H:%M:%S,%e - %n - %^%l%$ - %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level == "warning" ? "warn" : level));
  spdlog::flush_on(spdlog::level::info);
}

// The scheduler may still be writing its file: wait for it like `dask worker`.
std::string read_scheduler_file(const std::string& path, double timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
  while (true) {
    std::ifstream in(path);
    if (in) {
      nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
      if (!j.is_discarded() && j.contains("address") && j["address"].is_string()) {
        return j["address"].get<std::string>();
      }
    }
    if (std::chrono::steady_clock::now() > deadline) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace daskcpp;
  std::vector<std::string> args(argv, argv + argc);
  Result<worker::CliOptions> cli = worker::parse_cli_options(args);
  if (!cli.ok()) {
    std::fprintf(stderr, "Error: %s\n\n%s", cli.status().message().c_str(),
                 worker::cli_usage().c_str());
    return 2;
  }
  if (cli->show_help) {
    std::fputs(worker::cli_usage().c_str(), stdout);
    return 0;
  }
  const bool with_nanny = cli->nanny && cli->nanny_address.empty();
  setup_logging(cli->log_level, with_nanny ? "daskcpp.nanny" : "daskcpp.worker");

  worker::WorkerOptions options;
  options.scheduler_address = cli->scheduler_address;
  if (!cli->scheduler_file.empty()) {
    options.scheduler_address =
        read_scheduler_file(cli->scheduler_file, cli->death_timeout_seconds);
    if (options.scheduler_address.empty()) {
      spdlog::critical("No scheduler address in {}", cli->scheduler_file);
      return 1;
    }
  }
  if (options.scheduler_address.find("://") == std::string::npos) {
    options.scheduler_address = "tcp://" + options.scheduler_address;
  }
  if (with_nanny)
    return worker::nanny::run_nannies(*cli, args, options.scheduler_address);
  if (!cli->nanny_address.empty()) options.nanny_address = cli->nanny_address;
  if (cli->nanny_ready_fd >= 0) {
    options.on_running = [fd = cli->nanny_ready_fd](const std::string& address) {
      worker::report_running(fd, address);
    };
  }
  options.nthreads = cli->nthreads;
  options.name = cli->name;
  options.memory_limit = cli->memory_limit;
  options.resources = cli->resources;
  options.local_directory = cli->local_directory;
  if (!cli->host.empty()) {
    options.listen_host = cli->host;
    options.contact_host = cli->host;
  }
  options.listen_port = cli->port;
  options.death_timeout = std::chrono::milliseconds(
      static_cast<std::int64_t>(cli->death_timeout_seconds * 1000));

  try {
    worker::WorkerServer server(std::move(options));
    Status st = server.start();
    if (!st.ok()) {
      spdlog::critical("Cannot start the worker: {}", st.to_string());
      return 1;
    }
    st = server.run();
    if (!st.ok()) return 1;
  } catch (const std::exception& e) {
    spdlog::critical("Worker failed: {}", e.what());
    return 1;
  }
  return 0;
}
