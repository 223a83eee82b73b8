#include "scheduler/extensions/multi_lock/multi_lock_table.hpp"

#include <algorithm>

namespace daskcpp::scheduler {

Result<bool> MultiLockTable::request(const std::vector<std::string>& locks,
                                     const std::string& id, std::int64_t num_locks) {
  if (requests_.contains(id)) {
    return Status::Invalid("multi_lock_acquire: id " + id + " is already acquiring");
  }
  if (num_locks <= 0 || num_locks > static_cast<std::int64_t>(locks.size())) {
    return Status::Invalid("multi_lock_acquire: num_locks must be in [1, len(locks)]");
  }
  requests_[id] = std::set<std::string>(locks.begin(), locks.end());
  requests_left_[id] = num_locks;
  // sorted(locks, key=len(self.locks[x])): stable, so ties keep the caller's order.
  std::vector<std::string> order = locks;
  std::stable_sort(order.begin(), order.end(),
                   [&](const std::string& a, const std::string& b) {
                     auto la = locks_.find(a);
                     auto lb = locks_.find(b);
                     return (la == locks_.end() ? 0 : la->second.size()) <
                            (lb == locks_.end() ? 0 : lb->second.size());
                   });
  for (std::size_t i = 0; i < order.size(); ++i) {
    std::vector<std::string>& users = locks_[order[i]];
    users.push_back(id);
    if (users.size() == 1 && --requests_left_[id] == 0) {
      // Got all locks needed: withdraw the requests not yet queued.
      for (std::size_t j = i + 1; j < order.size(); ++j) requests_[id].erase(order[j]);
      return true;
    }
  }
  return false;
}

std::vector<std::string> MultiLockTable::release(const std::vector<std::string>& locks,
                                                 const std::string& id) {
  std::vector<std::string> ready;
  for (const std::string& lock : locks) {
    auto it = locks_.find(lock);
    if (it == locks_.end()) continue;
    std::vector<std::string>& users = it->second;
    if (!users.empty() && users.front() == id) {
      users.erase(users.begin());
      if (!users.empty()) {
        const std::string& next = users.front();
        auto left = requests_left_.find(next);
        if (left != requests_left_.end() && --left->second <= 0) {
          // More locks may free up than were asked for.
          left->second = 0;
          if (std::find(ready.begin(), ready.end(), next) == ready.end()) {
            ready.push_back(next);
          }
        }
      }
    } else {
      std::erase(users, id);
    }
    if (users.empty()) locks_.erase(it);
  }
  requests_.erase(id);
  requests_left_.erase(id);
  return ready;
}

Result<std::vector<std::string>> MultiLockTable::release_all(const std::string& id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return Status::KeyError(id);
  std::vector<std::string> locks(it->second.begin(), it->second.end());
  return release(locks, id);
}

bool MultiLockTable::satisfied(const std::string& id) const {
  auto it = requests_left_.find(id);
  return it != requests_left_.end() && it->second == 0;
}

std::vector<std::string> MultiLockTable::users(const std::string& lock) const {
  auto it = locks_.find(lock);
  return it == locks_.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace daskcpp::scheduler
