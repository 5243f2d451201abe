"""The lock around numba's on-disk kernel cache (:mod:`cib._numbacache`): processes that compile
one kernel for different signatures at once must not leave an index that points a signature at
another's machine code."""

from __future__ import annotations

import threading
import time

import pytest

numba = pytest.importorskip("numba")
fcntl = pytest.importorskip("fcntl")

from cib import _numbacache  # noqa: E402
from cib.coaction import _kernel  # noqa: E402,F401  (installs the lock)


def test_lock_is_installed_on_numba_cache():
    from numba.core import caching

    assert _numbacache.install() is True
    assert caching.IndexDataCacheFile.save.__wrapped__ is not None


def test_save_waits_for_the_lock_and_index_matches_data(tmp_path):
    """A save started while another process holds the index's lock waits for it; what it
    writes is found again by load."""
    from numba.core import caching

    cf = caching.IndexDataCacheFile(str(tmp_path), "mod.f-1.py311", ("stamp", 1))
    index = str(tmp_path / "mod.f-1.py311.nbi")
    holder = open(index + ".lock", "a+b")
    fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
    done = threading.Event()
    t = threading.Thread(target=lambda: (cf.save(("sig", "int64"), ("code", 64)), done.set()))
    t.start()
    time.sleep(0.3)
    assert not done.is_set()  # blocked by the lock
    holder.close()
    t.join(5)
    assert done.is_set()
    cf.save(("sig", "float64"), ("code", 32))
    assert cf.load(("sig", "int64")) == ("code", 64)
    assert cf.load(("sig", "float64")) == ("code", 32)


def _race(tmp_path, save):
    """Two cache writers (as two processes would be) for one function and two signatures, each
    paused after reading the index until the other has read it too (or 0.5 s passed): numba's
    own ``save`` then gives both signatures data file ``.1``."""
    from numba.core import caching

    barrier = threading.Barrier(2, timeout=0.5)
    real_save_index = caching.IndexDataCacheFile._save_index

    def slow_save_index(self, overloads):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return real_save_index(self, overloads)

    files = [caching.IndexDataCacheFile(str(tmp_path), "mod.f-1.py311", ("stamp", 1))
             for _ in range(2)]
    caching.IndexDataCacheFile._save_index = slow_save_index
    try:
        ts = [threading.Thread(target=save, args=(f, ("sig", k), ("code", k)))
              for k, f in enumerate(files)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(10)
    finally:
        caching.IndexDataCacheFile._save_index = real_save_index
    fresh = caching.IndexDataCacheFile(str(tmp_path), "mod.f-1.py311", ("stamp", 1))
    return [fresh.load(("sig", k)) for k in range(2)]


def test_writers_at_once_keep_index_and_data_in_step(tmp_path):
    """With the lock, each signature loads its own data; numba's unlocked save, under the same
    interleaving, hands one signature the other's (the corruption the lock prevents)."""
    from numba.core import caching

    locked = caching.IndexDataCacheFile.save
    (tmp_path / "locked").mkdir()
    (tmp_path / "plain").mkdir()
    assert _race(tmp_path / "locked", locked) == [("code", 0), ("code", 1)]
    got = _race(tmp_path / "plain", locked.__wrapped__)
    assert got != [("code", 0), ("code", 1)]  # one index entry lost or pointing at wrong data


def test_a_lock_never_released_makes_a_miss_not_a_hang(tmp_path, monkeypatch):
    """A lock held past LOCK_TIMEOUT_S (a stopped process, a hung file system): the load is a
    miss, the save writes nothing, a warning says so; the lock's holder finds the cache as it
    was."""
    from numba.core import caching

    cf = caching.IndexDataCacheFile(str(tmp_path), "mod.f-1.py311", ("stamp", 1))
    cf.save(("sig", "int64"), ("code", 64))
    index = str(tmp_path / "mod.f-1.py311.nbi")
    holder = open(index + ".lock", "a+b")
    fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
    monkeypatch.setattr(_numbacache, "LOCK_TIMEOUT_S", 0.2)
    monkeypatch.setattr(_numbacache, "_warned", False)
    try:
        t0 = time.monotonic()
        with pytest.warns(RuntimeWarning, match="stayed locked"):
            assert cf.load(("sig", "int64")) is None
        cf.save(("sig", "float64"), ("code", 32))
        cf.flush()
        assert time.monotonic() - t0 < 5
    finally:
        holder.close()
    assert cf.load(("sig", "int64")) == ("code", 64)
    assert cf.load(("sig", "float64")) is None


def test_shared_locks_do_not_wait_for_each_other(tmp_path):
    index = str(tmp_path / "f.nbi")
    with _numbacache.cache_lock(index, exclusive=False, timeout=0.1) as a:
        with _numbacache.cache_lock(index, exclusive=False, timeout=0.1) as b:
            assert a and b
        with _numbacache.cache_lock(index, exclusive=True, timeout=0.1) as c:
            assert c is False
