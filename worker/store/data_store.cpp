#include "worker/store/data_store.hpp"

#include <algorithm>

namespace daskcpp::worker {

void DataStore::drop_from_counts(Entry& entry) {
  if (entry.value.where == Where::memory) {
    memory_bytes_ -= entry.value.nbytes;
    lru_.erase(entry.lru);
  } else {
    spilled_.memory -= entry.value.nbytes;
    spilled_.disk -= entry.value.disk_bytes;
  }
}

std::optional<StoredValue> DataStore::put(const Key& key, std::uint64_t id,
                                          std::int64_t nbytes) {
  nbytes = std::max<std::int64_t>(nbytes, 0);
  std::optional<StoredValue> replaced;
  int pins = 0;
  if (auto it = entries_.find(key); it != entries_.end()) {
    replaced = it->second.value;
    pins = it->second.value.pins;
    drop_from_counts(it->second);
    entries_.erase(it);
  }
  lru_.push_back(key);
  Entry entry{StoredValue{id, nbytes, Where::memory, 0, pins}, std::prev(lru_.end())};
  entries_.emplace(key, std::move(entry));
  memory_bytes_ += nbytes;
  return replaced;
}

std::optional<StoredValue> DataStore::erase(const Key& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  StoredValue value = it->second.value;
  drop_from_counts(it->second);
  entries_.erase(it);
  return value;
}

const StoredValue* DataStore::find(const Key& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.value;
}

const StoredValue* DataStore::touch(const Key& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  if (it->second.value.where == Where::memory) {
    lru_.splice(lru_.end(), lru_, it->second.lru);
  }
  return &it->second.value;
}

std::vector<DataStore::Key> DataStore::keys() const {
  std::vector<Key> out;
  out.reserve(entries_.size());
  for (const auto& [key, entry] : entries_) out.push_back(key);
  return out;
}

void DataStore::mark_spilled(const Key& key, std::int64_t disk_bytes) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.value.where != Where::memory) return;
  Entry& e = it->second;
  drop_from_counts(e);
  e.value.where = Where::disk;
  e.value.disk_bytes = std::max<std::int64_t>(disk_bytes, 0);
  spilled_.memory += e.value.nbytes;
  spilled_.disk += e.value.disk_bytes;
}

void DataStore::mark_unspilled(const Key& key) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.value.where != Where::disk) return;
  Entry& e = it->second;
  drop_from_counts(e);
  e.value.where = Where::memory;
  e.value.disk_bytes = 0;
  lru_.push_back(key);
  e.lru = std::prev(lru_.end());
  memory_bytes_ += e.value.nbytes;
}

void DataStore::pin(const Key& key) {
  if (auto it = entries_.find(key); it != entries_.end()) ++it->second.value.pins;
}

void DataStore::unpin(const Key& key) {
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.value.pins > 0) --it->second.value.pins;
}

std::vector<DataStore::Key> DataStore::spill_candidates(std::int64_t target) const {
  std::vector<Key> out;
  std::int64_t remaining = memory_bytes_;
  for (const Key& key : lru_) {
    if (remaining <= target) break;
    const StoredValue& v = entries_.at(key).value;
    if (v.pins > 0) continue;
    out.push_back(key);
    remaining -= v.nbytes;
  }
  return out;
}

std::optional<DataStore::Key> DataStore::least_recently_used() const {
  for (const Key& key : lru_) {
    if (entries_.at(key).value.pins == 0) return key;
  }
  return std::nullopt;
}

}  // namespace daskcpp::worker
