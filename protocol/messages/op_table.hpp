#pragma once
// The op table: every op we understand, by channel and name, with its decoder and
// tag (Redis's command table; upstream's equivalents are the handler dicts
// Scheduler.handlers / Scheduler.stream_handlers, Worker.stream_handlers and
// Client._stream_handlers). A dispatcher looks an op up by the channel it arrived
// on and its name; an unknown op is an error naming it. Names are per channel:
// "task-erred" is a TaskErred from a worker and a ClientTaskErred to a client.
//
// Thread safety: the table is immutable after its first use; lookups are safe from
// any thread.

#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "protocol/codec/value.hpp"
#include "protocol/messages/client_ops.hpp"
#include "protocol/messages/rpc_ops.hpp"
#include "protocol/messages/worker_ops.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

enum class Channel : std::uint8_t {
  kWorkerToScheduler,  // worker batched stream, as received by the scheduler
  kSchedulerToWorker,  // worker batched stream, as received by the worker
  kClientToScheduler,  // client batched stream, as received by the scheduler
  kSchedulerToClient,  // client batched stream, as received by the client
  kSchedulerRpc,       // RPC requests served by the scheduler
  kWorkerRpc,          // RPC requests served by a worker
};
const char* channel_name(Channel c);

// One alternative per op struct; OpTag below lists them in the same order.
using Message = std::variant<
    // worker -> scheduler
    TaskFinished, TaskErred, ReleaseWorkerData, AddKeys, LongRunning, Reschedule,
    RequestRefreshWhoHas, StealResponse, WorkerStatusChange, LogEvent, KeepAlive,
    CloseStream,
    // scheduler -> worker
    ComputeTask, FreeKeys, StealRequest, AcquireReplicas, RemoveReplicas, RefreshWhoHas,
    RemoveWorker, CloseWorker,
    // client -> scheduler
    UpdateGraph, ClientDesiresKeys, ClientReleasesKeys, CancelKeys, ReportKey,
    HeartbeatClient, SubscribeTopic, UnsubscribeTopic, CloseClient, UpdateDataStream,
    // scheduler -> client
    StreamStart, KeyInMemory, ClientTaskErred, LostData, CancelledKeys, TaskRetried,
    RestartClient, Event, AdjustHeartbeatInterval, StreamClosed,
    // scheduler RPC
    RegisterWorker, HeartbeatWorker, Unregister, RegisterNanny, RegisterClient, Identity,
    Gather, WhoHasRequest, HasWhat, Ncores, NcoresRunning, Processing, NbytesRequest,
    Scatter, SchedulerUpdateData, Retry, RestartRequest,
    // worker RPC
    GetData, WorkerUpdateData>;

enum class OpTag : std::uint16_t {
  kTaskFinished,
  kTaskErred,
  kReleaseWorkerData,
  kAddKeys,
  kLongRunning,
  kReschedule,
  kRequestRefreshWhoHas,
  kStealResponse,
  kWorkerStatusChange,
  kLogEvent,
  kKeepAlive,
  kCloseStream,
  kComputeTask,
  kFreeKeys,
  kStealRequest,
  kAcquireReplicas,
  kRemoveReplicas,
  kRefreshWhoHas,
  kRemoveWorker,
  kCloseWorker,
  kUpdateGraph,
  kClientDesiresKeys,
  kClientReleasesKeys,
  kCancelKeys,
  kReportKey,
  kHeartbeatClient,
  kSubscribeTopic,
  kUnsubscribeTopic,
  kCloseClient,
  kUpdateDataStream,
  kStreamStart,
  kKeyInMemory,
  kClientTaskErred,
  kLostData,
  kCancelledKeys,
  kTaskRetried,
  kRestartClient,
  kEvent,
  kAdjustHeartbeatInterval,
  kStreamClosed,
  kRegisterWorker,
  kHeartbeatWorker,
  kUnregister,
  kRegisterNanny,
  kRegisterClient,
  kIdentity,
  kGather,
  kWhoHas,
  kHasWhat,
  kNcores,
  kNcoresRunning,
  kProcessing,
  kNbytes,
  kScatter,
  kSchedulerUpdateData,
  kRetry,
  kRestart,
  kGetData,
  kWorkerUpdateData,
  kCount,
};
static_assert(static_cast<std::size_t>(OpTag::kCount) == std::variant_size_v<Message>);

struct OpInfo {
  Channel channel;
  std::string_view name;
  OpTag tag;
  Result<Message> (*decode)(const Value& msg);
};

// Every row, in a stable order.
std::span<const OpInfo> op_table();
// NotImplemented "unknown op 'nope' on client-to-scheduler" when absent.
Result<const OpInfo*> lookup_op(Channel channel, std::string_view name);
// Reads msg["op"], looks it up and decodes the message.
Result<Message> decode_op(Channel channel, const Value& msg);

inline OpTag tag_of(const Message& m) { return static_cast<OpTag>(m.index()); }
std::string_view op_name(const Message& m);
Value encode_op(const Message& m);

}  // namespace daskcpp::protocol
