"""Fixtures for the integration tests. Process management (starting stock and
daskcpp schedulers, stock workers, waiting, log dumps) lives in cluster.py --
read its docstring for how to run one scheduler kind and how to enable a test
on daskcpp.

Fixtures:
* `scheduler` / `scheduler_address` -- a bare daskcpp-scheduler (no workers),
  function-scoped; its log is printed when the test fails.
* `scheduler_kind` ("stock" | "daskcpp") x `worker_mode` ("no-nanny" | "nanny")
  -- session-scoped parameters.
* `cluster` -- the shared scheduler + 2 workers for (kind, mode).
* `client` -- a fresh distributed.Client on `cluster`.
* `cluster_factory` -- private clusters for tests that damage them.
* `worker_cluster` -- a `WorkerCluster` of `scheduler_kind` (scheduler only; the
  test adds daskcpp-worker / stock workers), for the test_worker_*.py files.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from cluster import (  # noqa: F401 - wait_for/SchedulerProcess are re-exported for tests
    REPO_ROOT,
    SCHEDULER_KINDS,
    WORKER_MODES,
    Cluster,
    SchedulerProcess,
    WorkerCluster,
    daskcpp_binary_required,
    daskcpp_scheduler_binary,
    start_cluster,
    wait_for,
)

DEFAULT_TIMEOUT_S = 60
NOT_READY_REASON = "not daskcpp_ready yet (add @pytest.mark.daskcpp_ready when daskcpp supports it)"


def build_dir() -> Path:
    env = os.environ.get("DASKCPP_BUILD_DIR")
    return Path(env) if env else REPO_ROOT / "build" / "release"


def scheduler_binary() -> Path:
    """The daskcpp-scheduler binary; skips the test when it is not built (fails
    instead when DASKCPP_BUILD_DIR names a build without it)."""
    path, reason = daskcpp_scheduler_binary()
    if path is None:
        if daskcpp_binary_required():
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "daskcpp_ready: the scenario is expected to pass on daskcpp-scheduler; without it, skipped there",
    )


def pytest_collection_modifyitems(config, items):
    binary, missing_reason = daskcpp_scheduler_binary()
    for item in items:
        # Safety net when the suite is run without tests/integration/pytest.ini.
        if item.get_closest_marker("timeout") is None and not config.getini("timeout"):
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT_S))
        callspec = getattr(item, "callspec", None)
        if callspec is None or callspec.params.get("scheduler_kind") != "daskcpp":
            continue
        if item.get_closest_marker("daskcpp_ready") is None:
            item.add_marker(pytest.mark.skip(reason=NOT_READY_REASON))
        elif binary is None and not daskcpp_binary_required():
            item.add_marker(pytest.mark.skip(reason=missing_reason))


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Records each phase's report on the item (`item.rep_setup` etc.) and, on
    failure, appends the tail of every cluster process's log to the report."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
    if not report.failed:
        return
    clusters: list[Cluster] = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, Cluster):
            clusters.append(value)
        elif isinstance(value, ClusterFactory):
            clusters.extend(value.clusters)
    for cluster in dict.fromkeys(clusters):
        report.sections.append((f"cluster logs [{cluster.kind}] ({report.when})", cluster.dump_logs()))


# ---- a bare daskcpp scheduler -----------------------------------------------


@pytest.fixture
def scheduler(request, tmp_path):
    """Starts daskcpp-scheduler on port 0; yields the SchedulerProcess."""
    scheduler_binary()
    proc = SchedulerProcess(tmp_path, kind="daskcpp")
    try:
        yield proc
    finally:
        proc.stop()
        failed = any(
            getattr(request.node, "rep_" + w, None) is not None and getattr(request.node, "rep_" + w).failed
            for w in ("setup", "call")
        )
        if failed:
            print(f"\n----- daskcpp-scheduler log ({proc.address}) -----\n{proc.log()}")


@pytest.fixture
def scheduler_address(scheduler) -> str:
    return scheduler.address


# ---- parameters -------------------------------------------------------------


@pytest.fixture(scope="session", params=SCHEDULER_KINDS)
def scheduler_kind(request) -> str:
    if request.param == "daskcpp":
        scheduler_binary()
    return request.param


@pytest.fixture(scope="session", params=WORKER_MODES)
def worker_mode(request) -> str:
    return request.param


# ---- clusters with workers --------------------------------------------------


class _SharedClusters:
    """Session-wide cache: one 2-worker cluster per (kind, mode), restarted when
    one of its processes died. Only one runs at a time (2 CPUs)."""

    def __init__(self, tmp_path_factory):
        self._tmp = tmp_path_factory
        self._clusters: dict[tuple[str, str], Cluster] = {}
        # A cluster that failed to start is not retried for every test (each
        # attempt costs the start timeout); later tests fail fast instead.
        self._start_errors: dict[tuple[str, str], str] = {}

    def get(self, kind: str, mode: str) -> Cluster:
        if (kind, mode) in self._start_errors:
            pytest.fail(f"shared {kind}/{mode} cluster failed to start earlier: {self._start_errors[(kind, mode)]}")
        for other in [key for key in self._clusters if key != (kind, mode)]:
            self._clusters.pop(other).close()
        cluster = self._clusters.get((kind, mode))
        if cluster is not None and not cluster.healthy():
            cluster.close()
            cluster = None
        if cluster is None:
            workdir = self._tmp.mktemp(f"shared-{kind}-{mode}")
            try:
                cluster = start_cluster(kind, workdir, n_workers=2, nanny=(mode == "nanny"))
            except Exception as exc:
                self._start_errors[(kind, mode)] = str(exc).splitlines()[0]
                raise
            self._clusters[(kind, mode)] = cluster
        return cluster

    def close_all(self) -> None:
        for cluster in self._clusters.values():
            cluster.close()
        self._clusters.clear()


@pytest.fixture(scope="session")
def _shared_clusters(tmp_path_factory):
    shared = _SharedClusters(tmp_path_factory)
    yield shared
    shared.close_all()


@pytest.fixture
def cluster(_shared_clusters, scheduler_kind, worker_mode) -> Cluster:
    """The shared scheduler + 2 workers for (scheduler_kind, worker_mode). Tests
    must not kill its processes (use `cluster_factory`); if one died anyway,
    the next test gets a fresh cluster."""
    return _shared_clusters.get(scheduler_kind, worker_mode)


@pytest.fixture
def client(cluster):
    """A fresh distributed.Client on the shared cluster, closed after the test."""
    from distributed import Client

    with Client(cluster.address, timeout=15) as c:
        yield c


class ClusterFactory:
    """Builds private clusters for one test; all are killed at teardown."""

    def __init__(self, kind: str, tmp_path: Path):
        self.kind = kind
        self._tmp = tmp_path
        self._ids = itertools.count()
        self.clusters: list[Cluster] = []

    def __call__(self, **kwargs) -> Cluster:
        workdir = self._tmp / f"cluster-{next(self._ids)}"
        cluster = start_cluster(self.kind, workdir, **kwargs)
        self.clusters.append(cluster)
        return cluster

    def close(self) -> None:
        for cluster in self.clusters:
            cluster.close()


@pytest.fixture
def cluster_factory(scheduler_kind, tmp_path):
    """`cluster_factory(n_workers=2, nanny=False, scheduler_env=..., worker_env=...,
    worker_names=[...])` -> a started private Cluster of this test's scheduler
    kind, killed at teardown."""
    factory = ClusterFactory(scheduler_kind, tmp_path)
    yield factory
    factory.close()


@pytest.fixture
def worker_cluster(tmp_path, request, scheduler_kind):
    """A `WorkerCluster` of this test's scheduler kind in `tmp_path`; its logs are
    printed when the test fails, its processes stopped at teardown."""
    cluster = WorkerCluster(tmp_path, scheduler_kind)
    yield cluster
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        print(cluster.logs())
    cluster.close()


class Gate:
    """A file that gated tasks (tasks.wait_gate) wait for. `open()` releases
    them; the fixture opens it at teardown so no worker thread stays blocked."""

    def __init__(self, path: Path):
        self.path = path

    def __str__(self) -> str:
        return str(self.path)

    def open(self) -> None:
        self.path.touch()


@pytest.fixture
def gate(tmp_path):
    g = Gate(tmp_path / "gate")
    yield g
    g.open()
