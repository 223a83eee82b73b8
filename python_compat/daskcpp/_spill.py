"""Spilling the daskcpp worker's values to disk.

``spill`` serializes one value of ``daskcpp._worker``'s store the way distributed's
SpillBuffer does (``serialize_bytelist``: serializers dask then pickle, raising when
the value cannot be serialized, so it stays in memory), writes the ``__Serialized__``
group to a file and drops the value from the store. The file layout is the one
worker/store/spill_file.hpp reads:

    b"DCSPILL1"  u64 header_len  u64 nframes  u64 frame_len[nframes]  header  frames...

(little-endian). The C++ side reads it back: to serve get_data without deserializing,
or to deserialize it into the store again (unspill). Frames are written from memory
views, so a numpy array is not copied on its way to disk.
"""

from __future__ import annotations

import os
import struct

import msgpack
from distributed.protocol.serialize import msgpack_encode_default, serialize_and_split
from distributed.utils import ensure_memoryview

from daskcpp import _worker

_MAGIC = b"DCSPILL1"
_SERIALIZERS = ("dask", "pickle")


def spill(value_id: int, path: str) -> int:
    """Writes the value ``value_id`` to ``path`` and drops it from the store.

    Returns the bytes written. Raises (leaving the value in memory and no file) when
    the value cannot be serialized or written."""
    value = _worker._store[value_id]
    header, frames = serialize_and_split(
        value, serializers=_SERIALIZERS, on_error="raise", context={"pickle-protocol": 5}
    )
    header["compression"] = (None,) * len(frames)
    header["num-sub-frames"] = len(frames)
    header_bytes = msgpack.dumps(header, default=msgpack_encode_default, use_bin_type=True)
    views = [ensure_memoryview(f) for f in frames]
    head = _MAGIC + struct.pack(f"<QQ{len(views)}Q", len(header_bytes), len(views),
                                *(v.nbytes for v in views))
    try:
        with open(path, "wb") as f:
            f.write(head)
            f.write(header_bytes)
            for v in views:
                f.write(v)
    except BaseException:
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    total = len(head) + len(header_bytes) + sum(v.nbytes for v in views)
    del value, frames, views
    _worker._store.pop(value_id, None)
    return total
