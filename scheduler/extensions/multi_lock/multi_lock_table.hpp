#pragma once
// MultiLockTable: the bookkeeping of upstream distributed/multi_lock.py
// MultiLockExtension (_request_locks / _retain_locks) as plain data, so it is
// unit-tested without sockets. Each lock name has a FIFO of users (MultiLock ids);
// the user at the front holds it. A user needs `num_locks` of the locks it asked for;
// once it holds that many, its other requests are withdrawn.
// Thread: the scheduler loop (no synchronisation).

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "protocol/status.hpp"

namespace daskcpp::scheduler {

class MultiLockTable {
 public:
  // _request_locks: queues `id` on every lock (the least contended first); true when
  // it already holds num_locks of them. Error: id already requesting, or num_locks
  // not in [1, len(locks)].
  Result<bool> request(const std::vector<std::string>& locks, const std::string& id,
                       std::int64_t num_locks);
  // _retain_locks: `id` leaves every lock in `locks` (holding or waiting). Returns the
  // users that now hold all they need, to be woken.
  std::vector<std::string> release(const std::vector<std::string>& locks,
                                   const std::string& id);
  // MultiLockExtension.release: release(requests[id], id). KeyError when unknown.
  Result<std::vector<std::string>> release_all(const std::string& id);

  bool requesting(const std::string& id) const { return requests_.contains(id); }
  // The user holds every lock it needs.
  bool satisfied(const std::string& id) const;
  // Users of `lock`, front (holder) first.
  std::vector<std::string> users(const std::string& lock) const;

 private:
  std::map<std::string, std::vector<std::string>> locks_;  // lock -> users
  std::map<std::string, std::set<std::string>> requests_;  // user -> locks
  std::map<std::string, std::int64_t> requests_left_;      // user -> still needed
};

}  // namespace daskcpp::scheduler
