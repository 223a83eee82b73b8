"""Failures of processes around the scheduler: a client that vanishes
mid-graph, a worker SIGKILLed mid-graph, workers dying on every attempt
(KilledWorker), and client.restart(). Tests that kill workers build their own
clusters (`cluster_factory`)."""

from __future__ import annotations

import re
import signal

import pytest
from distributed import Client, wait
from distributed.scheduler import KilledWorker

import tasks
from cluster import TESTS_DIR, VENV_BIN, ManagedProcess, wait_for

RESULT_TIMEOUT = 30

# A client in its own process: submits gated tasks with known keys, waits
# until the scheduler reports them processing, says READY, then blocks until
# the test kills it.
ORPHAN_CLIENT = """
import sys, threading, time
from distributed import Client
import tasks

address, gate = sys.argv[1], sys.argv[2]
client = Client(address, timeout=15)
futures = client.map(tasks.gated_identity, range(6), gate=gate, key=[f"orphan-{i}" for i in range(6)])
total = client.submit(tasks.total, futures, key="orphan-total")
deadline = time.monotonic() + 20
state = "NOT-PROCESSING"
while time.monotonic() < deadline:
    busy = [k for keys in client.processing().values() for k in keys]
    if sum(str(k).startswith("orphan-") for k in busy) >= 2:
        state = "READY"
        break
    time.sleep(0.02)
print(state, flush=True)
threading.Event().wait()
"""


def _orphan_keys(client) -> set[str]:
    held = {str(k) for k in client.who_has()}
    busy = {str(k) for keys in client.processing().values() for k in keys}
    return {k for k in held | busy if k.startswith("orphan-")}


@pytest.mark.daskcpp_ready
def test_client_killed_mid_graph(cluster, client, gate, tmp_path):
    orphan = ManagedProcess(
        "orphan-client",
        [str(VENV_BIN / "python"), "-c", ORPHAN_CLIENT, cluster.address, str(gate)],
        tmp_path / "orphan-client.log",
        env={"PYTHONPATH": str(TESTS_DIR)},
    )
    try:
        wait_for(
            lambda: "READY" in orphan.log_text(),
            30,
            "the orphan client's tasks to be processing",
            proc=orphan,
            on_timeout=lambda: orphan.log_text(40),
        )
        assert len(_orphan_keys(client)) >= 2
        # Our graph is submitted while the orphan's tasks occupy both workers.
        parts = client.map(tasks.inc, range(200))
        total = client.submit(tasks.total, parts)
        orphan.kill(signal.SIGKILL)
        orphan.wait_exit(10)
        # The scheduler notices the lost client and releases its tasks.
        wait_for(lambda: not _orphan_keys(client), 20, "the orphan client's tasks to be released")
        gate.open()  # the (released) running orphan tasks finish; results are dropped
        assert total.result(timeout=RESULT_TIMEOUT) == sum(range(1, 201))
        assert not _orphan_keys(client)
    finally:
        orphan.stop()


@pytest.mark.daskcpp_ready
def test_client_closes_mid_graph(cluster, client, gate):
    with Client(cluster.address, timeout=15, set_as_default=False) as leaving:
        blocked = leaving.map(tasks.gated_identity, range(4), gate=str(gate), key=[f"orphan-{i}" for i in range(4)])
        wait_for(lambda: len(_orphan_keys(client)) >= 2, 20, "the leaving client's tasks to be processing")
        parts = client.map(tasks.inc, range(100))
        total = client.submit(tasks.total, parts)
        del blocked
    wait_for(lambda: not _orphan_keys(client), 20, "the closed client's tasks to be released")
    gate.open()
    assert total.result(timeout=RESULT_TIMEOUT) == sum(range(1, 101))


@pytest.mark.daskcpp_ready
def test_worker_sigkilled_mid_graph(cluster_factory, gate):
    cluster = cluster_factory(nanny=False, worker_names=["victim", "survivor"])
    victim = cluster.worker_address("victim")
    survivor = cluster.worker_address("survivor")
    with Client(cluster.address, timeout=15) as client:
        # Inputs live only on the victim (loose restriction: may move later).
        xs = client.map(tasks.inc, range(10), workers=[victim], allow_other_workers=True, pure=False)
        wait(xs, timeout=RESULT_TIMEOUT)
        assert {tuple(h) for h in client.who_has(xs).values()} == {(victim,)}
        ys = client.map(tasks.gated_inc, xs, gate=str(gate), pure=False)
        final = client.submit(tasks.total, ys, pure=False)
        wait_for(lambda: client.processing().get(victim), 20, "the victim to be processing a gated task")

        cluster.worker_process("victim").kill(signal.SIGKILL)
        wait_for(lambda: set(client.scheduler_info()["workers"]) == {survivor}, 20, "the victim's removal")
        gate.open()
        assert final.result(timeout=RESULT_TIMEOUT) == sum(range(10)) + 20
        # The victim's data was recomputed on the survivor.
        assert {tuple(h) for h in client.who_has(xs).values()} == {(survivor,)}
        assert client.gather(xs) == list(range(1, 11))


KILLED_WORKER_MESSAGE = (
    r"Attempted to run task 'suicidal' on 2 different workers, but all those workers died while "
    r"running it\. The last worker that attempt to run the task was tcp://127\.0\.0\.1:\d+\. "
    r"Inspecting worker logs is often a good next step to diagnose what went wrong\. "
    r"For more information see https://distributed\.dask\.org/en/stable/killed\.html\."
)


@pytest.mark.daskcpp_ready
def test_killed_worker_after_allowed_failures(cluster_factory):
    cluster = cluster_factory(
        nanny=True, scheduler_env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
    )
    with Client(cluster.address, timeout=15) as client:
        future = client.submit(tasks.kill_own_worker, 1, key="suicidal")
        with pytest.raises(KilledWorker) as info:
            future.result(timeout=45)
        assert type(info.value) is KilledWorker
        assert re.fullmatch(KILLED_WORKER_MESSAGE, str(info.value)), str(info.value)
        assert info.value.task == "suicidal"
        assert info.value.allowed_failures == 1
        assert future.status == "error"
        # The nannies bring both workers back and the cluster computes again.
        cluster.wait_for_workers(2)
        assert client.submit(tasks.inc, 1, pure=False).result(timeout=RESULT_TIMEOUT) == 2


@pytest.mark.daskcpp_ready
def test_client_restart_with_nannies(cluster_factory):
    cluster = cluster_factory(nanny=True)
    with Client(cluster.address, timeout=15) as client:
        before = client.run(tasks.getpid)
        assert len(before) == 2
        held = client.submit(tasks.inc, 1)
        assert held.result(timeout=RESULT_TIMEOUT) == 2
        client.restart(timeout=40)
        assert held.status == "cancelled"
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        assert {info["status"] for info in workers.values()} == {"running"}
        after = client.run(tasks.getpid)
        assert len(after) == 2
        assert set(after.values()).isdisjoint(before.values())  # fresh worker processes
        assert client.submit(tasks.inc, 1).result(timeout=RESULT_TIMEOUT) == 2
