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
from pathlib import Path

import psutil
import pytest

from cluster import REPO_ROOT, TESTS_DIR, ManagedProcess, SchedulerProcess, wait_for

START_TIMEOUT_S = 45.0

# Every scenario runs under both schedulers; each starts several processes that embed
# Python, so allow more than the suite's default 60 s on a loaded machine.
pytestmark = [pytest.mark.daskcpp_ready, pytest.mark.timeout(150)]


def _binary() -> Path:
    build_dir = os.environ.get("DASKCPP_BUILD_DIR")
    if build_dir:
        path = Path(build_dir).resolve() / "worker" / "daskcpp-worker"
        assert path.is_file(), f"{path} does not exist"
        return path
    for name in ("release", "debug"):
        path = REPO_ROOT / "build" / name / "worker" / "daskcpp-worker"
        if path.is_file():
            return path
    pytest.skip("daskcpp-worker not built (set DASKCPP_BUILD_DIR)")


class NannyCluster:
    """A scheduler of `kind` plus daskcpp-worker commands (each a nanny process with
    its worker children); everything killed at close."""

    def __init__(self, tmp_path: Path, kind: str):
        self.tmp_path = tmp_path
        self.procs: list[ManagedProcess] = []
        self.python_path = os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))
        env = {"PYTHONPATH": self.python_path, "DASK_DISTRIBUTED__SCHEDULER__ACTIVE_MEMORY_MANAGER__START": "False"}
        self.scheduler = SchedulerProcess(tmp_path, kind, env=env)
        self.procs.append(self.scheduler)
        self.address = self.scheduler.address

    def add_worker(self, name: str, *extra: str, nthreads: int = 1) -> ManagedProcess:
        argv = [str(_binary()), "--scheduler-file", str(self.scheduler.scheduler_file),
                "--host", "127.0.0.1", "--nthreads", str(nthreads), "--name", name,
                "--memory-limit", "2GB", "--death-timeout", "30", *extra]  # fmt: skip
        proc = ManagedProcess(f"nanny-{name}", argv, self.tmp_path / f"nanny-{name}.log",
                              env={"PYTHONPATH": self.python_path})
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(f"==== {p.describe()}\n{p.log_text(80)}" for p in self.procs)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop(timeout=5)


@pytest.fixture
def nanny_cluster(tmp_path, request, scheduler_kind):
    cluster = NannyCluster(tmp_path, scheduler_kind)
    yield cluster
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        print(cluster.logs())
    cluster.close()


def _client(cluster: NannyCluster, n_workers: int):
    from distributed import Client

    client = Client(cluster.address, timeout=START_TIMEOUT_S)
    client.wait_for_workers(n_workers, timeout=START_TIMEOUT_S)
    return client


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


def test_sigkilled_worker_process_comes_back(nanny_cluster):
    nanny_a = nanny_cluster.add_worker("a")
    nanny_cluster.add_worker("b")
    with _client(nanny_cluster, 2) as client:
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


def test_client_restart(nanny_cluster):
    from distributed.client import FutureCancelledError

    nannies = {name: nanny_cluster.add_worker(name) for name in ("a", "b")}
    with _client(nanny_cluster, 2) as client:
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


def test_nworkers_two(nanny_cluster):
    nanny = nanny_cluster.add_worker("w", "--nworkers", "2")
    with _client(nanny_cluster, 2) as client:
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


def test_sigterm_stops_nanny_and_worker(nanny_cluster):
    nanny = nanny_cluster.add_worker("a")
    with _client(nanny_cluster, 1) as client:
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


def test_scheduler_close_closes_nanny(nanny_cluster, scheduler_kind):
    nanny = nanny_cluster.add_worker("a")
    with _client(nanny_cluster, 1) as client:
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
