#include "python_compat/interpreter.hpp"

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "tests/unit/python_compat/test_support.hpp"

namespace daskcpp::python_compat {
namespace {

std::string text(const Bytes& b) { return std::string(b.view()); }

TEST_CASE("the interpreter uses the configured virtualenv", "[interpreter]") {
  auto out = test::call("environment");
  REQUIRE(out.size() == 3);
  const std::string exe = Interpreter::default_python_executable();
  // <venv>/bin/python -> sys.prefix is <venv>
  CHECK(text(out[0]) + "/bin/python" == exe);
  CHECK(text(out[1]) == "3.11");
  CHECK(text(out[2]).find("/python_compat/daskcpp/__init__.py") != std::string::npos);
}

TEST_CASE("jobs run in order on one thread that is not the caller's", "[interpreter]") {
  Interpreter& interp = test::interpreter();
  std::vector<std::thread::id> ids;
  std::vector<int> seen;
  std::promise<void> done;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(interp.post([&, i] {
      ids.push_back(std::this_thread::get_id());
      seen.push_back(i);
      if (i == 4) done.set_value();
    }));
  }
  done.get_future().wait();
  CHECK(seen == std::vector<int>{0, 1, 2, 3, 4});
  for (auto id : ids) CHECK(id == ids[0]);
  CHECK(ids[0] != std::this_thread::get_id());
}

TEST_CASE("a Python exception becomes PythonError with its traceback", "[interpreter]") {
  auto r = test::interpreter().call_sync("json", "loads", {Bytes::copy_of("{nope")});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kPythonError);
  CHECK(r.status().message().find("json.loads: Traceback (most recent call last):") == 0);
  CHECK(r.status().message().find(
            "json.decoder.JSONDecodeError: Expecting property name "
            "enclosed in double quotes: line 1 column 2 (char 1)") != std::string::npos);
  // And the thread keeps serving.
  auto ok = test::interpreter().call_sync("json", "dumps", {});
  REQUIRE_FALSE(ok.ok());
  CHECK(ok.status().message().find("TypeError") != std::string::npos);
  CHECK(test::call("environment").size() == 3);
}

TEST_CASE("a non-bytes return value is an error naming the function", "[interpreter]") {
  auto r = test::interpreter().call_sync("os", "getcwd", {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("os.getcwd: expected bytes") == 0);
}

TEST_CASE("a second interpreter in the same process is refused", "[interpreter]") {
  test::interpreter();
  auto second = Interpreter::start({});
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == StatusCode::kInvalid);
  CHECK(second.status().message().find("already started") != std::string::npos);
}

}  // namespace
}  // namespace daskcpp::python_compat
