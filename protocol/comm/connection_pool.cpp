#include "protocol/comm/connection_pool.hpp"

#include <spdlog/spdlog.h>

namespace daskcpp::protocol {

ConnectionPool::ConnectionPool(CommOptions comm_options, ConnectOptions connect_options,
                               std::size_t max_idle_per_address)
    : comm_options_(comm_options),
      connect_options_(connect_options),
      max_idle_per_address_(max_idle_per_address) {}

asio::awaitable<Result<std::shared_ptr<Comm>>> ConnectionPool::acquire(
    const std::string& address) {
  auto it = idle_.find(address);
  if (it != idle_.end()) {
    auto& comms = it->second;
    while (!comms.empty()) {
      std::shared_ptr<Comm> comm = std::move(comms.back());
      comms.pop_back();
      if (!comm->closed()) co_return comm;
    }
  }
  ++connects_;
  co_return co_await connect(address, comm_options_, connect_options_);
}

void ConnectionPool::release(const std::string& address, std::shared_ptr<Comm> comm) {
  if (comm == nullptr || comm->closed()) return;
  auto& comms = idle_[address];
  if (comms.size() >= max_idle_per_address_) {
    comm->close();
    return;
  }
  comms.push_back(std::move(comm));
}

void ConnectionPool::close_all() {
  for (auto& [address, comms] : idle_) {
    for (auto& comm : comms) comm->close();
  }
  idle_.clear();
}

std::size_t ConnectionPool::idle_count(const std::string& address) const {
  auto it = idle_.find(address);
  return it == idle_.end() ? 0 : it->second.size();
}

asio::awaitable<Result<Value>> send_recv(ConnectionPool& pool, const std::string& address,
                                         Value request) {
  Result<std::shared_ptr<Comm>> comm = co_await pool.acquire(address);
  if (!comm.ok()) co_return comm.status();
  bool want_reply = true;
  if (const Value* reply = request.find("reply")) {
    want_reply = !(reply->is_nil() || (reply->is_bool() && !reply->as_bool()));
  }
  Status st = (*comm)->write(request);
  if (!st.ok()) {
    (*comm)->abort();
    co_return st;
  }
  if (!want_reply) {
    pool.release(address, *comm);
    co_return Value();
  }
  Result<Value> reply = co_await (*comm)->read();
  if (!reply.ok()) co_return reply.status();
  pool.release(address, *comm);
  if (reply->is_map()) {
    const Value* status = reply->find("status");
    if (status != nullptr && status->is_str() && status->as_str() == "uncaught-error") {
      const Value* text = reply->find("exception_text");
      co_return Status(
          StatusCode::kUnknown,
          "remote uncaught-error from " + address + ": " +
              (text != nullptr && text->is_str() ? text->as_str() : std::string("?")));
    }
  }
  co_return std::move(reply).value();
}

}  // namespace daskcpp::protocol
