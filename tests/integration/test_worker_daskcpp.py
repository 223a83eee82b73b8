"""daskcpp-worker against the STOCK scheduler and an unmodified Client.

Scenarios: our worker alone (submit/map/gather, delayed, dask.array), a mixed
cluster (one stock `dask worker --no-nanny` + one daskcpp-worker) where pinned
tasks force transfers in both directions, task errors reaching the client as the
original exception, and shutdown on SIGTERM / on the scheduler's close.

The binary is ``$DASKCPP_BUILD_DIR/worker/daskcpp-worker``, else the first of
build/release, build/debug that has one; without it these tests are skipped (they
fail if DASKCPP_BUILD_DIR is set and the binary is missing).
"""

from __future__ import annotations

import json
import os
import signal
from operator import add
from pathlib import Path

import numpy as np
import pytest

from cluster import DASK_CLI, REPO_ROOT, TESTS_DIR, ManagedProcess, wait_for

START_TIMEOUT_S = 30.0


def daskcpp_worker_binary() -> Path | None:
    build_dir = os.environ.get("DASKCPP_BUILD_DIR")
    if build_dir:
        return Path(build_dir).resolve() / "worker" / "daskcpp-worker"
    for name in ("release", "debug"):
        path = REPO_ROOT / "build" / name / "worker" / "daskcpp-worker"
        if path.is_file():
            return path
    return None


def _binary_or_skip() -> Path:
    binary = daskcpp_worker_binary()
    if binary is None:
        pytest.skip("daskcpp-worker not built (set DASKCPP_BUILD_DIR)")
    assert binary.is_file(), f"{binary} does not exist"
    return binary


class StockSchedulerCluster:
    """A stock `dask scheduler` plus workers we add; everything killed at close."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.scheduler_file = tmp_path / "scheduler.json"
        self.procs: list[ManagedProcess] = []
        self.scheduler = self._spawn(
            "scheduler",
            [str(DASK_CLI), "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(self.scheduler_file)],
        )
        wait_for(lambda: json.loads(self.scheduler_file.read_text())["address"],
                 START_TIMEOUT_S, "scheduler file", proc=self.scheduler)
        self.address = json.loads(self.scheduler_file.read_text())["address"]

    def _spawn(self, name: str, argv: list[str]) -> ManagedProcess:
        # Every process imports this module's functions by reference, as user code.
        python_path = os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))
        proc = ManagedProcess(name, argv, self.tmp_path / f"{name}.log",
                              env={"PYTHONPATH": python_path})
        self.procs.append(proc)
        return proc

    def add_daskcpp_worker(self, name: str, nthreads: int = 2) -> ManagedProcess:
        return self._spawn(
            name,
            [str(_binary_or_skip()), "--scheduler-file", str(self.scheduler_file),
             "--host", "127.0.0.1", "--nthreads", str(nthreads), "--name", name,
             "--memory-limit", "2GB", "--no-nanny", "--death-timeout", "20"],
        )

    def add_stock_worker(self, name: str, nthreads: int = 1) -> ManagedProcess:
        return self._spawn(
            name,
            [str(DASK_CLI), "worker", "--scheduler-file", str(self.scheduler_file),
             "--host", "127.0.0.1", "--nthreads", str(nthreads), "--name", name,
             "--no-nanny", "--no-dashboard"],
        )

    def logs(self) -> str:
        return "\n".join(f"==== {p.describe()}\n{p.log_text(80)}" for p in self.procs)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop(timeout=5)


@pytest.fixture
def stock_cluster(tmp_path, request):
    cluster = StockSchedulerCluster(tmp_path)
    yield cluster
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        print(cluster.logs())
    cluster.close()


def _client(cluster: StockSchedulerCluster, n_workers: int):
    from distributed import Client

    client = Client(cluster.address, timeout=START_TIMEOUT_S)
    client.wait_for_workers(n_workers, timeout=START_TIMEOUT_S)
    return client


def _addresses_by_name(client) -> dict[str, str]:
    return {w["name"]: addr for addr, w in client.scheduler_info()["workers"].items()}


def inc(x):
    return x + 1


class CustomError(Exception):
    pass


def fail(x):
    raise CustomError(f"bad value {x}")


def test_daskcpp_worker_alone(stock_cluster):
    import dask
    import dask.array as da

    stock_cluster.add_daskcpp_worker("cpp")
    with _client(stock_cluster, 1) as client:
        assert list(_addresses_by_name(client)) == ["cpp"]
        assert client.submit(inc, 41).result() == 42
        futures = client.map(inc, range(100))
        assert client.gather(futures) == list(range(1, 101))
        total = client.submit(sum, futures)
        assert total.result() == sum(range(1, 101))

        @dask.delayed
        def mul(a, b):
            return a * b

        value = dask.delayed(add)(mul(3, 4), mul(5, 6))
        assert value.compute() == 42

        x = da.arange(100_000, chunks=10_000)
        assert int(x.sum().compute()) == sum(range(100_000))
        y = da.ones((400, 400), chunks=(100, 100))
        assert float((y + y.T).sum().compute()) == 320_000.0


def test_mixed_cluster_transfers_both_ways(stock_cluster):
    stock_cluster.add_stock_worker("stock")
    stock_cluster.add_daskcpp_worker("cpp")
    with _client(stock_cluster, 2) as client:
        names = _addresses_by_name(client)
        stock, cpp = names["stock"], names["cpp"]
        a = client.submit(np.arange, 10_000, workers=[stock], key="a")
        b = client.submit(lambda: {"x": [1, 2, 3]}, workers=[cpp], key="b")
        c = client.submit(lambda: 7, workers=[cpp], key="c")
        # numpy array stock -> cpp, dict cpp -> stock, int cpp -> stock
        on_cpp = client.submit(lambda arr, d: int(arr.sum()) + sum(d["x"]), a, b,
                               workers=[cpp], allow_other_workers=False, key="on_cpp")
        on_stock = client.submit(lambda arr, d, k: int(arr[-1]) + len(d) + k, a, b, c,
                                 workers=[stock], allow_other_workers=False,
                                 key="on_stock")
        assert on_cpp.result() == sum(range(10_000)) + 6
        assert on_stock.result() == 9_999 + 1 + 7
        who_has = client.who_has([a, b, c])
        assert set(who_has["a"]) == {stock, cpp}
        assert set(who_has["b"]) == {stock, cpp}
        assert set(who_has["c"]) == {stock, cpp}
        # Gathering straight from our worker (client-side get_data) and via the
        # scheduler: both read our serialization.
        arr = client.gather(a, direct=True)
        assert isinstance(arr, np.ndarray) and arr.tolist() == list(range(10_000))
        assert client.gather(b, direct=False) == {"x": [1, 2, 3]}
        cpp_only = client.submit(np.full, 3, 2.5, workers=[cpp], key="cpp_only")
        assert client.gather(cpp_only, direct=True).tolist() == [2.5, 2.5, 2.5]
        assert client.gather(cpp_only, direct=False).tolist() == [2.5, 2.5, 2.5]


def test_map_reduce_over_mixed_cluster(stock_cluster):
    import dask.array as da

    stock_cluster.add_stock_worker("stock")
    stock_cluster.add_daskcpp_worker("cpp")
    with _client(stock_cluster, 2) as client:
        x = da.arange(40_000, chunks=2_000).reshape(200, 200)
        expected = (np.arange(40_000).reshape(200, 200) * 2).sum(axis=0)
        result = (x * 2).sum(axis=0).compute()
        assert result.tolist() == expected.tolist()
        total = client.submit(sum, client.map(inc, range(200))).result()
        assert total == sum(range(1, 201))


def test_task_error_reaches_client(stock_cluster):
    stock_cluster.add_daskcpp_worker("cpp")
    with _client(stock_cluster, 1) as client:
        bad = client.submit(fail, 3)
        with pytest.raises(CustomError, match="bad value 3"):
            bad.result()
        dependent = client.submit(inc, bad)
        with pytest.raises(CustomError, match="bad value 3"):
            dependent.result()
        with pytest.raises(ZeroDivisionError):
            client.submit(lambda: 1 / 0).result()
        # The worker carries on.
        assert client.submit(inc, 1).result() == 2


def test_scatter_to_daskcpp_worker(stock_cluster):
    stock_cluster.add_daskcpp_worker("cpp")
    with _client(stock_cluster, 1) as client:
        [data] = client.scatter([np.arange(5)])
        assert client.submit(lambda v: int(v.sum()), data).result() == 10
        assert client.gather(data).tolist() == [0, 1, 2, 3, 4]


def test_sigterm_closes_cleanly(stock_cluster):
    worker = stock_cluster.add_daskcpp_worker("cpp")
    with _client(stock_cluster, 1) as client:
        assert client.submit(inc, 1).result() == 2
        worker.popen.send_signal(signal.SIGTERM)
        assert worker.popen.wait(timeout=20) == 0
        wait_for(lambda: not client.scheduler_info()["workers"], 10, "worker removed")


def test_scheduler_close_stops_worker(stock_cluster):
    worker = stock_cluster.add_daskcpp_worker("cpp")
    with _client(stock_cluster, 1) as client:
        [address] = _addresses_by_name(client).values()
        client.retire_workers([address], close_workers=True)
        assert worker.popen.wait(timeout=20) == 0
