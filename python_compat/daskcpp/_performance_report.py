"""The HTML of `distributed.performance_report` as daskcpp-scheduler writes it.

Stock's `Scheduler.performance_report` builds bokeh tabs (summary, task stream,
system monitor, scheduler logs, three profiles, two bandwidth plots) and needs
bokeh installed on the scheduler. This report is plain HTML with no dependency:
the same summary text (so tools that scrape "number of tasks" keep working), the
task stream drawn as inline SVG from upstream's own `rectangles`, a per-prefix
table, and the scheduler's log lines since the report started. Left out (listed in
the README): the worker and scheduler profiles, the bandwidth tabs and the system
monitor.

`render` is a pure function of what the scheduler hands it, so it is tested
without a cluster."""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable, Sequence

from dask.utils import format_bytes, format_time, key_split
from distributed.diagnostics.task_stream import rectangles

_ROW_HEIGHT = 18  # px per worker thread in the task stream drawing
_WIDTH = 1000  # px of the time axis

_STYLE = """
body { font-family: sans-serif; margin: 2em; }
h1 { margin-bottom: 0.2em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #eee; }
td.name, th.name { text-align: left; }
pre.logs { font-size: 12px; background: #f7f7f7; padding: 0.5em; overflow-x: auto; }
"""


def render(*, records: Sequence[dict], logs: Iterable[tuple[str, str]], address: str,
           nworkers: int, nthreads: int, memory_limit: int, dask_version: str,
           distributed_version: str, code: str, start: float, stop: float) -> str:
    """The report page. `records` are task stream records (`get_task_stream`
    entries), `logs` `(level, line)` pairs oldest first."""
    timespent: defaultdict[str, float] = defaultdict(float)
    for record in records:
        for ss in record.get("startstops", ()):
            timespent[ss["action"]] += ss["stop"] - ss["start"]
    timings = "".join(f"\n<li> {html.escape(action)} time: {format_time(timespent[action])} </li>"
                      for action in sorted(timespent))
    return f"""<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Dask Performance Report</title>
<style>{_STYLE}</style></head>
<body>
<h1> Dask Performance Report </h1>
<i> Written by daskcpp-scheduler: summary, task stream and scheduler logs </i>

<h2> Duration: {format_time(stop - start)} </h2>
<h2> Tasks Information </h2>
<ul>
 <li> number of tasks: {len(records)} </li>
 {timings}
</ul>

<h2> Scheduler Information </h2>
<ul>
  <li> Address: {html.escape(address)} </li>
  <li> Workers: {nworkers} </li>
  <li> Threads: {nthreads} </li>
  <li> Memory: {format_bytes(memory_limit)} </li>
  <li> Dask Version: {html.escape(dask_version)} </li>
  <li> Dask.Distributed Version: {html.escape(distributed_version)} </li>
</ul>

<h2> Calling Code </h2>
<pre>
{html.escape(code or "")}
</pre>

<h2> Task Stream </h2>
{_task_stream_svg(records)}

<h2> Time per Task Prefix </h2>
{_prefix_table(records)}

<h2> Scheduler Logs </h2>
<pre class="logs">{html.escape(chr(10).join(line for _, line in logs))}</pre>
</body>
</html>
"""


def _task_stream_svg(records: Sequence[dict]) -> str:
    """One row per worker thread, one rectangle per start/stop interval, coloured as
    the dashboard colours them (upstream `rectangles`)."""
    rects = rectangles(records)
    if not rects["start"]:
        return "<p> No tasks ran. </p>"
    lefts = [c - d / 2 for c, d in zip(rects["start"], rects["duration"])]
    rights = [c + d / 2 for c, d in zip(rects["start"], rects["duration"])]
    t0, t1 = min(lefts), max(rights)
    scale = _WIDTH / max(t1 - t0, 1e-9)
    rows = sorted(set(rects["y"]))
    row_of = {y: i for i, y in enumerate(rows)}
    shapes = []
    for left, duration, y, color, alpha, name, text in zip(
            lefts, rects["duration"], rects["y"], rects["color"], rects["alpha"],
            rects["name"], rects["duration_text"]):
        x = (left - t0) * scale
        width = max(duration * scale, 0.5)
        shapes.append(
            f'<rect x="{x:.2f}" y="{row_of[y] * _ROW_HEIGHT + 1}" width="{width:.2f}" '
            f'height="{_ROW_HEIGHT - 2}" fill="{html.escape(str(color))}" fill-opacity="{alpha}">'
            f"<title>{html.escape(str(name))}: {html.escape(text)}</title></rect>")
    threads = {}
    for y, worker_thread in zip(rects["y"], rects["worker_thread"]):
        threads[row_of[y]] = worker_thread
    labels = "".join(f"<li> row {i + 1}: {html.escape(threads[i])} </li>" for i in sorted(threads))
    height = len(rows) * _ROW_HEIGHT
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
            f'style="border:1px solid #ccc">{"".join(shapes)}</svg>\n'
            f"<p> {format_time((t1 - t0) / 1000)} from left to right </p>\n<ul>{labels}</ul>")


def _prefix_table(records: Sequence[dict]) -> str:
    """Count and compute time per task prefix, the most expensive first."""
    count: defaultdict[str, int] = defaultdict(int)
    compute: defaultdict[str, float] = defaultdict(float)
    for record in records:
        name = key_split(record["key"])
        count[name] += 1
        compute[name] += sum(ss["stop"] - ss["start"] for ss in record.get("startstops", ())
                             if ss["action"] == "compute")
    if not count:
        return "<p> No tasks ran. </p>"
    rows = "".join(f'<tr><td class="name">{html.escape(name)}</td><td>{count[name]}</td>'
                   f"<td>{format_time(compute[name])}</td></tr>"
                   for name in sorted(count, key=lambda n: (-compute[n], n)))
    return ('<table><tr><th class="name">prefix</th><th>tasks</th><th>compute time</th></tr>'
            f"{rows}</table>")
