"""Side-by-side benchmark: the stock `dask scheduler` vs `daskcpp-scheduler`.

Both schedulers run the same workloads in the same run, on the same machine,
with the same stock `dask worker` processes configuration (2 workers x 1 thread,
no nanny) and the same unmodified client code. The order of the two schedulers
alternates between repetitions; every case reports the median and the spread
(min..max) over the repetitions and the ratio daskcpp / stock of the medians
(a time ratio below 1 means daskcpp is faster; an RSS ratio below 1 means it
uses less memory).

    .venv/bin/python bench/compare/scheduler_compare.py [--reps 3] [--quick]
        [--out bench/results/scheduler_compare.json]

Workloads:
  map-10k       client.map of 10,000 trivial tasks + gather
  array         (da.ones(n, chunks=1) + 1).sum().compute(): n tiny chunks; the
                default n = 30,000 gives 40,002 tasks after optimization, and
                --array-chunks 75000 gives about 100,000
  latency       sequential submit -> result round trips (median, p99)
  peak RSS      the scheduler process's peak resident set (VmHWM) after the run

Results are printed as a Markdown table and written as JSON. Nothing here
asserts a time: a case that fails to produce the right result is an error.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# One module starts and stops scheduler and worker processes: the integration
# tests' cluster.py (stock and daskcpp kinds, logs, deadlines).
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))

import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402
from distributed import Client  # noqa: E402

from cluster import start_cluster  # noqa: E402


def inc(x):
    return x + 1


def peak_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def case_map(client: Client, n: int) -> float:
    start = time.perf_counter()
    futures = client.map(inc, range(n), pure=False)
    results = client.gather(futures)
    elapsed = time.perf_counter() - start
    if results != [i + 1 for i in range(n)]:
        raise AssertionError("map: wrong results")
    del futures
    return elapsed


def case_array(client: Client, chunks: int) -> float:
    x = da.ones(chunks, chunks=1)
    y = (x + 1).sum()
    start = time.perf_counter()
    value = client.compute(y, sync=True)
    elapsed = time.perf_counter() - start
    if value != 2 * chunks:
        raise AssertionError(f"array: got {value}, expected {2 * chunks}")
    return elapsed


def case_latency(client: Client, rounds: int) -> dict[str, float]:
    samples = []
    for i in range(rounds):
        start = time.perf_counter()
        if client.submit(inc, i, pure=False).result() != i + 1:
            raise AssertionError("latency: wrong result")
        samples.append(time.perf_counter() - start)
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p99": samples[min(len(samples) - 1, int(0.99 * len(samples)))],
    }


def run_once(kind: str, sizes: dict[str, int], workdir: Path) -> dict[str, float]:
    cluster = start_cluster(kind, workdir, n_workers=2, nanny=False)
    try:
        with Client(cluster.address, timeout=60) as client:
            case_map(client, 100)  # warm-up: imports on the workers
            out = {
                "map_s": case_map(client, sizes["map"]),
                "array_s": case_array(client, sizes["array_chunks"]),
            }
            latency = case_latency(client, sizes["latency_rounds"])
            out["latency_p50_s"] = latency["p50"]
            out["latency_p99_s"] = latency["p99"]
        out["scheduler_peak_rss_bytes"] = peak_rss_bytes(cluster.scheduler.pid)
        return out
    finally:
        cluster.close()


def summarize(runs: dict[str, list[dict[str, float]]]) -> dict:
    metrics = list(next(iter(runs.values()))[0])
    summary = {}
    for metric in metrics:
        row = {}
        for kind, samples in runs.items():
            values = [s[metric] for s in samples]
            row[kind] = {"median": statistics.median(values), "min": min(values),
                         "max": max(values), "samples": values}
        if "stock" in row and "daskcpp" in row and row["stock"]["median"] > 0:
            row["ratio_daskcpp_over_stock"] = row["daskcpp"]["median"] / row["stock"]["median"]
        summary[metric] = row
    return summary


def markdown(summary: dict, sizes: dict[str, int], reps: int) -> str:
    def fmt(metric: str, v: float) -> str:
        return f"{v / 2**20:.0f} MiB" if metric.endswith("bytes") else f"{v * 1000:.1f} ms"

    lines = [
        f"Sizes: map {sizes['map']} tasks, array {sizes['array_chunks']} chunks, "
        f"latency {sizes['latency_rounds']} rounds; {reps} repetitions, medians (min..max).",
        "",
        "| case | stock | daskcpp | daskcpp / stock |",
        "|---|---|---|---|",
    ]
    for metric, row in summary.items():
        cells = []
        for kind in ("stock", "daskcpp"):
            r = row.get(kind)
            cells.append(f"{fmt(metric, r['median'])} ({fmt(metric, r['min'])}..{fmt(metric, r['max'])})"
                         if r else "-")
        ratio = row.get("ratio_daskcpp_over_stock")
        lines.append(f"| {metric} | {cells[0]} | {cells[1]} | {ratio:.2f} |" if ratio
                     else f"| {metric} | {cells[0]} | {cells[1]} | - |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    parser.add_argument("--kinds", default="stock,daskcpp")
    parser.add_argument("--array-chunks", type=int, default=30_000)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results" /
                        "scheduler_compare.json")
    args = parser.parse_args()
    sizes = {"map": 10_000, "array_chunks": args.array_chunks, "latency_rounds": 500}
    reps = args.reps
    if args.quick:
        sizes = {"map": 500, "array_chunks": 300, "latency_rounds": 20}
        reps = 1
    kinds = args.kinds.split(",")
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="daskcpp-bench-") as tmp:
        for rep in range(reps):
            order = kinds if rep % 2 == 0 else list(reversed(kinds))
            for kind in order:
                workdir = Path(tmp) / f"{kind}-{rep}"
                result = run_once(kind, sizes, workdir)
                print(f"rep {rep} {kind}: {result}", file=sys.stderr, flush=True)
                runs[kind].append(result)
    summary = summarize(runs)
    table = markdown(summary, sizes, reps)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "machine": {"platform": platform.platform(), "cpus": __import__("os").cpu_count(),
                    "python": platform.python_version()},
        "sizes": sizes, "reps": reps, "summary": summary, "markdown": table,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
