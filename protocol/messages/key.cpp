#include "protocol/messages/key.hpp"

#include <cassert>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/codec/message_codec.hpp"
#include "protocol/codec/msgpack_writer.hpp"

namespace daskcpp::protocol {
namespace {

constexpr std::size_t kMaxKeyDepth = 32;

Result<Value> decode_raw(const RawMsgpack& raw) {
  return decode_msgpack(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(raw.bytes.data()), raw.bytes.size()));
}

Status check_key_shape(const Value& v, std::size_t depth) {
  switch (v.type()) {
    case Value::Type::kStr:
    case Value::Type::kInt:
    case Value::Type::kFloat32:
    case Value::Type::kFloat64:
      return Status::OK();
    case Value::Type::kArray:
      if (depth >= kMaxKeyDepth) {
        return Status::Invalid("key nested deeper than " + std::to_string(kMaxKeyDepth));
      }
      for (const Value& item : v.as_array()) {
        DASKCPP_RETURN_NOT_OK(check_key_shape(item, depth + 1));
      }
      return Status::OK();
    default:
      return Status::TypeError(
          std::string("a key must be str, int, float or tuple, got ") +
          type_name(v.type()));
  }
}

// Python's str.isalpha() for one UTF-8 lead byte. Non-ASCII code points are taken to
// be letters: exact for the letters of every script, wrong only for non-ASCII
// punctuation/digits, which dask-generated keys never contain.
bool is_alpha_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

bool is_alpha_word(std::string_view w) {
  if (w.empty()) return false;
  for (unsigned char c : w) {
    if (!is_alpha_byte(c)) return false;
  }
  return true;
}

// Number of code points (Python's len) of UTF-8 text.
std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool is_32_lower_hex(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'f') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string_view strip(std::string_view s, std::string_view chars) {
  std::size_t b = s.find_first_not_of(chars);
  if (b == std::string_view::npos) return {};
  std::size_t e = s.find_last_not_of(chars);
  return s.substr(b, e - b + 1);
}

// The text before the first `sep` (all of it if there is none).
std::string_view before(std::string_view s, char sep) { return s.substr(0, s.find(sep)); }

// result.strip("<>").split()[0].split(".")[-1]; empty if split() yields nothing.
std::string class_name_of_repr(std::string_view s) {
  constexpr std::string_view kWhitespace = " \t\n\r\v\f\x1c\x1d\x1e\x1f";
  std::string_view t = strip(s, "<>");
  std::size_t b = t.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return {};
  t = t.substr(b);
  t = t.substr(0, t.find_first_of(kWhitespace));
  std::size_t dot = t.rfind('.');
  return std::string(dot == std::string_view::npos ? t : t.substr(dot + 1));
}

std::string key_split_str(std::string_view s) {
  std::vector<std::string_view> words;
  for (std::size_t start = 0;;) {
    std::size_t dash = s.find('-', start);
    words.push_back(
        s.substr(start, dash == std::string_view::npos ? dash : dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  if (words[0].empty()) return "Other";  // Python: IndexError -> "Other"
  std::string result;
  if (!is_alpha_byte(static_cast<unsigned char>(words[0][0]))) {
    result = std::string(strip(before(words[0], ','), "_'()\""));
  } else {
    result = std::string(words[0]);
  }
  for (std::size_t i = 1; i < words.size(); ++i) {
    std::string_view w = words[i];
    // hex_pattern.match only looks at the start: any 8-letter word starting a-f stops.
    bool hex_token = code_points(w) == 8 && w[0] >= 'a' && w[0] <= 'f';
    if (!is_alpha_word(w) || hex_token) break;
    result += '-';
    result += w;
  }
  if (is_32_lower_hex(result)) return "data";
  if (result.empty()) return "Other";
  if (result[0] == '<') {
    std::string name = class_name_of_repr(result);
    return name.empty() ? "Other" : name;
  }
  return result;
}

std::string key_split_group_str(std::string_view s) {
  if (s.empty()) return "Other";
  if (s[0] == '(') return std::string(strip(before(s, ','), "()\"'"));
  if (is_32_lower_hex(s)) return "data";
  if (s[0] == '<') {
    std::string name = class_name_of_repr(s);
    return name.empty() ? "Other" : name;
  }
  return key_split_str(s);
}

}  // namespace

Result<Key> Key::from_value(const Value& v) {
  if (v.is_raw()) {
    // A Value built from a Key (a message decoded in-process without a round trip
    // through bytes): its bytes are taken apart like any other key's.
    DASKCPP_ASSIGN_OR_RETURN(Value decoded, decode_raw(v.as_raw()));
    return from_value(decoded);
  }
  DASKCPP_RETURN_NOT_OK(check_key_shape(v, 0));
  DASKCPP_ASSIGN_OR_RETURN(std::string canonical, canonical_key_bytes(v));
  return Key(std::move(canonical));
}

Key Key::str(std::string_view s) {
  std::vector<std::uint8_t> out;
  out.reserve(s.size() + 5);
  MsgpackWriter(out).str(s);
  return Key(std::string(out.begin(), out.end()));
}

Value Key::decoded() const {
  if (canonical_.empty()) return Value();
  Result<Value> v = decode_raw(RawMsgpack{canonical_});
  // Only from_value and from_wire make keys, both from well-formed msgpack.
  assert(v.ok());
  return v.ok() ? std::move(v).value() : Value();
}

bool Key::is_str() const {
  if (canonical_.empty()) return false;
  const auto tag = static_cast<unsigned char>(canonical_[0]);
  return (tag >= 0xa0 && tag <= 0xbf) || tag == 0xd9 || tag == 0xda || tag == 0xdb;
}

std::vector<std::string> canonical_keys(const std::vector<Key>& keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const Key& k : keys) out.push_back(k.canonical());
  return out;
}

std::string key_split(const Key& key) { return key_split(key.decoded()); }

std::string key_split_group(const Key& key) { return key_split_group(key.decoded()); }

std::string key_split(const Value& key) {
  if (key.is_raw()) {
    Result<Value> decoded = decode_raw(key.as_raw());
    return decoded.ok() ? key_split(*decoded) : "Other";
  }
  switch (key.type()) {
    case Value::Type::kStr:
      return key_split_str(key.as_str());
    case Value::Type::kBin:
      return key_split_str(key.as_bin().view());
    case Value::Type::kArray:
      if (key.as_array().empty()) return "Other";
      return key_split(key.as_array().front());
    default:
      return "Other";
  }
}

std::string key_split_group(const Value& key) {
  if (key.is_raw()) {
    Result<Value> decoded = decode_raw(key.as_raw());
    return decoded.ok() ? key_split_group(*decoded) : "Other";
  }
  switch (key.type()) {
    case Value::Type::kStr:
      return key_split_group_str(key.as_str());
    case Value::Type::kBin:
      return key_split_group_str(key.as_bin().view());
    case Value::Type::kArray: {
      if (key.as_array().empty()) return "Other";
      const Value& first = key.as_array().front();
      return first.is_str() ? first.as_str() : key_split_group(first);
    }
    default:
      return "Other";
  }
}

}  // namespace daskcpp::protocol
