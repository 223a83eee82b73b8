"""Scheduler preloads (``dask scheduler --preload``) on the daskcpp facade: upstream
``distributed.preloading`` does the work -- a module name, a ``.py`` file, inline
source or a URL; ``dask_setup(scheduler)`` (a click command gets the preload argv)
when the scheduler starts, ``dask_teardown(scheduler)`` when it closes
(scheduler.py 3968-3976, 4462, 4500-4507)."""

from __future__ import annotations


class _ClickContext:
    """What ``validate_preload_argv`` reads of click's context."""

    def __init__(self, preload):
        self.params = {"preload": tuple(preload)}


def load(facade, preload: list[str], preload_argv: list[str]):
    """Imports the preloads as Scheduler.__init__ does; returns the PreloadManager.
    Command-line values are first checked as ``dask scheduler``'s click callback
    does (click.UsageError: argv without a click-configurable dask_setup, or not
    accepted by it)."""
    import dask
    from distributed import preloading

    preloading.validate_preload_argv(_ClickContext(preload), None, tuple(preload_argv))
    if not preload:
        preload = dask.config.get("distributed.scheduler.preload")
    if not preload_argv:
        preload_argv = dask.config.get("distributed.scheduler.preload-argv")
    return preloading.process_preloads(facade, preload, preload_argv)
