#include "scheduler/service/broadcast.hpp"

#include <spdlog/spdlog.h>

#include <optional>

#include "protocol/messages/python_exception.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "protocol/rpc/fan_out.hpp"
#include "scheduler/service/scheduler_service.hpp"

namespace daskcpp::scheduler {

using protocol::Map;
using protocol::Value;

namespace {

// The failure of one worker as on_error wants it: nullopt leaves it out.
std::optional<Value> failed_entry(const Value& exception, const std::string& on_error) {
  if (on_error == "ignore") return std::nullopt;
  return exception;
}

}  // namespace

asio::awaitable<Value> broadcast(SchedulerService& svc, std::vector<std::string> workers,
                                 Map msg, BroadcastOptions options) {
  std::vector<std::string> keys;  // reply keys: the worker addresses
  std::vector<std::string> addresses;
  for (const std::string& addr : workers) {
    const WorkerConnection* wc = options.to_nanny ? svc.find_worker(addr) : nullptr;
    if (options.to_nanny && wc == nullptr) {
      if (options.unknown_worker_is_error)
        co_return protocol::exception_reply("KeyError", addr);
      continue;
    }
    if (options.to_nanny && !wc->nanny) continue;
    keys.push_back(addr);
    addresses.push_back(options.to_nanny ? *wc->nanny : addr);
  }
  std::vector<Result<Value>> replies = co_await protocol::call_all(
      svc.connection_pool(), addresses, protocol::broadcast_request(msg));
  Map out;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    std::optional<Value> entry;
    if (!replies[i].ok()) {
      const std::string text = replies[i].status().to_string();
      spdlog::error("broadcast to {} failed: {}", addresses[i], text);
      if (options.on_error == "raise")
        co_return protocol::exception_reply("OSError", text);
      entry = failed_entry(Value(protocol::pickle_builtin_exception("OSError", text)),
                           options.on_error);
    } else if (protocol::is_uncaught_error(replies[i].value())) {
      // The worker's handler raised: stock send_recv re-raises it here.
      const Value& r = replies[i].value();
      spdlog::error("broadcast to {} failed: remote error", addresses[i]);
      if (options.on_error == "raise") co_return r;
      const Value* exc = r.find("exception");
      entry = failed_entry(exc != nullptr ? *exc : Value(), options.on_error);
    } else {
      entry = replies[i].value();
    }
    if (entry) out.emplace_back(Value(keys[i]), std::move(*entry));
  }
  co_return Value(std::move(out));
}

}  // namespace daskcpp::scheduler
