#include "scheduler/extensions/events/metadata_store.hpp"

#include <algorithm>

namespace daskcpp::scheduler {

using protocol::Map;
using protocol::Value;

namespace {

Value* map_find(Map& m, const Value& key) {
  for (auto& [k, v] : m) {
    if (k == key) return &v;
  }
  return nullptr;
}

const Value* child(const Value& node, const Value& key) {
  if (node.is_map()) {
    for (const auto& [k, v] : node.as_map()) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  if (node.is_array() && key.is_int()) {
    const auto& a = node.as_array();
    std::int64_t i = key.as_int64();
    if (i < 0) i += static_cast<std::int64_t>(a.size());
    if (i >= 0 && i < static_cast<std::int64_t>(a.size())) {
      return &a[static_cast<std::size_t>(i)];
    }
  }
  return nullptr;
}

}  // namespace

Status MetadataStore::set(const std::vector<Value>& path, Value value) {
  if (path.empty()) return Status::Invalid("set_metadata: 'keys' is empty");
  Value* node = &root_;
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    Value* next = map_find(node->as_map(), path[i]);
    if (next == nullptr) {
      node->as_map().emplace_back(path[i], Value(Map{}));
      next = &node->as_map().back().second;
    } else if (!next->is_map()) {
      *next = Value(Map{});
    }
    node = next;
  }
  if (Value* slot = map_find(node->as_map(), path.back())) {
    *slot = std::move(value);
  } else {
    node->as_map().emplace_back(path.back(), std::move(value));
  }
  return Status::OK();
}

Result<Value> MetadataStore::get(const std::vector<Value>& path) const {
  const Value* node = &root_;
  for (const Value& key : path) {
    const Value* next = child(*node, key);
    if (next == nullptr) {
      return Status::KeyError(key.is_str() ? key.as_str() : key.to_debug_string());
    }
    node = next;
  }
  return *node;
}

void EventLog::publish(const std::string& topic, double time, Value msg) {
  auto it = std::find_if(topics_.begin(), topics_.end(),
                         [&](const auto& t) { return t.first == topic; });
  if (it == topics_.end()) {
    topics_.emplace_back(topic, std::deque<Event>{});
    it = std::prev(topics_.end());
  }
  it->second.push_back(Event{time, std::move(msg)});
  while (it->second.size() > maxlen_) it->second.pop_front();
}

std::vector<Event> EventLog::events(const std::string& topic) const {
  for (const auto& [name, events] : topics_) {
    if (name == topic) return {events.begin(), events.end()};
  }
  return {};
}

}  // namespace daskcpp::scheduler
