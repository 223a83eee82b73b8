"""Runs the groups: for every repetition a fresh cluster per variant, the
variants' order alternating between repetitions (forward, then reversed), the
group's cases in order on that cluster, then the cluster's peak RSS.

A case that raises (wrong result, timeout, a process that died) is recorded
as an error with its message; the cluster is then restarted for the next case
so one failure does not hide the others. Progress and timings go to stderr."""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from distributed import Client, wait

from . import tasks
from .cases import Case, Group
from .clusters import BenchCluster

SESSION_CASE = "cluster"  # pseudo-case of each group: peak RSS after its cases


@dataclass
class CaseResult:
    """One case of one group, across variants and repetitions."""

    suite: str
    group: str
    group_params: dict
    case: str
    title: str
    params: dict
    variants: list[str]
    reps: int
    samples: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    facts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        complete = all(len(self.samples.get(v, [])) == self.reps for v in self.variants)
        return "ok" if complete and not self.errors else "error"

    def summary(self) -> dict:
        """Per metric: median/min/max/samples per variant, and the ratio of each
        variant's median to the baseline's (the first variant)."""
        metrics: dict[str, dict] = {}
        names = []
        for variant in self.variants:
            for sample in self.samples.get(variant, []):
                names.extend(m for m in sample if m not in names)
        baseline = self.variants[0]
        for metric in names:
            row: dict = {}
            for variant in self.variants:
                values = [s[metric] for s in self.samples.get(variant, []) if metric in s]
                if values:
                    row[variant] = {"median": statistics.median(values), "min": min(values),
                                    "max": max(values), "samples": values}
            ratios = {}
            base = row.get(baseline, {}).get("median")
            for variant in self.variants[1:]:
                if base and variant in row:
                    ratios[variant] = row[variant]["median"] / base
            metrics[metric] = {"variants": row, "ratios": ratios}
        return metrics


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Runner:
    def __init__(self, build_dir: Path, workdir: Path, reps: int, case_timeout: float):
        self.build_dir = build_dir
        self.workdir = workdir
        self.reps = reps
        self.case_timeout = case_timeout

    def run(self, groups: list[Group]) -> list[CaseResult]:
        results: list[CaseResult] = []
        for group in groups:
            reps = min(self.reps, group.max_reps or self.reps)
            labels = list(group.variants)
            by_case = {
                case.name: CaseResult(group.suite, group.name, group.params, case.name, case.title,
                                      case.params, labels, reps)
                for case in group.cases
            }
            session = CaseResult(group.suite, group.name, group.params, SESSION_CASE,
                                 "peak RSS (VmHWM) after the group's cases", {}, labels, reps)
            for rep in range(reps):
                order = labels if rep % 2 == 0 else labels[::-1]
                for label in order:
                    self._session(group, label, rep, reps, by_case, session)
            results.extend(by_case.values())
            results.append(session)
        return results

    def _session(self, group: Group, label: str, rep: int, reps: int,
                 by_case: dict[str, CaseResult], session: CaseResult) -> None:
        spec = group.variants[label]
        where = f"{group.suite}/{group.name} rep {rep + 1}/{reps} {label}"
        live: dict = {}
        restarted = False

        def start() -> bool:
            started = time.perf_counter()
            workdir = self.workdir / f"{group.suite}-{group.name}-{label}-{rep}-{time.monotonic_ns()}"
            try:
                live["cluster"] = BenchCluster(spec, workdir, self.build_dir)
                live["client"] = Client(live["cluster"].address, timeout=60)
                _warm_up(live["client"], spec.workers)
                if spec.plugin:
                    live["client"].register_plugin(tasks.NoopTransitionPlugin())
            except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
                log(f"{where}: cluster failed to start: {_first_line(repr(exc))}")
                stop()
                live["error"] = f"cluster did not start: {_first_line(repr(exc))}"
                return False
            log(f"{where}: {spec.describe()} up in {time.perf_counter() - started:.1f} s")
            return True

        def stop() -> None:
            client, cluster = live.pop("client", None), live.pop("cluster", None)
            if client is not None:
                try:
                    client.close(timeout=10)
                except Exception:  # noqa: BLE001 - tearing down anyway
                    pass
            if cluster is not None:
                cluster.close()

        try:  # processes run in their own sessions: Ctrl-C must not leave them behind
            start()
            for case in group.cases:
                result = by_case[case.name]
                # One failed start fails the session's remaining cases (no retries).
                if "cluster" not in live and ("error" in live or not start()):
                    result.errors.append(f"{label} rep {rep + 1}: {live['error']}")
                    restarted = True
                    continue
                if not self._run_case(case, result, label, rep, where, live["client"], live["cluster"]):
                    stop()
                    restarted = True
            cluster = live.get("cluster")
            if cluster is not None and not restarted:
                metrics = {"scheduler_peak_rss_bytes": cluster.scheduler_peak_rss()}
                if spec.workers != "sim":
                    metrics["worker_peak_rss_bytes"] = cluster.worker_peak_rss()
                session.samples.setdefault(label, []).append(metrics)
            elif not restarted:
                session.errors.append(f"{label} rep {rep + 1}: no cluster")
            else:
                session.errors.append(f"{label} rep {rep + 1}: cluster restarted after an error")
        finally:
            stop()

    def _run_case(self, case: Case, result: CaseResult, label: str, rep: int, where: str,
                  client: Client, cluster: BenchCluster) -> bool:
        started = time.perf_counter()
        cpu_before = _cpu_seconds(cluster)
        try:
            measurement = case.run(client, self.case_timeout, cluster)
        except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
            elapsed = time.perf_counter() - started
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            log(f"{where} {case.name}: ERROR after {elapsed:.1f} s: {detail}")
            if not cluster.healthy():
                log(cluster.dump_logs(tail_lines=30))
            result.errors.append(f"{label} rep {rep + 1}: {_first_line(detail)}")
            return False
        elapsed = time.perf_counter() - started
        cpu_after = _cpu_seconds(cluster)
        for part in cpu_after:
            measurement.metrics[f"cpu_{part}_s"] = cpu_after[part] - cpu_before[part]
        result.samples.setdefault(label, []).append(measurement.metrics)
        result.facts.update(measurement.facts)
        shown = ", ".join(f"{k}={_short(v)}" for k, v in measurement.metrics.items())
        log(f"{where} {case.name}: ok in {elapsed:.1f} s ({shown})")
        return True


def _warm_up(client: Client, workers: str) -> None:
    """A few tasks first, so that imports on the workers are not timed."""
    n = 20
    futures = client.map(tasks.inc, range(n), pure=False)
    if workers == "sim":
        wait(futures, timeout=120)  # every result is None on simulated workers
    else:
        if client.gather(futures) != list(range(1, n + 1)):
            raise RuntimeError("warm-up map returned wrong results")
    del futures


def _cpu_seconds(cluster: BenchCluster) -> dict[str, float]:
    """CPU time (user + system) so far of the scheduler, the workers (summed)
    and this client process: where a case's wall time went."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"scheduler": _proc_cpu(cluster.scheduler.pid),
            "workers": sum(_proc_cpu(p.pid) for p in cluster.workers),
            "client": usage.ru_utime + usage.ru_stime}


def _proc_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are the 14th and 15th fields (1-based), after "pid (comm)".
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _first_line(text: str, limit: int = 400) -> str:
    """Errors in the results stay one short line; full logs go to stderr."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[:limit] + "..."


def _short(value: float) -> str:
    return f"{value:.4g}"
