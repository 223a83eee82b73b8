#include "protocol/rpc/error_reply.hpp"

#include "protocol/messages/python_exception.hpp"

namespace daskcpp::protocol {

std::string py_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c == quote) out += '\\';
        out += c;
    }
  }
  out += quote;
  return out;
}

std::string exception_text(std::string_view type_name, std::string_view message) {
  return std::string(type_name) + "(" + py_repr(message) + ")";
}

Value exception_reply(std::string_view type_name, std::string_view message) {
  return uncaught_error_reply(pickle_builtin_exception(type_name, message),
                              exception_text(type_name, message));
}

Value status_reply(const Status& status) {
  switch (status.code()) {
    case StatusCode::kKeyError:
      return exception_reply("KeyError", status.message());
    case StatusCode::kTypeError:
      return exception_reply("TypeError", status.message());
    case StatusCode::kInvalid:
    case StatusCode::kCapacityError:
      return exception_reply("ValueError", status.message());
    case StatusCode::kIOError:
      return exception_reply("OSError", status.message());
    case StatusCode::kNotImplemented:
      return exception_reply("NotImplementedError", status.message());
    default:
      return exception_reply("RuntimeError", status.to_string());
  }
}

bool is_uncaught_error(const Value& reply) {
  const Value* status = reply.is_map() ? reply.find("status") : nullptr;
  return status != nullptr && status->is_str() && status->as_str() == "uncaught-error";
}

std::string uncaught_error_text(const Value& reply) {
  const Value* text = reply.is_map() ? reply.find("exception_text") : nullptr;
  return text != nullptr && text->is_str() ? text->as_str() : std::string("?");
}

}  // namespace daskcpp::protocol
