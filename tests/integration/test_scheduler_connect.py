"""A stock distributed.Client against daskcpp-scheduler: connect, identity,
close, unknown ops, shutdown (protocol.md §4.3, §5.1, §5.6)."""

from __future__ import annotations

import asyncio
import re

from distributed import Client
from distributed.core import rpc

from cluster import wait_for


def errors_in(log: str) -> list[str]:
    return [line for line in log.splitlines()
            if re.search(r"\b(error|critical)\b", line, re.IGNORECASE)]


def test_scheduler_file_and_banner(scheduler):
    info = scheduler.identity
    assert info["type"] == "Scheduler"
    assert re.fullmatch(r"Scheduler-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        info["id"])
    assert re.fullmatch(r"tcp://127\.0\.0\.1:\d+", info["address"])
    assert info["workers"] == {} and info["n_workers"] == 0
    assert set(info) == {"type", "id", "address", "services", "started", "n_workers",
                         "total_threads", "total_memory", "workers"}
    # Upstream: logger.info("  Scheduler at: %25s", address)
    banner = "  Scheduler at: %25s" % info["address"]
    wait_for(lambda: banner in scheduler.log(), 5, "the banner")


def test_client_connects_and_closes_cleanly(scheduler):
    client = Client(scheduler.address, timeout=10)
    try:
        info = client.scheduler_info()
        assert info["address"] == scheduler.address
        assert info["id"] == scheduler.identity["id"]
        assert info["workers"] == {}
        client_id = client.id
    finally:
        client.close()
    wait_for(lambda: f"Close client connection: {client_id}" in scheduler.log(), 10,
             "the client removal")
    log = scheduler.log()
    assert f"Receive client connection: {client_id}" in log
    assert f"Remove client {client_id}" in log
    assert errors_in(log) == []


def test_unknown_op_returns_none(scheduler):
    async def call():
        r = rpc(scheduler.address)
        try:
            return await r.no_such_op(x=1)
        finally:
            await r.close_rpc()

    assert asyncio.run(call()) is None
    wait_for(lambda: "No handler no_such_op found in Scheduler" in scheduler.log(), 5,
             "the unknown-op warning")


def test_identity_over_raw_rpc(scheduler):
    async def call():
        r = rpc(scheduler.address)
        try:
            return await r.identity(n_workers=-1)
        finally:
            await r.close_rpc()

    assert asyncio.run(call()) == scheduler.identity


def test_client_shutdown_stops_the_scheduler(scheduler):
    client = Client(scheduler.address, timeout=10)
    client.shutdown()
    assert scheduler.proc.wait(10) == 0
    assert not scheduler.scheduler_file.exists()
    assert errors_in(scheduler.log()) == []


def test_sigterm_is_a_clean_exit(scheduler):
    assert scheduler.stop() == 0
    assert not scheduler.scheduler_file.exists()
    assert "End scheduler" in scheduler.log()
