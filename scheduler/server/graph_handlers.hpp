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

namespace daskcpp::scheduler {

class SchedulerServer;

void register_graph_handlers(SchedulerServer& server);

// Scheduler.remove_client for the core (releases the client's keys), in the
// client's op order. Called by the connection handlers on close-client / EOF.
void remove_client_from_core(SchedulerServer& server, const std::string& client);

}  // namespace daskcpp::scheduler
