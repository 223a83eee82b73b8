"""A SchedulerPlugin that records its hook calls (docs/design/scheduler-python-side.md
§5.2 `Rec`). Lives in a module of its own so the client pickles it by reference and
both schedulers (stock and daskcpp's facade) import it from PYTHONPATH."""

from distributed import SchedulerPlugin


class Rec(SchedulerPlugin):
    name = "rec"

    def __init__(self, watch="inc-1"):
        self.ev = []
        self.watch = watch

    async def start(self, scheduler):
        self.ev.append(("start",))

    def update_graph(self, scheduler, *, keys, tasks, **kw):
        self.ev.append(("update_graph", sorted(map(str, keys))))

    def transition(self, key, start, finish, *args, stimulus_id, **kw):
        if key == self.watch:
            self.ev.append(("transition", start, finish, sorted(kw)))

    def add_worker(self, scheduler, worker):
        self.ev.append(("add_worker", worker))

    def remove_worker(self, scheduler, worker, *, stimulus_id, **kw):
        self.ev.append(("remove_worker", worker, bool(stimulus_id)))

    def add_client(self, scheduler, client):
        self.ev.append(("add_client", client))

    def remove_client(self, scheduler, client):
        self.ev.append(("remove_client", client))

    def log_event(self, topic, msg):
        if topic == "t":
            self.ev.append(("log_event", topic, msg))

    def restart(self, scheduler):
        self.ev.append(("restart",))


class Failing(SchedulerPlugin):
    """Raises in every hook it has: the scheduler must log and carry on."""

    name = "failing"

    def transition(self, key, start, finish, *args, **kwargs):
        raise RuntimeError("transition hook failed on purpose")

    def update_graph(self, scheduler, **kwargs):
        raise RuntimeError("update_graph hook failed on purpose")


class Handlers(SchedulerPlugin):
    """Registers a Python RPC handler (sync and async) on start."""

    name = "handlers"

    async def start(self, scheduler):
        def echo(x):
            return {"echo": x}

        async def aecho(comm, x):
            return {"aecho": x, "has_comm": comm is not None}

        def boom():
            raise KeyError("no such thing")

        scheduler.handlers.update({"py_echo": echo, "py_aecho": aecho, "py_boom": boom})


class KeepFirst(SchedulerPlugin):
    """Refuses to let the first worker (by address) be closed."""

    name = "keep-first"

    def valid_workers_downscaling(self, scheduler, workers):
        first = min(scheduler.workers)
        return [ws for ws in workers if ws.address != first]


class Nester(SchedulerPlugin):
    """Tries to run transitions from inside its transition hook (stock allows it;
    daskcpp's engine does not nest and says so)."""

    name = "nester"

    def __init__(self):
        self.errors = []

    async def start(self, scheduler):
        self.scheduler = scheduler

    def transition(self, key, start, finish, *args, **kwargs):
        if key == "nest-1" and finish == "memory":
            try:
                self.scheduler.transitions({}, stimulus_id="nested")
            except RuntimeError as e:
                self.errors.append(str(e))


class StreamOps(SchedulerPlugin):
    """Registers a client stream handler that records what it receives."""

    name = "stream-ops"

    def __init__(self):
        self.got = []

    async def start(self, scheduler):
        def my_op(client=None, x=None, **kwargs):
            self.got.append((client, x))

        scheduler.stream_handlers["my-stream-op"] = my_op
