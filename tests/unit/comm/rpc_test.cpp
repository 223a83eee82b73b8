// RPC server (serve_rpc) and client (ConnectionPool/send_recv/Rpc) over loopback.

#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "protocol/codec/message_codec.hpp"
#include "protocol/comm/connection_pool.hpp"
#include "protocol/comm/listener.hpp"
#include "protocol/comm/rpc_server.hpp"
#include "protocol/messages/handshake.hpp"
#include "tests/unit/comm/loopback.hpp"

using namespace daskcpp;
using namespace daskcpp::protocol;
using daskcpp::test::run_coro;
using daskcpp::test::run_until;

namespace {

// A listener whose comms are served by serve_rpc with `handlers`.
struct RpcServer {
  asio::io_context& io;
  RpcHandlers handlers{"TestServer"};
  std::shared_ptr<Listener> listener;
  int served = 0;  // comms whose serve_rpc finished
  int accepted = 0;

  explicit RpcServer(asio::io_context& ctx) : io(ctx) {
    handlers.add_sync("echo", [](RpcRequest& req) { return req.args; });
    handlers.add_sync("ping", [](RpcRequest&) { return Value("pong"); });
    // An asynchronous handler: suspends on a timer without blocking the loop.
    handlers.add("slow", [](RpcRequest& req) -> asio::awaitable<Value> {
      asio::steady_timer t(req.comm->executor());
      t.expires_after(std::chrono::milliseconds(30));
      co_await t.async_wait(asio::use_awaitable);
      co_return Value("slept");
    });
    auto l = Listener::listen(io.get_executor(), Address{"127.0.0.1", 0}, {},
                              [this](std::shared_ptr<Comm> c) {
                                ++accepted;
                                asio::co_spawn(io, serve(std::move(c)), asio::detached);
                              });
    REQUIRE(l.ok());
    listener = *l;
    listener->start();
  }
  ~RpcServer() { listener->stop(); }
  asio::awaitable<void> serve(std::shared_ptr<Comm> c) {
    co_await serve_rpc(std::move(c), handlers);
    ++served;
  }
  std::string address() const { return format_address("127.0.0.1", listener->port()); }
};

}  // namespace

TEST_CASE("rpc: request/reply, reply is the handler's value", "[comm][rpc]") {
  asio::io_context io;
  RpcServer server(io);
  ConnectionPool pool({}, {});
  Rpc rpc(pool, server.address());
  Value request =
      make_map({{"op", Value("echo")}, {"x", Value(1)}, {"reply", Value(true)}});
  Result<Value> reply = run_coro(io, rpc.call(request));
  REQUIRE(reply.ok());
  // op and reply are popped before the handler sees the arguments.
  CHECK(*reply == make_map({{"x", Value(1)}}));
  // The comm went back to the pool and is reused.
  CHECK(pool.idle_count(server.address()) == 1);
  reply = run_coro(io, rpc.call(make_map({{"op", Value("ping")}})));
  REQUIRE(reply.ok());
  CHECK(*reply == Value("pong"));
  CHECK(pool.connects() == 1);
  CHECK(server.accepted == 1);
}

TEST_CASE("rpc: unknown op gets nil and the comm keeps serving", "[comm][rpc]") {
  asio::io_context io;
  RpcServer server(io);
  ConnectionPool pool({}, {});
  Result<Value> reply =
      run_coro(io, send_recv(pool, server.address(), make_map({{"op", Value("nope")}})));
  REQUIRE(reply.ok());
  CHECK(reply->is_nil());
  reply =
      run_coro(io, send_recv(pool, server.address(), make_map({{"op", Value("ping")}})));
  REQUIRE(reply.ok());
  CHECK(*reply == Value("pong"));
  CHECK(pool.connects() == 1);
}

TEST_CASE("rpc: comms are served concurrently, each sequentially", "[comm][rpc]") {
  asio::io_context io;
  RpcServer server(io);
  ConnectionPool pool({}, {});
  std::vector<std::string> order;
  auto call = [&](std::string op) -> asio::awaitable<int> {
    Value request = make_map({{"op", Value(op)}});
    Result<Value> r = co_await send_recv(pool, server.address(), std::move(request));
    std::string outcome = "error";
    if (r.ok() && r->is_str()) outcome = r->as_str();
    order.push_back(outcome);
    co_return 0;
  };
  // Both calls start before either finishes: two comms, and the fast one
  // overtakes the slow one.
  auto both = [&]() -> asio::awaitable<int> {
    auto ex = co_await asio::this_coro::executor;
    bool slow_done = false;
    asio::co_spawn(ex, call(std::string("slow")),
                   [&](std::exception_ptr, int) { slow_done = true; });
    co_await call(std::string("ping"));
    asio::steady_timer t(ex);
    while (!slow_done) {
      t.expires_after(std::chrono::milliseconds(5));
      co_await t.async_wait(asio::use_awaitable);
    }
    co_return 0;
  };
  run_coro(io, both());
  CHECK(order == std::vector<std::string>{"pong", "slept"});
  CHECK(pool.connects() == 2);
}

TEST_CASE("rpc: op 'close' answers OK and ends the comm; reply:false sends nothing",
          "[comm][rpc]") {
  asio::io_context io;
  RpcServer server(io);
  auto comm = run_coro(io, connect(server.address(), {}, {}));
  REQUIRE(comm.ok());
  REQUIRE(
      (*comm)->write(make_map({{"op", Value("ping")}, {"reply", Value(false)}})).ok());
  REQUIRE((*comm)->write(make_map({{"op", Value("close")}})).ok());
  Result<Value> first = run_coro(io, (*comm)->read());
  REQUIRE(first.ok());
  CHECK(*first == Value("OK"));  // nothing came for the reply:false request
  Result<Value> eof = run_coro(io, (*comm)->read());
  CHECK(eof.status().code() == StatusCode::kIOError);
  CHECK(run_until(io, [&] { return server.served == 1; }));
}

TEST_CASE("rpc: a non-map or op-less message closes only that comm", "[comm][rpc]") {
  asio::io_context io;
  RpcServer server(io);
  for (Value bad : {Value(Array{Value(1)}), make_map({{"x", Value(1)}})}) {
    auto comm = run_coro(io, connect(server.address(), {}, {}));
    REQUIRE(comm.ok());
    REQUIRE((*comm)->write(bad).ok());
    Result<Value> got = run_coro(io, (*comm)->read());
    CHECK(got.status().code() == StatusCode::kIOError);
  }
  CHECK(run_until(io, [&] { return server.served == 2; }));
  ConnectionPool pool({}, {});
  Result<Value> reply =
      run_coro(io, send_recv(pool, server.address(), make_map({{"op", Value("ping")}})));
  REQUIRE(reply.ok());
  CHECK(*reply == Value("pong"));
}

TEST_CASE("rpc: a non-str op is an unknown op: nil reply, the comm stays usable",
          "[comm][rpc]") {
  // Stock looks the op up in its handler dict, so {"op": 3} is "No handler 3".
  asio::io_context io;
  RpcServer server(io);
  auto comm = run_coro(io, connect(server.address(), {}, {}));
  REQUIRE(comm.ok());
  REQUIRE((*comm)->write(make_map({{"op", Value(3)}, {"reply", Value(true)}})).ok());
  Result<Value> got = run_coro(io, (*comm)->read());
  REQUIRE(got.ok());
  CHECK(got->is_nil());
  REQUIRE((*comm)->write(make_map({{"op", Value("ping")}})).ok());
  got = run_coro(io, (*comm)->read());
  REQUIRE(got.ok());
  CHECK(*got == Value("pong"));
}

TEST_CASE("rpc: garbage bytes close that comm, the listener keeps serving",
          "[comm][rpc]") {
  asio::io_context io;
  RpcServer server(io);
  tcp::socket raw(io);
  raw.connect({asio::ip::make_address("127.0.0.1"), server.listener->port()});
  Handshake h;
  Bytes hs = encode_frames_contiguous(encode_message(h.encode()));
  asio::write(raw, asio::buffer(hs.data(), hs.size()));
  // An HTTP request where a Dask message should be: N = "TP/1.1\r\n" frames.
  std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(raw, asio::buffer(garbage));
  REQUIRE(run_until(io, [&] { return server.served == 1; }));
  CHECK(server.accepted == 1);

  ConnectionPool pool({}, {});
  Result<Value> reply =
      run_coro(io, send_recv(pool, server.address(), make_map({{"op", Value("ping")}})));
  REQUIRE(reply.ok());
  CHECK(*reply == Value("pong"));
}

TEST_CASE("rpc: an uncaught-error reply becomes an error naming the exception",
          "[comm][rpc]") {
  asio::io_context io;
  RpcServer server(io);
  server.handlers.add_sync("fail", [](RpcRequest&) {
    return make_map({{"status", Value("uncaught-error")},
                     {"exception", Value(Bytes::copy_of(std::string_view("pickle")))},
                     {"traceback", Value()},
                     {"exception_text", Value("KeyError('x')")},
                     {"traceback_text", Value("")}});
  });
  ConnectionPool pool({}, {});
  Result<Value> reply =
      run_coro(io, send_recv(pool, server.address(), make_map({{"op", Value("fail")}})));
  CHECK(reply.status() ==
        Status(StatusCode::kUnknown,
               "remote uncaught-error from " + server.address() + ": KeyError('x')"));
}
