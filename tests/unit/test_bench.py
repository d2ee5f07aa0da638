"""ipc_helpers.bench: the benchmark's checks, parts, cleanup and command line."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import queue

import pytest

from ipc_helpers import bench
from ipc_helpers.cleanup import ipc_entries

#: A tiny mode, so that every part runs in a fraction of a second.
TINY = dataclasses.replace(
    bench.MODES["quick"],
    payloads=(64, 70_000),
    rounds=1,
    round_bytes=140_000,
    max_messages=20,
    round_trips=30,
    small_items=300,
    value_ops=200,
    start_rounds=1,
)


def fig(mechanism, payload, median, operation="throughput"):
    return bench.Figure(
        mechanism, operation, payload, median, "MB/s", median, median, median, 1, label=mechanism
    )


# --- checks -----------------------------------------------------------------


def test_size_label():
    assert bench.size_label(64) == "64 B"
    assert bench.size_label(65536) == "64 KiB"
    assert bench.size_label(16 * bench.MiB) == "16 MiB"
    assert bench.size_label(70_000) == "70000 B"
    assert bench.size_label(0) == ""


def test_check_payloads_sorts_and_dedups():
    assert bench.check_payloads([4096, 64, 64]) == (64, 4096)


@pytest.mark.parametrize(
    "payloads, error, text",
    [
        ("64", TypeError, "payloads must be a list"),
        ([], ValueError, "at least one size"),
        ([0], ValueError, "payloads[0] must be at least 1"),
        ([64, 128 * bench.MiB], ValueError, "payloads[1] must be at most"),
        ([True], TypeError, "payloads[0] must be a whole number"),
        ([1.5], TypeError, "payloads[0]"),
    ],
)
def test_check_payloads_rejects(payloads, error, text):
    with pytest.raises(error, match=text.replace("[", r"\[").replace("]", r"\]")):
        bench.check_payloads(payloads)


def test_check_mechanisms():
    assert bench.check_mechanisms(["queue", "queue", "pipe_bytes"], bench.THROUGHPUT) == (
        "queue",
        "pipe_bytes",
    )
    with pytest.raises(ValueError, match="unknown mechanism 'pipe'.*choose from pipe_bytes"):
        bench.check_mechanisms(["pipe"], bench.THROUGHPUT)
    with pytest.raises(ValueError, match="at least one"):
        bench.check_mechanisms([], bench.THROUGHPUT)
    with pytest.raises(TypeError, match="list of names"):
        bench.check_mechanisms("queue", bench.THROUGHPUT)


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        ({"mode": "fast"}, ValueError, "mode must be one of 'quick', 'full'"),
        ({"mechanisms": ["pipe"]}, ValueError, "unknown mechanism 'pipe'"),
        ({"payloads": [0]}, ValueError, "at least 1"),
        ({"time_limit": 0.5}, ValueError, "time_limit must be at least 2 s"),
        ({"time_limit": 0}, ValueError, "time_limit must be greater than 0"),
        ({"time_limit": "5"}, TypeError, "time_limit must be a number of seconds"),
    ],
)
def test_run_benchmark_rejects_bad_input_before_starting_anything(kwargs, error, text):
    with pytest.raises(error, match=text):
        bench.run_benchmark(**kwargs)
    assert mp.active_children() == []


def test_full_mode_refuses_without_room_in_dev_shm(monkeypatch):
    monkeypatch.setattr(bench, "shm_available", lambda directory="/dev/shm": 10 * bench.MiB)
    with pytest.raises(ValueError, match="needs 64 MiB free in /dev/shm; only 10 MiB"):
        bench.run_benchmark("full")


# --- parts ------------------------------------------------------------------


def test_session_cleans_up_everything():
    with bench.Session(shm_size=4096, manager=True, timeout=10) as s:
        name = s.shm.name
        assert s.process.is_alive()
    assert mp.active_children() == []
    assert not any(name.lstrip("/") in n for n in ipc_entries())


def test_session_rejects_bad_arguments():
    with pytest.raises(ValueError, match="shm_size must be at most"):
        bench.Session(shm_size=bench.MAX_PAYLOAD + 1)
    with pytest.raises(TypeError, match="timeout"):
        bench.Session(timeout=None)


def test_throughput_of_every_mechanism_with_references():
    mechs = [m for m in bench.THROUGHPUT]
    with bench.Session(shm_size=70_000, manager=True, timeout=20) as s:
        figures = bench.measure_throughput(s, mechs, TINY.payloads, TINY)
    assert len(figures) == 2 * (len(mechs) + len(bench.REFERENCES))
    for f in figures:
        assert f.operation == "throughput" and f.unit == "MB/s"
        assert 0 < f.min <= f.median <= f.max
        assert f.rounds == 1
        if f.mechanism in bench.THROUGHPUT:
            assert f.reference == bench.THROUGHPUT[f.mechanism][1]
            assert f.percent_of_reference > 0
        else:
            assert f.percent_of_reference is None
        if os.name == "posix":
            assert f.faults_per_mib is not None and f.faults_per_mib >= 0
    assert mp.active_children() == []


def test_shared_memory_needs_a_large_enough_segment():
    with bench.Session(shm_size=64, timeout=10) as s, pytest.raises(ValueError, match="smaller"):
        bench.measure_throughput(s, ["shared_memory"], [4096], TINY)


def test_round_trips_batching_and_value():
    with bench.Session(manager=True, timeout=20) as s:
        trips = bench.measure_round_trips(s, list(bench.ROUND_TRIP), TINY)
        batching = bench.measure_batching(s, TINY)
    assert [f.mechanism for f in trips][0] == "raw_pipe_rt"
    assert {f.mechanism for f in trips} == set(bench.ROUND_TRIP)
    assert all(f.unit == "µs" and f.median > 0 for f in trips)
    single, batched = batching
    assert batched.median > single.median  # about 25x on a 2-core machine
    ops = bench.measure_value_ops(TINY)
    assert [f.mechanism for f in ops] == ["value_raw", "value_lock"]
    with pytest.raises(ValueError, match="batch must be at least 2"):
        bench.measure_batching(None, TINY, batch=1)


def test_same_cpu_restores_affinity():
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    before = os.sched_getaffinity(0)
    with bench.same_cpu() as pinned:
        assert pinned and len(os.sched_getaffinity(0)) == 1
    assert os.sched_getaffinity(0) == before


def test_start_cost():
    figures = bench.measure_start_cost(["fork"], rounds=1)
    assert figures[0].mechanism == "fork" and figures[0].unit == "ms" and figures[0].median > 0
    with pytest.raises(ValueError, match="unknown mechanism 'vfork' in methods"):
        bench.measure_start_cost(["vfork"])
    with pytest.raises(ValueError, match="rounds must be at least 1"):
        bench.measure_start_cost(["fork"], rounds=0)


def test_page_faults():
    assert bench.page_faults("pipe_chunks", size=bench.CHUNK * 2, count=2) >= 0
    with pytest.raises(ValueError, match="mechanism must be one of"):
        bench.page_faults("queue")
    with pytest.raises(ValueError, match="size must be at least"):
        bench.page_faults("pipe_bytes", size=64)


def test_large_shm_is_reported_as_a_large_transfer():
    figures = bench.measure_large_shm(size=bench.MiB, rounds=1)
    assert {f.operation for f in figures} == {"large transfer"}
    assert {f.mechanism for f in figures} == {"memcpy", "shared_memory"}


def test_produce_and_consume_items_in_one_process():
    q = queue.Queue()
    bench.produce_items(q, 250, batch=100)
    assert q.qsize() == 4  # 100 + 100 + 50 + the sentinel
    assert bench.consume_items(q) == [(i, i * 0.5) for i in range(250)]
    with pytest.raises(ValueError, match="batch must be at least 1"):
        bench.produce_items(q, 1, batch=0)
    with pytest.raises(queue.Empty):
        bench.consume_items(queue.Queue(), timeout=0.05)


def test_workers():
    assert bench.square(3) == 9
    assert bench.noop() is None
    q = queue.Queue()
    bench.put_big(q, 10)
    assert q.get() == bytes(10)


# --- results ----------------------------------------------------------------


def test_break_even():
    figures = [
        fig("a", 64, 1),
        fig("b", 64, 2),
        fig("a", 4096, 3),
        fig("b", 4096, 2),
        fig("a", 65536, 9),
        fig("b", 65536, 5),
    ]
    assert bench.break_even(figures, "a", "b") == 4096
    assert bench.break_even(figures, "b", "a") is None
    with pytest.raises(ValueError, match="no throughput"):
        bench.break_even(figures, "a", "c")


def test_result_find_select_table_records():
    r = bench.Result("quick", [fig("a", 64, 1.5), fig("b", 0, 2.0, "round trip")])
    assert r.find("a", "throughput", 64).median == 1.5
    assert [f.mechanism for f in r.select("round trip")] == ["b"]
    with pytest.raises(KeyError):
        r.find("a", "throughput", 128)
    r.skipped = ["start cost"]
    assert "64 B" in r.table() and "not measured: start cost" in r.table()
    assert r.records()[0]["payload"] == 64


def test_cross_check_measures_again(monkeypatch):
    r = bench.Result("quick", [fig("fork", 0, 5.0, "start"), fig("x", 0, 1.0, "start")])
    rows = bench.cross_check(r)
    assert [row["figure"] for row in rows] == ["fork"]
    assert rows[0]["independent"] > 0 and rows[0]["ratio"] >= 1


def test_main_writes_json(tmp_path, monkeypatch, capsys):
    fake = bench.Result("quick", [fig("a", 64, 1.5)], seconds=1.0)
    monkeypatch.setattr(bench, "run_benchmark", lambda mode, **kw: fake)
    out = tmp_path / "b.json"
    assert bench.main(["--quick", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["mode"] == "quick"
    assert data["figures"][0] == {**dataclasses.asdict(fake.figures[0])}
    for key in (
        "mechanism",
        "operation",
        "payload",
        "value",
        "unit",
        "min",
        "median",
        "max",
        "rounds",
    ):
        assert key in data["figures"][0]
    assert "64 B" in capsys.readouterr().out


def test_main_rejects_an_impossible_time_limit(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--quick", "--time-limit", "0.1"])
    assert exit_info.value.code == 2
    assert "time_limit must be at least 2 s" in capsys.readouterr().err


def test_send_chunks_and_recv_chunks_into():
    a, b = mp.Pipe()
    data = bytes(range(256)) * 400  # 102,400 bytes: fits in the socket buffer
    try:
        assert bench.send_chunks(a, data, chunk=10_000) == len(data)
        buf = bytearray(len(data))
        assert bench.recv_chunks_into(b, buf, len(data)) == len(data)
        assert bytes(buf) == data
        with pytest.raises(ValueError, match="chunk must be at least 1"):
            bench.send_chunks(a, data, chunk=0)
    finally:
        a.close()
        b.close()
