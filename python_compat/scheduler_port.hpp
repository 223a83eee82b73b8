#pragma once
// SchedulerPort: what the Python scheduler facade (python_compat/daskcpp/_scheduler.py)
// may ask of the C++ scheduler — live reads of tasks, workers and clients, the few
// writes stock's plugins make (transitions, restrictions, annotations, _queueable),
// sends, events, and the routing of ops to Python. python_compat cannot include
// scheduler headers, so the scheduler implements this plain interface
// (scheduler/python_side/scheduler_port_impl.hpp) and hands it to SchedulerPythonHost.
//
// Keys are their canonical bytes (protocol.md §9). Values are protocol::Value; the
// host converts them with the wire format, as a stock comm would.
// Errors: KeyError = the task/worker/client is gone (Python KeyError); Invalid = no
// such field (AttributeError); anything else becomes a RuntimeError.
//
// Thread: the scheduler loop only (the facade runs there, with the GIL).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/status.hpp"

namespace daskcpp::python_compat {

class SchedulerPort {
 public:
  virtual ~SchedulerPort() = default;

  virtual std::string address() const = 0;
  virtual std::string id() const = 0;
  // A scheduler-wide figure by name ("total_nthreads", "total_occupancy").
  virtual Result<protocol::Value> info(std::string_view name) const = 0;

  // ---- tasks
  virtual std::size_t task_count() const = 0;
  virtual std::vector<std::string> task_keys() const = 0;
  virtual bool has_task(std::string_view key) const = 0;
  // One TaskState field; task links come back as canonical key bytes (binary),
  // workers as addresses, clients as ids.
  virtual Result<protocol::Value> task_field(std::string_view key,
                                             std::string_view field) const = 0;
  // annotations, _queueable, worker_restrictions (list of addresses or nil),
  // loose_restrictions, retries.
  virtual Status set_task_field(std::string_view key, std::string_view field,
                                const protocol::Value& value) = 0;

  // ---- workers and clients
  virtual std::vector<std::string> worker_addresses() const = 0;  // sorted
  virtual Result<protocol::Value> worker_field(std::string_view address,
                                               std::string_view field) const = 0;
  virtual std::vector<std::string> client_ids() const = 0;
  virtual Result<protocol::Value> client_field(std::string_view client,
                                               std::string_view field) const = 0;

  // ---- writes
  // Scheduler.transitions: recommendations in dict order (key bytes, finish state).
  virtual Status transitions(const std::vector<std::pair<std::string, std::string>>& recs,
                             const std::string& stimulus_id) = 0;
  virtual Status stimulus_queue_slots_maybe_opened(const std::string& stimulus_id) = 0;
  virtual void log_event(const std::vector<std::string>& topics,
                         const protocol::Value& msg) = 0;
  // Scheduler.send_all: {client: [msg, ...]}, {worker address: [msg, ...]}.
  virtual void send_all(const protocol::Value& client_msgs,
                        const protocol::Value& worker_msgs) = 0;

  // ---- the Python side's configuration
  // Bit i set: some plugin overrides HOOKS[i] (_scheduler_plugins.py).
  virtual void set_hook_mask(std::uint32_t mask) = 0;
  // From now on, this RPC / stream op is handled by facade.handlers[op] /
  // facade.stream_handlers[op].
  virtual void route_rpc(const std::string& op) = 0;
  virtual void route_stream(const std::string& op) = 0;
  // Scheduler.worker_plugins[name] = plugin: goes out in every register-worker reply.
  virtual void store_worker_plugin(const std::string& name,
                                   const protocol::Value& plugin) = 0;
  // The comm an RPC routed to Python came on (handlers taking `comm`, e.g. feed,
  // write to it repeatedly): false when it is closed or gone.
  virtual bool comm_write(std::int64_t comm_id, const protocol::Value& msg) = 0;
  virtual bool comm_closed(std::int64_t comm_id) const = 0;
  // Whether the hosted shuffle extension has an active shuffle (its gate).
  virtual void set_shuffle_active(bool active) = 0;
  // What the native diagnostics recorded since `start` (unix time), for
  // performance_report: "task_stream" (the records; starts recording if it was
  // not), "logs" (scheduler log records, newest first, with timestamps) or
  // "transition_log" (upstream's 6-tuples, oldest first).
  virtual Result<protocol::Value> diagnostics(std::string_view what, double start) = 0;
};

}  // namespace daskcpp::python_compat
