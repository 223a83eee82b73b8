#pragma once
// Listener: accepts TCP connections, configures and handshakes each, then hands
// the ready Comm to `on_comm` (upstream distributed/comm/tcp.py
// BaseTCPListener + comm/core.py Listener.on_connection).
//
// A failed handshake (timeout, garbage, wrong fields) is logged with the peer
// and closes only that connection; the listener keeps accepting.
// Thread safety: none; runs on the loop thread that owns the io_context.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "protocol/comm/address.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/comm.hpp"
#include "protocol/comm/comm_options.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  using OnComm = std::function<void(std::shared_ptr<Comm>)>;

  // Binds and listens (backlog 2048 as distributed.comm.socket-backlog).
  // Host "" or "0.0.0.0" binds every IPv4 interface, "::" every interface.
  static Result<std::shared_ptr<Listener>> listen(asio::any_io_executor executor,
                                                  const Address& address,
                                                  CommOptions options, OnComm on_comm);

  // Starts the accept loop.
  void start();
  // Stops accepting; comms already handed out are not touched.
  void stop();

  std::uint16_t port() const { return port_; }
  // "tcp://<bound host>:<port>" as bound (0.0.0.0 stays 0.0.0.0).
  std::string bound_address() const;

 private:
  Listener(tcp::acceptor acceptor, CommOptions options, OnComm on_comm);
  // `self` is a parameter, not a local: coroutine parameters are copied into
  // the frame when it is created, locals only once it first runs.
  asio::awaitable<void> accept_loop(std::shared_ptr<Listener> self);
  asio::awaitable<void> handshake_then_hand_over(std::shared_ptr<Listener> self,
                                                 std::shared_ptr<Comm> comm);

  tcp::acceptor acceptor_;
  CommOptions options_;
  OnComm on_comm_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace daskcpp::protocol
