"""Scheduler throughput with daskcpp-simworker (issue 5): tasks/s of one
`client.map` of trivial tasks against the stock scheduler and daskcpp-scheduler
with 10, 100 and 1,000 simulated workers, plus the simworker's peak RSS.

    .venv/bin/python bench/sim/throughput.py --build-dir build/release
        [--tasks 10000] [--workers 10 100 1000] [--kinds stock daskcpp]

Not the benchmark driver (that is bench/compare); a quick manual measurement.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS_DIR = REPO_ROOT / "tests" / "integration"
sys.path.insert(0, str(TESTS_DIR))

from distributed import Client, wait  # noqa: E402

from cluster import ManagedProcess, SchedulerProcess, wait_for  # noqa: E402
from tasks import inc  # noqa: E402


def vm_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (/proc/<pid>/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_one(kind: str, n_workers: int, n_tasks: int, build_dir: Path, workdir: Path) -> dict:
    os.environ["DASKCPP_BUILD_DIR"] = str(build_dir)
    python_path = os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))
    scheduler = SchedulerProcess(workdir, kind, env={"PYTHONPATH": python_path})
    sim = None
    try:
        argv = [str(build_dir / "bench" / "daskcpp-simworker"), scheduler.address, "--workers", str(n_workers)]
        sim = ManagedProcess("simworker", argv, workdir / "simworker.log")
        t0 = time.perf_counter()
        wait_for(lambda: f"simworker ready {n_workers}" in sim.log_text(), 600, "simworker ready", proc=sim)
        register_s = time.perf_counter() - t0
        with Client(scheduler.address, timeout=60) as client:
            client.wait_for_workers(n_workers, timeout=600)
            wait(client.map(inc, range(200), pure=False))  # warm-up
            cpu0 = (cpu_seconds(scheduler.pid), cpu_seconds(sim.pid))
            start = time.perf_counter()
            futures = client.map(inc, range(n_tasks), pure=False)
            wait(futures)
            elapsed = time.perf_counter() - start
            sched_cpu = cpu_seconds(scheduler.pid) - cpu0[0]
            sim_cpu = cpu_seconds(sim.pid) - cpu0[1]
            assert all(f.status == "finished" for f in futures)
            del futures
        return {
            "kind": kind,
            "workers": n_workers,
            "tasks": n_tasks,
            "seconds": elapsed,
            "tasks_per_s": n_tasks / elapsed,
            "register_s": register_s,
            "sched_cpu_us": sched_cpu / n_tasks * 1e6,
            "sim_cpu_us": sim_cpu / n_tasks * 1e6,
            "sim_rss_mib": vm_kib(sim.pid, "VmRSS") / 1024,
            "sim_hwm_mib": vm_kib(sim.pid, "VmHWM") / 1024,
        }
    finally:
        if sim is not None:
            sim.stop(timeout=10)
        scheduler.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, default=REPO_ROOT / "build" / "release")
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--kinds", nargs="+", default=["stock", "daskcpp"])
    args = parser.parse_args()
    print(
        "| scheduler | workers | tasks | seconds | tasks/s | scheduler CPU µs/task "
        "| simworker CPU µs/task | register s | simworker RSS MiB (peak) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.workers:
            for kind in args.kinds:
                r = run_one(kind, n, args.tasks, args.build_dir.resolve(), Path(tmp) / f"{kind}-{n}")
                print(
                    f"| {kind} | {n} | {args.tasks} | {r['seconds']:.2f} | {r['tasks_per_s']:.0f} "
                    f"| {r['sched_cpu_us']:.0f} | {r['sim_cpu_us']:.0f} "
                    f"| {r['register_s']:.1f} | {r['sim_rss_mib']:.1f} ({r['sim_hwm_mib']:.1f}) |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
