#pragma once
// The composition root of the scheduler's handlers (upstream
// Scheduler.__init__'s `handlers`, `stream_handlers` and DEFAULT_EXTENSIONS):
// owns the state of the extensions that share it with others (events, plugins)
// and registers every handler group and extension on one ExtensionContext.
// The only place that knows them all. Thread: the scheduler loop.

#include "scheduler/extensions/events/events_extension.hpp"
#include "scheduler/extensions/plugins/plugin_store.hpp"
#include "scheduler/extensions/stealing/stealing_extension.hpp"
#include "scheduler/extensions/task_stream/task_stream.hpp"
#include "scheduler/service/extension_context.hpp"

namespace daskcpp::python_compat {
class GraphMaterializer;
}  // namespace daskcpp::python_compat

namespace daskcpp::scheduler {

class Extensions {
 public:
  Extensions(ConnectionRegistry& connections, TransitionObservers& observers)
      : events(connections), task_stream(observers) {}

  // Scheduler.log_event, for ExtensionContext::log_event.
  LogEvent log_event_fn();
  // Registers the client, worker, graph and data handlers and every extension.
  void register_all(ExtensionContext& ctx,
                    python_compat::GraphMaterializer& materializer);

  EventsExtension events;
  PluginStore plugins;
  TaskStream task_stream;
  StealingExtension stealing;
};

}  // namespace daskcpp::scheduler
