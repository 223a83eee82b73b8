#include "scheduler/python_side/peer_close_watch.hpp"

#include <spdlog/spdlog.h>

namespace daskcpp::scheduler {

namespace {

namespace asio = protocol::asio;

asio::awaitable<void> read_until_closed(std::shared_ptr<protocol::Comm> comm) {
  while (!comm->closed()) {
    Result<protocol::Value> msg = co_await comm->read();
    if (!msg.ok()) break;  // EOF or our own close: the comm is closed now
    spdlog::warn("Ignoring a message from {} on a comm that streams replies (feed)",
                 comm->peer_address());
  }
}

}  // namespace

bool streams_replies(std::string_view op) { return op == "feed"; }

void watch_for_peer_close(std::shared_ptr<protocol::Comm> comm) {
  asio::any_io_executor ex = comm->executor();
  asio::co_spawn(ex, read_until_closed(std::move(comm)), asio::detached);
}

}  // namespace daskcpp::scheduler
