"""Tasks that talk to the cluster, `Client.run` and worker plugins on daskcpp-worker.

Unmodified user code calls the upstream helpers inside tasks run by daskcpp-worker:
``get_client()`` + submit/gather, ``secede()``/``rejoin()``, ``worker_client()``
(a fib-style recursion on a one-thread worker, which deadlocks unless the thread
secedes and the scheduler hears ``long-running``), ``get_worker()``. ``Client.run``
(plain, with ``dask_worker``, ``async def``, raising) and
``Client.register_plugin(WorkerPlugin)`` run in the worker's embedded interpreter.
Scenarios run alone and in a mixed cluster with a stock worker, under both
schedulers.
"""

from __future__ import annotations

import asyncio

import pytest
from distributed import WorkerPlugin, get_client, get_worker, rejoin, secede, worker_client

from cluster import wait_for
from test_worker_daskcpp import CPP_WORKER_ARGS, _addresses_by_name

daskcpp_ready = pytest.mark.daskcpp_ready


def inc(x):
    return x + 1


class RunError(Exception):
    pass


def sum_of_incs(n):
    client = get_client()
    futures = client.map(inc, range(n))
    secede()
    total = sum(client.gather(futures))
    rejoin()
    return total


def fib(n):
    if n < 2:
        return n
    with worker_client() as client:
        a = client.submit(fib, n - 1)
        b = client.submit(fib, n - 2)
        return a.result() + b.result()


def whoami():
    worker = get_worker()
    return {
        "address": worker.address,
        "name": worker.name,
        "scheduler": worker.scheduler.address,
        "nthreads": worker.nthreads,
        "task": worker.get_current_task(),
    }


def worker_name(dask_worker):
    return dask_worker.name


def add_run(a, b=0):
    return a + b


async def async_name(dask_worker):
    await asyncio.sleep(0.01)
    return "async-" + str(dask_worker.name)


def raise_run():
    raise RunError("raised in run")


def plugin_state(dask_worker):
    return getattr(dask_worker, "_test_plugin_state", None)


class MarkPlugin(WorkerPlugin):
    name = "mark"

    def __init__(self, value):
        self.value = value

    def setup(self, worker):
        worker._test_plugin_state = ("setup", self.value, worker.address)

    def teardown(self, worker):
        worker._test_plugin_state = ("teardown", self.value)


class FailingPlugin(WorkerPlugin):
    name = "failing"

    def setup(self, worker):
        raise RunError("plugin setup failed")


@daskcpp_ready
def test_task_get_client_secede_rejoin(worker_cluster):
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS, nthreads=1)
    with worker_cluster.client(1) as client:
        assert client.submit(sum_of_incs, 10, key="outer").result(timeout=45) == 55
        # The worker's thread count is back to one: plain tasks still run.
        assert client.gather(client.map(inc, range(5))) == [1, 2, 3, 4, 5]


@daskcpp_ready
def test_worker_client_recursion_on_one_thread(worker_cluster):
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS, nthreads=1)
    with worker_cluster.client(1) as client:
        # fib(6) nests worker_client five deep; without secede (and the scheduler
        # learning `long-running`) the single thread would deadlock.
        assert client.submit(fib, 6).result(timeout=50) == 8


@daskcpp_ready
def test_get_worker_inside_task(worker_cluster):
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS, nthreads=2)
    with worker_cluster.client(1) as client:
        address = _addresses_by_name(client)["cpp"]
        info = client.submit(whoami, key=("who", 1)).result()
        assert info == {
            "address": address,
            "name": "cpp",
            "scheduler": worker_cluster.address,
            "nthreads": 2,
            "task": ("who", 1),
        }


@daskcpp_ready
def test_client_run(worker_cluster):
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS)
    with worker_cluster.client(1) as client:
        address = _addresses_by_name(client)["cpp"]
        assert client.run(add_run, 40, b=2) == {address: 42}
        assert client.run(worker_name) == {address: "cpp"}
        assert client.run(async_name) == {address: "async-cpp"}
        assert client.run(async_name, wait=False) is None
        with pytest.raises(RunError, match="raised in run"):
            client.run(raise_run)
        returned = client.run(raise_run, on_error="return")
        assert list(returned) == [address]
        assert isinstance(returned[address], RunError)
        assert str(returned[address]) == "raised in run"


@daskcpp_ready
def test_worker_plugin(worker_cluster):
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS)
    with worker_cluster.client(1) as client:
        address = _addresses_by_name(client)["cpp"]
        assert client.run(plugin_state) == {address: None}
        client.register_plugin(MarkPlugin(1))
        assert client.run(plugin_state) == {address: ("setup", 1, address)}
        # Same name again: the old one is torn down, the new one set up.
        client.register_plugin(MarkPlugin(2))
        assert client.run(plugin_state) == {address: ("setup", 2, address)}
        client.unregister_worker_plugin("mark")
        assert client.run(plugin_state) == {address: ("teardown", 2)}
        with pytest.raises(RunError, match="plugin setup failed"):
            client.register_plugin(FailingPlugin())


@daskcpp_ready
def test_plugin_reaches_worker_started_later(worker_cluster):
    from distributed import Client

    with Client(worker_cluster.address, timeout=30) as client:
        client.register_plugin(MarkPlugin(7))
        worker_cluster.add_daskcpp_worker("late", *CPP_WORKER_ARGS)
        client.wait_for_workers(1, timeout=30)
        address = _addresses_by_name(client)["late"]

        def plugin_is_set_up():
            return client.run(plugin_state) == {address: ("setup", 7, address)}

        wait_for(plugin_is_set_up, timeout=30, what="plugin set up on the late worker")


@daskcpp_ready
def test_mixed_cluster(worker_cluster):
    worker_cluster.add_stock_worker("stock", nthreads=1)
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS, nthreads=1)
    with worker_cluster.client(2) as client:
        names = _addresses_by_name(client)
        stock, cpp = names["stock"], names["cpp"]
        assert client.run(worker_name) == {stock: "stock", cpp: "cpp"}
        # The recursion's subtasks land on both workers and both secede.
        assert client.submit(fib, 6, workers=[cpp]).result(timeout=50) == 8
        assert client.submit(sum_of_incs, 20, workers=[cpp]).result(timeout=45) == 210
        assert client.submit(whoami, workers=[cpp]).result()["address"] == cpp


@daskcpp_ready
def test_mixed_cluster_plugin(worker_cluster):
    worker_cluster.add_stock_worker("stock", nthreads=1)
    worker_cluster.add_daskcpp_worker("cpp", *CPP_WORKER_ARGS, nthreads=1)
    with worker_cluster.client(2) as client:
        names = _addresses_by_name(client)
        stock, cpp = names["stock"], names["cpp"]
        client.register_plugin(MarkPlugin(3))
        assert client.run(plugin_state) == {stock: ("setup", 3, stock),
                                            cpp: ("setup", 3, cpp)}
