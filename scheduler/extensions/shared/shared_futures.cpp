#include "scheduler/extensions/shared/shared_futures.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "protocol/messages/key.hpp"
#include "protocol/messages/timedelta.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "scheduler/service/scheduler_service.hpp"

namespace daskcpp::scheduler {

using protocol::Value;

asio::awaitable<bool> WaiterList::wait(std::optional<SteadyClock::time_point> deadline) {
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(
      ex, deadline ? *deadline : SteadyClock::time_point::max());
  timers_.push_back(timer);
  protocol::ErrorCode ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  std::erase(timers_, timer);
  co_return ec == asio::error::operation_aborted;
}

void WaiterList::notify_all() {
  for (auto& t : timers_) t->cancel();
}

void WaiterList::notify_one() {
  // A timer already cancelled or expired has no pending wait left to cancel (its
  // coroutine has not resumed yet): wake the next one instead.
  for (auto& t : timers_) {
    if (t->expiry() == SteadyClock::time_point::min()) continue;
    if (t->expires_at(SteadyClock::time_point::min()) > 0) return;
  }
}

std::optional<Value> read_name_and_timeout(const Value& args, std::string_view op,
                                           NamedWait& out) {
  std::optional<std::string> name = name_field(args);
  if (!name) {
    return protocol::exception_reply("TypeError",
                                     std::string(op) + ": field 'name' is required");
  }
  Result<std::optional<double>> timeout =
      protocol::parse_optional_timedelta(args.find("timeout"));
  if (!timeout.ok()) return protocol::status_reply(timeout.status());
  out = NamedWait{std::move(*name), *timeout};
  return std::nullopt;
}

std::optional<SteadyClock::time_point> deadline_after(std::optional<double> seconds) {
  if (!seconds) return std::nullopt;
  return SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                  std::chrono::duration<double>(std::max(0.0, *seconds)));
}

asio::awaitable<bool> wait_for_task(SchedulerService& svc, std::string canonical,
                                    std::optional<SteadyClock::time_point> deadline) {
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  while (!svc.state().find_task(canonical)) {
    asio::steady_timer wait(ex, std::chrono::milliseconds(10));
    protocol::ErrorCode ec;
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (deadline && SteadyClock::now() >= *deadline &&
        !svc.state().find_task(canonical)) {
      co_return false;
    }
  }
  co_return true;
}

Value future_record(const SchedulerService& svc, const Value& key,
                    const std::string& canonical, protocol::Map extra) {
  const SchedulerState& s = svc.state();
  protocol::Map out;
  out.emplace_back(Value("type"), Value("Future"));
  out.emplace_back(Value("value"), key);
  for (auto& kv : extra) out.push_back(std::move(kv));
  auto id = s.find_task(canonical);
  if (!id) {
    out.emplace_back(Value("state"), Value("lost"));
    return Value(std::move(out));
  }
  const TaskState& ts = s.task(*id);
  out.emplace_back(Value("state"), Value(task_status_name(ts.status)));
  if (ts.status == TaskStatus::erred) {
    std::shared_ptr<const TaskException> exc;
    if (!is_none(ts.exception_blame) && s.task(ts.exception_blame).extras) {
      exc = s.task(ts.exception_blame).extras->exception;
    }
    // The same exception/traceback values a task-erred message carries.
    Value erred = svc.encode_client_msg(TaskErredMsg{ClientId{}, canonical, exc});
    const Value* e = erred.find("exception");
    const Value* tb = erred.find("traceback");
    out.emplace_back(Value("exception"), e != nullptr ? *e : Value());
    out.emplace_back(Value("traceback"), tb != nullptr ? *tb : Value());
  }
  return Value(std::move(out));
}

std::optional<std::string> name_field(const Value& args, std::string_view field) {
  const Value* n = args.find(field);
  if (n == nullptr || n->is_nil()) return std::nullopt;
  if (n->is_str()) return n->as_str();
  return n->to_debug_string();
}

asio::awaitable<std::variant<HeldValue, protocol::Value>> read_held_value(
    SchedulerService& svc, protocol::Value args, std::string op,
    std::optional<SteadyClock::time_point> deadline) {
  HeldValue held;
  const protocol::Value* key = args.find("key");
  if (key == nullptr || key->is_nil()) {
    const protocol::Value* data = args.find("data");
    held.value = data != nullptr ? *data : protocol::Value();
    co_return held;
  }
  Result<protocol::Key> k = protocol::Key::from_value(*key);
  if (!k.ok()) co_return protocol::status_reply(k.status().with_context(op + ": key"));
  held.is_future = true;
  held.value = *key;
  held.canonical = k->canonical();
  // A named awaitable: gcc 12 mishandles temporaries inside co_await expressions.
  auto known = wait_for_task(svc, held.canonical, deadline);
  if (!co_await std::move(known)) {
    const std::string shown = key->is_str() ? key->as_str() : k->to_debug_string();
    co_return protocol::exception_reply("TimeoutError",
                                        "Task " + shown + " unknown to scheduler.");
  }
  co_return held;
}

}  // namespace daskcpp::scheduler
