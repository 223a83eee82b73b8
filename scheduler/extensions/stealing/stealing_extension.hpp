#pragma once
// The work-stealing extension (upstream Scheduler.extensions["stealing"],
// distributed/stealing.py): owns the core's WorkStealing (scheduler/stealing/),
// runs its balance pass every distributed.scheduler.work-stealing-interval, sends
// the steal-requests it decides on, hands each worker's steal-response back to it,
// and publishes what it did on the "stealing" event topic.
//
// With distributed.scheduler.work-stealing off nothing is created (as stock leaves
// the extension out), and a steal-response can only be stale: it is ignored.
//
// Thread: the scheduler loop.

#include <memory>
#include <vector>

#include "protocol/comm/asio.hpp"
#include "scheduler/stealing/work_stealing.hpp"

namespace daskcpp::scheduler {

struct ExtensionContext;

class StealingExtension {
 public:
  StealingExtension() = default;
  ~StealingExtension();
  StealingExtension(const StealingExtension&) = delete;
  StealingExtension& operator=(const StealingExtension&) = delete;

  // Registers steal-response on the worker stream and, when stealing is enabled,
  // starts the balance timer.
  void register_handlers(ExtensionContext& ctx);

  // Null when stealing is disabled.
  WorkStealing* stealing() { return stealing_.get(); }

 private:
  void arm();
  void balance();
  void publish_log(double now);

  ExtensionContext* ctx_ = nullptr;
  std::unique_ptr<WorkStealing> stealing_;
  std::unique_ptr<protocol::asio::steady_timer> timer_;
};

}  // namespace daskcpp::scheduler
