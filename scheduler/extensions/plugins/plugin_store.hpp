#pragma once
// Scheduler.worker_plugins / nanny_plugins: {name: pickled plugin} in
// registration order (opaque bytes, never unpickled here). The plugins
// extension fills it; the register-worker and register_nanny replies hand it
// to workers and nannies joining later.

#include "protocol/codec/value.hpp"

namespace daskcpp::scheduler {

struct PluginStore {
  protocol::Map worker;
  protocol::Map nanny;
};

}  // namespace daskcpp::scheduler
