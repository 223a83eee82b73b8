"""Task execution and value (de)serialization for the daskcpp worker.

The C++ worker (python_compat/task_runner.cpp) keeps every Python value it holds in
``_store`` under an integer id; C++ sees only ids, byte strings and numbers. The
functions mirror what a stock worker does:

* ``execute`` -- distributed.worker._run_task_simple: unpickle the run_spec GraphNode,
  call it with ``{dependency key: value}``, measure, and describe the result (dask
  sizeof, pickled type, typename) or the error (distributed.core.error_message).
* ``serialize`` -- what ``to_serialize(value)`` becomes on the wire in a get_data reply
  (serializers dask then pickle, no compression).
* ``deserialize`` -- what a stock receiver does with a ``__Serialized__`` group.

Keys travel as their canonical msgpack bytes and are decoded with use_list=False, as
distributed decodes frame 0, so tuple keys come back as tuples.
"""

from __future__ import annotations

import threading
import time

import msgpack
from dask.sizeof import sizeof
from dask.utils import typename
from distributed.core import error_message
from distributed.exceptions import Reschedule
from distributed.protocol import pickle
from distributed.protocol.compression import decompress
from distributed.protocol.serialize import (
    merge_and_deserialize,
    msgpack_decode_default,
    msgpack_encode_default,
    serialize_and_split,
    to_serialize,
)

from daskcpp import _worker_context

_store: dict[int, object] = {}
# Unpickling a task may import its modules; two executor threads importing a package
# with circular imports (dask.dataframe) at once see it half initialized. Stock
# workers unpickle run_specs on their one event loop thread; here one at a time.
_unpickle_lock = threading.Lock()
_SERIALIZERS = ("dask", "pickle")


def _key(canonical: bytes):
    return msgpack.loads(canonical, use_list=False)


def _describe(value) -> tuple[int, bytes, str]:
    """(nbytes, pickled type, typename) as _transition_executing_memory reports."""
    typ = type(value) if value is not None else None
    try:
        type_bytes = pickle.dumps(typ)
    except Exception:  # some types cannot be pickled; stock sends the name
        type_bytes = pickle.dumps(typename(typ))
    return int(sizeof(value)), type_bytes, typename(typ)


def _serialized_group(obj, pickle_protocol: int) -> tuple[bytes, list[bytes]]:
    header, frames = serialize_and_split(
        obj,
        serializers=_SERIALIZERS,
        on_error="message",
        context={"pickle-protocol": pickle_protocol},
    )
    header["compression"] = (None,) * len(frames)
    header["num-sub-frames"] = len(frames)
    header_bytes = msgpack.dumps(header, default=msgpack_encode_default, use_bin_type=True)
    return header_bytes, [bytes(f) for f in frames]


def serialized_group(obj) -> tuple[bytes, list[bytes]]:
    """The __Serialized__ sub-header and frames of ``obj`` (a to_serialize wrapper)."""
    return _serialized_group(obj, 5)


def error_payload(e: BaseException):
    """distributed.core.error_message(e) as (exc header, exc frames, tb header or None,
    tb frames, exception_text, traceback_text)."""
    msg = error_message(e)
    exc_header, exc_frames = _serialized_group(msg["exception"], 5)
    tb = msg["traceback"]
    tb_header, tb_frames = (None, []) if tb is None else _serialized_group(tb, 5)
    return (exc_header, exc_frames, tb_header, tb_frames, msg["exception_text"],
            msg["traceback_text"])


def execute(result_id: int, spec_header: bytes, spec_frames: list, deps: list,
            canonical_key: bytes = b""):
    """Runs one task. ``deps`` is [(canonical key bytes, value id)].

    Inside the task, get_worker()/get_client()/secede()/rejoin() work through
    _worker_context.task_context (the task's key is ``canonical_key``).

    Returns ("OK", nbytes, type bytes, typename, start, stop, thread),
    ("reschedule", start, stop, thread) when the task raised distributed.Reschedule
    (upstream _run_task_simple -> RescheduleEvent), or ("error", exc header, exc
    frames, tb header or None, tb frames, exception_text, traceback_text, start,
    stop, thread)."""
    thread = threading.get_ident()
    start = time.time()
    try:
        sub_header = msgpack.loads(spec_header)
        frames = list(spec_frames)
        if "compression" in sub_header:
            frames = decompress(sub_header, frames)
        with _unpickle_lock:
            task = pickle.loads(sub_header["pickled-obj"], buffers=frames)
        data = {_key(k): _store[i] for k, i in deps}
        key = _key(canonical_key) if canonical_key else getattr(task, "key", None)
        start = time.time()
        with _worker_context.task_context(key, canonical_key, start):
            result = task(data)
    except (SystemExit, KeyboardInterrupt):
        raise
    except Reschedule:
        return ("reschedule", start, max(time.time(), start + 1e-6), thread)
    except BaseException as e:  # noqa: BLE001 - reported to the scheduler as stock does
        stop = time.time()
        return ("error",) + error_payload(e) + (start, max(stop, start + 1e-6), thread)
    stop = time.time()
    _store[result_id] = result
    nbytes, type_bytes, name = _describe(result)
    # A zero compute duration trips stock work stealing (protocol.md Appendix F).
    return ("OK", nbytes, type_bytes, name, start, max(stop, start + 1e-6), thread)


def serialize(value_id: int, pickle_protocol: int) -> tuple[bytes, list[bytes]]:
    """The __Serialized__ sub-header and frames of to_serialize(value)."""
    return _serialized_group(to_serialize(_store[value_id]), pickle_protocol)


def deserialize(value_id: int, header: bytes, frames: list) -> tuple[int, bytes, str]:
    """Stores the value of a received __Serialized__ group; returns its description."""
    sub_header = msgpack.loads(header, object_hook=msgpack_decode_default,
                               use_list=False)
    frames = list(frames)
    if "compression" in sub_header:
        frames = decompress(sub_header, frames)
    value = merge_and_deserialize(sub_header, frames)
    _store[value_id] = value
    return _describe(value)


def versions_msgpack() -> bytes:
    """distributed.versions.get_versions(), as register-worker carries it."""
    from distributed.versions import get_versions

    return msgpack.dumps(get_versions(), use_bin_type=True)


def release(value_id: int) -> None:
    _store.pop(value_id, None)


def stored_count() -> int:
    return len(_store)


