// Memory management of the worker (upstream distributed/worker_memory.py
// WorkerMemoryManager and distributed/spill.py SpillBuffer): values beyond the
// target fraction of --memory-limit go to spill files, least recently used first;
// a 100 ms monitor of the process RSS spills past the spill fraction and pauses
// past the pause fraction. Everything here runs on the loop thread.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <system_error>

#include "protocol/messages/worker_ops.hpp"
#include "protocol/rpc/clock.hpp"
#include "worker/server/worker_server.hpp"
#include "worker/store/spill_file.hpp"

namespace daskcpp::worker {

namespace {

// distributed.worker.memory.monitor-interval.
constexpr std::chrono::milliseconds kMonitorInterval{100};

Status make_directory(const std::filesystem::path& dir, std::string_view what) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec) return Status::OK();
  return Status::IOError("cannot create the " + std::string(what) + " directory " +
                         dir.string() + ": " + ec.message());
}

}  // namespace

// Process memory as psutil's memory_info().rss (what the monitor and the heartbeat's
// `memory` report).
std::int64_t WorkerServer::process_memory() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

Status WorkerServer::create_work_directory() {
  std::filesystem::path base = options_.local_directory.empty()
                                   ? std::filesystem::temp_directory_path()
                                   : std::filesystem::path(options_.local_directory);
  std::filesystem::path dir = base / ("daskcpp-worker-" + std::to_string(getpid()));
  DASKCPP_RETURN_NOT_OK(make_directory(dir, "worker"));
  work_dir_ = dir.string();
  return Status::OK();
}

Status WorkerServer::start_memory_manager() {
  memory_.limit = options_.memory_limit;
  if (!memory_.enabled()) return Status::OK();
  std::filesystem::path dir = std::filesystem::path(work_dir_) / "storage";
  DASKCPP_RETURN_NOT_OK(make_directory(dir, "spill"));
  spill_dir_ = dir.string();
  spdlog::info("Memory limit {} bytes; spilling to {}", *memory_.limit, spill_dir_);
  return Status::OK();
}

void WorkerServer::remove_work_directory() {
  if (work_dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(work_dir_, ec);
  if (ec) spdlog::warn("removing {}: {}", work_dir_, ec.message());
  work_dir_.clear();
  spill_dir_.clear();
}

std::string WorkerServer::spill_path(ValueId id) const {
  return spill_dir_ + "/" + std::to_string(id);
}

bool WorkerServer::spill(const Key& key) {
  const StoredValue* v = data_.find(key);
  if (v == nullptr || v->where != Where::memory || spill_dir_.empty()) return false;
  Result<std::int64_t> written = runner_->spill(v->id, spill_path(v->id));
  if (!written.ok()) {
    // SpillBuffer keeps an unpicklable value in memory and logs; so do we.
    spdlog::error("Failed to spill {}: {}", key.to_debug_string(),
                  written.status().to_string());
    return false;
  }
  data_.mark_spilled(key, *written);
  return true;
}

Status WorkerServer::unspill(const Key& key) {
  const StoredValue* v = data_.find(key);
  if (v == nullptr || v->where != Where::disk) return Status::OK();
  ValueId id = v->id;
  std::string path = spill_path(id);
  DASKCPP_ASSIGN_OR_RETURN(SpilledGroup group, read_spill_file(path));
  DASKCPP_RETURN_NOT_OK(
      runner_->deserialize(id, {std::move(group.header), std::move(group.frames)})
          .status());
  data_.mark_unspilled(key);
  data_.touch(key);
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return Status::OK();
}

void WorkerServer::remove_spilled(const StoredValue& v) {
  if (v.where == Where::memory) {
    runner_->release(v.id);
    return;
  }
  std::error_code ec;
  std::filesystem::remove(spill_path(v.id), ec);
}

// SpillBuffer.__setitem__: keep the managed bytes in memory under the target.
void WorkerServer::spill_to_target() {
  if (!memory_.enabled()) return;
  for (const Key& key : data_.spill_candidates(memory_.target_bytes())) {
    if (!spill(key)) break;
  }
}

// WorkerMemoryManager.memory_monitor: _maybe_pause_or_unpause, then _maybe_spill.
asio::awaitable<void> WorkerServer::memory_monitor_loop() {
  if (!memory_.enabled()) co_return;
  while (!closing_) {
    memory_timer_.expires_after(kMonitorInterval);
    protocol::ErrorCode ec;
    co_await memory_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || closing_) co_return;
    std::int64_t memory = process_memory();
    if (memory_.should_pause(memory)) {
      if (status_ == "running") {
        spdlog::warn(
            "Worker is at {:.0f}% memory usage. Pausing worker. Process memory: {}; "
            "Worker memory limit: {}",
            100.0 * static_cast<double>(memory) / static_cast<double>(*memory_.limit),
            memory, *memory_.limit);
        set_status("paused", protocol::stimulus_id("worker-status-change"));
      }
    } else if (status_ == "paused") {
      spdlog::warn(
          "Worker is at {:.0f}% memory usage. Resuming worker.",
          100.0 * static_cast<double>(memory) / static_cast<double>(*memory_.limit));
      set_status("running", protocol::stimulus_id("worker-status-change"));
    }
    if (!memory_.should_spill(memory)) continue;
    std::int64_t target = memory_.target_bytes();
    int count = 0;
    while (memory > target) {
      std::optional<Key> key = data_.least_recently_used();
      if (!key || !spill(*key)) break;
      ++count;
      memory = process_memory();
    }
    if (count > 0) {
      spdlog::debug("Moved {} values to disk; process memory now {}", count, memory);
    }
  }
}

// Worker.status setter: announce the change, pause or resume the state machine.
void WorkerServer::set_status(const std::string& status, const std::string& sid) {
  std::string previous = status_;
  status_ = status;
  if (stream_) stream_->send(protocol::WorkerStatusChange{status_, sid}.encode());
  if (!state_) return;
  if (previous == "running" && status != "running") {
    handle(PauseEvent{sid});
  } else if (status == "running" &&
             (previous == "paused" || previous == "closing_gracefully")) {
    handle(UnpauseEvent{sid});
  }
}

}  // namespace daskcpp::worker
