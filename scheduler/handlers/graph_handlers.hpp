#pragma once
// Client stream ops that touch tasks (upstream Scheduler.update_graph,
// client_desires_keys, client_releases_keys, stimulus_cancel, report_on_key,
// update_data's stream twin; protocol.md §5.2-§5.4).
//
// update-graph materializes on the interpreter thread; its result is posted
// back to the loop. Every op here goes through
// SchedulerService::run_in_client_order so that a client's ops apply in the
// order they arrived even while one of its graphs is materializing.

#include <string>

namespace daskcpp::python_compat {
class GraphMaterializer;
}  // namespace daskcpp::python_compat

namespace daskcpp::scheduler {

struct ExtensionContext;

// Every op below: update-graph and register_client_key_ops.
void register_graph_handlers(ExtensionContext& server,
                             python_compat::GraphMaterializer& materializer);

// The ops that are one core event each (client-desires-keys, client-releases-keys,
// cancel-keys, report-key, update-data), ordered by the client whose stream carried
// them even when the op names another client (fire_and_forget).
void register_client_key_ops(ExtensionContext& server);

}  // namespace daskcpp::scheduler
