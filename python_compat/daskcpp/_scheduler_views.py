"""The live views the Scheduler facade (daskcpp/_scheduler.py) hands out: ``tasks``,
``workers`` and ``clients`` mappings and the TaskState / WorkerState / ClientState
stand-ins, plus the value and key conversions across the C++ boundary.

A view holds a key (or address, or client id) and asks C++ through the facade's
bridge on every attribute read; writes go back through it. Nothing is copied, so a
view is never stale: a forgotten task reads as state "forgotten". Runs on the C++
loop thread with the GIL held, like the facade.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgpack


# ---- values and keys across the boundary ------------------------------------------


def to_py(frames):
    from distributed.protocol import loads

    return loads(frames, deserialize=False)


def to_frames(obj) -> list:
    from distributed.protocol import dumps

    return [bytes(f) for f in dumps(obj)]


def key_bytes(key) -> bytes:
    """A key's canonical bytes: its shortest msgpack form (protocol.md §9)."""
    if isinstance(key, list):
        key = tuple(key)
    return msgpack.dumps(key, use_bin_type=True)


def key_from_bytes(data: bytes):
    return msgpack.loads(data, use_list=False, raw=False)


def _missing(obj, name):
    return AttributeError(
        f"daskcpp-scheduler: {type(obj).__name__}.{name} is not provided by the "
        "daskcpp scheduler facade"
    )


# ---- views ------------------------------------------------------------------------


class _Named:
    """TaskGroup / TaskPrefix as far as facade users read them."""

    def __init__(self, name):
        self.name = name
        self.span_id = None

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"


class TaskGroupView(_Named):
    pass


class TaskPrefixView(_Named):
    pass


_TASK_SETS = {"dependencies", "dependents", "waiters", "waiting_on"}
_WORKER_SETS = {"who_has", "erred_on"}
_CLIENT_SETS = {"who_wants"}


class TaskView:
    """A live view of one task (``distributed.scheduler.TaskState``)."""

    __slots__ = ("_facade", "_kb", "key", "_run_spec", "__weakref__")

    def __init__(self, facade, kb: bytes, key):
        self._facade = facade
        self._kb = kb
        self.key = key
        self._run_spec = None

    def __repr__(self):
        try:
            state = self.state
        except KeyError:
            state = "forgotten"
        return f"<TaskState {self.key!r} {state}>"

    def __eq__(self, other):
        return isinstance(other, TaskView) and other._kb == self._kb

    def __hash__(self):
        return hash(self._kb)

    def _field(self, name):
        return to_py(self._facade._bridge.task_field(self._kb, name))

    def __getattr__(self, name):
        f = self._facade
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            value = self._field(name)
        except AttributeError:
            raise _missing(self, name) from None
        if name in _TASK_SETS:
            return frozenset(f._task_view(k) for k in value)
        if name in _WORKER_SETS:
            return frozenset(f.workers[a] for a in value if a in f.workers)
        if name in _CLIENT_SETS:
            return frozenset(f.clients[c] for c in value if c in f.clients)
        if name == "processing_on":
            return f.workers.get(value) if value is not None else None
        if name == "exception_blame":
            return f._task_view(value) if value is not None else None
        if name == "group":
            return TaskGroupView(value)
        if name == "prefix":
            return TaskPrefixView(value)
        if name == "run_spec":
            if self._run_spec is None and value is not None:
                self._run_spec = value
            return self._run_spec
        if name == "annotations":
            return _Annotations(self, value) if value is not None else None
        if name in ("worker_restrictions", "host_restrictions"):
            return set(value) if value is not None else None
        return value

    def __setattr__(self, name, value):
        if name in TaskView.__slots__:
            object.__setattr__(self, name, value)
            return
        if name == "annotations":
            value = dict(value or {})
        elif name == "worker_restrictions":
            self._facade.set_restrictions({self.key: value})
            return
        self._facade._bridge.set_task_field(self._kb, name, to_frames(value))


class _Annotations(dict):
    """``ts.annotations``: every mutation is written back to the C++ task."""

    def __init__(self, task, value):
        super().__init__(value)
        self._task = task

    def _flush(self):
        self._task._facade._bridge.set_task_field(
            self._task._kb, "annotations", to_frames(dict(self))
        )

    def __setitem__(self, k, v):
        super().__setitem__(k, v)
        self._flush()

    def __delitem__(self, k):
        super().__delitem__(k)
        self._flush()

    def pop(self, *args):
        result = super().pop(*args)
        self._flush()
        return result

    def update(self, *args, **kwargs):
        super().update(*args, **kwargs)
        self._flush()

    def setdefault(self, k, default=None):
        result = super().setdefault(k, default)
        self._flush()
        return result


class WorkerView:
    """A live view of one worker (``distributed.scheduler.WorkerState``)."""

    __slots__ = ("_facade", "address")

    def __init__(self, facade, address):
        self._facade = facade
        self.address = address

    def __repr__(self):
        return f"<WorkerState {self.address!r}>"

    def __eq__(self, other):
        return isinstance(other, WorkerView) and other.address == self.address

    def __hash__(self):
        return hash(self.address)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            value = to_py(self._facade._bridge.worker_field(self.address, name))
        except AttributeError:
            raise _missing(self, name) from None
        if name in ("processing", "has_what", "long_running"):
            return {self._facade._task_view(k) for k in value}
        if name == "status":
            from distributed.core import Status

            return Status(value)
        return value


class ClientView:
    __slots__ = ("_facade", "client_key")

    def __init__(self, facade, client_key):
        self._facade = facade
        self.client_key = client_key

    def __repr__(self):
        return f"<Client {self.client_key!r}>"

    def __eq__(self, other):
        return isinstance(other, ClientView) and other.client_key == self.client_key

    def __hash__(self):
        return hash(self.client_key)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            value = to_py(self._facade._bridge.client_field(self.client_key, name))
        except AttributeError:
            raise _missing(self, name) from None
        if name == "wants_what":
            return {self._facade._task_view(k) for k in value}
        return value


class TasksView(Mapping):
    """``Scheduler.tasks``: key -> TaskView, live."""

    def __init__(self, facade):
        self._facade = facade

    def __getitem__(self, key):
        kb = key_bytes(key)
        if not self._facade._bridge.has_task(kb):
            raise KeyError(key)
        return self._facade._task_view(kb, key)

    def __contains__(self, key):
        try:
            return self._facade._bridge.has_task(key_bytes(key))
        except (TypeError, ValueError):
            return False

    def __iter__(self):
        # A list, not a generator: Progress.setup polls
        # `keys.issubset(scheduler.tasks)` every 50 ms, which iterates all tasks.
        return iter(self._facade._keys_of(self._facade._bridge.task_keys()))

    def __len__(self):
        return self._facade._bridge.task_count()


class WorkersView(Mapping):
    """``Scheduler.workers``: address -> WorkerView, sorted by address."""

    def __init__(self, facade):
        self._facade = facade

    def __getitem__(self, address):
        if address not in self:
            raise KeyError(address)
        return WorkerView(self._facade, address)

    def __contains__(self, address):
        return isinstance(address, str) and address in set(
            self._facade._bridge.worker_addresses()
        )

    def __iter__(self):
        return iter(self._facade._bridge.worker_addresses())

    def __len__(self):
        return len(self._facade._bridge.worker_addresses())


class ClientsView(Mapping):
    def __init__(self, facade):
        self._facade = facade

    def __getitem__(self, client):
        if client not in self:
            raise KeyError(client)
        return ClientView(self._facade, client)

    def __contains__(self, client):
        return client in set(self._facade._bridge.client_ids())

    def __iter__(self):
        return iter(self._facade._bridge.client_ids())

    def __len__(self):
        return len(self._facade._bridge.client_ids())
