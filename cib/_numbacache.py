"""A file lock around numba's on-disk cache of compiled kernels.

cib compiles its kernels with ``cache=True`` (about 30 s of compilation saved per process). numba
keeps, per function, an index (signature -> data file) and numbered data files, and picks the
number of a new signature from the index it has just read. Two processes compiling one function
for two signatures at once (the two workers of ``pytest -n 2``, the workers of a Dask
``LocalCluster``, two ``cib`` runs side by side) can both pick ``.1.nbc``: the index then says
one signature and the file holds the other's machine code, which every later process loads and
runs for the wrong types or constants, silently. (Seen here: ``aggregate_edges`` giving
different pairs on each call after such a race.)

:func:`install` wraps the cache's ``save`` (read the index, pick a name, write the index and
the data) in an exclusive ``flock`` on ``<index>.lock`` and its ``load`` in a shared one, so
that the index and the data files always agree. Where ``fcntl`` is missing (Windows) or the
lock file cannot be opened, numba's own behaviour is kept.

The wait is bounded (:data:`LOCK_TIMEOUT_S`): a cache is a saving, never a reason to stop. A lock
not had in time (a process stopped while holding it, a file system whose locks hang) makes the
load a miss (the kernel is compiled in this process) and the save a no-op (nothing is written
beside the index unlocked), with one warning per process.
"""

from __future__ import annotations

import contextlib
import functools
import time
import warnings
from typing import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["install", "cache_lock", "LOCK_TIMEOUT_S"]

#: Longest wait for the cache's lock, in seconds (a save or a load holds it for milliseconds).
LOCK_TIMEOUT_S = 60.0

_installed = False
_warned = False


def _gave_up(index_path: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(f"numba's kernel cache {index_path!r} stayed locked for {LOCK_TIMEOUT_S:g} s; "
                      "this process compiles its kernels without the cache", RuntimeWarning,
                      stacklevel=4)


@contextlib.contextmanager
def cache_lock(index_path: str, exclusive: bool,
               timeout: float | None = None) -> Iterator[bool]:
    """Hold a ``flock`` (exclusive or shared) on ``index_path + ".lock"``; yields True when
    held or when there is nothing to lock (no ``fcntl``, a lock file that cannot be opened such
    as in a read-only cache directory), False when the lock was not had within ``timeout``
    seconds (default :data:`LOCK_TIMEOUT_S`).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with cache_lock(os.path.join(d, "f.nbi"), exclusive=True) as held:
    ...     held
    True
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield True
        return
    try:
        fh = open(index_path + ".lock", "a+b")
    except OSError:
        yield True
        return
    try:
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline = time.monotonic() + (LOCK_TIMEOUT_S if timeout is None else timeout)
        pause = 0.001
        while True:
            try:
                fcntl.flock(fh.fileno(), mode)
                held = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    held = False
                    break
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        yield held
    finally:
        fh.close()  # releases the lock


def install() -> bool:
    """Put the lock around numba's cache (once per process); True when it is in place.

    Examples
    --------
    >>> from cib._numbacache import install
    >>> install() in (True, False)
    True
    """
    global _installed
    if _installed or fcntl is None:
        return _installed
    try:
        from numba.core import caching

        cls = caching.IndexDataCacheFile
        save, load, flush = cls.save, cls.load, cls.flush
    except (ImportError, AttributeError):  # pragma: no cover - no numba, or another layout
        return False

    def locked(method, exclusive: bool):
        @functools.wraps(method)
        def run(self, *args):
            with cache_lock(self._index_path, exclusive=exclusive) as held:
                if held:
                    return method(self, *args)
                _gave_up(self._index_path)
                return None  # a load's miss (the caller compiles), a save or flush not done
        return run

    cls.save, cls.load, cls.flush = locked(save, True), locked(load, False), locked(flush, True)
    _installed = True
    return True
