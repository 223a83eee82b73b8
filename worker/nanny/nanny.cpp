#include "worker/nanny/nanny.hpp"

#include <spdlog/spdlog.h>

#include "protocol/comm/address.hpp"
#include "protocol/comm/connect.hpp"
#include "protocol/comm/rpc_server.hpp"
#include "protocol/messages/uuid.hpp"
#include "protocol/rpc/clock.hpp"

namespace daskcpp::worker::nanny {

// Coroutine calls taking non-trivial arguments (strings, Values, CommOptions) are
// built into a named awaitable first and then awaited: gcc 12 mishandles such
// argument temporaries when they live across the suspension of a co_await
// expression. No co_await inside `?:` either (see Nanny::start).

namespace {

using protocol::make_map;
using protocol::Value;

// Nanny._unregister's timeout.
constexpr std::chrono::milliseconds kUnregisterTimeout{10'000};
// How long a worker that failed to start waits before the next attempt.
constexpr std::chrono::milliseconds kRetryDelay{1'000};

// A `timeout` argument in seconds (upstream accepts int or float), else `fallback`.
std::chrono::milliseconds arg_timeout(const protocol::RpcRequest& req,
                                      std::chrono::milliseconds fallback) {
  const Value* v = req.arg("timeout");
  if (v == nullptr || !v->is_number()) return fallback;
  double seconds = v->as_double();
  if (!(seconds > 0) || seconds > 86'400) return fallback;
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

std::string arg_reason(const protocol::RpcRequest& req, const std::string& fallback) {
  const Value* v = req.arg("reason");
  return (v != nullptr && v->is_str()) ? v->as_str() : fallback;
}

const char* state_name(WorkerProcess::State s) {
  switch (s) {
    case WorkerProcess::State::kInit:
      return "init";
    case WorkerProcess::State::kStarting:
      return "starting";
    case WorkerProcess::State::kRunning:
      return "running";
    case WorkerProcess::State::kStopping:
      return "stopping";
    case WorkerProcess::State::kStopped:
      return "stopped";
    case WorkerProcess::State::kFailed:
      return "failed";
  }
  return "unknown";
}

// One request and its reply on a fresh comm, each step bounded by `timeout`.
asio::awaitable<Result<Value>> call(const std::string& address, Value request,
                                    std::chrono::milliseconds timeout) {
  protocol::ConnectOptions connect;
  connect.timeout = timeout;
  auto connecting = protocol::connect(address, protocol::CommOptions{}, connect);
  auto comm = co_await std::move(connecting);
  if (!comm.ok()) co_return comm.status();
  if (Status st = (*comm)->write(request); !st.ok()) co_return st;
  Result<Value> reply = co_await (*comm)->read(timeout);
  (*comm)->close();
  co_return reply;
}

}  // namespace

Nanny::Nanny(asio::io_context& io, NannyOptions options, std::function<void()> on_closed)
    : io_(io),
      options_(std::move(options)),
      on_closed_(std::move(on_closed)),
      id_("Nanny-" + protocol::uuid4()),
      rpc_("Nanny"),
      closed_(io.get_executor()) {}

asio::awaitable<Status> Nanny::start() {
  setup_rpc_handlers();
  auto listener = protocol::Listener::listen(
      io_.get_executor(), protocol::Address{options_.listen_host, options_.port},
      protocol::CommOptions{}, [this](std::shared_ptr<protocol::Comm> comm) {
        asio::co_spawn(io_, protocol::serve_rpc(std::move(comm), rpc_), asio::detached);
      });
  if (!listener.ok()) {
    asio::awaitable<void> closing = close("nanny-start-failed");
    co_await std::move(closing);
    co_return listener.status().with_context("Could not start Nanny");
  }
  listener_ = std::move(*listener);
  listener_->start();

  protocol::ConnectOptions connect;
  connect.timeout = options_.death_timeout;
  auto connecting =
      protocol::connect(options_.scheduler_address, protocol::CommOptions{}, connect);
  auto comm = co_await std::move(connecting);
  if (!comm.ok()) {
    asio::awaitable<void> closing = close("nanny-start-failed");
    co_await std::move(closing);
    co_return comm.status().with_context("Nanny cannot reach the scheduler at " +
                                         options_.scheduler_address);
  }
  if (state_ != State::kInit) co_return Status::Cancelled("Nanny closed while starting");
  std::string host = options_.contact_host;
  if (host.empty()) {
    auto local = protocol::parse_address((*comm)->local_address());
    if (!local.ok()) {
      asio::awaitable<void> closing = close("nanny-start-failed");
      co_await std::move(closing);
      co_return local.status();
    }
    host = local->host;
  }
  address_ = protocol::format_address(host, listener_->port());

  // Scheduler.add_nanny: reply, then one more message from us on the same comm.
  Status st = (*comm)->write(
      make_map({{"op", Value("register_nanny")}, {"address", Value(address_)}}));
  if (!st.ok()) {
    asio::awaitable<void> closing = close("nanny-start-failed");
    co_await std::move(closing);
    co_return st.with_context("register_nanny");
  }
  // Not `st.ok() ? co_await ... : ...`: gcc 12 destroys the co_await's result in a
  // conditional expression before the copy out of it (ASan: heap-use-after-free).
  Result<Value> reply = co_await (*comm)->read(options_.death_timeout);
  if (!reply.ok()) {
    asio::awaitable<void> closing = close("nanny-start-failed");
    co_await std::move(closing);
    co_return reply.status().with_context("register_nanny");
  }
  if (state_ != State::kInit) co_return Status::Cancelled("Nanny closed while starting");
  if (const Value* plugins = reply->find("nanny-plugins");
      plugins != nullptr && plugins->is_map() && !plugins->as_map().empty()) {
    spdlog::warn("Nanny plugins are not supported by daskcpp; ignoring {}",
                 plugins->as_map().size());
  }
  spdlog::info("        Start Nanny at: '{}'", address_);

  options_.worker_args.push_back("--nanny-address");
  options_.worker_args.push_back(address_);
  process_ = std::make_unique<WorkerProcess>(
      io_.get_executor(), options_.executable, options_.worker_args,
      [this](int exitcode) { on_worker_exit(exitcode); });
  Result<WorkerProcess::State> started = co_await instantiate();
  if (!started.ok() || *started != WorkerProcess::State::kRunning) {
    (void)(*comm)->write(make_map({{"status", Value("error")}}));
    (*comm)->close();
    asio::awaitable<void> closing = close("nanny-start-failed");
    co_await std::move(closing);
    co_return started.ok() ? Status::IOError("Nanny failed to start worker process")
                           : started.status();
  }
  (void)(*comm)->write(make_map({{"status", Value("ok")}}));
  (*comm)->close();
  if (state_ == State::kInit) state_ = State::kRunning;
  co_return Status::OK();
}

// Nanny.instantiate: start the worker, bounded by the death timeout; a worker that
// does not come up in time closes the nanny.
asio::awaitable<Result<WorkerProcess::State>> Nanny::instantiate() {
  Result<WorkerProcess::State> r = co_await process_->start(options_.death_timeout);
  last_start_failed_ = !r.ok() || *r != WorkerProcess::State::kRunning;
  if (!r.ok()) {
    spdlog::error("Timed out connecting Nanny '{}' to scheduler '{}': {}", address_,
                  options_.scheduler_address, r.status().to_string());
    asio::awaitable<void> closing =
        close("nanny-instantiate-timeout", options_.death_timeout);
    co_await std::move(closing);
  }
  co_return r;
}

// Nanny.restart: kill + instantiate, shielded from the timeout: a restart that
// takes longer still completes, the caller just hears "timed out" first.
asio::awaitable<Value> Nanny::restart(std::string reason,
                                      std::chrono::milliseconds timeout) {
  auto done = std::make_shared<AsyncEvent>(io_.get_executor());
  asio::co_spawn(io_, kill_and_instantiate(reason, done), asio::detached);
  if (co_await done->wait(timeout)) co_return Value("OK");
  spdlog::error("Restart timed out after {}s; returning before finished",
                std::chrono::duration<double>(timeout).count());
  co_return Value("timed out");
}

asio::awaitable<void> Nanny::kill_and_instantiate(std::string reason,
                                                  std::shared_ptr<AsyncEvent> done) {
  if (process_) {
    const std::chrono::milliseconds timeout = std::chrono::seconds(5);
    asio::awaitable<Status> killing = process_->kill(timeout, reason);
    Status st = co_await std::move(killing);
    if (!st.ok()) spdlog::error("restart: {}", st.to_string());
    if (state_ == State::kRunning) (void)co_await instantiate();
  }
  done->set();
}

void Nanny::on_worker_exit(int /*exitcode*/) {
  // Read the address now: a restart may already be bringing up the next worker.
  asio::co_spawn(io_, handle_worker_exit(process_->worker_address()), asio::detached);
}

// Nanny._on_worker_exit.
asio::awaitable<void> Nanny::handle_worker_exit(std::string worker_address) {
  if (state_ == State::kRunning) {
    spdlog::info("Unregistering worker (status=running)");
    co_await unregister(worker_address);
  }
  if (state_ == State::kRunning) {
    spdlog::warn("Restarting worker (status=running)");
    if (last_start_failed_) {
      asio::steady_timer delay(io_, kRetryDelay);
      protocol::ErrorCode ec;
      co_await delay.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (state_ != State::kRunning) co_return;
    }
    Result<WorkerProcess::State> r = co_await instantiate();
    if (r.ok() && *r != WorkerProcess::State::kRunning && state_ == State::kRunning) {
      spdlog::error("Failed to restart worker after its process exited ({})",
                    state_name(*r));
    }
  } else if (state_ == State::kClosingGracefully) {
    asio::awaitable<void> closing = close("nanny-close-gracefully");
    co_await std::move(closing);
  }
}

asio::awaitable<void> Nanny::unregister(const std::string& worker_address) {
  if (worker_address.empty()) co_return;
  // Built outside the co_await: gcc 12 miscompiles string-literal initializer lists
  // inside a co_await expression ("array used as initializer").
  Value request = make_map({{"op", Value("unregister")},
                            {"address", Value(worker_address)},
                            {"stimulus_id", Value(protocol::stimulus_id("nanny-close"))},
                            {"reply", Value(true)}});
  asio::awaitable<Result<Value>> calling =
      call(options_.scheduler_address, std::move(request), kUnregisterTimeout);
  Result<Value> reply = co_await std::move(calling);
  if (!reply.ok()) {
    spdlog::warn("Failed to unregister {}: {}", worker_address,
                 reply.status().to_string());
  }
}

asio::awaitable<void> Nanny::close(std::string reason,
                                   std::chrono::milliseconds timeout) {
  if (state_ == State::kClosing) {
    (void)co_await closed_.wait(std::chrono::hours(24));
    co_return;
  }
  if (state_ == State::kClosed) co_return;
  state_ = State::kClosing;
  spdlog::info("Closing Nanny at '{}'. Reason: {}", address_, reason);
  if (listener_) listener_->stop();
  if (process_) {
    asio::awaitable<Status> killing = process_->kill(timeout, reason);
    Status st = co_await std::move(killing);
    if (!st.ok()) spdlog::error("Closing Nanny at '{}': {}", address_, st.to_string());
  }
  state_ = State::kClosed;
  closed_.set();
  spdlog::info("Nanny at '{}' closed.", address_);
  if (on_closed_) on_closed_();
}

// Nanny.kill: the worker process is down when this returns; the exit handler then
// starts a new one (we are still running).
asio::awaitable<Value> Nanny::kill(std::string reason,
                                   std::chrono::milliseconds timeout) {
  if (process_) {
    asio::awaitable<Status> killing = process_->kill(timeout, reason);
    Status st = co_await std::move(killing);
    if (!st.ok()) spdlog::error("kill: {}", st.to_string());
  }
  co_return Value();
}

asio::awaitable<Value> Nanny::serve_instantiate() {
  if (!process_ || state_ != State::kRunning) co_return Value("closed");
  Result<WorkerProcess::State> r = co_await instantiate();
  co_return Value(r.ok() ? state_name(*r) : "failed");
}

asio::awaitable<Value> Nanny::terminate(std::string reason,
                                        std::chrono::milliseconds timeout) {
  asio::awaitable<void> closing = close(reason, timeout);
  co_await std::move(closing);
  co_return Value("OK");
}

void Nanny::setup_rpc_handlers() {
  // Handlers are plain lambdas returning member coroutines with by-value arguments:
  // gcc 12 miscompiles coroutine lambdas with captures and temporaries bound to
  // reference parameters inside co_await expressions.
  rpc_.add("kill", [this](protocol::RpcRequest& req) {
    return kill(arg_reason(req, "nanny-kill"), arg_timeout(req, std::chrono::seconds(5)));
  });
  rpc_.add("restart", [this](protocol::RpcRequest& req) {
    return restart(arg_reason(req, "nanny-restart"),
                   arg_timeout(req, std::chrono::seconds(30)));
  });
  rpc_.add("instantiate", [this](protocol::RpcRequest&) { return serve_instantiate(); });
  rpc_.add("terminate", [this](protocol::RpcRequest& req) {
    return terminate(arg_reason(req, "nanny-close"),
                     arg_timeout(req, std::chrono::seconds(5)));
  });
  rpc_.add_sync("close_gracefully", [this](protocol::RpcRequest& req) {
    // Nanny.close_gracefully: do not restart the worker when it goes away.
    if (state_ == State::kRunning || state_ == State::kInit) {
      state_ = State::kClosingGracefully;
    }
    spdlog::info("Closing Nanny gracefully at '{}'. Reason: {}", address_,
                 arg_reason(req, "nanny-close-gracefully"));
    return Value();
  });
  rpc_.add_sync("identity", [this](protocol::RpcRequest&) {
    return make_map({{"type", Value("Nanny")}, {"id", Value(id_)}});
  });
  rpc_.add_sync("get_logs",
                [](protocol::RpcRequest&) { return Value(protocol::Array{}); });
}

}  // namespace daskcpp::worker::nanny
