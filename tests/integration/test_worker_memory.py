"""daskcpp-worker under --memory-limit: spilling to --local-directory, both schedulers.

A graph whose results are ~3x the limit is held (persisted) on one daskcpp-worker:
it finishes, the heartbeat metrics the scheduler exposes (scheduler_info()'s
workers[addr]["metrics"]["spilled_bytes"]) show bytes on disk, spill files exist
under --local-directory while the values are held and are gone once released, and
every value comes back exact -- as a dependency of a task on the worker (unspill),
gathered by the client straight from the worker (get_data served from the spill
file) and fetched by a stock worker in a mixed cluster.

Sizes: chunks of 40 MB (above glibc's largest mmap threshold, so freeing a chunk
returns its memory to the OS and RSS follows what the worker holds).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from cluster import ManagedProcess, wait_for

# Every scenario runs under both schedulers (conftest's scheduler_kind).
pytestmark = pytest.mark.daskcpp_ready

MEMORY_LIMIT = 400_000_000
CHUNK_ELEMENTS = 5_000_000  # float64: 40 MB
N_CHUNKS = 30  # 1.2 GB held: 3x the limit


def make_chunk(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(CHUNK_ELEMENTS)


def checksum(chunk: np.ndarray) -> str:
    # Of the bytes: a float sum would depend on the buffer's alignment.
    return hashlib.sha256(memoryview(np.ascontiguousarray(chunk))).hexdigest()


def expected_checksum(seed: int) -> str:
    return checksum(make_chunk(seed))


def _local_directory(cluster) -> Path:
    return cluster.tmp_path / "cpp-space"


def _add_cpp_worker(cluster) -> ManagedProcess:
    """The daskcpp-worker "cpp" with the memory limit, spilling to _local_directory."""
    return cluster.add_daskcpp_worker(
        "cpp", "--memory-limit", str(MEMORY_LIMIT), "--local-directory", str(_local_directory(cluster)),
        "--death-timeout", "20")  # fmt: skip


def _spill_files(cluster) -> list[Path]:
    return [p for p in _local_directory(cluster).rglob("*") if p.is_file()]


def _worker_info(client, name: str) -> tuple[str, dict]:
    for addr, info in client.scheduler_info()["workers"].items():
        if info["name"] == name:
            return addr, info
    raise AssertionError(f"no worker named {name}")


def _metrics(client, name: str) -> dict:
    return _worker_info(client, name)[1]["metrics"]


def _hold_chunks(client, cpp: str, n: int) -> list:
    from distributed import wait

    futures = [client.submit(make_chunk, i, key=f"chunk-{i}", workers=[cpp]) for i in range(n)]
    wait(futures, timeout=240)
    assert all(f.status == "finished" for f in futures), [f.status for f in futures]
    return futures


def test_graph_of_three_times_the_limit_spills_and_loses_nothing(worker_cluster):
    _add_cpp_worker(worker_cluster)
    with worker_cluster.client(1) as client:
        cpp, info = _worker_info(client, "cpp")
        assert info["memory_limit"] == MEMORY_LIMIT
        futures = _hold_chunks(client, cpp, N_CHUNKS)

        # The heartbeat reports what is on disk; what is in memory stays under target.
        def spilled_reported():
            m = _metrics(client, "cpp")
            return m["spilled_bytes"]["disk"] > 0 and m["managed_bytes"] == N_CHUNKS * 40_000_000

        wait_for(spilled_reported, timeout=30, what="spilled bytes in the heartbeat", interval=0.25)

        # One spill file per spilled chunk (the heartbeat may lag a spill: retry).
        def files_match_metrics():
            m = _metrics(client, "cpp")
            return len(_spill_files(worker_cluster)) * 40_000_000 == m["spilled_bytes"]["memory"]

        wait_for(files_match_metrics, timeout=30, what="spill files matching the metrics", interval=0.25)
        m = _metrics(client, "cpp")
        spilled_values = m["spilled_bytes"]["memory"]
        # What stays in memory is under the target fraction of the limit.
        assert m["managed_bytes"] - spilled_values <= 0.6 * MEMORY_LIMIT
        assert spilled_values >= (N_CHUNKS - 6) * 40_000_000
        # Each file holds at least its chunk's 40 MB of data.
        assert m["spilled_bytes"]["disk"] >= spilled_values

        # As dependencies on the worker (spilled ones are read back first).
        sums = client.gather([client.submit(checksum, f, workers=[cpp]) for f in futures])
        assert sums == [expected_checksum(i) for i in range(N_CHUNKS)]
        # Straight from the worker to the client: chunk 0 was the first spilled.
        for i in (0, 1, N_CHUNKS - 1):
            assert np.array_equal(client.gather(futures[i], direct=True), make_chunk(i))
        assert worker_cluster.scheduler.proc.poll() is None

        del futures
        wait_for(lambda: not _spill_files(worker_cluster), timeout=30, what="spill files removed", interval=0.25)
        wait_for(lambda: _metrics(client, "cpp")["spilled_bytes"] == {"memory": 0, "disk": 0},
                 timeout=30, what="no spilled bytes reported", interval=0.25)


def test_spilled_values_served_to_stock_worker_and_client(worker_cluster):
    worker_cluster.add_stock_worker("stock", "--memory-limit", "0")
    _add_cpp_worker(worker_cluster)
    with worker_cluster.client(2) as client:
        cpp, _ = _worker_info(client, "cpp")
        stock, _ = _worker_info(client, "stock")
        n = 12  # 480 MB on a 400 MB limit: at least 6 chunks on disk
        futures = _hold_chunks(client, cpp, n)
        wait_for(lambda: _metrics(client, "cpp")["spilled_bytes"]["disk"] >= 6 * 40_000_000,
                 timeout=30, what="chunks spilled", interval=0.25)
        assert len(_spill_files(worker_cluster)) >= 6

        # The stock worker fetches every chunk from ours (get_data), spilled or not.
        sums = client.gather([
            client.submit(checksum, f, workers=[stock], allow_other_workers=False, key=f"sum-{i}")
            for i, f in enumerate(futures)
        ])
        assert sums == [expected_checksum(i) for i in range(n)]
        who_has = client.who_has(futures)
        assert all(stock in who_has[f.key] for f in futures)
        # get_data from a spill file does not bring the value back into memory.
        assert _metrics(client, "cpp")["spilled_bytes"]["disk"] >= 6 * 40_000_000
        for i in (0, 5, n - 1):
            assert np.array_equal(client.gather(futures[i], direct=True), make_chunk(i))
            assert np.array_equal(client.gather(futures[i], direct=False), make_chunk(i))
