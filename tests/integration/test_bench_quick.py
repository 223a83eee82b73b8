"""CI smoke run of the benchmark product (bench/run, bench/README.md), so that it
never rots: every suite at its smallest size, one repetition, both schedulers
(and both worker kinds, and simulated workers), written to a temporary folder.

Checks only that the run exits 0 and that every case completed with correct
results (status "ok" in the JSON, for every variant); never a time. Needs the
daskcpp binaries (daskcpp-scheduler, daskcpp-worker, daskcpp-simworker) of
$DASKCPP_BUILD_DIR, else of build/release; skipped when they are not built
and DASKCPP_BUILD_DIR is not set (with it set, missing binaries fail)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cluster import REPO_ROOT

# The simulated-worker suites need bench/sim (daskcpp-simworker); a checkout
# without its sources runs the real-worker suites only.
HAS_SIM = (REPO_ROOT / "bench" / "sim" / "main.cpp").is_file()
BINARIES = ("scheduler/daskcpp-scheduler", "worker/daskcpp-worker") + (
    ("bench/daskcpp-simworker",) if HAS_SIM else ())
SUITES = {"core", "p2p", "workers"} | ({"scheduler", "throughput", "plugins"} if HAS_SIM else set())


def _build_dir() -> Path:
    build_dir = Path(os.environ.get("DASKCPP_BUILD_DIR", REPO_ROOT / "build" / "release"))
    missing = [b for b in BINARIES if not (build_dir / b).is_file()]
    if missing:
        if os.environ.get("DASKCPP_BUILD_DIR"):
            pytest.fail(f"missing in {build_dir}: {', '.join(missing)}")
        pytest.skip(f"not built in {build_dir}: {', '.join(missing)}")
    return build_dir


@pytest.mark.timeout(300)
def test_bench_smoke_every_case_ok(tmp_path):
    build_dir = _build_dir()
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "run"), "--smoke", "--out", "smoke",
         "--suite", ",".join(sorted(SUITES)),
         "--out-dir", str(tmp_path), "--build-dir", str(build_dir)],
        capture_output=True, text=True, timeout=280, cwd=REPO_ROOT,
    )
    detail = f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-8000:]}"
    assert proc.returncode == 0, detail
    report = json.loads((tmp_path / "smoke.json").read_text())
    assert {c["suite"] for c in report["cases"]} == SUITES, detail
    not_ok = [(c["suite"], c["group"], c["case"], c["errors"]) for c in report["cases"]
              if c["status"] != "ok"]
    assert not_ok == [], detail
    for case in report["cases"]:
        for metric, row in case["metrics"].items():
            assert set(row["variants"]) == set(case["variants"]), (case["case"], metric)
    assert (tmp_path / "smoke.md").is_file()
    assert (tmp_path / "smoke-core-ratios.png").is_file()
    if HAS_SIM:
        assert (tmp_path / "smoke-throughput-workers.png").is_file()
        assert (tmp_path / "smoke-throughput-size.png").is_file()
