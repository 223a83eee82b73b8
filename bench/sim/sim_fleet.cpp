#include "bench/sim/sim_fleet.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>

#include "protocol/codec/value.hpp"

namespace daskcpp::bench {

namespace {

// Registrations in flight at once: enough to hide round trips, few enough that a
// stock scheduler (seconds for 1,000 registrations) is not flooded with connects.
constexpr std::size_t kRegisterWindow = 16;
// Time given to the workers' close-stream messages to leave before the loop stops.
constexpr std::chrono::milliseconds kCloseGrace{200};

}  // namespace

SimFleet::SimFleet(SimOptions options)
    : options_(std::move(options)),
      signals_(io_, SIGINT, SIGTERM),
      stats_signal_(io_, SIGUSR1),
      pool_(protocol::CommOptions{}, protocol::ConnectOptions{}) {}

Status SimFleet::run() {
  signals_.async_wait([this](const protocol::ErrorCode& ec, int sig) {
    if (!ec) stop_all(sig == SIGINT ? "signal-SIGINT" : "signal-SIGTERM");
  });
  await_stats_signal();
  stats_.reset();
  asio::co_spawn(io_, main_task(), asio::detached);
  io_.run();
  return status_;
}

void SimFleet::await_stats_signal() {
  stats_signal_.async_wait([this](const protocol::ErrorCode& ec, int) {
    if (ec) return;
    // A line for the benchmark driver (the stats protocol), not a log message.
    std::printf("simworker stats %s\n", stats_.to_json().c_str());
    std::fflush(stdout);
    stats_.reset();
    await_stats_signal();
  });
}

// Built outside the coroutine: gcc 12 rejects initializer lists inside one.
protocol::Value versions_request() {
  return protocol::make_map({{"op", "versions"}, {"reply", true}});
}

asio::awaitable<protocol::Value> SimFleet::scheduler_versions() {
  Result<protocol::Value> reply =
      co_await protocol::send_recv(pool_, options_.scheduler_address, versions_request());
  if (reply.ok() && reply->is_map() && reply->find("packages") != nullptr) {
    co_return *reply;
  }
  spdlog::warn("versions from {}: no usable reply ({}); registering without versions",
               options_.scheduler_address,
               reply.ok() ? reply->to_debug_string(80) : reply.status().to_string());
  co_return protocol::Value(protocol::Map{});
}

asio::awaitable<void> SimFleet::main_task() {
  versions_ = co_await scheduler_versions();
  if (stopping_) co_return;
  workers_.reserve(static_cast<std::size_t>(options_.workers));
  for (int i = 0; i < options_.workers; ++i) {
    SimWorkerConfig config;
    config.scheduler_address = options_.scheduler_address;
    config.host = options_.host;
    config.name = options_.name_prefix + "-" + std::to_string(i);
    config.nthreads = options_.nthreads;
    config.compute = std::chrono::milliseconds(options_.compute_ms);
    config.versions = versions_;
    config.thread_id = 140'000'000'000'000 + i;
    config.stats = &stats_;
    workers_.push_back(std::make_unique<SimWorker>(
        io_, pool_, std::move(config), [this](SimWorker&) { on_worker_closed(); }));
  }
  registering_ = std::min(kRegisterWindow, workers_.size());
  for (std::size_t i = 0; i < registering_; ++i) {
    asio::co_spawn(io_, register_some(), asio::detached);
  }
  co_return;
}

// One lane of the registration window: registers workers one after another.
asio::awaitable<void> SimFleet::register_some() {
  while (next_to_register_ < workers_.size() && !stopping_) {
    SimWorker& w = *workers_[next_to_register_++];
    Status st = co_await w.start();
    if (!st.ok() && status_.ok() && !stopping_) {
      status_ = st.with_context("registering " + w.address());
      spdlog::error("{}", status_.to_string());
      stop_all("register-failed");
    }
  }
  if (--registering_ == 0 && !stopping_) {
    // The one line on stdout the benchmark driver waits for; not a log message.
    std::printf("simworker ready %zu\n", workers_.size());
    std::fflush(stdout);
  }
}

void SimFleet::stop_all(const std::string& reason) {
  if (stopping_) return;
  stopping_ = true;
  signals_.cancel();
  stats_signal_.cancel();
  for (auto& w : workers_) w->stop(reason);
  maybe_finish();  // also covers a fleet whose workers were not created yet
}

void SimFleet::on_worker_closed() {
  ++closed_;
  maybe_finish();
}

void SimFleet::maybe_finish() {
  if (finishing_ || closed_ < workers_.size()) return;
  if (workers_.empty() && !stopping_) return;  // still asking for versions
  if (!stopping_) spdlog::info("all {} simulated workers closed", workers_.size());
  finishing_ = true;
  signals_.cancel();
  stats_signal_.cancel();
  pool_.close_all();
  auto timer = std::make_shared<asio::steady_timer>(io_, kCloseGrace);
  timer->async_wait([this, timer](const protocol::ErrorCode&) { io_.stop(); });
}

}  // namespace daskcpp::bench
