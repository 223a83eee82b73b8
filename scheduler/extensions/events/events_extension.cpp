#include "scheduler/extensions/events/events_extension.hpp"

#include <deque>

#include "protocol/messages/python_exception.hpp"
#include "protocol/rpc/clock.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "scheduler/service/connection_registry.hpp"
#include "scheduler/service/extension_context.hpp"

namespace daskcpp::scheduler {

using protocol::Array;
using protocol::Map;
using protocol::RpcRequest;
using protocol::Value;

void EventsExtension::log_event(const std::vector<std::string>& topics,
                                const Value& msg) {
  const double now = protocol::unix_now();
  for (const std::string& topic : topics) {
    events.publish(topic, now, msg);
    connections_.send_to_subscribers(
        topic, protocol::make_map({{"op", Value("event")},
                                   {"topic", Value(topic)},
                                   {"event", Value(Array{Value(now), msg})}}));
  }
  if (listener_) listener_(topics, msg);
}

namespace {

Value type_error(std::string_view op, std::string_view field, std::string_view what) {
  return protocol::exception_reply(
      "TypeError",
      std::string(op) + ": field '" + std::string(field) + "': " + std::string(what));
}

// ---- metadata --------------------------------------------------------------------

Value handle_set_metadata(EventsExtension& ctx, RpcRequest& req) {
  const Value* keys = req.arg("keys");
  if (keys == nullptr || !keys->is_array()) {
    return type_error("set_metadata", "keys", "expected a list");
  }
  const Value* value = req.arg("value");
  Status st = ctx.metadata.set(keys->as_array(), value ? *value : Value());
  if (!st.ok()) return protocol::exception_reply("IndexError", "list index out of range");
  return Value();
}

Value handle_get_metadata(EventsExtension& ctx, RpcRequest& req) {
  const Value* keys = req.arg("keys");
  if (keys == nullptr || !keys->is_array()) {
    return type_error("get_metadata", "keys", "expected a list");
  }
  Result<Value> v = ctx.metadata.get(keys->as_array());
  if (v.ok()) return std::move(v).value();
  // dask.typing.no_default (an __Enum__) or absent: re-raise the KeyError.
  const Value* dflt = req.arg("default");
  if (dflt != nullptr && !protocol::is_enum(*dflt)) return *dflt;
  return protocol::exception_reply("KeyError", v.status().message());
}

// ---- events ----------------------------------------------------------------------

Value events_value(const std::deque<Event>& events) {
  Array a;
  a.reserve(events.size());
  for (const Event& e : events) a.push_back(Value(Array{Value(e.time), e.msg}));
  return Value(std::move(a));
}

Value handle_log_event(EventsExtension& ctx, RpcRequest& req) {
  const Value* topic = req.arg("topic");
  const Value* msg = req.arg("msg");
  std::vector<std::string> topics;
  if (topic != nullptr && topic->is_str()) {
    topics.push_back(topic->as_str());
  } else if (topic != nullptr && topic->is_array()) {
    for (const Value& t : topic->as_array()) {
      if (!t.is_str()) return type_error("log_event", "topic", "expected str items");
      topics.push_back(t.as_str());
    }
  } else {
    return type_error("log_event", "topic", "expected str or list of str");
  }
  ctx.log_event(topics, msg ? *msg : Value());
  return Value();
}

Value handle_events(EventsExtension& ctx, RpcRequest& req) {
  const Value* topic = req.arg("topic");
  if (topic != nullptr && topic->is_str()) {
    std::vector<Event> ev = ctx.events.events(topic->as_str());
    return events_value(std::deque<Event>(ev.begin(), ev.end()));
  }
  if (topic != nullptr && !topic->is_nil()) {
    return type_error("events", "topic", "expected str or None");
  }
  Map out;
  for (const auto& [name, events] : ctx.events.topics()) {
    if (!events.empty()) out.emplace_back(Value(name), events_value(events));
  }
  return Value(std::move(out));
}

}  // namespace

void EventsExtension::register_handlers(ExtensionContext& server) {
  protocol::RpcHandlers& h = server.rpc;
  EventsExtension* ctx = this;
  h.add_sync("set_metadata",
             [ctx](RpcRequest& req) { return handle_set_metadata(*ctx, req); });
  h.add_sync("get_metadata",
             [ctx](RpcRequest& req) { return handle_get_metadata(*ctx, req); });
  h.add_sync("log_event", [ctx](RpcRequest& req) { return handle_log_event(*ctx, req); });
  h.add_sync("events", [ctx](RpcRequest& req) { return handle_events(*ctx, req); });
}

}  // namespace daskcpp::scheduler
