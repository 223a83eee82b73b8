#pragma once
// The worker process's side of its nanny (upstream WorkerProcess._run's
// init_result_q message and Worker.close(nanny=True)'s `close_gracefully` RPC).
//
// A nanny passes its address and the write end of a pipe to the worker it spawns
// (--nanny-address, --nanny-ready-fd). Once registered and running, the worker writes
// "<its address>\n" on that pipe and closes it; before closing for any reason but
// the nanny's own kill, it tells the nanny `close_gracefully` so that the nanny does
// not start a new worker when this one exits.
// Runs on the worker's loop thread.

#include <string>

#include "protocol/comm/asio.hpp"
#include "protocol/status.hpp"

namespace daskcpp::worker {

// Writes "<address>\n" on `fd` and closes it. Errors are logged (the nanny then
// sees EOF and treats the worker as failed).
void report_running(int fd, const std::string& address);

// RPC `close_gracefully` to the nanny, bounded by a few seconds.
protocol::asio::awaitable<Status> tell_nanny_close_gracefully(std::string nanny_address,
                                                              std::string reason);

}  // namespace daskcpp::worker
