#include "scheduler/handlers/client_handlers.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "protocol/comm/batched_stream.hpp"
#include "protocol/rpc/clock.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/peer_info.hpp"
#include "scheduler/service/scheduler_hooks.hpp"
#include "scheduler/service/scheduler_service.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {

namespace {

// Scheduler.remove_client for the core (releases the client's keys), in the
// client's op order.
void remove_client_from_core(ExtensionContext& server, const std::string& client) {
  SchedulerService& svc = server.service;
  svc.run_in_client_order(client, [&svc, client] {
    svc.apply(
        handle(svc.state(), RemoveClient{client}, svc.make_stimulus("remove-client")),
        "remove-client");
    if (SchedulerHooks* hooks = svc.hooks()) hooks->remove_client(client);
  });
}

using protocol::Map;
using protocol::RpcRequest;
using protocol::StreamMessage;
using protocol::Value;

// The client id a stream op concerns: its own `client` field, else the stream's.
const std::string* client_of(const StreamMessage& m) {
  const Value* v = m.get("client");
  return v != nullptr && v->is_str() ? &v->as_str() : nullptr;
}

// Mirrors Scheduler.remove_client: the core releases the client's wanted keys
// (after any op of this client still in flight) and the connection bookkeeping ends.
void remove_client(ExtensionContext& server, const std::string& id) {
  ClientConnection* client = server.connections.find_client(id);
  if (client == nullptr || client->removed) return;
  client->removed = true;
  spdlog::info("Remove client {}", id);
  server.log_event({"all", id}, protocol::make_map({{"action", Value("remove-client")},
                                                    {"client", Value(id)}}));
  remove_client_from_core(server, id);
}

asio::awaitable<Value> add_client(ExtensionContext& server, RpcRequest& req) {
  const Value* id_value = req.arg("client");
  if (id_value == nullptr || !id_value->is_str()) {
    spdlog::warn("register-client from {} without a str 'client' field; closing",
                 req.comm->peer_address());
    req.comm->close();
    co_return Value();
  }
  const std::string id = id_value->as_str();
  spdlog::info("Receive client connection: {}", id);
  server.log_event({"all", id}, protocol::make_map({{"action", Value("add-client")},
                                                    {"client", Value(id)}}));
  auto stream =
      protocol::BatchedStream::make(req.comm, server.options.client_stream_interval);
  if (ClientConnection* old = server.connections.find_client(id)) {
    // A client re-registering under its id replaces the old stream.
    old->stream->close();
  }
  server.connections.clients()[id] =
      ClientConnection{id, stream, protocol::unix_now(), {}, false};
  // A client re-registering while its removal is still queued behind an
  // update-graph must be re-added after that removal.
  server.service.run_in_client_order(id, [&server, id] {
    (void)handle(server.service.state(), AddClient{id}, Stimulus{});
    if (SchedulerHooks* hooks = server.service.hooks()) hooks->add_client(id);
  });
  // The client reads exactly one message and asserts it is [stream-start]
  // (protocol.md §4.3), so nothing may join this batch. It warns with
  // `warning` (a version mismatch) and raises ImportError with `error`.
  Value start = protocol::make_map(
      {{"op", Value("stream-start")}, {"warning", Value("")}, {"error", Value("")}});
  if (SchedulerHooks* hooks = server.service.hooks()) {
    Map workers;
    for (const auto& [address, conn] : server.connections.workers()) {
      workers.emplace_back(Value(address), conn.versions);
    }
    const Value* versions = req.arg("versions");
    Value message = hooks->version_message(Value(std::move(workers)),
                                           versions != nullptr ? *versions : Value());
    for (const char* field : {"warning", "error"}) {
      if (const Value* text = message.find(field); text != nullptr && text->is_str()) {
        for (auto& [k, v] : start.as_map()) {
          if (k.is_str() && k.as_str() == field) v = *text;
        }
      }
    }
  }
  stream->send_alone(std::move(start));

  Value extra = protocol::make_map({{"client", Value(id)}});
  Status reason = co_await stream->run(server.client_stream, std::move(extra), {});
  (void)reason;  // run() logged it
  // A newer registration under the same id may own the entry by now; then
  // the client lives on and nothing is removed.
  if (ClientConnection* c = server.connections.find_client(id);
      c != nullptr && c->stream == stream) {
    remove_client(server, id);
    server.connections.clients().erase(id);
  }
  spdlog::info("Close client connection: {}", id);
  co_return Value();
}

}  // namespace

void register_client_handlers(ExtensionContext& server) {
  server.rpc.add("register-client", [&server](RpcRequest& req) -> asio::awaitable<Value> {
    co_return co_await add_client(server, req);
  });

  auto& stream = server.client_stream;
  stream.add("heartbeat-client", [&server](const StreamMessage& m) -> Status {
    const std::string* id = client_of(m);
    ClientConnection* client =
        id != nullptr ? server.connections.find_client(*id) : nullptr;
    if (client == nullptr) return Status::KeyError("heartbeat-client: unknown client");
    client->last_seen = protocol::unix_now();
    client->stream->send(protocol::make_map(
        {{"op", Value("adjust-heartbeat-interval")},
         {"interval",
          Value(heartbeat_interval(server.connections.clients().size()) * 10)}}));
    return Status::OK();
  });
  stream.add("subscribe-topic", [&server](const StreamMessage& m) -> Status {
    const std::string* id = client_of(m);
    const Value* topic = m.get("topic");
    ClientConnection* client =
        id != nullptr ? server.connections.find_client(*id) : nullptr;
    if (client == nullptr) return Status::KeyError("subscribe-topic: unknown client");
    if (topic == nullptr) return Status::KeyError("subscribe-topic: missing 'topic'");
    std::string name = topic->is_str() ? topic->as_str() : topic->to_debug_string();
    if (std::find(client->topics.begin(), client->topics.end(), name) ==
        client->topics.end()) {
      client->topics.push_back(std::move(name));
    }
    return Status::OK();
  });
  stream.add("unsubscribe-topic", [&server](const StreamMessage& m) -> Status {
    const std::string* id = client_of(m);
    const Value* topic = m.get("topic");
    ClientConnection* client =
        id != nullptr ? server.connections.find_client(*id) : nullptr;
    if (client == nullptr || topic == nullptr) return Status::OK();
    std::string name = topic->is_str() ? topic->as_str() : topic->to_debug_string();
    std::erase(client->topics, name);
    return Status::OK();
  });
  stream.add("close-client", [&server](const StreamMessage& m) -> Status {
    if (const std::string* id = client_of(m)) remove_client(server, *id);
    return Status::OK();
  });
}

}  // namespace daskcpp::scheduler
