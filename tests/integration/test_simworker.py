"""daskcpp-simworker (bench/sim/): many simulated workers in one process that
speak the real worker protocol and return None for every task (issue 5).

Each case runs the simworker against both scheduler kinds with 10 and 100
simulated workers and checks what the benchmark driver relies on: the
"simworker ready N" line, N running workers at the scheduler, 1,000 mapped tasks
gathered as Nones (through the scheduler and directly from the workers), a tree
reduction whose dependencies live on other simulated workers, and a clean exit
on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess

import dask.array as da
import pytest
from distributed import Client, wait

from cluster import START_TIMEOUT_S, TESTS_DIR, ManagedProcess, SchedulerProcess, wait_for
from conftest import build_dir
from tasks import inc

pytestmark = pytest.mark.daskcpp_ready

# Generous: 100 workers register one by one with a stock scheduler on a loaded
# 2-core machine.
READY_TIMEOUT_S = 45.0


def simworker_binary():
    path = build_dir() / "bench" / "daskcpp-simworker"
    if not path.is_file():
        pytest.fail(f"{path} not built (bench target daskcpp-simworker)")
    return path


class SimCluster:
    """A scheduler of one kind plus one daskcpp-simworker process."""

    def __init__(self, kind: str, workdir, n_workers: int, extra_args=()):
        self.kind = kind
        self.n_workers = n_workers
        # The scheduler unpickles the graph, which refers to tasks.inc by name.
        python_path = os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))
        self.scheduler = SchedulerProcess(workdir, kind, env={"PYTHONPATH": python_path})
        self.address = self.scheduler.address
        argv = [str(simworker_binary()), self.address, "--workers", str(n_workers), *extra_args]
        self.sim = ManagedProcess("simworker", argv, workdir / "simworker.log")
        try:
            wait_for(
                lambda: f"simworker ready {n_workers}" in self.sim.log_text(),
                READY_TIMEOUT_S,
                f"'simworker ready {n_workers}'",
                proc=self.sim,
                on_timeout=lambda: self.sim.log_text(40),
            )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.sim.stop()
        self.scheduler.stop()

    def logs(self) -> str:
        return f"--- simworker\n{self.sim.log_text(60)}\n--- scheduler\n{self.scheduler.log_text(60)}"


@pytest.fixture(scope="module", params=[10, 100], ids=lambda n: f"{n}w")
def sim_cluster(request, scheduler_kind, tmp_path_factory):
    cluster = SimCluster(scheduler_kind, tmp_path_factory.mktemp(f"sim-{scheduler_kind}"), request.param)
    yield cluster
    cluster.close()


@pytest.fixture
def sim_client(sim_cluster):
    with Client(sim_cluster.address, timeout=30) as client:
        client.wait_for_workers(sim_cluster.n_workers, timeout=START_TIMEOUT_S)
        yield client


def test_scheduler_lists_every_simulated_worker(sim_cluster, sim_client):
    workers = sim_client.scheduler_info(n_workers=-1)["workers"]
    names = sorted(info["name"] for info in workers.values())
    assert names == sorted(f"sim-{i}" for i in range(sim_cluster.n_workers))
    assert {info["nthreads"] for info in workers.values()} == {1}
    assert all(addr.startswith("tcp://127.0.0.1:") for addr in workers)


def test_map_of_1000_gathers_nones(sim_client):
    futures = sim_client.map(inc, range(1000), pure=False)
    wait(futures, timeout=120)
    assert [f.status for f in futures if f.status != "finished"] == []
    assert futures[0].type is type(None)
    assert sim_client.gather(futures) == [None] * 1000
    # Straight from the simulated workers' get_data (pickle protocol 5 to a client).
    assert sim_client.gather(futures[:50], direct=True) == [None] * 50


def test_array_tree_reduction_across_workers(sim_client):
    # 300 one-element chunks: the sum's partial reductions depend on chunks held
    # by other simulated workers.
    assert (da.ones(300, chunks=1) + 1).sum().compute() is None


def test_sigterm_closes_workers_and_exits_zero(scheduler_kind, tmp_path):
    cluster = SimCluster(scheduler_kind, tmp_path, 10)
    try:
        with Client(cluster.address, timeout=30) as client:
            client.wait_for_workers(10, timeout=START_TIMEOUT_S)
            cluster.sim.popen.send_signal(signal.SIGTERM)
            assert cluster.sim.wait_exit(timeout=30) == 0
            wait_for(lambda: not client.scheduler_info()["workers"], 30, "the scheduler to drop all 10 workers")
    finally:
        cluster.close()


def test_bad_command_line_is_rejected():
    proc = subprocess.run(
        [str(simworker_binary()), "tcp://127.0.0.1:1", "--workers", "zero"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "--workers: expected an integer, got 'zero'" in proc.stderr
    assert proc.stdout == ""
