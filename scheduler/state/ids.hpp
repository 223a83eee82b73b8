#pragma once
// Strong ids for the scheduler's arenas and IdSet, the compact set of ids that every
// per-task / per-worker relation (dependencies, who_has, processing, ...) is made of.
//
// Ids index a std::vector arena owned by SchedulerState; nothing in the core holds a
// pointer into an arena, so arenas may grow freely (style.md §2).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <vector>

namespace daskcpp::scheduler {

enum class TaskId : std::uint32_t {};
enum class WorkerId : std::uint32_t {};
enum class ClientId : std::uint32_t {};
enum class PrefixId : std::uint32_t {};
enum class GroupId : std::uint32_t {};

template <typename Id>
constexpr Id kNoId = Id{std::numeric_limits<std::uint32_t>::max()};

template <typename Id>
constexpr std::uint32_t to_index(Id id) {
  return static_cast<std::uint32_t>(id);
}
template <typename Id>
constexpr bool is_none(Id id) {
  return id == kNoId<Id>;
}

// A set of ids in ascending order, 16 bytes when it holds at most two ids (most
// dependency / replica / client sets do). Up to kTreeThreshold ids it is a sorted array
// (one allocation, cache friendly); past that it becomes a std::set so that a task with
// 100k dependents, or a worker holding 100k keys, still inserts and erases in O(log n).
// Iteration is always in ascending id order, which keeps message order deterministic.
template <typename Id>
class IdSet {
  static constexpr std::uint32_t kInline = 2;
  static constexpr std::uint32_t kTreeThreshold = 128;
  static constexpr std::uint32_t kTreeMode = std::numeric_limits<std::uint32_t>::max();
  using Tree = std::set<Id>;

 public:
  class const_iterator {
   public:
    using value_type = Id;
    using difference_type = std::ptrdiff_t;
    using reference = Id;
    using pointer = const Id*;
    using iterator_category = std::forward_iterator_tag;
    const_iterator() = default;
    explicit const_iterator(const Id* p) : ptr_(p) {}
    explicit const_iterator(typename Tree::const_iterator it) : it_(it), tree_(true) {}
    Id operator*() const { return tree_ ? *it_ : *ptr_; }
    const_iterator& operator++() {
      if (tree_) {
        ++it_;
      } else {
        ++ptr_;
      }
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator c = *this;
      ++*this;
      return c;
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) {
      return a.tree_ ? a.it_ == b.it_ : a.ptr_ == b.ptr_;
    }

   private:
    const Id* ptr_ = nullptr;
    typename Tree::const_iterator it_{};
    bool tree_ = false;
  };

  IdSet() = default;
  IdSet(std::initializer_list<Id> ids) {
    for (Id id : ids) insert(id);
  }
  IdSet(const IdSet& o) { copy_from(o); }
  IdSet& operator=(const IdSet& o) {
    if (this != &o) {
      clear();
      copy_from(o);
    }
    return *this;
  }
  IdSet(IdSet&& o) noexcept : size_(o.size_), cap_(o.cap_), u_(o.u_) {
    o.size_ = 0;
    o.cap_ = kInline;
  }
  IdSet& operator=(IdSet&& o) noexcept {
    if (this != &o) {
      clear();
      size_ = o.size_;
      cap_ = o.cap_;
      u_ = o.u_;
      o.size_ = 0;
      o.cap_ = kInline;
    }
    return *this;
  }
  ~IdSet() { clear(); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  const_iterator begin() const {
    return is_tree() ? const_iterator(u_.tree->cbegin()) : const_iterator(data());
  }
  const_iterator end() const {
    return is_tree() ? const_iterator(u_.tree->cend()) : const_iterator(data() + size_);
  }

  bool contains(Id id) const {
    if (is_tree()) return u_.tree->count(id) != 0;
    const Id* d = data();
    const Id* p = lower_bound(d, d + size_, id);
    return p != d + size_ && *p == id;
  }

  // Returns true when `id` was not present.
  bool insert(Id id) {
    if (is_tree()) {
      bool inserted = u_.tree->insert(id).second;
      size_ += inserted ? 1 : 0;
      return inserted;
    }
    Id* d = data();
    Id* p = lower_bound(d, d + size_, id);
    if (p != d + size_ && *p == id) return false;
    std::size_t pos = static_cast<std::size_t>(p - d);
    if (size_ == cap_) {
      if (size_ >= kTreeThreshold) {
        to_tree();
        u_.tree->insert(id);
        ++size_;
        return true;
      }
      grow();
      d = data();
    }
    for (std::size_t i = size_; i > pos; --i) d[i] = d[i - 1];
    d[pos] = id;
    ++size_;
    return true;
  }

  // Returns true when `id` was present.
  bool erase(Id id) {
    if (is_tree()) {
      bool erased = u_.tree->erase(id) != 0;
      size_ -= erased ? 1 : 0;
      return erased;
    }
    Id* d = data();
    Id* p = lower_bound(d, d + size_, id);
    if (p == d + size_ || *p != id) return false;
    for (Id* q = p; q + 1 < d + size_; ++q) *q = *(q + 1);
    --size_;
    return true;
  }

  void clear() {
    if (is_tree()) {
      delete u_.tree;
    } else if (cap_ > kInline) {
      delete[] u_.heap;
    }
    size_ = 0;
    cap_ = kInline;
  }

  std::vector<Id> to_vector() const { return std::vector<Id>(begin(), end()); }
  Id front() const { return *begin(); }

  // Heap bytes owned by this set (for the memory-per-task measurement).
  std::size_t heap_bytes() const {
    if (is_tree()) return sizeof(Tree) + size_ * (sizeof(Id) + 32);
    return cap_ > kInline ? cap_ * sizeof(Id) : 0;
  }

  friend bool operator==(const IdSet& a, const IdSet& b) {
    if (a.size_ != b.size_) return false;
    auto i = a.begin();
    for (Id id : b) {
      if (*i != id) return false;
      ++i;
    }
    return true;
  }

 private:
  bool is_tree() const { return cap_ == kTreeMode; }
  Id* data() { return cap_ > kInline ? u_.heap : u_.inline_ids; }
  const Id* data() const { return cap_ > kInline ? u_.heap : u_.inline_ids; }

  static Id* lower_bound(Id* first, Id* last, Id id) {
    while (first != last) {
      Id* mid = first + (last - first) / 2;
      if (*mid < id) {
        first = mid + 1;
      } else {
        last = mid;
      }
    }
    return first;
  }
  static const Id* lower_bound(const Id* first, const Id* last, Id id) {
    return lower_bound(const_cast<Id*>(first), const_cast<Id*>(last), id);
  }

  void grow() {
    std::uint32_t new_cap = cap_ * 2;
    Id* heap = new Id[new_cap];
    const Id* d = data();
    for (std::uint32_t i = 0; i < size_; ++i) heap[i] = d[i];
    if (cap_ > kInline) delete[] u_.heap;
    u_.heap = heap;
    cap_ = new_cap;
  }

  void to_tree() {
    auto* tree = new Tree(data(), data() + size_);
    if (cap_ > kInline) delete[] u_.heap;
    u_.tree = tree;
    cap_ = kTreeMode;
  }

  void copy_from(const IdSet& o) {
    for (Id id : o) insert(id);
  }

  std::uint32_t size_ = 0;
  std::uint32_t cap_ = kInline;
  union U {
    Id inline_ids[kInline];
    Id* heap;
    Tree* tree;
  } u_{};
};

}  // namespace daskcpp::scheduler
