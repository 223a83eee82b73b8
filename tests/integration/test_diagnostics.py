"""Diagnostics a stock Client reads from the scheduler: the task stream
(`get_task_stream`, the `get_task_stream()` context manager), the scheduler's
own log (`get_scheduler_logs`), events (`log_event` from the client, from tasks
and `distributed.print`, `subscribe_topic`, `get_events`) and `fire_and_forget`.

Every case runs on both scheduler kinds with stock workers (one event case also
with a daskcpp-worker); the assertions are what the stock scheduler answers.
Only the no-nanny shared cluster is used: nothing here depends on the nanny."""

from __future__ import annotations

import re
import threading
import time

import pytest
from distributed import Client, fire_and_forget, get_task_stream

import tasks
from cluster import wait_for

pytestmark = pytest.mark.daskcpp_ready

no_nanny = pytest.mark.parametrize("worker_mode", ["no-nanny"], indirect=True)

RESULT_TIMEOUT = 30

# TaskStreamPlugin's record: the worker's task-finished / task-erred message as
# transition kwargs (minus op, key, stimulus_id, run_id), plus worker and key.
FINISHED_FIELDS = ["key", "metadata", "nbytes", "startstops", "status", "stimulus_id", "thread", "type", "typename", "worker"]
ERRED_FIELDS = [
    "cause", "exception", "exception_text", "key", "startstops", "status", "stimulus_id", "thread",
    "traceback", "traceback_text", "worker",
]  # fmt: skip


def _raise_user_error(x):
    raise tasks.UserError(f"bad {x}")


# ---- task stream ----------------------------------------------------------------


@no_nanny
def test_task_stream_context_manager_records_the_block(client):
    workers = set(client.scheduler_info()["workers"])
    with get_task_stream(client) as ts:
        futures = client.map(tasks.inc, range(10), pure=False)
        assert client.gather(futures) == list(range(1, 11))

    assert sorted(r["key"] for r in ts.data) == sorted(f.key for f in futures)
    for record in ts.data:
        assert sorted(record) == FINISHED_FIELDS
        assert record["status"] == "OK"
        assert record["worker"] in workers
        assert record["typename"] == "int"
        assert record["nbytes"] == 28
        assert [ss["action"] for ss in record["startstops"]][-1] == "compute"
        assert all(ss["start"] <= ss["stop"] for ss in record["startstops"])

    last = client.get_task_stream(count=3)
    assert [r["key"] for r in last] == [r["key"] for r in ts.data[-3:]]
    assert len(client.get_task_stream(start=0, stop=0)) == 0


@no_nanny
def test_task_stream_records_errors_and_time_windows(client):
    client.get_task_stream(start=0, stop=0)  # enables the stream (stock: lazily)
    future = client.submit(_raise_user_error, 1, key="ts-err-1")
    with pytest.raises(tasks.UserError):
        future.result(timeout=RESULT_TIMEOUT)

    recent = client.get_task_stream(start="60s")
    erred = [r for r in recent if r["key"] == "ts-err-1"]
    assert len(erred) == 1
    assert sorted(erred[0]) == ERRED_FIELDS
    assert erred[0]["status"] == "error"
    assert erred[0]["cause"] == "ts-err-1"
    assert erred[0]["exception_text"] == "UserError('bad 1')"
    # Nothing stops in the future; everything recorded stopped after time 0.
    later = time.time() + 3600
    assert len(client.get_task_stream(start=later)) == 0
    everything = client.get_task_stream(stop=later)
    assert len(everything) >= 1
    assert client.get_task_stream(start=0, count=1) == everything[:1]
    assert client.get_task_stream(count=10**9) == everything


# ---- scheduler logs -------------------------------------------------------------

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - distributed\.scheduler - (INFO|WARNING|ERROR|DEBUG|CRITICAL) - ")


@no_nanny
def test_scheduler_logs_newest_first(client):
    logs = client.get_scheduler_logs()
    assert logs and all(isinstance(entry, tuple) and len(entry) == 2 for entry in logs)
    for level, text in logs:
        m = LOG_LINE.match(text)
        assert m, text
        assert m.group(1) == level
    connects = [text for _, text in logs if f"Receive client connection: {client.id}" in text]
    assert len(connects) == 1
    # Newest first: this client's connection is newer than the start-up lines.
    texts = [text for _, text in logs]
    assert texts.index(connects[0]) < len(texts) - 1
    assert sorted(texts, key=lambda t: t[:23], reverse=True) == texts

    newest = client.get_scheduler_logs(n=1)
    assert len(newest) == 1 and len(newest[0]) == 2
    assert LOG_LINE.match(newest[0][1])


# ---- events ---------------------------------------------------------------------


PROBE = "probe"


def _subscribe(client, topic):
    """Subscribes a recording handler to `topic` and returns its list of events,
    once the subscription is in: subscribe-topic travels on the batched stream but
    log_event is an RPC of its own, so probes are logged until one comes back (the
    handler does not record them; get_events has them)."""
    got = []
    probes = []
    lock = threading.Lock()

    def handler(event):
        with lock:
            (probes if event[1] == PROBE else got).append(event)

    client.subscribe_topic(topic, handler)
    wait_for(lambda: client.log_event(topic, PROBE) or probes, timeout=10, what="the subscription")
    return got


def _messages(client, topic):
    return [m for _, m in client.get_events(topic) if m != PROBE]


def test_events_from_the_client(cluster_factory):
    # A private cluster: get_events() without a topic returns every event the
    # scheduler logged, and the stock scheduler cannot serialize some of its own
    # (earlier tests' retire/remove-worker events hold WorkerState objects).
    cluster = cluster_factory(n_workers=2)
    with Client(cluster.address, timeout=30) as client:
        _events_from_the_client(client)


def _events_from_the_client(client):
    topic = f"diag-client-{client.id}"
    got = _subscribe(client, topic)
    client.log_event(topic, {"a": 1})
    wait_for(lambda: len(got) == 1, timeout=10, what="the subscribed handler")
    stamp, msg = got[0]
    assert msg == {"a": 1} and isinstance(stamp, float)
    assert client.get_events(topic)[-1] == (stamp, {"a": 1})

    # A list of topics: the same event under each.
    other = topic + "-b"
    client.log_event([topic, other], "both")
    wait_for(lambda: len(got) == 2, timeout=10, what="the second event")
    assert got[1][1] == "both"
    assert client.get_events(other)[-1][1] == "both"
    everything = client.get_events()
    assert isinstance(everything, dict)
    # The scheduler's own events: this client's arrival, under "all" and its id.
    add_client = {"action": "add-client", "client": client.id}
    assert [m for _, m in everything[client.id]][:1] == [add_client]
    assert add_client in [m for _, m in everything["all"]]
    for worker in client.scheduler_info()["workers"]:
        assert {"action": "add-worker"} in [m for _, m in everything[worker]]
    assert [m for _, m in everything[topic] if m != PROBE] == [{"a": 1}, "both"]
    assert [m for _, m in everything[other]] == ["both"]

    # unsubscribe-topic travels on the batched stream and the client keeps its
    # handler, so an event logged by RPC right after it may still be delivered.
    # A subscription to a fresh topic, sent after it on the same stream, is a
    # barrier: once its probe comes back the unsubscription is in.
    client.unsubscribe_topic(topic)
    barrier = _subscribe(client, topic + "-barrier")
    client.log_event(topic, "after")
    assert client.get_events(topic)[-1][1] == "after"
    # The scheduler's stream to this client is ordered too: had "after" been
    # sent, it would arrive before the event logged next.
    client.log_event(topic + "-barrier", "last")
    wait_for(lambda: len(barrier) == 1, timeout=10, what="the barrier event")
    assert len(got) == 2


@no_nanny
def test_events_from_a_task_carry_the_worker(client):
    topic = f"diag-task-{client.id}"
    got = _subscribe(client, topic)
    address = client.submit(tasks.log_event_from_task, topic, {"b": 2}, pure=False).result(timeout=RESULT_TIMEOUT)
    wait_for(lambda: len(got) == 1, timeout=10, what="the subscribed handler")
    assert got[0][1] == {"b": 2, "worker": address}
    assert _messages(client, topic) == [{"b": 2, "worker": address}]
    # Not a dict: passed on as is.
    client.submit(tasks.log_event_from_task, topic, [1, 2], pure=False).result(timeout=RESULT_TIMEOUT)
    wait_for(lambda: len(got) == 2, timeout=10, what="the second event")
    assert got[1][1] == (1, 2)


@no_nanny
def test_distributed_print_reaches_the_client(client, capsys):
    marker = f"hello from a task {client.id}"
    assert client.submit(tasks.print_from_task, marker, pure=False).result(timeout=RESULT_TIMEOUT) == marker

    out = []
    wait_for(lambda: out.append(capsys.readouterr().out) or marker in "".join(out), timeout=10, what="the print")


def test_events_from_a_daskcpp_worker_task(worker_cluster):
    worker_cluster.add_daskcpp_worker("w1", nthreads=1)
    with worker_cluster.client(1) as client:
        topic = "diag-daskcpp-worker"
        got = _subscribe(client, topic)
        address = client.submit(tasks.log_event_from_task, topic, {"c": 3}, pure=False).result(timeout=RESULT_TIMEOUT)
        wait_for(lambda: len(got) == 1, timeout=10, what="the subscribed handler")
        assert got[0][1] == {"c": 3, "worker": address}


# ---- fire_and_forget ------------------------------------------------------------


def _tasks_named(client, prefix):
    return client.run_on_scheduler(lambda dask_scheduler: sorted(str(k) for k in dask_scheduler.tasks if str(k).startswith(prefix)))


def _fire_and_forget_chain(client, prefix):
    a = client.submit(tasks.slow_inc, 1, delay=0.5, key=f"{prefix}-a")
    b = client.submit(tasks.log_value_event, a, topic=prefix, key=f"{prefix}-b")
    fire_and_forget(b)
    del a, b


@no_nanny
def test_fire_and_forget_runs_a_dropped_dependency_chain(client, scheduler_kind):
    prefix = f"ff-{client.id}"
    _fire_and_forget_chain(client, prefix)
    wait_for(lambda: [m for _, m in client.get_events(prefix)] == [2], timeout=10, what="b's event")
    # Both are forgotten once b is done (daskcpp: run_on_scheduler is not there yet;
    # the unit test checks its state).
    if scheduler_kind == "stock":
        wait_for(lambda: _tasks_named(client, prefix) == [], timeout=10, what="a and b forgotten")


@no_nanny
def test_fire_and_forget_survives_the_client_closing(cluster):
    with Client(cluster.address, timeout=15) as first:
        prefix = f"ff-{first.id}"
        _fire_and_forget_chain(first, prefix)
    with Client(cluster.address, timeout=15) as second:
        wait_for(lambda: [m for _, m in second.get_events(prefix)] == [2], timeout=10, what="b's event")


# ---- story and worker logs ------------------------------------------------------


@no_nanny
def test_story_and_worker_logs(client):
    key = f"story-{client.id}"
    future = client.submit(tasks.inc, 1, key=key)
    assert future.result(timeout=RESULT_TIMEOUT) == 2
    story = [t[1:4] for t in client.story(key) if t[0] == "scheduler"]
    assert story == [(key, "released", "waiting"), (key, "waiting", "processing"), (key, "processing", "memory")]
    logs = client.get_worker_logs(n=1)
    assert set(logs) == set(client.scheduler_info()["workers"])
    assert all(len(entries) == 1 and len(entries[0]) == 2 for entries in logs.values())


def test_task_stream_from_a_daskcpp_worker(worker_cluster):
    worker_cluster.add_daskcpp_worker("w1", nthreads=1)
    with worker_cluster.client(1) as client, get_task_stream(client) as ts:
        futures = client.map(tasks.inc, range(3), pure=False)
        assert client.gather(futures) == [1, 2, 3]
    assert sorted(r["key"] for r in ts.data) == sorted(f.key for f in futures)
    for record in ts.data:
        assert sorted(record) == FINISHED_FIELDS
        assert record["status"] == "OK" and record["typename"] == "int"
