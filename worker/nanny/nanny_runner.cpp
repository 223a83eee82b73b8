#include "worker/nanny/nanny_runner.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <memory>

#include "protocol/comm/asio.hpp"
#include "worker/nanny/nanny.hpp"
#include "worker/nanny/worker_args.hpp"

namespace daskcpp::worker::nanny {

namespace {

// Lets the reply to a `terminate` RPC leave before the loop stops.
constexpr std::chrono::milliseconds kFlushDelay{200};
// dask_worker.py closes the nannies with timeout=10 on a signal.
constexpr std::chrono::seconds kSignalCloseTimeout{10};

std::string own_executable() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

int run_nannies(const CliOptions& cli, const std::vector<std::string>& args,
                const std::string& scheduler_address) {
  std::string executable = own_executable();
  if (executable.empty()) {
    spdlog::critical("Cannot find our own executable (/proc/self/exe)");
    return 1;
  }
  asio::io_context io;
  std::vector<std::unique_ptr<Nanny>> nannies;
  int exit_code = 0;
  bool signal_fired = false;
  std::size_t open = static_cast<std::size_t>(cli.nworkers);
  asio::steady_timer stop_timer(io);
  asio::signal_set signals(io, SIGINT, SIGTERM);

  auto on_closed = [&]() {
    if (--open > 0) return;
    signals.cancel();
    stop_timer.expires_after(kFlushDelay);
    stop_timer.async_wait([&io](const protocol::ErrorCode&) { io.stop(); });
  };
  for (int i = 0; i < cli.nworkers; ++i) {
    NannyOptions o;
    o.scheduler_address = scheduler_address;
    if (!cli.host.empty()) {
      o.listen_host = cli.host;
      o.contact_host = cli.host;
    }
    o.port = cli.nanny_port;
    o.death_timeout = std::chrono::milliseconds(
        static_cast<std::int64_t>(cli.death_timeout_seconds * 1000));
    o.executable = executable;
    o.worker_args = worker_process_args(args, worker_name(cli.name, cli.nworkers, i));
    nannies.push_back(std::make_unique<Nanny>(io, std::move(o), on_closed));
  }

  // Concurrently, as asyncio.gather(*(n.close() for n in nannies)).
  auto close_all = [&](const std::string& reason, std::chrono::milliseconds timeout) {
    for (auto& n : nannies) asio::co_spawn(io, n->close(reason, timeout), asio::detached);
  };
  signals.async_wait([&](const protocol::ErrorCode& ec, int sig) {
    if (ec) return;
    signal_fired = true;
    close_all(sig == SIGINT ? "signal-SIGINT" : "signal-SIGTERM", kSignalCloseTimeout);
  });
  for (auto& n : nannies) {
    // A plain completion handler, not a coroutine lambda (gcc 12 miscompiles those
    // with captures).
    asio::co_spawn(io, n->start(), [&](std::exception_ptr, Status st) {
      if (st.ok() || signal_fired) return;
      spdlog::error("{}", st.to_string());
      exit_code = 1;
      close_all("nanny-start-failed", std::chrono::seconds(5));
    });
  }
  io.run();
  spdlog::info("End worker");
  return signal_fired ? 0 : exit_code;
}

}  // namespace daskcpp::worker::nanny
