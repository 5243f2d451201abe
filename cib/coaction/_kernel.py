"""The fast exact engine of the windowed co-action join (DESIGN §3 and §8).

Everything here works on integer codes, on arrays sorted by ``(group, time)``:

``group``
    one code per (kind, object): traces pair only inside a group;
``time``
    an integer clock (nanoseconds since the epoch in :func:`kernel_edges`; any unit works as long
    as ``window`` is in the same unit);
``account``
    non-negative account codes; comparing codes must compare account ids (``pd.factorize(...,
    sort=True)`` gives that), because edges are reported with ``u < v``.

Two traces ``i < j`` of one group are a *window pair* when ``time[j] - time[i] <= window``
(inclusive) and a *co-action* when, in addition, their accounts differ.

Functions
---------
:func:`count_pairs`
    the exact number of window pairs, with a two-pointer pass that allocates nothing.
:func:`pair_indices_fast`
    the window pairs themselves, equal to :func:`cib.coaction._join.pair_indices` (optionally
    without same-account pairs), allocating exactly as many entries as there are pairs.
:func:`aggregate_edges`
    the streaming aggregation of co-actions into undirected account edges, which never holds more
    than a budget of pairs in memory (see its notes for the chunking, very popular objects and the
    optional ``max_partners`` cap).
:func:`distinct_accounts`
    distinct accounts per group (for the popularity discount).
:func:`kernel_edges`
    TRACES -> EDGES per kind through :func:`aggregate_edges` (``median_delay_s`` left empty).

Every function runs on numba (``@njit(cache=True)``) when it is importable (``HAVE_NUMBA``) and on
a pure-numpy fallback otherwise. The fallbacks are importable under the same names with a
``_numpy`` suffix (:func:`count_pairs_numpy`, ...); they give identical results, use more memory
(they materialise a chunk's pairs as several numpy temporaries) and are several times slower.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ..params import parse_duration
from ..schema import EDGE_COLUMNS, from_epoch_ns, to_epoch_ns, validate_traces
from ._edges import _empty_edges, popularity_discount

try:  # pragma: no cover - exercised by whichever environment runs the tests
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    njit = None
    HAVE_NUMBA = False

__all__ = [
    "HAVE_NUMBA",
    "DEFAULT_BUDGET_PAIRS",
    "count_pairs",
    "pair_indices_fast",
    "aggregate_edges",
    "distinct_accounts",
    "sort_order",
    "kernel_edges",
]

#: Default number of co-action pairs held in memory at once by :func:`aggregate_edges`
#: (16 bytes each in the pair buffer, so about 800 MB, plus the chunk's partial edges).
DEFAULT_BUDGET_PAIRS = 50_000_000

#: The names of the arrays :func:`aggregate_edges` returns, in order.
EDGE_ARRAYS = ("u", "v", "weight", "n_pairs", "min_delay_ns", "first_time", "last_time", "weighted")

_INT32_MAX = np.iinfo(np.int32).max


def _jit(func: Callable) -> Callable:
    """``numba.njit(cache=True)`` when numba is importable, else the plain function (unused)."""
    if HAVE_NUMBA:
        return njit(cache=True, nogil=True)(func)
    return func  # pragma: no cover


# --------------------------------------------------------------------------------------------
# numba kernels (written so that they stay valid Python; only called when HAVE_NUMBA)
# --------------------------------------------------------------------------------------------


@_jit
def _nb_is_sorted(group, time):  # pragma: no cover - compiled
    for k in range(1, group.shape[0]):
        if group[k] < group[k - 1] or (group[k] == group[k - 1] and time[k] < time[k - 1]):
            return False
    return True


@_jit
def _nb_count_pairs(group, time, window):  # pragma: no cover - compiled
    n = group.shape[0]
    total = 0
    e = 0
    for i in range(n):
        if e < i + 1:
            e = i + 1
        g = group[i]
        t = time[i]
        while e < n and group[e] == g and time[e] - t <= window:
            e += 1
        total += e - i - 1
    return total


@_jit
def _nb_partner_counts(group, time, window, cap):  # pragma: no cover - compiled
    """Per trace, its number of window partners after it (capped at ``cap`` when ``cap >= 0``),
    and how many window pairs the cap dropped."""
    n = group.shape[0]
    c = np.empty(n, np.int64)
    dropped = 0
    e = 0
    for i in range(n):
        if e < i + 1:
            e = i + 1
        g = group[i]
        t = time[i]
        while e < n and group[e] == g and time[e] - t <= window:
            e += 1
        k = e - i - 1
        if cap >= 0 and k > cap:
            dropped += k - cap
            k = cap
        c[i] = k
    return c, dropped


@_jit
def _nb_pair_indices(group, time, window, account, use_account):  # pragma: no cover - compiled
    n = group.shape[0]
    m = 0
    if use_account:
        for i in range(n):
            g = group[i]
            t = time[i]
            a = account[i]
            j = i + 1
            while j < n and group[j] == g and time[j] - t <= window:
                if account[j] != a:
                    m += 1
                j += 1
    else:
        m = _nb_count_pairs(group, time, window)
    out_i = np.empty(m, np.int64)
    out_j = np.empty(m, np.int64)
    k = 0
    for i in range(n):
        g = group[i]
        t = time[i]
        j = i + 1
        while j < n and group[j] == g and time[j] - t <= window:
            if not use_account or account[j] != account[i]:
                out_i[k] = i
                out_j[k] = j
                k += 1
            j += 1
    return out_i, out_j


@_jit
def _nb_distinct_accounts(group, account, n_groups, n_accounts):  # pragma: no cover - compiled
    seen = np.full(n_accounts, -1, np.int64)
    out = np.zeros(n_groups, np.int64)
    for i in range(group.shape[0]):
        g = group[i]
        a = account[i]
        if seen[a] != g:
            seen[a] = g
            out[g] += 1
    return out


@_jit
def _nb_plan(group, c, budget):  # pragma: no cover - compiled
    """Cut the traces into chunks of consecutive ``i`` whose pair counts fit ``budget``.

    Whole groups are packed together; a group whose own pairs exceed the budget is split into
    parts by ranges of ``i`` (tagged with its group code; whole-group chunks are tagged -1).
    A part holds at least one trace, so a single trace with more partners than the budget makes
    a part above the budget.
    """
    n = group.shape[0]
    starts = []
    ends = []
    tags = []
    cs = 0
    cp = 0
    i = 0
    while i < n:
        g = group[i]
        gs = i
        tot = 0
        while i < n and group[i] == g:
            tot += c[i]
            i += 1
        ge = i
        if tot > budget:
            if cp > 0:
                starts.append(cs)
                ends.append(gs)
                tags.append(-1)
            s = gs
            p = 0
            for k in range(gs, ge):
                if p > 0 and p + c[k] > budget:
                    starts.append(s)
                    ends.append(k)
                    tags.append(g)
                    s = k
                    p = 0
                p += c[k]
            if p > 0:
                starts.append(s)
                ends.append(ge)
                tags.append(g)
            cs = ge
            cp = 0
        else:
            if cp > 0 and cp + tot > budget:
                starts.append(cs)
                ends.append(gs)
                tags.append(-1)
                cs = gs
                cp = 0
            if cp == 0 and tot == 0:
                cs = ge  # skip traces without partners
            else:
                cp += tot
    if cp > 0:
        starts.append(cs)
        ends.append(n)
        tags.append(-1)
    m = len(starts)
    out = np.empty((3, m), np.int64)
    for k in range(m):
        out[0, k] = starts[k]
        out[1, k] = ends[k]
        out[2, k] = tags[k]
    return out


@_jit
def _nb_chunk_hist(group, time, account, window, cap, i0, i1, hist):  # pragma: no cover
    """Count the chunk's co-actions per smaller account code ``u``; return their number."""
    n = group.shape[0]
    m = 0
    for i in range(i0, i1):
        g = group[i]
        t = time[i]
        a = account[i]
        jend = n
        if cap >= 0 and i + 1 + cap < n:
            jend = i + 1 + cap
        j = i + 1
        while j < jend and group[j] == g and time[j] - t <= window:
            b = account[j]
            if b != a:
                if a < b:
                    hist[a] += 1
                else:
                    hist[b] += 1
                m += 1
            j += 1
    return m


@_jit
def _nb_chunk_fill(group, time, account, window, cap, i0, i1, start, pbits, words, rel_i,
                   rel_d):  # pragma: no cover - compiled
    """Write each co-action into the bucket of its ``u``, in generation order:
    ``words = v << pbits | position in bucket``, ``rel_i = i - i0``, ``rel_d = j - i``."""
    n = group.shape[0]
    nxt = start.copy()
    for i in range(i0, i1):
        g = group[i]
        t = time[i]
        a = account[i]
        jend = n
        if cap >= 0 and i + 1 + cap < n:
            jend = i + 1 + cap
        j = i + 1
        while j < jend and group[j] == g and time[j] - t <= window:
            b = account[j]
            if b != a:
                if a < b:
                    u = a
                    v = b
                else:
                    u = b
                    v = a
                s = nxt[u]
                nxt[u] = s + 1
                words[s] = (v << pbits) | (s - start[u])
                rel_i[s] = i - i0
                rel_d[s] = j - i
            j += 1


@_jit
def _nb_chunk_sort(words, start, hist, pbits):  # pragma: no cover - compiled
    """Sort every bucket by (v, position); return the number of distinct (u, v)."""
    runs = 0
    for u in range(hist.shape[0]):
        h = hist[u]
        if h == 0:
            continue
        s = start[u]
        seg = words[s:s + h]
        seg.sort()
        prev = -1
        for k in range(h):
            v = seg[k] >> pbits
            if v != prev:
                runs += 1
                prev = v
    return runs


@_jit
def _nb_chunk_reduce(group, time, words, start, hist, pbits, rel_i, rel_d, i0, obj_weight,
                     n_accounts, runs):  # pragma: no cover - compiled
    """One pass over the sorted buckets: per (u, v) the partial aggregates of the chunk.

    Inside a run of equal (u, v) the pairs come in generation order, so their groups are
    non-decreasing and a change of group is a new distinct object.
    """
    key = np.empty(runs, np.int64)
    weight = np.empty(runs, np.int64)
    n_pairs = np.empty(runs, np.int64)
    min_delay = np.empty(runs, np.int64)
    first = np.empty(runs, np.int64)
    last = np.empty(runs, np.int64)
    weighted = np.empty(runs, np.float64)
    pmask = (np.int64(1) << pbits) - 1
    r = -1
    for u in range(hist.shape[0]):
        h = hist[u]
        if h == 0:
            continue
        s = start[u]
        prev_v = -1
        prev_g = -1
        for k in range(s, s + h):
            w = words[k]
            v = w >> pbits
            p = s + (w & pmask)
            i = i0 + np.int64(rel_i[p])
            j = i + np.int64(rel_d[p])
            g = group[i]
            ti = time[i]
            tj = time[j]
            d = tj - ti
            if v != prev_v:
                r += 1
                key[r] = u * n_accounts + v
                weight[r] = 1
                n_pairs[r] = 1
                min_delay[r] = d
                first[r] = ti
                last[r] = tj
                weighted[r] = obj_weight[g]
                prev_v = v
                prev_g = g
            else:
                n_pairs[r] += 1
                if d < min_delay[r]:
                    min_delay[r] = d
                if ti < first[r]:
                    first[r] = ti
                if tj > last[r]:
                    last[r] = tj
                if g != prev_g:
                    weight[r] += 1
                    weighted[r] += obj_weight[g]
                    prev_g = g
    return key, weight, n_pairs, min_delay, first, last, weighted


@_jit
def _nb_merge(ka, wa, na, da, fa, la, xa, kb, wb, nb, db, fb, lb, xb,
              same_group):  # pragma: no cover - compiled
    """Merge two key-sorted partials; ``a`` covers earlier traces than ``b``.

    Counts add up, minima and maxima combine; when both come from parts of one split group,
    ``weight``/``weighted`` take the maximum instead (the object counts once).
    """
    la_n = ka.shape[0]
    lb_n = kb.shape[0]
    m = 0
    p = 0
    q = 0
    while p < la_n and q < lb_n:
        if ka[p] == kb[q]:
            p += 1
            q += 1
        elif ka[p] < kb[q]:
            p += 1
        else:
            q += 1
        m += 1
    m += (la_n - p) + (lb_n - q)
    key = np.empty(m, np.int64)
    weight = np.empty(m, np.int64)
    n_pairs = np.empty(m, np.int64)
    min_delay = np.empty(m, np.int64)
    first = np.empty(m, np.int64)
    last = np.empty(m, np.int64)
    weighted = np.empty(m, np.float64)
    p = 0
    q = 0
    for r in range(m):
        take_a = q >= lb_n or (p < la_n and ka[p] <= kb[q])
        take_b = p >= la_n or (q < lb_n and kb[q] <= ka[p])
        if take_a and take_b:
            key[r] = ka[p]
            if same_group:
                weight[r] = max(wa[p], wb[q])
                weighted[r] = max(xa[p], xb[q])
            else:
                weight[r] = wa[p] + wb[q]
                weighted[r] = xa[p] + xb[q]
            n_pairs[r] = na[p] + nb[q]
            min_delay[r] = min(da[p], db[q])
            first[r] = min(fa[p], fb[q])
            last[r] = max(la[p], lb[q])
            p += 1
            q += 1
        elif take_a:
            key[r] = ka[p]
            weight[r] = wa[p]
            weighted[r] = xa[p]
            n_pairs[r] = na[p]
            min_delay[r] = da[p]
            first[r] = fa[p]
            last[r] = la[p]
            p += 1
        else:
            key[r] = kb[q]
            weight[r] = wb[q]
            weighted[r] = xb[q]
            n_pairs[r] = nb[q]
            min_delay[r] = db[q]
            first[r] = fb[q]
            last[r] = lb[q]
            q += 1
    return key, weight, n_pairs, min_delay, first, last, weighted


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------


def _i64(x: np.ndarray | pd.Series) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x), dtype=np.int64)


def _window(window: int | np.integer) -> int:
    w = int(window)
    if w != window or w < 0:
        raise ValueError(f"window must be a non-negative integer (same unit as time), got {window!r}")
    return w


def _cap(max_partners: int | None) -> int:
    if max_partners is None:
        return -1
    cap = int(max_partners)
    if cap != max_partners or cap < 1:
        raise ValueError(f"max_partners must be a positive integer or None, got {max_partners!r}")
    return cap


def _check_sorted(group: np.ndarray, time: np.ndarray, use_numba: bool) -> None:
    if group.shape != time.shape or group.ndim != 1:
        raise ValueError("group and time must be 1-d arrays of the same length")
    if use_numba:
        ok = bool(_nb_is_sorted(group, time))
    else:
        dg = np.diff(group)
        ok = bool(np.all((dg > 0) | ((dg == 0) & (np.diff(time) >= 0))))
    if not ok:
        raise ValueError("arrays must be sorted by (group, time); see sort_order()")


def _prepare(group, time, window, use_numba):
    g = _i64(group)
    t = _i64(time)
    _check_sorted(g, t, use_numba)
    return g, t, _window(window)


def _prepare_account(account, n: int) -> np.ndarray:
    a = _i64(account)
    if a.shape != (n,):
        raise ValueError("account must have the same length as group and time")
    if n and a.min() < 0:
        raise ValueError("account codes must be non-negative")
    return a


def sort_order(group: np.ndarray, time: np.ndarray) -> np.ndarray:
    """The stable permutation that sorts traces by ``(group, time)``.

    Examples
    --------
    >>> sort_order(np.array([1, 0, 1, 0]), np.array([5, 9, 2, 1])).tolist()
    [3, 1, 2, 0]
    """
    return np.lexsort((_i64(time), _i64(group)))


# --------------------------------------------------------------------------------------------
# pure-numpy fallbacks
# --------------------------------------------------------------------------------------------


def _ends_numpy(group: np.ndarray, time: np.ndarray, window: int) -> np.ndarray:
    """Per trace ``i``, the first index after its window partners (arrays sorted)."""
    n = group.shape[0]
    if n == 0:
        return np.empty(0, np.int64)
    utimes = np.unique(time)
    grank = np.concatenate(([0], np.cumsum(group[1:] != group[:-1])))
    width = np.int64(utimes.shape[0])
    key = grank * width + np.searchsorted(utimes, time)
    hi = np.searchsorted(utimes, time + window, side="right") - 1
    return np.searchsorted(key, grank * width + hi, side="right").astype(np.int64)


def _partner_counts_numpy(group, time, window, cap):
    c = _ends_numpy(group, time, window) - np.arange(group.shape[0], dtype=np.int64) - 1
    dropped = 0
    if cap >= 0:
        dropped = int(np.maximum(c - cap, 0).sum())
        c = np.minimum(c, cap)
    return c, dropped


def _pairs_from_counts(c: np.ndarray, i0: int = 0) -> tuple[np.ndarray, np.ndarray]:
    total = int(c.sum())
    i = np.repeat(np.arange(i0, i0 + c.shape[0], dtype=np.int64), c)
    offs = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(c) - c, c)
    return i, i + 1 + offs


def count_pairs_numpy(group: np.ndarray, time: np.ndarray, window: int) -> int:
    """:func:`count_pairs` in pure numpy (O(n) memory, no pair is allocated)."""
    g, t, w = _prepare(group, time, window, False)
    c, _ = _partner_counts_numpy(g, t, w, -1)
    return int(c.sum())


def pair_indices_numpy(group: np.ndarray, time: np.ndarray, window: int,
                       account: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pair_indices_fast` in pure numpy (allocates all window pairs before dropping
    same-account ones)."""
    g, t, w = _prepare(group, time, window, False)
    c, _ = _partner_counts_numpy(g, t, w, -1)
    i, j = _pairs_from_counts(c)
    if account is not None:
        a = _prepare_account(account, g.shape[0])
        keep = a[i] != a[j]
        i, j = i[keep], j[keep]
    return i, j


def distinct_accounts_numpy(group: np.ndarray, account: np.ndarray,
                            n_groups: int | None = None) -> np.ndarray:
    """:func:`distinct_accounts` in pure numpy."""
    g = _i64(group)
    a = _prepare_account(account, g.shape[0])
    size = (int(g.max()) + 1 if g.size else 0) if n_groups is None else int(n_groups)
    if g.size == 0:
        return np.zeros(size, np.int64)
    width = np.int64(a.max()) + 1
    pairs = np.unique(g * width + a)
    return np.bincount(pairs // width, minlength=size).astype(np.int64)


def _plan_numpy(group: np.ndarray, c: np.ndarray, budget: int) -> np.ndarray:
    n = group.shape[0]
    if n == 0:
        return np.empty((3, 0), np.int64)
    gstart = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    gend = np.append(gstart[1:], n)
    totals = np.add.reduceat(c, gstart)
    out: list[tuple[int, int, int]] = []
    cs, cp = 0, 0
    for gs, ge, tot in zip(gstart.tolist(), gend.tolist(), totals.tolist()):
        if tot > budget:
            if cp > 0:
                out.append((cs, gs, -1))
            cum = np.cumsum(c[gs:ge])
            s, base = gs, 0
            while s < ge:
                # the longest part starting at s within budget (at least one trace)
                k = int(np.searchsorted(cum, base + budget, side="right")) + gs
                k = max(k, s + 1)
                out.append((s, k, int(group[gs])))
                base = int(cum[k - gs - 1])
                s = k
            cs, cp = ge, 0
        else:
            if cp > 0 and cp + tot > budget:
                out.append((cs, gs, -1))
                cs, cp = gs, 0
            if cp == 0 and tot == 0:
                cs = ge
            else:
                cp += tot
    if cp > 0:
        out.append((cs, n, -1))
    return np.array(out, dtype=np.int64).reshape(-1, 3).T.copy()


# --------------------------------------------------------------------------------------------
# the streaming aggregation
# --------------------------------------------------------------------------------------------


@dataclass
class _Partial:
    """Per (u, v) partial aggregates, sorted by ``key = u * n_accounts + v``."""

    key: np.ndarray
    weight: np.ndarray
    n_pairs: np.ndarray
    min_delay: np.ndarray
    first: np.ndarray
    last: np.ndarray
    weighted: np.ndarray

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (self.key, self.weight, self.n_pairs, self.min_delay, self.first, self.last,
                self.weighted)

    @classmethod
    def empty(cls) -> _Partial:
        e = np.empty(0, np.int64)
        return cls(e, e, e, e, e, e, np.empty(0, np.float64))

    def __len__(self) -> int:
        return int(self.key.shape[0])


def _reduce_chunk_numba(group, time, account, window, cap, c, i0, i1, obj_weight, n_accounts):
    hist = np.zeros(n_accounts, np.int64)
    m = _nb_chunk_hist(group, time, account, window, cap, i0, i1, hist)
    if m == 0:
        return _Partial.empty()
    start = np.zeros(n_accounts, np.int64)
    np.cumsum(hist[:-1], out=start[1:])
    pbits = max(1, int(hist.max() - 1).bit_length())
    if pbits + max(1, int(n_accounts - 1).bit_length()) > 63:
        raise ValueError("too many pairs for one account in one chunk; lower budget_pairs")
    idx = np.int32 if group.shape[0] <= _INT32_MAX else np.int64
    words = np.empty(m, np.int64)
    rel_i = np.empty(m, idx)
    rel_d = np.empty(m, idx)
    _nb_chunk_fill(group, time, account, window, cap, i0, i1, start, pbits, words, rel_i, rel_d)
    runs = _nb_chunk_sort(words, start, hist, pbits)
    out = _nb_chunk_reduce(group, time, words, start, hist, pbits, rel_i, rel_d, i0, obj_weight,
                           n_accounts, runs)
    return _Partial(*out)


def _reduce_chunk_numpy(group, time, account, window, cap, c, i0, i1, obj_weight, n_accounts):
    i, j = _pairs_from_counts(c[i0:i1], i0)
    a, b = account[i], account[j]
    keep = a != b
    if not keep.any():
        return _Partial.empty()
    i, j, a, b = i[keep], j[keep], a[keep], b[keep]
    key = np.minimum(a, b) * np.int64(n_accounts) + np.maximum(a, b)
    order = np.argsort(key, kind="stable")  # keeps generation order inside a key
    key, i, j = key[order], i[order], j[order]
    g = group[i]
    ti = time[i]
    tj = time[j]
    newkey = np.concatenate(([True], key[1:] != key[:-1]))
    newobj = newkey | np.concatenate(([True], g[1:] != g[:-1]))
    starts = np.flatnonzero(newkey)
    return _Partial(
        key=key[starts],
        weight=np.add.reduceat(newobj.astype(np.int64), starts),
        n_pairs=np.diff(np.append(starts, key.shape[0])).astype(np.int64),
        min_delay=np.minimum.reduceat(tj - ti, starts),
        first=np.minimum.reduceat(ti, starts),
        last=np.maximum.reduceat(tj, starts),
        weighted=np.add.reduceat(np.where(newobj, obj_weight[g], 0.0), starts),
    )


def _merge_numba(a: _Partial, b: _Partial, same_group: bool) -> _Partial:
    return _Partial(*_nb_merge(*a.arrays(), *b.arrays(), same_group))


def _merge_numpy(a: _Partial, b: _Partial, same_group: bool) -> _Partial:
    cat = [np.concatenate((x, y)) for x, y in zip(a.arrays(), b.arrays())]
    order = np.argsort(cat[0], kind="stable")
    key, weight, n_pairs, min_delay, first, last, weighted = (x[order] for x in cat)
    if key.shape[0] == 0:
        return _Partial.empty()
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    combine = np.maximum if same_group else np.add
    return _Partial(key[starts], combine.reduceat(weight, starts), np.add.reduceat(n_pairs, starts),
                    np.minimum.reduceat(min_delay, starts), np.minimum.reduceat(first, starts),
                    np.maximum.reduceat(last, starts), combine.reduceat(weighted, starts))


@dataclass(frozen=True)
class _Impl:
    use_numba: bool
    partner_counts: Callable
    plan: Callable
    reduce_chunk: Callable
    merge: Callable


def _impl(use_numba: bool) -> _Impl:
    if use_numba:
        return _Impl(True, _nb_partner_counts, _nb_plan, _reduce_chunk_numba, _merge_numba)
    return _Impl(False, _partner_counts_numpy, _plan_numpy, _reduce_chunk_numpy, _merge_numpy)


def _push(stack: list[_Partial], part: _Partial, same_group: bool, merge: Callable) -> None:
    """Append a partial and merge neighbours of similar size (a binary-counter merge, so every
    edge is merged O(log chunks) times). Neighbours stay in trace order."""
    stack.append(part)
    while len(stack) >= 2 and len(stack[-2]) <= 2 * len(stack[-1]):
        b = stack.pop()
        a = stack.pop()
        stack.append(merge(a, b, same_group))


def _collapse(stack: list[_Partial], same_group: bool, merge: Callable) -> _Partial:
    if not stack:
        return _Partial.empty()
    while len(stack) >= 2:
        b = stack.pop()
        a = stack.pop()
        stack.append(merge(a, b, same_group))
    return stack.pop()


def _aggregate(group, time, account, window, obj_weight, budget_pairs, max_partners,
               use_numba) -> dict[str, np.ndarray | int]:
    impl = _impl(use_numba)
    g, t, w = _prepare(group, time, window, use_numba)
    n = g.shape[0]
    a = _prepare_account(account, n)
    cap = _cap(max_partners)
    n_groups = int(g.max()) + 1 if n else 0
    if n and g.min() < 0:
        raise ValueError("group codes must be non-negative")
    if obj_weight is None:
        ow = np.ones(n_groups, np.float64)
    else:
        ow = np.ascontiguousarray(np.asarray(obj_weight), dtype=np.float64)
        if ow.ndim != 1 or ow.shape[0] < n_groups:
            raise ValueError("obj_weight needs one value per group code (length > group.max())")
    budget = DEFAULT_BUDGET_PAIRS if budget_pairs is None else int(budget_pairs)
    if budget < 1:
        raise ValueError(f"budget_pairs must be positive, got {budget_pairs!r}")
    n_accounts = int(a.max()) + 1 if n else 0
    # a bucket position needs pbits and an account code vbits of one int64 word
    vbits = max(1, (n_accounts - 1).bit_length())
    budget = min(budget, (1 << (63 - vbits)) - 1)

    c, dropped = impl.partner_counts(g, t, w, cap)
    plan = impl.plan(g, c, budget)
    stack: list[_Partial] = []
    split: list[_Partial] = []
    split_tag = -1
    for i0, i1, tag in zip(*(x.tolist() for x in plan)):
        part = impl.reduce_chunk(g, t, a, w, cap, c, i0, i1, ow, n_accounts)
        if tag != split_tag and split:
            _push(stack, _collapse(split, True, impl.merge), False, impl.merge)
        split_tag = tag
        if tag >= 0:
            _push(split, part, True, impl.merge)
        else:
            _push(stack, part, False, impl.merge)
    if split:
        _push(stack, _collapse(split, True, impl.merge), False, impl.merge)
    res = _collapse(stack, False, impl.merge)
    width = np.int64(max(n_accounts, 1))
    return {
        "u": res.key // width,
        "v": res.key % width,
        "weight": res.weight,
        "n_pairs": res.n_pairs,
        "min_delay_ns": res.min_delay,
        "first_time": res.first,
        "last_time": res.last,
        "weighted": res.weighted,
        "dropped_pairs": int(dropped),
        "n_chunks": int(plan.shape[1]),
    }


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def count_pairs(group: np.ndarray, time: np.ndarray, window: int) -> int:
    """The exact number of window pairs: index pairs ``i < j`` with ``group[i] == group[j]`` and
    ``time[j] - time[i] <= window``, same-account pairs included (as in ``pair_indices``).

    One two-pointer pass; nothing proportional to the pairs is allocated, so this is the check
    to run against a memory budget before any pair is materialised.

    Parameters
    ----------
    group, time : array of int
        Sorted by ``(group, time)``.
    window : int
        Inclusive, in the unit of ``time`` (>= 0).

    Returns
    -------
    int
        The pair count (exact; it fits int64).

    Examples
    --------
    >>> g = np.array([0, 0, 0, 1, 1]); t = np.array([100, 160, 161, 5, 5])
    >>> count_pairs(g, t, 60)
    3
    """
    if not HAVE_NUMBA:  # pragma: no cover
        return count_pairs_numpy(group, time, window)
    g, t, w = _prepare(group, time, window, True)
    return int(_nb_count_pairs(g, t, w))


def pair_indices_fast(group: np.ndarray, time: np.ndarray, window: int,
                      account: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All window pairs ``(i, j)``, ``i < j``, sorted by ``(i, j)``: the output of
    :func:`cib.coaction._join.pair_indices`, allocating exactly one entry per pair.

    Parameters
    ----------
    group, time : array of int
        Sorted by ``(group, time)``.
    window : int
        Inclusive, in the unit of ``time``.
    account : array of int, optional
        When given, pairs of equal accounts are left out (the arrays then hold exactly the
        co-actions; a counting pass over the pairs sizes them).

    Returns
    -------
    i, j : ndarray of int64

    Examples
    --------
    >>> g = np.array([0, 0, 0, 1, 1]); t = np.array([100, 160, 161, 5, 5])
    >>> i, j = pair_indices_fast(g, t, 60)
    >>> list(zip(i.tolist(), j.tolist()))
    [(0, 1), (1, 2), (3, 4)]
    >>> i, j = pair_indices_fast(g, t, 60, account=np.array([0, 1, 2, 7, 7]))
    >>> list(zip(i.tolist(), j.tolist()))
    [(0, 1), (1, 2)]
    """
    if not HAVE_NUMBA:  # pragma: no cover
        return pair_indices_numpy(group, time, window, account)
    g, t, w = _prepare(group, time, window, True)
    if account is None:
        return _nb_pair_indices(g, t, w, np.empty(0, np.int64), False)
    a = _prepare_account(account, g.shape[0])
    return _nb_pair_indices(g, t, w, a, True)


def distinct_accounts(group: np.ndarray, account: np.ndarray,
                      n_groups: int | None = None) -> np.ndarray:
    """Distinct accounts per group code (``n_o`` of the popularity discount).

    Parameters
    ----------
    group : array of int
        Group codes with each group's rows contiguous (sorted by group, for instance).
    account : array of int
        Non-negative account codes.
    n_groups : int, optional
        Length of the result (default ``group.max() + 1``).

    Returns
    -------
    ndarray of int64
        ``out[g]`` = distinct accounts in group ``g`` (0 for absent codes).

    Examples
    --------
    >>> distinct_accounts(np.array([0, 0, 0, 2]), np.array([5, 5, 1, 5])).tolist()
    [2, 0, 1]
    """
    g = _i64(group)
    if not HAVE_NUMBA:  # pragma: no cover
        return distinct_accounts_numpy(g, account, n_groups)
    a = _prepare_account(account, g.shape[0])
    if g.size and np.any(g[1:] < g[:-1]):
        return distinct_accounts_numpy(g, a, n_groups)
    size = (int(g.max()) + 1 if g.size else 0) if n_groups is None else int(n_groups)
    n_acc = int(a.max()) + 1 if a.size else 0
    return _nb_distinct_accounts(g, a, size, n_acc)


def aggregate_edges(group: np.ndarray, time: np.ndarray, account: np.ndarray, window: int,
                    obj_weight: np.ndarray | None, budget_pairs: int | None = None,
                    max_partners: int | None = None) -> dict[str, np.ndarray | int]:
    """Aggregate the co-actions of sorted traces into undirected account edges, streaming.

    Parameters
    ----------
    group, time, account : array of int
        Traces sorted by ``(group, time)``; ``account`` codes are non-negative and ordered like
        the account ids.
    window : int
        Inclusive, in the unit of ``time``.
    obj_weight : array of float or None
        Per group code, what one distinct object adds to ``weighted`` (normally
        ``popularity_discount(distinct_accounts(group, account))``); None counts 1.
    budget_pairs : int, optional
        Most co-action pairs held in memory at once (default :data:`DEFAULT_BUDGET_PAIRS`).
    max_partners : int, optional
        Off by default. When set to ``L``, each trace is paired only with the next ``L`` traces
        of its group (same-account ones included in the ``L``) that are within the window.

    Returns
    -------
    dict
        Arrays sorted by ``(u, v)``, one entry per account pair with at least one co-action:
        ``u`` < ``v`` (account codes), ``weight`` (distinct groups), ``n_pairs`` (co-action
        pairs), ``min_delay_ns`` (smallest ``time[j] - time[i]``), ``first_time`` (smallest time
        of the earlier trace), ``last_time`` (largest time of the later trace), ``weighted`` (sum
        of ``obj_weight`` over the distinct groups); and two ints: ``dropped_pairs`` (window pairs,
        same-account ones included, that ``max_partners`` left out; 0 without a cap) and
        ``n_chunks``.

    Notes
    -----
    *Exactness.* With ``max_partners=None`` the result equals :func:`edges_per_kind` over the
    same traces (run it per kind: a group code is one (kind, object)), except that
    ``median_delay_s`` is not computed. A median does not combine across chunks; it is
    computed later, from the pairs of the few edges that matter.

    *Memory.* A counting pass gives each trace's partner count. Traces are then cut into chunks
    of consecutive whole groups whose pair counts fit ``budget_pairs``. The pairs of a chunk
    are bucketed by ``u`` (a counting sort, 16 bytes per pair), sorted by ``v`` inside each
    bucket, and reduced to per-(u, v) partials. Partials of neighbouring chunks are merged
    (sums, minima, maxima) in a binary-counter order. Memory is therefore the pair buffer of
    one chunk plus the partial edges, which are at most the output.

    *Very popular objects.* An object whose own pair count exceeds the budget is not allocated
    at once: its pairs are split by ranges of ``i`` (the earlier trace) into parts that fit the
    budget. The parts of one object merge with ``max`` for ``weight``/``weighted``, so the
    object still counts once per account pair. A part holds at least one trace, so a trace with
    more partners than the budget (a burst larger than the budget) makes a part of that size.
    The output itself grows like the distinct account pairs: a burst of ``k`` distinct accounts
    gives up to ``k (k - 1) / 2`` edges. For those, ``max_partners`` (DESIGN §8, ``L ~ 50``)
    bounds the work and the edges at ``L`` per trace, and ``dropped_pairs`` says how much it
    cut; report it. Callers that only want the cap on very popular objects can run those
    groups separately.

    Examples
    --------
    >>> g = np.array([0, 0, 0, 1, 1]); t = np.array([0, 5, 9, 100, 130])
    >>> a = np.array([0, 1, 1, 0, 1])
    >>> e = aggregate_edges(g, t, a, 60, obj_weight=np.array([1.0, 0.5]))
    >>> {k: e[k].tolist() for k in ("u", "v", "weight", "n_pairs", "min_delay_ns", "weighted")}
    {'u': [0], 'v': [1], 'weight': [2], 'n_pairs': [3], 'min_delay_ns': [5], 'weighted': [1.5]}
    """
    return _aggregate(group, time, account, window, obj_weight, budget_pairs, max_partners,
                      HAVE_NUMBA)


def aggregate_edges_numpy(group: np.ndarray, time: np.ndarray, account: np.ndarray, window: int,
                          obj_weight: np.ndarray | None, budget_pairs: int | None = None,
                          max_partners: int | None = None) -> dict[str, np.ndarray | int]:
    """:func:`aggregate_edges` in pure numpy (same chunking and results)."""
    return _aggregate(group, time, account, window, obj_weight, budget_pairs, max_partners, False)


def kernel_edges(traces: pd.DataFrame, window: float | str = 60, *,
                 budget_pairs: int | None = None, max_partners: int | None = None,
                 use_numba: bool | None = None) -> pd.DataFrame:
    """TRACES -> EDGES per kind through :func:`aggregate_edges`.

    Same rows and values as ``edges_per_kind(coactions(traces, window), traces)`` (up to float
    rounding of ``weighted``), without materialising the co-actions. ``median_delay_s`` is NaN:
    medians are computed later, for the edges that matter.

    Parameters
    ----------
    traces : DataFrame
        TRACES.
    window : float or str, default 60
        Seconds, or a duration such as ``"90s"``.
    budget_pairs, max_partners
        See :func:`aggregate_edges`.
    use_numba : bool, optional
        Force (True) or avoid (False) numba; default: numba when importable.

    Returns
    -------
    DataFrame
        EDGES; ``attrs["dropped_pairs"]`` holds the window pairs ``max_partners`` left out.

    Examples
    --------
    >>> t = pd.to_datetime([0, 5, 100, 130, 400], unit="s", utc=True)
    >>> tr = pd.DataFrame({"account_id": ["a", "b", "a", "b", "b"], "timestamp": t,
    ...     "kind": "repost", "object_id": ["p", "p", "q", "q", "q"], "action_id": list("12345")})
    >>> e = kernel_edges(tr, 60)
    >>> e[["account_u", "account_v", "weight", "n_pairs", "min_delay_s", "weighted"]].to_dict("records")
    [{'account_u': 'a', 'account_v': 'b', 'weight': 2, 'n_pairs': 2, 'min_delay_s': 5.0, 'weighted': 2.0}]
    """
    validate_traces(traces)
    w = parse_duration(window, "window", "kernel_edges")
    window_ns = int(round(w * 1e9))
    numba_on = HAVE_NUMBA if use_numba is None else bool(use_numba)
    if numba_on and not HAVE_NUMBA:
        raise ValueError("use_numba=True but numba is not importable")
    if traces.empty:
        out = _empty_edges()
        out.attrs["dropped_pairs"] = 0
        return out
    kind_codes, kinds = pd.factorize(traces["kind"], sort=True)
    obj_codes, objects = pd.factorize(traces["object_id"], sort=True)
    acc_codes, accounts = pd.factorize(traces["account_id"], sort=True)
    gkey = kind_codes.astype(np.int64) * (len(objects) + 1) + obj_codes
    group, _ = pd.factorize(gkey, sort=True)  # groups of one kind are contiguous codes
    time = to_epoch_ns(traces["timestamp"])
    order = sort_order(group, time)
    g = group[order].astype(np.int64)
    t = time[order]
    a = acc_codes[order].astype(np.int64)
    k = kind_codes[order].astype(np.int64)
    n_groups = int(g.max()) + 1
    if numba_on:
        n_obj = distinct_accounts(g, a, n_groups)
    else:
        n_obj = distinct_accounts_numpy(g, a, n_groups)
    ow = popularity_discount(np.maximum(n_obj, 2))
    bounds = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1], [True])))
    frames = []
    dropped = 0
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        res = _aggregate(g[lo:hi], t[lo:hi], a[lo:hi], window_ns, ow, budget_pairs, max_partners,
                         numba_on)
        dropped += res["dropped_pairs"]
        if res["u"].size == 0:
            continue
        frames.append(pd.DataFrame({
            "kind": np.full(res["u"].shape[0], kinds[k[lo]], dtype=object),
            "account_u": np.asarray(accounts, dtype=object)[res["u"]],
            "account_v": np.asarray(accounts, dtype=object)[res["v"]],
            "weight": res["weight"],
            "n_pairs": res["n_pairs"],
            "min_delay_s": res["min_delay_ns"] / 1e9,
            "median_delay_s": np.nan,
            "first_time": from_epoch_ns(res["first_time"]),
            "last_time": from_epoch_ns(res["last_time"]),
            "weighted": res["weighted"],
        }))
    out = pd.concat(frames, ignore_index=True)[EDGE_COLUMNS] if frames else _empty_edges()
    out.attrs["dropped_pairs"] = int(dropped)
    return out

