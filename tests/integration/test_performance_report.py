"""`distributed.performance_report`: the client enters by reading
`dask_scheduler.monitor.count` through run_on_scheduler and making sure the task
stream records, and on exit asks the scheduler for the report (RPC
`performance_report`) and writes the HTML it gets.

Stock renders it with bokeh, which the pinned environment does not install, so
the stock reference only runs where bokeh imports. daskcpp writes plain HTML
(python_compat/daskcpp/_performance_report.py): the summary is stock's text, so
the assertions below hold for both."""

from __future__ import annotations

import importlib.util
import re

import dask.array as da
import pytest
from distributed import performance_report

pytestmark = pytest.mark.daskcpp_ready

no_nanny = pytest.mark.parametrize("worker_mode", ["no-nanny"], indirect=True)


def _needs_bokeh_on_stock(scheduler_kind: str) -> None:
    if scheduler_kind == "stock" and importlib.util.find_spec("bokeh") is None:
        pytest.skip("the stock scheduler's performance_report needs bokeh, not installed here")


@no_nanny
def test_performance_report_summary(client, scheduler_kind, tmp_path):
    _needs_bokeh_on_stock(scheduler_kind)
    path = tmp_path / "report.html"
    x = da.arange(100, chunks=10)
    with performance_report(filename=str(path)):
        assert int((x + 1).sum().compute()) == 5050
    html = path.read_text()
    assert "Dask Performance Report" in html
    tasks = int(re.search(r"number of tasks: (\d+)", html).group(1))
    # 10 chunks of arange + add, a tree reduction on top: all ran inside the block.
    assert tasks >= 21
    assert "compute time:" in html
    assert client.scheduler.address in html
    assert "test_performance_report_summary" in html  # the calling code


@no_nanny
def test_performance_report_counts_only_its_own_tasks(client, scheduler_kind, tmp_path):
    _needs_bokeh_on_stock(scheduler_kind)
    assert client.submit(sum, [1, 2], pure=False).result() == 3  # before: not counted
    path = tmp_path / "report.html"
    with performance_report(filename=str(path)):
        futures = client.map(lambda i: i * 2, range(7), pure=False)
        assert client.gather(futures) == [0, 2, 4, 6, 8, 10, 12]
    assert re.search(r"number of tasks: 7\b", path.read_text())
