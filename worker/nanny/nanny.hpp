#pragma once
// Nanny: a server that keeps one worker process alive (upstream distributed/nanny.py
// Nanny, without plugins, preloads, `run` or the memory manager).
//
// Owns its listener (RPCs from the scheduler and from its worker), its WorkerProcess
// and the nanny's life cycle:
// * start(): listen, `register_nanny` with the scheduler, spawn the worker (which
//   registers with `nanny: <our address>`) and wait until it runs, then write
//   {"status": "ok"} on the registration comm.
// * When the worker exits while we run, `unregister` it at the scheduler and start
//   a new one (Nanny._on_worker_exit), whatever its exit status; after
//   `close_gracefully` (sent by a worker closing for the scheduler) close instead.
// * RPCs: kill (stop the worker; the exit handler above then restarts it: this is
//   how Scheduler.restart_workers restarts), restart (kill + start, "OK" or
//   "timed out"), instantiate, terminate (close the nanny), close_gracefully,
//   identity, get_logs (empty).
// Runs on the loop thread of the io_context it is given; several nannies may share
// one (`--nworkers`).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/listener.hpp"
#include "protocol/comm/rpc_handlers.hpp"
#include "protocol/status.hpp"
#include "worker/nanny/async_event.hpp"
#include "worker/nanny/worker_process.hpp"

namespace daskcpp::worker::nanny {

struct NannyOptions {
  std::string scheduler_address;  // "tcp://host:port"
  std::string listen_host = "0.0.0.0";
  // Advertised host; empty = the local address of our connection to the scheduler.
  std::string contact_host;
  std::uint16_t port = 0;
  std::chrono::milliseconds death_timeout{60'000};
  // The worker process: `executable worker_args... --nanny-address <ours>`.
  std::string executable;
  std::vector<std::string> worker_args;
};

class Nanny {
 public:
  enum class State { kInit, kRunning, kClosingGracefully, kClosing, kClosed };

  // `on_closed` runs once, when the nanny has closed (its worker is down).
  Nanny(asio::io_context& io, NannyOptions options, std::function<void()> on_closed);
  Nanny(const Nanny&) = delete;
  Nanny& operator=(const Nanny&) = delete;

  // Nanny.start_unsafe. On failure the nanny has closed.
  asio::awaitable<Status> start();
  // Nanny.close: stop listening, stop the worker (kill with `timeout`), closed.
  asio::awaitable<void> close(
      std::string reason, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  State state() const { return state_; }
  const std::string& address() const { return address_; }

 private:
  using Value = protocol::Value;

  asio::awaitable<Result<WorkerProcess::State>> instantiate();
  asio::awaitable<Value> restart(std::string reason, std::chrono::milliseconds timeout);
  asio::awaitable<void> kill_and_instantiate(std::string reason,
                                             std::shared_ptr<AsyncEvent> done);
  asio::awaitable<Value> kill(std::string reason, std::chrono::milliseconds timeout);
  asio::awaitable<Value> serve_instantiate();
  asio::awaitable<Value> terminate(std::string reason, std::chrono::milliseconds timeout);
  void on_worker_exit(int exitcode);
  asio::awaitable<void> handle_worker_exit(std::string worker_address);
  asio::awaitable<void> unregister(const std::string& worker_address);
  void setup_rpc_handlers();

  asio::io_context& io_;
  NannyOptions options_;
  std::function<void()> on_closed_;
  std::string id_;
  std::string address_;
  protocol::RpcHandlers rpc_;
  std::shared_ptr<protocol::Listener> listener_;
  std::unique_ptr<WorkerProcess> process_;
  AsyncEvent closed_;
  State state_ = State::kInit;
  // The last start did not reach running: wait a moment before the next one, so a
  // worker that cannot start does not respawn in a tight loop.
  bool last_start_failed_ = false;
};

}  // namespace daskcpp::worker::nanny
