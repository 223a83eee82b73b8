#include "protocol/messages/python_exception.hpp"

#include <bit>
#include <cstring>
#include <string>
#include <utility>

#include "protocol/messages/field_reader.hpp"

namespace daskcpp::protocol {
namespace {

// Pickle opcodes (Lib/pickle.py names).
constexpr char kProto = '\x80';
constexpr char kGlobal = 'c';
constexpr char kBinUnicode = 'X';
constexpr char kBinInt1 = 'K';
constexpr char kBinInt = 'J';
constexpr char kLong1 = '\x8a';
constexpr char kBinFloat = 'G';
constexpr char kMark = '(';
constexpr char kTuple = 't';
constexpr char kEmptyTuple = ')';
constexpr char kTuple1 = '\x85';
constexpr char kEmptyDict = '}';
constexpr char kSetItem = 's';
constexpr char kReduce = 'R';
constexpr char kBuild = 'b';
constexpr char kStop = '.';

class PickleWriter {
 public:
  PickleWriter() {
    out_ += kProto;
    out_ += '\x02';
  }
  void global(std::string_view module, std::string_view name) {
    out_ += kGlobal;
    out_.append(module).append("\n").append(name).append("\n");
  }
  void str(std::string_view s) {
    out_ += kBinUnicode;
    put_le(static_cast<std::uint32_t>(s.size()), 4);
    out_.append(s);
  }
  void integer(std::int64_t i) {
    if (i >= 0 && i < 256) {
      out_ += kBinInt1;
      out_ += static_cast<char>(i);
    } else if (i >= INT32_MIN && i <= INT32_MAX) {
      out_ += kBinInt;
      put_le(static_cast<std::uint32_t>(static_cast<std::int32_t>(i)), 4);
    } else {
      // LONG1: minimal little-endian two's complement (8 bytes is always enough and
      // still loads to the same int; pickle.dumps would trim, we need not).
      out_ += kLong1;
      out_ += '\x08';
      put_le(static_cast<std::uint64_t>(i), 8);
    }
  }
  void floating(double d) {
    out_ += kBinFloat;
    std::uint64_t bits = std::bit_cast<std::uint64_t>(d);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out_ += static_cast<char>((bits >> shift) & 0xff);
    }
  }
  void op(char c) { out_ += c; }
  Bytes finish() {
    out_ += kStop;
    return Bytes::from_string(std::move(out_));
  }

 private:
  void put_le(std::uint64_t v, int n) {
    for (int k = 0; k < n; ++k) out_ += static_cast<char>((v >> (8 * k)) & 0xff);
  }
  std::string out_;
};

Status write_key(PickleWriter& w, const Value& k) {
  switch (k.type()) {
    case Value::Type::kStr:
      w.str(k.as_str());
      return Status::OK();
    case Value::Type::kInt:
      if (k.as_integer().is_big_unsigned) {
        return Status::NotImplemented("pickling an int key above INT64_MAX");
      }
      w.integer(k.as_int64());
      return Status::OK();
    case Value::Type::kFloat32:
    case Value::Type::kFloat64:
      w.floating(k.as_double());
      return Status::OK();
    case Value::Type::kArray:
      w.op(kMark);
      for (const Value& item : k.as_array()) DASKCPP_RETURN_NOT_OK(write_key(w, item));
      w.op(kTuple);
      return Status::OK();
    default:
      return Status::TypeError("not a key");  // Key guarantees this cannot happen
  }
}

}  // namespace

Bytes pickle_builtin_exception(std::string_view type_name, std::string_view message) {
  PickleWriter w;
  w.global("builtins", type_name);
  w.str(message);
  w.op(kTuple1);
  w.op(kReduce);
  return w.finish();
}

Result<Bytes> pickle_killed_worker(const Key& key, std::string_view last_worker_address,
                                   std::int64_t allowed_failures) {
  PickleWriter w;
  w.global("distributed.scheduler", "KilledWorker");
  w.op(kMark);
  DASKCPP_RETURN_NOT_OK(write_key(w, key.decoded()));
  // types.SimpleNamespace() then BUILD with {"address": ...}
  w.global("types", "SimpleNamespace");
  w.op(kEmptyTuple);
  w.op(kReduce);
  w.op(kEmptyDict);
  w.str("address");
  w.str(last_worker_address);
  w.op(kSetItem);
  w.op(kBuild);
  w.integer(allowed_failures);
  w.op(kTuple);
  w.op(kReduce);
  return w.finish();
}

Result<UncaughtError> UncaughtError::decode(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(FieldReader r, FieldReader::open("uncaught-error reply", msg));
  DASKCPP_ASSIGN_OR_RETURN(std::string status, r.str("status"));
  if (status != "uncaught-error") {
    return r.type_error("status", "expected 'uncaught-error', got '" + status + "'");
  }
  UncaughtError e;
  DASKCPP_ASSIGN_OR_RETURN(e.exception, r.any("exception"));
  DASKCPP_ASSIGN_OR_RETURN(e.traceback, r.any("traceback"));
  DASKCPP_ASSIGN_OR_RETURN(e.exception_text, r.str("exception_text"));
  DASKCPP_ASSIGN_OR_RETURN(e.traceback_text, r.str("traceback_text"));
  return e;
}

Value UncaughtError::encode() const {
  FieldWriter w;
  w.put("status", "uncaught-error")
      .put("exception", exception)
      .put("traceback", traceback);
  w.put("exception_text", exception_text).put("traceback_text", traceback_text);
  return w.done();
}

Value uncaught_error_reply(Bytes exception_pickle, std::string exception_text) {
  return UncaughtError{Value(std::move(exception_pickle)), Value(),
                       std::move(exception_text), ""}
      .encode();
}

}  // namespace daskcpp::protocol
