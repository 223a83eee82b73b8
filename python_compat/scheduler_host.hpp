#pragma once
// SchedulerPythonHost: the scheduler facade in the embedded interpreter — owns the
// runtime-created bridge module (`daskcpp._scheduler_bridge`, pybind11 bindings over a
// SchedulerPort), the `SchedulerFacade` instance and its asyncio loop, and offers the
// scheduler plain C++ calls: RPCs and stream ops routed to Python, plugin hooks, and
// the loop steps (docs/design/scheduler-python-side.md §4).
//
// Threading: every call here is made on the scheduler loop thread and takes the GIL
// there (the interpreter thread releases it while idle). Python code runs on that
// thread too, so it reads and writes scheduler state through the port directly. The
// facade's asyncio loop never blocks: the caller steps it (step()) when its selector
// fd is readable, at the deadline step() returns, and after calls that may have
// scheduled callbacks (wants_step()).
//
// A Python exception in a hook is logged naming the hook; it never propagates.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec/value.hpp"
#include "protocol/status.hpp"
#include "python_compat/scheduler_port.hpp"

namespace daskcpp::python_compat {

class SchedulerPythonHost {
 public:
  using Reply = std::function<void(protocol::Value)>;

  // Needs a started Interpreter in this process; call on the scheduler loop thread.
  static Result<std::unique_ptr<SchedulerPythonHost>> create(SchedulerPort& port);
  ~SchedulerPythonHost();
  SchedulerPythonHost(const SchedulerPythonHost&) = delete;
  SchedulerPythonHost& operator=(const SchedulerPythonHost&) = delete;

  // ---- the facade's asyncio loop
  // The fd to watch for readability (the loop's epoll selector).
  int selector_fd() const { return selector_fd_; }
  // Runs one iteration; returns seconds until the next is due (0: now), or nullopt
  // when only the fd can make one due.
  std::optional<double> step();

  // ---- ops routed to Python
  // facade.handlers[op](**args); `reply` gets the reply (the uncaught-error map when
  // the handler raised), now or during a later step().
  // `comm_id` names the request's comm for SchedulerPort::comm_write.
  void call_rpc(const std::string& op, const std::string& peer, std::int64_t comm_id,
                const protocol::Value& args, Reply reply);
  void call_stream(const std::string& op, const std::string& peer,
                   const protocol::Value& msg);

  // ---- hooks (the caller checks the hook mask first)
  // update_graph, add_worker, remove_worker, add_client, remove_client, log_event,
  // restart, before_close, close; `kwargs` is the map of keyword arguments.
  void hook(std::string_view name, const protocol::Value& kwargs);
  // SchedulerPlugin.transition; `kwargs` null for a recommendation's transition.
  // `only_shuffle`: call just the hosted shuffle extension (its gate fired, no other
  // plugin wants transitions).
  void transition(std::string_view key, std::string_view start, std::string_view finish,
                  std::string_view stimulus_id, const protocol::Value* kwargs,
                  bool only_shuffle);

  // Startup, in stock's order: the default extensions (the P2P shuffle extension),
  // then every plugin's start() run to completion (before workers can register).
  Status install_default_extensions();
  // distributed.preloading.process_preloads (imports now; dask_setup in
  // start_plugins); empty = the distributed.scheduler.preload(-argv) config.
  Status load_preloads(const std::vector<std::string>& preload,
                       const std::vector<std::string>& preload_argv);
  Status start_plugins();

  // SchedulerPlugin.valid_workers_downscaling chained over every plugin; the
  // addresses allowed to close (all of them if a hook fails).
  std::vector<std::string> valid_workers_downscaling(
      const std::vector<std::string>& candidates);

  // distributed.versions.error_message against the embedded interpreter's
  // versions: {"warning", "error"}; nil if it failed (logged).
  protocol::Value version_message(const protocol::Value& workers,
                                  const protocol::Value& source);

  // Runs `source` (Python statements) with `facade` bound: tests and startup glue.
  Status exec(const std::string& source);

  // Scheduler.close's Python part: before_close hooks, preload teardown, close
  // hooks (run to completion), then the facade's tasks are cancelled.
  void close();

 private:
  struct Impl;
  explicit SchedulerPythonHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int selector_fd_ = -1;
};

}  // namespace daskcpp::python_compat
