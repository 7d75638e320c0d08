"""`eventually`: a bounded wait for eventually consistent stores — polling, not fixed sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    check: Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    max_interval: float = 0.5,
) -> T:
    """Call `check` until it passes (no AssertionError); re-raise the last failure after `timeout`.

    `check` should read from the store and assert. Intervals double up to `max_interval`, so a fast
    store costs a few milliseconds and a slow one at most `timeout` seconds. Other exceptions
    propagate at once: an error is not a "not yet".
    """
    deadline = time.monotonic() + timeout
    attempts = 0
    while True:
        attempts += 1
        try:
            return check()
        except AssertionError as exc:
            if time.monotonic() >= deadline:
                exc.add_note(f"still failing after {attempts} attempts over {timeout:g} s")
                raise
        time.sleep(interval)
        interval = min(interval * 2, max_interval)
