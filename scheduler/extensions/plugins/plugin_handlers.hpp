#pragma once
// Worker and nanny plugin RPCs (upstream Scheduler.register_worker_plugin,
// unregister_worker_plugin, register_nanny_plugin, unregister_nanny_plugin).
//
// The pickled plugins live in the PluginStore (plugin_store.hpp) so that the
// register-worker and register_nanny replies hand them to workers and nannies
// joining later. Each op
// broadcasts plugin-add / plugin-remove (plugin_add / plugin_remove to nannies) to
// the current workers and answers {worker address: that worker's reply}, as
// Scheduler.broadcast(on_error="raise") does. Thread: the scheduler loop; the
// broadcasts are coroutines awaiting the workers.

#include "scheduler/extensions/plugins/plugin_store.hpp"

namespace daskcpp::scheduler {

struct ExtensionContext;

void register_plugin_handlers(ExtensionContext& server, PluginStore& store);

}  // namespace daskcpp::scheduler
