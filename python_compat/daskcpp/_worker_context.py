"""The worker a task (or a ``Client.run`` function, or a WorkerPlugin) sees inside
daskcpp-worker.

There is no ``distributed.Worker`` object in this process: the worker is C++. The
upstream helpers a task may call -- ``get_worker()``, ``get_client()``,
``worker_client()``, ``secede()``, ``rejoin()`` (distributed/worker.py,
distributed/worker_client.py, distributed/threadpoolexecutor.py) -- read
``_worker_cvar``, ``thread_state.{key,start_time,execution_state}`` and the
threadpoolexecutor's ``thread_state.{executor,proceed}``, and call a handful of Worker
attributes. ``execute`` (in ``_worker``) installs a ``WorkerFacade`` and an
``ExecutorFacade`` in those places, so that unmodified user code works:

* ``secede`` -> ``ExecutorFacade._adjust_thread_count`` asks C++ for a replacement
  executor thread; ``worker.loop.add_callback(worker.handle_stimulus, SecedeEvent)``
  reaches C++'s WorkerState as a Secede event (the task becomes long-running).
* ``rejoin`` -> appends to ``_rejoin_list`` and ``submit``s a no-op, which here wakes
  one C++ executor thread; the next thread that is free calls ``grant_rejoin`` and
  leaves the pool in the rejoining thread's place (upstream ``_worker`` loop).
* ``get_client`` -> ``WorkerFacade._get_client``: one shared Client to our
  scheduler, made lazily as ``Worker._get_client`` makes it.

``worker.loop`` is a real tornado IOLoop on a daemon thread of its own: callbacks
and coroutines (``Client.run`` of ``async def``, async plugin setup) run there.

WorkerPlugins that extend the worker -- the P2P ``ShuffleWorkerPlugin``
(distributed/shuffle/_worker_plugin.py setup) -- register RPC ``handlers``,
``stream_handlers`` and ``extensions`` on the facade and talk to peers and the
scheduler through ``rpc`` / ``scheduler`` (a distributed ConnectionPool on
``worker.loop``). The C++ server forwards every op it does not handle natively to
``handle_rpc`` / ``handle_stream`` below, which run the handlers on the loop as
upstream's Server._handle_comm / handle_stream do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict, deque
from collections.abc import Mapping
from inspect import isawaitable, iscoroutinefunction

import msgpack

logger = logging.getLogger("daskcpp.worker")

# Set by install(): the C++ callbacks (python_compat/task_runner.cpp).
_bridge: dict | None = None
worker: WorkerFacade | None = None
executor: ExecutorFacade | None = None


class _StateView:
    """What plugins read of ``worker.state`` (upstream WorkerState)."""

    def __init__(self, nthreads: int):
        self.nthreads = nthreads


class _Loop:
    """A tornado IOLoop running on its own daemon thread (upstream ``worker.loop``)."""

    def __init__(self):
        from tornado.ioloop import IOLoop

        ready = threading.Event()
        holder = {}

        def run():
            aio = asyncio.new_event_loop()
            asyncio.set_event_loop(aio)
            holder["loop"] = IOLoop.current()
            holder["aio"] = aio
            ready.set()
            aio.run_forever()
            aio.close()

        self._thread = threading.Thread(target=run, name="daskcpp-worker-loop", daemon=True)
        self._thread.start()
        ready.wait()
        self.ioloop = holder["loop"]
        self.asyncio_loop = holder["aio"]

    def run_coroutine(self, coro, wait: bool = True):
        fut = asyncio.run_coroutine_threadsafe(coro, self.asyncio_loop)
        return fut.result() if wait else None

    def stop(self):
        self.asyncio_loop.call_soon_threadsafe(self.asyncio_loop.stop)
        self._thread.join(timeout=5)


class _NoLocalData(Mapping):
    """``worker.data`` (read by Client.gather inside a task to skip the network).
    The values live behind the C++ data store, which tasks do not see: the client
    then fetches every key over get_data, ours included."""

    def __getitem__(self, key):
        raise KeyError(key)

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


class ExecutorFacade:
    """``thread_state.executor`` for distributed.threadpoolexecutor.secede/rejoin.

    ``_threads`` holds the threads currently in the pool (execute adds its thread);
    the C++ TaskRunner owns the real threads."""

    def __init__(self):
        self._threads: set[threading.Thread] = set()
        self._rejoin_list: list = []
        self._rejoin_lock = threading.Lock()
        self._shutdown = False

    def _adjust_thread_count(self):
        _bridge["start_replacement"]()

    def submit(self, fn, *args, **kwargs):
        # Only rejoin() submits here (a no-op); it means "let a free thread make room".
        _bridge["wake_for_rejoin"]()

    def grant_rejoin(self) -> bool:
        """Called by a free C++ executor thread: hand its slot to a rejoining thread."""
        with self._rejoin_lock:
            if not self._rejoin_list:
                return False
            rejoin_thread, event = self._rejoin_list.pop()
            self._threads.add(rejoin_thread)
            self._threads.discard(threading.current_thread())
        event.set()
        return True

    def release_all(self):
        """Shutdown: let every thread waiting in rejoin() go on."""
        with self._rejoin_lock:
            waiting, self._rejoin_list = self._rejoin_list, []
            self._shutdown = True
        for thread, event in waiting:
            event.set()


class WorkerFacade:
    """What tasks, ``Client.run`` functions and WorkerPlugins use of a Worker."""

    def __init__(self, info: dict):
        from distributed._async_taskgroup import AsyncTaskGroup
        from distributed.core import ConnectionPool
        from distributed.security import Security

        self.address = self.contact_address = self.address_safe = info["address"]
        self.name = info["name"]
        self.id = info["id"]
        self.nthreads = info["nthreads"]
        self.state = _StateView(self.nthreads)
        # Server.rpc / Worker.scheduler: pooled comms, used on the loop only.
        self.rpc = ConnectionPool(
            limit=512,
            deserialize=True,
            connection_args=Security().get_connection_args("worker"),
        )
        self.scheduler = self.rpc(info["scheduler"])
        # Filled by WorkerPlugins (Server.handlers, stream_handlers, extensions).
        self.handlers: dict = {}
        self.stream_handlers: dict = {}
        self.extensions: dict = {}
        # Server._ongoing_background_tasks: bound to the loop on first use.
        self._ongoing_background_tasks = AsyncTaskGroup()
        # Server.digest_metric's cumulative counters (no crick digests here).
        self.digests_total: defaultdict = defaultdict(float)
        self.digests_max: defaultdict = defaultdict(float)
        self._stream_queue: deque = deque()
        self._stream_draining = False
        self._client = None
        self._lock = threading.Lock()
        self._loop: _Loop | None = None
        self._run_on_loop(self.rpc.start())  # its semaphore belongs to the loop
        self.local_directory = info["local_directory"]
        self.memory_limit = info["memory_limit"]
        self.plugins: dict = {}
        self.data = _NoLocalData()
        # {Python key of a running task: its canonical msgpack bytes}
        self.running_keys: dict = {}

    def __repr__(self):
        return f"<daskcpp Worker {self.address!r}, name: {self.name}>"

    @property
    def loop(self):
        with self._lock:
            if self._loop is None:
                self._loop = _Loop()
        return self._loop.ioloop

    def _run_on_loop(self, coro, wait=True):
        self.loop  # noqa: B018 - starts it
        return self._loop.run_coroutine(coro, wait)

    def digest_metric(self, name, value: float) -> None:
        self.digests_total[name] += value
        self.digests_max[name] = max(self.digests_max[name], value)

    def handle_stimulus(self, *events):
        from distributed.worker_state_machine import SecedeEvent

        for ev in events:
            if isinstance(ev, SecedeEvent):
                key = self.running_keys.get(ev.key)
                if key is None:
                    key = msgpack.dumps(ev.key, use_bin_type=True)
                _bridge["secede"](key, float(ev.compute_duration), ev.stimulus_id)
            else:
                logger.warning("daskcpp-worker ignores stimulus %r", type(ev).__name__)

    def log_event(self, topic, msg) -> None:
        try:
            payload = msgpack.dumps([topic, msg], use_bin_type=True)
        except Exception as e:
            raise TypeError(
                f"Message must be msgpack serializable. Got {type(msg)=} instead."
            ) from e
        _bridge["log_event"](payload)

    def get_current_task(self):
        from distributed.worker import thread_state

        return thread_state.key

    @property
    def client(self):
        return self._get_client()

    def _get_client(self, timeout=None):
        """Worker._get_client: the default client if it is for our scheduler, else
        one Client made once and shared by every task of this worker."""
        import dask
        from dask.utils import parse_timedelta

        if timeout is None:
            timeout = dask.config.get("distributed.comm.timeouts.connect")
        timeout = parse_timedelta(timeout, "s")
        with self._lock:
            if self._client is None:
                from distributed.client import Client, default_client

                try:
                    client = default_client()
                except ValueError:
                    client = None
                if client is not None and client.scheduler and \
                        client.scheduler.address == self.scheduler.address:
                    self._client = client
                else:
                    self._client = Client(
                        self.scheduler.address,
                        set_as_default=True,
                        direct_to_workers=True,
                        name="worker",
                        timeout=timeout,
                    )
            client = self._client
        self.log_event("worker-get-client", {"client": client.id, "timeout": timeout})
        return client

    def close(self):
        with self._lock:
            client, self._client = self._client, None
            loop, self._loop = self._loop, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close(timeout=5)
        if loop is not None:
            async def shutdown():
                await self._ongoing_background_tasks.stop()
                await self.rpc.close()

            with contextlib.suppress(Exception):
                loop.run_coroutine(asyncio.wait_for(shutdown(), 5))
            loop.stop()


def install(bridge: dict) -> None:
    """Called once by the TaskRunner with its callbacks."""
    global _bridge, executor
    _bridge = bridge
    executor = ExecutorFacade()


def configure(info: dict) -> None:
    """Called once the worker knows its address (after connecting to the scheduler)."""
    global worker
    worker = WorkerFacade(info)


@contextlib.contextmanager
def task_context(key, canonical_key: bytes, start_time: float):
    """What distributed.worker._run_task sets around a task, plus our executor."""
    from distributed import threadpoolexecutor as tpe
    from distributed.utils import set_thread_state
    from distributed.worker import _worker_cvar

    tpe.thread_state.executor = executor
    tpe.thread_state.proceed = True
    executor._threads.add(threading.current_thread())
    if worker is None:  # not configured (unit use): tasks still run
        yield
        return
    worker.running_keys[key] = canonical_key
    token = _worker_cvar.set(worker)
    try:
        with set_thread_state(start_time=start_time, execution_state={"worker": worker},
                              key=key):
            yield
    finally:
        _worker_cvar.reset(token)
        worker.running_keys.pop(key, None)


def thread_proceeds() -> bool:
    """False when this executor thread seceded and did not rejoin: it leaves the pool
    (a replacement is already running), as upstream's _worker loop does."""
    from distributed import threadpoolexecutor as tpe

    return getattr(tpe.thread_state, "proceed", True)


def grant_rejoin() -> bool:
    return executor.grant_rejoin()


def release_rejoiners() -> None:
    if executor is not None:
        executor.release_all()


# ---- RPCs: run, plugin-add, plugin-remove (distributed.worker.run, Worker.plugin_*)


def _error(e: BaseException):
    from daskcpp._worker import error_payload

    return ("error",) + error_payload(e)


def run(function: bytes, args: bytes | None, kwargs: bytes | None, wait: bool):
    """distributed.worker.run. Returns ("OK", header, frames) of to_serialize(result)
    or ("error", exc header, exc frames, tb header or None, tb frames, texts...)."""
    from dask.utils import funcname
    from distributed.utils import has_arg
    from distributed.protocol import pickle
    from distributed.protocol.serialize import to_serialize

    from daskcpp._worker import serialized_group

    try:
        function = pickle.loads(function)
        is_coro = iscoroutinefunction(function)
        if not (wait or is_coro):
            raise AssertionError("Combination not supported")
        args = pickle.loads(args) if args else ()
        kwargs = pickle.loads(kwargs) if kwargs else {}
        if has_arg(function, "dask_worker"):
            kwargs["dask_worker"] = worker
        logger.info("Run out-of-band function %r", funcname(function))
        if not is_coro:
            result = function(*args, **kwargs)
        else:
            result = worker._run_on_loop(function(*args, **kwargs), wait)
    except Exception as e:
        logger.warning("Run Failed\nFunction: %s", str(function)[:1000], exc_info=True)
        return _error(e)
    try:
        return ("OK",) + serialized_group(to_serialize(result))
    except Exception as e:
        return _error(e)


def _call_maybe_async(fn, *args, **kwargs):
    result = fn(*args, **kwargs)
    if isawaitable(result):
        async def wait():
            return await result

        result = worker._run_on_loop(wait())
    return result


def plugin_add(plugin: bytes, name: str | None, catch_errors: bool):
    """Worker.plugin_add: ("OK",) or the error tuple."""
    from distributed.diagnostics.plugin import WorkerPlugin, _get_plugin_name
    from distributed.protocol import pickle

    try:
        if isinstance(plugin, bytes):
            plugin = pickle.loads(plugin)
        if not isinstance(plugin, WorkerPlugin):
            raise TypeError(f"not a WorkerPlugin: {type(plugin)!r}")
        if name is None:
            name = _get_plugin_name(plugin)
        if name in worker.plugins:
            removed = plugin_remove(name)
            if removed[0] != "OK":
                return removed
        worker.plugins[name] = plugin
        logger.info("Starting Worker plugin %s", name)
        if hasattr(plugin, "setup"):
            _call_maybe_async(plugin.setup, worker=worker)
    except Exception as e:
        logger.exception("Worker plugin %s failed to setup", name)
        if not catch_errors:
            raise
        return _error(e)
    return ("OK",)


def plugin_remove(name: str):
    """Worker.plugin_remove: ("OK",) or the error tuple."""
    logger.info("Removing Worker plugin %s", name)
    try:
        plugin = worker.plugins.pop(name)
        if hasattr(plugin, "teardown"):
            _call_maybe_async(plugin.teardown, worker=worker)
    except Exception as e:
        logger.exception("Worker plugin %s failed to teardown", name)
        return _error(e)
    return ("OK",)


# ---- ops the C++ server does not handle: the facade's handlers (Server._handle_comm)


def handle_rpc(op: str, frames: list, done) -> bool:
    """Runs ``worker.handlers[op]`` on the loop with the request decoded from
    ``frames`` (distributed.protocol.loads; the request map without op/reply).
    False when there is no such handler; else ``done(reply frames)`` is called once,
    on the loop thread, with ``distributed.protocol.dumps`` of the reply (the
    handler's result or error_message(e, status="uncaught-error"))."""
    handler = worker.handlers.get(op) if worker is not None else None
    if handler is None:
        return False
    worker._run_on_loop(_serve_rpc(op, handler, frames, done), wait=False)
    return True


async def _serve_rpc(op: str, handler, frames: list, done) -> None:
    from inspect import iscoroutine

    from distributed.core import error_message
    from distributed.protocol import dumps, loads

    try:
        msg = loads(frames, deserialize=True)
        result = handler(**msg)
        if iscoroutine(result):
            result = await result
    except Exception as e:
        logger.exception("Exception while handling op %s", op)
        result = error_message(e, status="uncaught-error")
    try:
        reply = dumps(result, on_error="raise", context={"compression": None})
    except Exception as e:
        logger.exception("Cannot serialize the reply of op %s", op)
        reply = dumps(error_message(e, status="uncaught-error"),
                      context={"compression": None})
    done([f if isinstance(f, bytes) else bytes(f) for f in reply])


def handle_stream(op: str, frames: list) -> bool:
    """Queues ``worker.stream_handlers[op](**msg)`` for the loop; ops run in the
    order they were queued, a coroutine handler awaited before the next (upstream
    handle_stream). False when there is no such handler."""
    handler = worker.stream_handlers.get(op) if worker is not None else None
    if handler is None:
        return False
    worker.loop  # noqa: B018 - starts it
    worker._loop.asyncio_loop.call_soon_threadsafe(_enqueue_stream_op, handler, frames)
    return True


def _enqueue_stream_op(handler, frames: list) -> None:
    worker._stream_queue.append((handler, frames))
    if not worker._stream_draining:
        worker._stream_draining = True
        asyncio.ensure_future(_drain_stream_ops())


async def _drain_stream_ops() -> None:
    from inspect import iscoroutine

    from distributed.protocol import loads

    try:
        while worker._stream_queue:
            handler, frames = worker._stream_queue.popleft()
            try:
                msg = loads(frames, deserialize=True)
                msg.pop("op", None)
                result = handler(**msg)
                if iscoroutine(result):
                    await result
            except Exception:
                logger.exception("Stream handler %r failed", handler)
    finally:
        worker._stream_draining = False


def extensions_heartbeat() -> bytes | None:
    """msgpack of {name: extension.heartbeat()} (Worker.heartbeat), None when no
    extension has a heartbeat."""
    from distributed.protocol.serialize import msgpack_encode_default

    if worker is None:
        return None
    beats = {name: ext.heartbeat() for name, ext in list(worker.extensions.items())
             if hasattr(ext, "heartbeat")}
    if not beats:
        return None
    return msgpack.dumps(beats, default=msgpack_encode_default, use_bin_type=True)


def close() -> None:
    """Worker.close's Python part: tear down the plugins, close the client and loop."""
    if worker is None:
        return
    for name in list(worker.plugins):
        plugin_remove(name)
    worker.close()
