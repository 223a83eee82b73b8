#include "scheduler/service/peer_info.hpp"

#include "scheduler/service/scheduler_service.hpp"

namespace daskcpp::scheduler {

using protocol::Value;

double heartbeat_interval(std::size_t n) {
  if (n <= 10) return 0.5;
  if (n < 50) return 1;
  if (n < 200) return 2;
  return static_cast<double>(n) / 200 + 1;
}

Value worker_identity(SchedulerService& svc, const std::string& address) {
  WorkerConnection* w = svc.find_worker(address);
  auto id = svc.state().find_worker(address);
  if (w == nullptr || !id) return Value();
  const WorkerState& ws = svc.state().worker(*id);
  protocol::Map resources;
  for (const auto& [k, v] : ws.resources) resources.emplace_back(Value(k), Value(v));
  return protocol::make_map({{"type", Value("Worker")},
                             {"id", w->name},
                             {"host", Value(ws.host)},
                             {"resources", Value(std::move(resources))},
                             {"local_directory", Value(w->local_directory)},
                             {"name", w->name},
                             {"nthreads", Value(static_cast<std::int64_t>(ws.nthreads))},
                             {"memory_limit", Value(ws.memory_limit)},
                             {"last_seen", Value(w->last_seen)},
                             {"services", w->services},
                             {"metrics", w->metrics},
                             {"status", Value(worker_status_name(ws.status))},
                             {"nanny", w->nanny ? Value(*w->nanny) : Value()}});
}

}  // namespace daskcpp::scheduler
