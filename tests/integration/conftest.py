"""Fixtures for the integration tests (style.md §7: real processes on
127.0.0.1, port 0, conditions waited for with deadlines, logs dumped on failure).

Two families:

* ``scheduler`` / ``scheduler_address``: the daskcpp-scheduler binary alone
  (tests/integration/test_scheduler_connect.py).
* ``cluster`` / ``client`` / ``cluster_factory``: a scheduler of each kind
  (stock, daskcpp) with stock workers, see cluster.py. Tests without the
  ``daskcpp_ready`` marker are skipped on daskcpp.

The daskcpp binary is $DASKCPP_BUILD_DIR/scheduler/daskcpp-scheduler, else the
first of <repo>/build/release, <repo>/build/debug that holds one.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from distributed import Client

from cluster import (SCHEDULER_KINDS, WORKER_MODES, ClusterError, daskcpp_binary_required,
                     daskcpp_scheduler_binary, start_cluster, wait_for)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "daskcpp_ready: the scenario is expected to pass on daskcpp-scheduler")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request) -> bool:
    return any(getattr(getattr(request.node, "rep_" + w, None), "failed", False)
               for w in ("setup", "call"))


def _binary_or_skip() -> Path:
    path, reason = daskcpp_scheduler_binary()
    if path is None:
        if daskcpp_binary_required():
            pytest.fail(reason)
        pytest.skip(reason)
    return path


# --------------------------------------------------------------------------
# daskcpp-scheduler alone
# --------------------------------------------------------------------------

class SchedulerProcess:
    """A running daskcpp-scheduler; `log()` returns its output so far."""

    def __init__(self, binary: Path, tmp_path: Path, extra_args=()):
        self.scheduler_file = tmp_path / "scheduler.json"
        self.log_path = tmp_path / "scheduler.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(binary), "--host", "127.0.0.1", "--port", "0",
                 "--scheduler-file", str(self.scheduler_file), "--no-dashboard",
                 *extra_args],
                stdout=log, stderr=subprocess.STDOUT)
        self.identity: dict = wait_for(self._read_file, 20, "the scheduler file",
                                       on_timeout=self.log)
        self.address: str = self.identity["address"]

    def _read_file(self):
        if self.proc.poll() is not None:
            raise ClusterError(f"daskcpp-scheduler exited with {self.proc.returncode}")
        try:
            return json.loads(self.scheduler_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def scheduler(request, tmp_path):
    """daskcpp-scheduler on 127.0.0.1, port 0; stopped (SIGTERM) on teardown."""
    proc = SchedulerProcess(_binary_or_skip(), tmp_path)
    try:
        yield proc
    finally:
        proc.stop()
        if _failed(request):
            print(f"\n----- daskcpp-scheduler log ({proc.address}) -----\n{proc.log()}")


@pytest.fixture
def scheduler_address(scheduler) -> str:
    return scheduler.address


# --------------------------------------------------------------------------
# Scheduler kind x worker mode clusters with stock workers
# --------------------------------------------------------------------------

@pytest.fixture(scope="session", params=SCHEDULER_KINDS)
def scheduler_kind(request) -> str:
    return request.param


@pytest.fixture(scope="session", params=WORKER_MODES)
def worker_mode(request) -> str:
    return request.param


@pytest.fixture(autouse=True)
def _skip_not_ready_on_daskcpp(request):
    if "scheduler_kind" not in request.fixturenames:
        return
    if request.getfixturevalue("scheduler_kind") != "daskcpp":
        return
    if request.node.get_closest_marker("daskcpp_ready") is None:
        pytest.skip("not daskcpp_ready yet")
    _binary_or_skip()


_shared_clusters: dict = {}


@pytest.fixture(scope="session")
def _cluster_pool(tmp_path_factory):
    yield _shared_clusters
    for c in _shared_clusters.values():
        c.close()
    _shared_clusters.clear()


@pytest.fixture
def cluster(request, scheduler_kind, worker_mode, _cluster_pool, tmp_path_factory):
    """Shared scheduler + 2 workers per (kind, mode); restarted if a process died."""
    key = (scheduler_kind, worker_mode)
    c = _cluster_pool.get(key)
    if c is not None and not c.healthy():
        c.close()
        c = None
    if c is None:
        c = start_cluster(scheduler_kind, tmp_path_factory.mktemp(f"{scheduler_kind}-{worker_mode}"),
                          n_workers=2, nanny=(worker_mode == "nanny"))
        _cluster_pool[key] = c
    yield c
    if _failed(request):
        request.node.add_report_section("call", "cluster logs", c.dump_logs())


@pytest.fixture
def client(cluster):
    with Client(cluster.address, timeout=15, set_as_default=False) as c:
        yield c


@pytest.fixture
def cluster_factory(request, scheduler_kind, tmp_path):
    """Builds private clusters of the test's scheduler kind; all closed on teardown."""
    made = []

    def make(**kwargs):
        c = start_cluster(scheduler_kind, tmp_path / f"cluster{len(made)}", **kwargs)
        made.append(c)
        return c

    yield make
    if _failed(request):
        for c in made:
            request.node.add_report_section("call", "cluster logs", c.dump_logs())
    for c in made:
        c.close()
