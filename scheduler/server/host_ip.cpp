#include "scheduler/server/host_ip.hpp"

#include "protocol/comm/asio.hpp"

namespace daskcpp::scheduler {

std::string reachable_host_ip() {
  namespace asio = protocol::asio;
  asio::io_context io;
  asio::ip::udp::socket socket(io);
  protocol::ErrorCode ec;
  socket.open(asio::ip::udp::v4(), ec);
  if (!ec) {
    socket.connect({asio::ip::make_address_v4("8.8.8.8"), 80}, ec);
  }
  if (!ec) {
    auto local = socket.local_endpoint(ec);
    if (!ec && !local.address().is_unspecified()) return local.address().to_string();
  }
  return "127.0.0.1";
}

}  // namespace daskcpp::scheduler
