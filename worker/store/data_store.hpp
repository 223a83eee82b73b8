#pragma once
// DataStore: the worker's bookkeeping of the values it holds (upstream
// distributed/spill.py SpillBuffer, minus the values themselves): for each key the id
// of its Python value, its dask sizeof, whether it lives in memory or in a spill file,
// and the least-recently-used order of the in-memory ones. It decides what to spill;
// the owner (WorkerServer) moves the bytes and reports back with mark_spilled /
// mark_unspilled.
//
// Counted as SpillBuffer counts: `memory_bytes` is the sizeof of the values in memory
// (SpillBuffer.fast.total_weight), `spilled` is (sizeof, bytes on disk) of the values
// on disk (SpillBuffer.spilled_total). Pinned keys (dependencies of a task about to
// run) are never chosen for spilling.
//
// Pure: no Python, no I/O, no clock. Thread safety: none; the worker's loop owns it.

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "protocol/messages/key.hpp"

namespace daskcpp::worker {

enum class Where { memory, disk };

struct StoredValue {
  std::uint64_t id = 0;     // the Python value's id (python_compat::ValueId)
  std::int64_t nbytes = 0;  // dask sizeof of the value
  Where where = Where::memory;
  std::int64_t disk_bytes = 0;  // size of the spill file when on disk
  int pins = 0;
};

// SpillBuffer.spilled_total: the values on disk as (sizeof, bytes on disk).
struct SpilledTotal {
  std::int64_t memory = 0;
  std::int64_t disk = 0;
};

class DataStore {
 public:
  using Key = protocol::Key;

  // Stores `key` in memory as the most recently used. Returns the entry it replaced
  // (its value must be released, or its spill file removed), if any. Pins survive a
  // replacement.
  std::optional<StoredValue> put(const Key& key, std::uint64_t id, std::int64_t nbytes);
  // Removes `key`; returns what it was, for the owner to release.
  std::optional<StoredValue> erase(const Key& key);

  // Lookup without touching the LRU order.
  const StoredValue* find(const Key& key) const;
  // Lookup that counts as a use (SpillBuffer.__getitem__): an in-memory key becomes
  // the most recently used.
  const StoredValue* touch(const Key& key);

  bool contains(const Key& key) const { return entries_.contains(key); }
  std::size_t size() const { return entries_.size(); }
  std::vector<Key> keys() const;

  // The value of `key` now lives in a spill file of `disk_bytes` bytes (its Python
  // value has been dropped). No-op unless `key` is in memory.
  void mark_spilled(const Key& key, std::int64_t disk_bytes);
  // The value of `key` is back in memory, most recently used. No-op unless on disk.
  void mark_unspilled(const Key& key);

  // A pinned key is never a spill candidate (dependencies of a task queued or running).
  void pin(const Key& key);
  void unpin(const Key& key);

  // The in-memory, unpinned keys to spill, least recently used first, so that the
  // bytes in memory fall to at most `target` (SpillBuffer's LRU eviction down to
  // its target). Fewer (possibly none) when pins prevent reaching the target.
  std::vector<Key> spill_candidates(std::int64_t target) const;
  // The least recently used in-memory, unpinned key (SpillBuffer.evict), if any.
  std::optional<Key> least_recently_used() const;

  std::int64_t memory_bytes() const { return memory_bytes_; }
  SpilledTotal spilled() const { return spilled_; }
  std::size_t memory_count() const { return lru_.size(); }

 private:
  struct Entry {
    StoredValue value;
    std::list<Key>::iterator lru;  // valid only when value.where == memory
  };

  void drop_from_counts(Entry& entry);

  std::unordered_map<Key, Entry> entries_;
  std::list<Key> lru_;  // in-memory keys, least recently used first
  std::int64_t memory_bytes_ = 0;
  SpilledTotal spilled_;
};

}  // namespace daskcpp::worker
