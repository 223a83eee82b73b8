// TaskRunner's routing of ops the C++ worker does not serve to the handlers a
// WorkerPlugin registered on the facade (the P2P shuffle's shuffle_receive,
// shuffle-fail): request frames in, distributed.protocol.loads on the facade loop,
// the reply back as dumps frames the C++ codec decodes. No sockets.

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>

#include "protocol/codec/message_codec.hpp"
#include "python_compat/task_runner.hpp"
#include "tests/unit/python_compat/test_support.hpp"

namespace daskcpp::python_compat {
namespace {

using protocol::make_map;
using protocol::Value;

TaskRunner& runner() {
  static std::unique_ptr<TaskRunner> instance = [] {
    auto started = TaskRunner::start(test::interpreter(), 1);
    if (!started.ok()) FAIL("TaskRunner: " << started.status().to_string());
    WorkerInfo info;
    info.address = "tcp://127.0.0.1:1";
    info.name = "w";
    info.id = "Worker-test";
    info.scheduler_address = "tcp://127.0.0.1:2";
    info.local_directory = "/tmp";
    Status configured = (*started)->configure_worker(info, WorkerHooks{});
    if (!configured.ok()) FAIL("configure_worker: " << configured.to_string());
    auto registered =
        test::interpreter().call_sync("daskcpp_worker_handler_fixtures", "register", {});
    if (!registered.ok()) FAIL("register: " << registered.status().to_string());
    return std::move(started).value();
  }();
  return *instance;
}

// call_handler, waiting for the reply; nullopt when the facade has no handler.
std::optional<Value> call(const std::string& op, const Value& request) {
  auto reply = std::make_shared<std::promise<std::vector<Bytes>>>();
  std::future<std::vector<Bytes>> done = reply->get_future();
  Result<bool> found = runner().call_handler(
      op, protocol::encode_message(request),
      [reply](std::vector<Bytes> frames) { reply->set_value(std::move(frames)); });
  REQUIRE(found.ok());
  if (!*found) return std::nullopt;
  REQUIRE(done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  Result<Value> decoded = protocol::decode_message(done.get());
  REQUIRE(decoded.ok());
  return std::move(decoded).value();
}

TEST_CASE("an RPC op runs the facade's handler on its loop", "[python_compat][worker]") {
  std::optional<Value> reply = call(
      "echo", make_map({{"a", 2}, {"data", Bytes::copy_of(std::string_view("xyz"))}}));
  REQUIRE(reply);
  CHECK(*reply == make_map({{"n", 5}, {"thread", "daskcpp-worker-loop"}}));
}

TEST_CASE("an op no handler serves is not taken", "[python_compat][worker]") {
  CHECK_FALSE(call("no-such-op", make_map({})));
  Result<bool> stream = runner().call_stream_handler(
      "no-such-op", protocol::encode_message(make_map({{"op", "no-such-op"}})));
  REQUIRE(stream.ok());
  CHECK_FALSE(*stream);
}

TEST_CASE("stream ops run in arrival order", "[python_compat][worker]") {
  for (int i = 0; i < 5; ++i) {
    Result<bool> queued = runner().call_stream_handler(
        "note", protocol::encode_message(make_map({{"op", "note"}, {"i", i}})));
    REQUIRE(queued.ok());
    CHECK(*queued);
  }
  // The RPC is queued on the loop after the stream ops: they have all run.
  std::optional<Value> seen = call("seen", make_map({}));
  REQUIRE(seen);
  CHECK(*seen == Value(protocol::Array{0, 1, 2, 3, 4}));
}

TEST_CASE("extension heartbeats", "[python_compat][worker]") {
  Result<std::optional<Bytes>> beats = runner().extensions_heartbeat();
  REQUIRE(beats.ok());
  REQUIRE(beats->has_value());
  Result<Value> decoded = protocol::decode_msgpack((*beats)->span());
  REQUIRE(decoded.ok());
  CHECK(*decoded == make_map({{"ext", make_map({{"runs", 1}})}}));
}

}  // namespace
}  // namespace daskcpp::python_compat
