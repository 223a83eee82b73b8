"""The C++ port of dask.order.order (scheduler/ordering/dask_order.hpp) against
dask.order.order itself, on a corpus: dask.array / dataframe / bag graphs of several
shapes, delayed graphs, seeded random DAGs (with data roots and external keys),
and every graph dask's own dask/tests/test_order.py orders. (The materializer
fixtures' graphs are checked end to end by tests/unit/python_compat, whose reference
is dask.order.order in the same interpreter.)

Graphs are materialized as daskcpp._materialize does (collections_to_expr +
FinalizeCompute + _materialize_graph), so every node is a GraphNode. Python's
result depends on its sets' iteration order, i.e. on the keys' hash() values, which
are randomised per process for str keys; the port replays those sets with the
hashes this process computes, so within one process the two must agree exactly —
every comparison here is exact equality. test_other_hash_seeds repeats a slice of
the corpus in interpreters started with other PYTHONHASHSEED values.

The port is run through tests/tools/dask_order_check (built with the tests), one
process for a whole batch of graphs.
"""

from __future__ import annotations

import os
import pickle
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dask
import dask.array as da
import dask.bag as db
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask import delayed
from dask._expr import FinalizeCompute
from dask._task_spec import Alias, DataNode, Task, TaskRef, convert_legacy_graph
from dask.base import collections_to_expr
from dask.core import istask
from dask.order import order
from distributed.scheduler import _materialize_graph

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent


def _checker() -> Path:
    build = os.environ.get("DASKCPP_BUILD_DIR")
    path = (Path(build) if build else REPO_ROOT / "build" / "release") / "tests" / "dask_order_check"
    if not path.exists():
        if build:
            pytest.fail(f"{path} is not built (cmake --build ... --target dask_order_check)")
        pytest.skip(f"{path} is not built")
    return path


# ---------------------------------------------------------------- encoding / running


def _encode(dsk) -> tuple[str, list]:
    """The checker's input for one graph, numbered as _materialize._records numbers
    it: tasks in dsk order, then external keys in order of first appearance."""
    keys = list(dsk)
    index = {k: i for i, k in enumerate(keys)}
    all_keys = list(keys)
    deps_per_task = []
    for k in keys:
        ids = []
        for d in dsk[k].dependencies:
            j = index.get(d)
            if j is None:
                j = index[d] = len(all_keys)
                all_keys.append(d)
            ids.append(j)
        deps_per_task.append(ids)
    out = [f"G {len(keys)} {len(all_keys)}\n"]
    for i, k in enumerate(all_keys):
        text = str(k).encode()
        if i < len(keys):
            ids, task = deps_per_task[i], int(bool(istask(dsk[k])))
        else:
            ids, task = [], 0
        out.append(f"{hash(k)} {task} {len(ids)} {' '.join(map(str, ids))} {len(text)}\n")
        out.append(text.decode() + "\n")
    return "".join(out), keys


def _run_port(graphs: list) -> list:
    """dict key -> priority per graph, or the error text."""
    encoded = [_encode(dsk) for dsk in graphs]
    proc = subprocess.run(
        [str(_checker())],
        input="".join(text for text, _ in encoded).encode(),
        capture_output=True,
        check=True,
        timeout=300,
    )
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == len(graphs), proc.stderr.decode()
    results = []
    for line, (_, keys) in zip(lines, encoded):
        if line.startswith("ok"):
            results.append(dict(zip(keys, map(int, line.split()[1:]))))
        else:
            results.append(line[len("error ") :].replace("\\n", "\n"))
    return results


def _python_order(dsk):
    try:
        return order(dsk)
    except RuntimeError as e:
        return str(e)


def _assert_identical(named_graphs: dict) -> None:
    names = list(named_graphs)
    ported = _run_port([named_graphs[n] for n in names])
    mismatches = []
    for name, got in zip(names, ported):
        expected = _python_order(named_graphs[name])
        if got != expected:
            if isinstance(expected, dict) and isinstance(got, dict):
                differing = sum(expected[k] != got.get(k) for k in expected)
                mismatches.append(f"{name}: {differing}/{len(expected)} priorities differ")
            else:
                mismatches.append(f"{name}: expected {expected!r}, got {got!r}")
    assert not mismatches, "\n".join(mismatches)


# ---------------------------------------------------------------- the corpus


def _materialize(*collections) -> dict:
    expr = FinalizeCompute(collections_to_expr(list(collections), True)).optimize()
    dsk, _ = _materialize_graph(expr=expr, validate=False)
    return dsk


def array_graphs() -> dict:
    g = {}
    for n, chunks in [(64, 1), (1000, 1), (1000, 7), (5000, 10)]:
        x = da.ones(n, chunks=chunks)
        g[f"sum-{n}-{chunks}"] = (x + 1).sum()
        g[f"sum-split8-{n}-{chunks}"] = (x + 1).sum(split_every=8)
        g[f"cumsum-{n}-{chunks}"] = x.cumsum(axis=0)
    for shape, chunks in [((40, 40), 5), ((60, 30), (7, 11)), ((100, 100), 10)]:
        x = da.random.default_rng(0).random(shape, chunks=chunks)
        s = f"{shape}-{chunks}"
        g[f"mean0-{s}"] = x.mean(axis=0)
        g[f"std-{s}"] = x.std()
        g[f"argmax-{s}"] = x.argmax(axis=1)
        g[f"transpose-add-{s}"] = x + x.T if shape[0] == shape[1] else x + 1
        g[f"matmul-{s}"] = x @ x.T
        g[f"overlap-{s}"] = x.map_overlap(lambda b: b, depth=1, boundary="none")
        g[f"overlap2-{s}"] = x.map_overlap(lambda b: b, depth=2).sum(axis=1)
        g[f"rechunk-{s}"] = x.rechunk((shape[0], 1))
        g[f"slice-{s}"] = x[::2, 1:].sum(axis=0)
        g[f"reshape-{s}"] = x.reshape(-1).sum()
        g[f"concat-{s}"] = da.concatenate([x, x * 2], axis=0).mean(axis=1)
        g[f"tensordot-{s}"] = da.tensordot(x, x, axes=((1,), (1,)))
    y = da.ones((50, 50), chunks=(1, 50))
    g["rechunk-rows-cols"] = y.rechunk((50, 1))
    g["anom-mean"] = (y - y.mean(axis=0)).mean(axis=1)
    g["two-outputs"] = (y.sum(), y.mean(axis=0))
    return {name: _materialize(*(c if isinstance(c, tuple) else (c,))) for name, c in g.items()}


def array_store_graphs() -> dict:
    x = da.ones((20, 20), chunks=4) + 1
    target = np.empty((20, 20))
    stored = da.store(x, target, compute=False, lock=False)
    return {"store": _materialize(stored)}


def dataframe_graphs() -> dict:
    pdf = pd.DataFrame({"a": np.arange(400) % 13, "b": np.arange(400), "c": np.arange(400) % 7})
    g = {}
    # set_index computes its divisions when the graph is lowered: in-process, not on
    # whatever distributed Client an earlier test of the session left as default.
    with dask.config.set({"dataframe.shuffle.method": "tasks", "scheduler": "sync"}):
        for nparts in (4, 17, 40):
            df = dd.from_pandas(pdf, npartitions=nparts)
            g[f"groupby-sum-{nparts}"] = df.groupby("a").b.sum()
            g[f"groupby-agg-split-{nparts}"] = df.groupby("a").agg({"b": "mean"}, split_out=3)
            g[f"shuffle-{nparts}"] = df.shuffle("a")
            g[f"merge-{nparts}"] = df.merge(df, on="c", how="inner")
            g[f"set-index-{nparts}"] = df.set_index("b")
            g[f"value-counts-{nparts}"] = df.c.value_counts()
            g[f"drop-dup-{nparts}"] = df.drop_duplicates(subset=["a"])
            g[f"rolling-{nparts}"] = df.b.rolling(3).mean()
            g[f"sum-{nparts}"] = df.sum()
        return {name: _materialize(c) for name, c in g.items()}


def bag_graphs() -> dict:
    g = {}
    for nparts in (5, 20, 64):
        b = db.from_sequence(range(500), npartitions=nparts)
        g[f"freq-{nparts}"] = b.map(lambda v: v % 11).frequencies()
        g[f"foldby-{nparts}"] = b.foldby(lambda v: v % 5, lambda a, v: a + v, 0)
        g[f"groupby-{nparts}"] = b.groupby(lambda v: v % 7, shuffle="tasks")
        g[f"filter-sum-{nparts}"] = b.filter(lambda v: v % 2).sum()
        g[f"distinct-{nparts}"] = b.map(lambda v: v % 17).distinct()
    return {name: _materialize(c) for name, c in g.items()}


def delayed_graphs() -> dict:
    inc = delayed(lambda v: v + 1, pure=True)
    add = delayed(lambda u, v: u + v, pure=True)
    g = {}
    for n in (1, 5, 100):
        v = delayed(0)
        for _ in range(n):
            v = inc(v)
        g[f"chain-{n}"] = v
    for width in (2, 8, 33):
        layer = [inc(i) for i in range(width)]
        while len(layer) > 1:
            layer = [add(layer[i], layer[i + 1]) if i + 1 < len(layer) else layer[i]
                     for i in range(0, len(layer), 2)]
        g[f"tree-{width}"] = layer[0]
    a = inc(1)
    g["diamond"] = add(inc(a), inc(inc(a)))
    shared = delayed(np.arange(10))  # a data root shared by many tasks
    g["shared-data-root"] = delayed(list)([delayed(np.sum)(shared + i) for i in range(12)])
    big = np.arange(1000)
    g["embedded-data"] = delayed(sum)([delayed(np.dot)(big, big) for _ in range(6)])
    g["list-of-keys"] = delayed(list)([inc(i) for i in range(9)])
    g["nested-lists"] = delayed(tuple)([[inc(i), add(i, i)] for i in range(5)])
    return {name: _materialize(c) for name, c in g.items()}


def legacy_graphs() -> dict:
    """Hand dict graphs converted like the client converts low-level graphs."""
    inc = lambda v: v + 1  # noqa: E731
    add = lambda *vs: sum(vs)  # noqa: E731
    g = {
        "doc": {"a": 1, "b": 2, "c": (inc, "a"), "d": (add, "b", "c")},
        "alias-leaf": {"a": (inc, 1), "b": (inc, 2), "c": ["a", "b"], "d": "a"},
        "data-roots": {"x": 1, "y": 2, "a": (add, "x", "y"), "b": (add, "x", "y"), "c": (add, "a", "b")},
        "tuple-keys": {("x", i): (inc, i) for i in range(6)}
        | {("y", 0): (add, *[("x", i) for i in range(6)])},
        "quotes": {"it's": (inc, 1), 'say "hi"': (inc, 2), "both'\"": (add, "it's", 'say "hi"')},
        "unicode": {"ключ": (inc, 1), "κλειδί": (inc, 2), "鍵": (add, "ключ", "κλειδί")},
    }
    return {name: convert_legacy_graph(dsk) for name, dsk in g.items()}


def external_key_graphs() -> dict:
    """Graphs depending on keys that are not in them (held data of earlier graphs)."""
    g = {}
    for n_ext in (1, 3, 20):
        ext = [f"held-{i}" for i in range(n_ext)]
        dsk = {f"t-{i}": Task(f"t-{i}", max, *(TaskRef(e) for e in ext[: 1 + i % n_ext]))
               for i in range(12)}
        dsk["out"] = Task("out", max, *(TaskRef(f"t-{i}") for i in range(12)))
        g[f"external-{n_ext}"] = dsk
    return g


def random_dags(seed: int, count: int) -> dict:
    rng = random.Random(seed)
    g = {}
    for index in range(count):
        size = rng.choice([3, 8, 20, 50, 150, 400, 1500])
        density = rng.choice([0.02, 0.1, 0.3, 0.6])
        max_deps = rng.choice([1, 2, 3, 5, 12, 40])
        window = rng.choice([2, 5, 20, size])
        key_style = rng.choice(["str", "tuple", "mixed"])

        def key(i):
            if key_style == "str" or (key_style == "mixed" and i % 3 == 0):
                return f"k-{seed}-{index}-{i}"
            return (f"r-{seed}-{index}", i // 10, i % 10)

        dsk = {}
        n_external = rng.choice([0, 0, 1, 4])
        externals = [f"ext-{seed}-{index}-{j}" for j in range(n_external)]
        for i in range(size):
            k = key(i)
            candidates = list(range(max(0, i - window), i))
            deps = [key(j) for j in candidates if rng.random() < density][:max_deps]
            if externals and rng.random() < 0.1:
                deps.append(rng.choice(externals))
            if not deps and rng.random() < 0.3:
                dsk[k] = DataNode(k, i)
            elif len(deps) == 1 and rng.random() < 0.05:
                dsk[k] = Alias(k, deps[0])
            else:
                dsk[k] = Task(k, max, *(TaskRef(d) for d in deps))
        order_keys = list(dsk)
        rng.shuffle(order_keys) if rng.random() < 0.3 else None
        g[f"random-{seed}-{index}-n{size}-d{density}-m{max_deps}"] = {k: dsk[k] for k in order_keys}
    return g


def cycle_graphs() -> dict:
    return {
        "cycle-2": {
            "a": Task("a", max, TaskRef("b")),
            "b": Task("b", max, TaskRef("a")),
        },
        "cycle-in-tail": {
            "x": Task("x", max, 1),
            "a": Task("a", max, TaskRef("x"), TaskRef("c")),
            "b": Task("b", max, TaskRef("a")),
            "c": Task("c", max, TaskRef("b")),
        },
    }


_RECORDER = textwrap.dedent(
    """
    import os
    import cloudpickle
    import dask.order

    captured = []
    _original = dask.order.order

    def _capture(dsk, dependencies=None, **kwargs):
        captured.append(dict(dsk))
        return _original(dsk, dependencies, **kwargs)

    def pytest_configure(config):
        import dask.tests.test_order as t
        t.order = _capture
        dask.order.order = _capture

    def pytest_unconfigure(config):
        with open(os.environ["ORDER_GRAPHS_OUT"], "wb") as f:
            cloudpickle.dump(captured, f)
    """
)


@pytest.fixture(scope="module")
def dask_test_order_graphs(tmp_path_factory) -> dict:
    """Every graph dask's own dask/tests/test_order.py passes to order()."""
    tmp = tmp_path_factory.mktemp("dask_test_order")
    (tmp / "order_recorder.py").write_text(_RECORDER)
    tests = Path(dask.__file__).parent / "tests" / "test_order.py"
    out = tmp / "captured.graphs"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "order_recorder", "-p", "no:cacheprovider",
         "--no-header", "-o", "addopts=", str(tests)],
        cwd=tmp,
        env={**os.environ, "PYTHONPATH": str(tmp), "ORDER_GRAPHS_OUT": str(out)},
        capture_output=True,
        timeout=600,
    )
    with open(out, "rb") as f:
        captured = pickle.load(f)
    graphs = {}
    for i, dsk in enumerate(captured):
        converted = convert_legacy_graph(dsk)
        if converted:
            graphs[f"dask-test-order-{i}"] = converted
    return graphs


# ---------------------------------------------------------------- tests


def test_array_graphs():
    _assert_identical(array_graphs() | array_store_graphs())


def test_dataframe_graphs():
    _assert_identical(dataframe_graphs())


def test_bag_and_delayed_graphs():
    _assert_identical(bag_graphs() | delayed_graphs())


def test_hand_graphs():
    _assert_identical(legacy_graphs() | external_key_graphs() | cycle_graphs())


@pytest.mark.parametrize("seed", range(4))
def test_random_dags(seed):
    _assert_identical(random_dags(seed, 60))


def test_dask_test_order_graphs(dask_test_order_graphs):
    assert len(dask_test_order_graphs) > 50
    _assert_identical(dask_test_order_graphs)


_OTHER_SEED = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {here!r})
    import test_dask_order_port as t
    t._assert_identical(
        t.random_dags(7, 25) | t.delayed_graphs() | t.legacy_graphs() | t.array_graphs()
        | t.dataframe_graphs() | t.bag_graphs()
    )
    print("identical")
    """
)


@pytest.mark.parametrize("hash_seed", ["0", "1", "12345"])
def test_other_hash_seeds(hash_seed):
    """Python's priorities change with the str hash seed; the port follows them."""
    proc = subprocess.run(
        [sys.executable, "-c", _OTHER_SEED.format(here=str(HERE))],
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert proc.stdout.decode().strip().endswith("identical")
