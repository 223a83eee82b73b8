#include "scheduler/transitions/stimuli.hpp"

#include "scheduler/transitions/client_membership.hpp"
#include "scheduler/transitions/graph_intake.hpp"
#include "scheduler/transitions/task_results.hpp"
#include "scheduler/transitions/worker_membership.hpp"
#include "scheduler/transitions/worker_replicas.hpp"

namespace daskcpp::scheduler {

namespace {

// Event type → upstream handler: the whole dispatch table in one place.
struct Dispatch {
  SchedulerState& s;
  const Stimulus& stim;

  using R = Result<Effects>;
  R operator()(const UpdateGraph& e) const { return update_graph(s, e, stim); }
  R operator()(const TaskFinished& e) const { return stimulus_task_finished(s, e, stim); }
  R operator()(const TaskErred& e) const { return stimulus_task_erred(s, e, stim); }
  R operator()(const LongRunning& e) const { return handle_long_running(s, e, stim); }
  R operator()(const Reschedule& e) const { return reschedule(s, e, stim); }
  R operator()(const Retry& e) const { return stimulus_retry(s, e, stim); }
  R operator()(const ReleaseWorkerData& e) const {
    return release_worker_data(s, e, stim);
  }
  R operator()(const AddKeys& e) const { return add_keys(s, e, stim); }
  R operator()(const RequestRefreshWhoHas& e) const {
    return handle_request_refresh_who_has(s, e, stim);
  }
  R operator()(const UpdateData& e) const { return update_data(s, e, stim); }
  R operator()(const AddWorker& e) const { return add_worker(s, e, stim); }
  R operator()(const WorkerStatusChange& e) const {
    return handle_worker_status_change(s, e, stim);
  }
  R operator()(const RemoveWorker& e) const { return remove_worker(s, e, stim); }
  R operator()(const AddClient& e) const { return add_client(s, e, stim); }
  R operator()(const RemoveClient& e) const { return remove_client(s, e, stim); }
  R operator()(const ClientDesiresKeys& e) const {
    return client_desires_keys(s, e, stim);
  }
  R operator()(const ClientReleasesKeys& e) const {
    return client_releases_keys(s, e, stim);
  }
  R operator()(const CancelKeys& e) const { return stimulus_cancel(s, e, stim); }
  R operator()(const ReportKey& e) const { return report_on_key(s, e, stim); }
};

}  // namespace

Result<Effects> handle(SchedulerState& s, const SchedulerEvent& event,
                       const Stimulus& stim) {
  return std::visit(Dispatch{s, stim}, event);
}

Result<Effects> handle(SchedulerState& s, const UpdateGraph& event,
                       const Stimulus& stim) {
  return update_graph(s, event, stim);
}

}  // namespace daskcpp::scheduler
