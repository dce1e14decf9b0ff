"""A nudge that cannot reach the broker pauses further nudges of its kind, and never raises."""

from __future__ import annotations

from core.enqueue import PausingEnqueuer


def _failing():
    raise ConnectionError("broker down")


def test_a_failure_pauses_the_next_attempts_and_nothing_raises():
    queue, sent = PausingEnqueuer("test.nudge", pause_seconds=60), []

    assert queue(_failing) is False
    assert queue(lambda: sent.append(1)) is False  # paused: not even tried
    assert sent == []


def test_after_the_pause_it_tries_again():
    queue, sent = PausingEnqueuer("test.nudge", pause_seconds=60), []
    queue(_failing)
    queue.paused_until = 0.0  # the pause has passed

    assert queue(lambda: sent.append(1)) is True and sent == [1]


def test_each_kind_pauses_on_its_own_failures():
    mail, renders, sent = PausingEnqueuer("mail"), PausingEnqueuer("renders"), []
    mail(_failing)

    assert renders(lambda: sent.append("render")) is True and sent == ["render"]
