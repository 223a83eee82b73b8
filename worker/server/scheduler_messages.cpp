#include "worker/server/scheduler_messages.hpp"

#include <type_traits>

namespace daskcpp::worker {

namespace {

using protocol::Value;

std::vector<protocol::StartStop> to_wire(const std::vector<StartStop>& startstops) {
  std::vector<protocol::StartStop> out;
  out.reserve(startstops.size());
  for (const StartStop& s : startstops)
    out.push_back({s.action, s.start, s.stop, s.source});
  return out;
}

Value encode(const TaskFinishedMsg& m) {
  protocol::TaskFinished op;
  op.key = m.key;
  op.run_id = m.run_id;
  op.nbytes = m.nbytes;
  op.type = m.type;
  op.typename_ = m.type_name;
  op.thread = m.thread;
  op.startstops = to_wire(m.startstops);
  op.stimulus_id = m.stimulus_id;
  return op.encode();
}

Value encode(const TaskErredMsg& m) {
  return protocol::TaskErred{m.key,
                             m.run_id,
                             m.exception,
                             m.traceback,
                             m.exception_text,
                             m.traceback_text,
                             m.thread,
                             to_wire(m.startstops),
                             m.stimulus_id}
      .encode();
}

Value encode(const ReleaseWorkerDataMsg& m) {
  return protocol::ReleaseWorkerData{m.key, m.stimulus_id}.encode();
}

Value encode(const StealResponseMsg& m) {
  return protocol::StealResponse{m.key, m.state, m.stimulus_id}.encode();
}

Value encode(const AddKeysMsg& m) {
  return protocol::AddKeys{m.keys, m.stimulus_id}.encode();
}

Value encode(const LongRunningMsg& m) {
  return protocol::LongRunning{m.key, m.run_id, m.compute_duration, m.stimulus_id}
      .encode();
}

Value encode(const RescheduleMsg& m) {
  return protocol::Reschedule{m.key, m.stimulus_id}.encode();
}

Value encode(const RequestRefreshWhoHasMsg& m) {
  return protocol::RequestRefreshWhoHas{m.keys, m.stimulus_id}.encode();
}

// The scheduler's priority tuple; anything but a number counts as 0.
std::vector<double> priority_of(const protocol::Array& priority) {
  std::vector<double> p;
  p.reserve(priority.size());
  for (const Value& v : priority) p.push_back(v.is_number() ? v.as_double() : 0);
  return p;
}

// {str: number}; anything else cannot be honoured.
std::map<std::string, double> restrictions_of(const Value& restrictions) {
  std::map<std::string, double> out;
  if (!restrictions.is_map()) return out;
  for (const auto& [name, amount] : restrictions.as_map()) {
    if (name.is_str() && amount.is_number()) out[name.as_str()] = amount.as_double();
  }
  return out;
}

}  // namespace

ComputeTaskEvent to_event(const protocol::ComputeTask& op) {
  ComputeTaskEvent ev;
  ev.key = op.key;
  ev.run_id = op.run_id;
  ev.priority = priority_of(op.priority);
  ev.who_has = op.who_has;
  ev.nbytes = op.nbytes;
  ev.run_spec = op.run_spec;
  ev.resource_restrictions = restrictions_of(op.resource_restrictions);
  ev.annotations = op.annotations;
  ev.stimulus_id = op.stimulus_id;
  return ev;
}

FreeKeysEvent to_event(const protocol::FreeKeys& op) { return {op.keys, op.stimulus_id}; }

StealRequestEvent to_event(const protocol::StealRequest& op) {
  return {op.key, op.stimulus_id};
}

AcquireReplicasEvent to_event(const protocol::AcquireReplicas& op) {
  return {op.who_has, op.nbytes, op.stimulus_id};
}

RemoveReplicasEvent to_event(const protocol::RemoveReplicas& op) {
  return {op.keys, op.stimulus_id};
}

RefreshWhoHasEvent to_event(const protocol::RefreshWhoHas& op) {
  return {op.who_has, op.stimulus_id};
}

RemoveWorkerEvent to_event(const protocol::RemoveWorker& op) {
  return {op.worker, op.stimulus_id};
}

std::optional<Value> scheduler_op(const Instruction& instruction) {
  return std::visit(
      [](const auto& i) -> std::optional<Value> {
        using T = std::decay_t<decltype(i)>;
        if constexpr (std::is_same_v<T, Execute> || std::is_same_v<T, GatherDep> ||
                      std::is_same_v<T, FreeData>) {
          return std::nullopt;
        } else {
          return encode(i);
        }
      },
      instruction);
}

}  // namespace daskcpp::worker
