#pragma once
// SchedulerHooks: the scheduler events stock hands to its SchedulerPlugins
// (distributed/scheduler.py; docs/design/scheduler-python-side.md §2.5), called by
// the handlers and the service at stock's points. The Python side implements it
// (scheduler/python_side/); with none installed each call site pays one null test,
// and an installed one checks its hook mask before building any argument.
//
// Thread: the scheduler loop.

#include <optional>
#include <string>
#include <vector>

#include "protocol/codec/value.hpp"

namespace daskcpp::scheduler {

class SchedulerHooks {
 public:
  virtual ~SchedulerHooks() = default;

  // After the WorkerState and its stream exist, before the register reply.
  virtual void add_worker(const std::string& address) = 0;
  // After the worker's transitions, with their stimulus id.
  virtual void remove_worker(const std::string& address,
                             const std::string& stimulus_id) = 0;
  // After the client is known, before stream-start.
  virtual void add_client(const std::string& client) = 0;
  // After the client's keys are released.
  virtual void remove_client(const std::string& client) = 0;
  // Every published event (Broker.publish), once per topic.
  virtual void log_event(const std::vector<std::string>& topics,
                         const protocol::Value& msg) = 0;
  // After the restart's task state is cleared and clients told.
  virtual void restart() = 0;
  // SchedulerPlugin.valid_workers_downscaling over `candidates` (addresses, in
  // order): the ones plugins allow closing; nullopt when no plugin has the hook.
  virtual std::optional<std::vector<std::string>> valid_workers_downscaling(
      const std::vector<std::string>& candidates) = 0;
  // A worker heartbeat's `extensions` map with at least one non-empty entry
  // (heartbeat_worker's `self.extensions[name].heartbeat(ws, data)`).
  virtual void heartbeat_extensions(const std::string& address,
                                    const protocol::Value& extensions) = 0;
  // distributed.versions.error_message(scheduler's get_versions(), `workers`
  // ({address: versions}), `source`): {"warning": str, "error": str}, what
  // register-client puts into stream-start. Nil when versions cannot be compared.
  virtual protocol::Value version_message(const protocol::Value& workers,
                                          const protocol::Value& source) {
    (void)workers;
    (void)source;
    return protocol::Value();
  }
};

}  // namespace daskcpp::scheduler
