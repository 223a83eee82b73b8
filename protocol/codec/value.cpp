#include "protocol/codec/value.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include "protocol/codec/message_codec.hpp"

namespace daskcpp::protocol {

namespace {

std::span<const std::uint8_t> raw_span(const RawMsgpack& raw) {
  return {reinterpret_cast<const std::uint8_t*>(raw.bytes.data()), raw.bytes.size()};
}

// Writes a Python-repr-like rendering into `out`, giving up once `max_len` is
// reached (the caller appends "...").
class DebugPrinter {
 public:
  DebugPrinter(std::string& out, std::size_t max_len) : out_(out), max_len_(max_len) {}

  void print(const Value& v) {
    if (full()) return;
    switch (v.type()) {
      case Value::Type::kNil:
        out_ += "None";
        return;
      case Value::Type::kBool:
        out_ += v.as_bool() ? "True" : "False";
        return;
      case Value::Type::kInt:
        if (v.as_integer().is_big_unsigned) {
          out_ += std::to_string(v.as_integer().as_uint64());
        } else {
          out_ += std::to_string(v.as_int64());
        }
        return;
      case Value::Type::kFloat32:
      case Value::Type::kFloat64:
        print_float(v.as_double());
        return;
      case Value::Type::kStr:
        print_quoted(v.as_str(), "'");
        return;
      case Value::Type::kBin:
        print_quoted(v.as_bin().view(), "b'");
        return;
      case Value::Type::kArray: {
        const Array& a = v.as_array();
        out_ += '(';
        for (std::size_t i = 0; i < a.size() && !full(); ++i) {
          if (i > 0) out_ += ", ";
          print(a[i]);
        }
        if (a.size() == 1) out_ += ',';
        out_ += ')';
        return;
      }
      case Value::Type::kMap: {
        const Map& m = v.as_map();
        out_ += '{';
        for (std::size_t i = 0; i < m.size() && !full(); ++i) {
          if (i > 0) out_ += ", ";
          print(m[i].first);
          out_ += ": ";
          print(m[i].second);
        }
        out_ += '}';
        return;
      }
      case Value::Type::kPayload: {
        const Payload& p = *v.as_payload();
        out_ += p.kind == Payload::Kind::kSerialized ? "Serialized{" : "Pickled{";
        out_ += "header=" + std::to_string(p.header.size()) + " bytes, frames=[";
        for (std::size_t i = 0; i < p.frames.size() && !full(); ++i) {
          if (i > 0) out_ += ", ";
          out_ += std::to_string(p.frames[i].size());
        }
        out_ += "]}";
        return;
      }
      case Value::Type::kRaw: {
        Result<Value> decoded = decode_msgpack(raw_span(v.as_raw()));
        if (decoded.ok()) {
          print(*decoded);
        } else {
          out_ += "<undecodable msgpack>";
        }
        return;
      }
    }
  }

 private:
  bool full() const { return out_.size() >= max_len_; }

  void print_float(double d) {
    if (std::isnan(d)) {
      out_ += "nan";
    } else if (std::isinf(d)) {
      out_ += d > 0 ? "inf" : "-inf";
    } else {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
      std::string_view s(buf, static_cast<std::size_t>(end - buf));
      out_ += s;
      if (s.find_first_of(".e") == std::string_view::npos) out_ += ".0";
    }
  }

  void print_quoted(std::string_view s, const char* open) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_ += open;
    for (char ch : s) {
      if (full()) break;
      const auto c = static_cast<unsigned char>(ch);
      if (c == '\'' || c == '\\') {
        out_ += '\\';
        out_ += ch;
      } else if (c >= 0x20 && c < 0x7f) {
        out_ += ch;
      } else if (open[0] != 'b' && c >= 0x80) {
        out_ += ch;  // UTF-8 text stays as it is
      } else {
        out_ += "\\x";
        out_ += kHex[c >> 4];
        out_ += kHex[c & 0xf];
      }
    }
    out_ += '\'';
  }

  std::string& out_;
  std::size_t max_len_;
};

bool payload_equal(const PayloadPtr& a, const PayloadPtr& b) {
  if (a == b) return true;
  if (!a || !b) return false;
  return *a == *b;
}

// Raw bytes stand for the Value they encode, so compare encodings (a key built by
// the scheduler against the same key decoded from a recorded message).
bool raw_equal(const RawMsgpack& raw, const Value& other) {
  if (other.is_raw()) return raw.bytes == other.as_raw().bytes;
  std::vector<std::uint8_t> encoded;
  if (!append_msgpack(other, encoded).ok()) return false;
  const std::span<const std::uint8_t> bytes = raw_span(raw);
  return std::equal(bytes.begin(), bytes.end(), encoded.begin(), encoded.end());
}

}  // namespace

double Value::as_double() const {
  switch (type()) {
    case Type::kInt: {
      const Integer& i = std::get<Integer>(v_);
      return i.is_big_unsigned ? static_cast<double>(i.as_uint64())
                               : static_cast<double>(i.i);
    }
    case Type::kFloat32:
      return static_cast<double>(std::get<float>(v_));
    case Type::kFloat64:
      return std::get<double>(v_);
    default:
      assert(false && "as_double() on a non-number");
      return std::numeric_limits<double>::quiet_NaN();
  }
}

const Value* Value::find(std::string_view key) const {
  if (!is_map()) return nullptr;
  for (const auto& [k, v] : std::get<Map>(v_)) {
    if (k.is_str() && k.as_str() == key) return &v;
  }
  return nullptr;
}

Value& Value::set(std::string_view key, Value v) {
  if (is_nil()) v_ = Map{};
  assert(is_map() && "Value::set() on a non-map");
  Map& m = std::get<Map>(v_);
  m.emplace_back(Value(key), std::move(v));
  return m.back().second;
}

std::string Value::to_debug_string(std::size_t max_len) const {
  std::string out;
  DebugPrinter(out, max_len).print(*this);
  if (out.size() > max_len) {
    out.resize(max_len);
    out += "...";
  }
  return out;
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_raw()) return raw_equal(a.as_raw(), b);
  if (b.is_raw()) return raw_equal(b.as_raw(), a);
  if (a.type() != b.type()) return false;
  if (a.is_payload()) return payload_equal(a.as_payload(), b.as_payload());
  // Arrays and maps recurse through this operator via std::vector/std::pair.
  return a.v_ == b.v_;
}

const char* type_name(Value::Type t) {
  switch (t) {
    case Value::Type::kNil:
      return "nil";
    case Value::Type::kBool:
      return "bool";
    case Value::Type::kInt:
      return "int";
    case Value::Type::kFloat32:
      return "float32";
    case Value::Type::kFloat64:
      return "float64";
    case Value::Type::kStr:
      return "str";
    case Value::Type::kBin:
      return "bin";
    case Value::Type::kArray:
      return "array";
    case Value::Type::kMap:
      return "map";
    case Value::Type::kPayload:
      return "payload";
    case Value::Type::kRaw:
      return "raw msgpack";
  }
  return "unknown";
}

Value make_map(std::initializer_list<std::pair<std::string_view, Value>> entries) {
  Map m;
  m.reserve(entries.size());
  for (const auto& [k, v] : entries) m.emplace_back(Value(k), v);
  return Value(std::move(m));
}

Value make_set(Array items) {
  Map m;
  m.reserve(2);
  m.emplace_back(Value("__Set__"), Value(true));
  m.emplace_back(Value("as-list"), Value(std::move(items)));
  return Value(std::move(m));
}

// Mirrors msgpack_decode_default: a map holding "__Set__" is set(obj["as-list"]).
const Array* set_items(const Value& v) {
  if (v.find("__Set__") == nullptr) return nullptr;
  const Value* items = v.find("as-list");
  return items != nullptr && items->is_array() ? &items->as_array() : nullptr;
}

bool is_enum(const Value& v) {
  if (v.find("__Enum__") == nullptr) return false;
  for (const char* field : {"name", "__module__", "__name__"}) {
    const Value* f = v.find(field);
    if (f == nullptr || !f->is_str()) return false;
  }
  return true;
}

}  // namespace daskcpp::protocol
