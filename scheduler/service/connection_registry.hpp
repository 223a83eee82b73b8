#pragma once
// ConnectionRegistry: every connected client and worker as the comm side sees
// them — their batched streams and what the server glue tracks about them
// (upstream Scheduler.client_comms / stream_comms plus the comm-side fields of
// ClientState / WorkerState). The server fills it as peers connect; the
// service and the extensions read it to reach a peer.
// Thread: the scheduler loop.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/comm/batched_stream.hpp"
#include "scheduler/state/ids.hpp"

namespace daskcpp::scheduler {

// One connected client: its batched stream and what the server glue tracks.
struct ClientConnection {
  std::string id;
  std::shared_ptr<protocol::BatchedStream> stream;
  double last_seen = 0;  // unix seconds
  std::vector<std::string> topics;
  bool removed = false;  // close-client seen; the stream may still be open
};

// A connected worker's comm-side bookkeeping (the core's WorkerState holds the rest).
struct WorkerConnection {
  WorkerId id = kNoId<WorkerId>;
  std::string address;
  std::shared_ptr<protocol::BatchedStream> stream;  // null until the stream runs
  std::optional<std::string> nanny;
  protocol::Value name;  // as registered (str or int)
  std::string local_directory;
  protocol::Value services = protocol::Value(protocol::Map{});
  std::optional<std::int64_t> pid;
  protocol::Value metrics = protocol::Value(protocol::Map{});
  protocol::Value versions = protocol::Value(protocol::Map{});  // get_versions()
  double last_seen = 0;  // unix seconds (heartbeats)
  double time_delay = 0;
  bool closing = false;  // the worker announced it is going away
};

class ConnectionRegistry {
 public:
  // ---- clients, by client id ----
  std::unordered_map<std::string, ClientConnection>& clients() { return clients_; }
  ClientConnection* find_client(const std::string& id);
  // The client's open stream, or null when it is not connected.
  protocol::BatchedStream* client_stream(const std::string& id);
  // `msg` to every client still connected (a report with no client).
  void send_to_all_clients(const protocol::Value& msg);
  // `msg` to every connected client subscribed to `topic`.
  void send_to_subscribers(const std::string& topic, const protocol::Value& msg);

  // ---- workers, by address ----
  std::unordered_map<std::string, WorkerConnection>& workers() { return workers_; }
  WorkerConnection* find_worker(std::string_view address);

 private:
  std::unordered_map<std::string, ClientConnection> clients_;
  std::unordered_map<std::string, WorkerConnection> workers_;
};

}  // namespace daskcpp::scheduler
