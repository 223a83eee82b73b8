"""Process management for the integration tests: schedulers and stock workers as
real processes on 127.0.0.1.

Every scenario runs against two scheduler kinds with real `dask worker` processes
and an unmodified `distributed.Client`:

* ``stock``   -- ``.venv/bin/dask scheduler``, the reference; always runs.
* ``daskcpp`` -- our ``daskcpp-scheduler`` binary.

and, for the shared cluster, two worker modes: ``no-nanny`` and ``nanny``.
Test ids carry both, e.g. ``test_submit_result[stock-nanny]``.

Running
-------
From the repo root (the test environment is ``.venv``)::

    .venv/bin/python -m pytest tests/integration               # full matrix
    .venv/bin/python -m pytest tests/integration -k stock      # reference only
    .venv/bin/python -m pytest tests/integration -k daskcpp    # ours only
    .venv/bin/python -m pytest tests/integration -k "daskcpp and no-nanny"
    .venv/bin/python -m pytest tests/integration -rs           # list skip reasons

The daskcpp binary is ``$DASKCPP_BUILD_DIR/scheduler/daskcpp-scheduler``
(tools/test sets ``DASKCPP_BUILD_DIR=build/release``). Without the variable the
first of ``build/release``, ``build/debug`` that holds a binary is used; if none
does, daskcpp cases are skipped with that reason. If the variable is set and the
binary is missing, daskcpp cases fail (CI must not silently skip them).

Enabling a scenario on daskcpp
------------------------------
The single switch is the marker ``@pytest.mark.daskcpp_ready`` on a test (or on
a module via ``pytestmark``). Tests without it are SKIPPED on daskcpp with the
reason "not daskcpp_ready yet"; they always run on stock.

Files and fixtures
------------------
* cluster.py -- this module: `SchedulerProcess` (either kind), `Cluster`
  (scheduler + stock workers), `start_cluster`, `wait_for`, and `WorkerCluster`
  (scheduler + daskcpp-worker / stock workers added one by one with their own
  options; the test_worker_*.py files, through conftest's `worker_cluster`).
* conftest.py -- fixtures: `scheduler`/`scheduler_address` (bare daskcpp
  scheduler), `scheduler_kind` x `worker_mode` parameters, `cluster` (shared,
  2 workers), `client`, `cluster_factory` (private clusters), `gate`,
  `worker_cluster`.
* tasks.py -- the task functions (imported by reference on the workers and by
  the scheduler's graph unpickling; PYTHONPATH is set for both).
* raw_comm.py -- hand-framed socket peer for the bad-input tests.
* test_compute.py, test_errors.py, test_failures.py, test_bad_input.py --
  the scenarios; test_scheduler_connect.py -- daskcpp-only connection tests.

Design
------
* Ports are 0 everywhere; the scheduler writes ``--scheduler-file`` and we read
  its address from it. Readiness is waited for with deadlines (`wait_for`),
  never with bare sleeps.
* Each process runs in its own session (process group); teardown kills the
  whole group with SIGKILL, so a nanny's worker child never outlives the test.
* All output goes to one log file per process; when a test fails, conftest
  appends the tail of every process's log to the test report.
* The shared cluster (scheduler + 2 workers) is session-scoped per
  (scheduler kind, worker mode) and is restarted if a process in it died.
  Tests that kill processes or need special configuration build their own
  clusters through the ``cluster_factory`` fixture.
* Every test has a timeout (pytest.ini, 60 s); pytest-timeout's signal method
  still runs fixture teardown, so processes are killed on timeouts too.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, TypeVar

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parents[1]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
DASK_CLI = VENV_BIN / "dask"

SCHEDULER_KINDS = ("stock", "daskcpp")
WORKER_MODES = ("no-nanny", "nanny")

# How long process start-up may take before we call it a failure. Generous
# because the machine is shared and a nanny imports distributed twice.
START_TIMEOUT_S = 30.0
LOG_TAIL_LINES = 120

T = TypeVar("T")


class ClusterError(RuntimeError):
    """A process did not start or exited when it should not have."""


class WaitTimeout(TimeoutError):
    """`wait_for` ran out of time."""


def wait_for(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    proc=None,
    interval: float = 0.02,
    on_timeout: Callable[[], str] | None = None,
) -> T:
    """Polls `condition` until it returns a truthy value (which is returned) or
    `timeout` seconds pass (raises WaitTimeout naming `what`). Exceptions from
    the condition count as "not yet"; the last one is reported on timeout.
    With `proc` (a Popen or ManagedProcess), fails early if it exits."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    popen = getattr(proc, "popen", proc)
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - "not yet", reported below
            last_error = exc
        if popen is not None and popen.poll() is not None:
            raise ClusterError(f"process exited with {popen.returncode} while waiting for {what}")
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            extra = ("\n" + on_timeout()) if on_timeout else ""
            raise WaitTimeout(f"timed out after {timeout:.1f}s waiting for {what}{detail}{extra}")
        time.sleep(interval)


def daskcpp_scheduler_binary() -> tuple[Path | None, str]:
    """Returns (path, "") of the daskcpp-scheduler binary, or (None, reason)."""
    build_dir = os.environ.get("DASKCPP_BUILD_DIR")
    if build_dir:
        path = Path(build_dir) / "scheduler" / "daskcpp-scheduler"
        if path.is_file():
            return path, ""
        return None, f"DASKCPP_BUILD_DIR is set but {path} does not exist"
    for name in ("release", "debug"):
        path = REPO_ROOT / "build" / name / "scheduler" / "daskcpp-scheduler"
        if path.is_file():
            return path, ""
    return None, "daskcpp-scheduler not built (set DASKCPP_BUILD_DIR or build build/release)"


def daskcpp_binary_required() -> bool:
    """True when a missing daskcpp binary must fail tests instead of skipping."""
    return bool(os.environ.get("DASKCPP_BUILD_DIR"))


class ManagedProcess:
    """One child process in its own process group, output captured in a log file.

    Not thread-safe; owned by the test thread."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        full_env = dict(os.environ)
        full_env.update(env or {})
        # Unbuffered so the log is complete when we dump it.
        full_env["PYTHONUNBUFFERED"] = "1"
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=log_path.parent,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Sends `sig` to the main process only (not its children)."""
        if self.alive():
            os.kill(self.pid, sig)

    def wait_exit(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self, timeout: float | None = None) -> int | None:
        """With `timeout`, first SIGTERM and up to `timeout` s for a clean exit.
        Then SIGKILLs whatever is left of the process group (a nanny's worker
        child included), reaps, and returns the exit code."""
        if timeout is not None and self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        return self.popen.returncode

    def rss_bytes(self) -> int:
        """Resident set size of the main process (VmRSS from /proc)."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise ClusterError(f"{self.name}: no VmRSS in /proc/{self.pid}/status")

    def log_text(self, tail_lines: int | None = None) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "<no log>"
        if tail_lines is not None:
            lines = text.splitlines()
            if len(lines) > tail_lines:
                text = f"... ({len(lines) - tail_lines} earlier lines in {self.log_path})\n" + "\n".join(
                    lines[-tail_lines:]
                )
        return text

    def describe(self) -> str:
        rc = self.popen.poll()
        state = "running" if rc is None else f"exited rc={rc}"
        return f"{self.name} pid={self.pid} {state}"


def run_rpc(address: str, op: str, timeout: float = 5.0, **kwargs):
    """One request/reply to `address` through a stock distributed rpc (used to
    poll `identity`; works against both scheduler kinds)."""
    from distributed.core import rpc

    async def call():
        async with rpc(address, timeout=timeout) as remote:
            return await asyncio.wait_for(getattr(remote, op)(**kwargs), timeout)

    return asyncio.run(call())


class SchedulerProcess(ManagedProcess):
    """A running scheduler of either kind, started on 127.0.0.1 port 0; ready
    (scheduler file written) when the constructor returns.

    `identity` is the scheduler file's content, `proc` the Popen, `log()` the
    output so far, `stop()` a SIGTERM with a clean-exit grace period."""

    def __init__(
        self,
        workdir: Path,
        kind: str = "daskcpp",
        env: dict[str, str] | None = None,
        extra_args: Iterable[str] = (),
    ):
        if kind not in SCHEDULER_KINDS:
            raise ValueError(f"unknown scheduler kind {kind!r}")
        self.kind = kind
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.scheduler_file = workdir / "scheduler.json"
        self.scheduler_file.unlink(missing_ok=True)
        if kind == "stock":
            argv = [str(DASK_CLI), "scheduler"]
        else:
            binary, reason = daskcpp_scheduler_binary()
            if binary is None:
                raise ClusterError(reason)
            argv = [str(binary)]
        argv += ["--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                 "--scheduler-file", str(self.scheduler_file), *extra_args]  # fmt: skip
        super().__init__(f"scheduler[{kind}]", argv, workdir / "scheduler.log", env)
        try:
            self.identity: dict = wait_for(
                self._read_file,
                START_TIMEOUT_S,
                f"the {kind} scheduler file",
                proc=self,
                on_timeout=lambda: self.log_text(40),
            )
        except BaseException:
            self.stop()
            raise
        self.address: str = self.identity["address"]

    @property
    def proc(self) -> subprocess.Popen:
        return self.popen

    def log(self) -> str:
        return self.log_text()

    def stop(self, timeout: float | None = 10) -> int | None:
        return super().stop(timeout)

    def _read_file(self):
        try:
            return json.loads(self.scheduler_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None


class Cluster:
    """A scheduler (stock or daskcpp) plus stock `dask worker` processes.

    Owns its processes: `close()` kills them all (idempotent). Used from the test
    thread only."""

    _ids = itertools.count()

    def __init__(
        self,
        kind: str,
        workdir: Path,
        scheduler_env: dict[str, str] | None = None,
        worker_env: dict[str, str] | None = None,
    ):
        if kind not in SCHEDULER_KINDS:
            raise ValueError(f"unknown scheduler kind {kind!r}")
        self.kind = kind
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Workers import the task functions (tasks.py) by reference, and the
        # scheduler unpickles the graph (stock; daskcpp's embedded materializer).
        python_path = os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))
        self.scheduler_env = {"PYTHONPATH": python_path, **(scheduler_env or {})}
        self.worker_env = {"PYTHONPATH": python_path, **(worker_env or {})}
        self.scheduler: SchedulerProcess | None = None
        self.workers: list[ManagedProcess] = []
        self.address: str = ""
        self._worker_names = itertools.count()

    # ---- start-up ---------------------------------------------------------

    def start_scheduler(self) -> str:
        self.scheduler = SchedulerProcess(self.workdir, self.kind, env=self.scheduler_env)
        self.address = self.scheduler.address
        return self.address

    def add_worker(self, nanny: bool, name: str | None = None, nthreads: int = 1) -> ManagedProcess:
        """Starts a stock `dask worker`; does not wait for it to register."""
        if not self.address:
            raise ClusterError("start the scheduler first")
        name = name or f"w{next(self._worker_names)}"
        argv = [
            str(DASK_CLI), "worker", self.address,
            "--nthreads", str(nthreads),
            "--memory-limit", "2GiB",
            "--no-dashboard",
            "--name", name,
            "--local-directory", str(self.workdir / f"{name}-space"),
        ]  # fmt: skip
        argv.append("--nanny" if nanny else "--no-nanny")
        proc = ManagedProcess(f"worker[{name}]", argv, self.workdir / f"worker-{name}.log", self.worker_env)
        self.workers.append(proc)
        return proc

    # ---- observation ------------------------------------------------------

    def identity(self) -> dict:
        return run_rpc(self.address, "identity")

    def running_workers(self) -> dict[str, dict]:
        """Workers the scheduler reports with status "running", by address."""
        workers = self.identity().get("workers", {})
        return {addr: info for addr, info in workers.items() if info.get("status") == "running"}

    def wait_for_workers(self, n: int, timeout: float = START_TIMEOUT_S) -> dict[str, dict]:
        """Waits until exactly `n` workers are running at the scheduler."""

        def ready():
            self._check_scheduler_alive()
            running = self.running_workers()
            return running if len(running) == n else None

        return self._wait(ready, timeout, f"{n} running worker(s)")

    def worker_address(self, name: str) -> str:
        """Address of the running worker called `name`."""
        for addr, info in self.running_workers().items():
            if info.get("name") == name:
                return addr
        raise ClusterError(f"no running worker named {name!r}")

    def worker_process(self, name: str) -> ManagedProcess:
        """The process started by `add_worker(name=name)`."""
        for proc in self.workers:
            if proc.name == f"worker[{name}]":
                return proc
        raise ClusterError(f"no worker process named {name!r}")

    def healthy(self) -> bool:
        procs = [self.scheduler, *self.workers]
        return all(p is not None and p.alive() for p in procs)

    def processes(self) -> list[ManagedProcess]:
        return [p for p in (self.scheduler, *self.workers) if p is not None]

    def dump_logs(self, tail_lines: int | None = LOG_TAIL_LINES) -> str:
        parts = [f"==== cluster[{self.kind}] at {self.address or '<not started>'} ({self.workdir})"]
        for proc in self.processes():
            parts.append(f"---- {proc.describe()}: {proc.log_path}")
            parts.append(proc.log_text(tail_lines))
        return "\n".join(parts)

    # ---- teardown ---------------------------------------------------------

    def close(self) -> None:
        """Kills every process at once (no graceful shutdown: tests are over)."""
        for proc in reversed(self.processes()):
            proc.stop(timeout=None)

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- helpers ----------------------------------------------------------

    def _check_scheduler_alive(self) -> None:
        if self.scheduler is None or not self.scheduler.alive():
            raise ClusterError(f"scheduler is not running: {self.scheduler and self.scheduler.describe()}")

    def _wait(self, predicate, timeout: float, what: str):
        return wait_for(
            predicate,
            timeout,
            f"{what} [{self.kind}]",
            interval=0.05,
            on_timeout=lambda: self.dump_logs(tail_lines=40),
        )


def start_cluster(
    kind: str,
    workdir: Path,
    n_workers: int = 2,
    nanny: bool = False,
    scheduler_env: dict[str, str] | None = None,
    worker_env: dict[str, str] | None = None,
    worker_names: Iterable[str] | None = None,
) -> Cluster:
    """Starts a scheduler and `n_workers` workers and waits until all are
    running. On any failure the processes started so far are killed."""
    cluster = Cluster(kind, workdir, scheduler_env=scheduler_env, worker_env=worker_env)
    try:
        cluster.start_scheduler()
        names = list(worker_names) if worker_names is not None else [None] * n_workers
        for name in names:
            cluster.add_worker(nanny=nanny, name=name)
        cluster.wait_for_workers(len(names))
    except BaseException:
        log = cluster.dump_logs()
        cluster.close()
        print(log, file=sys.stderr)
        raise
    return cluster


# ---- daskcpp-worker / stock worker clusters ---------------------------------


def daskcpp_worker_binary() -> Path:
    """The daskcpp-worker binary: ``$DASKCPP_BUILD_DIR/worker/daskcpp-worker``, else
    the first of build/release, build/debug that has one. Skips the test when none
    is built; fails it when DASKCPP_BUILD_DIR names a build without one (CI must not
    silently skip)."""
    import pytest

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


class WorkerCluster:
    """A scheduler of `kind` (stock or daskcpp) plus the daskcpp-worker and stock
    `dask worker` processes a test adds one by one, each with the test's own options
    (the worker integration tests: test_worker_*.py). Unlike `Cluster`, nothing is
    waited for until `client(n)`.

    Owns its processes: `close()` stops them all (SIGTERM, 5 s, then SIGKILL of the
    process group). Used from the test thread only."""

    def __init__(self, tmp_path: Path, kind: str, env: dict[str, str] | None = None):
        self.tmp_path = Path(tmp_path)
        # Every process imports the tests' functions by reference, as user code.
        self.python_path = os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))
        # Stock's Active Memory Manager drops redundant replicas every 2 s, which
        # would race the who_has checks that prove a transfer happened. `env`
        # (scheduler only) is applied last.
        scheduler_env = {
            "PYTHONPATH": self.python_path,
            "DASK_DISTRIBUTED__SCHEDULER__ACTIVE_MEMORY_MANAGER__START": "False",
            **(env or {}),
        }
        self.scheduler = SchedulerProcess(self.tmp_path, kind, env=scheduler_env)
        self.procs: list[ManagedProcess] = [self.scheduler]
        self.scheduler_file = self.scheduler.scheduler_file
        self.address = self.scheduler.address

    def add_daskcpp_worker(self, name: str, *extra_args: str, nthreads: int = 2, nanny: bool = False) -> ManagedProcess:
        """Starts `daskcpp-worker --name name` on this scheduler; does not wait for
        it to register. Without `nanny` it runs with --no-nanny; with it, under
        its nanny (daskcpp-worker's default: no flag is added). `extra_args`
        (--memory-limit, --death-timeout, ...) follow the common ones."""
        argv = [str(daskcpp_worker_binary()), "--scheduler-file", str(self.scheduler_file),
                "--host", "127.0.0.1", "--nthreads", str(nthreads), "--name", name]  # fmt: skip
        if not nanny:
            argv.append("--no-nanny")
        return self._spawn(name, [*argv, *extra_args])

    def add_stock_worker(self, name: str, *extra_args: str, nthreads: int = 1) -> ManagedProcess:
        """Starts `dask worker --no-nanny --name name` on this scheduler; does not
        wait for it to register. `extra_args` follow the common ones."""
        argv = [str(DASK_CLI), "worker", "--scheduler-file", str(self.scheduler_file),
                "--host", "127.0.0.1", "--nthreads", str(nthreads), "--name", name,
                "--no-nanny", "--no-dashboard"]  # fmt: skip
        return self._spawn(name, [*argv, *extra_args])

    def client(self, n_workers: int, timeout: float = START_TIMEOUT_S):
        """A distributed.Client on the scheduler, returned once `n_workers` workers
        are there (the caller closes it: `with cluster.client(n) as client`)."""
        from distributed import Client

        client = Client(self.address, timeout=timeout)
        client.wait_for_workers(n_workers, timeout=timeout)
        return client

    def logs(self, tail_lines: int = 80) -> str:
        return "\n".join(f"==== {p.describe()}\n{p.log_text(tail_lines)}" for p in self.procs)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop(timeout=5)

    def _spawn(self, name: str, argv: list[str]) -> ManagedProcess:
        proc = ManagedProcess(name, argv, self.tmp_path / f"{name}.log", env={"PYTHONPATH": self.python_path})
        self.procs.append(proc)
        return proc
