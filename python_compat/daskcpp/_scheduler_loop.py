"""The scheduler facade's asyncio loop, stepped by daskcpp-scheduler's C++ loop.

Everything that touches scheduler state runs on the C++ (Asio) loop thread, so the
facade's asyncio loop cannot own a thread of its own. Instead its selector never
blocks and the C++ loop *steps* it (``BaseEventLoop._run_once``): after any call into
Python that may have scheduled callbacks, when the selector's epoll fd is readable
(this covers ``call_soon_threadsafe``'s self-pipe), and at the deadline of the
earliest timer. ``LoopPump.step`` returns that deadline to C++.
(python_compat/scheduler_host.hpp, scheduler/python_side/loop_pump.hpp)
"""

from __future__ import annotations

import asyncio
import contextlib
import selectors
import threading


class _NonBlockingSelector(selectors.EpollSelector):
    """An epoll selector that only ever polls: the C++ loop waits on its fd."""

    def select(self, timeout=None):
        return super().select(0)


class LoopPump:
    def __init__(self):
        self.loop = asyncio.SelectorEventLoop(_NonBlockingSelector())
        # The loop counts as running on the C++ loop thread (this one): code that
        # would block on it from there (run_until_complete) fails loudly instead of
        # deadlocking, and is_running() is true as inside stock's loop.
        self.loop._thread_id = threading.get_ident()
        self._io_loop = None

    def fileno(self) -> int:
        return self.loop._selector.fileno()

    @contextlib.contextmanager
    def running(self):
        """Makes the facade loop the running loop for a call from C++ (hooks create
        tasks with asyncio.create_task / ensure_future)."""
        previous = asyncio.events._get_running_loop()
        if previous is self.loop:
            yield
            return
        asyncio.events._set_running_loop(self.loop)
        try:
            yield
        finally:
            asyncio.events._set_running_loop(previous)

    def step(self) -> float:
        """Runs one loop iteration; returns the seconds until the next one is due
        (0: at once, -1: only when the selector fd becomes readable)."""
        with self.running():
            self.loop._run_once()
        return self.next_wakeup()

    def next_wakeup(self) -> float:
        loop = self.loop
        if loop._ready:
            return 0.0
        if loop._scheduled:
            return max(0.0, loop._scheduled[0].when() - loop.time())
        return -1.0

    @property
    def io_loop(self):
        """``Scheduler.loop`` / ``io_loop``: a tornado IOLoop over the facade loop."""
        if self._io_loop is None:
            from tornado.platform.asyncio import AsyncIOLoop

            with self.running():
                self._io_loop = AsyncIOLoop(asyncio_loop=self.loop)
        return self._io_loop

    def close(self):
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        for _ in range(3):
            self.step()
