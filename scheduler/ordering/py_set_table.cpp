#include "scheduler/ordering/py_set_table.hpp"

#include <cassert>

namespace daskcpp::ordering {

namespace {

constexpr std::uint64_t kLinearProbes = 9;
constexpr unsigned kPerturbShift = 5;
constexpr std::uint64_t kMinSize = 8;

// Smallest power-of-two table size > minused (set_table_resize).
std::uint64_t table_size_for(std::int64_t minused) {
  std::uint64_t size = kMinSize;
  while (size <= static_cast<std::uint64_t>(minused)) size <<= 1;
  return size;
}

}  // namespace

PySetTable::PySetTable() : slots_(kMinSize) {}

PySetTable PySetTable::frozen_in_order(const std::vector<std::int32_t>& ids,
                                       const std::vector<std::int64_t>& hash_of) {
  PySetTable t;
  const auto n = static_cast<std::int64_t>(ids.size());
  // set_merge into a fresh frozenset: one resize to > 2n when n*5 >= 7*3.
  if (n * 5 >= 21) {
    t.mask_ = table_size_for(n * 2) - 1;
    t.slots_.assign(t.mask_ + 1, Slot{});
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    t.slots_[i] = Slot{hash_of[static_cast<std::size_t>(ids[i])], ids[i]};
  }
  t.fill_ = t.used_ = n;
  t.probe_ok_ = n <= 1;
  if (n == 1) {  // a single element sits at hash & mask in the real table too
    const Slot s = t.slots_[0];
    t.slots_[0] = Slot{};
    t.slots_[static_cast<std::uint64_t>(s.hash) & t.mask_] = s;
  }
  return t;
}

void PySetTable::insert_clean(std::int32_t id, std::int64_t hash) {
  std::uint64_t perturb = static_cast<std::uint64_t>(hash);
  std::uint64_t i = static_cast<std::uint64_t>(hash) & mask_;
  while (true) {
    if (slots_[i].id == kEmpty) {
      slots_[i] = Slot{hash, id};
      return;
    }
    if (i + kLinearProbes <= mask_) {
      for (std::uint64_t j = 1; j <= kLinearProbes; ++j) {
        if (slots_[i + j].id == kEmpty) {
          slots_[i + j] = Slot{hash, id};
          return;
        }
      }
    }
    perturb >>= kPerturbShift;
    i = (i * 5 + 1 + perturb) & mask_;
  }
}

void PySetTable::resize(std::int64_t minused) {
  const std::uint64_t newsize = table_size_for(minused);
  if (newsize == kMinSize && mask_ == kMinSize - 1 && fill_ == used_) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(newsize, Slot{});
  mask_ = newsize - 1;
  fill_ = used_;
  for (const Slot& s : old)
    if (s.id >= 0) insert_clean(s.id, s.hash);
  probe_ok_ = true;
}

std::size_t PySetTable::lookup(std::int32_t id, std::int64_t hash) const {
  assert(probe_ok_);
  std::uint64_t perturb = static_cast<std::uint64_t>(hash);
  std::uint64_t i = static_cast<std::uint64_t>(hash) & mask_;
  while (true) {
    const std::uint64_t probes = (i + kLinearProbes <= mask_) ? kLinearProbes : 0;
    for (std::uint64_t j = 0; j <= probes; ++j) {
      const Slot& s = slots_[i + j];
      if (s.id == kEmpty) return static_cast<std::size_t>(-1);
      if (s.id == id) return static_cast<std::size_t>(i + j);
    }
    perturb >>= kPerturbShift;
    i = (i * 5 + 1 + perturb) & mask_;
  }
}

void PySetTable::add(std::int32_t id, std::int64_t hash) {
  assert(probe_ok_);
  std::uint64_t perturb = static_cast<std::uint64_t>(hash);
  std::uint64_t i = static_cast<std::uint64_t>(hash) & mask_;
  std::size_t freeslot = static_cast<std::size_t>(-1);
  while (true) {
    const std::uint64_t probes = (i + kLinearProbes <= mask_) ? kLinearProbes : 0;
    for (std::uint64_t j = 0; j <= probes; ++j) {
      Slot& s = slots_[i + j];
      if (s.id == kEmpty) {
        if (freeslot != static_cast<std::size_t>(-1)) {
          ++used_;
          slots_[freeslot] = Slot{hash, id};
          return;
        }
        ++fill_;
        ++used_;
        s = Slot{hash, id};
        if (static_cast<std::uint64_t>(fill_) * 5 < mask_ * 3) return;
        resize(used_ > 50000 ? used_ * 2 : used_ * 4);
        return;
      }
      if (s.id == id) return;
      // CPython 3.11 remembers the last dummy on the probe path.
      if (s.id == kDummy) freeslot = static_cast<std::size_t>(i + j);
    }
    perturb >>= kPerturbShift;
    i = (i * 5 + 1 + perturb) & mask_;
  }
}

bool PySetTable::discard(std::int32_t id, std::int64_t hash) {
  const std::size_t at = lookup(id, hash);
  if (at == static_cast<std::size_t>(-1)) return false;
  slots_[at] = Slot{-1, kDummy};
  --used_;
  return true;
}

std::int32_t PySetTable::pop() {
  assert(used_ > 0);
  std::uint64_t i = finger_ & mask_;
  while (slots_[i].id < 0) {
    ++i;
    if (i > mask_) i = 0;
  }
  const std::int32_t id = slots_[i].id;
  slots_[i] = Slot{-1, kDummy};
  --used_;
  finger_ = i + 1;
  return id;
}

PySetTable PySetTable::copy_of(const PySetTable& other) {
  PySetTable t;
  if (other.used_ == 0) return t;
  if (other.used_ * 5 >= 21) t.resize(other.used_ * 2);
  if (t.mask_ == other.mask_ && other.fill_ == other.used_) {
    t.slots_ = other.slots_;
    t.fill_ = other.fill_;
    t.used_ = other.used_;
    t.probe_ok_ = other.probe_ok_;
    return t;
  }
  for (const Slot& s : other.slots_)
    if (s.id >= 0) t.insert_clean(s.id, s.hash);
  t.fill_ = t.used_ = other.used_;
  return t;
}

std::vector<std::int32_t> PySetTable::elements() const {
  std::vector<std::int32_t> out;
  out.reserve(static_cast<std::size_t>(used_));
  for_each([&](std::int32_t id) { out.push_back(id); });
  return out;
}

}  // namespace daskcpp::ordering
