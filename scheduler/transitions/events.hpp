#pragma once
// The scheduler core's stimuli as plain event structs, one per upstream handler
// (distributed/scheduler.py): what the op handlers decode a message into and hand to
// handle() (stimuli.hpp). Keys are canonical key bytes, workers are addresses and
// clients are client ids, as they arrive; the handlers intern them.
//
// The events compare by value (defaulted operator==) so tests and traces can state
// "this event in" exactly; opaque payload handles compare by identity.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "scheduler/state/task_state.hpp"
#include "scheduler/state/worker_state.hpp"
#include "scheduler/transitions/transitions.hpp"

namespace daskcpp::scheduler {

// ---- graph intake (Scheduler.update_graph) ----

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
  friend bool operator==(const GraphTask&, const GraphTask&) = default;
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
  friend bool operator==(const UpdateGraph&, const UpdateGraph&) = default;
};

// ---- task results from workers ----

struct TaskFinished {  // stimulus_task_finished
  std::string worker;
  std::string key;
  std::int64_t run_id = -1;
  std::int64_t nbytes = -1;
  Bytes type;
  bool has_type = false;
  std::vector<StartStop> startstops;
  WireMessageHandle wire;  // the op map as received, for plugin hooks
  friend bool operator==(const TaskFinished&, const TaskFinished&) = default;
};

struct TaskErred {  // stimulus_task_erred
  std::string worker;
  std::string key;
  std::int64_t run_id = -1;
  ExceptionHandle exception;  // opaque; the server forwards it verbatim
  ExceptionHandle traceback;  // null: nil
  std::string exception_text;
  std::string traceback_text;
  WireMessageHandle wire;  // the op map as received, for plugin hooks
  friend bool operator==(const TaskErred&, const TaskErred&) = default;
};

struct LongRunning {  // handle_long_running (a task seceded)
  std::string worker;
  std::string key;
  std::int64_t run_id = -1;
  std::optional<double> compute_duration;
  friend bool operator==(const LongRunning&, const LongRunning&) = default;
};

struct Reschedule {  // _reschedule; empty worker: wherever the task runs
  std::string key;
  std::string worker;
  friend bool operator==(const Reschedule&, const Reschedule&) = default;
};

// stimulus_retry: resets erred tasks (and their erred dependencies) to waiting.
// Its reply, the keys reset, comes back in Effects::retried.
struct Retry {
  std::vector<std::string> keys;
  friend bool operator==(const Retry&, const Retry&) = default;
};

// ---- replicas reported by workers or clients ----

struct ReleaseWorkerData {  // release_worker_data
  std::string worker;
  std::string key;
  friend bool operator==(const ReleaseWorkerData&, const ReleaseWorkerData&) = default;
};

struct AddKeys {  // add_keys
  std::string worker;
  std::vector<std::string> keys;
  friend bool operator==(const AddKeys&, const AddKeys&) = default;
};

struct RequestRefreshWhoHas {  // handle_request_refresh_who_has
  std::string worker;
  std::vector<std::string> keys;
  friend bool operator==(const RequestRefreshWhoHas&,
                         const RequestRefreshWhoHas&) = default;
};

// Data that entered the cluster without being computed (scatter / update_data):
// tasks straight to memory, no run_spec.
struct DataKey {
  std::string key;
  std::string prefix_name;
  std::string group_name;
  std::vector<std::string> workers;
  std::int64_t nbytes = -1;
  friend bool operator==(const DataKey&, const DataKey&) = default;
};

struct UpdateData {  // update_data; empty client: nobody desires the keys
  std::vector<DataKey> data;
  std::string client;
  friend bool operator==(const UpdateData&, const UpdateData&) = default;
};

// ---- worker membership ----

// add_worker (error if the address is already registered).
struct AddWorker {
  std::string address;
  std::string name;
  std::string host;
  std::int32_t nthreads = 1;
  std::int64_t memory_limit = 0;
  std::vector<std::pair<std::string, double>> resources;
  WorkerStatus status = WorkerStatus::init;
  friend bool operator==(const AddWorker&, const AddWorker&) = default;
};

struct WorkerStatusChange {  // handle_worker_status_change
  std::string worker;
  WorkerStatus status = WorkerStatus::running;
  friend bool operator==(const WorkerStatusChange&, const WorkerStatusChange&) = default;
};

// remove_worker. expected: a planned departure (retire, nanny restart), which does
// not make the worker's processing tasks suspicious. close: also send it `close`.
struct RemoveWorker {
  std::string worker;
  bool expected = false;
  bool close = false;
  friend bool operator==(const RemoveWorker&, const RemoveWorker&) = default;
};

// ---- client membership and the keys clients hold ----

struct AddClient {  // add_client
  std::string client;
  friend bool operator==(const AddClient&, const AddClient&) = default;
};

struct RemoveClient {  // remove_client
  std::string client;
  friend bool operator==(const RemoveClient&, const RemoveClient&) = default;
};

struct ClientDesiresKeys {  // client_desires_keys
  std::string client;
  std::vector<std::string> keys;
  friend bool operator==(const ClientDesiresKeys&, const ClientDesiresKeys&) = default;
};

struct ClientReleasesKeys {  // client_releases_keys
  std::string client;
  std::vector<std::string> keys;
  friend bool operator==(const ClientReleasesKeys&, const ClientReleasesKeys&) = default;
};

struct CancelKeys {  // stimulus_cancel
  std::string client;
  std::vector<std::string> keys;
  bool force = false;
  std::string reason;
  std::string msg;
  friend bool operator==(const CancelKeys&, const CancelKeys&) = default;
};

struct ReportKey {  // report_on_key: re-send the key's current state to the client
  std::string client;
  std::string key;
  friend bool operator==(const ReportKey&, const ReportKey&) = default;
};

// Every stimulus the core takes. (Not `Event`: the server's event log owns that name
// in this namespace.)
using SchedulerEvent =
    std::variant<UpdateGraph, TaskFinished, TaskErred, LongRunning, Reschedule, Retry,
                 ReleaseWorkerData, AddKeys, RequestRefreshWhoHas, UpdateData, AddWorker,
                 WorkerStatusChange, RemoveWorker, AddClient, RemoveClient,
                 ClientDesiresKeys, ClientReleasesKeys, CancelKeys, ReportKey>;

}  // namespace daskcpp::scheduler
