#include "scheduler/extensions/task_stream/task_stream.hpp"

#include <algorithm>
#include <string_view>

#include "protocol/messages/timedelta.hpp"
#include "protocol/rpc/clock.hpp"
#include "protocol/rpc/error_reply.hpp"
#include "scheduler/service/extension_context.hpp"
#include "scheduler/service/transition_observers.hpp"

namespace daskcpp::scheduler {

using protocol::Array;
using protocol::Map;
using protocol::RpcRequest;
using protocol::Value;

namespace {

// max(startstop["stop"] for startstop in record["startstops"]).
double latest_stop(const Value& record) {
  double latest = 0;
  bool any = false;
  const Value* startstops = record.find("startstops");
  if (startstops == nullptr || !startstops->is_array()) return latest;
  for (const Value& ss : startstops->as_array()) {
    const Value* stop = ss.find("stop");
    if (stop == nullptr || !stop->is_number()) continue;
    latest = any ? std::max(latest, stop->as_double()) : stop->as_double();
    any = true;
  }
  return latest;
}

}  // namespace

void TaskStreamBuffer::append(Value record) {
  buffer_.push_back(std::move(record));
  if (buffer_.size() > maxlen_) buffer_.pop_front();
  ++index_;
}

std::size_t TaskStreamBuffer::bisect(double target) const {
  std::size_t left = 0;
  std::size_t right = buffer_.size();
  while (left != right) {
    const std::size_t mid = (left + right) / 2;
    if (latest_stop(buffer_[mid]) < target) {
      left = mid + 1;
    } else {
      right = mid;
    }
  }
  return left;
}

std::vector<Value> TaskStreamBuffer::collect(
    std::optional<double> start, std::optional<double> stop,
    std::optional<std::int64_t> count, std::optional<std::int64_t> start_index) const {
  const auto size = static_cast<std::int64_t>(buffer_.size());
  std::int64_t first = 0;
  std::int64_t last = size;
  if (start_index) {
    first = std::clamp<std::int64_t>(*start_index - (index_ - size), 0, size);
  } else {
    std::optional<std::int64_t> lo;
    std::optional<std::int64_t> hi;
    if (start) lo = static_cast<std::int64_t>(bisect(*start));
    if (stop) hi = static_cast<std::int64_t>(bisect(*stop));
    if (count) {
      if (!lo && !hi) {
        hi = size;
        lo = size - *count;
      } else if (!lo) {
        lo = *hi - *count;
      } else if (!hi) {
        hi = *lo + *count;
      }
    }
    first = std::max<std::int64_t>(0, lo.value_or(0));
    last = std::min(hi.value_or(size), size);
  }
  std::vector<Value> out;
  for (std::int64_t i = first; i < last; ++i) {
    out.push_back(buffer_[static_cast<std::size_t>(i)]);
  }
  return out;
}

Value task_stream_record(const Value& wire, const std::string& worker, bool erred,
                         const std::string& stimulus_id) {
  Map record;
  const Value* key = wire.find("key");
  const Value key_value = key != nullptr ? *key : Value();
  // The hook gets stimulus_id as a keyword ahead of the stimulus kwargs.
  record.emplace_back(Value("stimulus_id"), Value(stimulus_id));
  if (erred) record.emplace_back(Value("cause"), key_value);
  record.emplace_back(Value("worker"), Value(worker));
  // stimulus_task_finished names metadata before passing the rest on.
  const Value* metadata = erred ? nullptr : wire.find("metadata");
  if (metadata != nullptr) record.emplace_back(Value("metadata"), *metadata);
  if (wire.is_map()) {
    for (const auto& [name, value] : wire.as_map()) {
      if (name.is_str()) {
        const std::string& n = name.as_str();
        if (n == "op" || n == "key" || n == "stimulus_id" || n == "run_id" ||
            n == "worker" || (metadata != nullptr && n == "metadata")) {
          continue;
        }
      }
      record.emplace_back(name, value);
    }
  }
  record.emplace_back(Value("key"), key_value);
  return Value(std::move(record));
}

TaskStream::~TaskStream() { observers_.remove(this); }

void TaskStream::enable() {
  if (enabled_) return;
  enabled_ = true;
  observers_.add(this);
}

void TaskStream::on_transition(SchedulerState& s, TaskId /*id*/, TaskStatus start,
                               TaskStatus finish, const TransitionArgs& args,
                               const Stimulus& stim, const LinksBefore* /*before*/) {
  if (start != TaskStatus::processing || args.wire == nullptr) return;
  WorkerId worker = kNoId<WorkerId>;
  if (finish == TaskStatus::memory && args.finished != nullptr) {
    worker = args.finished->worker;
  } else if (finish == TaskStatus::erred && args.erred != nullptr) {
    worker = args.erred->worker;
  } else {
    return;
  }
  const auto* wire = static_cast<const Value*>(args.wire.get());
  const std::string address = worker != kNoId<WorkerId> ? s.worker(worker).address : "";
  buffer_.append(
      task_stream_record(*wire, address, finish == TaskStatus::erred, stim.id));
}

namespace {

// get_task_stream's start / stop: a number is a time, a str a timedelta back from
// now (as TaskStreamPlugin.collect).
Result<std::optional<double>> time_bound(const Value* v, double now) {
  if (v == nullptr || v->is_nil()) return std::optional<double>();
  if (v->is_number()) return std::optional<double>(v->as_double());
  if (v->is_str()) {
    DASKCPP_ASSIGN_OR_RETURN(double ago,
                             protocol::parse_timedelta(std::string_view(v->as_str())));
    return std::optional<double>(now - ago);
  }
  return Status::Invalid("expected a number, a timedelta string or None, got " +
                         v->to_debug_string(64));
}

Result<std::optional<std::int64_t>> optional_int(const Value* v) {
  if (v == nullptr || v->is_nil()) return std::optional<std::int64_t>();
  if (v->is_int()) return std::optional<std::int64_t>(v->as_int64());
  return Status::Invalid("expected an int or None, got " + v->to_debug_string(64));
}

Value get_task_stream(TaskStream& stream, RpcRequest& req) {
  stream.enable();
  const double now = protocol::unix_now();
  Result<std::optional<double>> start = time_bound(req.arg("start"), now);
  Result<std::optional<double>> stop = time_bound(req.arg("stop"), now);
  Result<std::optional<std::int64_t>> count = optional_int(req.arg("count"));
  Result<std::optional<std::int64_t>> start_index = optional_int(req.arg("start_index"));
  for (const Status* st :
       {&start.status(), &stop.status(), &count.status(), &start_index.status()}) {
    if (!st->ok()) return protocol::exception_reply("ValueError", st->message());
  }
  std::vector<Value> records =
      stream.buffer().collect(*start, *stop, *count, *start_index);
  return Value(Array(std::make_move_iterator(records.begin()),
                     std::make_move_iterator(records.end())));
}

}  // namespace

void TaskStream::register_handlers(ExtensionContext& server) {
  server.rpc.add_sync("get_task_stream",
                      [this](RpcRequest& req) { return get_task_stream(*this, req); });
  server.rpc.add_sync("get_task_stream_index", [this](RpcRequest&) {
    enable();
    return Value(buffer_.index());
  });
}

}  // namespace daskcpp::scheduler
