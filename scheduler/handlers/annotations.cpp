#include "scheduler/handlers/annotations.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "protocol/comm/address.hpp"

namespace daskcpp::scheduler {

namespace {

using protocol::Value;

void add_unique(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

bool truthy(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNil:
      return false;
    case Value::Type::kBool:
      return v.as_bool();
    case Value::Type::kInt:
      return v.as_int64() != 0;
    case Value::Type::kFloat32:
    case Value::Type::kFloat64:
      return v.as_double() != 0;
    case Value::Type::kStr:
      return !v.as_str().empty();
    case Value::Type::kArray:
      return !v.as_array().empty();
    case Value::Type::kMap:
      return !v.as_map().empty();
    default:
      return true;
  }
}

}  // namespace

std::optional<std::string> coerce_worker_address(const Value& entry,
                                                 const AliasLookup& aliases) {
  const std::string text = entry.is_str() ? entry.as_str() : entry.to_debug_string();
  if (aliases) {
    if (auto a = aliases(text)) return a;
  }
  if (!entry.is_str()) return std::nullopt;
  // resolve_address needs a port: "host:port" and "tcp://host:port" are workers,
  // a bare host name is a host restriction.
  Result<protocol::Address> a = protocol::parse_address(text);
  if (!a.ok()) return std::nullopt;
  return protocol::format_address(*a);
}

void apply_annotations(const Value& annotations, const AliasLookup& aliases,
                       GraphTask& t) {
  if (!annotations.is_map()) return;
  for (const auto& [k, v] : annotations.as_map()) {
    if (!k.is_str()) continue;
    const std::string& name = k.as_str();
    if (name == "workers" || name == "restrictions") {
      std::vector<Value> entries;
      if (v.is_array()) {
        entries = v.as_array();
      } else if (!v.is_nil()) {
        entries.push_back(v);
      }
      std::vector<std::string> workers, hosts;
      for (const Value& e : entries) {
        if (auto addr = coerce_worker_address(e, aliases)) {
          add_unique(workers, *addr);
        } else {
          add_unique(hosts, e.is_str() ? e.as_str() : e.to_debug_string());
        }
      }
      if (!hosts.empty()) t.restrictions.hosts = std::move(hosts);
      if (!workers.empty()) t.restrictions.workers = std::move(workers);
    } else if (name == "allow_other_workers" || name == "loose_restrictions") {
      t.restrictions.loose = truthy(v);
    } else if (name == "resources") {
      if (!v.is_map()) {
        spdlog::warn("annotation 'resources' of {} is not a dict; ignored", t.key);
        continue;
      }
      t.restrictions.resources.clear();
      for (const auto& [rk, rv] : v.as_map()) {
        if (rk.is_str() && rv.is_number()) {
          t.restrictions.resources.emplace_back(rk.as_str(), rv.as_double());
        }
      }
    } else if (name == "retries") {
      if (v.is_int()) t.retries = static_cast<std::int32_t>(v.as_int64());
    } else if (name == "priority") {
      if (v.is_int()) {
        t.user_priority = static_cast<std::int32_t>(v.as_int64());
      } else if (v.is_float()) {
        t.user_priority = static_cast<std::int32_t>(v.as_double());
      }
    }
  }
}

}  // namespace daskcpp::scheduler
