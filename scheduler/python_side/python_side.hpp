#pragma once
// PythonSide: the scheduler's Python side — the facade host (python_compat), its loop
// pump, the port it reads the state through, and the glue that makes stock's plugin
// machinery work on daskcpp (docs/design/scheduler-python-side.md §4):
//   * ops routed to Python: run_function, register/unregister_scheduler_plugin and
//     whatever Python code puts in facade.handlers / facade.stream_handlers;
//   * SchedulerPlugin hooks at stock's points (SchedulerHooks, GraphObserver, and a
//     TransitionObserver installed only while some plugin overrides `transition`, so
//     the per-task path stays free of Python otherwise);
//   * a hook that raises is logged naming plugin and hook; the scheduler carries on.
//
// Thread: the scheduler loop; Python runs there with the GIL.

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "protocol/status.hpp"
#include "python_compat/scheduler_host.hpp"
#include "scheduler/extensions/plugins/plugin_store.hpp"
#include "scheduler/python_side/loop_pump.hpp"
#include "scheduler/python_side/scheduler_port_impl.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/scheduler_hooks.hpp"
#include "scheduler/transitions/graph_observer.hpp"
#include "scheduler/transitions/transition_observer.hpp"

namespace daskcpp::scheduler {

// Bit i = HOOKS[i] of python_compat/daskcpp/_scheduler_plugins.py.
enum class PluginHook : std::uint32_t {
  update_graph = 0,
  transition,
  add_worker,
  remove_worker,
  add_client,
  remove_client,
  log_event,
  restart,
  valid_workers_downscaling,
  before_close,
  close,
  shuffle_gate,  // the hosted shuffle extension (gated transition hook)
};

class PythonSide final : public SchedulerHooks,
                         public TransitionObserver,
                         public GraphObserver {
 public:
  // Builds the facade (needs the embedded interpreter running) and installs the
  // hooks on the service. `address` is read when Python asks for it.
  // Then hosts the default extensions (P2P shuffle) and starts every plugin, so the
  // first register-worker reply already carries the shuffle worker plugin.
  static Result<std::unique_ptr<PythonSide>> start(
      ExtensionContext& ctx, PluginStore& plugins, const SchedulerOptions& options,
      std::function<std::string()> address, std::string id, DiagnosticsQuery diagnostics);
  ~PythonSide() override;

  // Scheduler.close's plugin part: before_close and close hooks, then the facade
  // loop stops. Idempotent.
  void close();

  // Runs Python statements with `facade` bound (tests, startup glue).
  Status exec(const std::string& source);

  // SchedulerHooks
  void add_worker(const std::string& address) override;
  void remove_worker(const std::string& address, const std::string& stimulus_id) override;
  void add_client(const std::string& client) override;
  void remove_client(const std::string& client) override;
  void log_event(const std::vector<std::string>& topics,
                 const protocol::Value& msg) override;
  void restart() override;
  std::optional<std::vector<std::string>> valid_workers_downscaling(
      const std::vector<std::string>& candidates) override;
  void heartbeat_extensions(const std::string& address,
                            const protocol::Value& extensions) override;
  protocol::Value version_message(const protocol::Value& workers,
                                  const protocol::Value& source) override;

  // TransitionObserver
  void on_transition(SchedulerState& s, TaskId id, TaskStatus start, TaskStatus finish,
                     const TransitionArgs& args, const Stimulus& stim,
                     const LinksBefore* before) override;
  // GraphObserver
  void on_update_graph(SchedulerState& s, const UpdateGraph& g,
                       const std::vector<TaskId>& touched,
                       const std::vector<TaskId>& requested,
                       const Stimulus& stim) override;

 private:
  PythonSide(ExtensionContext& ctx, PluginStore& plugins);
  // Installs the transition observer while someone may want a transition: a plugin
  // with a `transition` hook, or the shuffle gate with a barrier alive or a shuffle
  // active. Otherwise the engine's per-task path has no observer at all.
  void update_observer();
  bool shuffle_gate_fires(TaskId id, TaskStatus finish) const;
  bool wants(PluginHook hook) const {
    return (hook_mask_ >> static_cast<std::uint32_t>(hook)) & 1u;
  }
  void set_hook_mask(std::uint32_t mask);
  void route_rpc(const std::string& op);
  void route_stream(const std::string& op);
  asio::awaitable<protocol::Value> call_python(std::string op, protocol::RpcRequest& req);
  void hook(std::string_view name, protocol::Value kwargs);

  ExtensionContext& ctx_;
  PluginStore& plugins_;
  std::unique_ptr<SchedulerPortImpl> port_;
  std::unique_ptr<python_compat::SchedulerPythonHost> host_;
  std::unique_ptr<LoopPump> pump_;
  std::uint32_t hook_mask_ = 0;
  int engine_depth_ = 0;  // > 0 while a hook called from inside the engine runs
  std::set<std::string> routed_rpc_;
  // The comms of RPCs Python is still handling, by id (SchedulerPort::comm_write).
  std::unordered_map<std::int64_t, std::shared_ptr<protocol::Comm>> comms_;
  std::int64_t next_comm_id_ = 1;
  std::set<std::string> routed_stream_;
  bool closed_ = false;
  // The shuffle gate's inputs: barrier tasks alive ("shuffle-barrier-*" keys, seen
  // at intake, dropped when forgotten) and whether a shuffle is active.
  std::unordered_set<TaskId> barriers_;
  bool shuffle_active_ = false;
};

}  // namespace daskcpp::scheduler
