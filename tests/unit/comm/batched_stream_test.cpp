// BatchedSend / BatchedStream over loopback: coalescing, stream-start alone,
// incoming dispatch rules, and the single stream-closed callback.

#include "protocol/comm/batched_stream.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "protocol/codec/message_codec.hpp"
#include "protocol/comm/connect.hpp"
#include "protocol/comm/listener.hpp"
#include "protocol/messages/handshake.hpp"
#include "tests/unit/comm/loopback.hpp"

using namespace daskcpp;
using namespace daskcpp::protocol;
using daskcpp::test::run_coro;
using daskcpp::test::run_until;

namespace {

// A connected pair: `ours` (accepted by a listener) and `peer` (connected).
struct Pair {
  asio::io_context io;
  std::shared_ptr<Listener> listener;
  std::shared_ptr<Comm> ours;
  std::shared_ptr<Comm> peer;

  Pair() {
    auto l = Listener::listen(io.get_executor(), Address{"127.0.0.1", 0}, {},
                              [this](std::shared_ptr<Comm> c) { ours = std::move(c); });
    REQUIRE(l.ok());
    listener = *l;
    listener->start();
    auto c = run_coro(io, connect(format_address("127.0.0.1", listener->port()), {}, {}));
    REQUIRE(c.ok());
    peer = *c;
    REQUIRE(run_until(io, [&] { return ours != nullptr; }));
    listener->stop();
  }
};

Value op(const std::string& name, int i) {
  return make_map({{"op", Value(name)}, {"i", Value(i)}});
}

}  // namespace

TEST_CASE("BatchedSend coalesces every op of a loop turn into one message",
          "[comm][batched]") {
  Pair p;
  auto send = BatchedSend::make(p.ours, std::chrono::milliseconds(2));
  Array expected;
  for (int i = 0; i < 100; ++i) {
    send->send(op("key-in-memory", i));
    expected.push_back(op("key-in-memory", i));
  }
  CHECK(send->pending() == 100);
  Result<Value> got = run_coro(p.io, p.peer->read());
  REQUIRE(got.ok());
  CHECK(*got == Value(expected));
  CHECK(send->batches_written() == 1);
  CHECK(send->ops_written() == 100);
}

TEST_CASE("send_alone: stream-start goes out as a batch of its own", "[comm][batched]") {
  Pair p;
  auto send = BatchedSend::make(p.ours, std::chrono::milliseconds(2));
  Value start = make_map(
      {{"op", Value("stream-start")}, {"warning", Value("")}, {"error", Value("")}});
  send->send_alone(start);
  send->send(op("a", 1));
  send->send(op("b", 2));
  Result<Value> first = run_coro(p.io, p.peer->read());
  REQUIRE(first.ok());
  CHECK(*first == Value(Array{start}));
  Result<Value> second = run_coro(p.io, p.peer->read());
  REQUIRE(second.ok());
  CHECK(*second == Value(Array{op("a", 1), op("b", 2)}));
}

TEST_CASE("BatchedSend::close flushes what is buffered, then closes", "[comm][batched]") {
  Pair p;
  auto send = BatchedSend::make(p.ours, std::chrono::seconds(10));
  send->send(op("a", 1));
  send->close();
  send->send(op("late", 2));  // dropped
  Result<Value> got = run_coro(p.io, p.peer->read());
  REQUIRE(got.ok());
  CHECK(*got == Value(Array{op("a", 1)}));
  CHECK(run_coro(p.io, p.peer->read()).status().code() == StatusCode::kIOError);
}

TEST_CASE(
    "BatchedStream dispatches in order with context; OK stops a batch; "
    "close-stream ends the stream",
    "[comm][batched]") {
  Pair p;
  auto stream = BatchedStream::make(p.ours, std::chrono::milliseconds(2));
  std::vector<std::string> seen;
  StreamHandlers handlers;
  handlers.add("note", [&](const StreamMessage& m) {
    const Value* client = m.get("client");
    const Value* i = m.get("i");
    seen.push_back(std::string(m.op) + ":" + client->as_str() + ":" +
                   std::to_string(i->as_int64()));
    return Status::OK();
  });
  int closed_calls = 0;
  Status closed_reason = Status::Invalid("not called");
  bool finished = false;
  asio::co_spawn(p.io,
                 stream->run(handlers, make_map({{"client", Value("Client-1")}}),
                             [&](const Status& st) {
                               ++closed_calls;
                               closed_reason = st;
                             }),
                 [&](std::exception_ptr, Status) { finished = true; });
  // The op-map's own `client` wins over the injected one.
  Value own =
      make_map({{"op", Value("note")}, {"i", Value(2)}, {"client", Value("mine")}});
  REQUIRE(
      p.peer->write(Value(Array{op("note", 1), own, Value("OK"), op("note", 99)})).ok());
  REQUIRE(p.peer->write(op("note", 3)).ok());  // not a list: a batch of one
  REQUIRE(p.peer->write(Value(Array{op("unknown-op", 4), op("note", 5)})).ok());
  REQUIRE(
      p.peer
          ->write(Value(Array{make_map({{"op", Value("close-stream")}}), op("note", 6)}))
          .ok());
  REQUIRE(run_until(p.io, [&] { return finished; }));
  CHECK(seen == std::vector<std::string>{"note:Client-1:1", "note:mine:2",
                                         "note:Client-1:3", "note:Client-1:5"});
  CHECK(closed_calls == 1);
  CHECK(closed_reason.ok());
  CHECK(p.ours->closed());
}

TEST_CASE("BatchedStream: peer closing mid-message calls stream-closed once",
          "[comm][batched]") {
  asio::io_context io;
  std::shared_ptr<Comm> ours;
  auto listener = Listener::listen(io.get_executor(), Address{"127.0.0.1", 0}, {},
                                   [&](std::shared_ptr<Comm> c) { ours = std::move(c); });
  REQUIRE(listener.ok());
  (*listener)->start();
  // A raw peer: the Comm only ever writes whole messages.
  tcp::socket raw(io);
  raw.connect({asio::ip::make_address("127.0.0.1"), (*listener)->port()});
  auto wire = [](const Value& v) { return encode_frames_contiguous(encode_message(v)); };
  Handshake h;
  Bytes hs = wire(h.encode());
  asio::write(raw, asio::buffer(hs.data(), hs.size()));
  REQUIRE(run_until(io, [&] { return ours != nullptr; }));

  auto stream = BatchedStream::make(ours, std::chrono::milliseconds(2));
  StreamHandlers handlers;
  int handled = 0;
  handlers.add("note", [&](const StreamMessage&) {
    ++handled;
    return Status::OK();
  });
  int closed_calls = 0;
  Status closed_reason;
  bool finished = false;
  asio::co_spawn(io,
                 stream->run(handlers, make_map({}),
                             [&](const Status& st) {
                               ++closed_calls;
                               closed_reason = st;
                             }),
                 [&](std::exception_ptr, Status) { finished = true; });
  Bytes first = wire(Value(Array{op("note", 1)}));
  Bytes second = wire(Value(Array{op("note", 2)}));
  asio::write(raw, asio::buffer(first.data(), first.size()));
  REQUIRE(run_until(io, [&] { return handled == 1; }));
  asio::write(raw, asio::buffer(second.data(), second.size() / 2));
  raw.shutdown(tcp::socket::shutdown_send);
  REQUIRE(run_until(io, [&] { return finished; }));
  CHECK(handled == 1);
  CHECK(closed_calls == 1);
  CHECK(closed_reason == Status::IOError("connection closed by " + ours->peer_address() +
                                         " in the middle of a message"));
  // Later closes do not call back again.
  stream->close();
  io.restart();
  io.poll();
  CHECK(closed_calls == 1);
  (*listener)->stop();
}

TEST_CASE("BatchedStream: a handler error ends the stream with that error",
          "[comm][batched]") {
  Pair p;
  auto stream = BatchedStream::make(p.ours, std::chrono::milliseconds(2));
  StreamHandlers handlers;
  handlers.add("bad",
               [](const StreamMessage&) { return Status::KeyError("no key 'x'"); });
  Status reason = run_coro(p.io, [&]() -> asio::awaitable<Status> {
    (void)p.peer->write(Value(Array{make_map({{"op", Value("bad")}})}));
    co_return co_await stream->run(handlers, make_map({}), {});
  }());
  CHECK(reason == Status::KeyError("no key 'x'")
                      .with_context("stream op 'bad' from " + p.ours->peer_address()));
}
