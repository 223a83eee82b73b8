#pragma once
// The scheduler's own recent log (upstream ServerNode._setup_logging: a
// DequeHandler of distributed.admin.log-length = 10000 records on the
// `distributed.scheduler` logger): an spdlog sink keeping the last records, and
// ServerNode.get_logs over them, which the `logs` / `get_logs` RPCs answer.
//
// Thread: spdlog calls the sink from any thread that logs (the scheduler logs from
// the loop and from the interpreter's threads), so the ring has its own lock.

#include <spdlog/sinks/base_sink.h>

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "protocol/codec/value.hpp"

namespace daskcpp::scheduler {

struct ExtensionContext;

struct LogRecord {
  double created = 0;     // seconds since the epoch (Python's record.created)
  std::string levelname;  // INFO, WARNING, ERROR, DEBUG, CRITICAL
  std::string formatted;  // '%(asctime)s - %(name)s - %(levelname)s - %(message)s'
};

// Python's level name for an spdlog level (trace has none: DEBUG).
const char* python_levelname(spdlog::level::level_enum level);

// The stock format with logger name distributed.scheduler; asctime is local time
// "YYYY-MM-DD HH:MM:SS,mmm" as logging.Formatter's default.
std::string format_log_record(double created, const std::string& levelname,
                              const std::string& message);

class LogRing final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  static constexpr std::size_t kDefaultLength = 10000;  // distributed.admin.log-length

  explicit LogRing(std::size_t length = kDefaultLength) : length_(length) {}

  // Appends one record as spdlog would (tests use it without a logger).
  void add(double created, spdlog::level::level_enum level, const std::string& message);

  // ServerNode.get_logs: newest first, at most `n` (none or 0: all), stopping at the
  // first record older than `start`; each entry [levelname, formatted], or with
  // `timestamps` [created, levelname, formatted].
  protocol::Value get_logs(double start, std::optional<std::int64_t> n, bool timestamps);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  void push(LogRecord record);

  std::size_t length_;
  std::deque<LogRecord> records_;  // guarded by base_sink's mutex_
};

// `logs` and `get_logs` over `ring`, and `worker_logs` (the workers' own, by
// broadcast).
void register_log_handlers(ExtensionContext& server, std::shared_ptr<LogRing> ring);

}  // namespace daskcpp::scheduler
