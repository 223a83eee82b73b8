"""The scheduler's diagnostic and maintenance RPCs that stock answers by asking its
workers or its own Python environment: ``versions``, ``profile``, ``call_stack``,
``benchmark_hardware``, ``get_cluster_state`` / ``dump_cluster_state_to_url``,
``dump_state``, ``upload_file``, ``get_runspec`` / ``get_error_cause``
(recreate_tasks), ``proxy`` (actors), ``start_task_metadata`` / ``stop_task_metadata``
(get_task_metadata), ``memory_sampler_start`` / ``_stop`` (MemorySampler),
``set_restrictions`` and the small read-only queries
(``get_task_status``, ``get_task_prefix_states``, ``echo``).

They run on the facade (daskcpp/_scheduler.py), on the C++ loop thread. Where
stock's method only needs what the facade provides (``workers``, ``tasks``,
``rpc``, ``broadcast``) the stock method itself is called with the facade as
``self``, so the answer is stock's by construction. What reads scheduler state
the facade does not mirror in Python (identity, events) is asked of the native
handlers over a loopback RPC, which the C++ loop serves while this coroutine
waits.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time

logger = logging.getLogger("distributed.scheduler")


def install(facade) -> None:
    """Puts the handlers into ``facade.handlers`` (routed to Python by C++ unless a
    native handler of the same name exists)."""
    from distributed.diagnostics.memory_sampler import MemorySamplerExtension
    from distributed.recreate_tasks import ReplayTaskScheduler

    admin = SchedulerAdmin(facade)
    facade.handlers.update(
        {
            "versions": admin.versions,
            "profile": admin.get_profile,
            "call_stack": admin.get_call_stack,
            "benchmark_hardware": admin.benchmark_hardware,
            "get_cluster_state": admin.get_cluster_state,
            "dump_cluster_state_to_url": admin.dump_cluster_state_to_url,
            "get_task_status": admin.get_task_status,
            "get_task_prefix_states": admin.get_task_prefix_states,
            "echo": admin.echo,
            "proxy": admin.proxy,
            "dump_state": admin.dump_state,
            "set_restrictions": facade.set_restrictions,
            "start_task_metadata": admin.start_task_metadata,
            "stop_task_metadata": admin.stop_task_metadata,
        }
    )
    # Stock's extensions register their handlers themselves.
    facade.extensions["replay-tasks"] = ReplayTaskScheduler(facade)
    facade.extensions["memory_sampler"] = MemorySamplerExtension(facade)
    facade._admin = admin


class SchedulerAdmin:
    def __init__(self, facade):
        self.facade = facade
        self._local_directory = None

    # -- versions (node.py ServerNode.versions): the embedded interpreter's packages
    def versions(self, packages=None):
        from distributed.versions import get_versions

        return get_versions(packages=packages)

    def echo(self, data=None):
        return data

    # -- answers gathered from the workers: stock's own code
    async def proxy(self, msg, worker, serializers=None):
        """Scheduler.proxy (6723-6731): actor calls from a client that does not talk
        to workers directly (distributed.client.direct-to-workers unset)."""
        d = await self.facade.broadcast(msg=msg, workers=[worker], serializers=serializers)
        return d[worker]

    async def get_profile(self, scheduler=False, **kwargs):
        """Scheduler.get_profile. ``scheduler=True`` profiles stock's Python event
        loop thread; daskcpp's loop is C++ and is not sampled: an empty profile."""
        from distributed import profile
        from distributed.scheduler import Scheduler

        if scheduler:
            return profile.create()
        return await Scheduler.get_profile(self.facade, **kwargs)

    async def get_call_stack(self, keys=None):
        from distributed.scheduler import Scheduler

        return await Scheduler.get_call_stack(self.facade, keys=keys)

    async def benchmark_hardware(self):
        from distributed.scheduler import Scheduler

        return await Scheduler.benchmark_hardware(self.facade)

    def get_task_status(self, keys):
        tasks = self.facade.tasks
        return {key: (tasks[key].state if key in tasks else None) for key in keys}

    def get_task_prefix_states(self):
        """Scheduler.get_task_prefix_states, counted from the live tasks (daskcpp
        keeps no per-prefix state counters): prefix -> {state: count} for the
        states stock reports."""
        states = ("memory", "erred", "released", "processing", "waiting")
        out: dict = {}
        for ts in self.facade.tasks.values():
            state = ts.state
            if state not in states:
                continue
            counts = out.setdefault(str(ts.prefix.name), dict.fromkeys(states, 0))
            counts[state] += 1
        return out

    # -- get_task_metadata (scheduler.py 8110-8128): stock's plugin on the facade
    def start_task_metadata(self, name):
        from distributed.scheduler import Scheduler

        Scheduler.start_task_metadata(self.facade, name=name)

    def stop_task_metadata(self, name=None):
        from distributed.scheduler import Scheduler

        return Scheduler.stop_task_metadata(self.facade, name=name)

    # -- cluster dumps (scheduler.py 4327-4375)
    async def dump_state(self, exclude=()):
        """Server.dump_state: the scheduler section of a cluster dump."""
        return await self._to_dict(exclude=exclude)

    async def get_cluster_state(self, exclude=()):
        import asyncio

        facade = self.facade
        workers_future = asyncio.gather(
            facade.broadcast(msg={"op": "dump_state", "exclude": exclude}, on_error="return"),
            facade.broadcast(msg={"op": "versions"}, on_error="ignore"),
        )
        try:
            scheduler_state = await self._to_dict(exclude=exclude)
            worker_states, worker_versions = await workers_future
        finally:
            workers_future.cancel()
        worker_states = {
            k: repr(v) if isinstance(v, Exception) else v for k, v in worker_states.items()
        }
        return {
            "scheduler": scheduler_state,
            "workers": worker_states,
            "versions": {"scheduler": self.versions(), "workers": worker_versions},
        }

    async def dump_cluster_state_to_url(self, url, exclude, format, **storage_options):
        from functools import partial

        from distributed import cluster_dump

        await cluster_dump.write_state(
            partial(self.get_cluster_state, exclude), url, format, **storage_options
        )

    async def _to_dict(self, exclude=()):
        """Scheduler._to_dict's sections, from the facade's views. The per-task and
        per-worker records hold the fields the facade exposes (a subset of stock's
        TaskState / WorkerState members); references are reprs, as in stock."""
        from distributed.utils import recursive_to_dict

        facade = self.facade
        own = facade.rpc(facade.address)
        identity = await own.identity()
        events = await own.events()
        info = dict(identity)
        info.update(
            {
                "address": facade.address,
                "status": facade.status.name,
                "thread_id": None,
            }
        )
        tasks = {ts.key: _task_dict(ts) for ts in facade.tasks.values()}
        workers = {addr: _worker_dict(ws) for addr, ws in facade.workers.items()}
        clients = {
            cid: {"client_key": cid, "wants_what": sorted(repr(t) for t in cs.wants_what),
                  "last_seen": cs.last_seen}
            for cid, cs in facade.clients.items()
        }  # fmt: skip
        managed = sum(ws["nbytes"] for ws in workers.values())
        extra = {
            "transition_log": facade.transition_log,
            "transition_counter": len(facade.transition_log),
            "tasks": tasks,
            "task_groups": {},
            "workers": workers,
            "clients": clients,
            "memory": {"managed": managed},
            "events": events or {},
            "extensions": {name: repr(ext) for name, ext in facade.extensions.items()},
        }
        info.update(extra)
        info = {k: v for k, v in info.items() if k not in exclude}
        return recursive_to_dict(info, exclude=exclude)

    # -- upload_file (core.py Server.upload_file), into a scratch directory of ours
    @property
    def local_directory(self):
        if self._local_directory is None:
            import dask

            base = dask.config.get("temporary-directory") or tempfile.gettempdir()
            root = os.path.join(base, "dask-scratch-space")
            os.makedirs(root, exist_ok=True)
            self._local_directory = tempfile.mkdtemp(prefix="scheduler-", dir=root)
        return self._local_directory

    async def upload_file(self, filename, data, load=True):
        from distributed.core import Server

        return await Server.upload_file(self, filename, data, load=load)


def _task_dict(ts) -> dict:
    def refs(values):
        return sorted(repr(v) for v in values)

    processing_on = ts.processing_on
    return {
        "key": ts.key,
        "state": ts.state,
        "priority": ts.priority,
        "nbytes": ts.nbytes,
        "retries": ts.retries,
        "suspicious": ts.suspicious,
        "dependencies": refs(ts.dependencies),
        "dependents": refs(ts.dependents),
        "waiting_on": refs(ts.waiting_on),
        "waiters": refs(ts.waiters),
        "who_has": refs(ts.who_has),
        "who_wants": refs(ts.who_wants),
        "processing_on": repr(processing_on) if processing_on is not None else None,
        "exception_text": ts.exception_text,
        "traceback_text": ts.traceback_text,
        "annotations": dict(ts.annotations or {}),
    }


def _worker_dict(ws) -> dict:
    return {
        "address": ws.address,
        "name": ws.name,
        "host": ws.host,
        "nthreads": ws.nthreads,
        "memory_limit": ws.memory_limit,
        "status": ws.status.name,
        "nbytes": ws.nbytes,
        "occupancy": ws.occupancy,
        "resources": dict(ws.resources),
        "nanny": ws.nanny,
        "processing": sorted(repr(t) for t in ws.processing),
        "has_what": sorted(repr(t) for t in ws.has_what),
        "time": time.time(),
    }
