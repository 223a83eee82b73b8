"""Client methods whose answer comes from the scheduler, run with the same client
code against the stock scheduler and daskcpp-scheduler (stock workers): what the
user sees must be the same (issue 15).

Covered here: `dump_cluster_state` (msgpack and yaml), `get_versions(check=True)`
and the version-mismatch warning at connect, `profile` / `profile(scheduler=True)`,
`call_stack`, `benchmark_hardware`, `recreate_error_locally` /
`recreate_task_locally`, `upload_file`, directed `scatter` / `submit` / `compute` /
`persist` by address and by worker name, `replicate` / `rebalance` given names
(stock refuses them), `wait_for_workers`, `restart(wait_for_workers=...)` and its
timeout message, `restart_workers`, `get_task_metadata`, the `set_restrictions`
RPC, actors (calls through the scheduler's `proxy` and direct), `MemorySampler`,
and that a stock op daskcpp does not implement fails naming the op. Logs, story
and the task stream are in test_diagnostics.py.
"""

from __future__ import annotations

import gzip
import time
import warnings

import msgpack
import pytest
import yaml

import tasks
from distributed import Client, wait

pytestmark = pytest.mark.daskcpp_ready

# The top-level sections of Scheduler._to_dict in a cluster dump (stock's keys;
# daskcpp fills each from its own state).
SCHEDULER_DUMP_KEYS = {
    "address", "clients", "events", "extensions", "id", "memory", "n_workers",
    "services", "started", "status", "task_groups", "tasks", "thread_id",
    "total_memory", "total_threads", "transition_counter", "transition_log", "type",
    "workers",
}  # fmt: skip
PROFILE_KEYS = ["children", "count", "description", "identifier"]


def _workers(client) -> tuple[list[str], dict[str, str]]:
    info = client.scheduler_info()["workers"]
    addrs = sorted(info)
    return addrs, {a: info[a]["name"] for a in addrs}


# ---- cluster dumps ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["msgpack", "yaml"])
def test_dump_cluster_state_sections(client, tmp_path, fmt):
    fut = client.submit(tasks.inc, 1, key="dumped-inc")
    assert fut.result() == 2
    addrs, _ = _workers(client)
    path = tmp_path / "dump"
    client.dump_cluster_state(str(path), format=fmt)
    if fmt == "msgpack":
        with gzip.open(f"{path}.msgpack.gz") as f:
            state = msgpack.unpack(f, strict_map_key=False)
    else:
        with open(f"{path}.yaml") as f:
            state = yaml.safe_load(f)
    assert set(state) == {"scheduler", "workers", "versions"}
    assert set(state["scheduler"]) == SCHEDULER_DUMP_KEYS
    assert state["scheduler"]["tasks"]["dumped-inc"]["state"] == "memory"
    assert sorted(state["scheduler"]["workers"]) == addrs
    assert state["scheduler"]["address"] == client.scheduler.address
    # The workers' own dumps and versions, as they answer them.
    assert sorted(state["workers"]) == addrs
    for addr in addrs:
        assert state["workers"][addr]["address"] == addr
        assert "dumped-inc" in state["workers"][addr]["data"] or any(
            "dumped-inc" in state["workers"][a]["data"] for a in addrs
        )
    assert set(state["versions"]) == {"scheduler", "workers"}
    assert sorted(state["versions"]["workers"]) == addrs
    assert state["versions"]["scheduler"]["packages"]["distributed"] == (
        state["versions"]["workers"][addrs[0]]["packages"]["distributed"]
    )


# ---- versions ---------------------------------------------------------------------


def test_get_versions_check_has_no_mismatch(client):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        versions = client.get_versions(check=True)
    assert set(versions) == {"scheduler", "workers", "client"}
    scheduler = versions["scheduler"]
    assert set(scheduler) == {"host", "packages"}
    assert scheduler["packages"] == versions["client"]["packages"]
    assert scheduler["host"]["python"] == versions["client"]["host"]["python"]
    packages = client.get_versions(packages=["msgpack"])["scheduler"]["packages"]
    assert packages["msgpack"] == versions["client"]["packages"]["msgpack"]


# ---- profiles and call stacks -------------------------------------------------------


def test_profile_and_call_stack(client, gate):
    assert client.submit(tasks.inc, 1).result() == 2
    assert sorted(client.profile()) == PROFILE_KEYS
    assert sorted(client.profile(scheduler=True)) == PROFILE_KEYS
    per_worker = client.profile(merge_workers=False)
    addrs, _ = _workers(client)
    assert sorted(per_worker) == addrs
    # Idle workers have no call stacks; one running task has exactly one.
    assert client.call_stack() == {}
    blocked = client.submit(tasks.gated_inc, 4, str(gate), key="blocked-task")
    deadline = time.monotonic() + 20
    while True:
        stacks = client.call_stack()
        if stacks:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (worker_stacks,) = stacks.values()
    assert list(worker_stacks) == ["blocked-task"]
    assert any("wait_gate" in frame for frame in worker_stacks["blocked-task"])
    by_key = client.call_stack(keys=["blocked-task"])
    assert list(by_key) == list(stacks)
    assert list(by_key[next(iter(stacks))]) == ["blocked-task"]
    gate.open()
    assert blocked.result() == 5


@pytest.mark.parametrize("worker_mode", ["no-nanny"], indirect=True)
def test_benchmark_hardware(client):
    result = client.benchmark_hardware()
    assert sorted(result) == ["disk", "memory", "network"]
    assert sorted(result["memory"]) == ["1 MiB", "10 MiB", "10 kiB", "100 kiB", "2 kiB"]
    assert sorted(result["network"]) == ["1 MiB", "1 kiB", "10 MiB", "10 kiB", "100 kiB", "50 MiB"]
    assert all(v > 0 for d in result.values() for v in d.values())


# ---- recreate_tasks ---------------------------------------------------------------


def test_recreate_error_and_task_locally(client):
    bad = client.submit(tasks.fail, "recreated", key="recreate-bad")
    with pytest.raises(tasks.UserError, match="bad input recreated"):
        bad.result()
    with pytest.raises(tasks.UserError, match="bad input recreated"):
        client.recreate_error_locally(bad)
    # The blamed task is found through a dependent too.
    downstream = client.submit(tasks.inc, bad, key="recreate-downstream")
    wait(downstream)
    with pytest.raises(tasks.UserError, match="bad input recreated"):
        client.recreate_error_locally(downstream)
    good = client.submit(tasks.add, 2, 5)
    assert client.recreate_task_locally(good) == 7


# ---- upload_file ------------------------------------------------------------------


def test_upload_file_imports_on_workers_and_scheduler(client, tmp_path):
    module = f"parity_upload_{client.id.replace('-', '_')}"
    path = tmp_path / f"{module}.py"
    path.write_text("VALUE = 42\n")
    client.upload_file(str(path))
    addrs, _ = _workers(client)
    assert client.run(lambda: __import__(module).VALUE) == {a: 42 for a in addrs}
    assert client.run_on_scheduler(lambda: __import__(module).VALUE) == 42


# ---- directed placement: addresses and names ---------------------------------------


def test_scatter_submit_compute_persist_to_named_workers(client):
    import dask

    addrs, names = _workers(client)
    for target in (addrs[1], names[addrs[1]]):
        futs = client.scatter([10, 11], workers=[target])
        assert set(client.who_has(futs).values()) == {(addrs[1],)}
        fut = client.submit(tasks.inc, 100, workers=target, pure=False)
        assert fut.result() == 101
        assert client.who_has(fut)[fut.key] == (addrs[1],)
        computed = client.compute(dask.delayed(tasks.inc)(200, dask_key_name=f"c-{target}"), workers=[target])
        assert computed.result() == 201
        assert client.who_has(computed)[computed.key] == (addrs[1],)
        persisted = client.persist(dask.delayed(tasks.inc)(300, dask_key_name=f"p-{target}"), workers=[target])
        wait(persisted)
        assert client.who_has()[f"p-{target}"] == (addrs[1],)
    single = client.scatter(99, workers=names[addrs[0]])
    assert client.who_has(single)[single.key] == (addrs[0],)


def test_replicate_and_rebalance_refuse_worker_names(client):
    """Stock's replicate/rebalance take addresses only: a name matches no worker."""
    addrs, names = _workers(client)
    fut = client.scatter(55, workers=[addrs[0]])
    with pytest.raises(ValueError, match="Can not use replicate to delete data"):
        client.replicate([fut], workers=[names[addrs[1]]])
    futs = client.scatter([1, 2, 3], workers=[addrs[0]])
    with pytest.raises(KeyError, match=names[addrs[0]]):
        client.rebalance(futs, workers=[names[addrs[0]], names[addrs[1]]])
    client.replicate([fut], workers=[addrs[1]], n=1)
    assert sorted(client.who_has(fut)[fut.key]) == addrs


# ---- workers coming and going --------------------------------------------------------


def test_wait_for_workers(client):
    client.wait_for_workers(2, timeout=5)
    client.wait_for_workers(1, timeout=5)
    from distributed.client import WorkerStartTimeoutError

    with pytest.raises(WorkerStartTimeoutError, match="Only 2/3 workers arrived after 0.5"):
        client.wait_for_workers(3, timeout=0.5)


@pytest.mark.parametrize("wait_for_workers", [True, False])
def test_restart_with_nannies(cluster_factory, wait_for_workers):
    cluster = cluster_factory(n_workers=2, nanny=True)
    with Client(cluster.address, timeout=15) as client:
        fut = client.submit(tasks.inc, 1)
        assert fut.result() == 2
        before = set(client.scheduler_info()["workers"])
        assert client.restart(wait_for_workers=wait_for_workers, timeout=40) is None
        assert fut.status == "cancelled"
        if wait_for_workers:
            assert len(client.scheduler_info()["workers"]) == 2
        client.wait_for_workers(2, timeout=40)
        assert set(client.scheduler_info()["workers"]).isdisjoint(before)
        assert client.submit(tasks.inc, 2).result() == 3


# ---- an op the scheduler does not implement ---------------------------------------------


def test_unimplemented_stock_op_fails_naming_it(client, scheduler_kind):
    """`adaptive_target` is in stock's handler table and daskcpp does not implement
    it: the caller gets an error naming the op (not stock's answer, not a None
    that fails later, never a hang). An op stock does not know either gets None
    from both (test_bad_input.py)."""
    if scheduler_kind == "stock":
        assert client.sync(client.scheduler.adaptive_target) == 0
        return
    with pytest.raises(NotImplementedError, match="scheduler operation 'adaptive_target'"):
        client.sync(client.scheduler.adaptive_target)
    assert client.submit(tasks.inc, 1).result() == 2


def test_restart_without_nannies_times_out_as_stock(cluster_factory):
    cluster = cluster_factory(n_workers=2, nanny=False)
    with Client(cluster.address, timeout=15) as client:
        with pytest.raises(TimeoutError) as info:
            client.restart(timeout=2)
        assert str(info.value) == (
            "Waited for 2 worker(s) to reconnect after restarting but, after 2s, 2 have "
            "not returned. Consider a longer timeout, or `wait_for_workers=False`. The 2 "
            "worker(s) not using Nannies were just shut down instead of restarted (restart "
            "is only possible with Nannies). If your deployment system does not "
            "automatically re-launch terminated processes, then those workers will never "
            "come back, and `Client.restart` will always time out. Do not use "
            "`Client.restart` in that case."
        )
        assert client.scheduler_info()["workers"] == {}


def test_restart_workers_by_address_and_name(cluster_factory):
    cluster = cluster_factory(nanny=True, worker_names=["a", "b"])
    with Client(cluster.address, timeout=15) as client:
        addrs, names = _workers(client)
        by_name = {n: a for a, n in names.items()}
        kept = client.submit(tasks.inc, 1, workers=[by_name["b"]], key="kept-on-b")
        assert kept.result() == 2
        assert client.restart_workers([by_name["a"]], timeout=40) == {by_name["a"]: "OK"}
        client.wait_for_workers(2, timeout=40)
        now = client.scheduler_info()["workers"]
        assert by_name["a"] not in now and by_name["b"] in now
        assert sorted(w["name"] for w in now.values()) == ["a", "b"]
        # b was not restarted: its data is still there.
        assert kept.result() == 2 and client.who_has(kept)["kept-on-b"] == (by_name["b"],)
        assert client.restart_workers(["b"], timeout=40) == {"b": "OK"}
        client.wait_for_workers(2, timeout=40)
        assert by_name["b"] not in client.scheduler_info()["workers"]


@pytest.mark.parametrize("worker_mode", ["no-nanny"], indirect=True)
def test_restart_workers_needs_nannies(client):
    """Checked by the client: both schedulers report the workers' nanny as None."""
    addrs, _ = _workers(client)
    with pytest.raises(ValueError, match=f"requires a nanny to be used. Worker {addrs[0]} "):
        client.restart_workers([addrs[0]])


def test_get_task_metadata(client):
    from distributed import get_task_metadata

    with get_task_metadata() as tmd:
        ok = client.submit(tasks.inc, 5, key="tmd-ok")
        bad = client.submit(tasks.fail, 1, key="tmd-bad")
        wait([ok, bad])
    assert tmd.state == {"tmd-ok": "memory", "tmd-bad": "erred"}
    assert tmd.metadata == {"tmd-ok": None, "tmd-bad": None}
    # Outside the block nothing is collected.
    assert client.submit(tasks.inc, 6, key="tmd-after").result() == 7
    assert "tmd-after" not in tmd.state


def test_set_restrictions_op(client):
    """Scheduler.set_restrictions (an RPC with no Client method): a queued task
    is pinned to the given worker."""
    addrs, _ = _workers(client)
    fut = client.submit(tasks.inc, 41, key="restricted-later", workers=[addrs[0]])
    assert fut.result() == 42
    assert client.sync(client.scheduler.set_restrictions, worker={"restricted-later": [addrs[1]]}) is None


# ---- actors through the scheduler's proxy ---------------------------------------------


@pytest.mark.parametrize("direct", [False, True], ids=["proxy", "direct"])
def test_actor_calls(cluster, direct):
    """Without direct-to-workers (the default) the client's actor calls go through
    the scheduler's `proxy` op."""
    with Client(cluster.address, timeout=15, direct_to_workers=direct) as client:
        counter = client.submit(tasks.Counter, 10, actor=True).result()
        assert counter.increment().result() == 11
        assert counter.increment(5).result() == 16
        assert counter.n == 16
        with pytest.raises(tasks.UserError, match="actor method failed"):
            counter.fail().result()


# ---- version checks at connect ---------------------------------------------------------


def test_version_mismatch_warning_at_connect(cluster, monkeypatch):
    """A client whose packages differ from the cluster's is warned when it
    connects, with stock's table (the scheduler reports its embedded
    interpreter's versions, the workers theirs)."""
    from distributed import versions as version_module

    real = version_module.get_versions

    def skewed(packages=None):
        out = real(packages)
        out["packages"] = {**out["packages"], "toolz": "0.0.1-parity"}
        return out

    expected_row = f"| toolz   | 0.0.1-parity | {real()['packages']['toolz']}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Client(cluster.address, timeout=15).close()  # the same versions: no warning
    monkeypatch.setattr(version_module, "get_versions", skewed)
    with pytest.warns(version_module.VersionMismatchWarning) as record:
        client = Client(cluster.address, timeout=15)
    client.close()
    (warning,) = [str(w.message) for w in record if w.category is version_module.VersionMismatchWarning]
    # Scheduler and workers run this interpreter's packages.
    assert warning == version_module.error_message(real(), {"w": real()}, skewed())["warning"]
    assert warning.startswith("Mismatched versions found\n\n+---------+")
    assert expected_row in warning


# ---- MemorySampler -----------------------------------------------------------------------


@pytest.mark.parametrize("measure", ["process", "managed"])
def test_memory_sampler(client, measure):
    from distributed.diagnostics import MemorySampler

    sampler = MemorySampler()
    with sampler.sample("block", measure=measure, interval=0.05):
        futs = client.scatter([b"x" * 1_000_000], workers=None)
        wait(futs)
        time.sleep(0.3)
    (samples,) = [sampler.samples["block"]]
    assert len(samples) >= 2
    assert all(isinstance(t, float) and isinstance(n, int) and n >= 0 for t, n in samples)
    if measure == "process":
        assert all(n > 10_000_000 for _, n in samples)  # two Python worker processes
    else:
        assert samples[-1][1] >= 1_000_000
    df = sampler.to_pandas()
    assert list(df.columns) == ["block"]
