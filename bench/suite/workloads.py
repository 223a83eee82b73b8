"""The workloads: each takes a connected Client, a size and a deadline, runs one
piece of unmodified client code, checks the result exactly, and returns a
`Measurement` (metrics + facts such as the task count).

Metric names carry their unit, which the report uses for formatting and for
the direction of "better": `*_s` seconds, `*_per_s` a rate, `*_bytes` bytes.

Workloads for real workers check the values; workloads for simulated workers
(every result is None, see bench/README.md) check that every key reached the
"finished" state. A wrong result raises `WrongResult`; nothing here asserts a
time."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask import delayed
from distributed import Client, futures_of, wait

from . import tasks


class WrongResult(AssertionError):
    """A workload produced a result other than the exact expected one."""


@dataclass
class Measurement:
    metrics: dict[str, float]
    facts: dict[str, int] = field(default_factory=dict)


def check_equal(what: str, got, expected) -> None:
    if got != expected:
        raise WrongResult(f"{what}: got {_short(got)}, expected {_short(expected)}")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def graph_tasks(collection) -> int:
    """Tasks in the graph the client submits for `collection` (after the same
    optimization compute() does). Not timed."""
    if hasattr(collection, "expr") and hasattr(collection, "optimize"):  # dataframe
        return len(collection.optimize().__dask_graph__())
    (optimized,) = dask.optimize(collection)
    return len(optimized.__dask_graph__())


def _finished(futures, what: str, timeout: float) -> None:
    wait(futures, timeout=timeout)
    bad = [f.key for f in futures if f.status != "finished"]
    if bad:
        raise WrongResult(f"{what}: {len(bad)} of {len(futures)} keys not finished, e.g. {bad[0]!r}")


# ---- real workers: values checked -------------------------------------------


def map_trivial(client: Client, n: int, timeout: float) -> Measurement:
    """client.map of n trivial tasks, then gather."""
    start = time.perf_counter()
    futures = client.map(tasks.inc, range(n), pure=False)
    wait(futures, timeout=timeout)
    results = client.gather(futures)
    elapsed = time.perf_counter() - start
    check_equal(f"map {n}", results, list(range(1, n + 1)))
    return Measurement({"time_s": elapsed, "tasks_per_s": n / elapsed}, {"tasks": n})


def array_reduce(client: Client, chunks: int, timeout: float) -> Measurement:
    """(ones(chunks, chunks=1) + 1).sum(): an elementwise op and a tree reduction
    over `chunks` one-element chunks."""
    y = (da.ones(chunks, chunks=1, dtype=np.int64) + 1).sum()
    n_tasks = graph_tasks(y)
    start = time.perf_counter()
    value = client.compute(y).result(timeout=timeout)
    elapsed = time.perf_counter() - start
    check_equal(f"array sum of {chunks} chunks", int(value), 2 * chunks)
    return Measurement({"time_s": elapsed, "tasks_per_s": n_tasks / elapsed}, {"tasks": n_tasks})


def array_rechunk(client: Client, n: int, timeout: float) -> Measurement:
    """An n x n matrix in row chunks rechunked to column chunks (all-to-all,
    the tasks method: daskcpp-scheduler has no P2P), then column sums."""
    values = np.arange(n * n, dtype=np.int64).reshape(n, n)
    x = da.from_array(values, chunks=(1, n)).rechunk((n, 1), method="tasks").sum(axis=0)
    n_tasks = graph_tasks(x)
    start = time.perf_counter()
    got = client.compute(x).result(timeout=timeout)
    elapsed = time.perf_counter() - start
    check_equal(f"rechunk {n}x{n} column sums", got.tolist(), values.sum(axis=0).tolist())
    return Measurement({"time_s": elapsed}, {"tasks": n_tasks})


def array_matmul(client: Client, n: int, chunk: int, timeout: float) -> Measurement:
    """A @ A.T of an n x n integer matrix in chunk x chunk blocks."""
    values = np.arange(n * n, dtype=np.int64).reshape(n, n) % 10
    a = da.from_array(values, chunks=chunk)
    product = a @ a.T
    n_tasks = graph_tasks(product)
    start = time.perf_counter()
    got = client.compute(product).result(timeout=timeout)
    elapsed = time.perf_counter() - start
    if not np.array_equal(got, values @ values.T):
        raise WrongResult(f"matmul {n}x{n}: result differs from numpy's")
    return Measurement({"time_s": elapsed}, {"tasks": n_tasks})


def delayed_chain(client: Client, length: int, timeout: float) -> Measurement:
    """inc(inc(...inc(0))): `length` tasks, each waiting for the previous one."""
    x = 0
    for _ in range(length):
        x = delayed(tasks.inc)(x)
    start = time.perf_counter()
    got = client.compute(x).result(timeout=timeout)
    elapsed = time.perf_counter() - start
    check_equal(f"chain of {length}", got, length)
    return Measurement({"time_s": elapsed, "per_task_s": elapsed / length}, {"tasks": length})


def delayed_tree(client: Client, leaves: int, timeout: float) -> Measurement:
    """A binary tree of add over `leaves` inc tasks (2 * leaves - 1 tasks)."""
    level = [delayed(tasks.inc)(i) for i in range(leaves)]
    while len(level) > 1:
        pairs = [delayed(tasks.add)(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    start = time.perf_counter()
    got = client.compute(level[0]).result(timeout=timeout)
    elapsed = time.perf_counter() - start
    check_equal(f"tree over {leaves}", got, leaves * (leaves + 1) // 2)
    return Measurement({"time_s": elapsed}, {"tasks": 2 * leaves - 1})


def _frame(rows: int, partitions: int) -> dd.DataFrame:
    """`rows` rows of (k, v) generated on the workers, `partitions` partitions;
    v is 0..rows-1 and k a scrambled key in 0..96."""
    bounds = np.linspace(0, rows, partitions + 1).astype(int).tolist()
    return dd.from_map(tasks.frame_part, list(zip(bounds[:-1], bounds[1:])),
                       meta=tasks.frame_part((0, 0)))


def df_groupby(client: Client, rows: int, partitions: int, timeout: float) -> Measurement:
    """groupby("k").v.sum() on a generated frame. With many partitions dask
    picks a shuffle-based reduction: the tasks method here (the P2P cases are separate)."""
    with dask.config.set({"dataframe.shuffle.method": "tasks"}):
        result = _frame(rows, partitions).groupby("k").v.sum()
        n_tasks = graph_tasks(result)
        start = time.perf_counter()
        got = client.compute(result).result(timeout=timeout)
        elapsed = time.perf_counter() - start
    expected = tasks.frame_part((0, rows)).groupby("k").v.sum()
    check_equal(f"groupby-sum over {rows} rows", got.sort_index().to_dict(), expected.to_dict())
    return Measurement({"time_s": elapsed}, {"tasks": n_tasks})


def _checked_shuffle(client: Client, rows: int, partitions: int, timeout: float,
                     method: str) -> Measurement:
    """A shuffle on k with `method`; every key must land in exactly one output
    partition and no row may be lost or duplicated."""
    with dask.config.set({"dataframe.shuffle.method": method}):
        shuffled = _frame(rows, partitions).shuffle("k", shuffle_method=method)
        summary = shuffled.map_partitions(tasks.partition_summary, meta=tasks.partition_summary(
            tasks.frame_part((0, 0))))
        n_tasks = graph_tasks(summary)
        if method == "p2p":
            _assert_p2p(summary, "shuffle")
        start = time.perf_counter()
        got = client.compute(summary).result(timeout=timeout)
        elapsed = time.perf_counter() - start
    key_owner: dict[int, int] = {}
    for part, keys in enumerate(got["keys"]):
        for k in keys:
            if key_owner.setdefault(k, part) != part:
                raise WrongResult(f"{method} shuffle: key {k} in partitions {key_owner[k]} and {part}")
    check_equal(f"{method} shuffle: rows", int(got["rows"].sum()), rows)
    check_equal(f"{method} shuffle: sum of v", int(got["v_sum"].sum()), rows * (rows - 1) // 2)
    check_equal(f"{method} shuffle: keys", sorted(key_owner),
                sorted(set(tasks.frame_part((0, rows))["k"])))
    return Measurement({"time_s": elapsed}, {"tasks": n_tasks})


def df_shuffle(client: Client, rows: int, partitions: int, timeout: float) -> Measurement:
    """The tasks-based shuffle on k, checked exactly."""
    return _checked_shuffle(client, rows, partitions, timeout, "tasks")


P2P = {"dataframe.shuffle.method": "p2p"}


def _assert_p2p(collection, prefix: str) -> None:
    """The graph must take the P2P path: it has `<prefix>-transfer` tasks. Not timed."""
    keys = collection.optimize().__dask_graph__().keys()
    if not any(isinstance(k, tuple) and str(k[0]).startswith(f"{prefix}-transfer") for k in keys):
        raise WrongResult(f"no {prefix}-transfer task in the graph: the P2P path was not taken")


def df_shuffle_p2p(client: Client, rows: int, partitions: int, timeout: float) -> Measurement:
    """The P2P shuffle on k (the default method on a distributed cluster), checked
    exactly and that the graph takes the P2P path."""
    return _checked_shuffle(client, rows, partitions, timeout, "p2p")


def df_merge_p2p(client: Client, rows: int, partitions: int, timeout: float) -> Measurement:
    """A hash join of two generated frames on k through P2P; the row count and the
    sums of the joined columns are checked against pandas."""
    right_rows = max(rows // 10, 97)
    bounds = np.linspace(0, right_rows, max(partitions // 2, 2) + 1).astype(int).tolist()
    right = dd.from_map(tasks.right_part, list(zip(bounds[:-1], bounds[1:])),
                        meta=tasks.right_part((0, 0)))
    with dask.config.set(P2P):
        joined = dd.merge(_frame(rows, partitions), right, on="k", shuffle_method="p2p")
        summary = joined.map_partitions(
            lambda p: pd.DataFrame({"rows": [len(p)], "v": [int(p["v"].sum())], "w": [int(p["w"].sum())]}),
            meta={"rows": "int64", "v": "int64", "w": "int64"})
        n_tasks = graph_tasks(summary)
        _assert_p2p(summary, "hash-join")
        start = time.perf_counter()
        got = client.compute(summary).result(timeout=timeout)
        elapsed = time.perf_counter() - start
    expected = tasks.frame_part((0, rows)).merge(tasks.right_part((0, right_rows)), on="k")
    check_equal("p2p merge: rows", int(got["rows"].sum()), len(expected))
    check_equal("p2p merge: sum of v", int(got["v"].sum()), int(expected["v"].sum()))
    check_equal("p2p merge: sum of w", int(got["w"].sum()), int(expected["w"].sum()))
    return Measurement({"time_s": elapsed}, {"tasks": n_tasks})


def df_set_index_p2p(client: Client, rows: int, partitions: int, timeout: float) -> Measurement:
    """set_index on a scrambled column through P2P (divisions, then the shuffle);
    the index must come back sorted and complete."""
    frame = _frame(rows, partitions)
    frame = frame.assign(s=(frame["v"] * 7907) % rows)  # a permutation of 0..rows-1
    with dask.config.set(P2P):
        indexed = frame.set_index("s")
        start = time.perf_counter()
        got = client.compute(indexed.index).result(timeout=timeout)
        elapsed = time.perf_counter() - start
        n_tasks = graph_tasks(indexed)
        _assert_p2p(indexed, "shuffle")
    check_equal("p2p set_index: index", got.tolist(), list(range(rows)))
    return Measurement({"time_s": elapsed}, {"tasks": n_tasks})


def df_shuffle_p2p_large(client: Client, rows: int, partitions: int, timeout: float) -> Measurement:
    """The memory case: a P2P shuffle of `rows` random rows (16 bytes each) in
    `partitions` partitions, reduced to the row count; the group's peak worker RSS
    is the figure that matters."""
    per_part = rows // partitions
    frame = dd.from_map(tasks.random_part, range(partitions), rows=per_part,
                        meta=tasks.random_part(0, 0))
    with dask.config.set(P2P):
        counted = frame.shuffle("k").map_partitions(len).sum()
        _assert_p2p(frame.shuffle("k"), "shuffle")
        start = time.perf_counter()
        got = client.compute(counted).result(timeout=timeout)
        elapsed = time.perf_counter() - start
    check_equal("large p2p shuffle: rows", int(got), per_part * partitions)
    return Measurement({"time_s": elapsed}, {"rows": per_part * partitions})


def latency(client: Client, rounds: int, timeout: float) -> Measurement:
    """`rounds` sequential submit -> result round trips."""
    samples = []
    for i in range(rounds):
        start = time.perf_counter()
        got = client.submit(tasks.inc, i, pure=False).result(timeout=timeout)
        samples.append(time.perf_counter() - start)
        check_equal("latency round trip", got, i + 1)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))]
    return Measurement({"p50_s": statistics.median(samples), "p99_s": p99}, {"tasks": rounds})


# ---- simulated workers: completion checked ----------------------------------


def sim_map(client: Client, n: int, timeout: float) -> Measurement:
    """client.map of n tasks on simulated workers, waited for (not gathered)."""
    start = time.perf_counter()
    futures = client.map(tasks.inc, range(n), pure=False)
    _finished(futures, f"map {n}", timeout)
    elapsed = time.perf_counter() - start
    return Measurement({"tasks_per_s": n / elapsed, "time_s": elapsed}, {"tasks": n})


def sim_array(client: Client, chunks: int, timeout: float) -> Measurement:
    """(ones(chunks, chunks=1) + 1).sum() on simulated workers, waited for."""
    y = (da.ones(chunks, chunks=1, dtype=np.int64) + 1).sum()
    n_tasks = graph_tasks(y)
    start = time.perf_counter()
    future = client.compute(y)
    _finished([future], f"array sum of {chunks} chunks", timeout)
    elapsed = time.perf_counter() - start
    return Measurement({"tasks_per_s": n_tasks / elapsed, "time_s": elapsed}, {"tasks": n_tasks})


def _pure_graph(client: Client, graph: str, n: int):
    """Submits an n-task graph of `graph` shape; returns (futures, task count).
    map: client.map of n independent tasks; array: (ones(c, chunks=1) + 1).sum()
    with c chosen so that the graph has about n tasks (a tree reduction)."""
    if graph == "map":
        return client.map(tasks.inc, range(n), pure=False), n
    chunks = max(2, n // 2)
    y = (da.ones(chunks, chunks=1, dtype=np.int64) + 1).sum()
    return [client.compute(y)], graph_tasks(y)


def pure_scheduling(client: Client, graph: str, n: int, timeout: float, cluster) -> Measurement:
    """Scheduling alone, seen from the simulated workers: from the first
    compute-task they receive (the graph has been accepted) to the last
    task-finished they send, so neither the client nor graph intake is in the
    interval. Also the simworker's CPU per task and, on daskcpp, the scheduler's
    own CPU split (loop thread / intake thread) per task."""
    cluster.sim_stats()  # reset
    counters_before = cluster.scheduler_cpu_counters(client)
    futures, n_tasks = _pure_graph(client, graph, n)
    _finished(futures, f"{graph} of {n} tasks", timeout)
    stats = cluster.sim_stats()
    counters_after = cluster.scheduler_cpu_counters(client)
    del futures
    check_equal("compute-tasks received", stats["compute_tasks"] >= n_tasks, True)
    elapsed = stats["last_finished"] - stats["first_compute"]
    metrics = {"tasks_per_s": n_tasks / elapsed, "time_s": elapsed,
               "simworker_cpu_per_task_us": 1e6 * stats["cpu_s"] / stats["tasks_finished"]}
    if counters_before is not None:
        for part in ("loop", "intake"):
            spent = counters_after[f"{part}_cpu_s"] - counters_before[f"{part}_cpu_s"]
            metrics[f"{part}_cpu_per_task_us"] = 1e6 * spent / n_tasks
    return Measurement(metrics, {"tasks": n_tasks})


def latency_during_intake(client: Client, n: int, timeout: float, cluster) -> Measurement:
    """What a second client sees while the first submits an n-task graph:
    sequential submit -> result round trips of one small task each, from the
    persist call until the big graph's first result (its intake). The longest
    round trip is the stall a big submission inflicts on everyone else."""
    with Client(cluster.address, timeout=60) as other:
        # Simulated workers: every result is None; a round trip ends at "finished".
        _finished([other.submit(tasks.inc, 0, pure=False)], "warm-up task", timeout)
        x = da.ones(n, chunks=1, dtype=np.int64) + 1
        start = time.perf_counter()
        futures = futures_of(client.persist(x))
        round_trips = []
        i = 0
        while not any(f.done() for f in futures[:64]):
            if time.perf_counter() - start > timeout:
                raise WrongResult(f"no result of the {n}-task graph after {timeout:.0f} s")
            i += 1
            t = time.perf_counter()
            _finished([other.submit(tasks.inc, i, pure=False)], "small task", timeout)
            round_trips.append(time.perf_counter() - t)
        _finished(futures, f"persist of {n} chunks", timeout)
        del futures
    return Measurement({"other_client_max_s": max(round_trips),
                        "other_client_p50_s": statistics.median(round_trips)},
                       {"tasks": n, "round_trips": len(round_trips)})


def _persist_held(client: Client, n: int, timeout: float):
    """Persists ones(n, chunks=1) + 1: n independent tasks whose results stay
    held. Returns (futures, seconds to the first finished, seconds to all)."""
    x = da.ones(n, chunks=1, dtype=np.int64) + 1
    start = time.perf_counter()
    futures = futures_of(client.persist(x))
    wait(futures, timeout=timeout, return_when="FIRST_COMPLETED")
    first = time.perf_counter() - start
    _finished(futures, f"persist of {n} chunks", timeout)
    done = time.perf_counter() - start
    check_equal("persisted keys", len(futures), n)
    return futures, first, done


def submission(client: Client, n: int, timeout: float) -> Measurement:
    """Time from persist() of an n-task graph to the first task's result
    reported to the client, and to all n."""
    futures, first, done = _persist_held(client, n, timeout)
    del futures
    return Measurement({"first_result_s": first, "all_done_s": done}, {"tasks": n})


HELD_SETTLE_S = 3.0


def held_memory(client: Client, n: int, timeout: float, scheduler_pid: int) -> Measurement:
    """Scheduler RSS growth per task while n finished tasks are held in memory."""
    before = proc_status_bytes(scheduler_pid, "VmRSS")
    futures, _, _ = _persist_held(client, n, timeout)
    # What the scheduler holds once it has settled, not mid-cleanup: both free
    # memory after a burst (stock's garbage collector, daskcpp's heap trim).
    time.sleep(HELD_SETTLE_S)
    after = proc_status_bytes(scheduler_pid, "VmRSS")
    peak = proc_status_bytes(scheduler_pid, "VmHWM")
    del futures
    return Measurement({"held_rss_per_task_bytes": (after - before) / n, "held_rss_bytes": after,
                        "peak_rss_bytes": peak}, {"tasks": n})


def proc_status_bytes(pid: int, field_name: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field_name} in /proc/{pid}/status")
