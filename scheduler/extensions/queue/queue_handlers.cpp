#include "scheduler/extensions/queue/queue_handlers.hpp"

#include <spdlog/spdlog.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "protocol/messages/key.hpp"
#include "protocol/messages/timedelta.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "scheduler/extensions/shared/shared_futures.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/scheduler_service.hpp"
#include "scheduler/transitions/stimuli.hpp"

namespace daskcpp::scheduler {

using protocol::RpcRequest;
using protocol::Value;

namespace {

struct NamedQueue {
  std::deque<HeldValue> items;
  std::int64_t maxsize = 0;  // <= 0: unbounded
  std::int64_t refcount = 1;
  WaiterList getters;
  WaiterList putters;

  bool full() const {
    return maxsize > 0 && static_cast<std::int64_t>(items.size()) >= maxsize;
  }
};

struct Queues {
  explicit Queues(ExtensionContext& s) : server(s) {}
  ExtensionContext& server;
  std::map<std::string, std::shared_ptr<NamedQueue>> queues;
  std::map<std::pair<std::string, std::string>, std::int64_t> future_refcount;

  SchedulerService& svc() { return server.service; }
};

std::string holder(const std::string& name) { return "queue-" + name; }

Value unknown_queue(const std::string& name) {
  return protocol::exception_reply("KeyError", name);
}

Value process(const Queues& q, const HeldValue& r) {
  if (!r.is_future) {
    return protocol::make_map({{"type", Value("msgpack")}, {"value", r.value}});
  }
  return future_record(q.server.service, r.value, r.canonical);
}

Value queue_create(Queues& q, RpcRequest& req) {
  auto name = name_field(req.args);
  if (!name)
    return protocol::exception_reply("TypeError",
                                     "queue_create: field 'name' is required");
  auto it = q.queues.find(*name);
  if (it != q.queues.end()) {
    ++it->second->refcount;
    return Value();
  }
  auto queue = std::make_shared<NamedQueue>();
  if (const Value* m = req.arg("maxsize"); m != nullptr && m->is_int()) {
    queue->maxsize = m->as_int64();
  }
  q.queues.emplace(*name, std::move(queue));
  return Value();
}

void queue_release(Queues& q, const std::string& name) {
  auto it = q.queues.find(name);
  if (it == q.queues.end()) return;
  if (--it->second->refcount > 0) return;
  std::vector<std::string> keys;
  for (const HeldValue& r : it->second->items) {
    if (r.is_future) keys.push_back(r.canonical);
  }
  q.queues.erase(it);
  if (keys.empty()) return;
  SchedulerService& svc = q.svc();
  svc.apply(handle(svc.state(), ClientReleasesKeys{holder(name), keys},
                   svc.make_stimulus("queue-release")),
            "queue_release");
}

asio::awaitable<Value> queue_put(std::shared_ptr<Queues> q, RpcRequest& req) {
  const Value args = req.args;  // `req` is not ours once we suspend
  NamedWait w;
  if (auto reply = read_name_and_timeout(args, "queue_put", w))
    co_return std::move(*reply);
  const auto deadline = deadline_after(w.timeout);
  auto read = read_held_value(q->svc(), args, "queue_put", deadline);
  auto read_result = co_await std::move(read);
  if (auto* reply = std::get_if<Value>(&read_result)) co_return std::move(*reply);
  HeldValue record = std::move(std::get<HeldValue>(read_result));
  if (record.is_future) {
    ++q->future_refcount[{w.name, record.canonical}];
    SchedulerService& svc = q->svc();
    svc.apply(handle(svc.state(), ClientDesiresKeys{holder(w.name), {record.canonical}},
                     svc.make_stimulus("queue-put")),
              "queue_put");
  }
  auto it = q->queues.find(w.name);
  if (it == q->queues.end()) co_return unknown_queue(w.name);
  std::shared_ptr<NamedQueue> queue = it->second;  // survives queue_release
  while (queue->full()) {
    if (!co_await queue->putters.wait(deadline) && queue->full()) {
      co_return protocol::exception_reply("TimeoutError", "");
    }
  }
  queue->items.push_back(std::move(record));
  queue->getters.notify_one();
  co_return Value();
}

// Waits for an item (nullopt deadline: forever); nullopt when the deadline passed.
asio::awaitable<std::optional<HeldValue>> pop(
    std::shared_ptr<NamedQueue> queue, std::optional<SteadyClock::time_point> deadline) {
  while (queue->items.empty()) {
    if (!co_await queue->getters.wait(deadline) && queue->items.empty()) {
      co_return std::nullopt;
    }
  }
  HeldValue r = std::move(queue->items.front());
  queue->items.pop_front();
  queue->putters.notify_one();
  // Another parked getter may take the next item too.
  if (!queue->items.empty()) queue->getters.notify_one();
  co_return r;
}

asio::awaitable<Value> queue_get(std::shared_ptr<Queues> q, RpcRequest& req) {
  const Value args = req.args;
  NamedWait w;
  if (auto reply = read_name_and_timeout(args, "queue_get", w))
    co_return std::move(*reply);
  auto it = q->queues.find(w.name);
  if (it == q->queues.end()) co_return unknown_queue(w.name);
  std::shared_ptr<NamedQueue> queue = it->second;
  const Value* batch = args.find("batch");
  if (batch != nullptr && batch->is_bool() && batch->as_bool()) {
    protocol::Array out;
    while (!queue->items.empty()) {
      out.push_back(process(*q, queue->items.front()));
      queue->items.pop_front();
      queue->putters.notify_one();
    }
    co_return Value(std::move(out));
  }
  if (batch != nullptr && batch->is_int() && batch->as_int64() > 0) {
    if (w.timeout.has_value()) {
      co_return protocol::exception_reply(
          "NotImplementedError",
          "Dask queues don't support simultaneous use of integer "
          "batch sizes and timeouts");
    }
    std::vector<HeldValue> got;
    for (std::int64_t i = 0; i < batch->as_int64(); ++i) {
      std::optional<HeldValue> r = co_await pop(queue, std::nullopt);
      if (r) got.push_back(std::move(*r));
    }
    protocol::Array out;
    for (const HeldValue& r : got) out.push_back(process(*q, r));
    co_return Value(std::move(out));
  }
  std::optional<HeldValue> r = co_await pop(queue, deadline_after(w.timeout));
  if (!r) co_return protocol::exception_reply("TimeoutError", "");
  co_return process(*q, *r);
}

// queue-future-release: the client that got the future now holds the key itself.
Status future_release(Queues& q, const protocol::StreamMessage& m) {
  const Value* client = m.get("client");
  const Value* key = m.get("key");
  auto name = name_field(m.msg);
  if (client == nullptr || !client->is_str() || key == nullptr || !name) {
    spdlog::warn("queue-future-release from {}: missing client, key or name", m.peer);
    return Status::OK();
  }
  Result<protocol::Key> k = protocol::Key::from_value(*key);
  if (!k.ok()) {
    spdlog::warn("queue-future-release from {}: {}", m.peer, k.status().message());
    return Status::OK();
  }
  SchedulerService& svc = q.svc();
  svc.apply(handle(svc.state(), ClientDesiresKeys{client->as_str(), {k->canonical()}},
                   svc.make_stimulus("queue-future-release")),
            "queue-future-release");
  auto it = q.future_refcount.find({*name, k->canonical()});
  if (it == q.future_refcount.end()) return Status::OK();
  if (--it->second <= 0) {
    q.future_refcount.erase(it);
    svc.apply(handle(svc.state(), ClientReleasesKeys{holder(*name), {k->canonical()}},
                     svc.make_stimulus("queue-future-release")),
              "queue-future-release");
  }
  return Status::OK();
}

}  // namespace

void register_queue_handlers(ExtensionContext& server) {
  auto q = std::make_shared<Queues>(server);
  protocol::RpcHandlers& h = server.rpc;
  h.add_sync("queue_create", [q](RpcRequest& r) { return queue_create(*q, r); });
  h.add("queue_put", [q](RpcRequest& r) { return queue_put(q, r); });
  h.add("queue_get", [q](RpcRequest& r) { return queue_get(q, r); });
  h.add_sync("queue_qsize", [q](RpcRequest& r) -> Value {
    auto name = name_field(r.args);
    auto it = name ? q->queues.find(*name) : q->queues.end();
    if (it == q->queues.end()) return unknown_queue(name.value_or("None"));
    return Value(static_cast<std::int64_t>(it->second->items.size()));
  });
  auto& stream = server.client_stream;
  stream.add("queue-future-release",
             [q](const protocol::StreamMessage& m) { return future_release(*q, m); });
  stream.add("queue_release", [q](const protocol::StreamMessage& m) -> Status {
    if (auto name = name_field(m.msg)) queue_release(*q, *name);
    return Status::OK();
  });
}

}  // namespace daskcpp::scheduler
