#pragma once
// Error replies as a stock peer sends them: the `uncaught-error` map that makes
// the caller raise builtins.<type>(message), with exception_text written as
// Python's repr() writes the exception (distributed.core.error_message).

#include <string>
#include <string_view>

#include "protocol/codec/value.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// Python's repr() of a str.
std::string py_repr(std::string_view s);
// "<type_name>('<message>')", as repr() of the exception.
std::string exception_text(std::string_view type_name, std::string_view message);
// An `uncaught-error` reply raising builtins.<type_name>(message) in the caller.
Value exception_reply(std::string_view type_name, std::string_view message);
// The same for a Status: KeyError / TypeError for those codes, ValueError for bad
// input, OSError for IOError, NotImplementedError, RuntimeError otherwise.
Value status_reply(const Status& status);
// True for a reply map with status "uncaught-error".
bool is_uncaught_error(const Value& reply);
// Its exception_text, or "?" when absent.
std::string uncaught_error_text(const Value& reply);

}  // namespace daskcpp::protocol
