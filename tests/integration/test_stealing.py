"""Work stealing under the stock and the daskcpp scheduler (issue 12).

Two 1-thread workers A and B. A task blocked on a gate holds A's only thread;
quick tasks placed behind it on A (by a loose `workers=[A]` restriction, or by
data locality: their input was scattered to A) would wait for it. With stealing
the scheduler asks A for them (steal-request), A lets them go (steal-response
"ready") and they run on B while A is still blocked. With
`distributed.scheduler.work-stealing: False` they stay on A and run only once the
gate opens.

Parametrized over the scheduler kind and the worker kinds: stock workers, daskcpp
workers, and a daskcpp victim next to a stock thief (the steal-response comes
from our worker, the compute-task goes to stock's).
"""

from __future__ import annotations

import time
import pytest
from distributed import get_worker, wait

from tasks import gated_identity

pytestmark = pytest.mark.daskcpp_ready

# Not more than 2 x the cluster's threads: a bigger group of tasks with one small
# dependency would be root-ish and queued on the scheduler instead of placed on A.
N_QUICK = 4


def quick(i, data=None):
    # Long enough that a measured duration keeps the task worth stealing when its
    # input has to move (stock stops stealing tasks whose transfer costs > 256x).
    time.sleep(0.05)
    return i, get_worker().address


def stealing_metrics(dask_scheduler):
    ext = dask_scheduler.extensions["stealing"]
    return ext.count, sum(ext.metrics["request_count_total"].values())


def has_stealing(dask_scheduler):
    return "stealing" in dask_scheduler.extensions


def start(worker_cluster, kinds):
    for name, kind in zip(("a", "b"), kinds):
        if kind == "stock":
            worker_cluster.add_stock_worker(name, nthreads=1)
        else:
            worker_cluster.add_daskcpp_worker(name, nthreads=1)
    client = worker_cluster.client(2)
    by_name = {w["name"]: addr for addr, w in client.scheduler_info()["workers"].items()}
    return client, by_name["a"], by_name["b"]


def pile_onto_a(client, a, placement, gate, started):
    """Blocks A's thread, then places N_QUICK quick tasks behind it on A."""
    if placement == "restriction":
        where = dict(workers=[a], allow_other_workers=True)
        data = None
    else:
        where = {}
        [data] = client.scatter([b"x" * 1000], workers=[a])
    blocker = client.submit(gated_identity, "blocker", str(gate), str(started),
                            workers=[a], allow_other_workers=True, pure=False)
    deadline = time.monotonic() + 30
    while not (started / "started-blocker").exists():
        assert time.monotonic() < deadline, "the blocker never started"
        time.sleep(0.01)
    quicks = [client.submit(quick, i, data, pure=False, **where) for i in range(N_QUICK)]
    return blocker, quicks


WORKER_KINDS = [("stock", "stock"), ("daskcpp", "daskcpp"), ("daskcpp", "stock")]
KIND_IDS = ["stock-workers", "daskcpp-workers", "daskcpp-victim-stock-thief"]


def check_stolen(client, a, b, placement, gate, started):
    blocker, quicks = pile_onto_a(client, a, placement, gate, started)
    # Stealing runs every work-stealing-interval (1 s); A stays blocked.
    wait(quicks, timeout=20)
    assert client.gather(quicks) == [(i, b) for i in range(N_QUICK)]
    assert blocker.status == "pending"
    gate.open()
    assert blocker.result(timeout=20) == "blocker"
    # The scheduler's event log shows the handshake.
    events = client.get_events("stealing")
    confirmed = [e for _, e in events if e[0] == "confirm"]
    assert {e[1] for e in confirmed} == {q.key for q in quicks}
    assert all(e[3] == a and e[4] == b for e in confirmed)
    # extensions["stealing"] agrees: one counted pass per "request" event.
    passes = [e[1] for _, e in events if e[0] == "request"]
    assert client.run_on_scheduler(stealing_metrics) == (len(passes), sum(map(len, passes)))


@pytest.mark.parametrize("placement", ["restriction", "locality"])
@pytest.mark.parametrize("kinds", WORKER_KINDS, ids=KIND_IDS)
def test_quick_tasks_behind_a_blocked_worker_are_stolen(worker_cluster, tmp_path, gate,
                                                        kinds, placement):
    started = tmp_path / "started"
    started.mkdir()
    client, a, b = start(worker_cluster, kinds)
    with client:
        check_stolen(client, a, b, placement, gate, started)


@pytest.fixture
def configured_cluster(tmp_path, request, scheduler_kind):
    """`configured_cluster(env)`: a WorkerCluster whose scheduler gets `env`."""
    from cluster import WorkerCluster

    clusters = []

    def make(env):
        cluster = WorkerCluster(tmp_path, scheduler_kind, env=env)
        clusters.append(cluster)
        return cluster

    yield make
    failed = getattr(request.node, "rep_call", None)
    for cluster in clusters:
        if failed is not None and failed.failed:
            print(cluster.logs())
        cluster.close()


def test_stealing_with_worker_saturation_inf(configured_cluster, tmp_path, gate):
    """Without scheduler-side queuing (worker-saturation: inf) stealing works the same."""
    started = tmp_path / "started"
    started.mkdir()
    cluster = configured_cluster({"DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "inf"})
    client, a, b = start(cluster, ("stock", "daskcpp"))
    with client:
        check_stolen(client, a, b, "locality", gate, started)


@pytest.mark.parametrize("placement", ["restriction", "locality"])
def test_stealing_disabled_by_config_leaves_placement_unchanged(configured_cluster,
                                                                tmp_path, gate, placement):
    started = tmp_path / "started"
    started.mkdir()
    cluster = configured_cluster({"DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING": "False"})
    client, a, b = start(cluster, ("stock", "stock"))
    with client:
        blocker, quicks = pile_onto_a(client, a, placement, gate, started)
        # Three stealing intervals: nothing moves, everything waits behind the blocker.
        time.sleep(3)
        assert [q.status for q in quicks] == ["pending"] * N_QUICK
        processing = client.processing()
        assert set(processing[a]) == {blocker.key} | {q.key for q in quicks}
        assert list(processing[b]) == []
        gate.open()
        wait(quicks, timeout=20)
        assert client.gather(quicks) == [(i, a) for i in range(N_QUICK)]
        assert not client.get_events("stealing")
        assert client.run_on_scheduler(has_stealing) is False
