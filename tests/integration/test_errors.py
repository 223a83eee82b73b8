"""Tasks that fail or are cancelled: exceptions, tracebacks, dependents,
cancel, retry. Shared cluster; nothing here damages it."""

from __future__ import annotations

import traceback
from concurrent.futures import CancelledError

import pytest
from distributed import wait
from distributed.client import FutureCancelledError

import tasks
from cluster import wait_for

RESULT_TIMEOUT = 30


@pytest.mark.daskcpp_ready
def test_task_exception_reaches_client(client):
    future = client.submit(tasks.fail, 7)
    with pytest.raises(tasks.UserError) as info:
        future.result(timeout=RESULT_TIMEOUT)
    assert type(info.value) is tasks.UserError
    assert str(info.value) == "bad input 7"
    assert future.status == "error"

    exc = future.exception(timeout=RESULT_TIMEOUT)
    assert type(exc) is tasks.UserError and exc.args == ("bad input 7",)
    # The remote traceback names the user function and its source line.
    frames = traceback.extract_tb(future.traceback(timeout=RESULT_TIMEOUT))
    assert frames[-1].name == "fail"
    assert frames[-1].filename.endswith("tasks.py")
    assert frames[-1].line == 'raise UserError(f"bad input {x}")'
    formatted = "".join(traceback.format_tb(info.value.__traceback__))
    assert 'raise UserError(f"bad input {x}")' in formatted


@pytest.mark.daskcpp_ready
def test_dependents_of_erred_task_err_too(client):
    root = client.submit(tasks.fail, 1)
    child = client.submit(tasks.inc, root)
    grandchild = client.submit(tasks.add, child, 1)
    unrelated = client.submit(tasks.inc, 1)
    for future in (root, child, grandchild):
        with pytest.raises(tasks.UserError, match=r"^bad input 1$"):
            future.result(timeout=RESULT_TIMEOUT)
        assert future.status == "error"
    # The dependents carry the root's exception, not one of their own.
    assert client.gather(unrelated) == 2
    assert grandchild.exception().args == ("bad input 1",)
    with pytest.raises(tasks.UserError, match=r"^bad input 1$"):
        client.gather([unrelated, grandchild])
    assert client.gather([unrelated, grandchild], errors="skip") == [2]


@pytest.mark.daskcpp_ready
def test_cancel(client, gate):
    blocked = client.submit(tasks.gated_inc, 1, str(gate), pure=False)
    waiting = client.submit(tasks.inc, blocked)
    client.cancel([waiting, blocked])
    wait_for(lambda: blocked.status == "cancelled" and waiting.status == "cancelled", 10, "cancellation")
    assert blocked.cancelled()
    with pytest.raises(CancelledError) as info:
        blocked.result(timeout=RESULT_TIMEOUT)
    assert type(info.value) is FutureCancelledError
    assert info.value.key == blocked.key
    assert str(info.value) == f"{blocked.key} cancelled for reason: unknown."
    # The cluster still computes after the cancellation.
    gate.open()
    assert client.submit(tasks.inc, 41, pure=False).result(timeout=RESULT_TIMEOUT) == 42


@pytest.mark.daskcpp_ready
def test_retry_after_fixing_state(client, tmp_path):
    path = tmp_path / "needed-input.txt"
    future = client.submit(tasks.read_text, str(path))
    with pytest.raises(FileNotFoundError) as info:
        future.result(timeout=RESULT_TIMEOUT)
    assert info.value.filename == str(path)
    dependent = client.submit(tasks.add, future, "!")
    wait([dependent], timeout=RESULT_TIMEOUT)
    assert dependent.status == "error"

    path.write_text("fixed")
    dependent.retry()  # retries the erred dependency too
    assert dependent.result(timeout=RESULT_TIMEOUT) == "fixed!"
    assert future.result(timeout=RESULT_TIMEOUT) == "fixed"


@pytest.mark.daskcpp_ready
def test_cyclic_graph_reports_the_cycle(client):
    # Without internal_priority the scheduler orders the graph (dask.order.order on
    # stock, its C++ port on daskcpp); both reject a cycle naming its keys.
    dsk = {"cycle-a": (tasks.inc, "cycle-b"), "cycle-b": (tasks.inc, "cycle-a")}
    with pytest.raises(RuntimeError) as info:
        client.get(dsk, "cycle-a", sync=True)
    assert str(info.value).startswith("Cycle detected between the following keys:\n  -> ")
    assert "cycle-a" in str(info.value) and "cycle-b" in str(info.value)
