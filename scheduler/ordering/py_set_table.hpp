#pragma once

// The hash table of a CPython 3.11 set/frozenset, replayed on node ids.
//
// dask.order.order iterates, pops and diffs Python sets, and where it does the
// result depends on the table's slot order (hash & mask, probing, resizes, dummies).
// To give priorities identical to Python's in the same interpreter, the port replays
// those sets' operations on this model with the keys' own hash() values. Only ids and
// hashes are stored; equality is id equality (dask keys in one graph are distinct).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace daskcpp::ordering {

class PySetTable {
 public:
  static constexpr std::int32_t kEmpty = -1;
  static constexpr std::int32_t kDummy = -2;
  struct Slot {
    std::int64_t hash = 0;
    std::int32_t id = kEmpty;
  };

  PySetTable();

  // A frozenset built by frozenset(some_set) of n elements whose iteration order is
  // `ids` (as Python reported it): the table size set_merge gives it, the elements in
  // that order. The slot positions are not the real ones, so such a table may be
  // iterated, copied and filtered but not probed (add/discard by key).
  static PySetTable frozen_in_order(const std::vector<std::int32_t>& ids,
                                    const std::vector<std::int64_t>& hash_of);

  // set_add_entry.
  void add(std::int32_t id, std::int64_t hash);
  // set_discard_entry; returns whether the key was present.
  bool discard(std::int32_t id, std::int64_t hash);
  // set_pop (the table must not be empty).
  std::int32_t pop();

  // make_new_set_basetype(type(other), other): a fresh table merged from `other`.
  static PySetTable copy_of(const PySetTable& other);
  // Turns every element `drop(id)` selects into a dummy, then the dummy-purging
  // resize of set_difference_update_internal.
  template <typename Drop>
  void difference_update(Drop drop);

  std::int64_t size() const { return used_; }
  bool empty() const { return used_ == 0; }
  // Elements in iteration order.
  template <typename Fn>
  void for_each(Fn fn) const {
    for (const Slot& s : slots_)
      if (s.id >= 0) fn(s.id);
  }
  std::vector<std::int32_t> elements() const;

 private:
  void resize(std::int64_t minused);
  void insert_clean(std::int32_t id, std::int64_t hash);
  std::size_t lookup(std::int32_t id, std::int64_t hash) const;  // slot or npos

  std::vector<Slot> slots_;
  std::int64_t fill_ = 0;
  std::int64_t used_ = 0;
  std::uint64_t mask_ = 7;
  std::uint64_t finger_ = 0;
  bool probe_ok_ = true;
};

template <typename Drop>
void PySetTable::difference_update(Drop drop) {
  for (Slot& s : slots_) {
    if (s.id >= 0 && drop(s.id)) {
      s.id = kDummy;
      s.hash = -1;
      --used_;
    }
  }
  if (static_cast<std::uint64_t>(fill_ - used_) <= mask_ / 4) return;
  resize(used_ > 50000 ? used_ * 2 : used_ * 4);
}

}  // namespace daskcpp::ordering
