"""Task functions run by the workers in the integration tests.

They live in their own module (on the workers' PYTHONPATH, see cluster.py) so
workers unpickle them by reference, exactly like user code in an installed
package. Timing control uses gate files instead of sleeps: a gated task blocks
until the test creates the file, so "mid-graph" states are reached
deterministically."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

GATE_TIMEOUT_S = 45.0


class UserError(ValueError):
    """A user-defined exception type, to check that the exact type round-trips."""


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def total(xs):
    return sum(xs)


def is_even(x):
    return x % 2 == 0


def array_sum(a):
    return float(a.sum())


def array_nbytes(a):
    return int(a.nbytes)


def fail(x):
    raise UserError(f"bad input {x}")


def read_text(path):
    """Fails with FileNotFoundError until the test creates `path`."""
    return Path(path).read_text()


def write_text(path, text):
    Path(path).write_text(text)
    return text


def wait_gate(gate):
    """Blocks until the file `gate` exists (bounded, so a broken test cannot
    wedge a worker thread for ever)."""
    deadline = time.monotonic() + GATE_TIMEOUT_S
    while not os.path.exists(gate):
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {gate} was never opened")
        time.sleep(0.01)


def gated_inc(x, gate):
    wait_gate(gate)
    return x + 1


def gated_identity(x, gate, started_dir=None):
    """Records that it started (a file per argument in `started_dir`), then waits."""
    if started_dir is not None:
        Path(started_dir, f"started-{x}").touch()
    wait_gate(gate)
    return x


def kill_own_worker(x):
    """Kills the worker process running it, on every attempt. Waits a second first:
    a worker that dies before its nanny has finished starting it is not restarted
    (the nanny closes with nanny-start-failed), and a task can reach a worker that
    has registered but whose nanny is still in its start."""
    import time

    time.sleep(1)
    os.kill(os.getpid(), signal.SIGKILL)
    return x  # unreachable


def getpid():
    return os.getpid()


def log_event_from_task(topic, msg):
    """Logs an event from inside a task (Worker.log_event -> the scheduler's
    log-event stream op); returns the worker's address."""
    from distributed import get_worker

    worker = get_worker()
    worker.log_event(topic, msg)
    return worker.address


def print_from_task(text):
    """distributed.print: printed on the worker and on every client."""
    import distributed

    distributed.print(text)
    return text


def log_value_event(x, topic="ff"):
    """Logs `x` under `topic` from inside a task (fire_and_forget tests)."""
    from distributed import get_worker

    get_worker().log_event(topic, x)
    return x


def slow_inc(x, delay=0.5):
    time.sleep(delay)
    return x + 1


class Counter:
    """An actor (`submit(Counter, actor=True)`)."""

    n = 0  # the client's Actor proxy only exposes attributes the class has

    def __init__(self, start=0):
        self.n = start

    def increment(self, by=1):
        self.n += by
        return self.n

    def fail(self):
        raise UserError("actor method failed")
