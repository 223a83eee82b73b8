"""Task functions of the benchmark workloads.

They live in an importable module (bench/ is on the PYTHONPATH of every
scheduler and worker the benchmark starts) so that cloudpickle sends them by
reference, as user code in a package would be sent."""

from __future__ import annotations

from distributed.diagnostics.plugin import SchedulerPlugin


def inc(x: int) -> int:
    return x + 1


def add(x: int, y: int) -> int:
    return x + y


def frame_part(bounds: tuple[int, int]):
    """Rows start..stop-1 of the generated frame: v = the row number, k = a
    scrambled key in 0..96 (every key occurs once rows >= 97)."""
    import numpy as np
    import pandas as pd

    start, stop = bounds
    v = np.arange(start, stop, dtype=np.int64)
    return pd.DataFrame({"k": (v * 7919) % 97, "v": v})


def partition_summary(df):
    """One row per partition: its row count, sum of v and distinct keys."""
    import pandas as pd

    return pd.DataFrame({"rows": [len(df)], "v_sum": [int(df["v"].sum())],
                         "keys": [sorted(int(k) for k in df["k"].unique())]})


def right_part(bounds: tuple[int, int]):
    """The right side of the merge benchmark: rows start..stop-1 with k in 0..96
    (scrambled differently from frame_part) and w = 2 * row number."""
    import numpy as np
    import pandas as pd

    start, stop = bounds
    v = np.arange(start, stop, dtype=np.int64)
    return pd.DataFrame({"k": (v * 104729) % 97, "w": 2 * v})


def random_part(i: int, rows: int):
    """Partition i of the large shuffle: `rows` rows of (k: int64 in 0..10**6,
    v: float64), 16 bytes a row, seeded by i."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(i)
    return pd.DataFrame({"k": rng.integers(0, 10**6, rows), "v": rng.random(rows)})


class NoopTransitionPlugin(SchedulerPlugin):
    """A scheduler plugin with a `transition` hook that does nothing: what a
    typical diagnostics plugin costs per transition (the bench's "+plugin"
    variants). Importable on the scheduler, so cloudpickle sends it by reference."""

    name = "bench-noop-transition"

    def transition(self, key, start, finish, *args, **kwargs):
        pass
