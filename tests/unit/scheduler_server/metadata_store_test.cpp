// MetadataStore (Scheduler.set_metadata / get_metadata) and EventLog (Broker).

#include "scheduler/extensions/events/metadata_store.hpp"

#include <catch2/catch.hpp>

namespace daskcpp::scheduler {
namespace {

using protocol::Array;
using protocol::Map;
using protocol::Value;

TEST_CASE("metadata: nested set and get", "[metadata]") {
  MetadataStore m;
  REQUIRE(m.set({Value("a"), Value("b")}, Value(1)).ok());
  CHECK(*m.get({Value("a"), Value("b")}) == Value(1));
  CHECK(*m.get({Value("a")}) == Value(Map{{Value("b"), Value(1)}}));
  // Overwrite in place, keeping the entry's position.
  REQUIRE(m.set({Value("a"), Value("b")}, Value(2)).ok());
  REQUIRE(m.set({Value("z")}, Value("last")).ok());
  CHECK(*m.get({}) == Value(Map{{Value("a"), Value(Map{{Value("b"), Value(2)}})},
                                {Value("z"), Value("last")}}));
}

TEST_CASE("metadata: a non-dict on the path becomes a dict", "[metadata]") {
  MetadataStore m;
  REQUIRE(m.set({Value("a"), Value("b")}, Value(1)).ok());
  REQUIRE(m.set({Value("a"), Value("b"), Value("c")}, Value(2)).ok());
  CHECK(*m.get({Value("a")}) ==
        Value(Map{{Value("b"), Value(Map{{Value("c"), Value(2)}})}}));
}

TEST_CASE("metadata: missing path is a KeyError naming the key", "[metadata]") {
  MetadataStore m;
  REQUIRE(m.set({Value("a")}, Value(Array{Value(10), Value(20)})).ok());
  Result<Value> missing = m.get({Value("no-such-key")});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status() == Status::KeyError("no-such-key"));
  Result<Value> deeper = m.get({Value("a"), Value(5)});
  CHECK(deeper.status() == Status::KeyError("5"));
  // Lists are indexed by int, negative from the end, as Python does.
  CHECK(*m.get({Value("a"), Value(-1)}) == Value(20));
  CHECK(m.set({}, Value(1)) == Status::Invalid("set_metadata: 'keys' is empty"));
}

TEST_CASE("events: per topic, oldest first, bounded", "[events]") {
  EventLog log(2);
  log.publish("t", 1.0, Value("a"));
  log.publish("u", 2.0, Value("b"));
  log.publish("t", 3.0, Value("c"));
  log.publish("t", 4.0, Value("d"));
  auto t = log.events("t");
  REQUIRE(t.size() == 2);
  CHECK(t[0].time == 3.0);
  CHECK(t[0].msg == Value("c"));
  CHECK(t[1].msg == Value("d"));
  CHECK(log.events("never").empty());
  REQUIRE(log.topics().size() == 2);
  CHECK(log.topics()[0].first == "t");
  CHECK(log.topics()[1].first == "u");
}

}  // namespace
}  // namespace daskcpp::scheduler
