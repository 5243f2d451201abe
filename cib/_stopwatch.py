"""Stage timings for the manifest (``timings_s``), each also logged as it ends.

Every stage of :func:`cib.detect` is logged at INFO level on the ``cib.stages`` logger when it
ends (its name, its seconds, the time of day), so that a long run can be followed: ``cib -v
detect`` prints these lines on stderr; from Python, ``logging.basicConfig()`` and
``logging.getLogger("cib").setLevel("INFO")`` show them.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

__all__ = ["STAGE_LOGGER", "stopwatch"]

#: The logger of the stage lines.
STAGE_LOGGER = "cib.stages"
_log = logging.getLogger(STAGE_LOGGER)


def stopwatch() -> tuple[dict[str, float], Callable[[str], None]]:
    """A dict of stage timings and the function that records the time since the last call
    under a stage name (and logs it on ``cib.stages`` at INFO level).

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
        _log.info("%s done in %.1f s", name, timings[name])

    return timings, lap
