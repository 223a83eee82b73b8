"""Bad input on a raw socket while a real client is computing.

Each case: a computation is in flight (tasks blocked on a gate), a raw
connection sends something no real peer sends, and then
* the raw connection is closed by the scheduler or answered as stated,
* the scheduler still serves a fresh connection (`identity`),
* the computing client's result is exact once the gate opens,
* the scheduler's RSS grew by less than 50 MB (no unbounded allocation).

On stock these document the reference behaviour; daskcpp must match or be
stricter (close the connection) -- never crash, never hang, never allocate
what the peer announces."""

from __future__ import annotations

import contextlib
import random
import struct

import pytest

import tasks
from cluster import wait_for
from raw_comm import HANDSHAKE, RawConn, encode, frame_message

RESULT_TIMEOUT = 30
MAX_RSS_GROWTH = 50 * 1024 * 1024
CLOSE_TIMEOUT = 10


@contextlib.contextmanager
def while_computing(cluster, client, gate):
    """Runs the body while 20 gated tasks (and their sum) are in flight, then
    checks the scheduler survived and the computation's result is exact."""
    parts = client.map(tasks.gated_inc, range(20), gate=str(gate), pure=False)
    total = client.submit(tasks.total, parts, pure=False)
    wait_for(lambda: any(client.processing().values()), 20, "the computation to start")
    rss_before = cluster.scheduler.rss_bytes()
    yield
    assert cluster.scheduler.alive(), cluster.scheduler.describe()
    with RawConn(cluster.address) as fresh:
        fresh.handshake()
        fresh.send_message({"op": "identity", "reply": True})
        assert fresh.read_message()["type"] == "Scheduler"
    gate.open()
    assert total.result(timeout=RESULT_TIMEOUT) == sum(range(1, 21))
    growth = cluster.scheduler.rss_bytes() - rss_before
    assert growth < MAX_RSS_GROWTH, f"scheduler RSS grew by {growth / 2**20:.1f} MiB"


def _garbage(n: int) -> bytes:
    return random.Random(1234).randbytes(n)


# What is sent right after connecting (no handshake) or right after a valid
# handshake; each must make the scheduler close the connection.
CLOSING_PAYLOADS = {
    "garbage-instead-of-handshake": (False, _garbage(4096)),
    "garbage-after-handshake": (True, _garbage(4096)),
    # A prelude that fits, followed by noise that is no msgpack/frame layout.
    "small-length-then-garbage": (True, struct.pack("<Q", 64) + _garbage(64)),
    "length-field-2^62": (True, struct.pack("<Q", 2**62) + b"\x01" * 64),
    "frame-length-2^62": (True, struct.pack("<QQQ", 16, 1, 2**62) + b"\x00" * 64),
    "frame-count-2^62": (True, struct.pack("<QQ", 16, 2**62) + b"\x00" * 64),
}


@pytest.mark.daskcpp_ready
@pytest.mark.parametrize("case", list(CLOSING_PAYLOADS))
def test_garbage_closes_connection(cluster, client, gate, case):
    after_handshake, payload = CLOSING_PAYLOADS[case]
    with while_computing(cluster, client, gate):
        with RawConn(cluster.address) as raw:
            if after_handshake:
                raw.handshake()
            raw.send(payload)
            assert raw.wait_closed(CLOSE_TIMEOUT), f"{case}: connection still open"


@pytest.mark.parametrize(
    "message",
    [[1, 2, 3], 42, {"no-op-here": 1}],
    ids=["list", "int", "map-without-op"],
)
@pytest.mark.daskcpp_ready
def test_wrong_shape_message(cluster, client, gate, message):
    """Valid msgpack that is not a request map with a string op: the server
    drops the connection (stock raises in Server._handle_comm)."""
    with while_computing(cluster, client, gate):
        with RawConn(cluster.address) as raw:
            raw.handshake()
            raw.send_message(message)
            assert raw.wait_closed(CLOSE_TIMEOUT)


@pytest.mark.daskcpp_ready
@pytest.mark.parametrize(
    "op",
    ["no-such-op", 17],
    ids=["unknown-name", "non-string"],
)
def test_unknown_op_is_answered_with_none(cluster, client, gate, op):
    """Stock logs "No handler ... found" and replies nil, also for an op that
    is not even a string."""
    with while_computing(cluster, client, gate):
        with RawConn(cluster.address) as raw:
            theirs = raw.handshake()
            assert set(theirs) >= {"compression", "pickle-protocol"}
            raw.send_message({"op": op, "reply": True, "x": 1})
            assert raw.read_message() is None
            # The connection stays usable for the next request.
            raw.send_message({"op": "identity", "reply": True})
            assert raw.read_message()["address"] == cluster.address


@pytest.mark.daskcpp_ready
@pytest.mark.parametrize("where", ["handshake", "request"])
def test_half_sent_message_then_disconnect(cluster, client, gate, where):
    with while_computing(cluster, client, gate):
        for _ in range(20):  # repeated, so a per-connection leak would show in RSS
            with RawConn(cluster.address) as raw:
                if where == "handshake":
                    data = encode(HANDSHAKE)
                else:
                    raw.handshake()
                    data = encode({"op": "identity", "reply": True})
                raw.send(data[: len(data) // 2])
        with RawConn(cluster.address) as raw:
            # Announces a 1 MB frame, sends 10 bytes of it, then leaves.
            raw.handshake()
            raw.send(frame_message([b"x" * 1_000_000])[:34])
