"""`feed` and `--preload` details beyond test_scheduler_python.py: the feed loop
ends when the client closes its comm (teardown runs), an erred progress response
carries the failing key and its pickled exception, and stray command-line arguments
are refused as stock's click command refuses them. Stock scheduler as the reference,
daskcpp-scheduler's facade under test (docs/design/scheduler-python-side.md §5.2)."""

from __future__ import annotations

import os
import pickle
import subprocess
import time

import pytest

from cluster import DASK_CLI, TESTS_DIR, SchedulerProcess, daskcpp_scheduler_binary, wait_for

pytestmark = pytest.mark.daskcpp_ready


@pytest.fixture
def worker_mode():
    # feed does not depend on nannies; one mode keeps the file fast.
    return "no-nanny"


def slowinc(x, delay=0.02):
    time.sleep(delay)
    return x + 1


def fail_task(x):
    raise ValueError(f"bad input {x}")


def _progress_plugins(client):
    return client.run_on_scheduler(
        lambda dask_scheduler: sorted(n for n in dask_scheduler.plugins if "progress" in n)
    )


def test_feed_stops_when_client_closes(client):
    """A raw feed: setup/function/teardown run on the scheduler object, a response
    arrives every interval, and closing the comm ends the loop (teardown runs)."""
    from distributed.core import connect
    from distributed.protocol.pickle import dumps

    def setup(scheduler):
        scheduler.feed_test_teardowns = getattr(scheduler, "feed_test_teardowns", 0)
        return {"n": 0}

    def function(scheduler, state):
        state["n"] += 1
        return {"n": state["n"], "address": scheduler.address}

    def teardown(scheduler, state):
        scheduler.feed_test_teardowns += 1

    async def run():
        comm = await connect(client.scheduler.address)
        await comm.write(
            {
                "op": "feed",
                "setup": dumps(setup),
                "function": dumps(function),
                "teardown": dumps(teardown),
                "interval": 0.02,
            }
        )
        got = [await comm.read() for _ in range(3)]
        await comm.close()
        return got

    got = client.sync(run)
    assert got == [{"n": i, "address": client.scheduler.address} for i in (1, 2, 3)]
    wait_for(
        lambda: client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.feed_test_teardowns)
        == 1,
        10,
        "the feed's teardown",
    )


def test_progress_error_response(client):
    from distributed.diagnostics.progressbar import ProgressBar

    class Quiet(ProgressBar):
        def _draw_bar(self, **kwargs):
            pass

    ok = client.submit(slowinc, 1, key="feed-ok")
    bad = client.submit(fail_task, 1, key="feed-bad")
    bar = Quiet([ok, bad], scheduler=client.scheduler.address)
    client.sync(bar.listen)
    assert bar.status == "error"
    assert bar._last_response["key"] == "feed-bad"
    assert bar._last_response["all"] == 2
    # The task's stored exception, as the worker sent it (pickled).
    exc = pickle.loads(bar._last_response["exception"])
    assert isinstance(exc, ValueError) and str(exc) == "bad input 1"
    assert _progress_plugins(client) == []


# ---- the command line ---------------------------------------------------------------


def _cli(kind):
    if kind == "stock":
        return [str(DASK_CLI), "scheduler"]
    binary, reason = daskcpp_scheduler_binary()
    assert binary is not None, reason
    return [str(binary)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bar", "7"], "No such option '--bar'"),
        (["7"], "Got unexpected extra argument: (7)"),
    ],
)
def test_stray_arguments_refused(scheduler_kind, args, message):
    out = subprocess.run(
        _cli(scheduler_kind) + ["--port", "0", "--no-dashboard", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert message in out.stderr


CLICK_PRELOAD = """
import click

@click.command()
@click.option("--bar")
def dask_setup(scheduler, bar):
    scheduler.bar = bar
"""


def test_preload_argv_then_own_option(scheduler_kind, tmp_path):
    """Unknown options go to the preload, the scheduler's own ones stay its own,
    in any order (click's ignore_unknown_options)."""
    from distributed import Client

    pre = tmp_path / "pre_click.py"
    pre.write_text(CLICK_PRELOAD)
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(TESTS_DIR)])}
    args = ["--bar", "7", "--preload", str(pre), "--idle-timeout", "1h"]
    proc = SchedulerProcess(tmp_path / "sched", scheduler_kind, env=env, extra_args=args)
    try:
        with Client(proc.address, timeout=15) as c:
            assert c.run_on_scheduler(lambda dask_scheduler: dask_scheduler.bar) == "7"
    finally:
        proc.stop()
