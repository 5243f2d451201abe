"""Stage timings for the manifest (``timings_s``)."""

from __future__ import annotations

import time
from typing import Callable

__all__ = ["stopwatch"]


def stopwatch() -> tuple[dict[str, float], Callable[[str], None]]:
    """A dict of stage timings and the function that records the time since the last call
    under a stage name.

    Examples
    --------
    >>> timings, lap = stopwatch()
    >>> lap("read")
    >>> list(timings)
    ['read']
    """
    timings: dict[str, float] = {}
    last = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = round(now - last[0], 4)
        last[0] = now

    return timings, lap
