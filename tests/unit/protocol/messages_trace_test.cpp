// Replays the recorded traces through the op table: every op message of a known op
// decodes, and re-encoding the typed structs rebuilds each wire message byte for
// byte (frame 0 and every payload frame).
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

#include "protocol/codec/message_codec.hpp"
#include "protocol/framing/frame_decoder.hpp"
#include "protocol/messages/handshake.hpp"
#include "protocol/messages/op_table.hpp"
#include "tests/unit/trace_fixtures.hpp"

namespace daskcpp::protocol {
namespace {

using test::frames_of;

struct Conn {
  bool to_scheduler = false;
  bool peer_is_client = false;
  int seen[2] = {0, 0};
};

// Which table a message belongs to, from who connected to whom and the direction.
std::optional<Channel> channel_for(const Conn& c, int dir, bool is_batch) {
  if (!c.to_scheduler)
    return dir == 0 && !is_batch ? std::optional(Channel::kWorkerRpc) : std::nullopt;
  if (!is_batch) return dir == 0 ? std::optional(Channel::kSchedulerRpc) : std::nullopt;
  if (c.peer_is_client) {
    return dir == 0 ? Channel::kClientToScheduler : Channel::kSchedulerToClient;
  }
  return dir == 0 ? Channel::kWorkerToScheduler : Channel::kSchedulerToWorker;
}

// Decodes one op with the table and encodes the struct again; unknown ops stay as
// they were.
Value retyped(Channel channel, const Value& op, std::map<std::string, int>& counts) {
  const Value* name = op.find("op");
  REQUIRE(name != nullptr);
  if (!lookup_op(channel, name->as_str()).ok()) return op;
  auto m = decode_op(channel, op);
  INFO(name->as_str() << " on " << channel_name(channel) << ": " << m.status().to_string()
                      << "\n"
                      << op.to_debug_string(2000));
  REQUIRE(m.ok());
  ++counts[name->as_str()];
  return encode_op(*m);
}

TEST_CASE("recorded ops re-encode byte for byte from their structs",
          "[messages][traces]") {
  std::map<std::string, int> counts;
  int handshakes = 0;
  for (const std::string& path : test::raw_trace_paths()) {
    auto records = read_trace(path);
    REQUIRE(records.ok());
    std::map<std::uint32_t, Conn> conns;
    for (const TraceRecord& r : *records) {
      if (r.type == TraceRecordType::kConnOpened) {
        const std::string_view json = r.payload.view();
        Conn c;
        c.to_scheduler =
            json.find("\"listener\": \"scheduler\"") != std::string_view::npos;
        c.peer_is_client =
            json.find("\"peer_role\": \"client\"") != std::string_view::npos;
        conns[r.conn] = c;
        continue;
      }
      if (r.type != TraceRecordType::kMessage) continue;
      Conn& c = conns[r.conn];
      const Frames frames = frames_of(r.payload);
      auto v = decode_message(frames);
      REQUIRE(v.ok());
      if (c.seen[r.dir]++ == 0) {  // the handshake
        auto h = Handshake::decode(*v);
        REQUIRE(h.ok());
        CHECK(h->encode() == *v);
        ++handshakes;
        continue;
      }
      Value rebuilt = *v;
      if (v->is_array()) {
        auto channel = channel_for(c, r.dir, true);
        REQUIRE(channel.has_value());
        for (Value& op : rebuilt.as_array()) op = retyped(*channel, op, counts);
      } else if (v->is_map() && v->find("op") != nullptr) {
        auto channel = channel_for(c, r.dir, false);
        if (!channel) continue;
        rebuilt = retyped(*channel, *v, counts);
      } else {
        continue;  // replies and the "OK" ack
      }
      const Frames again = encode_message(rebuilt);
      INFO(path << " conn " << r.conn << " dir " << int(r.dir));
      REQUIRE(again.size() == frames.size());
      for (std::size_t i = 0; i < frames.size(); ++i) CHECK(again[i] == frames[i]);
    }
  }
  CHECK(handshakes > 20);
  // Every op the three captures contain, by name.
  const std::set<std::string> expected = {"register-worker",  "worker-status-change",
                                          "heartbeat_worker", "identity",
                                          "register-client",  "stream-start",
                                          "subscribe-topic",  "update-graph",
                                          "compute-task",     "task-finished",
                                          "key-in-memory",    "gather",
                                          "get_data",         "client-releases-keys",
                                          "free-keys",        "release-worker-data",
                                          "close-client",     "close-stream",
                                          "remove-worker",    "task-erred",
                                          "cancel-keys",      "cancelled-keys"};
  for (const std::string& name : expected) {
    INFO(name);
    CHECK(counts[name] > 0);
  }
}

}  // namespace
}  // namespace daskcpp::protocol
