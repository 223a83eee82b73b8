"""The scheduler's Python side: run_on_scheduler, SchedulerPlugins and their hooks,
Python-registered handlers (docs/design/scheduler-python-side.md §5.2). Every case
runs against the stock scheduler as the reference and against daskcpp-scheduler's
facade, with stock workers."""

from __future__ import annotations

import asyncio
import time

import pytest
from plugin_recorder import Failing, Handlers, KeepFirst, Nester, Rec, StreamOps

from cluster import run_rpc, wait_for

pytestmark = pytest.mark.daskcpp_ready


@pytest.fixture
def worker_mode():
    # The Python side does not depend on nannies; one mode keeps the file fast.
    return "no-nanny"


def _sum(x):
    return sum(x)


# ---- run_on_scheduler -------------------------------------------------------------


def test_run_on_scheduler_sync(client):
    got = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.workers))
    assert got == sorted(client.scheduler_info()["workers"])


def test_run_on_scheduler_args_and_state(client):
    f = client.submit(_sum, [1, 2], key="s-args")
    assert f.result() == 3
    state = client.run_on_scheduler(
        lambda k, dask_scheduler=None: dask_scheduler.tasks[k].state, "s-args"
    )
    assert state == "memory"
    kw = client.run_on_scheduler(lambda a, b=0, dask_scheduler=None: (a, b), 1, b=2)
    assert kw == (1, 2)


def test_run_on_scheduler_dask_worker_alias(client):
    assert client.run_on_scheduler(lambda dask_worker: dask_worker.address) == (
        client.scheduler.address
    )


def test_run_on_scheduler_async_and_wait(client):
    async def f(dask_scheduler):
        await asyncio.sleep(0.1)
        return dask_scheduler.address

    assert client.run_on_scheduler(f) == client.scheduler.address
    assert client.run_on_scheduler(f, wait=False) is None
    with pytest.raises(AssertionError, match="Combination not supported"):
        client.run_on_scheduler(lambda dask_scheduler: 1, wait=False)


def test_run_on_scheduler_error(client):
    def g(dask_scheduler):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        client.run_on_scheduler(g)


def test_run_on_scheduler_missing_attribute(client):
    with pytest.raises(AttributeError, match="no_such_attr"):
        client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.no_such_attr)


def test_run_on_scheduler_logs_event(client):
    client.run_on_scheduler(lambda dask_scheduler: None)
    events = [msg for _, msg in client.get_events("all") if msg.get("action") == "run-function"]
    assert events and isinstance(events[-1]["function"], bytes)


def test_task_views(client):
    a = client.submit(_sum, [1, 2], key="tv-a")
    b = client.submit(_sum, [a, 1], key="tv-b")
    assert b.result() == 4

    def probe(dask_scheduler):
        tasks = dask_scheduler.tasks
        ta, tb = tasks["tv-a"], tasks["tv-b"]
        return {
            "contains": ("tv-a" in tasks, "nope" in tasks),
            "deps": [t.key for t in tb.dependencies],
            "dependents": [t.key for t in ta.dependents],
            "who_has": sorted(w.address for w in tb.who_has),
            "same": tasks["tv-a"] == ta and ta in tb.dependencies,
            "group": tb.group.name if hasattr(tb.group, "name") else None,
            "missing": _key_error(lambda: tasks["nope"]),
            "n": len(tasks) >= 2,
        }

    got = client.run_on_scheduler(probe)
    assert got["contains"] == (True, False)
    assert got["deps"] == ["tv-a"]
    assert got["dependents"] == ["tv-b"]
    assert len(got["who_has"]) == 1
    assert got["same"] is True
    assert got["missing"] == "KeyError"
    assert got["n"] is True


def _key_error(fn):
    try:
        fn()
    except KeyError:
        return "KeyError"
    return "no error"


def test_mutate_from_python(client):
    workers = sorted(client.scheduler_info()["workers"])
    w1, w2 = workers[0], workers[1]
    f = client.submit(_sum, [1, 2], key="s-move", workers=[w1])
    assert f.result() == 3

    def move(dask_scheduler):
        dask_scheduler.set_restrictions({"s-move": {w2}})
        dask_scheduler.transitions({"s-move": "released"}, stimulus_id="test-move")

    client.run_on_scheduler(move)
    wait_for(lambda: client.who_has(f).get("s-move") == (w2,), 10, "s-move on w2")
    assert f.result() == 3


# ---- plugins --------------------------------------------------------------------


@pytest.fixture
def rec(client):
    client.register_plugin(Rec())
    yield client
    names = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.plugins))
    for name in ("rec", "failing", "handlers", "keep-first", "nester", "stream-ops"):
        if name in names:
            client.unregister_scheduler_plugin(name)


def _events(client):
    return client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.plugins["rec"].ev)


def test_plugin_hooks_and_order(rec):
    client = rec
    assert client.submit(lambda x: x + 1, 1, key="inc-1").result() == 2
    ev = _events(client)
    assert ev[0] == ("start",)
    assert ("update_graph", ["inc-1"]) in ev
    transitions = [e for e in ev if e[0] == "transition"]
    assert [(e[1], e[2]) for e in transitions] == [
        ("released", "waiting"),
        ("waiting", "processing"),
        ("processing", "memory"),
    ]
    assert ev.index(("update_graph", ["inc-1"])) < ev.index(transitions[0])
    assert transitions[-1][3] == [
        "metadata", "nbytes", "startstops", "status", "thread", "type", "typename", "worker",
    ]
    assert transitions[0][3] == []


def test_plugin_client_hooks(rec, cluster):
    from distributed import Client

    with Client(cluster.address, timeout=15) as other:
        other_id = other.id
    wait_for(lambda: ("remove_client", other_id) in _events(rec), 10, "remove_client hook")
    ev = _events(rec)
    assert ev.index(("add_client", other_id)) < ev.index(("remove_client", other_id))


def test_plugin_log_event_hook(rec):
    rec.log_event("t", {"a": 1})
    wait_for(lambda: ("log_event", "t", {"a": 1}) in _events(rec), 10, "log_event hook")


def test_plugin_idempotent_and_unregister(rec):
    client = rec
    client.sync(client._register_scheduler_plugin, plugin=Rec(), name="rec", idempotent=True)
    assert [e for e in _events(client) if e == ("start",)] == [("start",)]
    client.unregister_scheduler_plugin("rec")
    assert "rec" not in client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.plugins))
    with pytest.raises(ValueError, match="Could not find plugin 'rec'"):
        client.unregister_scheduler_plugin("rec")


def test_failing_hook_does_not_break_scheduler(rec):
    client = rec
    client.register_plugin(Failing())
    assert client.submit(lambda x: x * 2, 21, key="fail-hook").result() == 42
    client.unregister_scheduler_plugin("failing")


def test_python_registered_handlers(rec, cluster):
    client = rec
    client.register_plugin(Handlers())
    assert run_rpc(cluster.address, "py_echo", x=1) == {"echo": 1}
    assert run_rpc(cluster.address, "py_aecho", x=2) == {"aecho": 2, "has_comm": True}
    with pytest.raises(KeyError, match="no such thing"):
        run_rpc(cluster.address, "py_boom")


def test_python_stream_handlers(rec):
    client = rec
    client.register_plugin(StreamOps())
    client._send_to_scheduler({"op": "my-stream-op", "x": 5})

    def got():
        return client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.plugins["stream-ops"].got
        )

    assert wait_for(got, 10, "stream handler call") == [(client.id, 5)]


def test_nested_transitions_refused(rec, scheduler_kind):
    client = rec
    client.register_plugin(Nester())
    assert client.submit(lambda x: x, 1, key="nest-1").result() == 1
    errors = client.run_on_scheduler(
        lambda dask_scheduler: dask_scheduler.plugins["nester"].errors
    )
    if scheduler_kind == "stock":
        assert errors == []  # stock's engine nests
    else:
        assert len(errors) == 1 and "cannot run from inside a transition" in errors[0]


def test_valid_workers_downscaling(rec):
    client = rec
    workers = sorted(client.scheduler_info()["workers"])
    assert sorted(client.sync(client.scheduler.workers_to_close, n=2)) == workers
    client.register_plugin(KeepFirst())
    assert list(client.sync(client.scheduler.workers_to_close, n=2)) == workers[1:]


def test_worker_and_restart_hooks(cluster_factory):
    from distributed import Client

    cluster = cluster_factory(n_workers=1, nanny=True)
    with Client(cluster.address, timeout=15) as client:
        client.register_plugin(Rec())
        proc = cluster.add_worker(nanny=False, name="extra")
        cluster.wait_for_workers(2)
        extra = cluster.worker_address("extra")
        proc.stop()
        wait_for(
            lambda: any(e[:2] == ("remove_worker", extra) for e in _events(client)),
            15,
            "remove_worker hook",
        )
        ev = _events(client)
        assert ("add_worker", extra) in ev
        assert ("remove_worker", extra, True) in ev
        client.restart()
        assert ("restart",) in _events(client)


# ---- preloads -------------------------------------------------------------------

PRELOAD_FILE = """
def dask_setup(s):
    s.foo = 41

def dask_teardown(s):
    open({marker!r}, "w").write("torn down")
"""

PRELOAD_CLICK = """
import click

@click.command()
@click.option("--bar")
def dask_setup(s, bar):
    s.bar = bar
"""


def _scheduler_with(tmp_path, scheduler_kind, args, env=None):
    from cluster import SchedulerProcess

    return SchedulerProcess(tmp_path / "sched", scheduler_kind, env=env, extra_args=args)


def _ask(address, fn):
    from distributed import Client

    with Client(address, timeout=15) as c:
        return c.run_on_scheduler(fn)


@pytest.mark.parametrize("how", ["file", "module", "inline"])
def test_preload(tmp_path, scheduler_kind, how):
    marker = tmp_path / "teardown"
    (tmp_path / "my_preload.py").write_text(PRELOAD_FILE.format(marker=str(marker)))
    env = {"PYTHONPATH": str(tmp_path)}
    preload = {
        "file": str(tmp_path / "my_preload.py"),
        "module": "my_preload",
        "inline": "def dask_setup(s): s.foo = 41",
    }[how]
    proc = _scheduler_with(tmp_path, scheduler_kind, ["--preload", preload], env)
    try:
        assert _ask(proc.address, lambda dask_scheduler: dask_scheduler.foo) == 41
    finally:
        proc.stop()
    if how != "inline":
        assert marker.read_text() == "torn down"


def test_preload_click_argv(tmp_path, scheduler_kind):
    (tmp_path / "click_preload.py").write_text(PRELOAD_CLICK)
    proc = _scheduler_with(
        tmp_path,
        scheduler_kind,
        ["--preload", "click_preload", "--bar", "7"],
        {"PYTHONPATH": str(tmp_path)},
    )
    try:
        assert _ask(proc.address, lambda dask_scheduler: dask_scheduler.bar) == "7"
    finally:
        proc.stop()


def test_preload_from_config(tmp_path, scheduler_kind):
    (tmp_path / "click_preload.py").write_text(PRELOAD_CLICK)
    env = {
        "PYTHONPATH": str(tmp_path),
        "DASK_DISTRIBUTED__SCHEDULER__PRELOAD": '["click_preload"]',
        "DASK_DISTRIBUTED__SCHEDULER__PRELOAD_ARGV": '["--bar", "8"]',
    }
    proc = _scheduler_with(tmp_path, scheduler_kind, [], env)
    try:
        assert _ask(proc.address, lambda dask_scheduler: dask_scheduler.bar) == "8"
    finally:
        proc.stop()


# ---- feed: progress bars -----------------------------------------------------------


def _slowinc(x, delay=0.02):
    time.sleep(delay)
    return x + 1


def _raise_on_3(x):
    if x == 3:
        raise ValueError("three")
    return x


def _progress_plugins(client):
    return client.run_on_scheduler(
        lambda dask_scheduler: [n for n in dask_scheduler.plugins if n.startswith("progress")]
    )


def test_progress_text(client, capsys):
    from distributed import progress
    from distributed.diagnostics.progressbar import TextProgressBar

    fs = client.map(_slowinc, range(20), key=[f"slowinc-p-{i}" for i in range(20)])
    progress(fs, notebook=False)
    out = capsys.readouterr().out
    assert "100% Completed" in out.splitlines()[-1] if out.splitlines() else False
    bar = TextProgressBar(fs, start=False)
    client.sync(bar.listen)
    assert bar.status == "finished"
    wait_for(lambda: _progress_plugins(client) == [], 10, "progress plugins removed")


def test_progress_error(client):
    from distributed.diagnostics.progressbar import TextProgressBar

    fs = client.map(_raise_on_3, range(6), key=[f"r3-{i}" for i in range(6)])
    bar = TextProgressBar(fs, start=False)
    client.sync(bar.listen)
    assert bar.status == "error"
    wait_for(lambda: _progress_plugins(client) == [], 10, "progress plugins removed")


def test_multi_progress(client):
    from distributed.diagnostics.progressbar import MultiProgressBar

    class Quiet(MultiProgressBar):
        def _draw_bar(self, **kwargs):
            pass

        def _draw_stop(self, **kwargs):
            pass

    fs = client.map(_slowinc, range(20), key=[f"slowinc-m-{i}" for i in range(20)])
    bar = Quiet(fs, complete=True)
    client.sync(bar.listen)
    assert bar.status == "finished"
    assert bar._last_response["all"] == {"slowinc-m": 20}
