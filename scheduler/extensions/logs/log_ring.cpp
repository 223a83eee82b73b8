#include "scheduler/extensions/logs/log_ring.hpp"

#include <chrono>
#include <cmath>
#include <ctime>

#include "protocol/rpc/error_reply.hpp"
#include "scheduler/service/broadcast.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/scheduler_service.hpp"

namespace daskcpp::scheduler {

using protocol::Array;
using protocol::RpcRequest;
using protocol::Value;

const char* python_levelname(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "DEBUG";
    case spdlog::level::info:
      return "INFO";
    case spdlog::level::warn:
      return "WARNING";
    case spdlog::level::err:
      return "ERROR";
    case spdlog::level::critical:
      return "CRITICAL";
    default:
      return "NOTSET";
  }
}

std::string format_log_record(double created, const std::string& levelname,
                              const std::string& message) {
  const auto seconds = static_cast<std::time_t>(std::floor(created));
  const auto millis = static_cast<int>((created - static_cast<double>(seconds)) * 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char stamp[32];
  const std::size_t len = std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);
  char with_millis[48];
  std::snprintf(with_millis, sizeof with_millis, "%.*s,%03d", static_cast<int>(len),
                stamp, millis);
  return std::string(with_millis) + " - distributed.scheduler - " + levelname + " - " +
         message;
}

void LogRing::add(double created, spdlog::level::level_enum level,
                  const std::string& message) {
  const std::string levelname = python_levelname(level);
  LogRecord record{created, levelname, format_log_record(created, levelname, message)};
  std::lock_guard<std::mutex> lock(mutex_);
  push(std::move(record));
}

void LogRing::sink_it_(const spdlog::details::log_msg& msg) {
  const double created =
      std::chrono::duration<double>(msg.time.time_since_epoch()).count();
  const std::string levelname = python_levelname(msg.level);
  const std::string message(msg.payload.data(), msg.payload.size());
  // base_sink holds mutex_ here.
  push(LogRecord{created, levelname, format_log_record(created, levelname, message)});
}

void LogRing::push(LogRecord record) {
  records_.push_back(std::move(record));
  if (records_.size() > length_) records_.pop_front();
}

Value LogRing::get_logs(double start, std::optional<std::int64_t> n, bool timestamps) {
  std::lock_guard<std::mutex> lock(mutex_);
  Array out;
  std::int64_t count = 0;
  for (auto it = records_.rbegin(); it != records_.rend(); ++it, ++count) {
    if ((n && *n != 0 && count >= *n) || it->created < start) break;
    if (timestamps) {
      out.push_back(
          Value(Array{Value(it->created), Value(it->levelname), Value(it->formatted)}));
    } else {
      out.push_back(Value(Array{Value(it->levelname), Value(it->formatted)}));
    }
  }
  return Value(std::move(out));
}

namespace {

Value get_logs(LogRing& ring, RpcRequest& req) {
  double start = 0;
  std::optional<std::int64_t> n;
  bool timestamps = false;
  if (const Value* v = req.arg("start"); v != nullptr && !v->is_nil()) {
    if (!v->is_number())
      return protocol::exception_reply("TypeError", "get_logs: start must be a number");
    start = v->as_double();
  }
  if (const Value* v = req.arg("n"); v != nullptr && !v->is_nil()) {
    if (!v->is_int())
      return protocol::exception_reply("TypeError", "get_logs: n must be an int");
    n = v->as_int64();
  }
  if (const Value* v = req.arg("timestamps"); v != nullptr && v->is_bool()) {
    timestamps = v->as_bool();
  }
  return ring.get_logs(start, n, timestamps);
}

// Scheduler.get_worker_logs: each worker's (or nanny's) own get_logs, as
// {address: logs}.
asio::awaitable<Value> worker_logs(SchedulerService& svc, RpcRequest& req) {
  const Value* n = req.arg("n");
  std::vector<std::string> workers;
  if (const Value* w = req.arg("workers"); w != nullptr && w->is_array()) {
    for (const Value& a : w->as_array()) {
      if (a.is_str()) workers.push_back(a.as_str());
    }
  } else {
    const SchedulerState& s = svc.state();
    for (WorkerId id : s.workers_by_address()) workers.push_back(s.worker(id).address);
  }
  BroadcastOptions options;
  const Value* nanny = req.arg("nanny");
  options.to_nanny = nanny != nullptr && nanny->is_bool() && nanny->as_bool();
  protocol::Map msg{{Value("op"), Value("get_logs")},
                    {Value("n"), n != nullptr ? *n : Value()}};
  co_return co_await broadcast(svc, std::move(workers), std::move(msg), options);
}

}  // namespace

void register_log_handlers(ExtensionContext& server, std::shared_ptr<LogRing> ring) {
  for (const char* op : {"logs", "get_logs"}) {
    server.rpc.add_sync(op, [ring](RpcRequest& req) { return get_logs(*ring, req); });
  }
  SchedulerService& svc = server.service;
  server.rpc.add("worker_logs", [&svc](RpcRequest& req) -> asio::awaitable<Value> {
    co_return co_await worker_logs(svc, req);
  });
}

}  // namespace daskcpp::scheduler
