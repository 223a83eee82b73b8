"""daskcpp-worker --resources (like `dask worker --resources`) under both schedulers.

A daskcpp-worker with `--resources GPU=1 --nthreads 2` next to a stock worker without
resources: tasks submitted with resources={"GPU": 1} all run on our worker, never two
at once (each holds an exclusive marker file while it runs), results exact; the
scheduler lists the worker's resources. Through the nanny too (the option reaches the
worker process).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from distributed import wait

from test_worker_daskcpp import WorkerTestCluster, _binary_or_skip, _client

pytestmark = pytest.mark.daskcpp_ready


def hold_gpu(x, marker_dir):
    """Fails if another GPU task is running at the same time on this machine."""
    from distributed import get_worker

    marker = Path(marker_dir) / "gpu-in-use"
    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # FileExistsError if shared
    try:
        time.sleep(0.05)
    finally:
        os.close(fd)
        marker.unlink()
    return x * 10, get_worker().address


@pytest.fixture
def resources_cluster(tmp_path, request, scheduler_kind):
    cluster = WorkerTestCluster(tmp_path, scheduler_kind)
    yield cluster
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        print(cluster.logs())
    cluster.close()


def _add_gpu_worker(cluster: WorkerTestCluster, name: str, nanny: bool) -> None:
    cluster._spawn(
        name,
        [str(_binary_or_skip()), "--scheduler-file", str(cluster.scheduler_file),
         "--host", "127.0.0.1", "--nthreads", "2", "--name", name,
         "--resources", "GPU=1", "--nanny" if nanny else "--no-nanny",
         "--death-timeout", "20"],
    )


@pytest.mark.parametrize("nanny", [False, True], ids=["no-nanny", "nanny"])
def test_resource_restricted_tasks_run_on_the_worker_with_the_resource(
        resources_cluster, tmp_path, nanny):
    resources_cluster.add_stock_worker("stock", nthreads=2)
    _add_gpu_worker(resources_cluster, "cpp", nanny)
    markers = tmp_path / "markers"
    markers.mkdir()
    with _client(resources_cluster, 2) as client:
        workers = client.scheduler_info()["workers"]
        by_name = {w["name"]: (addr, w) for addr, w in workers.items()}
        cpp, cpp_info = by_name["cpp"]
        assert cpp_info["resources"] == {"GPU": 1}
        assert by_name["stock"][1]["resources"] == {}
        futures = [client.submit(hold_gpu, i, str(markers), resources={"GPU": 1},
                                 pure=False)
                   for i in range(8)]
        # Without the worker's resources the tasks would wait (no-worker) forever.
        wait(futures, timeout=120)
        results = client.gather(futures)
        assert [r[0] for r in results] == [i * 10 for i in range(8)]
        assert {r[1] for r in results} == {cpp}
        # Unrestricted work still runs (anywhere) next to it.
        assert client.submit(sum, [1, 2, 3]).result() == 6
