#pragma once
// The events extension (upstream EventExtension / Scheduler.log_event,
// get_events, subscribe_topic, and the metadata store of set_metadata /
// get_metadata): owns the event log and the metadata tree, records events and
// forwards them to subscribed clients. Thread: the scheduler loop.

#include <functional>
#include <string>
#include <vector>

#include "protocol/codec/value.hpp"
#include "scheduler/extensions/events/metadata_store.hpp"

namespace daskcpp::scheduler {

struct ExtensionContext;
class ConnectionRegistry;

class EventsExtension {
 public:
  explicit EventsExtension(ConnectionRegistry& connections) : connections_(connections) {}

  // Scheduler.log_event / Broker.publish: records (now, msg) under each topic and
  // sends {"op": "event", "topic", "event": [time, msg]} to subscribed clients.
  void log_event(const std::vector<std::string>& topics, const protocol::Value& msg);

  // Called after each log_event with its topics and message (the plugins'
  // log_event hook, Broker.publish's plugin loop); empty = none.
  using Listener = std::function<void(const std::vector<std::string>& topics,
                                      const protocol::Value& msg)>;
  void set_listener(Listener listener) { listener_ = std::move(listener); }

  // set_metadata, get_metadata, log_event, events.
  void register_handlers(ExtensionContext& server);

  MetadataStore metadata;
  EventLog events;

 private:
  ConnectionRegistry& connections_;
  Listener listener_;
};

}  // namespace daskcpp::scheduler
