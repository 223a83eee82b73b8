"""Computations that succeed: futures, collections, scatter, introspection.

All run on the shared cluster (scheduler + 2 workers) of every
(scheduler kind, worker mode) pair; none of them damages it."""

from __future__ import annotations

import operator

import dask
import dask.array as da
import dask.bag as db
import numpy as np
import pytest
from distributed import as_completed, fire_and_forget, wait

import tasks
from cluster import wait_for

RESULT_TIMEOUT = 30


@pytest.mark.daskcpp_ready
def test_submit_result(client):
    one = client.submit(tasks.inc, 1)
    assert one.result(timeout=RESULT_TIMEOUT) == 2
    assert client.submit(tasks.add, 1, y=2).result(timeout=RESULT_TIMEOUT) == 3
    # A future as an argument: the dependency is resolved on the worker.
    assert client.submit(tasks.add, one, one).result(timeout=RESULT_TIMEOUT) == 4
    named = client.submit(tasks.inc, 10, key="my-named-key")
    assert named.key == "my-named-key"
    assert named.result(timeout=RESULT_TIMEOUT) == 11
    assert one.status == "finished"


@pytest.mark.daskcpp_ready
@pytest.mark.parametrize("direct", [False, True], ids=["via-scheduler", "direct"])
def test_map_gather_1000(client, direct):
    futures = client.map(tasks.inc, range(1000))
    assert len({f.key for f in futures}) == 1000
    results = client.gather(futures, direct=direct)
    assert results == list(range(1, 1001))


@pytest.mark.daskcpp_ready
def test_delayed_chain_and_tree_reduction(client):
    value = dask.delayed(0)
    for _ in range(100):
        value = dask.delayed(tasks.inc)(value)
    assert client.compute(value).result(timeout=RESULT_TIMEOUT) == 100

    level = [dask.delayed(tasks.inc)(i) for i in range(256)]
    while len(level) > 1:
        level = [dask.delayed(tasks.add)(a, b) for a, b in zip(level[::2], level[1::2])]
    (root,) = level
    assert client.compute(root).result(timeout=RESULT_TIMEOUT) == sum(range(1, 257))


@pytest.mark.daskcpp_ready
def test_array_reductions_over_many_chunks(client):
    ones = da.ones((2000, 2000), chunks=(200, 100), dtype="int64")  # 200 chunks
    assert ones.npartitions == 200
    assert client.compute(ones.sum()).result(timeout=RESULT_TIMEOUT) == 4_000_000

    data = np.arange(1_000_000, dtype="int64").reshape(1000, 1000)
    arr = da.from_array(data, chunks=(100, 100))  # 100 chunks
    total, mean, col_sums = client.compute([arr.sum(), arr.mean(), arr.sum(axis=0)], sync=True)
    assert total == data.sum()
    assert mean == pytest.approx(data.mean(), rel=1e-12)
    np.testing.assert_array_equal(col_sums, data.sum(axis=0))


@pytest.mark.daskcpp_ready
def test_array_matrix_product(client):
    rng = np.random.default_rng(42)
    x = rng.integers(-100, 100, size=(400, 300))
    y = rng.integers(-100, 100, size=(300, 200))
    product = da.from_array(x, chunks=50) @ da.from_array(y, chunks=50)
    np.testing.assert_array_equal(client.compute(product).result(timeout=RESULT_TIMEOUT), x @ y)


@pytest.mark.daskcpp_ready
def test_bag_map_filter_fold_frequencies(client):
    bag = db.from_sequence(range(1000), npartitions=20)
    evens = bag.map(tasks.inc).filter(tasks.is_even)
    assert client.compute(evens.fold(operator.add)).result(timeout=RESULT_TIMEOUT) == sum(
        x for x in range(1, 1001) if x % 2 == 0
    )
    assert client.compute(evens.count()).result(timeout=RESULT_TIMEOUT) == 500

    words = db.from_sequence(["a", "b", "a", "c", "a", "b"] * 50, npartitions=7)
    freqs = client.compute(words.frequencies()).result(timeout=RESULT_TIMEOUT)
    assert sorted(freqs) == [("a", 150), ("b", 100), ("c", 50)]


@pytest.mark.daskcpp_ready
def test_persist_then_compute(client):
    x = da.arange(10_000, chunks=100)
    persisted = client.persist(x)
    wait(persisted, timeout=RESULT_TIMEOUT)
    keys = {str(k) for k in persisted.__dask_keys__()}
    in_memory = {str(k) for k in client.who_has(persisted)}
    assert keys <= in_memory
    assert client.compute((persisted * 2).sum()).result(timeout=RESULT_TIMEOUT) == 2 * sum(range(10_000))

    delayed_total = client.persist(dask.delayed(tasks.total)([1, 2, 3]))
    assert client.compute(delayed_total + 1).result(timeout=RESULT_TIMEOUT) == 7


@pytest.mark.daskcpp_ready
def test_wait_and_as_completed(client):
    futures = client.map(tasks.inc, range(50))
    done, not_done = wait(futures, timeout=RESULT_TIMEOUT)
    assert done == set(futures) and not_done == set()
    assert all(f.status == "finished" for f in futures)

    more = client.map(tasks.add, range(30), range(30))
    seen = {}
    for future, result in as_completed(more, with_results=True, timeout=RESULT_TIMEOUT):
        seen[future.key] = result
    assert seen == {f.key: 2 * i for i, f in enumerate(more)}


@pytest.mark.daskcpp_ready
def test_scatter_list_and_compute(client):
    scattered = client.scatter([1, 2, 3])
    assert [f.status for f in scattered] == ["finished"] * 3
    assert client.submit(tasks.total, scattered).result(timeout=RESULT_TIMEOUT) == 6
    assert client.gather(client.map(tasks.inc, scattered)) == [2, 3, 4]


@pytest.mark.daskcpp_ready
@pytest.mark.parametrize("hash_", [True, False], ids=["hash", "no-hash"])
def test_scatter_numpy_array(client, hash_):
    array = np.arange(200_000, dtype="float64")  # 1.6 MB
    assert array.nbytes == 1_600_000
    first = client.scatter(array, hash=hash_)
    second = client.scatter(array, hash=hash_)
    # Content-hashed keys coincide; hash=False gives every scatter a new key.
    assert (first.key == second.key) is hash_
    assert client.submit(tasks.array_nbytes, first).result(timeout=RESULT_TIMEOUT) == 1_600_000
    assert client.submit(tasks.array_sum, second).result(timeout=RESULT_TIMEOUT) == float(array.sum())
    np.testing.assert_array_equal(first.result(timeout=RESULT_TIMEOUT), array)


@pytest.mark.daskcpp_ready
def test_who_has_has_what_nthreads_scheduler_info(client):
    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert {info["status"] for info in workers.values()} == {"running"}
    assert {info["nthreads"] for info in workers.values()} == {1}
    assert client.nthreads() == {addr: 1 for addr in workers}

    futures = client.map(tasks.inc, range(10))
    wait(futures, timeout=RESULT_TIMEOUT)
    who_has = client.who_has(futures)
    assert set(who_has) == {f.key for f in futures}
    assert all(len(holders) == 1 and holders[0] in workers for holders in who_has.values())

    has_what = client.has_what()
    assert set(has_what) == set(workers)
    for future in futures:
        (holder,) = who_has[future.key]
        assert future.key in has_what[holder]


@pytest.mark.daskcpp_ready
def test_fire_and_forget(client, tmp_path):
    target = tmp_path / "fired.txt"
    future = client.submit(tasks.write_text, str(target), "fired", pure=False)
    fire_and_forget(future)
    del future
    wait_for(lambda: target.exists() and target.read_text() == "fired", 30, "the fire-and-forget task")


@pytest.mark.daskcpp_ready
def test_two_clients_share_a_result(client, cluster):
    from distributed import Client

    first = client.submit(tasks.inc, 41)  # pure: the key is a hash of the call
    assert first.result(timeout=RESULT_TIMEOUT) == 42
    holders = client.who_has([first])[first.key]
    with Client(cluster.address, timeout=15, set_as_default=False) as other:
        # (distributed 2026.8's Future(key, client) no longer tells the
        # scheduler it wants the key, so the shared path is the same pure call.)
        same_call = other.submit(tasks.inc, 41)
        assert same_call.key == first.key
        assert same_call.result(timeout=RESULT_TIMEOUT) == 42
        assert other.who_has([same_call])[same_call.key] == holders  # not recomputed elsewhere
        assert other.submit(tasks.inc, same_call).result(timeout=RESULT_TIMEOUT) == 43
    # The other client leaving does not release the first client's result.
    assert first.result(timeout=RESULT_TIMEOUT) == 42
    assert client.submit(tasks.inc, first).result(timeout=RESULT_TIMEOUT) == 43


@pytest.mark.daskcpp_ready
def test_client_run_broadcast(client):
    workers = set(client.scheduler_info()["workers"])
    pids = client.run(tasks.getpid)
    assert set(pids) == workers
    assert len(set(pids.values())) == 2
