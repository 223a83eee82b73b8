#pragma once
// MemoryThresholds: the fractions of --memory-limit at which the worker spills and
// pauses (upstream distributed/worker_memory.py WorkerMemoryManager with the
// `distributed.worker.memory.*` defaults):
//   target 0.6 — managed bytes in memory above it spill, least recently used first;
//   spill  0.7 — process memory above it spills until it is back under target;
//   pause  0.8 — process memory above it pauses the worker (no new executions),
//                and below it resumes.
// The nanny's `terminate` 0.95 has no counterpart: daskcpp-worker runs without one.
// Without a limit nothing spills or pauses.
// Thread safety: plain data.

#include <cstdint>
#include <optional>

namespace daskcpp::worker {

struct MemoryThresholds {
  std::optional<std::int64_t> limit;
  double target = 0.6;
  double spill = 0.7;
  double pause = 0.8;

  bool enabled() const { return limit.has_value() && *limit > 0; }
  std::int64_t bytes(double fraction) const {
    return enabled() ? static_cast<std::int64_t>(static_cast<double>(*limit) * fraction)
                     : INT64_MAX;
  }
  // SpillBuffer target: the managed bytes kept in memory.
  std::int64_t target_bytes() const { return bytes(target); }
  // _maybe_spill: process memory above the spill threshold starts spilling.
  bool should_spill(std::int64_t process_memory) const {
    return enabled() && process_memory > bytes(spill);
  }
  // _maybe_pause_or_unpause: strictly above the pause threshold is paused.
  bool should_pause(std::int64_t process_memory) const {
    return enabled() && process_memory > bytes(pause);
  }
};

}  // namespace daskcpp::worker
