"""A deliberately primitive peer for robustness tests: a blocking TCP socket
that speaks the framing of protocol.md §1.2 and the handshake of §2 by hand
(struct + distributed.protocol), so tests can also send what a real peer
never would."""

from __future__ import annotations

import socket
import struct
import time

from distributed.protocol import dumps, loads

HANDSHAKE = {"compression": None, "python": [3, 11, 2], "pickle-protocol": 5}


def frame_message(frames: list[bytes]) -> bytes:
    """`u64 L | u64 N | u64 len[N] | frames`, with every frame inside L."""
    body = struct.pack(f"<Q{len(frames)}Q", len(frames), *map(len, frames)) + b"".join(frames)
    return struct.pack("<Q", len(body)) + body


def encode(msg) -> bytes:
    """A message as distributed would frame it (frame 0 msgpack, no compression)."""
    return frame_message([bytes(f) for f in dumps(msg)])


class PeerClosed(Exception):
    """The other side closed the connection."""


class RawConn:
    """One blocking connection; every read has a deadline."""

    def __init__(self, address: str, timeout: float = 10.0):
        host, port = address.removeprefix("tcp://").rsplit(":", 1)
        self.timeout = timeout
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handshake(self) -> dict:
        """Sends ours, returns theirs (both sides write first, protocol.md §2)."""
        self.send(encode(HANDSHAKE))
        return self.read_message()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_message(self, msg) -> None:
        self.send(encode(msg))

    def _recv_exact(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            chunk = self.sock.recv(min(n - got, 1 << 20))
            if not chunk:
                raise PeerClosed(f"closed after {got} of {n} bytes")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def read_message(self):
        (length,) = struct.unpack("<Q", self._recv_exact(8))
        (n_frames,) = struct.unpack("<Q", self._recv_exact(8))
        if n_frames > 10_000:
            raise ValueError(f"implausible frame count {n_frames}")
        lengths = struct.unpack(f"<{n_frames}Q", self._recv_exact(8 * n_frames))
        frames = [self._recv_exact(n) for n in lengths]
        return loads(frames)

    def wait_closed(self, timeout: float) -> bool:
        """True once the peer closed (EOF or reset) within `timeout`; data that
        arrives meanwhile is discarded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                if not self.sock.recv(1 << 16):
                    return True
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
        return False

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawConn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
