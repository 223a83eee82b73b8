#include "scheduler/python_side/scheduler_port_impl.hpp"

#include <spdlog/spdlog.h>

#include "protocol/messages/python_exception.hpp"
#include "protocol/rpc/clock.hpp"
#include "scheduler/service/run_spec_handle.hpp"
#include "scheduler/transitions/handler_support.hpp"
#include "scheduler/transitions/transitions.hpp"

namespace daskcpp::scheduler {

using protocol::Array;
using protocol::Map;
using protocol::Value;

namespace {

Value key_value(const SchedulerState& s, TaskId id) {
  return Value(Bytes::copy_of(s.key(id)));
}

Value task_keys_value(const SchedulerState& s, const IdSet<TaskId>& ids) {
  Array out;
  for (TaskId id : ids) {
    if (s.task(id).alive) out.push_back(key_value(s, id));
  }
  return Value(std::move(out));
}

Value worker_addresses_value(const SchedulerState& s, const IdSet<WorkerId>& ids) {
  Array out;
  for (WorkerId id : ids) out.push_back(Value(s.worker(id).address));
  return Value(std::move(out));
}

Value stored(const std::shared_ptr<const void>& handle) {
  if (!handle) return Value();
  return *static_cast<const Value*>(handle.get());
}

Value strings_or_nil(const std::vector<std::string>& v) {
  if (v.empty()) return Value();
  Array out;
  for (const std::string& s : v) out.push_back(Value(s));
  return Value(std::move(out));
}

Value exception_of(const TaskState& ts) {
  if (!ts.extras || !ts.extras->exception) return Value();
  const TaskException& e = *ts.extras->exception;
  if (e.origin == ExceptionOrigin::worker) return stored(e.exception);
  return Value(protocol::pickle_runtime_error(e.exception_text));
}

std::optional<TaskStatus> parse_status(std::string_view name) {
  for (int i = 0; i < kTaskStatusCount; ++i) {
    auto st = static_cast<TaskStatus>(i);
    if (name == task_status_name(st)) return st;
  }
  return std::nullopt;
}

Status unknown_field(std::string_view what, std::string_view field) {
  return Status::Invalid(std::string(what) + "." + std::string(field));
}

}  // namespace

Result<TaskId> SchedulerPortImpl::live_task(std::string_view key) const {
  std::optional<TaskId> id = ctx_.state().find_task(key);
  if (!id || !ctx_.state().task(*id).alive) {
    return Status::KeyError("task is forgotten or unknown");
  }
  return *id;
}

Status SchedulerPortImpl::refuse_nesting(std::string_view what) const {
  if (owner_.inside_engine()) {
    // NotImplemented reaches Python as RuntimeError (scheduler_host.cpp).
    return Status::NotImplemented(
        "daskcpp-scheduler: Scheduler." + std::string(what) +
        " cannot run from inside a transition or update_graph hook (daskcpp's engine "
        "does not nest transitions); schedule it with asyncio instead");
  }
  return Status::OK();
}

Result<Value> SchedulerPortImpl::info(std::string_view name) const {
  const SchedulerState& s = ctx_.state();
  if (name == "total_nthreads") return Value(s.total_nthreads());
  if (name == "total_occupancy") return Value(s.total_occupancy());
  return unknown_field("Scheduler", name);
}

std::size_t SchedulerPortImpl::task_count() const { return ctx_.state().task_count(); }

std::vector<std::string> SchedulerPortImpl::task_keys() const {
  const SchedulerState& s = ctx_.state();
  std::vector<std::string> out;
  for (TaskId id : s.all_tasks()) out.push_back(s.key(id));
  return out;
}

bool SchedulerPortImpl::has_task(std::string_view key) const {
  return live_task(key).ok();
}

Result<Value> SchedulerPortImpl::task_field(std::string_view key,
                                            std::string_view field) const {
  const SchedulerState& s = ctx_.state();
  std::optional<TaskId> found = s.find_task(key);
  if (field == "state" && (!found || !s.task(*found).alive)) return Value("forgotten");
  DASKCPP_ASSIGN_OR_RETURN(TaskId id, live_task(key));
  const TaskState& ts = s.task(id);
  if (field == "state") return Value(task_status_name(ts.status));
  if (field == "priority") {
    if (!ts.has_priority) return Value();
    return Value(Array{Value(static_cast<std::int64_t>(ts.priority.neg_user)),
                       Value(ts.priority.generation), Value(ts.priority.order)});
  }
  if (field == "nbytes") return Value(ts.nbytes);
  if (field == "retries") return Value(static_cast<std::int64_t>(ts.retries));
  if (field == "suspicious") return Value(static_cast<std::int64_t>(ts.suspicious));
  if (field == "run_id") return ts.run_id < 0 ? Value() : Value(ts.run_id);
  if (field == "actor") return Value(ts.actor);
  if (field == "_queueable") return Value(ts.queueable);
  if (field == "has_lost_dependencies") return Value(ts.has_lost_dependencies);
  if (field == "loose_restrictions") return Value(ts.loose_restrictions());
  if (field == "processing_on") {
    if (ts.processing_on == kNoId<WorkerId>) return Value();
    return Value(s.worker(ts.processing_on).address);
  }
  if (field == "exception_blame") {
    if (ts.exception_blame == kNoId<TaskId> || !s.task(ts.exception_blame).alive)
      return Value();
    return key_value(s, ts.exception_blame);
  }
  if (field == "group") return Value(s.group(ts.group).name);
  if (field == "prefix") return Value(s.prefix(ts.prefix).name);
  const LinksBefore* before = id == links_task_ ? links_before_ : nullptr;
  if (field == "dependencies")
    return task_keys_value(s, before ? before->dependencies : ts.dependencies);
  if (field == "dependents")
    return task_keys_value(s, before ? before->dependents : ts.dependents);
  if (field == "waiters") return task_keys_value(s, ts.waiters);
  if (field == "waiting_on") return task_keys_value(s, ts.waiting_on);
  if (field == "who_has") return worker_addresses_value(s, ts.who_has);
  if (field == "who_wants") {
    Array out;
    for (ClientId c : ts.who_wants) out.push_back(Value(s.client(c).client_key));
    return Value(std::move(out));
  }
  if (field == "erred_on") {
    if (!ts.extras) return Value(Array{});
    return worker_addresses_value(s, ts.extras->erred_on);
  }
  const Restrictions* r = ts.restrictions();
  if (field == "worker_restrictions") return r ? strings_or_nil(r->workers) : Value();
  if (field == "host_restrictions") return r ? strings_or_nil(r->hosts) : Value();
  if (field == "resource_restrictions") {
    if (r == nullptr || r->resources.empty()) return Value();
    Map out;
    for (const auto& [name, amount] : r->resources)
      out.emplace_back(Value(name), Value(amount));
    return Value(std::move(out));
  }
  if (field == "annotations") return ts.extras ? stored(ts.extras->annotations) : Value();
  if (field == "run_spec") return run_spec_value(ts.run_spec);
  // TaskState.metadata: what the worker's task-finished message carried, which
  // daskcpp does not keep; None, as stock has for a task that set none.
  if (field == "metadata") return Value();
  if (field == "exception") return exception_of(ts);
  if (field == "traceback") {
    if (!ts.extras || !ts.extras->exception) return Value();
    return stored(ts.extras->exception->traceback);
  }
  if (field == "exception_text" || field == "traceback_text") {
    if (!ts.extras || !ts.extras->exception) return Value("");
    return Value(field == "exception_text" ? ts.extras->exception->exception_text
                                           : ts.extras->exception->traceback_text);
  }
  return unknown_field("TaskState", field);
}

Status SchedulerPortImpl::set_task_field(std::string_view key, std::string_view field,
                                         const Value& value) {
  DASKCPP_ASSIGN_OR_RETURN(TaskId id, live_task(key));
  TaskState& ts = ctx_.state().task(id);
  if (field == "_queueable") {
    ts.queueable = value.is_bool() ? value.as_bool() : !value.is_nil();
    return Status::OK();
  }
  if (field == "annotations") {
    if (value.is_nil()) {
      if (ts.extras) ts.extras->annotations.reset();
    } else {
      ts.mutable_extras().annotations = std::make_shared<const Value>(value);
    }
    return Status::OK();
  }
  if (field == "worker_restrictions") {
    // Scheduler.set_restrictions (8045-8050): worker restrictions only.
    std::vector<std::string> workers;
    if (value.is_array()) {
      for (const Value& w : value.as_array()) {
        if (w.is_str()) workers.push_back(w.as_str());
      }
    }
    if (workers.empty() && !ts.extras) return Status::OK();
    ts.mutable_extras().restrictions.workers = std::move(workers);
    return Status::OK();
  }
  if (field == "loose_restrictions") {
    ts.mutable_extras().restrictions.loose = value.is_bool() && value.as_bool();
    return Status::OK();
  }
  if (field == "retries") {
    if (value.is_int()) ts.retries = static_cast<std::int32_t>(value.as_int64());
    return Status::OK();
  }
  return Status::Invalid("TaskState." + std::string(field) +
                         " is read-only in the daskcpp scheduler facade");
}

std::vector<std::string> SchedulerPortImpl::worker_addresses() const {
  const SchedulerState& s = ctx_.state();
  std::vector<std::string> out;
  for (WorkerId id : s.workers_by_address()) out.push_back(s.worker(id).address);
  return out;
}

Result<Value> SchedulerPortImpl::worker_field(std::string_view address,
                                              std::string_view field) const {
  const SchedulerState& s = ctx_.state();
  std::optional<WorkerId> id = s.find_worker(address);
  if (!id) return Status::KeyError("worker " + std::string(address) + " is gone");
  const WorkerState& ws = s.worker(*id);
  if (field == "name") {
    if (const WorkerConnection* c = ctx_.service.find_worker(address)) return c->name;
    return Value(ws.name);
  }
  if (field == "host") return Value(ws.host);
  if (field == "nthreads") return Value(static_cast<std::int64_t>(ws.nthreads));
  if (field == "memory_limit") return Value(ws.memory_limit);
  if (field == "status") return Value(worker_status_name(ws.status));
  if (field == "nbytes") return Value(ws.nbytes);
  if (field == "occupancy") return Value(s.occupancy(*id));
  if (field == "processing") return task_keys_value(s, ws.processing);
  if (field == "long_running") return task_keys_value(s, ws.long_running);
  if (field == "has_what") return task_keys_value(s, ws.has_what);
  if (field == "resources") {
    Map out;
    for (const auto& [name, amount] : ws.resources)
      out.emplace_back(Value(name), Value(amount));
    return Value(std::move(out));
  }
  if (field == "metrics") {
    // The last heartbeat's (or the registration's) metrics.
    const WorkerConnection* c = ctx_.service.find_worker(address);
    return c != nullptr ? c->metrics : Value(Map{});
  }
  if (field == "nanny") {
    const WorkerConnection* c = ctx_.service.find_worker(address);
    return c != nullptr && c->nanny ? Value(*c->nanny) : Value();
  }
  return unknown_field("WorkerState", field);
}

std::vector<std::string> SchedulerPortImpl::client_ids() const {
  const SchedulerState& s = ctx_.state();
  std::vector<std::string> out;
  for (ClientId c : s.alive_clients()) out.push_back(s.client(c).client_key);
  return out;
}

Result<Value> SchedulerPortImpl::client_field(std::string_view client,
                                              std::string_view field) const {
  const SchedulerState& s = ctx_.state();
  std::optional<ClientId> id = s.find_client(client);
  if (!id) return Status::KeyError("client " + std::string(client) + " is gone");
  if (field == "wants_what") return task_keys_value(s, s.client(*id).wants_what);
  if (field == "last_seen") {
    if (const ClientConnection* c = ctx_.connections.find_client(std::string(client)))
      return Value(c->last_seen);
    return Value();
  }
  return unknown_field("ClientState", field);
}

Status SchedulerPortImpl::transitions(
    const std::vector<std::pair<std::string, std::string>>& recs,
    const std::string& stimulus_id) {
  DASKCPP_RETURN_NOT_OK(refuse_nesting("transitions"));
  SchedulerState& s = ctx_.state();
  Recs r;
  for (const auto& [key, finish] : recs) {
    std::optional<TaskStatus> st = parse_status(finish);
    if (!st) return Status::TypeError("transitions: unknown state " + finish);
    std::optional<TaskId> id = s.find_task(key);
    if (!id || !s.task(*id).alive) continue;  // stock skips keys no longer present
    r.set(*id, *st);
  }
  Effects out;
  Stimulus stim{stimulus_id, protocol::unix_now()};
  Status st = scheduler::transitions(s, std::move(r), stim, out);
  ctx_.service.send_effects(std::move(out));
  if (!st.ok())
    spdlog::error("transitions from Python ({}): {}", stimulus_id, st.to_string());
  return st;
}

Status SchedulerPortImpl::stimulus_queue_slots_maybe_opened(
    const std::string& stimulus_id) {
  DASKCPP_RETURN_NOT_OK(refuse_nesting("stimulus_queue_slots_maybe_opened"));
  Effects out;
  Status st = scheduler::stimulus_queue_slots_maybe_opened(
      ctx_.state(), Stimulus{stimulus_id, protocol::unix_now()}, out);
  ctx_.service.send_effects(std::move(out));
  return st;
}

void SchedulerPortImpl::log_event(const std::vector<std::string>& topics,
                                  const Value& msg) {
  ctx_.log_event(topics, msg);
}

void SchedulerPortImpl::send_all(const Value& client_msgs, const Value& worker_msgs) {
  if (client_msgs.is_map()) {
    for (const auto& [client, msgs] : client_msgs.as_map()) {
      if (!client.is_str() || !msgs.is_array()) continue;
      protocol::BatchedStream* stream = ctx_.service.client_stream(client.as_str());
      if (stream == nullptr) continue;
      for (const Value& m : msgs.as_array()) stream->send(m);
    }
  }
  if (worker_msgs.is_map()) {
    for (const auto& [worker, msgs] : worker_msgs.as_map()) {
      if (!worker.is_str() || !msgs.is_array()) continue;
      WorkerConnection* w = ctx_.service.find_worker(worker.as_str());
      if (w == nullptr || !w->stream || w->stream->closed()) continue;
      for (const Value& m : msgs.as_array()) w->stream->send(m);
    }
  }
}

}  // namespace daskcpp::scheduler
