#include "protocol/comm/address.hpp"

#include <catch2/catch.hpp>

#include "protocol/comm/byte_sample.hpp"

using namespace daskcpp;
using namespace daskcpp::protocol;

TEST_CASE("parse_address: tcp URI, bare host:port, IPv6 brackets", "[comm][address]") {
  CHECK(*parse_address("tcp://127.0.0.1:8786") == Address{"127.0.0.1", 8786});
  CHECK(*parse_address("localhost:0") == Address{"localhost", 0});
  CHECK(*parse_address("tcp://[::1]:36287") == Address{"::1", 36287});
  CHECK(*parse_address("tcp://myhost", 8786) == Address{"myhost", 8786});
  CHECK(*parse_address(":8787", 1) == Address{"", 8787});
}

TEST_CASE("parse_address: errors name the address", "[comm][address]") {
  CHECK(parse_address("tcp://h:99999").status() ==
        Status::Invalid("bad port in address 'tcp://h:99999'"));
  CHECK(parse_address("tcp://h:").status() ==
        Status::Invalid("bad port in address 'tcp://h:'"));
  CHECK(parse_address("tcp://h").status() ==
        Status::Invalid("missing port in address 'tcp://h'"));
  CHECK(parse_address("tcp://[::1:80").status() ==
        Status::Invalid("unterminated '[' in address 'tcp://[::1:80'"));
  CHECK(parse_address("tls://h:1").status() ==
        Status::NotImplemented("unsupported comm scheme 'tls' in address 'tls://h:1'"));
}

TEST_CASE("format_address brackets IPv6 hosts", "[comm][address]") {
  CHECK(format_address("127.0.0.1", 8786) == "tcp://127.0.0.1:8786");
  CHECK(format_address("::1", 1) == "tcp://[::1]:1");
  CHECK(format_address(*parse_address("tcp://[fe80::2]:5")) == "tcp://[fe80::2]:5");
}

TEST_CASE("escaped_sample escapes and cuts", "[comm]") {
  const std::uint8_t bytes[] = {'G', 'E', 'T', 0x00, 0xff, '\\', '\n'};
  CHECK(escaped_sample(bytes) == "GET\\x00\\xff\\x5c\\x0a");
  CHECK(escaped_sample(bytes, 3) == "GET...");
}
