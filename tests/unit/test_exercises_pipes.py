"""What the contract table (contract_cases/pipes.py) does not cover: garbage answers.

The table runs each checker end to end with real children; here the judging
functions of ``ipc_helpers.exercises.pipes`` get the odd values a learner's
function may return, without processes: each must give ``Not yet`` with
words that say what is wrong, never raise (a raise would be a checker bug).
"""

from __future__ import annotations

import re

import pytest

from ipc_helpers.exercises import pipes as ex
from ipc_helpers.exercises.feedback import NOT_YET


@pytest.mark.parametrize(
    ("result", "words"),
    [
        (None, "should return a pair \\(items, how_it_ended\\).*returned a NoneType"),
        ((1, 2, 3), "should return a pair"),
        (([], "EOFError"), "you returned 0 items \\(\\), but the child sent 4 items"),
        (("abc", "EOFError"), "you returned a str"),
        ((ex.ITEMS[:2], "EOFError"), "you returned 2 items \\(one, two\\)"),
        (([{"a": 1}], "EOFError"), "you returned 1 item "),
        ((ex.ITEMS, "done"), 'should be "EOFError" or "timeout".*was \'done\''),
        ((ex.ITEMS, "timeout"), "never ended.*still holds its copy"),
    ],
)
def test_until_eof_judges_garbage(result, words):
    feedback = ex._judge_until_eof("spawn", result)
    assert feedback.status == NOT_YET
    assert re.search(words, feedback.message), feedback.message


def test_until_eof_accepts_the_right_pair():
    assert ex._judge_until_eof("fork", (list(ex.ITEMS), "EOFError")) is None


@pytest.mark.parametrize(
    ("result", "count", "words"),
    [
        (None, ("pings", 5, 5), "should return a list of replies, but it returned NoneType"),
        ({"pong": 1}, ("pings", 5, 5), "returned dict"),
        ([0, 1, 2, 3, 4], ("pings", 5, 5), "exactly as recv\\(\\) gave them.*was 0"),
        ([("pong", 0)], ("pings", 5, 5), "the replies should be \\[\\('pong', 0\\)"),
        ([("pong", i) for i in range(5)], ("pings", 0, 0), "received no ping at all"),
        ([("pong", i) for i in range(5)], None, "replies were left unread"),
    ],
)
def test_ping_pong_judges_garbage(result, count, words):
    unread = count is None
    feedback = ex._judge_ping_pong(5, 1000, result, count, unread)
    assert feedback.status == NOT_YET
    assert re.search(words, feedback.message), feedback.message


def test_ping_pong_silent_server_rules():
    right = [("pong", 0), ("pong", 1)]
    assert ex._judge_ping_pong(5, 2, right, ("pings", 3, 2), False) is None
    kept_going = ex._judge_ping_pong(5, 2, right, ("pings", 5, 2), False)
    assert "sent it 5 pings" in kept_going.message


SENDERS = ((0.0, 0.0), (0.0, 0.0))


@pytest.mark.parametrize(
    ("result", "words"),
    [
        ("abc", "should return a list, but it returned str"),
        (None, "returned NoneType"),
        ([], "6 of the 6 messages are missing, for example message 0 of pipe 0"),
        ([1, 2, 3], "6 of the 6 messages are missing"),
    ],
)
def test_fan_in_judges_garbage(result, words):
    feedback = ex._judge_fan_in(SENDERS, "t0k3n", result, 0.1)
    assert feedback.status == NOT_YET
    assert re.search(words, feedback.message), feedback.message


def test_fan_in_order_duplicates_and_waiting():
    sent = ex._messages(0, "t") + ex._messages(1, "t")
    assert ex._judge_fan_in(SENDERS, "t", sent, 0.1) is None
    assert "entries" in ex._judge_fan_in(SENDERS, "t", [*sent, sent[0]], 0.1).message
    shuffled = [sent[1], sent[0], *sent[2:]]
    assert "out of order" in ex._judge_fan_in(SENDERS, "t", shuffled, 0.1).message
    holding = ((0.0, 0.0), (0.0, 6.0))
    assert "collect waited for it" in ex._judge_fan_in(holding, "t", sent, 5.5).message
