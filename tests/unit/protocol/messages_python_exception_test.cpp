// Golden bytes of the scheduler-made exception pickles (protocol.md Appendix B).
// Each was loaded once with the pinned venv (pickle.loads and
// distributed.core.clean_exception) when this test was written.
#include <catch2/catch.hpp>
#include <string>

#include "protocol/codec/message_codec.hpp"
#include "protocol/messages/python_exception.hpp"

namespace daskcpp::protocol {
namespace {

std::string s(const Bytes& b) { return std::string(b.view()); }
using namespace std::string_literals;

TEST_CASE("builtin exceptions pickle to protocol-2 golden bytes", "[messages][pickle]") {
  CHECK(s(pickle_runtime_error("boom from C++")) ==
        "\x80\x02"
        "cbuiltins\nRuntimeError\n"
        "X\x0d\x00\x00\x00"
        "boom from C++"
        "\x85R."s);
  CHECK(s(pickle_key_error("no-such-key")) ==
        "\x80\x02"
        "cbuiltins\nKeyError\n"
        "X\x0b\x00\x00\x00"
        "no-such-key"
        "\x85R."s);
  CHECK(s(pickle_value_error("")) ==
        "\x80\x02"
        "cbuiltins\nValueError\n"
        "X\x00\x00\x00\x00"
        "\x85R."s);
  CHECK(s(pickle_type_error("é")) ==
        "\x80\x02"
        "cbuiltins\nTypeError\n"
        "X\x02\x00\x00\x00"
        "\xc3\xa9"
        "\x85R."s);
  CHECK(s(pickle_memory_error("oom")) ==
        "\x80\x02"
        "cbuiltins\nMemoryError\n"
        "X\x03\x00\x00\x00"
        "oom"
        "\x85R."s);
}

TEST_CASE("KilledWorker pickles with str and tuple keys", "[messages][pickle]") {
  const std::string address_part =
      "ctypes\nSimpleNamespace\n)R}"
      "X\x07\x00\x00\x00"
      "address"
      "X\x0b\x00\x00\x00"
      "tcp://a:123"
      "sb"s;
  auto str_key = pickle_killed_worker(Key::str("inc-1"), "tcp://a:123", 3);
  REQUIRE(str_key.ok());
  CHECK(s(*str_key) ==
        "\x80\x02"
        "cdistributed.scheduler\nKilledWorker\n"
        "("
        "X\x05\x00\x00\x00"
        "inc-1"s +
            address_part +
            "K\x03"
            "tR."s);
  auto tuple = Key::from_value(
      Value(Array{Value("sum"), Value(300), Value(Array{Value(-1), Value(1.5)})}));
  REQUIRE(tuple.ok());
  auto tuple_key = pickle_killed_worker(*tuple, "tcp://a:123", 3);
  REQUIRE(tuple_key.ok());
  CHECK(s(*tuple_key) ==
        "\x80\x02"
        "cdistributed.scheduler\nKilledWorker\n"
        "("
        "("
        "X\x03\x00\x00\x00"
        "sum"
        "J\x2c\x01\x00\x00"
        "("
        "J\xff\xff\xff\xff"
        "G\x3f\xf8\x00\x00\x00\x00\x00\x00"
        "t"
        "t"s +
            address_part +
            "K\x03"
            "tR."s);
}

TEST_CASE("uncaught-error reply", "[messages][pickle]") {
  const Value reply = uncaught_error_reply(pickle_key_error("x"), "'x'");
  auto bytes = encode_msgpack(reply);
  REQUIRE(bytes.ok());
  const std::string pickle = s(pickle_key_error("x"));
  CHECK(std::string(bytes->view()) ==
        "\x85"
        "\xa6status"
        "\xaeuncaught-error"
        "\xa9"
        "exception"
        "\xc4" +
            std::string(1, static_cast<char>(pickle.size())) + pickle +
            "\xa9traceback"
            "\xc0"
            "\xae"
            "exception_text"
            "\xa3'x'"
            "\xaetraceback_text"
            "\xa0"s);
  auto back = UncaughtError::decode(reply);
  REQUIRE(back.ok());
  CHECK(back->exception_text == "'x'");
  CHECK(back->traceback.is_nil());
  CHECK(back->encode() == reply);
}

}  // namespace
}  // namespace daskcpp::protocol
