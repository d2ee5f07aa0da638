"""Unit tests of notebook 06's checkers (ipc_helpers.exercises.distributed).

Exercises 1 and 2 run here on one cluster for the module, passed as the
notebook passes its ``client`` (the contract rows in
``contract_cases/distributed.py`` run them without one, each on a cluster of
the checker's own). Exercise 3 always starts its own cluster.
"""

from __future__ import annotations

import time

import psutil
import pytest
from distributed import Client

from ipc_helpers.distributed import cluster as dc
from ipc_helpers.exercises import distributed as ex
from tests.solutions import solution
from tests.unit.checker_contract import placeholder
from tests.unit.contract_cases import distributed as answers

pytestmark = pytest.mark.one_stage  # why: tests/unit/test_distributed_cluster.py

NB = "06_beyond_one_machine"


@pytest.fixture(scope="module")
def client():
    cluster, client = dc.start_local_cluster(n_workers=2)
    yield client
    dc.close_cluster(cluster, client)


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    monkeypatch.setenv("IPC_HELPERS_STRICT", "1")  # a checker's own error fails the test


@pytest.mark.parametrize(
    ("answer", "status", "words"),
    [
        (solution(NB, "run_bounded"), "correct", "never more than 3 were in flight at once"),
        (answers.bounded_in_batches, "correct", "at least two at a time"),
        (answers.bounded_with_wait, "correct", "never more than 3"),
        (answers.all_at_once, "not yet", "up to 24 of your tasks were in flight at once"),
        (answers.bounded_but_keeping_futures, "not yet", "held up to 24 of them"),
        (answers.one_at_a_time, "not yet", "one at a time"),
        (answers.without_the_cluster, "not yet", "only 0 of the 24 slow_square tasks"),
        (placeholder, "not attempted", "replace `raise NotImplementedError`"),
        (lambda client, items, limit: "done", "not yet", "returned str 'done'"),
        (lambda client, items, limit: 1 / 0, "not yet", "ZeroDivisionError"),
    ],
)
def test_check_bounded(client, answer, status, words):
    feedback = ex.check_bounded(answer, client)
    assert (feedback.status, words in feedback.message) == (status, True), feedback


@pytest.mark.parametrize(
    ("answer", "status", "words"),
    [
        (solution(NB, "sum_blocks"), "correct", "took the 8.0 MB array from the cluster's memory"),
        (answers.scatter_broadcast, "correct", "each task's own message carried under 10 kB"),
        (answers.scatter_and_map, "correct", "from the cluster's memory"),
        (answers.array_in_every_task, "not yet", "8 of your tasks carried the 8.0 MB array"),
        (answers.slices_in_every_task, "not yet", "did not take the whole array"),
        (placeholder, "not attempted", "replace `raise NotImplementedError`"),
        (lambda client, array, n: list(range(8)), "not yet", "not the block sums"),
        (lambda client, array, n: ["a"] * 8, "not yet", "not the block sums"),
        (lambda client, array, n: None, "not yet", "a list of 8 sums"),
    ],
)
def test_check_scatter(client, answer, status, words):
    feedback = ex.check_scatter(answer, client)
    assert (feedback.status, words in feedback.message) == (status, True), feedback


def test_the_checkers_refuse_a_wrong_or_closed_client(client):
    feedback = ex.check_bounded(answers.all_at_once, "tcp://127.0.0.1:8786")
    assert feedback.status == "not yet" and "dask client" in feedback.message
    with Client(client.scheduler.address, timeout=30) as other:
        pass  # closed at the end of the block
    feedback = ex.check_scatter(answers.array_in_every_task, other)
    assert feedback.status == "not yet" and "the client is closed" in feedback.message


@pytest.mark.parametrize(
    ("answer", "status", "words"),
    [
        (solution(NB, "run_job"), "correct", "killed a worker that was running one of your tasks"),
        (answers.no_retries, "not yet", "submit with retries=1"),
        (answers.squares_here, "not yet", "no flaky_square task ran on the cluster"),
    ],
)
def test_check_survive(answer, status, words):
    before = set(psutil.Process().children(recursive=True))
    feedback = ex.check_survive(answer)
    assert (feedback.status, words in feedback.message) == (status, True), feedback
    left = set(psutil.Process().children(recursive=True)) - before
    assert not [p for p in left if p.is_running()]  # the checker's own cluster is closed


def test_a_placeholder_starts_no_cluster():
    started = time.monotonic()
    feedback = ex.check_survive(placeholder)
    assert feedback.status == "not attempted"
    assert time.monotonic() - started < 1.0


def test_only_raises_not_implemented():
    def typed(client, items, marker_dir):
        # your code here
        raise NotImplementedError

    def message(client):
        raise NotImplementedError("later")

    def works(client):
        return client

    assert ex.only_raises_not_implemented(typed)
    assert ex.only_raises_not_implemented(placeholder)
    assert not ex.only_raises_not_implemented(message)
    assert not ex.only_raises_not_implemented(works)
    assert not ex.only_raises_not_implemented(print)
