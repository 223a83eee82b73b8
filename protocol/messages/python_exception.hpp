#pragma once
// Python exceptions made without Python (protocol.md Appendix B): protocol-2 pickles
// assembled from a handful of opcodes, which stock clients turn back into exceptions
// with pickle.loads (task-erred.exception as bin) or send_recv / clean_exception
// (uncaught-error replies). Mirrors what the Python scheduler pickles itself:
// KilledWorker in _transition_processing_released paths, and error_message() in
// distributed/core.py for handler failures.

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/bytes.hpp"
#include "protocol/codec/value.hpp"
#include "protocol/messages/key.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// `builtins.<type_name>(message)`; type_name is trusted (one of the helpers below
// or a literal), message is any UTF-8 text.
Bytes pickle_builtin_exception(std::string_view type_name, std::string_view message);
inline Bytes pickle_runtime_error(std::string_view m) {
  return pickle_builtin_exception("RuntimeError", m);
}
inline Bytes pickle_key_error(std::string_view m) {
  return pickle_builtin_exception("KeyError", m);
}
inline Bytes pickle_value_error(std::string_view m) {
  return pickle_builtin_exception("ValueError", m);
}
inline Bytes pickle_type_error(std::string_view m) {
  return pickle_builtin_exception("TypeError", m);
}
inline Bytes pickle_memory_error(std::string_view m) {
  return pickle_builtin_exception("MemoryError", m);
}

// distributed.scheduler.KilledWorker(key, <obj with .address>, allowed_failures).
// The last worker is a types.SimpleNamespace(address=...), enough for its __str__.
// Fails only for an int key outside the int64 range.
Result<Bytes> pickle_killed_worker(const Key& key, std::string_view last_worker_address,
                                   std::int64_t allowed_failures);

// {"status": "uncaught-error", "exception", "traceback", "exception_text",
//  "traceback_text"}: the reply of an RPC handler that failed (core.error_message).
struct UncaughtError {
  Value exception;  // bin pickle from us, Payload from Python peers
  Value traceback;  // nil from us
  std::string exception_text;
  std::string traceback_text;

  static Result<UncaughtError> decode(const Value& msg);
  Value encode() const;
  friend bool operator==(const UncaughtError&, const UncaughtError&) = default;
};

// An uncaught-error reply carrying `exception_pickle`, no traceback.
Value uncaught_error_reply(Bytes exception_pickle, std::string exception_text);

}  // namespace daskcpp::protocol
