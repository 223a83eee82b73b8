"""daskcpp-worker's Python side for WorkerPlugins that extend the worker, without
sockets or a C++ process: the facade (daskcpp._worker_context) imported here, fed
the frames the C++ server would hand it.

* handle_rpc: an op the C++ server does not serve natively runs
  ``facade.handlers[op]`` on the facade loop, decoded with distributed.protocol.loads;
  the reply comes back as distributed.protocol.dumps frames (errors as
  error_message(..., "uncaught-error"), as upstream Server._handle_comm).
* handle_stream: ``facade.stream_handlers[op]`` run in arrival order, a coroutine
  handler awaited before the next op.
* ShuffleWorkerPlugin sets up on the facade (handlers, stream handler, extension).
* execute: a task raising distributed.Reschedule comes back as "reschedule".
"""

from __future__ import annotations

import asyncio
import sys
import threading

import msgpack
import pytest

from cluster import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "python_compat"))

from daskcpp import _worker, _worker_context  # noqa: E402
from distributed.core import clean_exception  # noqa: E402
from distributed.protocol import dumps, loads, pickle  # noqa: E402
from distributed.protocol.serialize import to_serialize  # noqa: E402


@pytest.fixture
def facade(tmp_path):
    _worker_context.install({"log_event": lambda payload: None})
    _worker_context.configure({
        "address": "tcp://127.0.0.1:1",
        "name": "w",
        "id": "Worker-x",
        "scheduler": "tcp://127.0.0.1:2",
        "nthreads": 2,
        "local_directory": str(tmp_path),
        "memory_limit": None,
    })
    yield _worker_context.worker
    _worker_context.close()
    _worker_context.worker = None


def call(op: str, request: dict, timeout: float = 10):
    """handle_rpc as the C++ server calls it; returns the decoded reply."""
    done = threading.Event()
    reply = {}

    def on_reply(frames):
        assert all(isinstance(f, bytes) for f in frames)
        reply["msg"] = loads(frames)
        done.set()

    assert _worker_context.handle_rpc(op, dumps(request), on_reply)
    assert done.wait(timeout)
    return reply["msg"]


def test_rpc_handler_gets_the_decoded_request(facade):
    seen = {}

    async def shuffle_receive(shuffle_id, run_id, data):
        seen["thread"] = threading.current_thread().name
        seen["args"] = (shuffle_id, run_id, data)
        return {"status": "OK"}

    facade.handlers["shuffle_receive"] = shuffle_receive
    shards = [(0, b"a" * 10), (3, b"b")]
    out = call("shuffle_receive",
               {"shuffle_id": "s1", "run_id": 4, "data": to_serialize(shards)})
    assert out == {"status": "OK"}
    assert seen["args"] == ("s1", 4, shards)
    assert seen["thread"] == "daskcpp-worker-loop"
    # A plain function works too; None is a valid reply (shuffle_inputs_done).
    facade.handlers["sync_op"] = lambda x: None
    assert call("sync_op", {"x": 1}) is None


def test_unknown_rpc_op_is_not_taken(facade):
    assert _worker_context.handle_rpc("nope", dumps({}), lambda frames: None) is False


def test_rpc_handler_error_is_an_uncaught_error_reply(facade):
    async def boom():
        raise ValueError("boom")

    facade.handlers["boom"] = boom
    out = call("boom", {})
    assert out["status"] == "uncaught-error"
    assert out["exception_text"] == "ValueError('boom')"
    _, exc, _ = clean_exception(**out)
    assert isinstance(exc, ValueError) and exc.args == ("boom",)


def test_stream_handlers_run_in_arrival_order(facade):
    order = []
    done = threading.Event()

    async def slow(i):
        await asyncio.sleep(0.05)
        order.append(("slow", i))

    def fast(i):
        order.append(("fast", i))
        if i == 2:
            done.set()

    facade.stream_handlers["slow"] = slow
    facade.stream_handlers["fast"] = fast
    assert _worker_context.handle_stream("slow", dumps({"op": "slow", "i": 0}))
    assert _worker_context.handle_stream("fast", dumps({"op": "fast", "i": 1}))
    assert _worker_context.handle_stream("fast", dumps({"op": "fast", "i": 2}))
    assert not _worker_context.handle_stream("nope", dumps({"op": "nope"}))
    assert done.wait(10)
    assert order == [("slow", 0), ("fast", 1), ("fast", 2)]


def test_shuffle_worker_plugin_sets_up_on_the_facade(facade):
    from distributed.shuffle._worker_plugin import ShuffleWorkerPlugin

    assert _worker_context.plugin_add(pickle.dumps(ShuffleWorkerPlugin()), "shuffle",
                                      False) == ("OK",)
    plugin = facade.plugins["shuffle"]
    assert set(facade.handlers) == {"shuffle_receive", "shuffle_inputs_done"}
    assert set(facade.stream_handlers) == {"shuffle-fail"}
    assert facade.extensions["shuffle"] is plugin
    assert msgpack.loads(_worker_context.extensions_heartbeat()) == {"shuffle": {}}
    # shuffle-fail for an unknown run is a no-op but must run cleanly.
    assert _worker_context.handle_stream(
        "shuffle-fail",
        dumps({"op": "shuffle-fail", "shuffle_id": "s", "run_id": 1, "message": "m"}))
    assert facade.scheduler.address == "tcp://127.0.0.1:2"
    assert _worker_context.plugin_remove("shuffle") == ("OK",)
    assert plugin.closed


def test_task_raising_reschedule_is_reported_as_reschedule(facade):
    from dask._task_spec import Task
    from distributed import Reschedule

    def restrict_and_reschedule():
        raise Reschedule()

    task = Task("k", restrict_and_reschedule)
    header = msgpack.dumps({"pickled-obj": pickle.dumps(task)})
    outcome = _worker.execute(1, header, [], [], msgpack.dumps("k"))
    assert outcome[0] == "reschedule"
    start, stop, thread = outcome[1:]
    assert stop > start
    assert thread == threading.get_ident()
    assert _worker.stored_count() == 0
