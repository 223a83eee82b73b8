#pragma once
// MetadataStore: the scheduler's nested metadata dict (upstream
// Scheduler.task_metadata behind set_metadata / get_metadata) and EventLog, the
// per-topic bounded event history (upstream distributed.broker.Broker / Topic).
//
// Plain data: values are msgpack Values stored as the peer sent them; nothing is
// deserialized. Thread: the scheduler loop.

#include <cstddef>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/status.hpp"

namespace daskcpp::scheduler {

class MetadataStore {
 public:
  // set_metadata(keys, value): intermediate entries that are missing or not a dict
  // become {} (upstream also descends into lists; we replace them). An empty path
  // is an IndexError upstream: Invalid here.
  Status set(const std::vector<protocol::Value>& path, protocol::Value value);
  // get_metadata(keys): the value at `path` (the whole store for an empty path).
  // KeyError naming the first missing key, as Python's dict lookup; a list entry is
  // indexed by an int key.
  Result<protocol::Value> get(const std::vector<protocol::Value>& path) const;

 private:
  protocol::Value root_ = protocol::Value(protocol::Map{});
};

struct Event {
  double time = 0;
  protocol::Value msg;
};

class EventLog {
 public:
  // distributed.admin.low-level-log-length.
  explicit EventLog(std::size_t maxlen = 1000) : maxlen_(maxlen) {}

  void publish(const std::string& topic, double time, protocol::Value msg);
  // The topic's events, oldest first (empty for an unknown topic).
  std::vector<Event> events(const std::string& topic) const;
  // {topic: events} for every topic that has any, in first-publish order.
  const std::vector<std::pair<std::string, std::deque<Event>>>& topics() const {
    return topics_;
  }

 private:
  std::size_t maxlen_;
  std::vector<std::pair<std::string, std::deque<Event>>> topics_;
};

}  // namespace daskcpp::scheduler
