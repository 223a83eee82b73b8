#pragma once
// What the server layer keeps behind TaskState::run_spec, which the core holds
// as an opaque handle: a protocol::PickledRunSpec (made at graph intake by the
// materializer).

#include <memory>

#include "protocol/codec/pickled_run_spec.hpp"
#include "protocol/codec/value.hpp"
#include "scheduler/state/task_state.hpp"

namespace daskcpp::scheduler {

inline const protocol::PickledRunSpec* pickled_run_spec(const RunSpecHandle& handle) {
  return static_cast<const protocol::PickledRunSpec*>(handle.get());
}

// The run_spec as a message carries it (a `__Pickled__` payload), nil without one.
inline protocol::Value run_spec_value(const RunSpecHandle& handle) {
  if (!handle) return protocol::Value();
  return protocol::Value(
      std::make_shared<const protocol::Payload>(pickled_run_spec(handle)->payload()));
}

}  // namespace daskcpp::scheduler
