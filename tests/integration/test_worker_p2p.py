"""P2P shuffle and rechunk on daskcpp-worker (issue 10, worker side).

The scheduler's ShuffleSchedulerPlugin registers ShuffleWorkerPlugin on every worker;
daskcpp-worker runs it in its embedded interpreter: the plugin's RPC handlers
(shuffle_receive, shuffle_inputs_done) and stream handler (shuffle-fail) are served
through the facade, output tasks that belong elsewhere raise Reschedule and go back to
the scheduler as `reschedule`. Each program's result is compared exactly with pandas /
numpy computed here, and the task stream must show the P2P transfer tasks, so that a
silent fallback to the tasks shuffle cannot pass.

Worker mixes: two daskcpp-workers, and one stock + one daskcpp-worker (shards cross
between the two implementations both ways); each on the stock scheduler and on
daskcpp-scheduler, which hosts upstream's ShuffleSchedulerPlugin on its facade.
"""

from __future__ import annotations

from pathlib import Path

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import get_task_stream

from cluster import wait_for
from test_worker_daskcpp import CPP_WORKER_ARGS, _addresses_by_name

pytestmark = pytest.mark.daskcpp_ready

P2P = {"dataframe.shuffle.method": "p2p", "array.rechunk.method": "p2p"}
N = 2_000

MIXES = {
    "2cpp": ("cpp", "cpp"),
    "stock+cpp": ("stock", "cpp"),
}


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "x": np.arange(N),
        "k": np.arange(N) % 37,
        "f": np.random.default_rng(0).random(N),
    })


def _start(worker_cluster, mix: str) -> None:
    for i, kind in enumerate(MIXES[mix]):
        if kind == "cpp":
            worker_cluster.add_daskcpp_worker(f"cpp{i}", *CPP_WORKER_ARGS, nthreads=2)
        else:
            worker_cluster.add_stock_worker(f"stock{i}", nthreads=2)


def _prefixes(task_stream) -> set[str]:
    prefixes = set()
    for record in task_stream:
        key = record["key"]
        name = key[0] if isinstance(key, tuple) else key
        prefixes.add(name.rsplit("-", 1)[0])
    return prefixes


def _assert_p2p_ran(task_stream, transfer: str) -> None:
    prefixes = _prefixes(task_stream)
    assert any(p.startswith(transfer) for p in prefixes), sorted(prefixes)


def _reschedules(client) -> int:
    """Transitions the stock scheduler made on a worker's `reschedule` (output tasks
    first placed on a worker that is not theirs, upstream _ensure_output_worker)."""
    return client.run_on_scheduler(lambda dask_scheduler: sum(
        1 for t in dask_scheduler.transition_log
        if str(t[4]).startswith("reschedule")))


def _cpp_addresses(client) -> list[str]:
    return [a for n, a in _addresses_by_name(client).items() if n.startswith("cpp")]


def _ran_on_both_workers(task_stream, client) -> bool:
    return len({r["worker"] for r in task_stream}) == len(client.scheduler_info()["workers"])


@pytest.fixture(params=sorted(MIXES))
def p2p_client(request, worker_cluster):
    _start(worker_cluster, request.param)
    with worker_cluster.client(2) as client, dask.config.set(P2P):
        yield client


def test_shuffle(p2p_client):
    pdf = _frame()
    df = dd.from_pandas(pdf, npartitions=8)
    with get_task_stream(p2p_client) as ts:
        shuffled = df.shuffle("k")
        out = shuffled.compute()
        groups = shuffled.map_partitions(lambda p: pd.Series([frozenset(p.k)])).compute()
    assert sorted(out.x) == list(range(N))
    pd.testing.assert_frame_equal(
        out.sort_values("x").reset_index(drop=True), pdf)
    seen: set = set()
    for ks in groups:
        assert not (ks & seen)
        seen |= ks
    _assert_p2p_ran(ts.data, "shuffle-transfer")
    assert _ran_on_both_workers(ts.data, p2p_client)
    # Outputs all depend on the barrier, so about half start on the wrong worker,
    # raise Reschedule and are placed again.
    assert _reschedules(p2p_client) > 0


def test_merge_hash_join(p2p_client):
    pdf = _frame()
    right = pdf.rename(columns={"x": "y"}).sample(frac=1, random_state=1)
    df = dd.from_pandas(pdf, npartitions=6)
    b = dd.from_pandas(right, npartitions=5)
    with get_task_stream(p2p_client) as ts:
        out = dd.merge(df, b, on="k", shuffle_method="p2p").compute()
    expected = pdf.merge(right, on="k")
    cols = ["x", "y"]
    pd.testing.assert_frame_equal(
        out.sort_values(cols).reset_index(drop=True)[expected.columns],
        expected.sort_values(cols).reset_index(drop=True))
    _assert_p2p_ran(ts.data, "hash-join-transfer")


def test_set_index(p2p_client):
    pdf = _frame()
    df = dd.from_pandas(pdf, npartitions=8)
    with get_task_stream(p2p_client) as ts:
        indexed = df.set_index("f")
        out = indexed.compute()
    pd.testing.assert_frame_equal(out, pdf.set_index("f").sort_index())
    assert list(indexed.divisions) == sorted(indexed.divisions)
    _assert_p2p_ran(ts.data, "shuffle-transfer")


def test_groupby_split_out(p2p_client):
    pdf = _frame()
    df = dd.from_pandas(pdf, npartitions=8)
    with get_task_stream(p2p_client) as ts:
        out = df.groupby("k").x.sum(split_out=4).compute().sort_index()
    pd.testing.assert_series_equal(out, pdf.groupby("k").x.sum())
    _assert_p2p_ran(ts.data, "shuffle-transfer")


def test_rechunk_p2p(p2p_client):
    x = da.random.default_rng(0).random((200, 200), chunks=(200, 10))
    y = x.rechunk((10, 200), method="p2p")
    expected = x.compute(scheduler="sync")
    with get_task_stream(p2p_client) as ts:
        out = y.compute()
    assert y.chunks == ((10,) * 20, (200,))
    assert np.array_equal(out, expected)
    _assert_p2p_ran(ts.data, "rechunk-transfer")


def test_failed_transfer_fails_the_run_on_every_worker(p2p_client):
    """A transfer that cannot shard its input (pyarrow refuses a column of mixed
    int/str objects) fails the shuffle: the client gets the P2P RuntimeError and the
    scheduler's `shuffle-fail` stream op reaches the daskcpp-workers' plugin. The
    workers stay usable: the next shuffle succeeds."""
    pdf = _frame()
    bad = pdf.assign(v=pd.Series([i if i % 2 else str(i) for i in range(N)],
                                 dtype=object))
    with dask.config.set({"dataframe.convert-string": False}):
        df = dd.from_pandas(bad, npartitions=4)
        with pytest.raises(RuntimeError, match="failed during transfer phase"):
            df.shuffle("k").compute()

    def stale_runs(dask_worker):
        return dict(dask_worker.plugins["shuffle"].shuffle_runs._stale_run_ids)

    cpp = _cpp_addresses(p2p_client)
    wait_for(lambda: all(p2p_client.run(stale_runs, workers=cpp).values()), 10,
             "shuffle-fail handled on the daskcpp-workers")

    good = dd.from_pandas(pdf, npartitions=4).shuffle("k").compute()
    assert sorted(good.x) == list(range(N))


def test_default_config_picks_p2p(p2p_client):
    """Without configuration the client picks P2P for a distributed shuffle
    (dask/utils.py get_default_shuffle_method)."""
    pdf = _frame()
    with dask.config.set({"dataframe.shuffle.method": None}), \
            get_task_stream(p2p_client) as ts:
        out = dd.from_pandas(pdf, npartitions=4).shuffle("k").compute()
    assert sorted(out.x) == list(range(N))
    _assert_p2p_ran(ts.data, "shuffle-transfer")


def test_shuffle_with_local_directory(worker_cluster, tmp_path):
    """Given --local-directory (a folder that does not exist yet), a daskcpp-worker
    reports its own directory inside it, and the P2P disk buffers live there (the
    worker used to report the bare option, where the shuffle could not open files)."""
    space = tmp_path / "cpp-space"
    worker_cluster.add_daskcpp_worker("cpp0", *CPP_WORKER_ARGS, "--local-directory", str(space))
    worker_cluster.add_daskcpp_worker("cpp1", *CPP_WORKER_ARGS, "--local-directory", str(space))
    with worker_cluster.client(2) as client:
        dirs = client.run(lambda dask_worker: dask_worker.local_directory)
        assert sorted(Path(d).parent for d in dirs.values()) == [space, space]
        assert all(Path(d).name.startswith("daskcpp-worker-") for d in dirs.values())
        pdf = _frame()
        with dask.config.set(P2P), get_task_stream(client) as ts:
            out = dd.from_pandas(pdf, npartitions=4).shuffle("k").compute()
        assert sorted(out.x) == list(range(N))
        _assert_p2p_ran(ts.data, "shuffle-transfer")


def _slow(part, delay):
    import time

    time.sleep(delay)
    return part


def _active_participants(dask_scheduler):
    shuffles = dask_scheduler.plugins["shuffle"].active_shuffles.values()
    return [sorted(s.participating_workers) for s in shuffles]


def _shuffle_heartbeats(dask_scheduler):
    return {id: sorted(by_worker) for id, by_worker in
            dask_scheduler.plugins["shuffle"].heartbeats.items()}


def test_worker_loss_restarts_the_shuffle(worker_cluster):
    """A daskcpp-worker taking part in a shuffle is SIGKILLed: the scheduler fails
    the run on the survivors (shuffle-fail), restarts it over them with a new run
    id, and the result is still exact. While the run is active the daskcpp-workers'
    heartbeats carry the plugin's extension state."""
    import signal

    procs = {
        "cpp0": worker_cluster.add_daskcpp_worker("cpp0", *CPP_WORKER_ARGS, nthreads=2),
        "cpp1": worker_cluster.add_daskcpp_worker("cpp1", *CPP_WORKER_ARGS, nthreads=2),
    }
    worker_cluster.add_stock_worker("stock2", nthreads=2)
    pdf = _frame()
    with worker_cluster.client(3) as client, dask.config.set(P2P):
        addresses = _addresses_by_name(client)
        slow = dd.from_pandas(pdf, npartitions=12).map_partitions(_slow, 0.4)
        future = client.compute(slow.shuffle("k"))
        participants = wait_for(
            lambda: [p for p in client.run_on_scheduler(_active_participants) if p],
            30, "an active shuffle")[0]
        assert addresses["cpp1"] in participants
        wait_for(lambda: any(addresses["cpp0"] in w for w in
                             client.run_on_scheduler(_shuffle_heartbeats).values()),
                 10, "a shuffle heartbeat from the daskcpp-worker")
        procs["cpp1"].kill(signal.SIGKILL)
        out = future.result(timeout=60)
        assert sorted(out.x) == list(range(N))
        assert "cpp1" not in _addresses_by_name(client)
        # Run ids come from one process-wide counter: count the runs instead.
        runs = client.run_on_scheduler(lambda dask_scheduler: [
            len(r) for r in dask_scheduler.plugins["shuffle"]._shuffles.values()])
        assert runs and max(runs) >= 2, runs
