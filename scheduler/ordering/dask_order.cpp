#include "scheduler/ordering/dask_order.hpp"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "scheduler/ordering/py_set_table.hpp"

// The structure follows dask/order.py function by function (order, ndependencies,
// _connecting_to_roots, the nested add_to_result / process_runnables / get_target);
// comments name the Python statement a block stands for where that is not obvious.

namespace daskcpp::ordering {

namespace {

__extension__ using u128 = unsigned __int128;
using Id = std::int32_t;
using Ids = std::vector<Id>;

// Sets of root (or leaf) ids, shared between nodes as _connecting_to_roots shares its
// frozensets: a node whose inputs all carry the same set points at it.
class ReachSets {
 public:
  Id singleton(Id member) {
    sets_.push_back(Ids{member});
    return static_cast<Id>(sets_.size() - 1);
  }
  // The union of `parts` (distinct set ids).
  Id union_of(const Ids& parts) {
    if (parts.size() == 1) return parts[0];
    Id largest = parts[0];
    for (Id p : parts)
      if (sets_[static_cast<std::size_t>(p)].size() >
          sets_[static_cast<std::size_t>(largest)].size())
        largest = p;
    scratch_.clear();
    for (Id p : parts) {
      const Ids& s = sets_[static_cast<std::size_t>(p)];
      scratch_.insert(scratch_.end(), s.begin(), s.end());
    }
    std::sort(scratch_.begin(), scratch_.end());
    scratch_.erase(std::unique(scratch_.begin(), scratch_.end()), scratch_.end());
    if (scratch_.size() == sets_[static_cast<std::size_t>(largest)].size())
      return largest;
    std::uint64_t h = 1469598103934665603ULL;
    for (Id v : scratch_) h = (h ^ static_cast<std::uint32_t>(v)) * 1099511628211ULL;
    auto& bucket = by_hash_[h];
    for (Id candidate : bucket)
      if (sets_[static_cast<std::size_t>(candidate)] == scratch_) return candidate;
    sets_.push_back(scratch_);
    const auto id = static_cast<Id>(sets_.size() - 1);
    bucket.push_back(id);
    return id;
  }
  const Ids& members(Id set) const { return sets_[static_cast<std::size_t>(set)]; }

 private:
  std::vector<Ids> sets_;
  std::unordered_map<std::uint64_t, Ids> by_hash_;
  Ids scratch_;
};

// Which set ids the current node has met already (distinct inputs, in O(1) each).
class SeenStamp {
 public:
  bool first_visit(Id set, Id node) {
    const auto u = static_cast<std::size_t>(set);
    if (u >= stamp_.size()) stamp_.resize(std::max(u + 1, stamp_.size() * 2), -1);
    if (stamp_[u] == node) return false;
    stamp_[u] = node;
    return true;
  }

 private:
  std::vector<Id> stamp_;
};

// Arbitrary-precision unsigned sums for total_dependencies when they exceed 128 bits
// (it counts paths, which grows exponentially in lattice-like graphs).
using BigNum = std::vector<std::uint32_t>;  // little-endian limbs

void big_add(BigNum& acc, const BigNum& x) {
  if (acc.size() < x.size()) acc.resize(x.size(), 0);
  std::uint64_t carry = 0;
  for (std::size_t i = 0; i < acc.size(); ++i) {
    const std::uint64_t s =
        static_cast<std::uint64_t>(acc[i]) + (i < x.size() ? x[i] : 0) + carry;
    acc[i] = static_cast<std::uint32_t>(s);
    carry = s >> 32;
    if (carry == 0 && i >= x.size()) break;
  }
  if (carry) acc.push_back(static_cast<std::uint32_t>(carry));
}

bool big_less(const BigNum& a, const BigNum& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  for (std::size_t i = a.size(); i-- > 0;)
    if (a[i] != b[i]) return a[i] < b[i];
  return false;
}

class Orderer {
 public:
  explicit Orderer(const DaskOrderGraph& g) : g_(g) {}

  Result<std::vector<std::int64_t>> run();

 private:
  // ---- graph (dsk, DependenciesMapping, dependents) ----
  std::size_t n_ = 0;  // task_count
  std::size_t N_ = 0;  // node_count
  const DaskOrderGraph& g_;
  std::vector<std::int64_t> hash_;
  std::vector<std::int64_t> dep_begin_, dep_end_;  // per node; externals empty
  std::vector<Id> dep_ids_;
  std::vector<std::int64_t> dpt_begin_;  // dependents CSR in Python set order
  std::vector<Id> dpt_ids_;
  std::vector<char> alive_;          // in dsk (== not in DependenciesMapping._removed)
  std::vector<std::int64_t> ndeps_;  // len(dependencies[x])
  std::vector<std::int64_t> ndpt_;   // len(dependents[x])
  std::int64_t dsk_len_ = 0;
  std::int64_t removed_count_ = 0;  // len(DependenciesMapping._removed)

  // ---- result ----
  std::vector<char> in_result_;
  std::vector<std::int64_t> result_;
  std::int64_t result_count_ = 0;
  std::int64_t i_ = 0;

  // ---- sort_key ----
  std::vector<u128> total_;
  std::vector<std::int64_t> roots_connected_len_;
  std::vector<std::int64_t> max_dependents_;
  std::vector<std::optional<std::string_view>> text_;

  // ---- sets of the algorithm ----
  std::vector<char> in_leaf_, in_root_;
  std::int64_t leaf_count_ = 0, root_count_ = 0;
  std::optional<PySetTable> root_table_;
  std::unordered_map<Id, PySetTable> requires_data_task_;
  std::vector<std::int64_t> num_needed_;
  std::vector<char> runnable_hull_;
  std::vector<char> reachable_;
  Ids reachable_list_;
  std::vector<std::int64_t> reachable_pos_;
  Ids runnable_;
  std::unordered_map<Id, std::vector<Ids>> known_runnable_paths_;
  ReachSets leaf_sets_;
  std::vector<Id> leafs_connected_;         // per node: set id, -1 for empty
  std::vector<std::int64_t> leafs_degree_;  // -1: not tracked
  std::vector<Ids> leafs_per_degree_;
  std::vector<std::int64_t> leafs_per_degree_count_;
  std::int64_t min_leaf_degree_ = 0, max_leaf_degree_ = 0;
  Ids leaf_nodes_sorted_;
  std::unordered_map<Id, PySetTable> deps_table_cache_;

  std::span<const Id> deps_of(Id x) const {
    return {dep_ids_.data() + dep_begin_[static_cast<std::size_t>(x)],
            static_cast<std::size_t>(dep_end_[static_cast<std::size_t>(x)] -
                                     dep_begin_[static_cast<std::size_t>(x)])};
  }
  std::span<const Id> dependents_of(Id x) const {
    return {dpt_ids_.data() + dpt_begin_[static_cast<std::size_t>(x)],
            static_cast<std::size_t>(dpt_begin_[static_cast<std::size_t>(x) + 1] -
                                     dpt_begin_[static_cast<std::size_t>(x)])};
  }
  std::int64_t hash(Id x) const { return hash_[static_cast<std::size_t>(x)]; }
  bool is_task(Id x) const {
    return static_cast<std::size_t>(x) < n_ &&
           g_.is_task[static_cast<std::size_t>(x)] != 0;
  }
  std::string_view text(Id x) {
    auto& t = text_[static_cast<std::size_t>(x)];
    if (!t) t = g_.key_text(static_cast<std::size_t>(x));
    return *t;
  }
  // sort_key(a) < sort_key(b)
  bool key_less(Id a, Id b) {
    const auto ua = static_cast<std::size_t>(a), ub = static_cast<std::size_t>(b);
    if (total_[ua] != total_[ub]) return total_[ua] < total_[ub];
    if (ndeps_[ua] != ndeps_[ub]) return ndeps_[ua] < ndeps_[ub];
    if (roots_connected_len_[ua] != roots_connected_len_[ub])
      return roots_connected_len_[ua] < roots_connected_len_[ub];
    if (max_dependents_[ua] != max_dependents_[ub])
      return max_dependents_[ua] > max_dependents_[ub];  // -max_dependents
    return text(a) < text(b);
  }

  PySetTable deps_table(Id x);
  Ids deps_difference_result(Id x);
  void set_result(Id x, std::int64_t value) {
    in_result_[static_cast<std::size_t>(x)] = 1;
    result_[static_cast<std::size_t>(x)] = value;
    ++result_count_;
  }
  void reachable_add(Id x) {
    if (reachable_[static_cast<std::size_t>(x)]) return;
    reachable_[static_cast<std::size_t>(x)] = 1;
    reachable_pos_[static_cast<std::size_t>(x)] =
        static_cast<std::int64_t>(reachable_list_.size());
    reachable_list_.push_back(x);
  }
  void reachable_discard(Id x) {
    if (!reachable_[static_cast<std::size_t>(x)]) return;
    reachable_[static_cast<std::size_t>(x)] = 0;
    const auto pos =
        static_cast<std::size_t>(reachable_pos_[static_cast<std::size_t>(x)]);
    const Id last = reachable_list_.back();
    reachable_list_[pos] = last;
    reachable_pos_[static_cast<std::size_t>(last)] = static_cast<std::int64_t>(pos);
    reachable_list_.pop_back();
  }
  void leaf_discard(Id x) {
    if (in_leaf_[static_cast<std::size_t>(x)]) {
      in_leaf_[static_cast<std::size_t>(x)] = 0;
      --leaf_count_;
    }
  }

  void build_graph();
  void remove_aliases_and_data_roots();
  Status ndependencies();
  Status cycle_error();
  void connecting_to_roots();
  void add_to_result(Id item);
  void process_runnables();
  std::optional<Id> get_target();
  bool use_longest_path();

  Ids topo_;  // alive nodes, dependencies first
};

void Orderer::build_graph() {
  n_ = g_.task_count;
  N_ = g_.node_count;
  hash_.assign(g_.key_hash.begin(), g_.key_hash.end());
  dep_begin_.assign(N_, 0);
  dep_end_.assign(N_, 0);
  dep_ids_.reserve(g_.dep_index.size());
  for (std::size_t t = 0; t < n_; ++t) {
    dep_begin_[t] = static_cast<std::int64_t>(dep_ids_.size());
    const std::int64_t b = t == 0 ? 0 : g_.dep_ends[t - 1];
    for (std::int64_t d = b; d < g_.dep_ends[t]; ++d)
      dep_ids_.push_back(static_cast<Id>(g_.dep_index[static_cast<std::size_t>(d)]));
    dep_end_[t] = static_cast<std::int64_t>(dep_ids_.size());
  }
  for (std::size_t t = n_; t < N_; ++t) dep_begin_[t] = dep_end_[t] = 0;

  // reverse_dict: dependents[v] receives k in dsk order; replay each set's additions
  // to learn its iteration order.
  std::vector<std::int64_t> count(N_ + 1, 0);
  for (Id d : dep_ids_) ++count[static_cast<std::size_t>(d) + 1];
  dpt_begin_.assign(N_ + 1, 0);
  for (std::size_t x = 0; x < N_; ++x) dpt_begin_[x + 1] = dpt_begin_[x] + count[x + 1];
  dpt_ids_.assign(dep_ids_.size(), 0);
  std::vector<std::int64_t> fill(dpt_begin_.begin(), dpt_begin_.end() - 1);
  for (std::size_t t = 0; t < n_; ++t)
    for (Id d : deps_of(static_cast<Id>(t)))
      dpt_ids_[static_cast<std::size_t>(fill[static_cast<std::size_t>(d)]++)] =
          static_cast<Id>(t);
  for (std::size_t x = 0; x < N_; ++x) {
    const auto b = static_cast<std::size_t>(dpt_begin_[x]);
    const auto e = static_cast<std::size_t>(dpt_begin_[x + 1]);
    if (e - b < 2) continue;
    PySetTable table;
    for (std::size_t j = b; j < e; ++j) table.add(dpt_ids_[j], hash(dpt_ids_[j]));
    std::size_t j = b;
    table.for_each([&](Id id) { dpt_ids_[j++] = id; });
  }

  alive_.assign(N_, 1);
  ndeps_.assign(N_, 0);
  ndpt_.assign(N_, 0);
  for (std::size_t x = 0; x < N_; ++x) {
    ndeps_[x] = dep_end_[x] - dep_begin_[x];
    ndpt_[x] = dpt_begin_[x + 1] - dpt_begin_[x];
  }
  dsk_len_ = static_cast<std::int64_t>(N_);
  in_result_.assign(N_, 0);
  result_.assign(N_, 0);
  text_.assign(N_, std::nullopt);
}

// dependencies[x] as DependenciesMapping returns it now: node.dependencies, or
// node.dependencies - _removed (a new frozenset, in its own order) after removals.
PySetTable Orderer::deps_table(Id x) {
  Ids ids(deps_of(x).begin(), deps_of(x).end());
  PySetTable orig = PySetTable::frozen_in_order(ids, hash_);
  if (removed_count_ == 0) return orig;
  if ((orig.size() >> 2) > removed_count_) {  // set_copy_and_difference
    PySetTable t = PySetTable::copy_of(orig);
    t.difference_update([&](Id id) { return !alive_[static_cast<std::size_t>(id)]; });
    return t;
  }
  PySetTable t;
  orig.for_each([&](Id id) {
    if (alive_[static_cast<std::size_t>(id)]) t.add(id, hash(id));
  });
  return t;
}

// dependencies[x].difference(result), in the iteration order of the new set.
Ids Orderer::deps_difference_result(Id x) {
  auto it = deps_table_cache_.find(x);
  if (it == deps_table_cache_.end())
    it = deps_table_cache_.emplace(x, deps_table(x)).first;
  const PySetTable& so = it->second;
  auto in_result = [&](Id id) { return in_result_[static_cast<std::size_t>(id)] != 0; };
  if ((so.size() >> 2) > result_count_) {
    PySetTable t = PySetTable::copy_of(so);
    t.difference_update(in_result);
    return t.elements();
  }
  PySetTable t;
  so.for_each([&](Id id) {
    if (!in_result(id)) t.add(id, hash(id));
  });
  return t.elements();
}

void Orderer::remove_aliases_and_data_roots() {
  // leaf_nodes = {k for k, v in dependents.items() if not v}: dependents' dict order
  // is the order keys were first touched by reverse_dict.
  in_leaf_.assign(N_, 0);
  in_root_.assign(N_, 0);
  PySetTable leaf_table;
  PySetTable root_table;
  {
    std::vector<char> touched(N_, 0);
    auto touch = [&](Id x) {
      if (touched[static_cast<std::size_t>(x)]) return;
      touched[static_cast<std::size_t>(x)] = 1;
      if (ndpt_[static_cast<std::size_t>(x)] == 0) {
        leaf_table.add(x, hash(x));
        in_leaf_[static_cast<std::size_t>(x)] = 1;
        ++leaf_count_;
      }
    };
    for (std::size_t t = 0; t < n_; ++t) {
      touch(static_cast<Id>(t));
      for (Id d : deps_of(static_cast<Id>(t))) touch(d);
    }
    for (std::size_t x = 0; x < N_; ++x) {
      if (ndeps_[x] == 0) {
        root_table.add(static_cast<Id>(x), hash(static_cast<Id>(x)));
        in_root_[x] = 1;
        ++root_count_;
      }
    }
  }

  bool all_tasks = false;
  std::int64_t n_removed_leaves = 0;
  auto delete_node = [&](Id x) {
    alive_[static_cast<std::size_t>(x)] = 0;
    --dsk_len_;
    ++removed_count_;
  };
  while (!all_tasks) {
    all_tasks = true;
    for (Id leaf : leaf_table.elements()) {
      const auto ul = static_cast<std::size_t>(leaf);
      if (in_root_[ul]) continue;
      if (!is_task(leaf) && ndeps_[ul] > 1) {
        all_tasks = false;
        set_result(leaf, dsk_len_ - 1 - n_removed_leaves);
        ++n_removed_leaves;
        leaf_table.discard(leaf, hash(leaf));
        in_leaf_[ul] = 0;
        --leaf_count_;
        for (Id dep : deps_table(leaf).elements()) {
          const auto ud = static_cast<std::size_t>(dep);
          --ndpt_[ud];
          if (ndpt_[ud] == 0) {
            leaf_table.add(dep, hash(dep));
            if (!in_leaf_[ud]) {
              in_leaf_[ud] = 1;
              ++leaf_count_;
            }
          }
        }
        delete_node(leaf);
      }
    }
    for (Id root : root_table.elements()) {
      const auto ur = static_cast<std::size_t>(root);
      if (in_leaf_[ur]) continue;
      if (!is_task(root) && ndpt_[ur] > 1) {
        delete_node(root);
        root_table.discard(root, hash(root));
        in_root_[ur] = 0;
        --root_count_;
        for (Id dep : dependents_of(root)) {
          const auto ud = static_cast<std::size_t>(dep);
          if (!alive_[ud]) continue;
          auto& required = requires_data_task_[dep];
          required.add(root, hash(root));
          --ndeps_[ud];
          if (ndeps_[ud] == 0) {
            root_table.add(dep, hash(dep));
            if (!in_root_[ud]) {
              in_root_[ud] = 1;
              ++root_count_;
            }
          }
        }
      }
    }
  }
  root_table_ = std::move(root_table);
}

Status Orderer::ndependencies() {
  num_needed_.assign(N_, 0);
  total_.assign(N_, 0);
  std::vector<std::int64_t> pending(N_, 0);
  topo_.clear();
  std::int64_t alive_count = 0;
  for (std::size_t x = 0; x < N_; ++x) {
    if (!alive_[x]) continue;
    ++alive_count;
    num_needed_[x] = pending[x] = ndeps_[x];
    if (ndeps_[x] == 0) topo_.push_back(static_cast<Id>(x));
  }
  bool overflow = false;
  for (std::size_t head = 0; head < topo_.size(); ++head) {
    const Id x = topo_[head];
    const auto ux = static_cast<std::size_t>(x);
    u128 sum = 1;
    for (Id c : deps_of(x)) {
      if (!alive_[static_cast<std::size_t>(c)]) continue;
      const u128 add = total_[static_cast<std::size_t>(c)];
      if (sum + add < sum) overflow = true;
      sum += add;
    }
    total_[ux] = sum;
    for (Id p : dependents_of(x)) {
      const auto up = static_cast<std::size_t>(p);
      if (!alive_[up]) continue;
      if (--pending[up] == 0) topo_.push_back(p);
    }
  }
  if (static_cast<std::int64_t>(topo_.size()) != alive_count) return cycle_error();
  if (overflow) {
    // Only the order of total_dependencies matters to sort_key: replace the values by
    // their rank among exact big sums.
    std::vector<BigNum> big(N_);
    for (Id x : topo_) {
      BigNum s{1};
      for (Id c : deps_of(x))
        if (alive_[static_cast<std::size_t>(c)])
          big_add(s, big[static_cast<std::size_t>(c)]);
      big[static_cast<std::size_t>(x)] = std::move(s);
    }
    Ids by_value(topo_);
    std::sort(by_value.begin(), by_value.end(), [&](Id a, Id b) {
      return big_less(big[static_cast<std::size_t>(a)], big[static_cast<std::size_t>(b)]);
    });
    u128 rank = 0;
    for (std::size_t k = 0; k < by_value.size(); ++k) {
      if (k > 0 && big_less(big[static_cast<std::size_t>(by_value[k - 1])],
                            big[static_cast<std::size_t>(by_value[k])]))
        ++rank;
      total_[static_cast<std::size_t>(by_value[k])] = rank;
    }
  }
  return Status::OK();
}

// dask.core.getcycle on what is left of dsk, and order()'s RuntimeError text.
Status Orderer::cycle_error() {
  std::vector<char> completed(N_, 0), seen(N_, 0);
  Ids cycle;
  for (std::size_t start = 0; start < N_ && cycle.empty(); ++start) {
    if (!alive_[start] || completed[start]) continue;
    Ids nodes{static_cast<Id>(start)};
    while (!nodes.empty() && cycle.empty()) {
      const Id cur = nodes.back();
      if (completed[static_cast<std::size_t>(cur)]) {
        nodes.pop_back();
        continue;
      }
      seen[static_cast<std::size_t>(cur)] = 1;
      Ids next_nodes;
      for (Id nxt : deps_of(cur)) {
        if (!alive_[static_cast<std::size_t>(nxt)] ||
            completed[static_cast<std::size_t>(nxt)])
          continue;
        if (seen[static_cast<std::size_t>(nxt)]) {
          std::unordered_map<Id, std::int64_t> priorities;
          const Id prev0 = nodes.back();
          while (nodes.back() != nxt) {
            const Id popped = nodes.back();
            nodes.pop_back();
            priorities[popped] = -static_cast<std::int64_t>(priorities.size());
          }
          priorities[nxt] = -static_cast<std::int64_t>(priorities.size());
          cycle.push_back(nodes.back());
          nodes.pop_back();
          cycle.push_back(prev0);
          Id prev = prev0;
          while (prev != cycle.front()) {
            // dependents of cycle[-1] among the nodes in play
            std::optional<Id> best;
            for (const auto& [k, prio] : priorities) {
              bool depends = false;
              for (Id d : deps_of(k)) depends |= d == cycle.back();
              if (depends && (!best || prio < priorities[*best] ||
                              (prio == priorities[*best] && k < *best)))
                best = k;
            }
            if (!best) break;
            prev = *best;
            cycle.push_back(prev);
          }
          std::reverse(cycle.begin(), cycle.end());
          break;
        }
        next_nodes.push_back(nxt);
      }
      if (!cycle.empty()) break;
      if (!next_nodes.empty()) {
        nodes.insert(nodes.end(), next_nodes.begin(), next_nodes.end());
      } else {
        completed[static_cast<std::size_t>(cur)] = 1;
        seen[static_cast<std::size_t>(cur)] = 0;
        nodes.pop_back();
      }
    }
  }
  std::string text = "Cycle detected between the following keys:\n  -> ";
  for (std::size_t k = 0; k < cycle.size(); ++k) {
    if (k > 0) text += "\n  -> ";
    text += std::string(this->text(cycle[k]));
  }
  return Status::Invalid(std::move(text));
}

void Orderer::connecting_to_roots() {
  roots_connected_len_.assign(N_, 0);
  max_dependents_.assign(N_, 0);
  {
    ReachSets root_sets;
    std::vector<Id> set_of(N_, -1);
    Ids parts;
    SeenStamp stamp;
    for (Id x : topo_) {
      const auto ux = static_cast<std::size_t>(x);
      if (ndeps_[ux] == 0) {
        set_of[ux] = root_sets.singleton(x);
        max_dependents_[ux] = ndpt_[ux];
        roots_connected_len_[ux] = 0;
        continue;
      }
      parts.clear();
      std::int64_t maxdep = 0;
      for (Id c : deps_of(x)) {
        const auto uc = static_cast<std::size_t>(c);
        if (!alive_[uc]) continue;
        maxdep = std::max(maxdep, max_dependents_[uc]);
        if (stamp.first_visit(set_of[uc], x)) parts.push_back(set_of[uc]);
      }
      max_dependents_[ux] = maxdep;
      set_of[ux] = root_sets.union_of(parts);
      roots_connected_len_[ux] =
          static_cast<std::int64_t>(root_sets.members(set_of[ux]).size());
    }
  }
  // leafs_connected: the same walk against the edges, from the leaves.
  leafs_connected_.assign(N_, -1);
  std::vector<Id> set_of(N_, -1);
  Ids parts;
  SeenStamp stamp;
  for (auto it = topo_.rbegin(); it != topo_.rend(); ++it) {
    const Id x = *it;
    const auto ux = static_cast<std::size_t>(x);
    if (ndpt_[ux] == 0) {
      set_of[ux] = leaf_sets_.singleton(x);
      continue;  // a leaf's own entry is the empty set
    }
    parts.clear();
    for (Id p : dependents_of(x)) {
      const auto up = static_cast<std::size_t>(p);
      if (!alive_[up]) continue;
      if (stamp.first_visit(set_of[up], x)) parts.push_back(set_of[up]);
    }
    set_of[ux] = leaf_sets_.union_of(parts);
    leafs_connected_[ux] = set_of[ux];
  }
}

void Orderer::add_to_result(Id first) {
  Ids next_items{first};
  while (!next_items.empty()) {
    const Id item = next_items.back();
    next_items.pop_back();
    const auto ui = static_cast<std::size_t>(item);
    runnable_hull_[ui] = 0;
    reachable_discard(item);
    leaf_discard(item);
    if (in_result_[ui]) continue;

    auto req = requires_data_task_.find(item);
    if (req != requires_data_task_.end()) {
      while (!req->second.empty()) {
        // add_to_result(requires_data_task[item].pop()) on a removed data root: no
        // dependents, not a root any more.
        const Id data = req->second.pop();
        const auto ud = static_cast<std::size_t>(data);
        runnable_hull_[ud] = 0;
        reachable_discard(data);
        leaf_discard(data);
        if (in_result_[ud]) continue;
        set_result(data, i_);
        if (ud < n_) ++i_;
      }
    }
    set_result(item, i_);
    if (ui < n_) ++i_;

    if (in_root_[ui] && leafs_connected_[ui] >= 0) {
      for (Id leaf : leaf_sets_.members(leafs_connected_[ui])) {
        const auto ul = static_cast<std::size_t>(leaf);
        if (!in_leaf_[ul]) continue;
        const std::int64_t degree = leafs_degree_[ul];
        if (degree < 0) continue;  // a leaf that is also a root has no degree
        leafs_degree_[ul] = -1;
        --leafs_per_degree_count_[static_cast<std::size_t>(degree)];
        const std::int64_t new_degree = degree - 1;
        if (new_degree > 0) {
          if (new_degree < min_leaf_degree_) min_leaf_degree_ = new_degree;
          leafs_per_degree_[static_cast<std::size_t>(new_degree)].push_back(leaf);
          ++leafs_per_degree_count_[static_cast<std::size_t>(new_degree)];
          leafs_degree_[ul] = new_degree;
        } else if (leafs_per_degree_count_[static_cast<std::size_t>(degree)] == 0) {
          while (min_leaf_degree_ != max_leaf_degree_ &&
                 leafs_per_degree_count_[static_cast<std::size_t>(min_leaf_degree_)] == 0)
            ++min_leaf_degree_;
        }
      }
    }

    const std::int64_t n_dependents = ndpt_[ui];
    for (Id dep : dependents_of(item)) {
      const auto ud = static_cast<std::size_t>(dep);
      if (!alive_[ud]) continue;
      --num_needed_[ud];
      reachable_add(dep);
      if (num_needed_[ud] == 0) {
        if (n_dependents == 1)
          next_items.push_back(dep);
        else
          runnable_.push_back(dep);
      }
    }
  }
}

void Orderer::process_runnables() {
  while (!runnable_.empty()) {
    Ids candidates = runnable_;
    runnable_.clear();
    while (!candidates.empty()) {
      const Id key = candidates.back();
      candidates.pop_back();
      const auto uk = static_cast<std::size_t>(key);
      if (runnable_hull_[uk] || in_result_[uk]) continue;
      if (in_leaf_[uk]) {
        add_to_result(key);
        continue;
      }
      std::deque<std::pair<std::int64_t, Ids>> branches;
      branches.emplace_back(0, Ids{key});
      while (!branches.empty()) {
        auto [nsplits, path] = std::move(branches.front());
        branches.pop_front();
        while (true) {
          const Id current = path.back();
          const auto uc = static_cast<std::size_t>(current);
          runnable_hull_[uc] = 1;
          const std::int64_t n_down = ndpt_[uc];
          const std::int64_t n_up = ndeps_[uc];
          if (n_down == 0) {
            if (num_needed_[uc] <= 1) {
              for (Id k : path) add_to_result(k);
            } else {
              runnable_hull_[uc] = 0;
            }
          } else if (path.size() == 1 || n_up == 1) {
            if (n_down > 1) {
              ++nsplits;
              Ids down;
              for (Id d : dependents_of(current))
                if (alive_[static_cast<std::size_t>(d)]) down.push_back(d);
              std::sort(down.begin(), down.end(),
                        [&](Id a, Id b) { return key_less(a, b); });
              for (Id d : down) {
                if (ndeps_[static_cast<std::size_t>(d)] == 1) {
                  Ids branch = path;
                  branch.push_back(d);
                  branches.emplace_back(nsplits, std::move(branch));
                }
              }
              break;
            }
            for (Id d : dependents_of(current))
              if (alive_[static_cast<std::size_t>(d)]) path.push_back(d);
            continue;
          } else if (auto known = known_runnable_paths_.find(current);
                     known != known_runnable_paths_.end()) {
            known->second.push_back(path);
            runnable_hull_[uc] = 0;
            if (static_cast<std::int64_t>(known->second.size()) >= num_needed_[uc]) {
              std::vector<Ids> popped = std::move(known->second);
              known_runnable_paths_.erase(known);
              std::deque<Ids> pruned_branches;
              for (Ids& p : popped)
                if (!in_result_[static_cast<std::size_t>(p[p.size() - 2])])
                  pruned_branches.push_back(std::move(p));
              if (static_cast<std::int64_t>(pruned_branches.size()) < num_needed_[uc]) {
                known_runnable_paths_[current] =
                    std::vector<Ids>(std::make_move_iterator(pruned_branches.begin()),
                                     std::make_move_iterator(pruned_branches.end()));
              } else {
                if (nsplits > 1) {
                  Ids joined;
                  for (const Ids& pr : pruned_branches)
                    joined.insert(joined.end(), pr.begin(), pr.end());
                  branches.emplace_back(nsplits - 1, std::move(joined));
                  break;
                }
                while (!pruned_branches.empty()) {
                  Ids p = std::move(pruned_branches.front());
                  pruned_branches.pop_front();
                  for (Id k : p) {
                    if (num_needed_[static_cast<std::size_t>(k)]) {
                      pruned_branches.push_back(p);
                      break;
                    }
                    add_to_result(k);
                  }
                }
              }
            }
          } else if (n_up > 1 && num_needed_[uc] <= 1) {
            for (Id k : path) add_to_result(k);
          } else {
            known_runnable_paths_[current] = std::vector<Ids>{path};
            runnable_hull_[uc] = 0;
          }
          break;
        }
      }
    }
  }
}

std::optional<Id> Orderer::get_target() {
  const bool all_leafs_accessible = min_leaf_degree_ == max_leaf_degree_;
  const bool is_trivial_lookup = reachable_list_.empty() || all_leafs_accessible;
  if (!is_trivial_lookup) {
    const auto deg = min_leaf_degree_;
    auto valid = [&](Id leaf) {
      return leafs_degree_[static_cast<std::size_t>(leaf)] == deg;
    };
    std::optional<Id> best;
    auto consider = [&](Id x) {
      if (!best || key_less(x, *best)) best = x;
    };
    Ids& bucket = leafs_per_degree_[static_cast<std::size_t>(deg)];
    const std::int64_t live = leafs_per_degree_count_[static_cast<std::size_t>(deg)];
    // The list keeps entries that moved to a lower degree (the Python set removed
    // them); compact it once they dominate.
    if (static_cast<std::int64_t>(bucket.size()) > 2 * live + 16)
      std::erase_if(bucket, [&](Id leaf) { return !valid(leaf); });
    // reachable_hull & leafs_per_degree[min_leaf_degree], walking the smaller side
    if (static_cast<std::int64_t>(reachable_list_.size()) < live) {
      for (Id x : reachable_list_)
        if (valid(x)) consider(x);
    } else {
      for (Id x : bucket)
        if (valid(x) && reachable_[static_cast<std::size_t>(x)]) consider(x);
    }
    if (!best)
      for (Id x : bucket)
        if (valid(x)) consider(x);
    return best;
  }
  if (leaf_nodes_sorted_.empty()) return std::nullopt;
  const Id target = leaf_nodes_sorted_.back();
  leaf_nodes_sorted_.pop_back();
  return target;
}

bool Orderer::use_longest_path() {
  std::int64_t size = 0;
  const double spread = static_cast<double>(std::llabs(root_count_ - leaf_count_)) /
                        static_cast<double>(root_count_);
  if (spread < 0.8) {
    bool symmetric = true;
    root_table_->for_each([&](Id r) {
      if (!symmetric) return;
      const auto ur = static_cast<std::size_t>(r);
      const std::int64_t n_leafs =
          leafs_connected_[ur] < 0 ? 0
                                   : static_cast<std::int64_t>(
                                         leaf_sets_.members(leafs_connected_[ur]).size());
      if (!size)
        size = n_leafs;
      else if (size != n_leafs)
        symmetric = false;
    });
    return symmetric;
  }
  return true;
}

Result<std::vector<std::int64_t>> Orderer::run() {
  if (g_.task_count == 0) return std::vector<std::int64_t>{};
  build_graph();
  const auto expected_len = static_cast<std::int64_t>(N_);
  remove_aliases_and_data_roots();
  DASKCPP_RETURN_NOT_OK(ndependencies());
  connecting_to_roots();

  runnable_hull_.assign(N_, 0);
  reachable_.assign(N_, 0);
  reachable_pos_.assign(N_, 0);

  // Leaves by degree (the number of roots still to load before they are reachable).
  leafs_degree_.assign(N_, -1);
  min_leaf_degree_ = dsk_len_;
  max_leaf_degree_ = dsk_len_;
  leafs_per_degree_.assign(static_cast<std::size_t>(dsk_len_) + 1, Ids{});
  leafs_per_degree_count_.assign(static_cast<std::size_t>(dsk_len_) + 1, 0);
  Ids leaves;
  for (std::size_t x = 0; x < N_; ++x) {
    if (!in_leaf_[x]) continue;
    leaves.push_back(static_cast<Id>(x));
    if (in_root_[x]) continue;
    const std::int64_t degree = roots_connected_len_[x];
    min_leaf_degree_ = std::min(min_leaf_degree_, degree);
    max_leaf_degree_ = std::max(max_leaf_degree_, degree);
    leafs_degree_[x] = degree;
    leafs_per_degree_[static_cast<std::size_t>(degree)].push_back(static_cast<Id>(x));
    ++leafs_per_degree_count_[static_cast<std::size_t>(degree)];
  }

  const bool longest_path = use_longest_path();
  leaf_nodes_sorted_ = std::move(leaves);
  std::sort(leaf_nodes_sorted_.begin(), leaf_nodes_sorted_.end(),
            [&](Id a, Id b) { return longest_path ? key_less(a, b) : key_less(b, a); });

  Ids critical_path;
  while (result_count_ < expected_len) {
    const std::optional<Id> target = get_target();
    // Python raises IndexError popping the empty leaf list here.
    if (!target)
      return Status(StatusCode::kUnknown, "dask.order: no leaf left to target");
    critical_path.push_back(*target);
    // next_deps = dependencies[target] (not yet reduced by result)
    Ids next_deps;
    for (Id d : deps_of(*target))
      if (alive_[static_cast<std::size_t>(d)]) next_deps.push_back(d);
    while (!next_deps.empty()) {
      Id item = next_deps[0];
      for (Id d : next_deps)
        if (key_less(item, d)) item = d;
      critical_path.push_back(item);
      next_deps = deps_difference_result(item);
      critical_path.insert(critical_path.end(), next_deps.begin(), next_deps.end());
    }

    bool walked_back = false;
    while (!critical_path.empty()) {
      const Id item = critical_path.back();
      critical_path.pop_back();
      const auto ui = static_cast<std::size_t>(item);
      if (in_result_[ui]) continue;
      if (num_needed_[ui]) {
        critical_path.push_back(item);
        Ids deps;
        for (Id d : deps_of(item)) {
          const auto ud = static_cast<std::size_t>(d);
          if (alive_[ud] && !in_result_[ud]) deps.push_back(d);
        }
        std::sort(deps.begin(), deps.end(), [&](Id a, Id b) { return key_less(a, b); });
        Ids unknown, known;
        for (Id d : deps) {
          if (known_runnable_paths_.count(d))
            known.push_back(d);
          else
            unknown.push_back(d);
        }
        if (unknown.size() > 1) walked_back = true;
        critical_path.insert(critical_path.end(), unknown.begin(), unknown.end());
        for (Id d : known) {
          auto it = known_runnable_paths_.find(d);
          if (it == known_runnable_paths_.end()) continue;  // popped by an earlier d
          std::vector<Ids> paths = std::move(it->second);
          known_runnable_paths_.erase(it);
          for (const Ids& p : paths)
            critical_path.insert(critical_path.end(), p.rbegin(), p.rend());
        }
        continue;
      }
      if (walked_back && runnable_.size() < critical_path.size()) process_runnables();
      add_to_result(item);
    }
    process_runnables();
  }

  std::vector<std::int64_t> priorities(n_);
  for (std::size_t t = 0; t < n_; ++t) priorities[t] = result_[t];
  return priorities;
}

}  // namespace

Result<std::vector<std::int64_t>> dask_order(const DaskOrderGraph& graph) {
  Orderer orderer(graph);
  return orderer.run();
}

}  // namespace daskcpp::ordering
