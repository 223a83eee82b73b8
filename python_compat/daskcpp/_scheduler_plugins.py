"""SchedulerPlugin hosting for the scheduler facade: the plugin table, the hook mask
C++ caches to skip hooks no plugin overrides, and the hook calls in stock's order and
with stock's arguments (distributed/scheduler.py; docs/design/scheduler-python-side.md
§2.5). A failing hook is logged naming the plugin and the hook; it never reaches C++.
"""

from __future__ import annotations

import asyncio
import inspect
import traceback

# Bit i of the hook mask is HOOKS[i]; scheduler/python_side/hook_mask.hpp mirrors it.
HOOKS = (
    "update_graph",
    "transition",
    "add_worker",
    "remove_worker",
    "add_client",
    "remove_client",
    "log_event",
    "restart",
    "valid_workers_downscaling",
    "before_close",
    "close",
    # Not a SchedulerPlugin hook: the hosted shuffle extension's gated transition
    # hook (scheduler/python_side/python_side.cpp decides when it may fire).
    "shuffle_gate",
)
SHUFFLE_GATE_VERSION = "2026.8.0"


def gated_shuffle_extension(plugin) -> bool:
    """True for upstream's ShuffleSchedulerPlugin of the release whose transition
    hook the C++ gate was derived from (docs/design/scheduler-python-side.md §4.5):
    it returns without side effects unless a barrier goes released/forgotten or a
    task errs while a shuffle is active. Any other release is called ungated."""
    import distributed
    from distributed.shuffle._scheduler_plugin import ShuffleSchedulerPlugin

    return (
        type(plugin) is ShuffleSchedulerPlugin
        and distributed.__version__ == SHUFFLE_GATE_VERSION
    )


def hook_mask(plugins) -> int:
    """A hook counts only when some plugin's class overrides SchedulerPlugin's."""
    from distributed.diagnostics.plugin import SchedulerPlugin

    mask = 0
    for bit, name in enumerate(HOOKS):
        if name == "shuffle_gate":
            if any(gated_shuffle_extension(p) for p in plugins.values()):
                mask |= 1 << bit
            continue
        base = getattr(SchedulerPlugin, name)
        for plugin in plugins.values():
            if name == "transition" and gated_shuffle_extension(plugin):
                continue
            if getattr(type(plugin), name, base) is not base:
                mask |= 1 << bit
                break
    return mask


class PluginTable(dict):
    """``Scheduler.plugins``: a dict that tells C++ the new hook mask on every change."""

    def __init__(self, on_change):
        super().__init__()
        self._on_change = on_change

    def __setitem__(self, name, plugin):
        super().__setitem__(name, plugin)
        self._on_change()

    def __delitem__(self, name):
        super().__delitem__(name)
        self._on_change()

    def pop(self, *args):
        result = super().pop(*args)
        self._on_change()
        return result

    def clear(self):
        super().clear()
        self._on_change()

    def update(self, *args, **kwargs):
        super().update(*args, **kwargs)
        self._on_change()


class HookCaller:
    """Calls one hook on every plugin that has it, logging failures through `log`
    (the bridge's spdlog sink). Awaitables returned by hooks are scheduled on the
    facade loop and their failures logged the same way."""

    def __init__(self, plugins: PluginTable, log):
        self._plugins = plugins
        self._log = log

    def _failed(self, plugin_name, hook):
        self._log(
            "error",
            f"Scheduler plugin {plugin_name!r} failed in hook {hook}:\n"
            + traceback.format_exc(),
        )

    def call(self, hook, *args, only=None, **kwargs) -> list:
        """Returns the futures of the hooks that returned awaitables. With `only`,
        calls just the plugins for which only(plugin) is true."""
        futures = []
        for name, plugin in list(self._plugins.items()):
            if only is not None and not only(plugin):
                continue
            fn = getattr(plugin, hook, None)
            if fn is None:
                continue
            try:
                result = fn(*args, **kwargs)
            except Exception:
                self._failed(name, hook)
                continue
            if inspect.isawaitable(result):
                futures.append(self._watch(name, hook, asyncio.ensure_future(result)))
        return futures

    def _watch(self, plugin_name, hook, future):
        def done(f):
            if f.cancelled():
                return
            exc = f.exception()
            if exc is not None:
                self._log(
                    "error",
                    f"Scheduler plugin {plugin_name!r} failed in hook {hook}:\n"
                    + "".join(traceback.format_exception(exc)),
                )

        future.add_done_callback(done)
        return future
