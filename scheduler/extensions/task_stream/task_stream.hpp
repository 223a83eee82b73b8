#pragma once
// The task stream (upstream TaskStreamPlugin, distributed/diagnostics/task_stream.py):
// one record per task that left processing for memory or erred — the worker's
// task-finished / task-erred message as the transition's kwargs plus `key` — kept in
// a ring of the last 100000, with a running index. Native so that get_task_stream
// and performance_report add no per-task Python call.
//
// It observes transitions only once enabled (stock adds the plugin lazily on the
// first get_task_stream / get_task_stream_index), and the worker handlers copy the
// op map only while someone observes. Thread: the scheduler loop.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "protocol/codec/value.hpp"
#include "scheduler/transitions/transition_observer.hpp"

namespace daskcpp::scheduler {

class TransitionObservers;
struct ExtensionContext;

// The ring and TaskStreamPlugin.collect, without the scheduler.
class TaskStreamBuffer {
 public:
  // distributed.scheduler.dashboard.tasks.task-stream-length (the larger of the two
  // dashboard lengths stock takes).
  static constexpr std::size_t kDefaultMaxlen = 100000;

  explicit TaskStreamBuffer(std::size_t maxlen = kDefaultMaxlen) : maxlen_(maxlen) {}

  // A record is a map with "startstops" (a list of maps with "stop").
  void append(protocol::Value record);

  // Records appended so far, including those the ring has dropped.
  std::int64_t index() const { return index_; }
  std::size_t size() const { return buffer_.size(); }

  // TaskStreamPlugin.collect: by `start_index` (a former index()) if given, else the
  // records whose latest stop lies in [start, stop) by bisection, then `count`.
  // Times are absolute (the caller resolves timedelta strings).
  std::vector<protocol::Value> collect(std::optional<double> start,
                                       std::optional<double> stop,
                                       std::optional<std::int64_t> count,
                                       std::optional<std::int64_t> start_index) const;

 private:
  std::size_t bisect(double target) const;

  std::size_t maxlen_;
  std::deque<protocol::Value> buffer_;
  std::int64_t index_ = 0;
};

// The record stock's plugin keeps for processing -> memory | erred: the
// transition's stimulus_id, for erred `cause`, `worker`, then the wire op map minus
// op, key, stimulus_id and run_id (the keyword order stock's hook sees), then `key`.
protocol::Value task_stream_record(const protocol::Value& wire, const std::string& worker,
                                   bool erred, const std::string& stimulus_id);

class TaskStream final : public TransitionObserver {
 public:
  explicit TaskStream(TransitionObservers& observers) : observers_(observers) {}
  ~TaskStream() override;
  TaskStream(const TaskStream&) = delete;
  TaskStream& operator=(const TaskStream&) = delete;

  // Starts recording (idempotent): what get_task_stream does first, and what a
  // performance report calls on entry.
  void enable();
  bool enabled() const { return enabled_; }
  const TaskStreamBuffer& buffer() const { return buffer_; }

  void on_transition(SchedulerState& s, TaskId id, TaskStatus start, TaskStatus finish,
                     const TransitionArgs& args, const Stimulus& stim,
                     const LinksBefore* before) override;

  // get_task_stream, get_task_stream_index.
  void register_handlers(ExtensionContext& server);

 private:
  TransitionObservers& observers_;
  TaskStreamBuffer buffer_;
  bool enabled_ = false;
};

}  // namespace daskcpp::scheduler
