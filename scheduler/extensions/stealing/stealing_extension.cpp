#include "scheduler/extensions/stealing/stealing_extension.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "protocol/messages/worker_ops.hpp"
#include "protocol/rpc/clock.hpp"
#include "protocol/rpc/decode.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/scheduler_service.hpp"

namespace daskcpp::scheduler {

namespace {

using protocol::Value;

Value nil_or(const std::string& s) { return s.empty() ? Value() : Value(s); }

// Stock's tuples on the "stealing" topic (WorkStealing.log callers).
Value encode_record(const StealLogRecord& r) {
  const Value key = SchedulerService::key_value(r.key);
  if (r.action == "stale-response" || r.action == "already-aborted") {
    return Value(protocol::Array{Value(r.action), key, nil_or(r.state), nil_or(r.worker),
                                 Value(r.stimulus_id)});
  }
  protocol::Array out{Value(r.action)};
  if (r.action == "reschedule") out.push_back(Value(r.thief_gone));
  for (Value v :
       {key, nil_or(r.state), Value(r.victim), Value(r.thief), Value(r.stimulus_id)}) {
    out.push_back(std::move(v));
  }
  return Value(std::move(out));
}

}  // namespace

StealingExtension::~StealingExtension() {
  if (timer_) timer_->cancel();
}

void StealingExtension::register_handlers(ExtensionContext& ctx) {
  ctx_ = &ctx;
  ctx.worker_stream.add("steal-response", [this](const protocol::StreamMessage& m) {
    if (!stealing_) return Status::OK();  // stealing is off: only a stale answer
    DASKCPP_ASSIGN_OR_RETURN(
        auto op, protocol::decode_stream_op<protocol::StealResponse>(m, m.peer));
    const Value* worker = m.get("worker");
    Stimulus stim{op.stimulus_id, protocol::unix_now()};
    ctx_->service.apply(
        stealing_->move_task_confirm(
            op.key.canonical(), op.state,
            worker != nullptr && worker->is_str() ? worker->as_str() : std::string(),
            stim),
        "steal-response");
    publish_log(stim.now);
    return Status::OK();
  });
  if (!ctx.state().config().work_stealing) return;
  stealing_ = std::make_unique<WorkStealing>(ctx.state());
  timer_ = std::make_unique<protocol::asio::steady_timer>(ctx.io);
  arm();
}

void StealingExtension::arm() {
  const double interval = std::max(ctx_->state().config().work_stealing_interval, 0.001);
  timer_->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(interval)));
  timer_->async_wait([this](const protocol::ErrorCode& ec) {
    if (ec || ctx_->shutting_down()) return;
    balance();
    arm();
  });
}

void StealingExtension::balance() {
  const double now = protocol::unix_now();
  for (const StealRequestMsg& r : stealing_->balance()) {
    WorkerConnection* w = ctx_->service.find_worker(r.worker);
    // A victim whose stream is gone is being removed; its tasks leave processing,
    // which drops the steal.
    if (w == nullptr || !w->stream || w->stream->closed()) continue;
    w->stream->send(protocol::make_map({{"op", Value("steal-request")},
                                        {"key", SchedulerService::key_value(r.key)},
                                        {"stimulus_id", Value(r.stimulus_id)}}));
  }
  publish_log(now);
}

void StealingExtension::publish_log(double now) {
  std::vector<StealLogRecord> records = stealing_->take_log();
  if (records.empty()) return;
  // One "request" event per pass listing every request (stock's balance log),
  // one event per answer.
  protocol::Array requests;
  for (const StealLogRecord& r : records) {
    if (r.action == "request") {
      requests.push_back(Value(protocol::Array{
          Value(now), Value(static_cast<std::int64_t>(r.level)),
          SchedulerService::key_value(r.key), Value(r.cost), Value(r.victim),
          Value(r.occ_victim), Value(r.thief), Value(r.occ_thief)}));
    } else {
      ctx_->log_event({"stealing"}, encode_record(r));
    }
  }
  if (!requests.empty()) {
    ctx_->log_event({"stealing"},
                    Value(protocol::Array{Value("request"), Value(std::move(requests))}));
  }
}

}  // namespace daskcpp::scheduler
