#include "scheduler/service/scheduler_service.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <optional>

#include "protocol/codec/message_codec.hpp"
#include "protocol/messages/client_ops.hpp"
#include "protocol/messages/hot_ops.hpp"
#include "protocol/messages/python_exception.hpp"
#include "protocol/messages/worker_ops.hpp"
#include "protocol/rpc/clock.hpp"
#include "scheduler/service/run_spec_handle.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {

namespace {

using protocol::Key;
using protocol::Value;

protocol::CommOptions outgoing_comm_options(protocol::CommOptions o) {
  o.pickle_protocol = 4;  // protocol.md §2: connections the scheduler initiates
  return o;
}

// A key for a message: the interned canonical bytes, written as they are.
Key wire_key(std::string_view canonical) {
  return Key::from_wire(std::string(canonical));
}

using protocol::generation_value;

Value stored_value(const std::shared_ptr<const void>& handle) {
  if (!handle) return Value();
  return *static_cast<const Value*>(handle.get());
}

Value exception_value(const TaskException& e, const std::string& key) {
  switch (e.origin) {
    case ExceptionOrigin::worker:
      return stored_value(e.exception);
    case ExceptionOrigin::killed_worker: {
      Result<Bytes> b = protocol::pickle_killed_worker(wire_key(key), e.last_worker,
                                                       e.allowed_failures);
      if (b.ok()) return Value(*b);
      return Value(protocol::pickle_runtime_error(e.exception_text));
    }
    case ExceptionOrigin::memory_error:
      return Value(protocol::pickle_memory_error(e.exception_text));
    case ExceptionOrigin::actor_lost:
      return Value(protocol::pickle_runtime_error("Worker holding Actor was lost"));
  }
  return Value();
}

}  // namespace

SchedulerService::SchedulerService(ConnectionRegistry& connections,
                                   SchedulerConfig config,
                                   const protocol::CommOptions& comm)
    : connections_(connections),
      state_(config),
      pool_(outgoing_comm_options(comm), protocol::ConnectOptions{}) {}

Stimulus SchedulerService::make_stimulus(std::string_view prefix) const {
  const double now = protocol::unix_now();
  return Stimulus{protocol::stimulus_id(prefix, now), now};
}

Value SchedulerService::key_value(std::string_view canonical) {
  return wire_key(canonical).wire_value();
}

WorkerConnection* SchedulerService::find_worker(std::string_view address) {
  return connections_.find_worker(address);
}

WorkerConnection* SchedulerService::find_worker(WorkerId id) {
  if (is_none(id)) return nullptr;
  // Not checking ws.alive: the `close` of a worker being removed is sent after the
  // core dropped it. Ids are never reused, so the id check rejects a newcomer on
  // the same address.
  WorkerConnection* w = find_worker(state_.worker(id).address);
  return w != nullptr && w->id == id ? w : nullptr;
}

protocol::BatchedStream* SchedulerService::client_stream(const std::string& client) {
  return connections_.client_stream(client);
}

Value SchedulerService::encode_worker_msg(const WorkerMsg& msg) const {
  auto keys_of = [](const std::vector<std::string>& ks) {
    std::vector<Key> out;
    out.reserve(ks.size());
    for (const std::string& k : ks) out.push_back(wire_key(k));
    return out;
  };
  return std::visit(
      [&](const auto& m) -> Value {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ComputeTaskMsg>) {
          protocol::ComputeTask c;
          c.key = wire_key(m.key);
          c.run_id = m.run_id;
          c.priority = protocol::Array{
              Value(static_cast<std::int64_t>(m.priority.neg_user)),
              generation_value(m.priority.generation), Value(m.priority.order)};
          c.stimulus_id = m.stimulus_id;
          for (const ComputeTaskDep& d : m.dependencies) {
            Key k = wire_key(d.key);
            c.who_has.emplace_back(k, d.who_has);
            c.nbytes.emplace_back(std::move(k), d.nbytes);
          }
          c.run_spec = run_spec_value(m.run_spec);
          if (!m.resource_restrictions.empty()) {
            protocol::Map r;
            for (const auto& [name, amount] : m.resource_restrictions) {
              r.emplace_back(Value(name), Value(amount));
            }
            c.resource_restrictions = Value(std::move(r));
          }
          c.actor = m.actor;
          if (m.annotations) c.annotations = stored_value(m.annotations);
          return c.encode();
        } else if constexpr (std::is_same_v<T, FreeKeysMsg>) {
          return protocol::FreeKeys{keys_of(m.keys), m.stimulus_id}.encode();
        } else if constexpr (std::is_same_v<T, RemoveReplicasMsg>) {
          return protocol::RemoveReplicas{keys_of(m.keys), m.stimulus_id}.encode();
        } else if constexpr (std::is_same_v<T, RefreshWhoHasMsg>) {
          protocol::RefreshWhoHas r;
          for (const auto& [k, addrs] : m.who_has)
            r.who_has.emplace_back(wire_key(k), addrs);
          r.stimulus_id = m.stimulus_id;
          return r.encode();
        } else if constexpr (std::is_same_v<T, RemoveWorkerMsg>) {
          return protocol::RemoveWorker{m.removed, m.stimulus_id}.encode();
        } else {
          static_assert(std::is_same_v<T, CloseWorkerMsg>);
          return protocol::CloseWorker{m.reason}.encode();
        }
      },
      msg);
}

Value SchedulerService::encode_client_msg(const ClientMsg& msg) const {
  return std::visit(
      [&](const auto& m) -> Value {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, KeyInMemoryMsg>) {
          protocol::KeyInMemory k;
          k.key = wire_key(m.key);
          if (m.has_type) k.type = m.type.empty() ? Value() : Value(m.type);
          if (!m.workers.empty()) k.workers = m.workers;
          return k.encode();
        } else if constexpr (std::is_same_v<T, TaskErredMsg>) {
          protocol::ClientTaskErred e;
          e.key = wire_key(m.key);
          if (m.exception) {
            e.exception = exception_value(*m.exception, m.key);
            e.traceback = m.exception->origin == ExceptionOrigin::worker
                              ? stored_value(m.exception->traceback)
                              : Value();
          } else {
            e.traceback = Value();
          }
          return e.encode();
        } else if constexpr (std::is_same_v<T, LostDataMsg>) {
          return protocol::LostData{wire_key(m.key)}.encode();
        } else if constexpr (std::is_same_v<T, CancelledKeysMsg>) {
          protocol::CancelledKeys c;
          for (const std::string& k : m.keys) c.keys.push_back(wire_key(k));
          auto str_or_nil = [](const std::string& s) {
            return s.empty() ? Value() : Value(s);
          };
          if (is_none(m.client)) {
            // stimulus_cancel broadcasts reason and msg, either maybe nil.
            c.reason = str_or_nil(m.reason);
            c.msg = str_or_nil(m.msg);
          } else {
            if (!m.reason.empty()) c.reason = Value(m.reason);
            if (!m.msg.empty()) c.msg = Value(m.msg);
          }
          return c.encode();
        } else {
          static_assert(std::is_same_v<T, TaskRetriedMsg>);
          return protocol::TaskRetried{wire_key(m.key)}.encode();
        }
      },
      msg);
}

void SchedulerService::send_effects(Effects&& effects) {
  for (const WorkerMsg& m : effects.to_workers) {
    WorkerId wid = std::visit([](const auto& x) { return x.worker; }, m);
    WorkerConnection* w = find_worker(wid);
    if (w == nullptr || w->stream == nullptr || w->stream->closed()) continue;
    if (const auto* compute = std::get_if<ComputeTaskMsg>(&m)) {
      send_compute_task(w->stream->sender(), *compute);
    } else {
      w->stream->send(encode_worker_msg(m));
    }
  }
  for (const ClientMsg& m : effects.to_clients) {
    ClientId cid = std::visit([](const auto& x) { return x.client; }, m);
    if (is_none(cid)) {
      Value v = encode_client_msg(m);
      connections_.send_to_all_clients(v);
      continue;
    }
    const ClientState& cs = state_.client(cid);
    if (!cs.alive) continue;
    if (protocol::BatchedStream* s = client_stream(cs.client_key)) {
      const auto* in_memory = std::get_if<KeyInMemoryMsg>(&m);
      if (in_memory != nullptr && in_memory->workers.empty()) {
        s->sender().send_encoded(
            [in_memory](protocol::MsgpackWriter& w, protocol::Frames&) {
              protocol::write_key_in_memory(w, in_memory->key, in_memory->type,
                                            in_memory->has_type);
            });
      } else {
        s->send(encode_client_msg(m));
      }
    }
  }
}

// compute-task, once per task: written into the worker's batch from the intent,
// no Value tree (the bytes encode_worker_msg would give; hot_ops_test).
void SchedulerService::send_compute_task(protocol::BatchedSend& out,
                                         const ComputeTaskMsg& m) const {
  std::vector<protocol::ComputeTaskDepView> deps;
  deps.reserve(m.dependencies.size());
  for (const ComputeTaskDep& d : m.dependencies)
    deps.push_back({d.key, d.who_has, d.nbytes});
  protocol::ComputeTaskView view;
  view.key = m.key;
  view.run_id = m.run_id;
  view.neg_user_priority = m.priority.neg_user;
  view.generation = m.priority.generation;
  view.order = m.priority.order;
  view.stimulus_id = m.stimulus_id;
  view.dependencies = deps;
  std::optional<protocol::Payload> run_spec;
  if (m.run_spec) run_spec = pickled_run_spec(m.run_spec)->payload();
  view.run_spec = run_spec ? &*run_spec : nullptr;
  view.resource_restrictions = m.resource_restrictions;
  view.actor = m.actor;
  view.annotations = static_cast<const Value*>(m.annotations.get());
  out.send_encoded([&view](protocol::MsgpackWriter& w, protocol::Frames& payload_frames) {
    protocol::write_compute_task(w, payload_frames, view);
  });
}

void SchedulerService::apply(Result<Effects> effects, std::string_view what) {
  if (!effects.ok()) {
    spdlog::error("{}: {}", what, effects.status().to_string());
    return;
  }
  send_effects(std::move(*effects));
}

void SchedulerService::remove_worker(const std::string& address, bool expected,
                                     bool close, std::string_view stimulus_prefix) {
  auto it = connections_.workers().find(address);
  if (it == connections_.workers().end()) return;
  std::shared_ptr<protocol::BatchedStream> stream = it->second.stream;
  Stimulus stim = make_stimulus(stimulus_prefix);
  // The close intent (if any) goes out before the connection entry is dropped.
  Result<Effects> fx = handle(state_, RemoveWorker{address, expected, close}, stim);
  if (fx.ok()) {
    send_effects(std::move(*fx));
  } else {
    spdlog::error("remove_worker {}: {}", address, fx.status().to_string());
  }
  connections_.workers().erase(address);
  if (stream && !stream->closed()) stream->close();
  spdlog::info("Remove worker addr: {} (stimulus_id='{}')", address, stim.id);
  if (hooks_ != nullptr) hooks_->remove_worker(address, stim.id);
}

void SchedulerService::run_in_client_order(const std::string& client,
                                           std::function<void()> op) {
  auto it = client_queues_.find(client);
  if (it == client_queues_.end() || (!it->second.held && it->second.pending.empty())) {
    op();
    return;
  }
  it->second.pending.push_back(std::move(op));
}

void SchedulerService::hold_client(const std::string& client) {
  client_queues_[client].held = true;
}

bool SchedulerService::client_held(const std::string& client) const {
  auto it = client_queues_.find(client);
  return it != client_queues_.end() && (it->second.held || !it->second.pending.empty());
}

void SchedulerService::release_client(const std::string& client) {
  auto it = client_queues_.find(client);
  if (it == client_queues_.end()) return;
  it->second.held = false;
  // An op may hold the client again (the next update-graph); stop there.
  while (true) {
    it = client_queues_.find(client);
    if (it == client_queues_.end() || it->second.held) return;
    if (it->second.pending.empty()) {
      client_queues_.erase(it);
      return;
    }
    std::function<void()> op = std::move(it->second.pending.front());
    it->second.pending.pop_front();
    op();
  }
}

}  // namespace daskcpp::scheduler
