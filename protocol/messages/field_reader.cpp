#include "protocol/messages/field_reader.hpp"

#include <string>

namespace daskcpp::protocol {
namespace {

// The wire type for error messages; floats are "float" whatever their width, as
// Python sees them.
const char* py_type(const Value& v) {
  return v.is_float() ? "float" : type_name(v.type());
}

}  // namespace

Result<FieldReader> FieldReader::open(std::string_view op, const Value& msg) {
  if (!msg.is_map()) {
    return Status::TypeError(std::string(op) + ": expected a map, got " + py_type(msg));
  }
  return FieldReader(op, msg);
}

Status FieldReader::type_error(std::string_view field, std::string_view what) const {
  return Status::TypeError(std::string(op_) + ": field '" + std::string(field) +
                           "': " + std::string(what));
}

Status FieldReader::expected(std::string_view field, std::string_view expected,
                             const Value& v) const {
  return type_error(field, "expected " + std::string(expected) + ", got " + py_type(v));
}

Status FieldReader::missing(std::string_view field) const {
  return Status::KeyError(std::string(op_) + ": missing field '" + std::string(field) +
                          "'");
}

Result<const Value*> FieldReader::require(std::string_view field) const {
  const Value* v = find(field);
  if (v == nullptr) return missing(field);
  return v;
}

Result<const Value*> FieldReader::require_as(std::string_view field,
                                             bool (Value::*accepts)() const,
                                             std::string_view what) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require(field));
  if (!(v->*accepts)()) return expected(field, what, *v);
  return v;
}

namespace {

// A map field keyed by task keys, each value converted by `convert(key, value)`
// (who_has, nbytes, data).
template <typename T, typename Convert>
Result<std::vector<std::pair<Key, T>>> key_map(const FieldReader& r,
                                               std::string_view field, const Value& v,
                                               Convert convert) {
  std::vector<std::pair<Key, T>> out;
  out.reserve(v.as_map().size());
  for (const auto& [k, item] : v.as_map()) {
    Result<Key> key = Key::from_value(k);
    if (!key.ok()) return r.type_error(field, "map key: " + key.status().message());
    DASKCPP_ASSIGN_OR_RETURN(T value, convert(*key, item));
    out.emplace_back(std::move(key).value(), std::move(value));
  }
  return out;
}

}  // namespace

Result<Value> FieldReader::any(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require(field));
  return *v;
}

Result<std::string> FieldReader::str(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require_as(field, &Value::is_str, "str"));
  return v->as_str();
}

Result<std::int64_t> FieldReader::int64(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require_as(field, &Value::is_int, "int"));
  if (v->as_integer().is_big_unsigned) return type_error(field, "int out of int64 range");
  return v->as_int64();
}

Result<double> FieldReader::number(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v,
                           require_as(field, &Value::is_number, "number"));
  return v->as_double();
}

Result<Value> FieldReader::number_value(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v,
                           require_as(field, &Value::is_number, "number"));
  return *v;
}

Result<bool> FieldReader::boolean(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require_as(field, &Value::is_bool, "bool"));
  return v->as_bool();
}

Result<Bytes> FieldReader::bin(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require_as(field, &Value::is_bin, "bin"));
  return v->as_bin();
}

Result<Value> FieldReader::map(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require_as(field, &Value::is_map, "map"));
  return *v;
}

Result<Key> FieldReader::key(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require(field));
  Result<Key> k = Key::from_value(*v);
  if (!k.ok()) return type_error(field, k.status().message());
  return k;
}

Result<std::vector<Key>> FieldReader::keys_of(std::string_view field, const Value& v,
                                              bool allow_set) const {
  const Array* items = nullptr;
  if (v.is_array()) {
    items = &v.as_array();
  } else if (allow_set) {
    items = set_items(v);
  }
  if (items == nullptr) return expected(field, allow_set ? "array or set" : "array", v);
  std::vector<Key> out;
  out.reserve(items->size());
  for (std::size_t i = 0; i < items->size(); ++i) {
    Result<Key> k = Key::from_value((*items)[i]);
    if (!k.ok()) {
      return type_error(field, "item " + std::to_string(i) + ": " + k.status().message());
    }
    out.push_back(std::move(k).value());
  }
  return out;
}

Result<std::vector<Key>> FieldReader::keys(std::string_view field, bool allow_set) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require(field));
  return keys_of(field, *v, allow_set);
}

Result<AddressList> FieldReader::str_list(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v,
                           require_as(field, &Value::is_array, "array of str"));
  AddressList out;
  out.reserve(v->as_array().size());
  for (const Value& item : v->as_array()) {
    if (!item.is_str()) return expected(field, "array of str", item);
    out.push_back(item.as_str());
  }
  return out;
}

Result<Array> FieldReader::number_array(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v,
                           require_as(field, &Value::is_array, "array of numbers"));
  for (const Value& item : v->as_array()) {
    if (!item.is_number()) return expected(field, "array of numbers", item);
  }
  return v->as_array();
}

Result<WhoHas> FieldReader::who_has(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require_as(field, &Value::is_map, "map"));
  return key_map<AddressList>(
      *this, field, *v, [&](const Key& key, const Value& addrs) -> Result<AddressList> {
        auto wrong = [&](std::string_view want, const Value& got) {
          return type_error(field, "addresses of " + key.to_debug_string() +
                                       ": expected " + std::string(want) + ", got " +
                                       py_type(got));
        };
        if (!addrs.is_array()) return wrong("array", addrs);
        AddressList list;
        list.reserve(addrs.as_array().size());
        for (const Value& a : addrs.as_array()) {
          if (!a.is_str()) return wrong("str", a);
          list.push_back(a.as_str());
        }
        return list;
      });
}

Result<KeyInts> FieldReader::key_ints(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require_as(field, &Value::is_map, "map"));
  return key_map<std::int64_t>(
      *this, field, *v, [&](const Key& key, const Value& n) -> Result<std::int64_t> {
        if (!n.is_int() || n.as_integer().is_big_unsigned) {
          return type_error(field, "value of " + key.to_debug_string() +
                                       ": expected int, got " + py_type(n));
        }
        return n.as_int64();
      });
}

Result<KeyValues> FieldReader::key_values(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require_as(field, &Value::is_map, "map"));
  return key_map<Value>(
      *this, field, *v,
      [](const Key&, const Value& item) -> Result<Value> { return item; });
}

Result<std::vector<StartStop>> FieldReader::startstops(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require_as(field, &Value::is_array, "array"));
  std::vector<StartStop> out;
  out.reserve(v->as_array().size());
  for (std::size_t i = 0; i < v->as_array().size(); ++i) {
    const Value& item = v->as_array()[i];
    const std::string where = "item " + std::to_string(i);
    const Value* action = item.find("action");
    const Value* start = item.find("start");
    const Value* stop = item.find("stop");
    const Value* source = item.find("source");
    if (!item.is_map() || action == nullptr || !action->is_str() || start == nullptr ||
        !start->is_number() || stop == nullptr || !stop->is_number() ||
        (source != nullptr && !source->is_str())) {
      return type_error(field, where +
                                   ": expected {action: str, start: number, stop: "
                                   "number[, source: str]}");
    }
    StartStop ss{action->as_str(), start->as_double(), stop->as_double(), std::nullopt};
    if (source != nullptr) ss.source = source->as_str();
    out.push_back(std::move(ss));
  }
  return out;
}

Status FieldReader::status_is(std::string_view expected) const {
  DASKCPP_ASSIGN_OR_RETURN(std::string status, str("status"));
  if (status != expected) {
    return type_error("status",
                      "expected '" + std::string(expected) + "', got '" + status + "'");
  }
  return Status::OK();
}

Result<std::optional<std::string>> FieldReader::str_or_nil(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require(field));
  if (v->is_nil()) return std::optional<std::string>();
  if (!v->is_str()) return expected(field, "str or nil", *v);
  return std::optional<std::string>(v->as_str());
}

Result<std::optional<std::int64_t>> FieldReader::int_or_nil(
    std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require(field));
  if (v->is_nil()) return std::optional<std::int64_t>();
  if (!v->is_int() || v->as_integer().is_big_unsigned) {
    return expected(field, "int or nil", *v);
  }
  return std::optional<std::int64_t>(v->as_int64());
}

Result<std::optional<double>> FieldReader::number_or_nil(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require(field));
  if (v->is_nil()) return std::optional<double>();
  if (!v->is_number()) return expected(field, "number or nil", *v);
  return std::optional<double>(v->as_double());
}

Result<std::optional<Bytes>> FieldReader::bin_or_nil(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require(field));
  if (v->is_nil()) return std::optional<Bytes>();
  if (!v->is_bin()) return expected(field, "bin or nil", *v);
  return std::optional<Bytes>(v->as_bin());
}

// The *_or_nil forms below read a non-nil value with the plain reader.
Result<std::optional<Key>> FieldReader::key_or_nil(std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require(field));
  if (v->is_nil()) return std::optional<Key>();
  DASKCPP_ASSIGN_OR_RETURN(Key k, key(field));
  return std::optional<Key>(std::move(k));
}

Result<std::optional<std::vector<Key>>> FieldReader::keys_or_nil(
    std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require(field));
  if (v->is_nil()) return std::optional<std::vector<Key>>();
  DASKCPP_ASSIGN_OR_RETURN(std::vector<Key> ks, keys_of(field, *v, false));
  return std::optional<std::vector<Key>>(std::move(ks));
}

Result<std::optional<AddressList>> FieldReader::str_list_or_nil(
    std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require(field));
  if (v->is_nil()) return std::optional<AddressList>();
  DASKCPP_ASSIGN_OR_RETURN(AddressList list, str_list(field));
  return std::optional<AddressList>(std::move(list));
}

Result<std::optional<KeyInts>> FieldReader::key_ints_or_nil(
    std::string_view field) const {
  DASKCPP_ASSIGN_OR_RETURN(const Value* v, require(field));
  if (v->is_nil()) return std::optional<KeyInts>();
  DASKCPP_ASSIGN_OR_RETURN(KeyInts m, key_ints(field));
  return std::optional<KeyInts>(std::move(m));
}

Result<std::optional<std::string>> FieldReader::opt_str(std::string_view field) const {
  if (!has(field)) return std::optional<std::string>();
  return str_or_nil(field);
}

Result<std::optional<bool>> FieldReader::opt_bool(std::string_view field) const {
  if (!has(field)) return std::optional<bool>();
  DASKCPP_ASSIGN_OR_RETURN(bool b, boolean(field));
  return std::optional<bool>(b);
}

std::optional<Value> FieldReader::opt_any(std::string_view field) const {
  const Value* v = find(field);
  if (v == nullptr) return std::nullopt;
  return *v;
}

Value keys_to_array(const std::vector<Key>& keys) {
  Array a;
  a.reserve(keys.size());
  for (const Key& k : keys) a.push_back(k.wire_value());
  return Value(std::move(a));
}

FieldWriter& FieldWriter::put(std::string_view field, Value v) {
  map_.emplace_back(Value(field), std::move(v));
  return *this;
}

FieldWriter& FieldWriter::put(std::string_view field, const std::vector<Key>& keys) {
  return put(field, keys_to_array(keys));
}

FieldWriter& FieldWriter::put_set(std::string_view field, const std::vector<Key>& keys) {
  return put(field, make_set(keys_to_array(keys).as_array()));
}

FieldWriter& FieldWriter::put(std::string_view field, const AddressList& list) {
  Array a(list.begin(), list.end());
  return put(field, Value(std::move(a)));
}

FieldWriter& FieldWriter::put(std::string_view field, const WhoHas& who_has) {
  Map m;
  m.reserve(who_has.size());
  for (const auto& [k, addrs] : who_has) {
    m.emplace_back(k.wire_value(), Value(Array(addrs.begin(), addrs.end())));
  }
  return put(field, Value(std::move(m)));
}

FieldWriter& FieldWriter::put(std::string_view field, const KeyInts& kv) {
  Map m;
  m.reserve(kv.size());
  for (const auto& [k, n] : kv) m.emplace_back(k.wire_value(), Value(n));
  return put(field, Value(std::move(m)));
}

FieldWriter& FieldWriter::put(std::string_view field, const KeyValues& kv) {
  Map m;
  m.reserve(kv.size());
  for (const auto& [k, v] : kv) m.emplace_back(k.wire_value(), v);
  return put(field, Value(std::move(m)));
}

FieldWriter& FieldWriter::put(std::string_view field, const std::vector<StartStop>& ss) {
  Array a;
  a.reserve(ss.size());
  for (const StartStop& s : ss) {
    FieldWriter w;
    w.put("action", s.action).put("start", s.start).put("stop", s.stop);
    w.put_if("source", s.source);
    a.push_back(std::move(w).done());
  }
  return put(field, Value(std::move(a)));
}

}  // namespace daskcpp::protocol
