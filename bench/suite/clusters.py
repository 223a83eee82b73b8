"""Benchmark clusters: a scheduler (stock `dask scheduler` or
`daskcpp-scheduler`) plus workers of one kind -- stock `dask worker
--no-nanny`, `daskcpp-worker`, or one `daskcpp-simworker` process holding many
simulated workers -- all on 127.0.0.1.

Process management is the integration tests' (tests/integration/cluster.py:
process groups, log files, deadlines); this module only adds the two worker
kinds that file does not start. Used from the runner's thread only."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))

from cluster import Cluster, ClusterError, ManagedProcess, wait_for  # noqa: E402

from .workloads import proc_status_bytes  # noqa: E402

SCHEDULER_KINDS = ("stock", "daskcpp")
WORKER_KINDS = ("stock", "daskcpp", "sim")
START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ClusterSpec:
    scheduler: str  # stock | daskcpp
    workers: str  # stock | daskcpp | sim
    n_workers: int
    nthreads: int = 1
    # Registers tasks.NoopTransitionPlugin before the cases run: the cost of a
    # scheduler plugin with a transition hook.
    plugin: bool = False

    def describe(self) -> str:
        kind = {"stock": "dask worker", "daskcpp": "daskcpp-worker", "sim": "simulated"}[self.workers]
        with_plugin = ", no-op transition plugin" if self.plugin else ""
        return f"{self.scheduler} scheduler + {self.n_workers} x {kind} ({self.nthreads} thread){with_plugin}"


def build_paths(build_dir: Path) -> dict[str, Path]:
    return {
        "daskcpp-scheduler": build_dir / "scheduler" / "daskcpp-scheduler",
        "daskcpp-worker": build_dir / "worker" / "daskcpp-worker",
        "daskcpp-simworker": build_dir / "bench" / "daskcpp-simworker",
    }


class BenchCluster(Cluster):
    """A started cluster of `spec`; `close()` kills every process."""

    def __init__(self, spec: ClusterSpec, workdir: Path, build_dir: Path):
        # bench/ on the path: the workers import suite.tasks by reference, and
        # both schedulers unpickle graphs that name those functions.
        python_path = os.pathsep.join(filter(None, [str(BENCH_DIR), os.environ.get("PYTHONPATH")]))
        env = {"PYTHONPATH": python_path}
        super().__init__(spec.scheduler, workdir, scheduler_env=env, worker_env=env)
        self.spec = spec
        self.paths = build_paths(build_dir)
        # cluster.SchedulerProcess finds daskcpp-scheduler through this variable.
        os.environ["DASKCPP_BUILD_DIR"] = str(build_dir)
        try:
            self._start()
        except BaseException:
            log = self.dump_logs(tail_lines=40)
            self.close()
            print(log, file=sys.stderr)
            raise

    def _start(self) -> None:
        self.start_scheduler()
        spec = self.spec
        if spec.workers == "stock":
            for i in range(spec.n_workers):
                self.add_worker(nanny=False, name=f"w{i}", nthreads=spec.nthreads)
        elif spec.workers == "daskcpp":
            for i in range(spec.n_workers):
                self._add_daskcpp_worker(f"w{i}")
        elif spec.workers == "sim":
            self._add_sim_workers()
        else:
            raise ValueError(f"unknown worker kind {spec.workers!r}")
        self._wait_for_workers()

    def _wait_for_workers(self) -> None:
        """Until all workers run at the scheduler; fails at once when a process
        of the cluster exits (cluster.Cluster.wait_for_workers would wait out
        its timeout)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            dead = [p for p in self.processes() if not p.alive()]
            if dead:
                raise ClusterError(f"{dead[0].describe()} during start-up: "
                                   + " | ".join(dead[0].log_text(3).splitlines()))
            try:
                if len(self.running_workers()) == self.spec.n_workers:
                    return
            except Exception:  # noqa: BLE001 - scheduler not answering yet
                pass
            if time.monotonic() > deadline:
                raise ClusterError(f"{self.spec.n_workers} workers not running after {START_TIMEOUT_S:.0f} s")
            time.sleep(0.1)

    def _binary(self, name: str) -> Path:
        path = self.paths[name]
        if not path.is_file():
            raise ClusterError(f"{name} not built: {path} does not exist")
        return path

    def _add_daskcpp_worker(self, name: str) -> ManagedProcess:
        argv = [str(self._binary("daskcpp-worker")), self.address, "--host", "127.0.0.1",
                "--nthreads", str(self.spec.nthreads), "--name", name, "--no-nanny",
                "--local-directory", str(self.workdir / f"{name}-space"), "--log-level", "warning"]
        proc = ManagedProcess(f"worker[{name}]", argv, self.workdir / f"worker-{name}.log", self.worker_env)
        self.workers.append(proc)
        return proc

    def _add_sim_workers(self) -> ManagedProcess:
        argv = [str(self._binary("daskcpp-simworker")), self.address,
                "--workers", str(self.spec.n_workers), "--nthreads", str(self.spec.nthreads),
                "--host", "127.0.0.1", "--log-level", "warning"]
        proc = ManagedProcess("simworker", argv, self.workdir / "simworker.log", self.worker_env)
        self.workers.append(proc)
        ready = f"simworker ready {self.spec.n_workers}"
        wait_for(lambda: ready in proc.log_text(), START_TIMEOUT_S, f"'{ready}'", proc=proc,
                 interval=0.1, on_timeout=lambda: proc.log_text(40))
        return proc

    def sim_stats(self) -> dict:
        """The simworker's counters since the last call (SIGUSR1 makes it print
        `simworker stats {json}` and reset; bench/sim/sim_stats.hpp): compute-tasks
        received, task-finished sent, the unix times of the first and the last, and
        its CPU seconds."""
        (sim,) = self.workers
        marker = "simworker stats "
        seen = sim.log_text().count(marker)
        os.kill(sim.pid, signal.SIGUSR1)
        wait_for(lambda: sim.log_text().count(marker) > seen, 30, "simworker stats", proc=sim,
                 interval=0.02)
        line = [ln for ln in sim.log_text().splitlines() if ln.startswith(marker)][-1]
        return json.loads(line[len(marker):])

    def scheduler_cpu_counters(self, client) -> dict | None:
        """daskcpp-scheduler's own CPU split (intake on the interpreter thread,
        the loop thread), cumulative; None on the stock scheduler."""
        if self.spec.scheduler != "daskcpp":
            return None
        return client.sync(client.scheduler.daskcpp_counters)

    def scheduler_peak_rss(self) -> int:
        return proc_status_bytes(self.scheduler.pid, "VmHWM")

    def worker_peak_rss(self) -> int:
        """The largest VmHWM among the worker processes."""
        return max(proc_status_bytes(p.pid, "VmHWM") for p in self.workers)
