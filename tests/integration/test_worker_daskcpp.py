"""daskcpp-worker against both schedulers (stock and daskcpp) and an unmodified Client.

Scenarios: our worker alone (submit/map/gather, delayed, dask.array), a mixed
cluster (one stock `dask worker --no-nanny` + one daskcpp-worker) where pinned
tasks force transfers in both directions, task errors reaching the client as the
original exception, a 100 MB chunk moved in both directions, a daskcpp-worker
SIGKILLed mid-graph (the stock worker finishes it), a failure of the Python bridge
itself erring the task, and shutdown on SIGTERM / on the scheduler's close. Every
scenario runs under both schedulers (stock and daskcpp-scheduler).

The binary is ``$DASKCPP_BUILD_DIR/worker/daskcpp-worker``, else the first of
build/release, build/debug that has one; without it these tests are skipped (they
fail if DASKCPP_BUILD_DIR is set and the binary is missing).
"""

from __future__ import annotations

import signal
from operator import add

import numpy as np
import pytest

from cluster import wait_for

# Every scenario runs under both schedulers (conftest's scheduler_kind).
pytestmark = pytest.mark.daskcpp_ready

# The options every daskcpp-worker here runs with (also test_worker_tasks_client.py).
CPP_WORKER_ARGS = ("--memory-limit", "2GB", "--death-timeout", "20")


def _addresses_by_name(client) -> dict[str, str]:
    return {w["name"]: addr for addr, w in client.scheduler_info()["workers"].items()}


def inc(x):
    return x + 1


class CustomError(Exception):
    pass


def fail(x):
    raise CustomError(f"bad value {x}")


def test_daskcpp_worker_alone(worker_cluster):
    import dask
    import dask.array as da

    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS)
    with worker_cluster.client(1) as client:
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


def test_mixed_cluster_transfers_both_ways(worker_cluster):
    worker_cluster.add_stock_worker("stock")
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS)
    with worker_cluster.client(2) as client:
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


def test_map_reduce_over_mixed_cluster(worker_cluster):
    import dask.array as da

    worker_cluster.add_stock_worker("stock")
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS)
    with worker_cluster.client(2) as client:
        x = da.arange(40_000, chunks=2_000).reshape(200, 200)
        expected = (np.arange(40_000).reshape(200, 200) * 2).sum(axis=0)
        result = (x * 2).sum(axis=0).compute()
        assert result.tolist() == expected.tolist()
        total = client.submit(sum, client.map(inc, range(200))).result()
        assert total == sum(range(1, 201))


def test_task_error_reaches_client(worker_cluster):
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS)
    with worker_cluster.client(1) as client:
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


def test_scatter_to_daskcpp_worker(worker_cluster):
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS)
    with worker_cluster.client(1) as client:
        [data] = client.scatter([np.arange(5)])
        assert client.submit(lambda v: int(v.sum()), data).result() == 10
        assert client.gather(data).tolist() == [0, 1, 2, 3, 4]


def test_sigterm_closes_cleanly(worker_cluster):
    worker = worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS)
    with worker_cluster.client(1) as client:
        assert client.submit(inc, 1).result() == 2
        worker.popen.send_signal(signal.SIGTERM)
        assert worker.popen.wait(timeout=20) == 0
        wait_for(lambda: not client.scheduler_info()["workers"], 10, "worker removed")


def test_scheduler_close_stops_worker(worker_cluster, scheduler_kind):
    worker = worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS)
    with worker_cluster.client(1) as client:
        [address] = _addresses_by_name(client).values()
        client.retire_workers([address], close_workers=True)
        assert worker.popen.wait(timeout=20) == 0


BIG_N = 12_500_000  # int64 -> 100 MB in one chunk


def _big_chunk(offset):
    return np.arange(BIG_N, dtype=np.int64) + offset


def _check_big(arr, offset):
    # Exact: every element, then the dtype/shape, reported as a tuple.
    ok = bool(np.array_equal(arr, np.arange(BIG_N, dtype=np.int64) + offset))
    return ok, str(arr.dtype), arr.shape, int(arr.sum())


def test_100mb_chunk_moves_both_ways(worker_cluster):
    worker_cluster.add_stock_worker("stock")
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS)
    with worker_cluster.client(2) as client:
        names = _addresses_by_name(client)
        stock, cpp = names["stock"], names["cpp"]
        from_stock = client.submit(_big_chunk, 1, workers=[stock], key="big-stock")
        from_cpp = client.submit(_big_chunk, 2, workers=[cpp], key="big-cpp")
        on_cpp = client.submit(_check_big, from_stock, 1, workers=[cpp],
                               allow_other_workers=False, key="check-on-cpp")
        on_stock = client.submit(_check_big, from_cpp, 2, workers=[stock],
                                 allow_other_workers=False, key="check-on-stock")
        base = BIG_N * (BIG_N - 1) // 2
        assert on_cpp.result() == (True, "int64", (BIG_N,), base + BIG_N)
        assert on_stock.result() == (True, "int64", (BIG_N,), base + 2 * BIG_N)
        # The receiving worker reports its replica asynchronously (add-keys).
        both = {stock, cpp}
        wait_for(lambda: all(set(v) == both for v in client.who_has([from_stock, from_cpp]).values()),
                 10, "both 100 MB replicas in who_has")


def _slow_inc(x):
    import time

    time.sleep(0.05)
    return x + 1


def test_daskcpp_worker_sigkilled_mid_graph(worker_cluster):
    worker_cluster.add_stock_worker("stock")
    cpp_proc = worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS)
    with worker_cluster.client(2) as client:
        cpp = _addresses_by_name(client)["cpp"]
        layer = client.map(_slow_inc, range(200), key=[f"inc-{i}" for i in range(200)])
        total = client.submit(sum, layer, key="total")
        # Kill only once our worker holds results the graph still needs.
        wait_for(lambda: client.has_what().get(cpp), 30, "results on the daskcpp worker")
        cpp_proc.kill(signal.SIGKILL)
        assert total.result(timeout=60) == sum(range(1, 201))
        assert list(_addresses_by_name(client)) == ["stock"]
        assert set(client.who_has([total])["total"]) == {_addresses_by_name(client)["stock"]}


def _raise_keyboard_interrupt():
    raise KeyboardInterrupt("from the task")


def test_bridge_failure_errs_the_task(worker_cluster):
    # The Python bridge re-raises KeyboardInterrupt instead of reporting it as the
    # task's exception: a failure of the bridge itself, which must still err the
    # task (not leave it processing forever). daskcpp-worker only.
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS)
    with worker_cluster.client(1) as client:
        bad = client.submit(_raise_keyboard_interrupt, key="bridge-fails")
        with pytest.raises(RuntimeError, match="daskcpp-worker could not run the task"):
            bad.result(timeout=30)
        assert client.submit(inc, 1).result() == 2
