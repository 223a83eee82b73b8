"""daskcpp-worker with its nanny (the default, as `dask worker`), under both
schedulers (stock `dask scheduler` and daskcpp-scheduler) with an unmodified Client.

Scenarios (upstream semantics from distributed/nanny.py and Scheduler.restart_workers):
* the worker process SIGKILLed mid-graph: the graph still finishes exactly, and the
  nanny starts a new worker process that registers again under the same name;
* `client.restart()`: returns once every nanny has brought up a new worker process;
  futures held before are cancelled; new work runs;
* `--nworkers 2`: one command, two nannies, two workers "<name>-0", "<name>-1";
* SIGTERM to the nanny: nanny and worker exit with status 0 and the scheduler drops
  the worker;
* the scheduler closing: the worker tells its nanny `close_gracefully`, so the nanny
  exits (status 0) instead of restarting it.

The binary is ``$DASKCPP_BUILD_DIR/worker/daskcpp-worker``, else the first of
build/release, build/debug that has one; without it these tests are skipped (they
fail if DASKCPP_BUILD_DIR is set and the binary is missing).
"""

from __future__ import annotations

import os
import re
import signal

import psutil
import pytest

from cluster import ManagedProcess, wait_for

START_TIMEOUT_S = 45.0

# Every scenario runs under both schedulers; each starts several processes that embed
# Python, so allow more than the suite's default 60 s on a loaded machine.
pytestmark = [pytest.mark.daskcpp_ready, pytest.mark.timeout(150)]


# The options every daskcpp-worker (nanny) command here runs with.
NANNY_ARGS = ("--memory-limit", "2GB", "--death-timeout", "30")


def _add_nanny(cluster, name: str, *extra: str) -> ManagedProcess:
    """Starts a daskcpp-worker command with its nanny (the default) and one thread."""
    return cluster.add_daskcpp_worker(name, *NANNY_ARGS, *extra, nthreads=1, nanny=True)


def _workers_by_name(client) -> dict[str, dict]:
    """Running workers by name, each with its address added."""
    out = {}
    for addr, info in client.scheduler_info()["workers"].items():
        if info.get("status") == "running":
            out[info["name"]] = {**info, "address": addr}
    return out


def _children(proc: ManagedProcess) -> list[int]:
    return [c.pid for c in psutil.Process(proc.pid).children()]


def _only_child(proc: ManagedProcess) -> int:
    children = _children(proc)
    assert len(children) == 1, children
    return children[0]


def _slow_inc(x):
    import time

    time.sleep(0.05)
    return x + 1


def inc(x):
    return x + 1


def _pid():
    return os.getpid()


def test_sigkilled_worker_process_comes_back(worker_cluster):
    nanny_a = _add_nanny(worker_cluster, "a")
    _add_nanny(worker_cluster, "b")
    with worker_cluster.client(2, timeout=START_TIMEOUT_S) as client:
        before = _workers_by_name(client)
        assert sorted(before) == ["a", "b"]
        # Each worker registered with its nanny's address (and they differ).
        assert before["a"]["nanny"].startswith("tcp://127.0.0.1:")
        assert before["a"]["nanny"] != before["b"]["nanny"]
        old_pid = _only_child(nanny_a)
        assert client.submit(_pid, workers=[before["a"]["address"]], pure=False).result() == old_pid

        layer = client.map(_slow_inc, range(200), key=[f"inc-{i}" for i in range(200)])
        total = client.submit(sum, layer, key="total")
        wait_for(lambda: client.has_what().get(before["a"]["address"]), 30, "results on worker a")
        os.kill(old_pid, signal.SIGKILL)
        assert total.result(timeout=90) == sum(range(1, 201))

        # The nanny started a new worker process, registered under the same name (the
        # scheduler removed the killed one before it could finish the graph).
        after = wait_for(lambda: _workers_by_name(client).get("a"), START_TIMEOUT_S, "worker a back")
        new_pid = _only_child(nanny_a)
        assert new_pid != old_pid
        assert after["nanny"] == before["a"]["nanny"]
        assert nanny_a.alive()
        assert client.submit(_pid, workers=[after["address"]], pure=False).result() == new_pid
        assert client.submit(inc, 41, workers=[after["address"]]).result() == 42
        assert re.search(rf"Worker process {old_pid} was killed by signal 9", nanny_a.log_text())


def test_client_restart(worker_cluster):
    from distributed.client import FutureCancelledError

    nannies = {name: _add_nanny(worker_cluster, name) for name in ("a", "b")}
    with worker_cluster.client(2, timeout=START_TIMEOUT_S) as client:
        old_pids = {name: _only_child(proc) for name, proc in nannies.items()}
        held = client.map(inc, range(10))
        assert client.gather(held) == list(range(1, 11))
        assert client.restart(timeout=90) is None

        # Futures held before are cancelled (Client._handle_restart).
        assert all(f.status == "cancelled" for f in held)
        with pytest.raises(FutureCancelledError):
            held[0].result(timeout=5)
        # Both workers are new processes, registered under the same names, with the
        # same nannies.
        workers = _workers_by_name(client)
        assert sorted(workers) == ["a", "b"]
        for name, proc in nannies.items():
            new_pid = _only_child(proc)
            assert new_pid != old_pids[name]
            assert proc.alive()
            assert client.submit(_pid, workers=[workers[name]["address"]], pure=False).result() == new_pid
        assert client.gather(client.map(inc, range(20))) == list(range(1, 21))
        assert client.submit(sum, client.map(inc, range(5))).result() == 15


def test_nworkers_two(worker_cluster):
    nanny = _add_nanny(worker_cluster, "w", "--nworkers", "2")
    with worker_cluster.client(2, timeout=START_TIMEOUT_S) as client:
        workers = _workers_by_name(client)
        assert sorted(workers) == ["w-0", "w-1"]
        assert workers["w-0"]["nanny"] != workers["w-1"]["nanny"]
        children = sorted(_children(nanny))
        assert len(children) == 2
        pids = sorted(client.submit(_pid, workers=[w["address"]], pure=False).result() for w in workers.values())
        assert pids == children
        assert client.gather(client.map(inc, range(50))) == list(range(1, 51))

        nanny.popen.send_signal(signal.SIGTERM)
        assert nanny.popen.wait(timeout=30) == 0
        assert not any(psutil.pid_exists(pid) for pid in children)
        wait_for(lambda: not client.scheduler_info()["workers"], 20, "both workers removed")


def test_sigterm_stops_nanny_and_worker(worker_cluster):
    nanny = _add_nanny(worker_cluster, "a")
    with worker_cluster.client(1, timeout=START_TIMEOUT_S) as client:
        assert client.submit(inc, 1).result() == 2
        child = _only_child(nanny)
        nanny.popen.send_signal(signal.SIGTERM)
        assert nanny.popen.wait(timeout=30) == 0
        assert not psutil.pid_exists(child)
        log = nanny.log_text()
        assert "Nanny asking worker to close. Reason: signal-SIGTERM" in log
        # The nanny logs every non-zero exit of its worker (WorkerProcess.mark_stopped).
        assert f"Worker process {child} " not in log, log
        assert "Restarting worker" not in log
        wait_for(lambda: not client.scheduler_info()["workers"], 20, "worker removed")


def test_scheduler_close_closes_nanny(worker_cluster, scheduler_kind):
    nanny = _add_nanny(worker_cluster, "a")
    with worker_cluster.client(1, timeout=START_TIMEOUT_S) as client:
        assert client.submit(inc, 1).result() == 2
        child = _only_child(nanny)
        client.shutdown()
    # The worker told its nanny close_gracefully before exiting with 0, so the nanny
    # closed instead of restarting it.
    assert nanny.popen.wait(timeout=30) == 0
    assert not psutil.pid_exists(child)
    log = nanny.log_text()
    assert "Closing Nanny gracefully" in log
    assert f"Worker process {child} " not in log, log
    assert "Restarting worker" not in log
