"""The Scheduler facade: what upstream code given ``dask_scheduler`` / ``scheduler``
(run_on_scheduler functions, SchedulerPlugins, Python-registered handlers) sees
inside daskcpp-scheduler, where the scheduler itself is C++.

Its collections are live views over the C++ state (no copies; daskcpp/_scheduler_views.py): every attribute read
asks C++ through the bridge (python_compat/scheduler_host.cpp), every write goes back
through it. Values cross the boundary in the wire format, converted by
``distributed.protocol.loads(frames, deserialize=False)`` / ``dumps`` exactly as a
stock scheduler's comms convert them. Everything here runs on the C++ loop thread
with the GIL held (docs/design/scheduler-python-side.md §0, §4.3).

An attribute stock has and the facade does not raises AttributeError saying so.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import weakref

from daskcpp._scheduler_loop import LoopPump
from daskcpp._scheduler_views import (
    ClientsView,
    TasksView,
    TaskView,
    WorkersView,
    _missing,
    key_bytes,
    key_from_bytes,
    to_frames,
    to_py,
)
from daskcpp._scheduler_plugins import (
    HookCaller,
    PluginTable,
    gated_shuffle_extension,
    hook_mask,
)

logger = logging.getLogger("distributed.scheduler")


# ---- routed handlers and request comms -------------------------------------------


class RoutedHandlers(dict):
    """``handlers`` / ``stream_handlers``: setting an op routes it to Python."""

    def __init__(self, route):
        super().__init__()
        self._route = route

    def __setitem__(self, op, fn):
        super().__setitem__(op, fn)
        self._route(op)

    def update(self, *args, **kwargs):
        for op, fn in dict(*args, **kwargs).items():
            self[op] = fn


class _RequestComm:
    """What a handler expecting `comm` gets: the request's comm (a C++ comm), which
    it may keep writing to (``Scheduler.feed``) until the peer closes it."""

    def __init__(self, bridge, comm_id, peer):
        self._bridge = bridge
        self._id = comm_id
        self.peer_address = peer
        self.name = "daskcpp-rpc"

    def __repr__(self):
        return f"<daskcpp comm from {self.peer_address}>"

    async def write(self, msg, serializers=None, on_error="message"):
        from distributed.comm.core import CommClosedError

        if not self._bridge.comm_write(self._id, to_frames(msg)):
            raise CommClosedError(f"in {self!r}: the comm is closed")
        return 0

    def closed(self):
        return self._bridge.comm_closed(self._id)


# ---- the facade -------------------------------------------------------------------


class _NoSystemMonitor:
    count = 0


class WorkStealingView:
    """``extensions["stealing"]``: the native work stealing (scheduler/stealing/)
    seen through stock's WorkStealing attributes, read-only: ``count`` (balance
    passes that sent requests), ``metrics`` (``request_count_total`` and
    ``request_cost_total`` per cost level) and ``in_flight_count``."""

    def __init__(self, bridge):
        self._bridge = bridge

    def _state(self) -> dict:
        return to_py(self._bridge.diagnostics("stealing", 0.0)) or {}

    @property
    def count(self) -> int:
        return self._state().get("count", 0)

    @property
    def in_flight_count(self) -> int:
        return self._state().get("in_flight", 0)

    @property
    def metrics(self) -> dict:
        state = self._state()
        return {name: dict(state.get(name, {})) for name in ("request_count_total", "request_cost_total")}


class SchedulerFacade:
    """Stands in for ``distributed.Scheduler`` (one per daskcpp-scheduler)."""

    def __init__(self, bridge):
        from distributed.core import AsyncTaskGroup, Status

        self._bridge = bridge
        self._pump = LoopPump()
        self._keys: dict[bytes, object] = {}
        self._views = weakref.WeakValueDictionary()
        self.tasks = TasksView(self)
        self.workers = WorkersView(self)
        self.clients = ClientsView(self)
        self.plugins = PluginTable(self._plugins_changed)
        self._hooks = HookCaller(self.plugins, bridge.log)
        self.extensions: dict = {}
        self.handlers = RoutedHandlers(bridge.route_rpc)
        self.stream_handlers = RoutedHandlers(bridge.route_stream)
        self.worker_plugins: dict = {}
        self.status = Status.running
        self._shuffle_active = False
        self._rpc_pool = None
        self.preloads = ()
        self.periodic_callbacks: dict = {}
        self.validate = False
        with self._pump.running():
            self._ongoing_background_tasks = AsyncTaskGroup()
        self.handlers.update(
            {
                "run_function": self.run_function,
                "register_scheduler_plugin": self.register_scheduler_plugin,
                "unregister_scheduler_plugin": self.unregister_scheduler_plugin,
                "feed": self.feed,
                "performance_report": self.performance_report,
            }
        )
        from daskcpp import _scheduler_admin

        _scheduler_admin.install(self)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"daskcpp-scheduler: Scheduler.{name} is not provided by the daskcpp "
            "scheduler facade"
        )

    def __repr__(self):
        return f"<Scheduler {self.address!r} (daskcpp facade)>"

    # -- keys and view caches
    def _key(self, kb: bytes):
        key = self._keys.get(kb)
        if key is None:
            key = self._keys[kb] = key_from_bytes(kb)
        return key

    def _keys_of(self, kbs: list) -> list:
        """The key objects of many canonical byte strings, mostly cache hits (no
        key is None, so None marks a miss)."""
        keys = list(map(self._keys.get, kbs))
        if None in keys:
            keys = [k if k is not None else self._key(kb) for k, kb in zip(keys, kbs)]
        return keys

    def _task_view(self, kb: bytes, key=None):
        view = self._views.get(kb)
        if view is None:
            view = TaskView(self, kb, key if key is not None else self._key(kb))
            self._views[kb] = view
        return view

    def _forget(self, kb: bytes):
        self._keys.pop(kb, None)

    # -- plain attributes
    @property
    def address(self):
        return self._bridge.address()

    @property
    def listen_address(self):
        return self._bridge.address()

    @property
    def id(self):
        return self._bridge.id()

    @property
    def loop(self):
        return self._pump.io_loop

    io_loop = loop

    @property
    def total_nthreads(self):
        return to_py(self._bridge.info("total_nthreads"))

    @property
    def total_occupancy(self):
        return to_py(self._bridge.info("total_occupancy"))

    @property
    def task_groups(self):
        raise _missing(self, "task_groups")

    # -- writes through C++
    def transitions(self, recommendations: dict, stimulus_id: str) -> None:
        self._bridge.transitions(
            [(key_bytes(k), v) for k, v in recommendations.items()], stimulus_id
        )

    def stimulus_queue_slots_maybe_opened(self, *, stimulus_id: str) -> None:
        self._bridge.stimulus_queue_slots_maybe_opened(stimulus_id)

    def set_restrictions(self, worker: dict) -> None:
        for key, restrictions in worker.items():
            if isinstance(restrictions, str):
                restrictions = {restrictions}
            value = sorted(restrictions) if restrictions is not None else None
            self._bridge.set_task_field(
                key_bytes(key), "worker_restrictions", to_frames(value)
            )

    def log_event(self, topic, msg) -> None:
        topics = [topic] if isinstance(topic, str) else list(topic)
        self._bridge.log_event(to_frames([topics, msg]))

    def send_all(self, client_msgs: dict, worker_msgs: dict) -> None:
        self._bridge.send_all(to_frames([client_msgs, worker_msgs]))

    def worker_send(self, worker: str, msg: dict) -> None:
        self.send_all({}, {worker: [msg]})

    def client_send(self, client: str, msg: dict) -> None:
        self.send_all({client: [msg]}, {})

    @property
    def memory(self):
        """Scheduler.memory: the sum of each worker's WorkerState.memory, from its
        heartbeat metrics and managed bytes. daskcpp keeps no rolling minimum of
        unmanaged memory: unmanaged_old is 0 (all unmanaged memory is "recent")."""
        from distributed.scheduler import MemoryState

        states = []
        for ws in self.workers.values():
            metrics = ws.metrics
            spilled = metrics.get("spilled_bytes") or {}
            states.append(
                MemoryState(
                    process=metrics.get("memory", 0),
                    managed=max(0, ws.nbytes - spilled.get("memory", 0)),
                    spilled=spilled.get("disk", 0),
                    unmanaged_old=0,
                )
            )
        return MemoryState.sum(*states)

    # -- talking to workers
    @property
    def rpc(self):
        """``Scheduler.rpc``: a ConnectionPool on the facade loop."""
        if self._rpc_pool is None:
            from distributed.core import ConnectionPool

            from distributed.core import Status

            with self._pump.running():
                pool = ConnectionPool(limit=512)
                # ConnectionPool.start() without awaiting: it only sets these.
                pool.semaphore = asyncio.Semaphore(pool.limit)
                pool.status = Status.running
                self._rpc_pool = pool
        return self._rpc_pool

    async def broadcast(
        self,
        *,
        msg,
        workers=None,
        hosts=None,
        nanny=False,
        serializers=None,
        on_error="raise",
    ):
        """Scheduler.broadcast (6657-6721) on the facade loop."""
        from distributed.core import send_recv
        from distributed.protocol.pickle import dumps
        from distributed.utils import All

        workers = list(self.workers) if workers is None else list(workers)
        if hosts is not None:
            raise _missing(self, "broadcast(hosts=...)")
        addresses = workers
        if nanny:
            addresses = [n for w in workers if (n := self.workers[w].nanny) is not None]
        error = object()

        async def send_message(addr):
            try:
                comm = await self.rpc.connect(addr)
                comm.name = "Scheduler Broadcast"
                try:
                    resp = await send_recv(comm, close=True, serializers=serializers, **msg)
                finally:
                    self.rpc.reuse(addr, comm)
                return resp
            except Exception as e:
                logger.error(f"broadcast to {addr} failed: {e.__class__.__name__}: {e}")
                if on_error == "raise":
                    raise
                if on_error == "return":
                    return e
                if on_error == "return_pickle":
                    return dumps(e)
                if on_error == "ignore":
                    return error
                raise ValueError(
                    "on_error must be 'raise', 'return', 'return_pickle', "
                    f"or 'ignore'; got {on_error!r}"
                )

        results = await All([send_message(a) for a in addresses])
        return {k: v for k, v in zip(workers, results) if v is not error}

    async def register_worker_plugin(self, comm, plugin, name=None, idempotent=None):
        """Scheduler.register_worker_plugin (8130-8140): stored where every
        register-worker reply takes it from, and sent to the current workers."""
        if idempotent is None:
            idempotent = False
        if name in self.worker_plugins and idempotent:
            return {}
        self.worker_plugins[name] = plugin
        self._bridge.store_worker_plugin(name, plugin)
        msg = {"op": "plugin-add", "plugin": plugin, "name": name}
        return await self.broadcast(msg=msg)

    async def upload_file(self, filename, data, load=True):
        """Server.upload_file (SchedulerUploadFile from Client.upload_file): written
        to the scheduler's scratch directory and imported here."""
        return await self._admin.upload_file(filename, data, load=load)

    # -- plugins (scheduler.py 6188-6269)
    def _plugins_changed(self):
        self._bridge.set_hook_mask(hook_mask(self.plugins))
        self._sync_gate()

    def _sync_gate(self):
        """Tells C++ whether the hosted shuffle extension has an active shuffle (its
        transition hook then also wants erred tasks)."""
        ext = self.extensions.get("shuffle")
        active = bool(ext is not None and ext.active_shuffles)
        if active != self._shuffle_active:
            self._shuffle_active = active
            self._bridge.set_shuffle_active(active)

    def _install_default_extensions(self):
        """Stock's DEFAULT_EXTENSIONS that have a Python side here: the P2P shuffle
        extension (it registers its handlers and itself as plugin "shuffle")."""
        from distributed.shuffle._scheduler_plugin import ShuffleSchedulerPlugin

        with self._pump.running():
            self.extensions["shuffle"] = ShuffleSchedulerPlugin(self)
        # Work stealing is native; stock leaves it out when it is disabled.
        if to_py(self._bridge.diagnostics("stealing", 0.0)) is not None:
            self.extensions["stealing"] = WorkStealingView(self._bridge)

    def _load_preloads(self, preload, preload_argv):
        from daskcpp._scheduler_preload import load

        with self._pump.running():
            self.preloads = load(self, list(preload), list(preload_argv))

    def _run_until_complete(self, coro, what, timeout=30.0):
        """Steps the facade loop until `coro` is done (startup and close only, while
        the C++ loop does nothing else)."""
        with self._pump.running():
            task = asyncio.ensure_future(coro)
        deadline = time.monotonic() + timeout
        while not task.done():
            if self._pump.step() != 0.0:
                time.sleep(0.001)
            if time.monotonic() > deadline:
                task.cancel()
                raise TimeoutError(f"daskcpp-scheduler: {what} did not finish in time")
        return task.result()

    def _start_plugins(self):
        """Scheduler.start_unsafe (4462-4472): preload dask_setup, then every
        plugin's start, run to completion before the scheduler accepts connections."""

        async def start_all():
            if self.preloads:
                await self.preloads.start()
            await asyncio.gather(
                *[p.start(self) for p in list(self.plugins.values()) if hasattr(p, "start")]
            )

        self._run_until_complete(start_all(), "plugin start")
        self._sync_gate()

    def add_plugin(self, plugin, *, idempotent=False, name=None, **kwargs):
        import warnings

        from distributed.diagnostics.plugin import _get_plugin_name

        if name is None:
            name = _get_plugin_name(plugin)
        if name in self.plugins:
            if idempotent:
                return
            warnings.warn(
                f"Scheduler already contains a plugin with name {name}; overwriting.",
                category=UserWarning,
            )
        self.plugins[name] = plugin

    def remove_plugin(self, name=None):
        assert name is not None
        try:
            del self.plugins[name]
        except KeyError:
            raise ValueError(
                f"Could not find plugin {name!r} among the current scheduler plugins"
            )

    async def register_scheduler_plugin(self, plugin, name=None, *, idempotent=False):
        from distributed.diagnostics.plugin import SchedulerPlugin, _get_plugin_name
        from distributed.protocol.pickle import loads

        if not isinstance(plugin, SchedulerPlugin):
            plugin = loads(plugin)
            assert isinstance(plugin, SchedulerPlugin)
        if name is None:
            name = _get_plugin_name(plugin)
        if name in self.plugins and idempotent:
            return
        if hasattr(plugin, "start"):
            result = plugin.start(self)
            if inspect.isawaitable(result):
                await result
        self.add_plugin(plugin, name=name, idempotent=idempotent)

    async def unregister_scheduler_plugin(self, name):
        self.remove_plugin(name)

    # -- run_on_scheduler (scheduler.py 8005-8023)
    def run_function(self, comm, function, args=(), kwargs=None, wait=True):
        from distributed.worker import run

        kwargs = kwargs or {}
        self.log_event("all", {"action": "run-function", "function": function})
        return run(self, comm, function=function, args=args, kwargs=kwargs, wait=wait)

    # -- feed (scheduler.py 7788-7827): progress bars' data comm
    async def feed(self, comm, **kwargs):
        """Scheduler.feed (7788-7827) itself, run on the facade: it reads only
        ``status`` and writes through ``comm``. Its ``log_errors`` is replaced by the
        same logging minus the cancellation at close, which is routine here (the
        facade cancels its tasks as it closes)."""
        from distributed.scheduler import Scheduler

        try:
            return await Scheduler.feed.__wrapped__(self, comm, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("feed from %s failed", comm.peer_address)
            raise

    # -- diagnostics recorded natively (task stream, log ring)
    @property
    def monitor(self):
        """Stock's SystemMonitor; performance_report reads only its ``count`` (the
        samples taken so far). daskcpp keeps no system monitor: always 0."""
        return _NoSystemMonitor()

    def get_task_stream(self, start=None, stop=None, count=None):
        """Scheduler.get_task_stream for Python callers: the records since ``start``
        (``stop`` and ``count`` are applied here). Starts the recording, as stock's
        lazily added TaskStreamPlugin does."""
        records = to_py(self._bridge.diagnostics("task_stream", float(start or 0)))
        if stop is not None:
            records = [r for r in records if max(ss["stop"] for ss in r["startstops"]) < stop]
        return list(records[-count:] if count is not None else records)

    @property
    def transition_log(self):
        """Scheduler.transition_log: (key, start, finish, recommendations,
        stimulus_id, timestamp), oldest first, from the native bounded log (which
        keeps no recommendations: always {})."""
        return [tuple(t) for t in to_py(self._bridge.diagnostics("transition_log", 0.0))]

    def daskcpp_cpu_counters(self):
        """daskcpp only: CPU seconds the scheduler spent on graph intake (the
        embedded interpreter's thread) and on its loop thread, plus the graphs and
        tasks taken in: ``{"loop_cpu_s", "intake_cpu_s", "intake_graphs",
        "intake_tasks"}``. Cumulative since start; read it before and after a
        workload (bench/ does) to split the scheduler's CPU per task."""
        return to_py(self._bridge.diagnostics("counters", 0.0))

    def get_logs(self, start=0, n=None, timestamps=False):
        """ServerNode.get_logs over the scheduler's log ring: newest first."""
        records = to_py(self._bridge.diagnostics("logs", float(start or 0)))
        if n:
            records = records[:n]
        return [tuple(r) if timestamps else (r[1], r[2]) for r in records]

    async def performance_report(self, start, last_count=0, code="", mode=None):
        """Scheduler.performance_report (8421-8570) without bokeh: daskcpp's plain
        HTML page (daskcpp/_performance_report.py says what it leaves out)."""
        import dask
        import distributed

        from daskcpp._performance_report import render

        workers = list(self.workers.values())
        logs = [(level, line) for _, level, line in reversed(self.get_logs(start=start, timestamps=True))]
        return render(
            records=self.get_task_stream(start=start), logs=logs, address=self.address,
            nworkers=len(workers), nthreads=sum(ws.nthreads for ws in workers),
            memory_limit=sum(ws.memory_limit or 0 for ws in workers),
            dask_version=dask.__version__, distributed_version=distributed.__version__,
            code=code or "", start=start, stop=time.time())

    # ---- entry points for C++ (python_compat/scheduler_host.cpp) -------------------

    def _rpc(self, op, peer, frames, reply, comm_id=0):
        """One RPC routed to Python: calls handlers[op] as core.py's handle_comm does
        and hands the reply's frames to `reply` (now, or when the coroutine ends)."""
        from distributed.core import _expects_comm, error_message

        def send(result):
            try:
                frames = to_frames(result)
            except Exception as e:
                frames = to_frames(error_message(e, status="uncaught-error"))
            self._sync_gate()
            reply(frames)

        with self._pump.running():
            try:
                msg = to_py(frames)
                handler = self.handlers[op]
                if _expects_comm(handler):
                    result = handler(_RequestComm(self._bridge, comm_id, peer), **msg)
                else:
                    result = handler(**msg)
            except Exception as e:
                send(error_message(e, status="uncaught-error"))
                return
            if not inspect.isawaitable(result):
                send(result)
                return

            async def finish(awaitable):
                try:
                    value = await awaitable
                except asyncio.CancelledError:
                    value = None  # the facade is closing: C++ must not wait forever
                except Exception as e:
                    value = error_message(e, status="uncaught-error")
                send(value)

            asyncio.ensure_future(finish(result))

    def _stream(self, op, peer, frames):
        with self._pump.running():
            try:
                msg = to_py(frames)
                result = self.stream_handlers[op](**msg)
                if inspect.isawaitable(result):
                    asyncio.ensure_future(result)
            except Exception:
                logger.exception("stream handler %s from %s failed", op, peer)

    def _hook(self, hook, frames):
        kwargs = to_py(frames) if frames is not None else {}
        with self._pump.running():
            if hook == "transition":
                raise AssertionError("transition goes through _transition")
            if hook == "update_graph":
                kwargs["keys"] = set(kwargs["keys"])
                self._hooks.call(hook, self, **kwargs)
            elif hook == "log_event":
                self._hooks.call(hook, kwargs["topic"], kwargs["msg"])
            elif hook == "restart":
                self._hooks.call(hook, self)
            elif hook in ("before_close", "close"):
                self._hooks.call(hook)
            elif hook == "heartbeat":
                self._heartbeat_extensions(kwargs["worker"], kwargs["extensions"])
            else:
                self._hooks.call(hook, scheduler=self, **kwargs)
        self._sync_gate()

    def _transition(self, kb, start, finish, stimulus_id, frames, only_shuffle):
        kwargs = to_py(frames) if frames is not None else {}
        key = self._key(kb)
        with self._pump.running():
            self._hooks.call(
                "transition",
                key,
                start,
                finish,
                stimulus_id=stimulus_id,
                only=gated_shuffle_extension if only_shuffle else None,
                **kwargs,
            )
        if finish == "forgotten":
            self._forget(kb)
        self._sync_gate()

    def _valid_workers_downscaling(self, candidates):
        """workers_to_close 7393-7395: every plugin filters the candidates."""
        valid = [self.workers[a] for a in candidates if a in self.workers]
        with self._pump.running():
            for name, plugin in list(self.plugins.items()):
                try:
                    valid = plugin.valid_workers_downscaling(self, valid)
                except Exception:
                    logger.exception(
                        "Scheduler plugin %r failed in hook valid_workers_downscaling", name
                    )
        self._sync_gate()
        return [ws.address for ws in valid]

    def _heartbeat_extensions(self, worker, extensions):
        """heartbeat_worker 4653-4655, for the extensions the facade hosts (stock
        raises KeyError for an unknown name; here it is ignored)."""
        if worker not in self.workers:
            return
        ws = self.workers[worker]
        for name, data in extensions.items():
            ext = self.extensions.get(name)
            if ext is None or not data or not hasattr(ext, "heartbeat"):
                continue
            try:
                ext.heartbeat(ws, data)
            except Exception:
                logger.exception("heartbeat of extension %s from %s failed", name, worker)

    def _version_message(self, frames):
        """Scheduler.add_client's version check (5929-5933): the workers' and the
        client's versions against this interpreter's."""
        from distributed import versions as version_module

        msg = to_py(frames)
        return to_frames(
            version_module.error_message(
                version_module.get_versions(), msg["workers"], msg["source"]
            )
        )

    def _step(self) -> float:
        wakeup = self._pump.step()
        self._sync_gate()
        return wakeup

    def _fileno(self) -> int:
        return self._pump.fileno()

    def _close(self):
        """Scheduler.close (4499-4507): before_close hooks, preload teardown, close
        hooks; then the facade loop's tasks are cancelled."""
        from distributed.core import Status

        if self.status == Status.closed:
            return
        self.status = Status.closing

        async def close_all():
            await asyncio.gather(*self._hooks.call("before_close"))
            if self.preloads:
                await self.preloads.teardown()
            await asyncio.gather(*self._hooks.call("close"))

        try:
            self._run_until_complete(close_all(), "close", timeout=10.0)
        except Exception:
            logger.exception("Scheduler close hooks failed")
        self.status = Status.closed
        self._pump.close()
