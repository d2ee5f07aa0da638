"""Unit tests of notebook 06's lab (ipc_helpers.labs.distributed), without a browser."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from ipc_helpers.distributed import cluster as dc  # noqa: E402
from ipc_helpers.distributed.flow import RunCost  # noqa: E402
from ipc_helpers.labs import distributed as lab  # noqa: E402
from ipc_helpers.labs.panel import press, status_of  # noqa: E402

pytestmark = pytest.mark.one_stage  # why: tests/unit/test_distributed_cluster.py


@pytest.fixture(scope="module")
def client():
    cluster, client = dc.start_local_cluster(n_workers=2)
    yield client
    dc.close_cluster(cluster, client)


def test_bounded_run_on_both_engines(client):
    result = lab.run_throughput_lab(client, tasks=10, task_ms=10, payload_kib=16, in_flight=2)
    assert [r.engine for r in result.runs] == [lab.DASK, lab.POOL]
    assert result.workers == 2 and result.cpus >= 1
    assert all(r.tasks == 10 and r.seconds > 0 and r.tasks_per_second > 0 for r in result.runs)
    assert result.ideal_tasks_per_second == pytest.approx(200.0)
    assert result.run(lab.POOL).engine == lab.POOL
    lines = result.lines()
    assert lines[0] == "10 tasks of 10 ms, 16 KiB each, at most 2 in flight"
    assert lines[1].startswith("2 worker processes, on a machine with ")
    assert len(lines) == 4 and max(len(line) for line in lines) <= 90
    fig = lab.plot_throughput(result)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_unbounded_run_and_no_work(client):
    result = lab.run_throughput_lab(client, tasks=10, task_ms=0, payload_kib=0, in_flight=0)
    assert result.ideal_tasks_per_second is None
    assert "no limit" in result.lines()[0]
    plt.close(lab.plot_throughput(result))
    with pytest.raises(ValueError, match="engine"):
        result.run("Ray")


@pytest.mark.parametrize(
    ("settings", "error", "words"),
    [
        ({"tasks": 0}, ValueError, "tasks"),
        ({"task_ms": -1}, ValueError, "task_ms"),
        ({"payload_kib": 2048}, ValueError, "payload_kib"),
        ({"in_flight": "4"}, TypeError, "in_flight"),
        ({"tasks": 200, "payload_kib": 1024}, ValueError, "under 100 MiB"),
    ],
)
def test_settings_are_checked_before_anything_runs(client, settings, error, words):
    with pytest.raises(error, match=words):
        lab.run_throughput_lab(client, **settings)


def test_the_lab_needs_a_client():
    with pytest.raises(TypeError, match="client"):
        lab.run_throughput_lab("tcp://127.0.0.1:8786")
    with pytest.raises(TypeError, match="client"):
        lab.throughput_panel(None)


def test_the_panel_runs_once_pressed(client):
    panel = lab.throughput_panel(client)
    for slider, value in zip(panel.children[1:5], (10, 0, 64, 2), strict=True):
        slider.value = value
    press(panel)
    assert status_of(panel) == ""
    plt.close("all")


def test_plot_runs_marks_the_good_and_the_bad_way():
    runs = [RunCost("bounded", 1.0, 50.0), RunCost("unbounded", 1.2, 240.0)]
    fig = lab.plot_runs(runs, "backpressure", ok=[True, False])
    left_bars = fig.axes[0].patches
    assert left_bars[0].get_hatch() in (None, "") and left_bars[1].get_hatch() == "//"
    plt.close(fig)
    plt.close(lab.plot_runs(runs, "no verdict"))
    with pytest.raises(ValueError, match="one flag per run"):
        lab.plot_runs(runs, "x", ok=[True])
    with pytest.raises(ValueError, match="empty"):
        lab.plot_runs([], "x")


def record(worker: str, key: str, start: float, stop: float, action: str = "compute") -> dict:
    return {"worker": worker, "key": key, "startstops": ({"action": action, "start": start,
                                                          "stop": stop},)}  # fmt: skip


def test_plot_task_stream_draws_one_row_per_worker():
    records = [
        record("tcp://127.0.0.1:2", "slow_square-a1", 10.0, 10.1),
        record("tcp://127.0.0.1:1", "slow_square-b2", 10.0, 10.1),
        record("tcp://127.0.0.1:1", "block_sum-c3", 10.2, 10.3),
        record("tcp://127.0.0.1:2", "block_sum-d4", 10.1, 10.15, action="transfer"),
    ]
    fig = lab.plot_task_stream(records)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["worker 0", "worker 1"]
    assert len(ax.patches) == 4
    assert min(p.get_x() for p in ax.patches) == pytest.approx(0.0)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["slow_square", "block_sum", "transfer"]
    plt.close(fig)
    with pytest.raises(ValueError, match="empty"):
        lab.plot_task_stream([])


def test_the_panel_runs_after_the_notebook_closed_its_cluster(client, capsys):
    """Labs are pressed after Run All, when the last cell has closed the notebook's cluster."""
    panel = lab.throughput_panel(client)
    dc.close_cluster(client.cluster, client)  # what the notebook's last cell does
    with pytest.raises(ValueError, match="client must be running"):
        lab.run_throughput_lab(client)
    for slider, value in zip(panel.children[1:5], (10, 0, 0, 2), strict=True):
        slider.value = value
    press(panel)  # outside a kernel, what it prints goes to stdout
    said = " ".join(capsys.readouterr().out.split())  # wrapped at 90 columns
    assert status_of(panel) == ""
    assert "starts a cluster of 2 workers of its own" in said
    assert "10 tasks of 0 ms" in said
    assert dc._latest == {}  # and closed it again
    plt.close("all")
