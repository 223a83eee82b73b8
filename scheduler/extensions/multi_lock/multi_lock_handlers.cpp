#include "scheduler/extensions/multi_lock/multi_lock_handlers.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/messages/timedelta.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "scheduler/extensions/multi_lock/multi_lock_table.hpp"
#include "scheduler/extensions/shared/shared_futures.hpp"
#include "scheduler/service/extension_context.hpp"

namespace daskcpp::scheduler {

using protocol::RpcRequest;
using protocol::Value;

namespace {

struct MultiLocks {
  MultiLockTable table;
  std::map<std::string, std::shared_ptr<WaiterList>> events;  // parked acquirers

  void wake(const std::vector<std::string>& ready) {
    for (const std::string& id : ready) {
      auto it = events.find(id);
      if (it != events.end()) it->second->notify_all();
    }
  }
};

std::string id_of(const Value* v) {
  if (v == nullptr) return "None";
  return v->is_str() ? v->as_str() : v->to_debug_string();
}

asio::awaitable<Value> multi_lock_acquire(std::shared_ptr<MultiLocks> m,
                                          RpcRequest& req) {
  const Value args = req.args;  // `req` is not ours once we suspend
  const Value* locks_v = args.find("locks");
  if (locks_v == nullptr || !locks_v->is_array()) {
    co_return protocol::exception_reply("TypeError",
                                        "multi_lock_acquire: field 'locks': expected "
                                        "a list");
  }
  std::vector<std::string> locks;
  for (const Value& l : locks_v->as_array()) {
    locks.push_back(l.is_str() ? l.as_str() : l.to_debug_string());
  }
  const std::string id = id_of(args.find("id"));
  std::int64_t num_locks = static_cast<std::int64_t>(locks.size());
  if (const Value* n = args.find("num_locks"); n != nullptr && n->is_int()) {
    num_locks = n->as_int64();
  }
  Result<std::optional<double>> timeout =
      protocol::parse_optional_timedelta(args.find("timeout"));
  if (!timeout.ok()) co_return protocol::status_reply(timeout.status());

  Result<bool> now = m->table.request(locks, id, num_locks);
  if (!now.ok()) co_return protocol::status_reply(now.status());
  if (*now) co_return Value(true);
  auto event = std::make_shared<WaiterList>();
  m->events[id] = event;
  const auto deadline = deadline_after(*timeout);
  while (!m->table.satisfied(id)) {
    if (!co_await event->wait(deadline) && !m->table.satisfied(id)) {
      m->events.erase(id);
      m->wake(m->table.release(locks, id));
      co_return Value(false);
    }
  }
  m->events.erase(id);
  co_return Value(true);
}

Value multi_lock_release(MultiLocks& m, RpcRequest& req) {
  Result<std::vector<std::string>> ready = m.table.release_all(id_of(req.arg("id")));
  if (!ready.ok()) return protocol::status_reply(ready.status());
  m.wake(*ready);
  return Value();
}

}  // namespace

void register_multi_lock_handlers(ExtensionContext& server) {
  auto m = std::make_shared<MultiLocks>();
  protocol::RpcHandlers& h = server.rpc;
  h.add("multi_lock_acquire", [m](RpcRequest& r) { return multi_lock_acquire(m, r); });
  h.add_sync("multi_lock_release",
             [m](RpcRequest& r) { return multi_lock_release(*m, r); });
}

}  // namespace daskcpp::scheduler
