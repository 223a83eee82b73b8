#include "scheduler/service/connection_registry.hpp"

#include <algorithm>

namespace daskcpp::scheduler {

ClientConnection* ConnectionRegistry::find_client(const std::string& id) {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : &it->second;
}

protocol::BatchedStream* ConnectionRegistry::client_stream(const std::string& id) {
  ClientConnection* c = find_client(id);
  if (c == nullptr || c->stream == nullptr || c->stream->closed()) return nullptr;
  return c->stream.get();
}

void ConnectionRegistry::send_to_all_clients(const protocol::Value& msg) {
  for (auto& [id, c] : clients_) {
    if (!c.removed && c.stream && !c.stream->closed()) c.stream->send(msg);
  }
}

void ConnectionRegistry::send_to_subscribers(const std::string& topic,
                                             const protocol::Value& msg) {
  for (auto& [id, c] : clients_) {
    if (c.removed || c.stream == nullptr || c.stream->closed()) continue;
    if (std::find(c.topics.begin(), c.topics.end(), topic) == c.topics.end()) continue;
    c.stream->send(msg);
  }
}

WorkerConnection* ConnectionRegistry::find_worker(std::string_view address) {
  auto it = workers_.find(std::string(address));
  return it == workers_.end() ? nullptr : &it->second;
}

}  // namespace daskcpp::scheduler
