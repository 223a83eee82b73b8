#!/usr/bin/env python
"""cProfile of daskcpp-scheduler's embedded graph intake (issue 11), outside the
scheduler: serializes `(da.ones(n, chunks=1) + 1).sum()` as a client would and runs
python_compat/daskcpp/_materialize.materialize on it under cProfile, printing the
25 most expensive calls by cumulative time. Nothing is asserted.

    .venv/bin/python bench/profile_intake.py [n=100000]
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

import dask.array as da
import msgpack
import numpy as np
from dask.base import collections_to_expr
from distributed.protocol.core import msgpack_encode_default
from distributed.protocol.serialize import serialize

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python_compat"))
from daskcpp import _materialize  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    expr = collections_to_expr([(da.ones(n, chunks=1, dtype=np.int64) + 1).sum()], True)
    header, frames = serialize(expr, on_error="raise")
    expr_header = msgpack.dumps(header, default=msgpack_encode_default, use_bin_type=True)
    no_keys = msgpack.dumps([], use_bin_type=True)
    no_priority = msgpack.dumps({}, use_bin_type=True)
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    result = _materialize.materialize(expr_header, list(frames), None, [], no_keys, no_priority)
    profile.disable()
    elapsed = time.perf_counter() - start
    print(f"{result[0]}: {result[1]} tasks, {elapsed:.2f} s under the profiler")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
    print(out.getvalue())


if __name__ == "__main__":
    main()
