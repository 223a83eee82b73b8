"""P2P shuffles and rechunks through the scheduler's hosted upstream
ShuffleSchedulerPlugin, with the DEFAULT config (the client picks p2p because a
distributed client exists and pyarrow imports) and 2 stock `dask worker`s, on the
stock scheduler as the reference and on daskcpp-scheduler
(docs/design/scheduler-python-side.md §5.1). Small data: each case takes seconds."""

from __future__ import annotations

import signal
import time

import numpy as np
import pandas as pd
import pytest

from cluster import wait_for

pytestmark = pytest.mark.daskcpp_ready

N = 4000


@pytest.fixture
def worker_mode():
    return "no-nanny"


@pytest.fixture
def pdf():
    return pd.DataFrame(
        {"x": np.arange(N), "k": np.arange(N) % 97, "f": np.random.default_rng(0).random(N)}
    )


@pytest.fixture
def df(pdf):
    import dask.dataframe as dd

    return dd.from_pandas(pdf, npartitions=8)


def _p2p_ran(client, prefixes=("shuffle-transfer", "hash-join-transfer", "rechunk-transfer")):
    """The P2P path really ran: the extension created runs (the transfer tasks ask
    for them), and nothing is left behind once the results are gone."""
    return client.run_on_scheduler(
        lambda dask_scheduler: len(dask_scheduler.extensions["shuffle"]._shuffles)
    )


def _extension_state(client):
    return client.run_on_scheduler(
        lambda dask_scheduler: (
            len(dask_scheduler.extensions["shuffle"].active_shuffles),
            dict(dask_scheduler.extensions["shuffle"]._shuffles),
            dict(dask_scheduler.extensions["shuffle"]._archived_by_stimulus),
        )
    )


def _settled(client):
    wait_for(lambda: _extension_state(client) == (0, {}, {}), 10, "shuffle extension cleanup")


def test_shuffle(client, df):
    shuffled = df.shuffle("k")
    f = client.compute(shuffled)
    out = f.result()
    assert _p2p_ran(client) >= 1
    assert sorted(out.x) == list(range(N))
    del f
    parts = shuffled.map_partitions(lambda p: pd.Series([frozenset(p.k)])).compute()
    seen = set()
    for ks in parts:
        assert not (ks & seen)
        seen |= ks
    _settled(client)


def test_merge_hash(client, df, pdf):
    import dask.dataframe as dd

    b_pdf = pdf.rename(columns={"x": "y"}).sample(frac=1, random_state=1)
    b = dd.from_pandas(b_pdf, npartitions=7)
    got = dd.merge(df, b, on="k", shuffle_method="p2p").compute()
    expected = pdf.merge(b_pdf, on="k")
    cols = sorted(expected.columns)
    pd.testing.assert_frame_equal(
        got[cols].sort_values(["x", "y"]).reset_index(drop=True),
        expected[cols].sort_values(["x", "y"]).reset_index(drop=True),
    )
    _settled(client)


def test_set_index(client, df, pdf):
    out = df.set_index("f")
    got = out.compute()
    assert got.index.tolist() == pdf.set_index("f").sort_index().index.tolist()
    divisions = list(out.divisions)
    assert divisions == sorted(divisions)
    _settled(client)


def test_sort_values(client, df, pdf):
    assert df.sort_values("f").compute().x.tolist() == pdf.sort_values("f").x.tolist()
    _settled(client)


def test_groupby_split_out(client, df, pdf):
    got = df.groupby("k").x.sum(split_out=4).compute().sort_index()
    pd.testing.assert_series_equal(got, pdf.groupby("k").x.sum())
    _settled(client)


def test_rechunk_p2p(client):
    import dask.array as da

    x = da.random.default_rng(0).random((400, 400), chunks=(400, 10))
    y = x.rechunk((10, 400), method="p2p")
    assert y.chunks == ((10,) * 40, (400,))
    assert np.array_equal(y.compute(), x.compute())
    _settled(client)


def test_two_concurrent_shuffles(client, df):
    import dask

    a, b = dask.compute(df.shuffle("k"), df.shuffle("x"))
    assert sorted(a.x) == list(range(N))
    assert sorted(b.x) == list(range(N))
    _settled(client)


def _fail_on_third(p):
    if len(p) and p.x.iloc[0] == 0:
        raise ValueError("input failed on purpose")
    return p


def test_error_before_p2p(client, df):
    with pytest.raises(ValueError, match="input failed on purpose"):
        df.map_partitions(_fail_on_third).shuffle("k").compute()
    assert client.get_events("p2p") == ()
    _settled(client)


def _slow(p, d):
    time.sleep(d)
    return p


def test_worker_killed_mid_shuffle(cluster_factory, pdf):
    import dask.dataframe as dd
    from distributed import Client

    cluster = cluster_factory(n_workers=3, nanny=False)
    with Client(cluster.address, timeout=15) as client:
        df = dd.from_pandas(pdf, npartitions=8).map_partitions(_slow, 0.3)
        f = client.compute(df.shuffle("k"))

        def participating():
            return client.run_on_scheduler(
                lambda dask_scheduler: [
                    sorted(s.participating_workers)
                    for s in dask_scheduler.extensions["shuffle"].active_shuffles.values()
                ]
            )

        workers = wait_for(participating, 30, "an active shuffle")[0]
        victim = next(p for p in cluster.workers if _address_of(cluster, p) in workers)
        victim.kill(signal.SIGKILL)
        out = f.result(timeout=60)
        assert sorted(out.x) == list(range(N))
        runs = client.run_on_scheduler(
            lambda dask_scheduler: {
                k: len(v) for k, v in dask_scheduler.extensions["shuffle"]._shuffles.items()
            }
        )
        assert runs and max(runs.values()) >= 2
        if cluster.kind == "daskcpp":
            assert "restarted due to stimulus" in cluster.scheduler.log()


def _address_of(cluster, proc):
    for name in [f"w{i}" for i in range(10)]:
        try:
            if cluster.worker_process(name) is proc:
                return cluster.worker_address(name)
        except Exception:  # noqa: BLE001 - not that worker
            continue
    return None
