#pragma once
// SchedulerPortImpl: the SchedulerPort (python_compat/scheduler_port.hpp) over the
// scheduler service — what the Python facade reads and writes. Reads are live (no
// copies kept); writes are stock's few: transitions, restrictions, annotations,
// _queueable, sends, events. Routing and hook-mask changes are forwarded to the
// PythonSide that owns this port (`Owner`).
//
// Transitions requested from Python while a hook runs inside the engine (a
// transition or update_graph hook) are refused with a RuntimeError: the engine does
// not nest.
//
// Thread: the scheduler loop.

#include <cstdint>
#include <functional>
#include <string>

#include "python_compat/scheduler_port.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/transitions/transition_observer.hpp"

namespace daskcpp::scheduler {

// The native diagnostics the server answers the facade's `diagnostics` from
// (SchedulerPort::diagnostics): they live in extensions the Python side does not own.
using DiagnosticsQuery =
    std::function<Result<protocol::Value>(std::string_view what, double start)>;

class SchedulerPortImpl final : public python_compat::SchedulerPort {
 public:
  struct Owner {
    std::function<std::string()> address;
    std::string id;
    std::function<void(std::uint32_t)> set_hook_mask;
    std::function<void(const std::string&)> route_rpc;
    std::function<void(const std::string&)> route_stream;
    std::function<void(const std::string&, const protocol::Value&)> store_worker_plugin;
    std::function<void(bool)> set_shuffle_active;
    std::function<std::shared_ptr<protocol::Comm>(std::int64_t)> find_comm;
    // True while a hook called from inside the engine runs.
    std::function<bool()> inside_engine;
    DiagnosticsQuery diagnostics;
  };

  SchedulerPortImpl(ExtensionContext& ctx, Owner owner)
      : ctx_(ctx), owner_(std::move(owner)) {}

  std::string address() const override { return owner_.address(); }
  std::string id() const override { return owner_.id; }
  Result<protocol::Value> info(std::string_view name) const override;

  std::size_t task_count() const override;
  std::vector<std::string> task_keys() const override;
  bool has_task(std::string_view key) const override;
  Result<protocol::Value> task_field(std::string_view key,
                                     std::string_view field) const override;
  Status set_task_field(std::string_view key, std::string_view field,
                        const protocol::Value& value) override;

  std::vector<std::string> worker_addresses() const override;
  Result<protocol::Value> worker_field(std::string_view address,
                                       std::string_view field) const override;
  std::vector<std::string> client_ids() const override;
  Result<protocol::Value> client_field(std::string_view client,
                                       std::string_view field) const override;

  Status transitions(const std::vector<std::pair<std::string, std::string>>& recs,
                     const std::string& stimulus_id) override;
  Status stimulus_queue_slots_maybe_opened(const std::string& stimulus_id) override;
  void log_event(const std::vector<std::string>& topics,
                 const protocol::Value& msg) override;
  void send_all(const protocol::Value& client_msgs,
                const protocol::Value& worker_msgs) override;

  void set_hook_mask(std::uint32_t mask) override { owner_.set_hook_mask(mask); }
  void route_rpc(const std::string& op) override { owner_.route_rpc(op); }
  void route_stream(const std::string& op) override { owner_.route_stream(op); }
  void store_worker_plugin(const std::string& name,
                           const protocol::Value& plugin) override {
    owner_.store_worker_plugin(name, plugin);
  }
  void set_shuffle_active(bool active) override { owner_.set_shuffle_active(active); }
  Result<protocol::Value> diagnostics(std::string_view what, double start) override {
    return owner_.diagnostics(what, start);
  }
  bool comm_write(std::int64_t comm_id, const protocol::Value& msg) override {
    std::shared_ptr<protocol::Comm> comm = owner_.find_comm(comm_id);
    return comm != nullptr && !comm->closed() && comm->write(msg).ok();
  }
  bool comm_closed(std::int64_t comm_id) const override {
    std::shared_ptr<protocol::Comm> comm = owner_.find_comm(comm_id);
    return comm == nullptr || comm->closed();
  }

  // While a `forgotten` hook runs, the task's links as they were before (stock puts
  // them back on the TaskState for the plugins, scheduler.py 1995-1997).
  void set_links_before(TaskId id, const LinksBefore* before) {
    links_task_ = id;
    links_before_ = before;
  }

 private:
  Result<TaskId> live_task(std::string_view key) const;
  Status refuse_nesting(std::string_view what) const;

  ExtensionContext& ctx_;
  Owner owner_;
  TaskId links_task_ = kNoId<TaskId>;
  const LinksBefore* links_before_ = nullptr;
};

}  // namespace daskcpp::scheduler
