#include "tests/unit/python_compat/test_support.hpp"

#include <catch2/catch.hpp>
#include <memory>

#include "protocol/codec/message_codec.hpp"

namespace daskcpp::python_compat::test {

Interpreter& interpreter() {
  static std::unique_ptr<Interpreter> instance = [] {
    InterpreterOptions options;
    options.sys_path = {DASKCPP_TEST_FIXTURES_DIR};
    auto started = Interpreter::start(options);
    if (!started.ok()) FAIL("interpreter: " << started.status().to_string());
    return std::move(started).value();
  }();
  return *instance;
}

std::vector<Bytes> call(const std::string& function, std::vector<Bytes> args) {
  auto result = interpreter().call_sync(kFixtures, function, std::move(args));
  if (!result.ok()) FAIL(function << ": " << result.status().to_string());
  return std::move(result).value();
}

MaterializeRequest request_from_frames(const protocol::Frames& frames) {
  auto decoded = protocol::decode_message(frames);
  REQUIRE(decoded.ok());
  const protocol::Value& batch = decoded.value();
  REQUIRE(batch.is_array());
  REQUIRE(batch.as_array().size() == 1);
  const protocol::Value& op = batch.as_array()[0];
  REQUIRE(op.find("op")->as_str() == "update-graph");
  MaterializeRequest request;
  request.expr = op.find("expr_ser")->as_payload();
  if (const protocol::Value* a = op.find("annotations");
      a != nullptr && a->is_payload()) {
    request.annotations = a->as_payload();
  }
  const protocol::Array* keys = protocol::set_items(*op.find("keys"));
  REQUIRE(keys != nullptr);
  request.keys = *keys;
  request.internal_priority = *op.find("internal_priority");
  return request;
}

}  // namespace daskcpp::python_compat::test
