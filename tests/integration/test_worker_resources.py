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


@pytest.mark.parametrize("nanny", [False, True], ids=["no-nanny", "nanny"])
def test_resource_restricted_tasks_run_on_the_worker_with_the_resource(
        worker_cluster, tmp_path, nanny):
    worker_cluster.add_stock_worker("stock", nthreads=2)
    nanny_flag = ("--nanny",) if nanny else ()
    worker_cluster.add_daskcpp_worker("cpp", "--resources", "GPU=1", *nanny_flag, "--death-timeout", "20",
                                      nanny=nanny)
    markers = tmp_path / "markers"
    markers.mkdir()
    with worker_cluster.client(2) as client:
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
