// Worker <-> worker data transfer (protocol.md §7): the requester side (gather_dep,
// the gather RPC) and the holder side (get_data), plus update_data (scatter).

#include <spdlog/spdlog.h>

#include <chrono>

#include "protocol/comm/connect.hpp"
#include "protocol/comm/worker_link.hpp"
#include "protocol/messages/python_exception.hpp"
#include "protocol/rpc/clock.hpp"
#include "worker/server/worker_server.hpp"
#include "worker/store/spill_file.hpp"

namespace daskcpp::worker {

namespace {

using protocol::make_map;
using protocol::Map;
using protocol::Value;

// Upstream retries a busy peer after a short delay (gather_dep's busy handling).
constexpr std::chrono::milliseconds kBusyRetry{150};

// A handler failure as the caller expects it (core.error_message shape).
Value error_reply(const Status& st) {
  return protocol::uncaught_error_reply(protocol::pickle_value_error(st.message()),
                                        "ValueError(" + st.message() + ")");
}

// Built outside the coroutine: gcc 12 rejects initializer lists in co_return.
Value gather_reply(const std::vector<Key>& failed) {
  if (failed.empty()) return make_map({{"status", "OK"}});
  return make_map(
      {{"status", "partial-fail"}, {"keys", protocol::keys_to_array(failed)}});
}

}  // namespace

Result<ReceivedValue> WorkerServer::store_received(const Key& key, const Value& payload) {
  if (!payload.is_payload() ||
      payload.as_payload()->kind != protocol::Payload::Kind::kSerialized) {
    return Status::TypeError("value of " + key.to_debug_string() +
                             ": expected a __Serialized__ payload, got " +
                             protocol::type_name(payload.type()));
  }
  const protocol::Payload& p = *payload.as_payload();
  ValueId id = next_value_id_++;
  DASKCPP_ASSIGN_OR_RETURN(python_compat::ValueInfo info,
                           runner_->deserialize(id, {p.header, p.frames}));
  store(key, id, info.nbytes);
  return ReceivedValue{key, info.nbytes, info.type_pickle, info.type_name};
}

// Mirrors get_data_from_worker: request, reply, then the "OK" ack.
asio::awaitable<Result<WorkerServer::Fetched>> WorkerServer::fetch(
    const std::string& worker, const std::vector<Key>& keys) {
  auto comm = co_await pool_.acquire(worker);
  if (!comm.ok()) co_return comm.status();
  protocol::GetData request{keys, true, address_, true};
  if (Status st = (*comm)->write(request.encode()); !st.ok()) {
    (*comm)->abort();
    co_return st;
  }
  Result<Value> reply = co_await (*comm)->read();
  if (!reply.ok()) {
    (*comm)->abort();
    co_return reply.status();
  }
  auto decoded = protocol::GetDataReply::decode(*reply);
  if (!decoded.ok()) {
    (*comm)->abort();
    co_return decoded.status().with_context("get_data reply from " + worker);
  }
  Fetched out;
  if (decoded->busy) {
    out.busy = true;
    pool_.release(worker, std::move(*comm));
    co_return out;
  }
  if (Status st = (*comm)->write(protocol::ok_ack()); !st.ok()) {
    (*comm)->abort();
    co_return st;
  }
  pool_.release(worker, std::move(*comm));
  ++incoming_count_total_;
  for (const auto& [key, payload] : decoded->data) {
    Result<ReceivedValue> rv = store_received(key, payload);
    if (!rv.ok()) {
      spdlog::error("get_data from {}: {}", worker, rv.status().to_string());
      continue;  // treated as not received
    }
    out.values.push_back(std::move(*rv));
  }
  co_return out;
}

// Mirrors Worker.gather_dep.
asio::awaitable<void> WorkerServer::gather_dep(GatherDep gd) {
  double start = protocol::unix_now();
  Result<Fetched> fetched = co_await fetch(gd.worker, gd.keys);
  if (closing_) co_return;
  if (!fetched.ok()) {
    spdlog::warn("Could not fetch {} keys from {}: {}", gd.keys.size(), gd.worker,
                 fetched.status().to_string());
    handle(GatherDepNetworkFailureEvent{
        gd.worker, protocol::stimulus_id("gather-dep-network-failure")});
    co_return;
  }
  if (fetched->busy) {
    handle(GatherDepBusyEvent{gd.worker, protocol::stimulus_id("gather-dep-busy")});
    auto timer = std::make_shared<asio::steady_timer>(io_, kBusyRetry);
    timer->async_wait([this, timer, worker = gd.worker](const protocol::ErrorCode& ec) {
      if (!ec && !closing_)
        handle(RetryBusyWorkerEvent{worker, protocol::stimulus_id("retry-busy-worker")});
    });
    co_return;
  }
  double stop = std::max(protocol::unix_now(), start + 1e-6);
  handle(GatherDepSuccessEvent{gd.worker, std::move(fetched->values), start, stop,
                               protocol::stimulus_id("gather-dep-success")});
}

// Mirrors Worker.get_data: busy above the outgoing limit; otherwise reply with the
// values we hold and wait for the requester's "OK" before counting it done.
asio::awaitable<Value> WorkerServer::serve_get_data(protocol::RpcRequest& req) {
  auto decoded = protocol::decode_get_data(req);
  if (!decoded.ok()) co_return error_reply(decoded.status());
  // A paused worker still serves, one requester at a time (Worker.get_data).
  int limit = status_ == "paused" ? 1 : options_.transfer_outgoing_count_limit;
  if (outgoing_count_ >= limit) {
    co_return protocol::GetDataReply{true, {}}.encode();
  }
  protocol::GetDataReply reply;
  for (const Key& key : decoded->keys) {
    const StoredValue* v = data_.touch(key);
    if (v == nullptr) continue;
    if (v->where == Where::disk) {
      // Served from the spill file as written: no deserializing, no unspilling.
      Result<SpilledGroup> spilled = read_spill_file(spill_path(v->id));
      if (!spilled.ok()) {
        spdlog::error("get_data: {}: {}", key.to_debug_string(),
                      spilled.status().to_string());
        continue;
      }
      auto p = std::make_shared<protocol::Payload>();
      p->header = std::move(spilled->header);
      p->frames = std::move(spilled->frames);
      reply.data.emplace_back(key, Value(protocol::PayloadPtr(std::move(p))));
      continue;
    }
    auto serialized =
        runner_->serialize(v->id, static_cast<int>(req.comm->session().pickle_protocol));
    if (!serialized.ok()) {
      spdlog::error("get_data: serializing {}: {}", key.to_debug_string(),
                    serialized.status().to_string());
      continue;
    }
    auto p = std::make_shared<protocol::Payload>();
    p->header = serialized->header;
    p->frames = std::move(serialized->frames);
    reply.data.emplace_back(key, Value(protocol::PayloadPtr(std::move(p))));
  }
  ++outgoing_count_;
  ++outgoing_count_total_;
  co_await protocol::reply_get_data(req, reply);
  --outgoing_count_;
  co_return Value();
}

// Mirrors Worker.update_data (scatter).
Value WorkerServer::serve_update_data(protocol::RpcRequest& req) {
  Value request = req.args;
  request.set("op", "update_data");
  auto decoded = protocol::WorkerUpdateData::decode(request);
  if (!decoded.ok()) return error_reply(decoded.status());
  UpdateDataEvent ev;
  ev.stimulus_id = decoded->stimulus_id.value_or(protocol::stimulus_id("update-data"));
  protocol::WorkerUpdateDataReply reply;
  for (const auto& [key, payload] : decoded->data) {
    Result<ReceivedValue> rv = store_received(key, payload);
    if (!rv.ok()) return error_reply(rv.status());
    reply.nbytes.emplace_back(key, rv->nbytes);
    ev.data.push_back(std::move(*rv));
  }
  handle(std::move(ev));
  return reply.encode();
}

// Mirrors Worker.gather: fetch from the listed holders, keep as our own data.
asio::awaitable<Value> WorkerServer::serve_gather(protocol::RpcRequest& req) {
  Value request = req.args;
  request.set("op", "gather");
  auto r = protocol::FieldReader::open("gather", request);
  if (!r.ok()) co_return error_reply(r.status());
  auto who_has = r->who_has("who_has");
  if (!who_has.ok()) co_return error_reply(who_has.status());
  UpdateDataEvent ev;
  ev.stimulus_id = protocol::stimulus_id("gather");
  std::vector<Key> failed;
  for (const auto& [key, holders] : *who_has) {
    bool got = false;
    for (const std::string& holder : holders) {
      std::vector<Key> one(1, key);
      Result<Fetched> f = co_await fetch(holder, one);
      if (f.ok() && !f->busy && !f->values.empty()) {
        for (ReceivedValue& v : f->values) ev.data.push_back(std::move(v));
        got = true;
        break;
      }
    }
    if (!got) failed.push_back(key);
  }
  handle(std::move(ev));
  co_return gather_reply(failed);
}

}  // namespace daskcpp::worker
