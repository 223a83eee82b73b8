#include "scheduler/python_side/python_side.hpp"

#include <spdlog/spdlog.h>

#include <limits>
#include <optional>
#include <utility>

#include "protocol/codec/message_codec.hpp"
#include "scheduler/python_side/peer_close_watch.hpp"

namespace daskcpp::scheduler {

using protocol::Array;
using protocol::Map;
using protocol::Value;

namespace {

// A key as the value stock's hooks receive (str, int, tuple), from its canonical bytes.
Value key_object(const SchedulerState& s, TaskId id) {
  const std::string& k = s.key(id);
  Result<Value> v = protocol::decode_msgpack(
      std::span(reinterpret_cast<const std::uint8_t*>(k.data()), k.size()));
  return v.ok() ? std::move(*v) : Value(k);
}

// The hook's **kwargs of a worker-caused transition: the task-finished / task-erred
// op map minus op/key/stimulus_id/run_id, plus `worker` (stimulus_task_finished).
Value transition_kwargs(const SchedulerState& s, const TransitionArgs& args) {
  const auto* wire = static_cast<const Value*>(args.wire.get());
  if (wire == nullptr || !wire->is_map()) return Value(Map{});
  Map out;
  for (const auto& [k, v] : wire->as_map()) {
    if (k.is_str()) {
      const std::string& name = k.as_str();
      if (name == "op" || name == "key" || name == "stimulus_id" || name == "run_id" ||
          name == "worker")
        continue;
    }
    out.emplace_back(k, v);
  }
  WorkerId worker = kNoId<WorkerId>;
  if (args.finished != nullptr) worker = args.finished->worker;
  if (args.erred != nullptr) worker = args.erred->worker;
  if (worker != kNoId<WorkerId>)
    out.emplace_back(Value("worker"), Value(s.worker(worker).address));
  return Value(std::move(out));
}

// upstream shuffle/_core.py id_from_key: a str key starting with the barrier prefix.
bool is_barrier_key(std::string_view canonical) {
  constexpr std::string_view kPrefix = "shuffle-barrier-";
  if (canonical.empty()) return false;
  const auto first = static_cast<std::uint8_t>(canonical[0]);
  std::size_t header = 0;
  if ((first & 0xe0) == 0xa0) {
    header = 1;  // fixstr
  } else if (first == 0xd9) {
    header = 2;  // str 8
  } else if (first == 0xda) {
    header = 3;  // str 16
  } else if (first == 0xdb) {
    header = 5;  // str 32
  } else {
    return false;
  }
  return canonical.substr(std::min(header, canonical.size())).starts_with(kPrefix);
}

struct Waiter {
  explicit Waiter(asio::io_context& io) : timer(io) {
    timer.expires_at(asio::steady_timer::time_point::max());
  }
  asio::steady_timer timer;
  std::optional<Value> result;
};

}  // namespace

PythonSide::PythonSide(ExtensionContext& ctx, PluginStore& plugins)
    : ctx_(ctx), plugins_(plugins) {}

PythonSide::~PythonSide() {
  close();
  ctx_.service.set_hooks(nullptr);
  ctx_.service.observers().remove(this);
  if (ctx_.state().graph_observer() == this) ctx_.state().set_graph_observer(nullptr);
}

Result<std::unique_ptr<PythonSide>> PythonSide::start(
    ExtensionContext& ctx, PluginStore& plugins, const SchedulerOptions& options,
    std::function<std::string()> address, std::string id, DiagnosticsQuery diagnostics) {
  std::unique_ptr<PythonSide> side(new PythonSide(ctx, plugins));
  PythonSide* self = side.get();
  SchedulerPortImpl::Owner owner{
      std::move(address),
      std::move(id),
      [self](std::uint32_t mask) { self->set_hook_mask(mask); },
      [self](const std::string& op) { self->route_rpc(op); },
      [self](const std::string& op) { self->route_stream(op); },
      [self](const std::string& name, const Value& plugin) {
        Map& m = self->plugins_.worker;
        for (auto& [k, v] : m) {
          if (k.is_str() && k.as_str() == name) {
            v = plugin;
            return;
          }
        }
        m.emplace_back(Value(name), plugin);
      },
      [self](bool active) {
        self->shuffle_active_ = active;
        self->update_observer();
      },
      [self](std::int64_t comm_id) -> std::shared_ptr<protocol::Comm> {
        auto it = self->comms_.find(comm_id);
        return it == self->comms_.end() ? nullptr : it->second;
      },
      [self] { return self->engine_depth_ > 0; },
      std::move(diagnostics)};
  side->port_ = std::make_unique<SchedulerPortImpl>(ctx, std::move(owner));
  DASKCPP_ASSIGN_OR_RETURN(side->host_,
                           python_compat::SchedulerPythonHost::create(*side->port_));
  side->pump_ = std::make_unique<LoopPump>(ctx.io, *side->host_);
  side->pump_->start();
  ctx.service.set_hooks(self);
  DASKCPP_RETURN_NOT_OK(side->host_->install_default_extensions());
  DASKCPP_RETURN_NOT_OK(
      side->host_->load_preloads(options.preload, options.preload_argv));
  DASKCPP_RETURN_NOT_OK(side->host_->start_plugins());
  return side;
}

void PythonSide::close() {
  if (closed_ || !host_) return;
  closed_ = true;
  host_->close();
  pump_->stop();
}

Status PythonSide::exec(const std::string& source) {
  Status st = host_->exec(source);
  pump_->request_step();
  return st;
}

void PythonSide::set_hook_mask(std::uint32_t mask) {
  hook_mask_ = mask;
  const bool graph = wants(PluginHook::update_graph) || wants(PluginHook::shuffle_gate);
  ctx_.state().set_graph_observer(graph ? this : nullptr);
  if (!wants(PluginHook::shuffle_gate)) barriers_.clear();
  update_observer();
}

void PythonSide::update_observer() {
  const bool gate =
      wants(PluginHook::shuffle_gate) && (!barriers_.empty() || shuffle_active_);
  if (!closed_ && (wants(PluginHook::transition) || gate)) {
    ctx_.service.observers().add(this);
  } else {
    ctx_.service.observers().remove(this);
  }
}

// docs/design/scheduler-python-side.md §4.5: the pinned ShuffleSchedulerPlugin's
// transition hook returns without side effects unless a barrier goes released or
// forgotten, or a task errs while a shuffle is active.
bool PythonSide::shuffle_gate_fires(TaskId id, TaskStatus finish) const {
  if (!wants(PluginHook::shuffle_gate)) return false;
  if (finish == TaskStatus::erred) return shuffle_active_;
  if (finish == TaskStatus::released || finish == TaskStatus::forgotten)
    return barriers_.contains(id);
  return false;
}

void PythonSide::route_rpc(const std::string& op) {
  if (!routed_rpc_.insert(op).second) return;
  if (ctx_.rpc.contains(op)) {
    // Replacing a native handler could destroy one that is running (register-client
    // runs for a client's lifetime); stock would replace it, daskcpp keeps its own.
    spdlog::warn(
        "Scheduler.handlers['{}'] set from Python: daskcpp keeps its native handler", op);
    return;
  }
  ctx_.rpc.add(op, [this, op](protocol::RpcRequest& req) -> asio::awaitable<Value> {
    co_return co_await call_python(op, req);
  });
}

void PythonSide::route_stream(const std::string& op) {
  if (!routed_stream_.insert(op).second) return;
  auto handler = [this, op](const protocol::StreamMessage& m) -> Status {
    Value msg = m.msg;
    if (msg.is_map()) {
      Map args;
      for (const auto& [k, v] : msg.as_map()) {
        if (!(k.is_str() && k.as_str() == "op")) args.emplace_back(k, v);
      }
      for (const auto& [k, v] : m.extra.is_map() ? m.extra.as_map() : Map{}) {
        if (msg.find(k.is_str() ? k.as_str() : std::string()) == nullptr)
          args.emplace_back(k, v);
      }
      msg = Value(std::move(args));
    }
    host_->call_stream(op, m.peer, msg);
    pump_->request_step();
    return Status::OK();
  };
  ctx_.client_stream.add(op, handler);
  ctx_.worker_stream.add(op, handler);
}

asio::awaitable<Value> PythonSide::call_python(std::string op,
                                               protocol::RpcRequest& req) {
  auto waiter = std::make_shared<Waiter>(ctx_.io);
  const std::string peer = req.comm ? req.comm->peer_address() : std::string();
  const std::int64_t comm_id = next_comm_id_++;
  comms_.emplace(comm_id, req.comm);
  const bool streaming = req.comm && streams_replies(op);
  if (streaming) watch_for_peer_close(req.comm);
  host_->call_rpc(op, peer, comm_id, req.args, [waiter](Value v) {
    waiter->result = std::move(v);
    waiter->timer.cancel();
  });
  pump_->request_step();
  if (!waiter->result) {
    protocol::ErrorCode ec;
    co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  comms_.erase(comm_id);
  // The stream of replies was the answer: no reply after it (serve_rpc writes none
  // on a closed comm), and closing ends the watch.
  if (streaming) req.comm->close();
  if (!waiter->result) co_return Value();
  co_return std::move(*waiter->result);
}

void PythonSide::hook(std::string_view name, Value kwargs) {
  if (closed_) return;
  host_->hook(name, kwargs);
  pump_->request_step();
}

// ---- SchedulerHooks ---------------------------------------------------------------

void PythonSide::add_worker(const std::string& address) {
  if (wants(PluginHook::add_worker))
    hook("add_worker", protocol::make_map({{"worker", Value(address)}}));
}

void PythonSide::remove_worker(const std::string& address,
                               const std::string& stimulus_id) {
  if (wants(PluginHook::remove_worker)) {
    hook("remove_worker", protocol::make_map({{"worker", Value(address)},
                                              {"stimulus_id", Value(stimulus_id)}}));
  }
}

void PythonSide::add_client(const std::string& client) {
  if (wants(PluginHook::add_client))
    hook("add_client", protocol::make_map({{"client", Value(client)}}));
}

void PythonSide::remove_client(const std::string& client) {
  if (wants(PluginHook::remove_client))
    hook("remove_client", protocol::make_map({{"client", Value(client)}}));
}

void PythonSide::log_event(const std::vector<std::string>& topics, const Value& msg) {
  if (!wants(PluginHook::log_event)) return;
  // Broker.publish calls the hook once per topic.
  for (const std::string& topic : topics) {
    hook("log_event", protocol::make_map({{"topic", Value(topic)}, {"msg", msg}}));
  }
}

void PythonSide::restart() {
  if (wants(PluginHook::restart)) hook("restart", Value(Map{}));
}

std::optional<std::vector<std::string>> PythonSide::valid_workers_downscaling(
    const std::vector<std::string>& candidates) {
  if (closed_ || !wants(PluginHook::valid_workers_downscaling)) return std::nullopt;
  std::vector<std::string> valid = host_->valid_workers_downscaling(candidates);
  pump_->request_step();
  return valid;
}

void PythonSide::heartbeat_extensions(const std::string& address,
                                      const Value& extensions) {
  hook("heartbeat",
       protocol::make_map({{"worker", Value(address)}, {"extensions", extensions}}));
}

Value PythonSide::version_message(const Value& workers, const Value& source) {
  if (closed_) return Value();
  return host_->version_message(workers, source);
}

// ---- engine observers ----------------------------------------------------------------

void PythonSide::on_transition(SchedulerState& s, TaskId id, TaskStatus start,
                               TaskStatus finish, const TransitionArgs& args,
                               const Stimulus& stim, const LinksBefore* before) {
  if (closed_) return;
  const bool all = wants(PluginHook::transition);
  const bool gated = !all && shuffle_gate_fires(id, finish);
  if (all || gated) {
    Value kwargs = transition_kwargs(s, args);
    port_->set_links_before(id, before);
    ++engine_depth_;
    host_->transition(s.key(id), task_status_name(start), task_status_name(finish),
                      stim.id, &kwargs, gated);
    --engine_depth_;
    port_->set_links_before(kNoId<TaskId>, nullptr);
    pump_->request_step();
  }
  if (finish == TaskStatus::forgotten && barriers_.erase(id) > 0) update_observer();
}

void PythonSide::on_update_graph(SchedulerState& s, const UpdateGraph& g,
                                 const std::vector<TaskId>& touched,
                                 const std::vector<TaskId>& requested,
                                 const Stimulus& stim) {
  if (closed_) return;
  if (wants(PluginHook::shuffle_gate)) {
    const std::size_t before = barriers_.size();
    for (TaskId id : touched) {
      if (is_barrier_key(s.key(id))) barriers_.insert(id);
    }
    if (barriers_.size() != before) update_observer();
  }
  if (!wants(PluginHook::update_graph)) return;
  Array keys;
  for (TaskId id : requested) keys.push_back(key_object(s, id));
  Array tasks;
  Map priority;
  Map annotations;  // {name: {key: value}}
  for (TaskId id : touched) {
    const TaskState& ts = s.task(id);
    Value key = key_object(s, id);
    tasks.push_back(key);
    if (ts.has_priority) {
      priority.emplace_back(
          key, Value(Array{Value(static_cast<std::int64_t>(ts.priority.neg_user)),
                           Value(ts.priority.generation), Value(ts.priority.order)}));
    }
    if (!ts.extras || !ts.extras->annotations) continue;
    const auto* a = static_cast<const Value*>(ts.extras->annotations.get());
    if (!a->is_map()) continue;
    for (const auto& [name, value] : a->as_map()) {
      Map* per_key = nullptr;
      for (auto& [n, m] : annotations) {
        if (n == name) per_key = &m.as_map();
      }
      if (per_key == nullptr) {
        annotations.emplace_back(name, Value(Map{}));
        per_key = &annotations.back().second.as_map();
      }
      per_key->emplace_back(key, value);
    }
  }
  Value kwargs = protocol::make_map({{"client", Value(g.client)},
                                     {"keys", Value(std::move(keys))},
                                     {"tasks", Value(std::move(tasks))},
                                     {"annotations", Value(std::move(annotations))},
                                     {"priority", Value(std::move(priority))},
                                     {"stimulus_id", Value(stim.id)}});
  ++engine_depth_;
  hook("update_graph", std::move(kwargs));
  --engine_depth_;
}

}  // namespace daskcpp::scheduler
