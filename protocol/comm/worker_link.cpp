#include "protocol/comm/worker_link.hpp"

#include <spdlog/spdlog.h>

#include "protocol/messages/worker_ops.hpp"

namespace daskcpp::protocol {

asio::awaitable<Result<RegisterWorkerReply>> register_worker(Comm& comm,
                                                             const RegisterWorker& reg) {
  if (Status st = comm.write(reg.encode()); !st.ok()) co_return st;
  Result<Value> reply = co_await comm.read();
  if (!reply.ok()) co_return reply.status();
  const Value* status = reply->find("status");
  if (status == nullptr || !status->is_str() || status->as_str() != "OK") {
    const Value* message = reply->find("message");
    co_return Status::Invalid(
        "register-worker refused: " +
        (message ? message->to_debug_string() : reply->to_debug_string()));
  }
  co_return RegisterWorkerReply::decode(*reply);
}

asio::awaitable<HeartbeatOutcome> heartbeat(ConnectionPool& pool,
                                            const std::string& scheduler,
                                            const std::string& address, double now,
                                            Value metrics, Map executing,
                                            Value extensions) {
  HeartbeatWorker hb;
  hb.address = address;
  hb.now = now;
  hb.metrics = std::move(metrics);
  hb.executing = Value(std::move(executing));
  hb.extensions = std::move(extensions);
  hb.reply = true;
  HeartbeatOutcome out;
  Result<Value> reply = co_await send_recv(pool, scheduler, hb.encode());
  if (!reply.ok()) {
    out.error = reply.status();
    co_return out;
  }
  const Value* status = reply->find("status");
  if (status != nullptr && status->is_str() && status->as_str() == "missing") {
    out.missing = true;
    co_return out;
  }
  auto decoded = HeartbeatReply::decode(*reply);
  if (decoded.ok()) out.interval = decoded->heartbeat_interval;
  co_return out;
}

Value metrics_value(WorkerMetrics m) {
  return make_map({
      {"task_counts", Value(std::move(m.task_counts))},
      {"bandwidth", make_map({{"total", 100'000'000.0},
                              {"workers", Value(Map{})},
                              {"types", Value(Map{})}})},
      {"digests_total_since_heartbeat", Value(Map{})},
      {"managed_bytes", m.managed_bytes},
      {"spilled_bytes",
       make_map({{"memory", m.spilled_memory}, {"disk", m.spilled_disk}})},
      {"transfer", make_map({{"incoming_bytes", 0},
                             {"incoming_count", m.incoming_count},
                             {"incoming_count_total", m.incoming_count_total},
                             {"outgoing_bytes", 0},
                             {"outgoing_count", m.outgoing_count},
                             {"outgoing_count_total", m.outgoing_count_total}})},
      {"event_loop_interval", 0.02},
      {"cpu", 0.0},
      {"memory", m.memory},
      {"time", m.time},
      {"host_net_io", make_map({{"read_bps", 0.0}, {"write_bps", 0.0}})},
      {"host_disk_io", make_map({{"read_bps", 0.0}, {"write_bps", 0.0}})},
      {"num_fds", 0},
  });
}

void send_closing(BatchedStream& stream, const std::string& address,
                  const std::string& reason, std::string stimulus_id) {
  stream.send(LogEvent{
      Value(address), make_map({{"action", "closing-worker"}, {"reason", Value(reason)}})}
                  .encode());
  stream.send(WorkerStatusChange{"closing", std::move(stimulus_id)}.encode());
  stream.send(CloseStream{}.encode());
  stream.close();
}

Result<GetData> decode_get_data(const RpcRequest& req) {
  Value request = req.args;
  request.set("op", "get_data");
  Result<GetData> decoded = GetData::decode(request);
  if (!decoded.ok()) {
    spdlog::warn("get_data from {}: {}", req.comm->peer_address(),
                 decoded.status().to_string());
  }
  return decoded;
}

asio::awaitable<void> reply_get_data(RpcRequest& req, const GetDataReply& reply) {
  req.reply = false;  // written here, so that we can wait for the ack after it
  if (!req.comm->write(reply.encode()).ok()) co_return;
  Result<Value> ack = co_await req.comm->read();
  if (!ack.ok() || !is_ok_ack(*ack)) {
    spdlog::debug("get_data to {}: no OK ack", req.comm->peer_address());
  }
}

}  // namespace daskcpp::protocol
