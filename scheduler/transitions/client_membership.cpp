#include "scheduler/transitions/client_membership.hpp"

#include <algorithm>

#include "scheduler/transitions/handler_support.hpp"
#include "scheduler/transitions/transition_functions.hpp"

namespace daskcpp::scheduler {

namespace {

void add_once(std::vector<ClientId>& clients, ClientId c) {
  if (std::find(clients.begin(), clients.end(), c) == clients.end()) clients.push_back(c);
}

}  // namespace

Result<Effects> add_client(SchedulerState& s, const AddClient& m, const Stimulus&) {
  s.ensure_client(m.client);
  return Effects{};
}

Result<Effects> remove_client(SchedulerState& s, const RemoveClient& m,
                              const Stimulus& stim) {
  Effects out;
  auto cid = s.find_client(m.client);
  if (!cid) return out;
  DASKCPP_RETURN_NOT_OK(client_releases_keys_and_transition(
      s, *cid, s.client(*cid).wants_what.to_vector(), stim, out));
  s.drop_client(*cid);
  return out;
}

Result<Effects> client_desires_keys(SchedulerState& s, const ClientDesiresKeys& m,
                                    const Stimulus&) {
  Effects out;
  ClientId cid = s.ensure_client(m.client);
  client_desires_keys_into(s, cid, known_task_ids(s, m.keys), out);
  return out;
}

Result<Effects> client_releases_keys(SchedulerState& s, const ClientReleasesKeys& m,
                                     const Stimulus& stim) {
  Effects out;
  auto cid = s.find_client(m.client);
  if (!cid) return out;
  DASKCPP_RETURN_NOT_OK(
      client_releases_keys_and_transition(s, *cid, known_task_ids(s, m.keys), stim, out));
  return out;
}

Result<Effects> stimulus_cancel(SchedulerState& s, const CancelKeys& m,
                                const Stimulus& stim) {
  Effects out;
  auto cid = s.find_client(m.client);
  if (!cid) return out;
  std::vector<std::string> cancelled;
  std::vector<ClientId> clients;
  for (const std::string& k : m.keys) {
    auto id = s.find_task(k);
    if (!id) continue;
    const TaskState& ts = s.task(*id);
    bool only_this_client = ts.who_wants.size() == 1 && ts.who_wants.contains(*cid);
    if (m.force || only_this_client) {
      if (!ts.dependents.empty()) {
        CancelKeys deps = m;
        deps.keys.clear();
        for (TaskId d : ts.dependents) deps.keys.push_back(s.key(d));
        DASKCPP_ASSIGN_OR_RETURN(Effects sub, stimulus_cancel(s, deps, stim));
        out.append(std::move(sub));
        if (!s.task(*id).alive) continue;
      }
      cancelled.push_back(k);
    }
    if (m.force) {
      for (ClientId c : s.task(*id).who_wants) add_once(clients, c);
    } else {
      add_once(clients, *cid);
    }
  }
  for (ClientId c : clients) {
    DASKCPP_RETURN_NOT_OK(client_releases_keys_and_transition(
        s, c, known_task_ids(s, cancelled), stim, out));
  }
  out.to_clients.push_back(CancelledKeysMsg{kNoId<ClientId>, cancelled, m.reason, m.msg});
  return out;
}

Result<Effects> report_on_key(SchedulerState& s, const ReportKey& m, const Stimulus&) {
  Effects out;
  ClientId cid = s.ensure_client(m.client);
  if (auto id = s.find_task(m.key)) {
    report_on_key(s, *id, cid, out);
  } else {
    out.to_clients.push_back(CancelledKeysMsg{cid, {m.key}, "", ""});
  }
  return out;
}

}  // namespace daskcpp::scheduler
