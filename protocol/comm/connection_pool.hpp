#pragma once
// RPC client side (upstream distributed/core.py ConnectionPool, send_recv,
// PooledRPCCall): comms to other servers, reused per address.
//
// acquire() hands out an idle comm for the address or connects a new one;
// release() puts a healthy comm back. A comm that failed mid-call is never
// returned (it may hold half a reply). Each comm carries one request at a time,
// so concurrent calls to one address use several comms, as upstream.
// Thread safety: none; lives on the loop thread.

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/comm.hpp"
#include "protocol/comm/connect.hpp"

namespace daskcpp::protocol {

class ConnectionPool {
 public:
  // The scheduler passes pickle_protocol 4 here (protocol.md §2 quirk).
  ConnectionPool(CommOptions comm_options, ConnectOptions connect_options,
                 std::size_t max_idle_per_address = 16);

  asio::awaitable<Result<std::shared_ptr<Comm>>> acquire(const std::string& address);
  void release(const std::string& address, std::shared_ptr<Comm> comm);
  // Closes every idle comm (shutdown).
  void close_all();

  std::size_t idle_count(const std::string& address) const;
  std::size_t connects() const { return connects_; }

 private:
  CommOptions comm_options_;
  ConnectOptions connect_options_;
  std::size_t max_idle_per_address_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<Comm>>> idle_;
  std::size_t connects_ = 0;
};

// One request/reply over a pooled comm (upstream send_recv). A reply with
// status "uncaught-error" becomes an error Status carrying exception_text; a
// request with `reply: false` completes with nil once written.
asio::awaitable<Result<Value>> send_recv(ConnectionPool& pool, const std::string& address,
                                         Value request);

// `rpc(address).call(request)`: a handle bound to one address.
class Rpc {
 public:
  Rpc(ConnectionPool& pool, std::string address)
      : pool_(&pool), address_(std::move(address)) {}
  asio::awaitable<Result<Value>> call(Value request) {
    return send_recv(*pool_, address_, std::move(request));
  }
  const std::string& address() const { return address_; }

 private:
  ConnectionPool* pool_;
  std::string address_;
};

}  // namespace daskcpp::protocol
