#pragma once
// The one place where the worker core's types meet the wire (protocol.md §6.4):
// scheduler stream ops become StateMachineEvents, and the core's typed messages for
// the scheduler become their encoded ops.
//
// Thread safety: pure functions.

#include <optional>

#include "protocol/codec/value.hpp"
#include "protocol/messages/worker_ops.hpp"
#include "worker/state/events.hpp"
#include "worker/state/instructions.hpp"

namespace daskcpp::worker {

ComputeTaskEvent to_event(const protocol::ComputeTask& op);
FreeKeysEvent to_event(const protocol::FreeKeys& op);
StealRequestEvent to_event(const protocol::StealRequest& op);
AcquireReplicasEvent to_event(const protocol::AcquireReplicas& op);
RemoveReplicasEvent to_event(const protocol::RemoveReplicas& op);
RefreshWhoHasEvent to_event(const protocol::RefreshWhoHas& op);
RemoveWorkerEvent to_event(const protocol::RemoveWorker& op);

// The encoded stream op for a message to the scheduler; nullopt for an instruction
// the worker carries out itself (Execute, GatherDep, FreeData).
std::optional<protocol::Value> scheduler_op(const Instruction& instruction);

}  // namespace daskcpp::worker
