#include <catch2/catch.hpp>
#include <regex>

#include "protocol/messages/uuid.hpp"

using daskcpp::protocol::uuid4;

TEST_CASE("uuid4 has Python's str(uuid.uuid4()) form: version 4, RFC 4122 variant") {
  const std::regex form(
      "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::mt19937_64 gen(42);
  for (int i = 0; i < 200; ++i) {
    const std::string id = uuid4(gen);
    INFO(id);
    REQUIRE(std::regex_match(id, form));
  }
  REQUIRE(std::regex_match(uuid4(), form));
}

TEST_CASE("uuid4 ids differ: from one generator and from fresh seeds") {
  std::mt19937_64 gen(7);
  REQUIRE(uuid4(gen) != uuid4(gen));
  REQUIRE(uuid4() != uuid4());
}
