"""Writes a run's results: <out>/<name>.json (everything, samples included),
<out>/<name>.md (one table per group: medians, min..max, ratios to the first
variant) and PNG plots (<out>/<name>-*.png: throughput curves, ratio bars)."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from pathlib import Path

from .cases import Group
from .runner import SESSION_CASE, CaseResult

CPU_PREFIX = "cpu_"  # per-process CPU seconds of a case: JSON only, not in tables
RATIO_NOTE = ("Ratios are medians divided by the first column's median: for times and bytes "
              "below 1 means daskcpp is faster / smaller, for rates (`/s`) above 1 means faster.")


def machine() -> dict:
    info = {"platform": platform.platform(), "cpus": os.cpu_count(),
            "python": platform.python_version()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
                break
        info["load_avg_at_start"] = os.getloadavg()
    except OSError:
        pass
    import dask
    import distributed

    info["dask"] = dask.__version__
    info["distributed"] = distributed.__version__
    try:
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
            cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def to_json(results: list[CaseResult], groups: list[Group], meta: dict) -> dict:
    described = {(g.suite, g.name): {k: v.describe() for k, v in g.variants.items()} for g in groups}
    cases = []
    for r in results:
        cases.append({
            "suite": r.suite, "group": r.group, "group_params": r.group_params, "case": r.case,
            "title": r.title, "params": r.params, "facts": r.facts, "variants": r.variants,
            "clusters": described[(r.suite, r.group)], "baseline": r.variants[0], "reps": r.reps,
            "status": r.status, "errors": r.errors, "metrics": r.summary(),
        })
    return {**meta, "cases": cases}


# ---- formatting --------------------------------------------------------------


def fmt(metric: str, value: float) -> str:
    if metric.endswith("_per_s"):
        return f"{value / 1000:.1f}k/s" if value >= 10_000 else f"{value:.0f}/s"
    if metric.endswith("_us"):
        return f"{value:.1f} µs"
    if metric.endswith("_s"):
        return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.1f} ms"
    if metric.endswith("_bytes"):
        if value >= 2**20:
            return f"{value / 2**20:.0f} MiB"
        return f"{value / 1024:.1f} KiB" if value >= 10 * 1024 else f"{value:.0f} B"
    return f"{value:.4g}"


def _cell(metric: str, stats: dict | None) -> str:
    if not stats:
        return "error"
    if stats["min"] == stats["max"]:
        return fmt(metric, stats["median"])
    return f"{fmt(metric, stats['median'])} ({fmt(metric, stats['min'])}..{fmt(metric, stats['max'])})"


def markdown(report: dict) -> str:
    lines = [
        f"Command: `{report['command']}`  ",
        f"Machine: {report['machine'].get('cpu', '?')}, {report['machine']['cpus']} CPUs, "
        f"{report['machine'].get('memory_gib', '?')} GiB; {report['machine']['platform']}; "
        f"dask/distributed {report['machine']['dask']}; commit {report['machine'].get('git_commit', '?')}  ",
        f"Scale {report['scale']}, {report['reps']} repetition(s), medians (min..max); "
        f"run took {report['duration_s'] / 60:.1f} min.",
        "",
        RATIO_NOTE,
    ]
    groups: dict[tuple, list[dict]] = {}
    for case in report["cases"]:
        groups.setdefault((case["suite"], case["group"]), []).append(case)
    for (suite, group), cases in groups.items():
        variants = cases[0]["variants"]
        others = variants[1:]
        lines += ["", f"### {suite} / {group}", ""]
        lines += [f"- `{v}`: {c}" for v, c in cases[0]["clusters"].items()]
        lines += ["", "| case | tasks | metric | " + " | ".join(variants) + " | "
                  + " | ".join(f"{v} / {variants[0]}" for v in others) + " |",
                  "|---" * (3 + len(variants) + len(others)) + "|"]
        for case in cases:
            tasks = case["facts"].get("tasks")
            title = case["title"] + ("" if case["status"] == "ok" else " **(errors)**")
            if not case["metrics"]:
                lines.append(f"| {title} | | | " + " | ".join("error" for _ in variants)
                             + " |" + " |" * len(others))
            for metric, row in case["metrics"].items():
                if metric.startswith(CPU_PREFIX):
                    continue
                cells = [_cell(metric, row["variants"].get(v)) for v in variants]
                ratios = [f"{row['ratios'][v]:.2f}" if v in row["ratios"] else "-" for v in others]
                lines.append(f"| {title} | {f'{tasks:,}' if tasks else ''} | {metric} | "
                             + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
            cpu = _cpu_cells(case, variants)
            if cpu:
                lines.append(f"| {title} | | CPU s: scheduler / client / workers | "
                             + " | ".join(cpu) + " |" + " - |" * len(others))
        errors = [f"- {c['case']}: {e}" for c in cases for e in c["errors"]]
        if errors:
            lines += ["", "Errors:", *errors]
    return "\n".join(lines) + "\n"


def _cpu_cells(case: dict, variants: list[str]) -> list[str] | None:
    """Median CPU seconds of each process kind during the case, per variant."""
    parts = ("scheduler", "client", "workers")
    metrics = case["metrics"]
    if not all(f"{CPU_PREFIX}{p}_s" in metrics for p in parts):
        return None
    cells = []
    for v in variants:
        stats = [metrics[f"{CPU_PREFIX}{p}_s"]["variants"].get(v) for p in parts]
        cells.append(" / ".join(f"{s['median']:.2f}" for s in stats) if all(stats) else "error")
    return cells


# ---- plots -------------------------------------------------------------------


def plots(report: dict, out_dir: Path, name: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    throughput = [c for c in report["cases"] if c["suite"] == "throughput" and c["case"] != SESSION_CASE]
    if throughput:
        written += _throughput_plots(plt, throughput, out_dir, name)
    for suite in ("core", "scheduler", "workers"):
        cases = [c for c in report["cases"] if c["suite"] == suite]
        if cases:
            path = _ratio_plot(plt, suite, cases, out_dir / f"{name}-{suite}-ratios.png")
            if path:
                written.append(path)
    return written


def _rate(case: dict, variant: str) -> float | None:
    stats = case["metrics"].get("tasks_per_s", {}).get("variants", {}).get(variant)
    return stats["median"] if stats else None


def _throughput_plots(plt, cases: list[dict], out_dir: Path, name: str) -> list[Path]:
    variants = cases[0]["variants"]
    graphs = sorted({c["params"]["graph"] for c in cases})
    paths = []
    # tasks/s against the number of simulated workers, one line per scheduler and size
    fig, axes = plt.subplots(1, len(graphs), figsize=(6 * len(graphs), 4.5), squeeze=False)
    for ax, graph in zip(axes[0], graphs):
        sizes = sorted({c["facts"].get("tasks", 0) for c in cases if c["params"]["graph"] == graph})
        for variant, style in zip(variants, ("-o", "--s")):
            for size in sizes:
                points = sorted((c["group_params"]["workers"], _rate(c, variant)) for c in cases
                                if c["params"]["graph"] == graph and c["facts"].get("tasks") == size
                                and _rate(c, variant))
                if points:
                    ax.plot(*zip(*points), style, label=f"{variant}, {size:,} tasks")
        ax.set(xscale="log", xlabel="simulated workers", ylabel="tasks / s",
               title=f"{graph} graph: throughput vs workers")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(out_dir / f"{name}-throughput-workers.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    # tasks/s against graph size, one line per scheduler and worker count
    fig, axes = plt.subplots(1, len(graphs), figsize=(6 * len(graphs), 4.5), squeeze=False)
    for ax, graph in zip(axes[0], graphs):
        counts = sorted({c["group_params"]["workers"] for c in cases})
        for variant, style in zip(variants, ("-o", "--s")):
            for workers in counts:
                points = sorted((c["facts"]["tasks"], _rate(c, variant)) for c in cases
                                if c["params"]["graph"] == graph and c["group_params"]["workers"] == workers
                                and c["facts"].get("tasks") and _rate(c, variant))
                if points:
                    ax.plot(*zip(*points), style, label=f"{variant}, {workers} workers")
        ax.set(xscale="log", xlabel="tasks in the graph", ylabel="tasks / s",
               title=f"{graph} graph: throughput vs graph size")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(out_dir / f"{name}-throughput-size.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def _ratio_plot(plt, suite: str, cases: list[dict], path: Path) -> Path | None:
    """Horizontal bars: each non-baseline variant's median over the baseline's."""
    variants = cases[0]["variants"]
    labels, series = [], {v: [] for v in variants[1:]}
    for case in cases:
        for metric, row in case["metrics"].items():
            if metric == "tasks_per_s" and "time_s" in case["metrics"] or metric.startswith(CPU_PREFIX):
                continue  # the same information as time_s; CPU split is in the JSON
            if not row["ratios"]:
                continue
            labels.append(f"{case['case']} {metric}")
            for v in variants[1:]:
                series[v].append(row["ratios"].get(v, math.nan))  # no bar: that variant failed
    if not labels:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(labels) * max(1, len(series) / 1.5) + 1.5))
    height = 0.8 / len(series)
    for i, (variant, values) in enumerate(series.items()):
        ax.barh([y + i * height for y in range(len(labels))], values, height=height,
                label=f"{variant} / {variants[0]}")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks([y + height * (len(series) - 1) / 2 for y in range(len(labels))], labels, fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel=f"ratio to {variants[0]} (median); time/bytes: < 1 is better, rates: > 1",
           title=f"{suite}: ratio to {variants[0]}")
    ax.legend(fontsize=8, loc="best")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(report: dict, out_dir: Path, name: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    json_path.write_text(json.dumps(report, indent=1) + "\n")
    md_path.write_text(markdown(report))
    return [json_path, md_path, *plots(report, out_dir, name)]
