#include "scheduler/transitions/worker_replicas.hpp"

#include "scheduler/transitions/handler_support.hpp"

namespace daskcpp::scheduler {

namespace {

// One scattered key into memory on the workers that are still registered; nullopt
// when the task is being computed or erred (the computed result will arrive).
std::optional<TaskId> data_into_memory(SchedulerState& s, const DataKey& d,
                                       std::vector<std::string>& workers) {
  auto id = s.find_task(d.key);
  if (!id) {
    id = s.new_task(d.key, d.prefix_name, d.group_name, TaskStatus::memory);
  } else if (s.task(*id).status == TaskStatus::released) {
    s.set_status(*id, TaskStatus::memory);
  } else if (s.task(*id).status != TaskStatus::memory) {
    return std::nullopt;
  }
  if (d.nbytes >= 0) s.set_nbytes(*id, d.nbytes);
  for (const std::string& w : d.workers) {
    if (auto wid = s.find_worker(w)) {
      s.add_replica(*id, *wid);
      workers.push_back(w);
    }
  }
  return id;
}

}  // namespace

Result<Effects> release_worker_data(SchedulerState& s, const ReleaseWorkerData& m,
                                    const Stimulus& stim) {
  Effects out;
  auto id = s.find_task(m.key);
  auto wid = s.find_worker(m.worker);
  if (!id || !wid || !s.task(*id).who_has.contains(*wid)) return out;
  s.remove_replica(*id, *wid);
  if (s.task(*id).who_has.empty()) {
    DASKCPP_RETURN_NOT_OK(recommend(s, *id, TaskStatus::released, stim, out));
  }
  return out;
}

Result<Effects> add_keys(SchedulerState& s, const AddKeys& m, const Stimulus& stim) {
  Effects out;
  auto wid = s.find_worker(m.worker);
  if (!wid) return out;
  std::vector<std::string> redundant;
  for (const std::string& k : m.keys) {
    auto id = s.find_task(k);
    if (id && s.task(*id).status == TaskStatus::memory) {
      s.add_replica(*id, *wid);
    } else {
      redundant.push_back(k);
    }
  }
  if (!redundant.empty()) {
    out.to_workers.push_back(RemoveReplicasMsg{*wid, std::move(redundant), stim.id});
  }
  return out;
}

Result<Effects> handle_request_refresh_who_has(SchedulerState& s,
                                               const RequestRefreshWhoHas& m,
                                               const Stimulus& stim) {
  Effects out;
  auto wid = s.find_worker(m.worker);
  if (!wid) return out;
  RefreshWhoHasMsg refresh{*wid, {}, stim.id};
  FreeKeysMsg unknown{*wid, {}, stim.id};
  for (const std::string& k : m.keys) {
    if (auto id = s.find_task(k)) {
      std::vector<std::string> addrs;
      for (WorkerId w : s.task(*id).who_has) addrs.push_back(s.worker(w).address);
      refresh.who_has.emplace_back(k, std::move(addrs));
    } else {
      unknown.keys.push_back(k);
    }
  }
  if (!refresh.who_has.empty()) out.to_workers.push_back(std::move(refresh));
  if (!unknown.keys.empty()) out.to_workers.push_back(std::move(unknown));
  return out;
}

Result<Effects> update_data(SchedulerState& s, const UpdateData& m, const Stimulus&) {
  Effects out;
  std::vector<TaskId> stored;
  for (const DataKey& d : m.data) {
    std::vector<std::string> workers;
    std::optional<TaskId> id = data_into_memory(s, d, workers);
    if (!id) continue;
    for (ClientId c : s.task(*id).who_wants) {
      out.to_clients.push_back(KeyInMemoryMsg{c, d.key, {}, false, workers});
    }
    stored.push_back(*id);
  }
  if (!m.client.empty()) {
    client_desires_keys_into(s, s.ensure_client(m.client), stored, out);
  }
  return out;
}

}  // namespace daskcpp::scheduler
