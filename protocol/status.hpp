#pragma once
// Errors as values across protocol, state and Python boundary (the shape of
// Arrow's status.h). Exceptions from msgpack-c / nlohmann are caught at the codec
// boundary and turned into a Status; only startup code lets an exception escape.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace daskcpp {

enum class StatusCode {
  kOk = 0,
  kInvalid,         // malformed input from a peer (framing, msgpack, shape)
  kTypeError,       // a field has the wrong msgpack type
  kKeyError,        // a required field or a key is missing
  kCapacityError,   // a configured limit (frame size, depth, count) was exceeded
  kNotImplemented,  // an op or feature we do not support
  kIOError,         // socket / file errors
  kPythonError,     // an exception raised in the embedded interpreter
  kCancelled,
  kUnknown,
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status OK() { return {}; }
  static Status Invalid(std::string m) { return {StatusCode::kInvalid, std::move(m)}; }
  static Status TypeError(std::string m) {
    return {StatusCode::kTypeError, std::move(m)};
  }
  static Status KeyError(std::string m) { return {StatusCode::kKeyError, std::move(m)}; }
  static Status CapacityError(std::string m) {
    return {StatusCode::kCapacityError, std::move(m)};
  }
  static Status NotImplemented(std::string m) {
    return {StatusCode::kNotImplemented, std::move(m)};
  }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status PythonError(std::string m) {
    return {StatusCode::kPythonError, std::move(m)};
  }
  static Status Cancelled(std::string m) {
    return {StatusCode::kCancelled, std::move(m)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "Invalid: frame 3 announces 2^63 bytes" — what goes into logs and error replies.
  std::string to_string() const;

  // Prefixes context (the op, the field, the peer) while an error travels up.
  Status with_context(const std::string& context) const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace daskcpp

#define DASKCPP_CONCAT_INNER(a, b) a##b
#define DASKCPP_CONCAT(a, b) DASKCPP_CONCAT_INNER(a, b)

#define DASKCPP_RETURN_NOT_OK(expr) \
  do {                              \
    ::daskcpp::Status _st = (expr); \
    if (!_st.ok()) return _st;      \
  } while (false)

#define DASKCPP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                  \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()

// DASKCPP_ASSIGN_OR_RETURN(auto x, f()) — as ARROW_ASSIGN_OR_RAISE.
#define DASKCPP_ASSIGN_OR_RETURN(lhs, rexpr) \
  DASKCPP_ASSIGN_OR_RETURN_IMPL(DASKCPP_CONCAT(_result_, __LINE__), lhs, rexpr)
