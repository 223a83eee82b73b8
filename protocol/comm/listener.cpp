#include "protocol/comm/listener.hpp"

#include <spdlog/spdlog.h>

namespace daskcpp::protocol {

namespace {
constexpr int kBacklog = 2048;  // distributed.comm.socket-backlog
}

Result<std::shared_ptr<Listener>> Listener::listen(asio::any_io_executor executor,
                                                   const Address& address,
                                                   CommOptions options, OnComm on_comm) {
  ErrorCode ec;
  std::string host = address.host.empty() ? "0.0.0.0" : address.host;
  asio::ip::address ip;
  ip = asio::ip::make_address(host, ec);
  if (ec) {
    // A host name: resolve synchronously; this runs once at startup.
    tcp::resolver resolver(executor);
    auto results = resolver.resolve(host, std::to_string(address.port), ec);
    if (ec || results.empty()) {
      return Status::IOError("cannot resolve listen host '" + host +
                             "': " + (ec ? ec.message() : std::string("no address")));
    }
    ip = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(ip, address.port);
  tcp::acceptor acceptor(executor);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(kBacklog, ec);
  if (ec) {
    return Status::IOError("cannot listen on " + format_endpoint(endpoint) + ": " +
                           ec.message());
  }
  return std::shared_ptr<Listener>(
      new Listener(std::move(acceptor), options, std::move(on_comm)));
}

Listener::Listener(tcp::acceptor acceptor, CommOptions options, OnComm on_comm)
    : acceptor_(std::move(acceptor)), options_(options), on_comm_(std::move(on_comm)) {
  ErrorCode ec;
  port_ = acceptor_.local_endpoint(ec).port();
}

std::string Listener::bound_address() const {
  ErrorCode ec;
  auto ep = acceptor_.local_endpoint(ec);
  return ec ? std::string("tcp://<closed>") : format_endpoint(ep);
}

void Listener::start() {
  // The coroutine starts later (co_spawn posts); `self` in its parameters keeps
  // the listener alive until then.
  asio::co_spawn(acceptor_.get_executor(), accept_loop(shared_from_this()),
                 asio::detached);
}

void Listener::stop() {
  stopped_ = true;
  ErrorCode ec;
  acceptor_.close(ec);
}

asio::awaitable<void> Listener::accept_loop(std::shared_ptr<Listener> self) {
  while (!stopped_) {
    ErrorCode ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopped_ || ec == asio::error::operation_aborted) break;
      // EMFILE and friends: log and keep accepting (Redis acceptTcpHandler).
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    configure_socket(socket, options_.tcp_timeout);
    auto comm = Comm::make(std::move(socket), options_);
    asio::co_spawn(acceptor_.get_executor(),
                   handshake_then_hand_over(self, std::move(comm)), asio::detached);
  }
}

asio::awaitable<void> Listener::handshake_then_hand_over(std::shared_ptr<Listener> self,
                                                         std::shared_ptr<Comm> comm) {
  (void)self;  // held for the lifetime of the handshake
  Status st = co_await comm->handshake();
  if (!st.ok()) {
    spdlog::warn("Listener: dropping connection from {}: {}", comm->peer_address(),
                 st.to_string());
    co_return;
  }
  if (stopped_) {
    comm->abort();
    co_return;
  }
  on_comm_(std::move(comm));
}

}  // namespace daskcpp::protocol
