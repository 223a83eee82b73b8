#include "scheduler/server/extensions.hpp"

#include "scheduler/extensions/admin/admin_handlers.hpp"
#include "scheduler/extensions/coordination/coordination_handlers.hpp"
#include "scheduler/extensions/multi_lock/multi_lock_handlers.hpp"
#include "scheduler/extensions/plugins/plugin_handlers.hpp"
#include "scheduler/extensions/queue/queue_handlers.hpp"
#include "scheduler/extensions/replica/replica_handlers.hpp"
#include "scheduler/extensions/replica/retire_handlers.hpp"
#include "scheduler/extensions/variable/variable_handlers.hpp"
#include "scheduler/handlers/client_handlers.hpp"
#include "scheduler/handlers/data_handlers.hpp"
#include "scheduler/handlers/graph_handlers.hpp"
#include "scheduler/handlers/worker_handlers.hpp"

namespace daskcpp::scheduler {

LogEvent Extensions::log_event_fn() {
  return [this](const std::vector<std::string>& topics, const protocol::Value& msg) {
    events.log_event(topics, msg);
  };
}

void Extensions::register_all(ExtensionContext& ctx,
                              python_compat::GraphMaterializer& materializer) {
  // A later registration of an op replaces an earlier one; no two groups share one.
  register_client_handlers(ctx);
  register_worker_handlers(ctx, plugins);
  register_graph_handlers(ctx, materializer);
  register_data_handlers(ctx);
  events.register_handlers(ctx);
  register_admin_handlers(ctx);
  register_coordination_handlers(ctx);
  register_retire_handlers(ctx);
  register_replica_handlers(ctx);
  register_variable_handlers(ctx);
  register_queue_handlers(ctx);
  register_multi_lock_handlers(ctx);
  register_plugin_handlers(ctx, plugins);
  task_stream.register_handlers(ctx);
  stealing.register_handlers(ctx);
}

}  // namespace daskcpp::scheduler
