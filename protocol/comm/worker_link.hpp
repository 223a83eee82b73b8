#pragma once
// The protocol steps every worker takes the same way, shared by the daskcpp worker
// (worker/server) and the benchmark's simulated worker (bench/sim), so that the
// simulation speaks exactly what the real worker speaks:
//  - Worker._register_with_scheduler's exchange and Worker.heartbeat's;
//  - the metrics map the scheduler reads from both;
//  - Worker.close's last messages on the stream;
//  - the get_data request and its reply followed by the requester's "OK".
// Decoding its batched-stream ops is protocol/rpc/decode.hpp's stream_op. Everything
// else (what a worker runs, stores or fetches) stays with its owner.
//
// Thread safety: free functions; use each comm/stream on its loop thread only.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "protocol/codec/value.hpp"
#include "protocol/comm/asio.hpp"
#include "protocol/comm/batched_stream.hpp"
#include "protocol/comm/comm.hpp"
#include "protocol/comm/connection_pool.hpp"
#include "protocol/comm/rpc_handlers.hpp"
#include "protocol/messages/rpc_ops.hpp"
#include "protocol/status.hpp"

namespace daskcpp::protocol {

// Writes `reg` on a fresh comm to the scheduler and reads its reply (Worker.
// _register_with_scheduler). A refusal is Invalid "register-worker refused: <msg>".
asio::awaitable<Result<RegisterWorkerReply>> register_worker(Comm& comm,
                                                             const RegisterWorker& reg);

// What one heartbeat_worker call told the worker (Worker.heartbeat).
struct HeartbeatOutcome {
  Status error;                    // not OK: no reply (logged by the caller)
  bool missing = false;            // the scheduler does not know this worker
  std::optional<double> interval;  // the heartbeat-interval to adopt
};
// Sends heartbeat_worker (reply wanted) with `executing` {key: seconds running} and
// `extensions` {name: the extension's heartbeat} (an empty map when none).
asio::awaitable<HeartbeatOutcome> heartbeat(ConnectionPool& pool,
                                            const std::string& scheduler,
                                            const std::string& address, double now,
                                            Value metrics, Map executing,
                                            Value extensions = Value(Map{}));

// The counters of Worker.get_metrics that vary; the rest are constants here.
struct WorkerMetrics {
  Map task_counts;  // {state: count}
  std::int64_t managed_bytes = 0;
  std::int64_t spilled_memory = 0;
  std::int64_t spilled_disk = 0;
  std::int64_t incoming_count = 0;
  std::int64_t incoming_count_total = 0;
  std::int64_t outgoing_count = 0;
  std::int64_t outgoing_count_total = 0;
  std::int64_t memory = 0;  // process RSS
  double time = 0;
};
// The `metrics` map of register-worker and heartbeat_worker.
Value metrics_value(WorkerMetrics m);

// Worker.close's goodbye on the stream: log-event, worker-status-change "closing",
// close-stream; then closes it.
void send_closing(BatchedStream& stream, const std::string& address,
                  const std::string& reason, std::string stimulus_id);

// The get_data RPC's arguments as a GetData (the "op" was popped by the server);
// an error is logged with the requester's address.
Result<GetData> decode_get_data(const RpcRequest& req);
// Writes the get_data reply itself and waits for the requester's "OK" ack
// (Appendix C.7); the RPC server writes nothing more (req.reply = false).
asio::awaitable<void> reply_get_data(RpcRequest& req, const GetDataReply& reply);

}  // namespace daskcpp::protocol
