// The worker's Python-side services: the facade tasks see through get_worker()
// (daskcpp._worker_context), its secede/log_event hooks into the state machine and
// the stream, and the RPCs that run user Python code — `run` (upstream
// distributed.worker.run), `plugin-add` / `plugin-remove` (Worker.plugin_add /
// plugin_remove) and the scheduler's `worker-plugins` at registration.
//
// User code may block, so these RPCs run on the interpreter thread, never on the
// loop; the coroutine resumes on the loop with the reply. Runs on the loop thread
// except the hooks, which are called on executor threads and only post to the loop.
//
// Ops the worker does not serve natively go to the handlers WorkerPlugins register on
// the facade (the P2P shuffle's shuffle_receive, shuffle_inputs_done, shuffle-fail):
// the request is re-encoded to its frames and decoded by distributed.protocol.loads
// on the facade's loop, where the handler runs; its reply comes back as frames.

#include <spdlog/spdlog.h>

#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "protocol/codec/message_codec.hpp"
#include "protocol/messages/field_reader.hpp"
#include "protocol/messages/python_exception.hpp"
#include "protocol/messages/worker_ops.hpp"
#include "worker/server/worker_server.hpp"

namespace daskcpp::worker {

namespace {

using protocol::make_map;
using protocol::Map;
using protocol::Value;
using python_compat::CallOutcome;

Value type_error(std::string_view op, std::string_view field, std::string_view what) {
  std::string text =
      std::string(op) + ": field '" + std::string(field) + "': " + std::string(what);
  return protocol::uncaught_error_reply(protocol::pickle_type_error(text),
                                        "TypeError: " + text);
}

// {"status": "OK"[, "result"]} or distributed.core.error_message's reply. A failure of
// the bridge itself is a RuntimeError naming the op.
Value reply_of(std::string_view op, const Result<CallOutcome>& r) {
  if (!r.ok()) {
    std::string text = std::string(op) + ": " + r.status().to_string();
    spdlog::error("{}", text);
    return protocol::uncaught_error_reply(protocol::pickle_runtime_error(text),
                                          "RuntimeError: " + text);
  }
  if (r->ok) {
    Map m{{"status", Value("OK")}};
    if (r->result) m.emplace_back("result", serialized_payload(*r->result));
    return Value(std::move(m));
  }
  const python_compat::ErrorPayload& e = r->error;
  return make_map(
      {{"status", "error"},
       {"exception", serialized_payload(e.exception)},
       {"traceback", e.traceback ? serialized_payload(*e.traceback) : Value()},
       {"exception_text", Value(e.exception_text)},
       {"traceback_text", Value(e.traceback_text)}});
}

// A result computed off the loop; it is handed to the loop thread, which wakes the
// waiting coroutine by cancelling the timer.
template <typename T>
struct Pending {
  explicit Pending(asio::io_context& io)
      : done(io, asio::steady_timer::time_point::max()) {}
  asio::steady_timer done;
  std::optional<T> result;
};

template <typename T>
asio::awaitable<T> wait_for(std::shared_ptr<Pending<T>> pending) {
  while (!pending->result) {
    protocol::ErrorCode ec;
    co_await pending->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(*pending->result);
}

using PendingCall = Pending<Result<CallOutcome>>;

// Hands `job` to the interpreter thread; its result comes back to the loop thread.
// Plain functions, not coroutines taking a callable: gcc 12 mis-copies lambda
// captures passed as coroutine parameters.
std::shared_ptr<PendingCall> start_call(asio::io_context& io,
                                        python_compat::Interpreter& py,
                                        std::function<Result<CallOutcome>()> job) {
  auto pending = std::make_shared<PendingCall>(io);
  bool queued = py.post([&io, pending, job = std::move(job)]() {
    Result<CallOutcome> r = job();
    asio::post(io, [pending, r = std::move(r)]() mutable {
      pending->result = std::move(r);
      pending->done.cancel();
    });
  });
  if (!queued)
    pending->result = Status::Invalid("the worker's interpreter is shutting down");
  return pending;
}

asio::awaitable<Result<CallOutcome>> wait_call(std::shared_ptr<PendingCall> pending) {
  return wait_for(std::move(pending));
}

Value runtime_error_reply(std::string text) {
  spdlog::error("{}", text);
  return protocol::uncaught_error_reply(protocol::pickle_runtime_error(text),
                                        "RuntimeError: " + text);
}

}  // namespace

Status WorkerServer::configure_python_context() {
  python_compat::WorkerInfo info;
  info.address = address_;
  info.name = options_.name.value_or(address_);
  info.id = server_id_;
  info.scheduler_address = options_.scheduler_address;
  info.nthreads = options_.nthreads;
  info.local_directory = work_dir_;
  info.memory_limit = options_.memory_limit;
  python_compat::WorkerHooks hooks;
  hooks.on_secede = [this](std::string canonical, double duration, std::string sid) {
    asio::post(io_, [this, canonical = std::move(canonical), duration,
                     sid = std::move(sid)]() mutable {
      Bytes bytes = Bytes::copy_of(canonical);
      Result<Value> v = protocol::decode_msgpack(bytes.span());
      Result<Key> key = v.ok() ? Key::from_value(std::move(*v)) : v.status();
      if (!key.ok() || closing_ || !state_) {
        if (!key.ok()) spdlog::error("secede: bad key: {}", key.status().to_string());
        return;
      }
      handle(SecedeEvent{std::move(*key), duration, std::move(sid)});
    });
  };
  hooks.on_log_event = [this](Bytes payload) {
    asio::post(io_, [this, payload = std::move(payload)] {
      Result<Value> v = protocol::decode_msgpack(payload.span());
      if (!v.ok() || !v->is_array() || v->as_array().size() != 2) {
        spdlog::error("log_event: not [topic, msg]");
        return;
      }
      if (stream_ && !stream_->closed()) {
        stream_->send(protocol::LogEvent{v->as_array()[0], v->as_array()[1]}.encode());
      }
    });
  };
  return runner_->configure_worker(info, std::move(hooks));
}

void WorkerServer::close_python_context() {
  if (runner_) runner_->close_worker_context();
}

void WorkerServer::add_scheduler_plugins(const Value& worker_plugins) {
  if (!worker_plugins.is_map()) return;
  for (const auto& [name, plugin] : worker_plugins.as_map()) {
    if (!name.is_str() || !plugin.is_bin()) {
      spdlog::error("register-worker reply: worker-plugins entry is not str: bin");
      continue;
    }
    // Not awaited (upstream awaits them before running): the result is only logged.
    interpreter_->post([runner = runner_.get(), n = name.as_str(), p = plugin.as_bin()] {
      Result<CallOutcome> r = runner->plugin_add(p, n, true);
      if (!r.ok() || !r->ok) spdlog::error("worker plugin {} failed to set up", n);
    });
  }
}

// distributed.worker.run: {function, args, kwargs: pickles; wait: bool}.
asio::awaitable<Value> WorkerServer::serve_run(protocol::RpcRequest& req) {
  const Value* function = req.arg("function");
  if (function == nullptr || !function->is_bin()) {
    co_return type_error("run", "function", "expected pickled bytes");
  }
  std::optional<Bytes> args, kwargs;
  if (const Value* a = req.arg("args"); a != nullptr && !a->is_nil()) {
    if (!a->is_bin()) co_return type_error("run", "args", "expected pickled bytes");
    args = a->as_bin();
  }
  if (const Value* k = req.arg("kwargs"); k != nullptr && !k->is_nil()) {
    if (!k->is_bin()) co_return type_error("run", "kwargs", "expected pickled bytes");
    kwargs = k->as_bin();
  }
  bool wait = true;
  if (const Value* w = req.arg("wait"); w != nullptr && !w->is_nil()) {
    if (!w->is_bool()) co_return type_error("run", "wait", "expected a bool");
    wait = w->as_bool();
  }
  std::shared_ptr<PendingCall> pending =
      start_call(io_, *interpreter_, [this, f = function->as_bin(), args, kwargs, wait] {
        return runner_->run_function(f, args, kwargs, wait);
      });
  Result<CallOutcome> r = co_await wait_call(pending);
  co_return reply_of("run", r);
}

// Worker.plugin_add: {plugin: pickle, name: str or nil, catch_errors: bool}.
asio::awaitable<Value> WorkerServer::serve_plugin_add(protocol::RpcRequest& req) {
  const Value* plugin = req.arg("plugin");
  if (plugin == nullptr || !plugin->is_bin()) {
    co_return type_error("plugin-add", "plugin", "expected pickled bytes");
  }
  std::optional<std::string> name;
  if (const Value* n = req.arg("name"); n != nullptr && !n->is_nil()) {
    if (!n->is_str()) co_return type_error("plugin-add", "name", "expected a str");
    name = n->as_str();
  }
  bool catch_errors = true;
  if (const Value* c = req.arg("catch_errors"); c != nullptr && !c->is_nil()) {
    if (!c->is_bool())
      co_return type_error("plugin-add", "catch_errors", "expected a bool");
    catch_errors = c->as_bool();
  }
  std::shared_ptr<PendingCall> pending =
      start_call(io_, *interpreter_, [this, p = plugin->as_bin(), name, catch_errors] {
        return runner_->plugin_add(p, name, catch_errors);
      });
  Result<CallOutcome> r = co_await wait_call(pending);
  co_return reply_of("plugin-add", r);
}

asio::awaitable<Value> WorkerServer::serve_plugin_remove(protocol::RpcRequest& req) {
  const Value* name = req.arg("name");
  if (name == nullptr || !name->is_str()) {
    co_return type_error("plugin-remove", "name", "expected a str");
  }
  std::shared_ptr<PendingCall> pending =
      start_call(io_, *interpreter_,
                 [this, n = name->as_str()] { return runner_->plugin_remove(n); });
  Result<CallOutcome> r = co_await wait_call(pending);
  co_return reply_of("plugin-remove", r);
}

// An op no native handler serves: facade.handlers[op] (upstream _handle_comm), or
// the unknown-op warning and a nil reply as before.
asio::awaitable<Value> WorkerServer::serve_python_handler(protocol::RpcRequest& req) {
  const std::string peer = req.comm ? req.comm->peer_address() : std::string("?");
  auto pending = std::make_shared<Pending<std::vector<Bytes>>>(io_);
  Result<bool> found = runner_->call_handler(
      req.op, protocol::encode_message(req.args),
      [&io = io_, pending](std::vector<Bytes> reply) {
        asio::post(io, [pending, reply = std::move(reply)]() mutable {
          pending->result = std::move(reply);
          pending->done.cancel();
        });
      });
  if (!found.ok()) {
    co_return runtime_error_reply(req.op + " (request from " + peer +
                                  "): " + found.status().to_string());
  }
  if (!*found) {
    spdlog::warn("No handler {} found in Worker (request from {})", req.op, peer);
    co_return Value();
  }
  std::vector<Bytes> reply = co_await wait_for(pending);
  Result<Value> decoded = protocol::decode_message(reply);
  if (!decoded.ok()) {
    co_return runtime_error_reply(
        req.op + " (request from " + peer +
        "): cannot decode the Python reply: " + decoded.status().to_string());
  }
  co_return std::move(*decoded);
}

// A stream op no native handler serves: facade.stream_handlers[op], run on the
// facade's loop in arrival order; else logged and skipped as before.
Status WorkerServer::forward_stream_op(const protocol::StreamMessage& sm) {
  std::string op(sm.op);
  Result<bool> found = runner_->call_stream_handler(op, protocol::encode_message(sm.msg));
  if (!found.ok()) {
    spdlog::error("stream op {} from {}: {}", op, sm.peer, found.status().to_string());
  } else if (!*found) {
    spdlog::error("No stream handler {} (stream from {}); op ignored", op, sm.peer);
  }
  return Status::OK();
}

void WorkerServer::setup_python_rpcs() {
  rpc_.set_fallback(
      [this](protocol::RpcRequest& req) { return serve_python_handler(req); });
  rpc_.add("run", [this](protocol::RpcRequest& req) { return serve_run(req); });
  rpc_.add("plugin-add",
           [this](protocol::RpcRequest& req) { return serve_plugin_add(req); });
  rpc_.add("plugin-remove",
           [this](protocol::RpcRequest& req) { return serve_plugin_remove(req); });
}

}  // namespace daskcpp::worker
