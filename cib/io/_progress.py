"""A progress bar for reading input files, on stderr.

:func:`cib.io.read_actions` shows how many bytes of its input files (as stored: compressed
bytes for a compressed file) it has read and how many rows, when stderr is a terminal. It uses
tqdm when it is installed, else a plain one-line display. :func:`progress_default` sets what
``progress=None`` means for the code inside it (the CLI's ``--quiet`` turns the bar off for
commands that read through other functions, such as ``cib inspect``).
"""

from __future__ import annotations

import contextvars
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["Progress", "progress_default", "resolve"]

_DEFAULT: contextvars.ContextVar[bool | None] = contextvars.ContextVar("cib_progress", default=None)
#: Seconds between two redraws.
_INTERVAL = 0.5


@contextmanager
def progress_default(enabled: bool | None) -> Iterator[None]:
    """Within the block, ``read_actions(progress=None)`` means ``enabled`` (None: show the bar
    when stderr is a terminal).

    Examples
    --------
    >>> with progress_default(False):
    ...     resolve(None)
    False
    """
    token = _DEFAULT.set(enabled)
    try:
        yield
    finally:
        _DEFAULT.reset(token)


def resolve(progress: bool | None, stream: TextIO | None = None) -> bool:
    """Whether to show the bar: ``progress`` when it is True or False, else the default set by
    :func:`progress_default`, else whether ``stream`` (stderr) is a terminal."""
    if progress is None:
        progress = _DEFAULT.get()
    if progress is None:
        stream = sys.stderr if stream is None else stream
        try:
            return bool(stream.isatty())
        except (AttributeError, ValueError):  # closed or not a real stream
            return False
    return bool(progress)


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


class _Plain:
    """A one-line display for when tqdm is not installed."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.done = 0
        self.text = "reading"
        self.postfix = ""
        self._last = 0.0
        self._width = 0

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < _INTERVAL:
            return
        self._last = now
        share = f"{100 * self.done / self.total:3.0f}% " if self.total else ""
        line = f"{self.text}: {share}{_mib(self.done)} of {_mib(self.total)}"
        if self.postfix:
            line += f", {self.postfix}"
        pad = max(self._width - len(line), 0)
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r" + " " * self._width + "\r")
        self.stream.flush()


class Progress:
    """Bytes read of the input files (all of them) and rows so far.

    Parameters
    ----------
    total : int
        The size of the input files as stored, in bytes.
    enabled : bool
        Draw anything at all (see :func:`resolve`).
    stream : file, optional
        Where to draw (default: ``sys.stderr`` at the time of the call).
    """

    def __init__(self, total: int, enabled: bool, stream: TextIO | None = None) -> None:
        self.total = max(int(total), 0)
        self.enabled = enabled
        self.rows = 0
        self._base = 0  # bytes of the files before the current one
        self._bar: Any = None
        if not enabled:
            return
        stream = sys.stderr if stream is None else stream
        try:
            from tqdm import tqdm
        except ImportError:
            self._bar = _Plain(self.total, stream)
        else:
            self._bar = tqdm(total=self.total, unit="B", unit_scale=True, unit_divisor=1024,
                             desc="reading", file=stream, leave=False, dynamic_ncols=True,
                             mininterval=_INTERVAL, smoothing=0.1)

    def start_file(self, display: str, offset: int) -> None:
        """The next file starts ``offset`` bytes into the total."""
        self._base = offset
        if self._bar is not None:
            self._set(offset, f"reading {os.path.basename(display)}")

    def update(self, position: int, rows: int) -> None:
        """``position`` bytes of the current file read; ``rows`` more rows."""
        self.rows += rows
        if self._bar is not None:
            self._set(self._base + position, None)

    def restart_file(self, rows: int) -> None:
        """The current file is read again from its start: forget its ``rows`` so far."""
        self.rows -= rows
        if self._bar is not None:
            self._set(self._base, None)

    def phase(self, text: str) -> None:
        """Name what happens now (after the files are read: "sorting")."""
        if self._bar is not None:
            self._set(self.total, text)

    def _set(self, done: int, text: str | None) -> None:
        done = min(max(done, 0), self.total) if self.total else max(done, 0)
        bar = self._bar
        postfix = f"{self.rows:,} rows"
        if isinstance(bar, _Plain):
            bar.done = done
            bar.postfix = postfix
            if text is not None:
                bar.text = text
            bar.draw(force=text is not None)
            return
        if text is not None:
            bar.set_description_str(text, refresh=False)
        bar.set_postfix_str(postfix, refresh=False)
        bar.update(done - bar.n)
        if text is not None:  # a new file or phase: show it now
            bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
