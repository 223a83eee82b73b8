"""Graph materialization for the C++ scheduler (protocol.md §5.3, §11.2).

Reproduces the Python steps of ``distributed.scheduler.Scheduler.update_graph``:
``deserialize(expr_ser)`` (with the stock "Error during deserialization" wrapper),
``_materialize_graph``, ``_cull`` for ``LLGExpr``, the inputs of the C++ port of
``dask.order.order`` when the client sent no ``internal_priority``, the annotation
merge of ``_apply_annotations`` and the ``ToPickle(run_spec)`` pickling that stock
does per ``compute-task``.

The result is a handful of flat objects (one bytes blob per field plus offset
arrays), not one dict per task, so the C++ side converts a 100k-task graph with a
few hundred thousand cheap C calls.
"""

from __future__ import annotations

import gc
import textwrap
from array import array
from itertools import accumulate

import msgpack

from dask.core import istask
from dask._expr import LLGExpr
from dask._task_spec import DataNode, GraphNode
from dask.utils import key_split
from distributed.core import error_message
from distributed.protocol import dumps as wire_dumps
from distributed.protocol import pickle as dpickle
from distributed.protocol.compression import decompress
from distributed.protocol.serialize import deserialize, to_serialize
from distributed.protocol.utils import msgpack_opts
from distributed.protocol.core import msgpack_decode_default
from distributed.scheduler import _cull, _materialize_graph
from distributed.utils import ensure_memoryview, key_split_group

# Warnings about dropped annotations are capped; the count is reported in full.
_MAX_WARNINGS = 20

# The text update_graph raises when expr_ser does not unpickle (kept verbatim:
# clients show it to users and tests compare it).
_DESERIALIZATION_ERROR = textwrap.dedent(
    """\
                    Error during deserialization of the task graph. This frequently
                    occurs if the Scheduler and Client have different environments.
                    For more information, see
                    https://docs.dask.org/en/stable/deployment-considerations.html#consistent-software-environments
                """
)

_HELPER_FILE = __file__


def _decode_pickled(header: bytes, frames: list) -> object:
    """A ``__Pickled__`` group, decoded as ``distributed.protocol.core.loads`` does."""
    sub_header = msgpack.loads(header)
    if "compression" in sub_header:
        frames = decompress(sub_header, frames)
    return dpickle.loads(sub_header["pickled-obj"], buffers=frames)


def _packb_or_none(obj) -> bytes | None:
    try:
        return msgpack.packb(obj, use_bin_type=True)
    except Exception:
        return None


class _Warnings:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def add(self, text: str) -> None:
        self.count += 1
        if len(self.lines) < _MAX_WARNINGS:
            self.lines.append(text)


def _clean_annotations(annots: dict, key, warnings: _Warnings) -> dict:
    """Drops values msgpack cannot carry in compute-task.annotations."""
    out = {}
    for name, value in annots.items():
        if _packb_or_none(value) is None or _packb_or_none(name) is None:
            warnings.add(
                f"dropping annotation {name!r} of key {key!r}: "
                f"{type(value).__name__} value is not msgpack-serializable"
            )
            continue
        out[name] = value
    return out


def _error_payloads(e: BaseException):
    """``error_message(e)`` as the scheduler puts it on a client stream.

    Returns (text, exc_header, exc_frames, tb_header | None, tb_frames)."""
    # get_traceback() strips frames of distributed/scheduler.py; ours stand in for
    # them, so strip them too (a deserialization error then has no traceback, as
    # with the stock scheduler).
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == _HELPER_FILE:
        tb = tb.tb_next
    # Called while `e` is being handled: sys.exc_info() reads e.__traceback__.
    e.__traceback__ = tb
    err = error_message(e)
    msg = {"exception": err["exception"], "traceback": err["traceback"]}
    frames = wire_dumps(msg, context={"compression": None})
    head = msgpack.loads(frames[0], strict_map_key=False)

    def group(ref):
        if ref is None:
            return None, []
        i = ref["__Serialized__"]
        sub_header = frames[i]
        n = msgpack.loads(sub_header, strict_map_key=False)["num-sub-frames"]
        return bytes(sub_header), [bytes(f) for f in frames[i + 1 : i + 1 + n]]

    exc_header, exc_frames = group(head["exception"])
    tb_header, tb_frames = group(head["traceback"])
    return (str(e), exc_header, exc_frames, tb_header, tb_frames)


def materialize(
    expr_header: bytes,
    expr_frames: list,
    annotations_header: bytes | None,
    annotations_frames: list,
    keys_msgpack: bytes,
    internal_priority_msgpack: bytes,
    run_spec_sink=None,
):
    """Returns ("ok", records...) or ("error", text, exc_hdr, exc_frames, tb_hdr, tb_frames).

    The "ok" tuple (all offsets are cumulative ends, one per item):
      n_tasks, key_blob, key_ends (q) -- keys of the tasks, then of external deps,
      dep_ends (q, per task), dep_index (q, into the key table),
      has_order (bytes 0/1), order (q), data_producer (bytes 0/1),
      split_names (list[str]), split_index (q), group_names (list[str]), group_index (q),
      global_annotations (msgpack bytes), annot_task (q), annot_blobs (list[bytes]),
      pickles (list[bytes], per task; None with a run_spec_sink), buffer_task (q),
      buffer_frames (list[list[bytes]]),
      culled (bool), warnings (list[str]), warning_count (int),
      order_in_cpp (bool: has_order/order are to be computed by the C++ dask.order),
      is_task (bytes 0/1, per task), key_hash (q, per key), order_keys (list: the keys,
      whose str() breaks ties) -- the last three empty when order_in_cpp is false

    run_spec_sink(group_index_q: bytes, pickles: list[bytes]), when given, takes
    the pickled run_specs in chunks as they are made, so that a large graph's
    pickles never all exist at once (they are most of an intake's peak).
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    result = None
    try:
        try:
            result = _materialize(
                expr_header,
                expr_frames,
                annotations_header,
                annotations_frames,
                keys_msgpack,
                internal_priority_msgpack,
                run_spec_sink,
            )
        except Exception as e:
            result = ("error", *_error_payloads(e))
        return result
    finally:
        if gc_was_enabled:
            gc.enable()
        # A large graph's Python objects are garbage now (some in reference
        # cycles, which a disabled collector left behind); collect them. A full
        # collection costs tens of milliseconds with dask and pandas loaded, so
        # small graphs (the submit -> result latency path) leave it to the
        # collector's normal schedule. The scheduler hands the freed heap back
        # to the OS once it has consumed the records
        # (GraphMaterializer::release_freed_memory).
        if result is not None and result[0] == "ok" and result[1] >= _FULL_COLLECT_MIN_TASKS:
            gc.collect()


# Graphs at least this large get a full collection after intake.
_FULL_COLLECT_MIN_TASKS = 10_000


def _materialize(
    expr_header,
    expr_frames,
    annotations_header,
    annotations_frames,
    keys_msgpack,
    internal_priority_msgpack,
    run_spec_sink,
):
    keys = msgpack.loads(
        keys_msgpack, use_list=False, strict_map_key=False, raw=False
    )
    internal_priority = msgpack.loads(
        internal_priority_msgpack, use_list=False, strict_map_key=False, raw=False
    )
    global_annotations = (
        _decode_pickled(annotations_header, annotations_frames)
        if annotations_header is not None
        else None
    )
    try:
        header = msgpack.loads(
            expr_header,
            object_hook=msgpack_decode_default,
            use_list=False,
            **msgpack_opts,
        )
        expr = deserialize(header, expr_frames)
    except Exception as e:
        raise RuntimeError(_DESERIALIZATION_ERROR) from e

    dsk, annotations_by_type = _materialize_graph(expr=expr, validate=False)
    culled = isinstance(expr, LLGExpr)
    del expr
    if culled:
        dsk = _cull(dsk, set(keys))
    # Without the client's internal_priority, the C++ port of dask.order.order
    # (scheduler/ordering/dask_order.hpp) computes the priorities from the records,
    # the nodes' istask flags and the keys' hash() values (see _order_inputs).
    return _records(
        dsk, annotations_by_type, global_annotations, internal_priority, culled, run_spec_sink
    )


def cycle_error(text: str):
    """The error tuple for a cycle the C++ dask.order found (dask raises this
    RuntimeError from dask.order.order)."""
    return ("error", *_error_payloads(RuntimeError(text)))


def _order_inputs(dsk, all_keys):
    """dask.core.istask of every node, hash() of every key (tasks, then external keys).

    istask inlined for GraphNodes (a task unless a DataNode): calling it costs 15x more
    (it imports per call)."""
    is_task = bytes(
        [not isinstance(v, DataNode) if isinstance(v, GraphNode) else istask(v)
         for v in dsk.values()]
    )
    key_hash = array("q", map(hash, all_keys))
    return is_task, key_hash.tobytes()


# Pickled run_specs handed to a run_spec_sink at a time.
_SINK_CHUNK = 4096


def _records(
    dsk, annotations_by_type, global_annotations, internal_priority, culled, run_spec_sink
):
    task_keys = list(dsk)
    n = len(task_keys)
    index = dict(zip(task_keys, range(n)))
    all_keys = list(task_keys)

    dep_index = array("q")
    dep_ends = array("q")
    data_producer = bytearray(n)
    for i, node in enumerate(dsk.values()):
        for dep in node.dependencies:
            j = index.get(dep)
            if j is None:
                j = index[dep] = len(all_keys)
                all_keys.append(dep)
            dep_index.append(j)
        dep_ends.append(len(dep_index))
        if node.data_producer:
            data_producer[i] = 1

    packb = msgpack.Packer(use_bin_type=True).pack
    key_bytes = list(map(packb, all_keys))
    key_ends = array("q", accumulate(map(len, key_bytes)))

    order_in_cpp = not internal_priority
    if order_in_cpp:
        has_order = bytes(n)
        order = array("q", bytes(8 * n))
        is_task, key_hash = _order_inputs(dsk, all_keys)
        order_keys = all_keys
    else:
        get_order = internal_priority.get
        orders = [get_order(k) for k in task_keys]
        has_order = bytes(o is not None for o in orders)
        order = array("q", [0 if o is None else o for o in orders])
        is_task, key_hash, order_keys = b"", b"", []

    split_names, split_index = _intern(map(key_split, task_keys))
    group_names, group_index = _intern(map(key_split_group, task_keys))

    warnings = _Warnings()
    global_clean, annot_task, annot_blobs = _annotations(
        task_keys, annotations_by_type, global_annotations, warnings
    )

    pickles = []
    sunk = 0  # pickles handed to run_spec_sink so far
    buffer_task = array("q")
    buffer_frames = []
    dumps = dpickle.dumps
    for i, node in enumerate(dsk.values()):
        buffers: list = []
        pickles.append(
            dumps(node, buffer_callback=lambda b: buffers.append(ensure_memoryview(b)))
        )
        if buffers:
            buffer_task.append(i)
            buffer_frames.append([bytes(b) for b in buffers])
        if run_spec_sink is not None and len(pickles) == _SINK_CHUNK:
            run_spec_sink(group_index[sunk : sunk + len(pickles)].tobytes(), pickles)
            sunk += len(pickles)
            pickles = []
    if run_spec_sink is not None:
        if pickles:
            run_spec_sink(group_index[sunk : sunk + len(pickles)].tobytes(), pickles)
        pickles = None

    return (
        "ok",
        n,
        b"".join(key_bytes),
        key_ends.tobytes(),
        dep_ends.tobytes(),
        dep_index.tobytes(),
        has_order,
        order.tobytes(),
        bytes(data_producer),
        split_names,
        split_index.tobytes(),
        group_names,
        group_index.tobytes(),
        packb(global_clean),
        annot_task.tobytes(),
        annot_blobs,
        pickles,
        buffer_task.tobytes(),
        buffer_frames,
        culled,
        warnings.lines,
        warnings.count,
        order_in_cpp,
        is_task,
        key_hash,
        order_keys,
    )


def _intern(names):
    table: dict[str, int] = {}
    index = array("q")
    for name in names:
        i = table.get(name)
        if i is None:
            i = table[name] = len(table)
        index.append(i)
    return list(table), index


def _annotations(task_keys, annotations_by_type, global_annotations, warnings):
    """Per-task annotations as Scheduler._apply_annotations merges them.

    Returns the msgpack-able global dict, and (task index, packed dict) for every
    task whose merged dict differs from it; the others carry the global dict (or
    nothing, stock's ``ts.annotations or {}``)."""
    global_annotations = dict(global_annotations or {})
    static = {k: v for k, v in global_annotations.items() if not callable(v)}
    has_callables = len(static) != len(global_annotations)
    global_clean = _clean_annotations(static, "<global>", warnings)

    annot_task = array("q")
    annot_blobs = []
    if not annotations_by_type and not has_callables:
        return global_clean, annot_task, annot_blobs

    per_type = list(annotations_by_type.items())
    packb = msgpack.Packer(use_bin_type=True).pack
    for i, key in enumerate(task_keys):
        merged = None
        if has_callables:
            merged = {}
            for name, value in global_annotations.items():
                merged[name] = value(key) if callable(value) else value
        for name, by_key in per_type:
            value = by_key.get(key)
            if value is not None:
                if merged is None:
                    merged = dict(global_annotations)
                merged[name] = value
        if merged is None:
            continue
        annot_task.append(i)
        annot_blobs.append(packb(_clean_annotations(merged, key, warnings)))
    return global_clean, annot_task, annot_blobs
