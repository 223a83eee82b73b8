"""Scheduler extensions a stock Client reaches through its own API:
retire_workers / workers_to_close, Variable, Queue, MultiLock, replicate,
rebalance and worker plugins.

Every test runs on both scheduler kinds with stock workers; the assertions are
what the stock scheduler answers. Tests that retire or close workers build a
private cluster (`cluster_factory`), the others share the session cluster."""

from __future__ import annotations

import threading

import pytest
from distributed import Client, MultiLock, NannyPlugin, Queue, Variable, WorkerPlugin, wait

import tasks
from cluster import wait_for

pytestmark = pytest.mark.daskcpp_ready

RESULT_TIMEOUT = 30


def _addresses_by_name(client):
    return {w["name"]: addr for addr, w in client.scheduler_info()["workers"].items()}


# ---- retire_workers -----------------------------------------------------------


def test_retire_worker_moves_unique_data_then_closes_it(cluster_factory, worker_mode):
    cluster = cluster_factory(nanny=worker_mode == "nanny", worker_names=["a", "b", "c"])
    with Client(cluster.address, timeout=15) as client:
        names = _addresses_by_name(client)
        xs = client.map(tasks.inc, range(20), workers=[names["a"]], pure=False)
        wait(xs, timeout=RESULT_TIMEOUT)
        assert {tuple(h) for h in client.who_has(xs).values()} == {(names["a"],)}

        info = client.retire_workers([names["a"]], close_workers=True)

        assert list(info) == [names["a"]]
        assert info[names["a"]]["name"] == "a"
        assert info[names["a"]]["type"] == "Worker"
        assert set(client.scheduler_info()["workers"]) == {names["b"], names["c"]}
        holders = client.who_has(xs)
        assert all(h and names["a"] not in h for h in holders.values()), holders
        assert client.gather(xs) == [i + 1 for i in range(20)]
        assert cluster.worker_process("a").wait_exit(timeout=30) == 0
        assert client.submit(tasks.add, xs[0], xs[19]).result(timeout=RESULT_TIMEOUT) == 21


def test_retire_by_names_and_by_n(cluster_factory):
    cluster = cluster_factory(worker_names=["a", "b", "c"])
    with Client(cluster.address, timeout=15) as client:
        names = _addresses_by_name(client)
        xs = [client.submit(tasks.inc, i, workers=[w], pure=False) for i, w in enumerate(sorted(names.values()))]
        wait(xs, timeout=RESULT_TIMEOUT)

        info = client.retire_workers(names=["b"])
        assert list(info) == [names["b"]]
        assert set(client.scheduler_info()["workers"]) == {names["a"], names["c"]}

        info = client.retire_workers(n=1)
        assert len(info) == 1
        [gone] = info
        assert gone in {names["a"], names["c"]}
        assert set(client.scheduler_info()["workers"]) == {names["a"], names["c"]} - {gone}
        assert client.gather(xs) == [1, 2, 3]

        # Unknown addresses retire nothing.
        assert client.retire_workers(["tcp://127.0.0.1:1"]) == {}
        with pytest.raises(TypeError, match="mutually exclusive"):
            client.retire_workers(workers=[gone], names=["a"])


def test_retire_last_worker_is_refused_and_keeps_it_running(cluster_factory):
    cluster = cluster_factory(n_workers=1)
    with Client(cluster.address, timeout=15) as client:
        [address] = client.scheduler_info()["workers"]
        x = client.submit(tasks.inc, 41, pure=False)
        assert x.result(timeout=RESULT_TIMEOUT) == 42

        assert client.retire_workers([address]) == {}

        wait_for(lambda: client.scheduler_info()["workers"][address]["status"] == "running",
                 20, "the worker back to running")
        assert client.submit(tasks.inc, x).result(timeout=RESULT_TIMEOUT) == 43


def test_retire_without_remove_keeps_worker_closing_gracefully(cluster_factory):
    cluster = cluster_factory(worker_names=["a", "b"])
    with Client(cluster.address, timeout=15) as client:
        names = _addresses_by_name(client)
        x = client.submit(tasks.inc, 1, workers=[names["a"]], pure=False)
        assert x.result(timeout=RESULT_TIMEOUT) == 2

        info = client.retire_workers([names["a"]], close_workers=False, remove=False)

        assert list(info) == [names["a"]]
        workers = client.scheduler_info()["workers"]
        assert set(workers) == {names["a"], names["b"]}
        assert workers[names["a"]]["status"] == "closing_gracefully"
        assert names["b"] in client.who_has([x])[x.key]
        # New work goes to the running worker only.
        y = client.submit(tasks.inc, 10, pure=False)
        assert y.result(timeout=RESULT_TIMEOUT) == 11
        assert list(client.who_has([y])[y.key]) == [names["b"]]


# ---- Variable -----------------------------------------------------------------


def _forgotten(client, key):
    return key not in client.who_has()


def test_variable_plain_values_timeout_and_delete(client):
    v = Variable("plain-var", client=client)
    v.set(123)
    assert v.get() == 123
    v.set([1, "a", {"b": 2}])
    # msgpack brings lists back as tuples (stock does the same).
    assert v.get() == (1, "a", {"b": 2})
    assert Variable("plain-var", client=client).get(timeout=5) == (1, "a", {"b": 2})
    with pytest.raises(TimeoutError):
        Variable("never-set", client=client).get(timeout=0.2)
    v.delete()

    def gone():
        try:
            Variable("plain-var", client=client).get(timeout=0.05)
        except TimeoutError:
            return True
        return False

    wait_for(gone, 20, "the variable to be deleted")


def test_variable_get_waits_for_a_later_set(client):
    v = Variable("late-var", client=client)
    setter = threading.Timer(0.3, lambda: Variable("late-var", client=client).set("here"))
    setter.start()
    try:
        assert v.get(timeout=20) == "here"
    finally:
        setter.join()
        v.delete()


def test_variable_future_outlives_its_client_futures(cluster, client):
    v = Variable("future-var", client=client)
    future = client.submit(tasks.inc, 41, key="future-var-inc")
    v.set(future)
    del future
    with Client(cluster.address, timeout=15) as other:
        got = Variable("future-var", client=other).get(timeout=10)
        assert got.key == "future-var-inc"
        assert got.result(timeout=RESULT_TIMEOUT) == 42
        assert other.submit(tasks.inc, got).result(timeout=RESULT_TIMEOUT) == 43
    # Only the variable holds the key now; replacing the value lets it go.
    assert Variable("future-var", client=client).get().result(timeout=RESULT_TIMEOUT) == 42
    v.set(0)
    wait_for(lambda: _forgotten(client, "future-var-inc"), 20, "the replaced future's release")
    assert v.get() == 0
    v.delete()


def test_variable_holds_an_erred_future(client):
    v = Variable("erred-var", client=client)
    future = client.submit(tasks.fail, 7, key="erred-var-task")
    v.set(future)
    del future
    got = v.get()
    with pytest.raises(tasks.UserError, match="bad input 7"):
        got.result(timeout=RESULT_TIMEOUT)
    assert got.status == "error"
    assert got.key == "erred-var-task"
    v.delete()


# ---- Queue --------------------------------------------------------------------


def test_queue_plain_values_batches_and_timeouts(client):
    q = Queue("plain-queue", client=client)
    for item in (1, "two", [3]):
        q.put(item)
    assert q.qsize() == 3
    assert q.get() == 1
    assert q.get(batch=2) == ["two", (3,)]
    assert q.qsize() == 0
    with pytest.raises(TimeoutError):
        q.get(timeout=0.2)
    assert q.get(batch=True) == []
    q.put(5)
    q.put(6)
    assert q.get(batch=True) == [5, 6]
    with pytest.raises(NotImplementedError, match="integer batch sizes and timeouts"):
        q.get(batch=2, timeout=1)
    q.close()


def test_queue_maxsize_blocks_put(client):
    q = Queue("bounded-queue", client=client, maxsize=1)
    q.put("a")
    with pytest.raises(TimeoutError):
        q.put("b", timeout=0.2)
    assert q.qsize() == 1
    getter = threading.Timer(0.3, lambda: results.append(q.get(timeout=20)))
    results = []
    getter.start()
    q.put("c", timeout=20)  # room once the getter took "a"
    getter.join()
    assert results == ["a"]
    assert q.get(timeout=5) == "c"
    q.close()


def test_queue_get_waits_for_a_later_put(client):
    q = Queue("late-queue", client=client)
    putter = threading.Timer(0.3, lambda: q.put({"x": 1}))
    putter.start()
    try:
        assert q.get(timeout=20) == {"x": 1}
    finally:
        putter.join()
        q.close()


def test_queue_carries_futures_between_clients(cluster, client):
    q = Queue("future-queue", client=client)
    futures = [client.submit(tasks.inc, i, key=f"queued-{i}") for i in range(3)]
    for f in futures:
        q.put(f)
    del futures, f
    with Client(cluster.address, timeout=15) as other:
        other_q = Queue("future-queue", client=other)
        first = other_q.get(timeout=10)
        assert first.key == "queued-0"
        assert first.result(timeout=RESULT_TIMEOUT) == 1
        rest = other_q.get(batch=2)
        assert [f.key for f in rest] == ["queued-1", "queued-2"]
        assert other.gather(rest) == [2, 3]
        other_q.close()
        del first, rest
    wait_for(lambda: not any(_forgotten(client, k) is False for k in ("queued-0", "queued-1", "queued-2")),
             20, "the queued futures to be released")
    q.close()


# ---- MultiLock ----------------------------------------------------------------


def test_multi_lock_contention_and_timeouts(client):
    a = MultiLock(["ml-x", "ml-y"], client=client)
    b = MultiLock(["ml-y", "ml-z"], client=client)
    c = MultiLock(["ml-z"], client=client)
    assert a.acquire() is True
    assert b.acquire(timeout=0.2) is False
    # b withdrew from ml-z when it timed out.
    assert c.acquire(timeout=5) is True
    a.release()
    assert b.acquire(timeout=0.2) is False
    c.release()
    assert b.acquire(timeout=5) is True
    b.release()


def test_multi_lock_num_locks(client):
    holder = MultiLock(["ml-p"], client=client)
    assert holder.acquire(timeout=5) is True
    either = MultiLock(["ml-p", "ml-q"], client=client)
    assert either.acquire(num_locks=1, timeout=5) is True
    both = MultiLock(["ml-q"], client=client)
    assert both.acquire(timeout=0.2) is False
    either.release()
    assert both.acquire(timeout=5) is True
    both.release()
    holder.release()


def test_multi_lock_blocked_acquire_is_woken_by_release(client):
    first = MultiLock(["ml-w"], client=client)
    assert first.acquire() is True
    results = []
    waiter = threading.Thread(target=lambda: results.append(MultiLock(["ml-w"], client=client).acquire(timeout=20)))
    waiter.start()
    first.release()
    waiter.join()
    assert results == [True]


# ---- replicate / rebalance ----------------------------------------------------

# The stock AMM's ReduceReplicas would drop the copies these tests count.
NO_AMM = {"DASK_DISTRIBUTED__SCHEDULER__ACTIVE_MEMORY_MANAGER__START": "False"}


def _megabyte(i):
    return bytes([i]) * 1_000_000


def test_replicate_to_n_workers_and_back(cluster_factory):
    cluster = cluster_factory(worker_names=["a", "b", "c"], scheduler_env=NO_AMM)
    with Client(cluster.address, timeout=15) as client:
        names = _addresses_by_name(client)
        x = client.submit(tasks.inc, 1, workers=[names["a"]], key="replicated")
        y = client.submit(tasks.inc, 2, workers=[names["b"]], key="replicated-too")
        wait([x, y], timeout=RESULT_TIMEOUT)

        client.replicate([x, y])
        assert {k: sorted(v) for k, v in client.who_has([x, y]).items()} == {
            "replicated": sorted(names.values()),
            "replicated-too": sorted(names.values()),
        }

        client.replicate([x], n=2)
        assert len(client.who_has([x])["replicated"]) == 2
        client.replicate([x], n=1)
        assert len(client.who_has([x])["replicated"]) == 1

        client.replicate([y], n=2, workers=[names["a"], names["b"]])
        holders = set(client.who_has([y])["replicated-too"])
        assert {names["a"], names["b"]} <= holders
        assert client.gather([x, y]) == [2, 3]
        assert client.submit(tasks.add, x, y).result(timeout=RESULT_TIMEOUT) == 5


def test_rebalance_moves_half_the_data(cluster_factory):
    env = {
        **NO_AMM,
        "DASK_DISTRIBUTED__WORKER__MEMORY__REBALANCE__MEASURE": "managed",
        "DASK_DISTRIBUTED__WORKER__MEMORY__REBALANCE__SENDER_MIN": "0",
        "DASK_DISTRIBUTED__WORKER__MEMORY__REBALANCE__RECIPIENT_MAX": "1",
        "DASK_DISTRIBUTED__WORKER__MEMORY__REBALANCE__SENDER_RECIPIENT_GAP": "0",
    }
    cluster = cluster_factory(worker_names=["a", "b"], scheduler_env=env)
    with Client(cluster.address, timeout=15) as client:
        names = _addresses_by_name(client)
        xs = client.map(_megabyte, range(10), workers=[names["a"]], pure=False)
        wait(xs, timeout=RESULT_TIMEOUT)
        assert {tuple(h) for h in client.who_has(xs).values()} == {(names["a"],)}

        client.rebalance(xs)

        per_worker = {addr: len(keys) for addr, keys in client.has_what().items()}
        assert per_worker == {names["a"]: 5, names["b"]: 5}
        assert all(len(h) == 1 for h in client.who_has(xs).values())
        assert client.gather(xs) == [_megabyte(i) for i in range(10)]
        # Balanced already: nothing moves.
        client.rebalance()
        assert {addr: len(keys) for addr, keys in client.has_what().items()} == per_worker


# ---- worker plugins -------------------------------------------------------------


class RecordingPlugin(WorkerPlugin):
    """Leaves what happened on the worker object, for client.run to read."""

    name = "recording"

    def setup(self, worker):
        worker._recording_plugin = ("setup", worker.name)

    def teardown(self, worker):
        worker._recording_plugin = ("teardown", worker.name)


class IdempotentRecordingPlugin(RecordingPlugin):
    idempotent = True


def _recording_state(dask_worker):
    return getattr(dask_worker, "_recording_plugin", None)


def test_worker_plugin_setup_late_worker_and_teardown(cluster_factory):
    cluster = cluster_factory(worker_names=["a", "b"])
    with Client(cluster.address, timeout=15) as client:
        names = _addresses_by_name(client)
        assert client.run(_recording_state) == {names["a"]: None, names["b"]: None}

        responses = client.register_plugin(RecordingPlugin())
        assert responses == {names["a"]: {"status": "OK"}, names["b"]: {"status": "OK"}}
        assert client.run(_recording_state) == {names["a"]: ("setup", "a"),
                                                names["b"]: ("setup", "b")}
        # idempotent and already known: nothing is sent.
        assert client.register_plugin(IdempotentRecordingPlugin()) == {}

        cluster.add_worker(nanny=False, name="c")
        cluster.wait_for_workers(3, timeout=60)
        client.wait_for_workers(3, timeout=60)
        names = _addresses_by_name(client)
        wait_for(lambda: client.run(_recording_state, workers=[names["c"]])
                 == {names["c"]: ("setup", "c")},
                 timeout=30, what="plugin set up on the worker added later")

        responses = client.unregister_worker_plugin("recording")
        assert responses == {addr: {"status": "OK"} for addr in names.values()}
        assert client.run(_recording_state) == {addr: ("teardown", name)
                                                for name, addr in names.items()}

        with pytest.raises(ValueError, match="The worker plugin recording does not exist"):
            client.unregister_worker_plugin("recording")


class RecordingNannyPlugin(NannyPlugin):
    name = "recording-nanny"

    def setup(self, nanny):
        nanny._recording_plugin = "setup"

    def teardown(self, nanny):
        nanny._recording_plugin = "teardown"


def test_nanny_plugin_setup_and_teardown(cluster_factory):
    cluster = cluster_factory(nanny=True, worker_names=["a"])
    with Client(cluster.address, timeout=15) as client:
        address = _addresses_by_name(client)["a"]
        assert client.register_plugin(RecordingNannyPlugin()) == {address: {"status": "OK"}}
        nanny_state = client.run(_recording_state, nanny=True)
        assert list(nanny_state.values()) == ["setup"]
        client.unregister_worker_plugin("recording-nanny", nanny=True)
        assert list(client.run(_recording_state, nanny=True).values()) == ["teardown"]
        with pytest.raises(ValueError, match="The nanny plugin recording-nanny does not exist"):
            client.unregister_worker_plugin("recording-nanny", nanny=True)
