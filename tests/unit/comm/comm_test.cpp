// Comm over loopback: handshake in both orders, a large multi-frame message,
// bad bytes. Real sockets on 127.0.0.1 (the task allows them for comm tests).

#include "protocol/comm/comm.hpp"

#include <catch2/catch.hpp>
#include <memory>
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

struct Server {
  asio::io_context& io;
  std::shared_ptr<Listener> listener;
  std::vector<std::shared_ptr<Comm>> accepted;

  explicit Server(asio::io_context& ctx, CommOptions options = {}) : io(ctx) {
    auto l = Listener::listen(io.get_executor(), Address{"127.0.0.1", 0}, options,
                              [this](std::shared_ptr<Comm> c) { accepted.push_back(c); });
    REQUIRE(l.ok());
    listener = *l;
    listener->start();
  }
  ~Server() { listener->stop(); }
  std::string address() const { return format_address("127.0.0.1", listener->port()); }
};

// A plain socket (no Comm) for playing a misbehaving or differently-ordered peer.
tcp::socket raw_connect(asio::io_context& io, std::uint16_t port) {
  tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  return s;
}

Bytes wire_bytes(const Value& v) { return encode_frames_contiguous(encode_message(v)); }

asio::awaitable<Result<Value>> read_one_message(tcp::socket& s) {
  FrameDecoder decoder;
  std::vector<Frames> out;
  std::uint8_t buf[4096];
  while (out.empty()) {
    ErrorCode ec;
    std::size_t n = co_await s.async_read_some(
        asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Status::IOError(ec.message());
    Status st = decoder.consume({buf, n}, out);
    if (!st.ok()) co_return st;
  }
  co_return decode_message(out.front());
}

Value handshake_of(int pickle_protocol) {
  Handshake h;
  h.pickle_protocol = pickle_protocol;
  return h.encode();
}

}  // namespace

TEST_CASE("handshake: connect() and Listener negotiate min pickle protocol",
          "[comm][handshake]") {
  asio::io_context io;
  Server server(io);
  CommOptions client_options;
  client_options.pickle_protocol = 4;  // as the scheduler on connections it opens
  auto comm = run_coro(io, connect(server.address(), client_options, {}));
  REQUIRE(comm.ok());
  REQUIRE(run_until(io, [&] { return server.accepted.size() == 1; }));
  CHECK((*comm)->session().pickle_protocol == 4);
  CHECK(server.accepted[0]->session().pickle_protocol == 4);
  CHECK((*comm)->session().compression == std::nullopt);
  CHECK(server.accepted[0]->peer_address() == (*comm)->local_address());
}

TEST_CASE("handshake: server writes first without waiting for the peer",
          "[comm][handshake]") {
  asio::io_context io;
  Server server(io);
  tcp::socket raw = raw_connect(io, server.listener->port());
  // The peer reads before writing anything: the server's map must arrive.
  Result<Value> theirs = run_coro(io, read_one_message(raw));
  REQUIRE(theirs.ok());
  CHECK(*theirs == handshake_of(5));
  CHECK(server.accepted.empty());
  Bytes ours = wire_bytes(handshake_of(4));
  asio::write(raw, asio::buffer(ours.data(), ours.size()));
  REQUIRE(run_until(io, [&] { return server.accepted.size() == 1; }));
  CHECK(server.accepted[0]->session().pickle_protocol == 4);
}

TEST_CASE("handshake: peer writes first, then reads", "[comm][handshake]") {
  asio::io_context io;
  Server server(io);
  tcp::socket raw = raw_connect(io, server.listener->port());
  Bytes ours = wire_bytes(handshake_of(5));
  asio::write(raw, asio::buffer(ours.data(), ours.size()));
  REQUIRE(run_until(io, [&] { return server.accepted.size() == 1; }));
  Result<Value> theirs = run_coro(io, read_one_message(raw));
  REQUIRE(theirs.ok());
  CHECK(*theirs == handshake_of(5));
}

TEST_CASE("handshake: a map without pickle-protocol closes only that comm",
          "[comm][handshake]") {
  asio::io_context io;
  Server server(io);
  tcp::socket raw = raw_connect(io, server.listener->port());
  Bytes bad = wire_bytes(make_map({{"compression", Value()}}));
  asio::write(raw, asio::buffer(bad.data(), bad.size()));
  // We get the server's handshake, then EOF.
  REQUIRE(run_coro(io, read_one_message(raw)).ok());
  Result<Value> next = run_coro(io, read_one_message(raw));
  CHECK(next.status() ==
        Status::IOError(asio::error::make_error_code(asio::error::eof).message()));
  CHECK(server.accepted.empty());
  // The listener still serves others.
  auto good = run_coro(io, connect(server.address(), {}, {}));
  CHECK(good.ok());
}

TEST_CASE("a large multi-frame message arrives intact", "[comm]") {
  asio::io_context io;
  Server server(io);
  auto client = run_coro(io, connect(server.address(), {}, {}));
  REQUIRE(client.ok());
  REQUIRE(run_until(io, [&] { return server.accepted.size() == 1; }));

  std::vector<std::uint8_t> big(3 * 1024 * 1024 + 17);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 31);
  std::vector<std::uint8_t> medium(100'000, 0xab);
  auto header =
      encode_msgpack(make_map({{"serializer", Value("pickle")},
                               {"num-sub-frames", Value(2)},
                               {"compression", Value(Array{Value(), Value()})}}));
  REQUIRE(header.ok());
  auto payload = std::make_shared<Payload>();
  payload->kind = Payload::Kind::kSerialized;
  payload->header = *header;
  payload->frames = {Bytes::from_vector(big), Bytes::from_vector(medium)};
  Value msg = make_map({{"op", Value("update_data")},
                        {"data", Value(PayloadPtr(payload))},
                        {"n", Value(7)}});
  REQUIRE((*client)->write(msg).ok());
  REQUIRE((*client)->write(make_map({{"op", Value("second")}})).ok());
  Result<Value> got = run_coro(io, server.accepted[0]->read());
  REQUIRE(got.ok());
  CHECK(*got == msg);
  REQUIRE(got->find("data")->is_payload());
  CHECK(got->find("data")->as_payload()->frames.at(0).size() == big.size());
  Result<Value> second = run_coro(io, server.accepted[0]->read());
  REQUIRE(second.ok());
  CHECK(*second == make_map({{"op", Value("second")}}));
  CHECK((*client)->queued_bytes() == 0);
}

TEST_CASE("read(): EOF and close are IOErrors, a closed comm refuses writes", "[comm]") {
  asio::io_context io;
  Server server(io);
  auto client = run_coro(io, connect(server.address(), {}, {}));
  REQUIRE(client.ok());
  REQUIRE(run_until(io, [&] { return server.accepted.size() == 1; }));
  (*client)->close();
  Result<Value> got = run_coro(io, server.accepted[0]->read());
  CHECK(got.status() ==
        Status::IOError("connection closed by " + server.accepted[0]->peer_address()));
  CHECK(server.accepted[0]->closed());
  CHECK(server.accepted[0]->write(Value(1)).code() == StatusCode::kIOError);
}

TEST_CASE("read() with a timeout aborts the comm", "[comm]") {
  asio::io_context io;
  Server server(io);
  auto client = run_coro(io, connect(server.address(), {}, {}));
  REQUIRE(client.ok());
  Result<Value> got = run_coro(io, (*client)->read(std::chrono::milliseconds(20)));
  CHECK(got.status() == Status::IOError("timed out after 20 ms reading from " +
                                        (*client)->peer_address()));
  CHECK((*client)->closed());
}

TEST_CASE("connect() to a closed port fails after its timeout", "[comm]") {
  asio::io_context io;
  std::uint16_t port;
  {
    Server server(io);
    port = server.listener->port();
  }
  ConnectOptions options;
  options.timeout = std::chrono::milliseconds(100);
  auto comm = run_coro(io, connect(format_address("127.0.0.1", port), {}, options));
  REQUIRE(!comm.ok());
  CHECK(comm.status().code() == StatusCode::kIOError);
  CHECK(comm.status().message().find("timed out after 100 ms trying to connect to") == 0);
}
