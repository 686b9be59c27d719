"""Per-provider limits (routing/limits.py): slots across threads, per-minute windows."""

from __future__ import annotations

import threading

import pytest

from convergio_llm.providers.errors import ConfigError
from convergio_llm.routing.limits import WINDOW_S, Limits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_requests_per_minute_is_a_sliding_window() -> None:
    clock = Clock()
    limits = Limits({"p": {"requests_per_minute": 2}}, clock=clock)
    limits.acquire("p", 10)
    clock.now += 20
    limits.acquire("p", 10)
    assert limits.wait_for("p", 10) == WINDOW_S - 20  # until the first call leaves the window
    clock.now += WINDOW_S - 20
    assert limits.wait_for("p", 10) == 0
    assert limits.wait_for("other", 10) == 0  # unconfigured providers are never held


def test_tokens_per_minute_counts_the_real_usage_once_known() -> None:
    clock = Clock()
    limits = Limits({"p": {"tokens_per_minute": 1000}}, clock=clock)
    ticket = limits.acquire("p", 900)  # the estimate
    assert limits.wait_for("p", 200) == WINDOW_S
    limits.settle(ticket, 100)  # the call used far less
    assert limits.wait_for("p", 200) == 0
    # A call bigger than the whole window still goes, alone.
    clock.now += WINDOW_S
    assert limits.wait_for("p", 5000) == 0


def test_max_concurrency_holds_the_next_thread_until_a_slot_frees() -> None:
    limits = Limits({"p": {"max_concurrency": 1}})
    first = limits.acquire("p", 1)
    admitted = threading.Event()

    def second() -> None:
        limits.release(limits.acquire("p", 1))
        admitted.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not admitted.wait(0.1)  # blocked while the slot is held
    assert limits.wait_for("p", 1) == float("inf")
    limits.release(first)
    thread.join(5)
    assert admitted.is_set()


@pytest.mark.parametrize("value", [0, -1, 1.5, "4", True])
def test_a_limit_must_be_a_positive_integer(value: object) -> None:
    with pytest.raises(
        ConfigError, match=r"providers\.p\.max_concurrency must be a positive integer"
    ):
        Limits({"p": {"max_concurrency": value}})
