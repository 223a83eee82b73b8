#include "protocol/messages/op_table.hpp"

#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace daskcpp::protocol {
namespace {

template <typename Op>
Result<Message> decode_as(const Value& msg) {
  DASKCPP_ASSIGN_OR_RETURN(Op op, Op::decode(msg));
  return Message(std::move(op));
}

template <typename T, typename V>
struct VariantIndex;
template <typename T, typename... Ts>
struct VariantIndex<T, std::variant<Ts...>> {
  static constexpr std::size_t value = [] {
    std::size_t i = 0;
    ((std::is_same_v<T, Ts> ? false : (++i, true)) && ...);
    return i;
  }();
};

template <typename Op>
constexpr OpTag tag_for() {
  return static_cast<OpTag>(VariantIndex<Op, Message>::value);
}

template <typename Op>
OpInfo row(Channel c) {
  return OpInfo{c, Op::kOp, tag_for<Op>(), &decode_as<Op>};
}

const std::vector<OpInfo>& table() {
  using C = Channel;
  static const std::vector<OpInfo> kTable = {
      row<TaskFinished>(C::kWorkerToScheduler),
      row<TaskErred>(C::kWorkerToScheduler),
      row<ReleaseWorkerData>(C::kWorkerToScheduler),
      row<AddKeys>(C::kWorkerToScheduler),
      row<LongRunning>(C::kWorkerToScheduler),
      row<Reschedule>(C::kWorkerToScheduler),
      row<RequestRefreshWhoHas>(C::kWorkerToScheduler),
      row<StealResponse>(C::kWorkerToScheduler),
      row<WorkerStatusChange>(C::kWorkerToScheduler),
      row<LogEvent>(C::kWorkerToScheduler),
      row<KeepAlive>(C::kWorkerToScheduler),
      row<CloseStream>(C::kWorkerToScheduler),

      row<ComputeTask>(C::kSchedulerToWorker),
      row<FreeKeys>(C::kSchedulerToWorker),
      row<StealRequest>(C::kSchedulerToWorker),
      row<AcquireReplicas>(C::kSchedulerToWorker),
      row<RemoveReplicas>(C::kSchedulerToWorker),
      row<RefreshWhoHas>(C::kSchedulerToWorker),
      row<WorkerStatusChange>(C::kSchedulerToWorker),
      row<RemoveWorker>(C::kSchedulerToWorker),
      row<CloseWorker>(C::kSchedulerToWorker),
      row<CloseStream>(C::kSchedulerToWorker),

      row<UpdateGraph>(C::kClientToScheduler),
      row<ClientDesiresKeys>(C::kClientToScheduler),
      row<ClientReleasesKeys>(C::kClientToScheduler),
      row<CancelKeys>(C::kClientToScheduler),
      row<ReportKey>(C::kClientToScheduler),
      row<HeartbeatClient>(C::kClientToScheduler),
      row<SubscribeTopic>(C::kClientToScheduler),
      row<UnsubscribeTopic>(C::kClientToScheduler),
      row<CloseClient>(C::kClientToScheduler),
      row<CloseStream>(C::kClientToScheduler),
      row<UpdateDataStream>(C::kClientToScheduler),

      row<StreamStart>(C::kSchedulerToClient),
      row<KeyInMemory>(C::kSchedulerToClient),
      row<ClientTaskErred>(C::kSchedulerToClient),
      row<LostData>(C::kSchedulerToClient),
      row<CancelledKeys>(C::kSchedulerToClient),
      row<TaskRetried>(C::kSchedulerToClient),
      row<RestartClient>(C::kSchedulerToClient),
      row<Event>(C::kSchedulerToClient),
      row<AdjustHeartbeatInterval>(C::kSchedulerToClient),
      row<StreamClosed>(C::kSchedulerToClient),

      row<RegisterWorker>(C::kSchedulerRpc),
      row<HeartbeatWorker>(C::kSchedulerRpc),
      row<Unregister>(C::kSchedulerRpc),
      row<RegisterNanny>(C::kSchedulerRpc),
      row<RegisterClient>(C::kSchedulerRpc),
      row<Identity>(C::kSchedulerRpc),
      row<Gather>(C::kSchedulerRpc),
      row<WhoHasRequest>(C::kSchedulerRpc),
      row<HasWhat>(C::kSchedulerRpc),
      row<Ncores>(C::kSchedulerRpc),
      row<NcoresRunning>(C::kSchedulerRpc),
      row<Processing>(C::kSchedulerRpc),
      row<NbytesRequest>(C::kSchedulerRpc),
      row<Scatter>(C::kSchedulerRpc),
      row<SchedulerUpdateData>(C::kSchedulerRpc),
      row<Retry>(C::kSchedulerRpc),
      row<RestartRequest>(C::kSchedulerRpc),

      row<GetData>(C::kWorkerRpc),
      row<WorkerUpdateData>(C::kWorkerRpc),
  };
  return kTable;
}

struct IndexKey {
  Channel channel;
  std::string_view name;
  bool operator==(const IndexKey&) const = default;
};
struct IndexKeyHash {
  std::size_t operator()(const IndexKey& k) const noexcept {
    return std::hash<std::string_view>{}(k.name) * 31 +
           static_cast<std::size_t>(k.channel);
  }
};

const std::unordered_map<IndexKey, const OpInfo*, IndexKeyHash>& index() {
  static const auto kIndex = [] {
    std::unordered_map<IndexKey, const OpInfo*, IndexKeyHash> m;
    for (const OpInfo& info : table())
      m.emplace(IndexKey{info.channel, info.name}, &info);
    return m;
  }();
  return kIndex;
}

}  // namespace

const char* channel_name(Channel c) {
  switch (c) {
    case Channel::kWorkerToScheduler:
      return "worker-to-scheduler stream";
    case Channel::kSchedulerToWorker:
      return "scheduler-to-worker stream";
    case Channel::kClientToScheduler:
      return "client-to-scheduler stream";
    case Channel::kSchedulerToClient:
      return "scheduler-to-client stream";
    case Channel::kSchedulerRpc:
      return "scheduler RPC";
    case Channel::kWorkerRpc:
      return "worker RPC";
  }
  return "?";
}

std::span<const OpInfo> op_table() { return table(); }

Result<const OpInfo*> lookup_op(Channel channel, std::string_view name) {
  auto it = index().find(IndexKey{channel, name});
  if (it == index().end()) {
    return Status::NotImplemented("unknown op '" + std::string(name) + "' on " +
                                  channel_name(channel));
  }
  return it->second;
}

Result<Message> decode_op(Channel channel, const Value& msg) {
  if (!msg.is_map()) {
    return Status::TypeError(std::string("expected an op map on ") +
                             channel_name(channel) + ", got " + type_name(msg.type()));
  }
  const Value* op = msg.find("op");
  if (op == nullptr) {
    return Status::KeyError(std::string("message without 'op' on ") +
                            channel_name(channel));
  }
  if (!op->is_str()) {
    return Status::TypeError(std::string("'op' must be str, got ") +
                             type_name(op->type()));
  }
  DASKCPP_ASSIGN_OR_RETURN(const OpInfo* info, lookup_op(channel, op->as_str()));
  return info->decode(msg);
}

std::string_view op_name(const Message& m) {
  return std::visit([](const auto& op) { return std::decay_t<decltype(op)>::kOp; }, m);
}

Value encode_op(const Message& m) {
  return std::visit([](const auto& op) { return op.encode(); }, m);
}

}  // namespace daskcpp::protocol
