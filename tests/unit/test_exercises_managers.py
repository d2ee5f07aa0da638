"""Unit tests of the checkers of notebook 04 that the contract table does not cover.

The verdicts for right and wrong answers are rows of
tests/unit/contract_cases/managers.py; here: the watched proxies themselves,
the checkers' own settings, and that a verdict does not depend on luck.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time

import pytest

from ipc_helpers.exercises import managers as ex


def the_articles_line(d, lock):
    d["count"] = d.get("count", 0) + 1


def test_a_verdict_does_not_depend_on_a_race_losing_an_update():
    # One call per thread: the race almost never loses an update, yet the
    # missing lock is seen every time (issue 12.23: no "Correct!" by luck).
    for _ in range(3):
        feedback = ex.check_add_visit(the_articles_line, calls=1)
        assert feedback.status == "not yet"
        assert "never took the lock it was given" in feedback.message


def test_check_add_visit_refuses_a_bad_setting_as_a_checker_bug(monkeypatch):
    monkeypatch.setenv("IPC_HELPERS_STRICT", "1")
    with pytest.raises(ValueError, match="calls must be at least 1"):
        ex.check_add_visit(the_articles_line, calls=0)
    monkeypatch.delenv("IPC_HELPERS_STRICT")
    feedback = ex.check_add_visit(the_articles_line, calls=0)
    assert feedback.status == "checker bug"
    assert "not in your code (ValueError: calls must be at least 1" in feedback.message


def test_watched_lock_bounds_a_wait_for_a_lock_never_released(monkeypatch):
    monkeypatch.setattr(ex, "HOLD_LIMIT", 0.2)
    watch = ex._Watch()
    with mp.Manager() as manager:
        lock = ex._WatchedLock(manager.Lock(), watch)
        assert lock.acquire()
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="never released"):
            lock.acquire()
        assert time.monotonic() - started < 5
        assert lock.acquire(timeout=0.1) is False  # an explicit timeout is the caller's
        lock.release()
    assert watch.taken == 1


def test_watched_dict_sees_calls_made_without_the_lock():
    watch = ex._Watch()
    with mp.Manager() as manager:
        d = ex._WatchedDict(manager.dict(), watch)
        lock = ex._WatchedLock(manager.Lock(), watch)
        d["a"] = 1
        with lock:
            d.update(b=2)
            assert "a" in d and len(d) == 2
        assert d.copy() == {"a": 1, "b": 2}
    assert watch.dict_calls == 5
    assert watch.unguarded == ["d[...] = ...", "copy()"]


def test_each_thread_gets_its_own_connection():
    seen = []
    with mp.Manager() as manager:
        d = manager.dict()

        def use() -> None:
            mine = ex._own_proxy(d)
            mine["k"] = 1
            seen.append(mine._tls.connection)

        threads = [threading.Thread(target=use) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert d.copy() == {"k": 1}
    assert len(seen) == 2 and seen[0] is not seen[1]
