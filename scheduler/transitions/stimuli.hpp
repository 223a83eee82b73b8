#pragma once
// Stimulus entry points: what the op handlers call with decoded messages. Each takes
// the SchedulerState, a Stimulus (stimulus_id + injected `now`) and plain arguments,
// runs the recommendations loop to a steady state and returns the intents to send.
// Mirrors Scheduler.update_graph/_create_taskstate_from_graph, stimulus_task_finished,
// stimulus_task_erred, release_worker_data, add_keys, add_worker,
// handle_worker_status_change, remove_worker, add_client/remove_client,
// client_desires_keys, client_releases_keys, stimulus_cancel, handle_long_running,
// _reschedule, stimulus_retry, update_data, handle_request_refresh_who_has and
// stimulus_queue_slots_maybe_opened (distributed/scheduler.py).
//
// Thread: the scheduler loop. Errors are internal-consistency failures (an impossible
// transition); bad peer input (unknown keys, workers, clients) is ignored or answered
// as upstream does, never an error.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/status.hpp"
#include "scheduler/state/effects.hpp"
#include "scheduler/state/scheduler_state.hpp"
#include "scheduler/transitions/transitions.hpp"

namespace daskcpp::scheduler {

// One materialized task of an update-graph (what python_compat hands back).
struct GraphTask {
  std::string key;                        // canonical key bytes
  std::vector<std::string> dependencies;  // canonical keys
  std::string prefix_name;                // key_split(key)
  std::string group_name;                 // key_split_group(key)
  RunSpecHandle run_spec;
  bool data_producer = false;
  std::optional<std::int64_t> order;  // internal priority (dask.order or the client's)
  // Extracted from the task's annotations (per-key over global):
  std::optional<std::int32_t> user_priority;
  std::optional<std::int32_t> retries;
  Restrictions restrictions;
  AnnotationsHandle annotations;  // all annotations, forwarded in compute-task
};

struct UpdateGraph {
  std::string client;
  std::vector<GraphTask> tasks;
  std::vector<std::string> keys;  // what the client holds futures for
  std::int32_t user_priority = 0;
  double fifo_timeout = 0;  // seconds
  std::optional<std::string> submitting_task;
  bool all_actors = false;
  std::vector<std::string> actors;
};

Result<Effects> update_graph(SchedulerState& s, const UpdateGraph& g,
                             const Stimulus& stim);

struct TaskFinished {
  std::string worker;
  std::string key;
  std::int64_t run_id = -1;
  std::int64_t nbytes = -1;
  Bytes type;
  bool has_type = false;
  std::vector<StartStop> startstops;
};
Result<Effects> task_finished(SchedulerState& s, const TaskFinished& m,
                              const Stimulus& stim);

struct TaskErred {
  std::string worker;
  std::string key;
  std::int64_t run_id = -1;
  ExceptionHandle exception;  // opaque; the server forwards it verbatim
  ExceptionHandle traceback;  // null: nil
  std::string exception_text;
  std::string traceback_text;
};
Result<Effects> task_erred(SchedulerState& s, const TaskErred& m, const Stimulus& stim);

Result<Effects> release_worker_data(SchedulerState& s, const std::string& worker,
                                    const std::string& key, const Stimulus& stim);
Result<Effects> add_keys(SchedulerState& s, const std::string& worker,
                         const std::vector<std::string>& keys, const Stimulus& stim);
Result<Effects> long_running(SchedulerState& s, const std::string& worker,
                             const std::string& key, std::int64_t run_id,
                             std::optional<double> compute_duration,
                             const Stimulus& stim);
Result<Effects> reschedule(SchedulerState& s, const std::string& key,
                           const std::string& worker, const Stimulus& stim);
Result<Effects> request_refresh_who_has(SchedulerState& s, const std::string& worker,
                                        const std::vector<std::string>& keys,
                                        const Stimulus& stim);

struct AddWorker {
  std::string address;
  std::string name;
  std::string host;
  std::int32_t nthreads = 1;
  std::int64_t memory_limit = 0;
  std::vector<std::pair<std::string, double>> resources;
  WorkerStatus status = WorkerStatus::init;
};
// Registers the worker (error if the address is already registered).
Result<Effects> add_worker(SchedulerState& s, const AddWorker& w, const Stimulus& stim);
Result<Effects> set_worker_status(SchedulerState& s, const std::string& worker,
                                  WorkerStatus status, const Stimulus& stim);
// expected: a planned departure (retire, nanny restart), which does not make the
// worker's processing tasks suspicious. close: also send it `close`.
Result<Effects> remove_worker(SchedulerState& s, const std::string& worker, bool expected,
                              bool close, const Stimulus& stim);

ClientId add_client(SchedulerState& s, const std::string& client);
Result<Effects> remove_client(SchedulerState& s, const std::string& client,
                              const Stimulus& stim);
Result<Effects> client_desires_keys(SchedulerState& s, const std::string& client,
                                    const std::vector<std::string>& keys,
                                    const Stimulus& stim);
Result<Effects> client_releases_keys(SchedulerState& s, const std::string& client,
                                     const std::vector<std::string>& keys,
                                     const Stimulus& stim);
Result<Effects> cancel_keys(SchedulerState& s, const std::string& client,
                            const std::vector<std::string>& keys, bool force,
                            const std::string& reason, const std::string& msg,
                            const Stimulus& stim);
// Returns, in `retried`, the keys that were reset (the RPC's reply).
Result<Effects> retry(SchedulerState& s, const std::vector<std::string>& keys,
                      std::vector<std::string>& retried, const Stimulus& stim);

// Data that entered the cluster without being computed (scatter / update_data):
// tasks straight to memory, no run_spec.
struct DataKey {
  std::string key;
  std::string prefix_name;
  std::string group_name;
  std::vector<std::string> workers;
  std::int64_t nbytes = -1;
};
Result<Effects> update_data(SchedulerState& s, const std::vector<DataKey>& data,
                            const std::string& client, const Stimulus& stim);

// report-key: re-send the key's current state to the client.
Result<Effects> report_key(SchedulerState& s, const std::string& client,
                           const std::string& key, const Stimulus& stim);

// Sends queued tasks to workers whose slots opened.
Status stimulus_queue_slots_maybe_opened(SchedulerState& s, const Stimulus& stim,
                                         Effects& out);

}  // namespace daskcpp::scheduler
