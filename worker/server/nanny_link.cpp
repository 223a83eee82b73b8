#include "worker/server/nanny_link.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "protocol/comm/connect.hpp"

namespace daskcpp::worker {

namespace {
// The nanny is local and answers at once; a dead one must not hold up our exit.
constexpr std::chrono::milliseconds kNannyTimeout{5'000};
}  // namespace

void report_running(int fd, const std::string& address) {
  std::string line = address + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      spdlog::error("Cannot report to the nanny on fd {}: {}", fd, std::strerror(errno));
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

protocol::asio::awaitable<Status> tell_nanny_close_gracefully(std::string nanny_address,
                                                              std::string reason) {
  protocol::ConnectOptions connect;
  connect.timeout = kNannyTimeout;
  auto connecting = protocol::connect(nanny_address, protocol::CommOptions{}, connect);
  auto comm = co_await std::move(connecting);
  if (!comm.ok()) co_return comm.status();
  Status st =
      (*comm)->write(protocol::make_map({{"op", protocol::Value("close_gracefully")},
                                         {"reason", protocol::Value(reason)},
                                         {"reply", protocol::Value(true)}}));
  if (!st.ok()) co_return st;
  auto reply = co_await (*comm)->read(kNannyTimeout);
  (*comm)->close();
  if (!reply.ok()) co_return reply.status();
  co_return Status::OK();
}

}  // namespace daskcpp::worker
