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
"""

from __future__ import annotations

import contextlib
import functools
from typing import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["install", "cache_lock"]

_installed = False


@contextlib.contextmanager
def cache_lock(index_path: str, exclusive: bool) -> Iterator[None]:
    """Hold a ``flock`` (exclusive or shared) on ``index_path + ".lock"`` (nothing when it
    cannot be opened, e.g. a read-only cache directory)."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    try:
        fh = open(index_path + ".lock", "a+b")
    except OSError:
        yield
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
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

    @functools.wraps(save)
    def locked_save(self, key, data):
        with cache_lock(self._index_path, exclusive=True):
            return save(self, key, data)

    @functools.wraps(load)
    def locked_load(self, key):
        with cache_lock(self._index_path, exclusive=False):
            return load(self, key)

    @functools.wraps(flush)
    def locked_flush(self):
        with cache_lock(self._index_path, exclusive=True):
            return flush(self)

    cls.save, cls.load, cls.flush = locked_save, locked_load, locked_flush
    _installed = True
    return True
