"""The fast exact engine of the windowed co-action join (DESIGN §3 and §8).

Everything here works on integer codes, on arrays sorted by ``(group, time)``:

``group``
    one non-negative code per (kind, object): traces pair only inside a group;
``time``
    an integer clock (nanoseconds since the epoch in :func:`kernel_edges`; any unit works as long
    as ``window`` is in the same unit);
``account``
    non-negative account codes whose order is the order of the account ids
    (``pd.factorize(..., sort=True)`` gives that), because edges are reported with ``u < v``.

Two traces ``i < j`` of one group are a *window pair* when ``time[j] - time[i] <= window``
(inclusive) and a *co-action* when, in addition, their accounts differ.

Functions
---------
:func:`count_pairs`
    the exact number of window pairs, with a two-pointer pass that allocates nothing.
:func:`pair_indices_fast`
    the window pairs themselves, equal to :func:`cib.coaction._join.pair_indices` (optionally
    without same-account pairs), allocating exactly one entry per pair.
:func:`count_edges`
    the exact number of account edges :func:`aggregate_edges` will return, without allocating them.
:func:`aggregate_edges`
    co-actions aggregated into undirected account edges without ever materialising the pairs.
:func:`distinct_accounts`, :func:`sort_order`
    helpers: distinct accounts per group (for the popularity discount), the sort permutation.
:func:`kernel_edges`
    TRACES -> EDGES per kind through :func:`aggregate_edges` (``median_delay_s`` left empty).

Engines
-------
With numba (``HAVE_NUMBA``) every function is an ``@njit(cache=True)`` kernel. The aggregation is
*account-major*: for each account ``u`` in code order, the window partners of each of its traces
are scanned in place (they are the neighbours of the trace in the sorted arrays, read from one
16-byte record per trace) and folded into one row per partner account ``v > u``, in a scratch
table indexed by account. The rows of ``u`` are then sorted by ``v`` and written out, so the
output comes out sorted by ``(u, v)`` and there is nothing to merge. A first pass of the same
scan counts the rows, so the output is allocated once, at its exact size. Blocks of accounts run
in parallel on numba's threads (``prange``); each account's rows are computed by one thread in a
fixed order, so the result does not depend on the number of threads.

Memory is O(traces + accounts x threads) plus the output: no array proportional to the number of
pairs is ever allocated, so a very popular object costs time (its pairs grow like k^2) but no
pair buffer.
Time is about two visits of every window pair per pass (one from each end; the pair belongs to
the smaller account) plus one cache miss per trace per pass.

Without numba, pure-numpy fallbacks (importable under the same names with a ``_numpy`` suffix:
:func:`count_pairs_numpy`, :func:`pair_indices_numpy`, :func:`count_edges_numpy`,
:func:`aggregate_edges_numpy`, :func:`distinct_accounts_numpy`) give identical results. They
have to materialise pairs, so the aggregation streams groups in chunks of at most
``budget_pairs`` pairs (splitting a very popular object by ranges of ``i``) and merges the
chunks' partial aggregates; they are several times slower.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..params import parse_duration
from ..schema import EDGE_COLUMNS, from_epoch_ns, to_epoch_ns, validate_traces
from ._edges import _empty_edges, popularity_discount

try:
    from numba import get_num_threads, get_thread_id, njit, prange, set_parallel_chunksize

    from .._numbacache import install as _install_cache_lock

    _install_cache_lock()  # before any cached kernel is loaded or saved
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised by a subprocess test
    njit = None
    prange = range
    HAVE_NUMBA = False

    def get_thread_id() -> int:  # the kernels are not called without numba
        return 0

    def get_num_threads() -> int:  # (the timing kernel runs as plain Python then)
        return 1

__all__ = [
    "HAVE_NUMBA",
    "DEFAULT_BUDGET_PAIRS",
    "EDGE_ARRAYS",
    "count_pairs",
    "pair_indices_fast",
    "count_edges",
    "aggregate_edges",
    "distinct_accounts",
    "sort_order",
    "kernel_edges",
]

#: Default number of pairs the numpy fallback of :func:`aggregate_edges` holds at once (its
#: numpy temporaries take about 150 bytes per pair, so about 1.5 GB). The numba kernel holds no
#: pairs and ignores it.
DEFAULT_BUDGET_PAIRS = 10_000_000

#: The arrays :func:`aggregate_edges` returns, in order.
EDGE_ARRAYS = ("u", "v", "weight", "n_pairs", "min_delay_ns", "first_time", "last_time", "weighted")

_INT32_MAX = int(np.iinfo(np.int32).max)
_LOW32 = np.int64(0xFFFFFFFF)


def _jit(func: Callable) -> Callable:
    """``numba.njit(cache=True)`` when numba is importable, else the plain function (unused)."""
    if HAVE_NUMBA:
        return njit(cache=True, nogil=True)(func)
    return func  # pragma: no cover


def _jit_parallel(func: Callable) -> Callable:
    """``numba.njit(cache=True, parallel=True)``: ``prange`` loops over blocks of accounts run
    on numba's threads (results do not depend on the number of threads)."""
    if HAVE_NUMBA:
        return njit(cache=True, nogil=True, parallel=True)(func)
    return func  # pragma: no cover


# --------------------------------------------------------------------------------------------
# numba kernels (valid Python too; only called when HAVE_NUMBA)
# --------------------------------------------------------------------------------------------


# Filled arrays for the ``parallel=True`` kernels, made in plain compiled functions: inside a
# parallel kernel ``np.zeros`` / ``np.full`` become parallel loops themselves, and under the
# one-block-per-hand-out scheduling of :func:`_run_parallel` those are cut into one chunk per
# element, whose schedule took ~150 bytes an element (0.7 GB for 4.4M traces). Outside a
# parallel function they are plain loops.
@_jit
def _fill_i64(n, value):  # pragma: no cover - compiled
    return np.full(n, value, np.int64)


@_jit
def _fill_bool(n):  # pragma: no cover - compiled
    return np.zeros(n, np.bool_)


@_jit
def _fill2_i32(rows, cols, value):  # pragma: no cover - compiled
    return np.full((rows, cols), value, np.int32)


@_jit
def _fill2_i64(rows, cols, value):  # pragma: no cover - compiled
    return np.full((rows, cols), value, np.int64)


@_jit
def _nb_is_sorted(group, time):  # pragma: no cover - compiled
    for k in range(1, group.shape[0]):
        if group[k] < group[k - 1] or (group[k] == group[k - 1] and time[k] < time[k - 1]):
            return False
    return True


@_jit
def _nb_count_pairs(group, time, window, cap):  # pragma: no cover - compiled
    """Window pairs (two pointers), and how many of them a cap of ``cap`` partners would drop
    (``cap < 0``: no cap)."""
    n = group.shape[0]
    total = 0
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
        total += k
        if cap >= 0 and k > cap:
            dropped += k - cap
    return total, dropped


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
        m = _nb_count_pairs(group, time, window, -1)[0]
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


def is_sorted(group: np.ndarray, time: np.ndarray) -> bool:
    """Whether traces are already in ``(group, time)`` order (then :func:`sort_order` is the
    identity: it is stable).

    Examples
    --------
    >>> is_sorted(np.array([0, 0, 1]), np.array([5, 9, 2])), is_sorted(np.array([1, 0]), np.array([0, 0]))
    (True, False)
    """
    g = _i64(group)
    t = _i64(time)
    if g.size < 2:
        return True
    return bool(_nb_is_sorted(g, t)) if HAVE_NUMBA else _is_sorted_numpy(g, t)


def _is_sorted_numpy(g: np.ndarray, t: np.ndarray) -> bool:
    dg = np.diff(g)
    return bool(((dg > 0) | ((dg == 0) & (np.diff(t) >= 0))).all())


@_jit
def _nb_counting_sort(group, order, n_groups):  # pragma: no cover - compiled
    """Stable counting sort of the permutation ``order`` by ``group``."""
    n = order.shape[0]
    nxt = np.zeros(n_groups + 1, np.int64)
    for k in range(n):
        nxt[group[k] + 1] += 1
    for g in range(n_groups):
        nxt[g + 1] += nxt[g]
    out = np.empty(n, np.int64)
    for k in range(n):
        x = order[k]
        g = group[x]
        out[nxt[g]] = x
        nxt[g] += 1
    return out


@_jit
def _nb_by_account(account, n_accounts):  # pragma: no cover - compiled
    """Trace positions grouped by account (a stable counting sort), and each account's start."""
    n = account.shape[0]
    start = np.zeros(n_accounts + 1, np.int64)
    for p in range(n):
        start[account[p] + 1] += 1
    for u in range(n_accounts):
        start[u + 1] += start[u]
    nxt = start[:n_accounts].copy()
    byacc = np.empty(n, np.int64)
    for p in range(n):
        u = account[p]
        byacc[nxt[u]] = p
        nxt[u] += 1
    return start, byacc


@_jit
def _nb_records(group, time, account):  # pragma: no cover - compiled
    """One 16-byte record per trace: ``(time, group << 32 | account)``, so that visiting a trace
    costs one cache miss instead of three."""
    n = group.shape[0]
    rec = np.empty((n, 2), np.int64)
    for p in range(n):
        rec[p, 0] = time[p]
        rec[p, 1] = (group[p] << 32) | account[p]
    return rec


@_jit
def _nb_records_at(group, time, account, at):  # pragma: no cover - compiled
    """:func:`_nb_records` of the traces ``at`` (``_nb_records(group[at], time[at],
    account[at])`` without the three gathered copies)."""
    n = at.shape[0]
    rec = np.empty((n, 2), np.int64)
    for p in range(n):
        r = at[p]
        rec[p, 0] = time[r]
        rec[p, 1] = (group[r] << 32) | account[r]
    return rec


@_jit
def _nb_window_start(rec, window, cap, p):  # pragma: no cover - compiled
    """First index of trace ``p``'s window (its earliest partner, or ``p``)."""
    gp = rec[p, 1] >> 32
    tp = rec[p, 0]
    lo = 0
    if cap >= 0 and p - cap > 0:
        lo = p - cap
    q = p
    while q > lo and (rec[q - 1, 1] >> 32) == gp and tp - rec[q - 1, 0] <= window:
        q -= 1
    return q


@_jit
def _nb_partners(rec, window, cap, start, byacc, u, stamp, mark, slot, lv, lw, lg,
                 pg):  # pragma: no cover - compiled
    """The partners of account ``u`` (the scan of :func:`_nb_fill_block`): one row per partner
    ``v > u`` (``lv`` account, ``lw`` distinct groups, ``lg`` last group; ``mark[v] == stamp``
    maps ``v`` to its row ``slot[v]``), in order of first co-action, and the co-actions per
    group added into ``pg`` (skipped when ``pg`` is empty). Returns the number of rows."""
    n = rec.shape[0]
    r = 0
    for kk in range(start[u], start[u + 1]):
        p = byacc[kk]
        gp = rec[p, 1] >> 32
        tp = rec[p, 0]
        hi = n
        if cap >= 0 and p + cap + 1 < n:
            hi = p + cap + 1
        q = _nb_window_start(rec, window, cap, p)
        while q < hi and (q <= p or ((rec[q, 1] >> 32) == gp and rec[q, 0] - tp <= window)):
            v = rec[q, 1] & _LOW32
            if v > u:
                if pg.shape[0] > 0:
                    pg[gp] += 1
                if mark[v] != stamp:
                    mark[v] = stamp
                    slot[v] = r
                    lv[r] = v
                    lw[r] = 1
                    lg[r] = gp
                    r += 1
                else:
                    s = slot[v]
                    if lg[s] != gp:
                        lg[s] = gp
                        lw[s] += 1
            q += 1
    return r


@_jit_parallel
def _nb_edge_rows(rec, window, cap, start, byacc, blocks, min_weight, n_threads):  # pragma: no cover
    """Per account ``u``: the partner accounts ``v > u`` it shares at least ``min_weight``
    distinct groups with (``rows``), and all its partners ``v > u`` (``rows_all``).

    ``blocks`` cuts the account codes into ranges processed in parallel (``n_threads`` is
    numba's thread count, for the scratch arrays). The traces of ``u`` are visited in position
    order, so their groups are non-decreasing: a partner's group changes only on a new object."""
    n = rec.shape[0]
    n_accounts = start.shape[0] - 1
    rows = _fill_i64(n_accounts, 0)
    rows_all = _fill_i64(n_accounts, 0)
    marks = _fill2_i32(n_threads, n_accounts, -1)  # scratch per thread
    counts = _fill2_i32(n_threads, n_accounts, 0)
    lastg = _fill2_i64(n_threads, n_accounts, 0)
    for b in prange(blocks.shape[0] - 1):
        tid = get_thread_id()
        mark = marks[tid]
        cnt = counts[tid]
        lg = lastg[tid]
        for u in range(blocks[b], blocks[b + 1]):
            r = 0
            ra = 0
            for k in range(start[u], start[u + 1]):
                p = byacc[k]
                gp = rec[p, 1] >> 32
                tp = rec[p, 0]
                hi = n
                if cap >= 0 and p + cap + 1 < n:
                    hi = p + cap + 1
                q = _nb_window_start(rec, window, cap, p)
                while q < hi and (q <= p or ((rec[q, 1] >> 32) == gp and rec[q, 0] - tp <= window)):
                    v = rec[q, 1] & _LOW32
                    if v > u:
                        if mark[v] != u:
                            mark[v] = u
                            cnt[v] = 1
                            lg[v] = gp
                            ra += 1
                            if min_weight <= 1:
                                r += 1
                        elif lg[v] != gp:
                            lg[v] = gp
                            cnt[v] += 1
                            if cnt[v] == min_weight:
                                r += 1
                    q += 1
            rows[u] = r
            rows_all[u] = ra
    return rows, rows_all


@_jit
def _nb_fill_block(rec, window, cap, start, byacc, obj_weight, rows, out_start, u0, u1, mark,
                   slot, local, lx, out_u, out_v, weight, n_pairs, min_delay, first, last,
                   weighted, min_weight):  # pragma: no cover - compiled
    """The edges of accounts ``u0 <= u < u1`` with ``weight >= min_weight``, written at
    ``out_start[u]``.

    ``mark``/``slot`` (one entry per account, ``mark`` starting at -1) map a partner account to
    its row; ``local`` (v, weight, n_pairs, delay, first, last, group, sort word) and ``lx``
    (weighted) hold the rows of the current account.
    The traces of ``u`` are visited in position order, so their groups are non-decreasing and
    a change of group in a row is a new distinct object.
    """
    n = rec.shape[0]
    lv = local[0]
    lw = local[1]
    ln = local[2]
    ld = local[3]
    lf = local[4]
    ll = local[5]
    lg = local[6]
    words = local[7]
    rb = 1
    while (np.int64(1) << rb) < lv.shape[0]:
        rb += 1
    rmask = (np.int64(1) << rb) - 1
    for u in range(u0, u1):
        if rows[u] == 0:
            continue
        r = 0
        for k in range(start[u], start[u + 1]):
            p = byacc[k]
            gp = rec[p, 1] >> 32
            tp = rec[p, 0]
            wp = obj_weight[gp]
            hi = n
            if cap >= 0 and p + cap + 1 < n:
                hi = p + cap + 1
            q = _nb_window_start(rec, window, cap, p)
            while q < hi and (q <= p or ((rec[q, 1] >> 32) == gp and rec[q, 0] - tp <= window)):
                v = rec[q, 1] & _LOW32
                if v > u:
                    if q < p:
                        f = rec[q, 0]
                        la = tp
                    else:
                        f = tp
                        la = rec[q, 0]
                    d = la - f
                    if mark[v] != u:
                        mark[v] = u
                        slot[v] = r
                        lv[r] = v
                        lw[r] = 1
                        ln[r] = 1
                        ld[r] = d
                        lf[r] = f
                        ll[r] = la
                        lx[r] = wp
                        lg[r] = gp
                        r += 1
                    else:
                        s = slot[v]
                        ln[s] += 1
                        if d < ld[s]:
                            ld[s] = d
                        if f < lf[s]:
                            lf[s] = f
                        if la > ll[s]:
                            ll[s] = la
                        if lg[s] != gp:
                            lg[s] = gp
                            lw[s] += 1
                            lx[s] += wp
                q += 1
        for s in range(r):
            words[s] = (lv[s] << rb) | s
        ws = words[:r]
        ws.sort()
        o = out_start[u]
        for k in range(r):
            s = ws[k] & rmask
            if lw[s] < min_weight:
                continue
            out_u[o] = u
            out_v[o] = lv[s]
            weight[o] = lw[s]
            n_pairs[o] = ln[s]
            min_delay[o] = ld[s]
            first[o] = lf[s]
            last[o] = ll[s]
            weighted[o] = lx[s]
            o += 1


@_jit_parallel
def _nb_fill_edges(rec, window, cap, start, byacc, obj_weight, rows, rows_all, blocks,
                   min_weight, n_threads):  # pragma: no cover - compiled
    """The edges, account-major (module notes), one block of accounts per parallel task."""
    n_accounts = start.shape[0] - 1
    out_start = _fill_i64(n_accounts + 1, 0)
    max_rows = 1
    for u in range(n_accounts):
        out_start[u + 1] = out_start[u] + rows[u]
        if rows_all[u] > max_rows:
            max_rows = rows_all[u]
    m = out_start[n_accounts]
    out_u = np.empty(m, np.int32)
    out_v = np.empty(m, np.int32)
    weight = np.empty(m, np.int64)
    n_pairs = np.empty(m, np.int64)
    min_delay = np.empty(m, np.int64)
    first = np.empty(m, np.int64)
    last = np.empty(m, np.int64)
    weighted = np.empty(m, np.float64)
    # scratch per thread: account -> row maps, and the rows of the current account
    marks = _fill2_i32(n_threads, n_accounts, -1)
    slots = np.empty((n_threads, n_accounts), np.int32)
    locals_ = np.empty((n_threads, 8, max_rows), np.int64)
    lxs = np.empty((n_threads, max_rows), np.float64)
    for b in prange(blocks.shape[0] - 1):
        tid = get_thread_id()
        _nb_fill_block(rec, window, cap, start, byacc, obj_weight, rows, out_start, blocks[b],
                       blocks[b + 1], marks[tid], slots[tid], locals_[tid], lxs[tid], out_u,
                       out_v, weight, n_pairs, min_delay, first, last, weighted, min_weight)
    return out_u, out_v, weight, n_pairs, min_delay, first, last, weighted


@_jit_parallel
def _nb_trace_partners(rec, window, cap, blocks, n_threads):  # pragma: no cover - compiled
    """Per trace ``p``: co-actions with later traces (``fwd``: partners ``q > p`` in the window
    with another account), and whether it has any co-action partner at all (``has``)."""
    n = rec.shape[0]
    fwd = _fill_i64(n, 0)
    has = _fill_bool(n)
    for b in prange(blocks.shape[0] - 1):
        for p in range(blocks[b], blocks[b + 1]):
            gp = rec[p, 1] >> 32
            tp = rec[p, 0]
            ap = rec[p, 1] & _LOW32
            hi = n
            if cap >= 0 and p + cap + 1 < n:
                hi = p + cap + 1
            c = 0
            q = p + 1
            while q < hi and (rec[q, 1] >> 32) == gp and rec[q, 0] - tp <= window:
                if (rec[q, 1] & _LOW32) != ap:
                    c += 1
                q += 1
            fwd[p] = c
            h = c > 0
            if not h:
                lo = 0
                if cap >= 0 and p - cap > 0:
                    lo = p - cap
                q = p - 1
                while q >= lo and (rec[q, 1] >> 32) == gp and tp - rec[q, 0] <= window:
                    if (rec[q, 1] & _LOW32) != ap:
                        h = True
                        break
                    q -= 1
            has[p] = h
    return fwd, has


@_jit
def _nb_select_account(rec, window, cap, start, byacc, u, mark, adj_ptr, adj_idx, label, mode,
                       out_p, out_q, o, fill):  # pragma: no cover - compiled
    """The co-actions of account ``u`` with partners ``v > u`` that qualify: ``mode`` 0, ``v``
    is one of ``adj_idx[adj_ptr[u]:adj_ptr[u + 1]]``; ``mode`` 1, ``label[v] == label[u] >= 0``.
    Counts them from ``o`` on, writing (earlier position, later position) when ``fill``."""
    n = rec.shape[0]
    lu = 0
    if mode == 0:
        if adj_ptr[u + 1] == adj_ptr[u]:
            return o
        for k in range(adj_ptr[u], adj_ptr[u + 1]):
            mark[adj_idx[k]] = u
    else:
        lu = label[u]
        if lu < 0:
            return o
    for k in range(start[u], start[u + 1]):
        p = byacc[k]
        gp = rec[p, 1] >> 32
        tp = rec[p, 0]
        hi = n
        if cap >= 0 and p + cap + 1 < n:
            hi = p + cap + 1
        q = _nb_window_start(rec, window, cap, p)
        while q < hi and (q <= p or ((rec[q, 1] >> 32) == gp and rec[q, 0] - tp <= window)):
            v = rec[q, 1] & _LOW32
            if v > u and ((mode == 0 and mark[v] == u) or (mode == 1 and label[v] == lu)):
                if fill:
                    if q < p:
                        out_p[o] = q
                        out_q[o] = p
                    else:
                        out_p[o] = p
                        out_q[o] = q
                o += 1
            q += 1
    return o


@_jit_parallel
def _nb_select_count(rec, window, cap, start, byacc, blocks, adj_ptr, adj_idx, label, mode,
                     n_threads):  # pragma: no cover - compiled
    """Per account, the number of its qualifying co-actions (see :func:`_nb_select_account`)."""
    n_accounts = start.shape[0] - 1
    rows = _fill_i64(n_accounts, 0)
    marks = _fill2_i32(n_threads, n_accounts if mode == 0 else 1, -1)
    dummy = np.empty(0, np.int64)
    for b in prange(blocks.shape[0] - 1):
        mark = marks[get_thread_id()]
        for u in range(blocks[b], blocks[b + 1]):
            rows[u] = _nb_select_account(rec, window, cap, start, byacc, u, mark, adj_ptr,
                                         adj_idx, label, mode, dummy, dummy, 0, False)
    return rows


@_jit_parallel
def _nb_select_fill(rec, window, cap, start, byacc, blocks, adj_ptr, adj_idx, label, mode,
                    out_start, m, n_threads):  # pragma: no cover - compiled
    """The qualifying co-actions of the accounts of ``blocks``, account ``u``'s at
    ``out_start[u]`` (relative to the first account of the blocks)."""
    n_accounts = start.shape[0] - 1
    out_p = np.empty(m, np.int64)
    out_q = np.empty(m, np.int64)
    marks = _fill2_i32(n_threads, n_accounts if mode == 0 else 1, -1)
    for b in prange(blocks.shape[0] - 1):
        mark = marks[get_thread_id()]
        for u in range(blocks[b], blocks[b + 1]):
            _nb_select_account(rec, window, cap, start, byacc, u, mark, adj_ptr, adj_idx, label,
                               mode, out_p, out_q, out_start[u], True)
    return out_p, out_q


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------


def _i64(x: np.ndarray | pd.Series) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x), dtype=np.int64)


def _window(window: int | np.integer) -> int:
    w = int(window)
    if w != window or w < 0:
        raise ValueError("window must be a non-negative integer (same unit as time), "
                         f"got {window!r}")
    return w


def _cap(max_partners: int | None) -> int:
    if max_partners is None:
        return -1
    cap = int(max_partners)
    if cap != max_partners or cap < 1:
        raise ValueError(f"max_partners must be a positive integer or None, got {max_partners!r}")
    return cap


def _prepare(group, time, window, use_numba: bool) -> tuple[np.ndarray, np.ndarray, int]:
    g = _i64(group)
    t = _i64(time)
    if g.ndim != 1 or g.shape != t.shape:
        raise ValueError("group and time must be 1-d arrays of the same length")
    if g.size and (g.min() < 0 or g.max() >= _INT32_MAX):
        raise ValueError("group codes must be non-negative and below 2**31 - 1")
    if not (is_sorted(g, t) if use_numba else _is_sorted_numpy(g, t)):
        raise ValueError("arrays must be sorted by (group, time); see sort_order()")
    return g, t, _window(window)


def _prepare_account(account, n: int) -> np.ndarray:
    a = _i64(account)
    if a.shape != (n,):
        raise ValueError("account must have the same length as group and time")
    if n and a.min() < 0:
        raise ValueError("account codes must be non-negative")
    if n and a.max() >= _INT32_MAX:
        raise ValueError("account codes must be below 2**31 - 1")
    return a


def _blocks(cum: np.ndarray) -> np.ndarray:
    """Account blocks for the parallel loops: ``cum`` is a non-decreasing work count per account
    boundary (length accounts + 1). Many small blocks, handed out one at a time (see
    :func:`_run_parallel`), so that a thread slowed down by other work does not hold up the rest."""
    n_accounts = cum.shape[0] - 1
    n_blocks = 64 * get_num_threads() if HAVE_NUMBA else 1
    cuts = np.searchsorted(cum, np.linspace(0, cum[-1], n_blocks + 1)[1:-1], side="left")
    return np.unique(np.concatenate(([0], cuts, [n_accounts]))).astype(np.int64)


def _run_parallel(kernel: Callable, *args):
    """Call a ``prange`` kernel with dynamic scheduling (one block per hand-out)."""
    old = set_parallel_chunksize(1)
    try:
        return kernel(*args, get_num_threads())
    finally:
        set_parallel_chunksize(old)


def _obj_weight(obj_weight, g: np.ndarray) -> np.ndarray:
    n_groups = int(g.max()) + 1 if g.size else 0
    if obj_weight is None:
        return np.ones(n_groups, np.float64)
    ow = np.ascontiguousarray(np.asarray(obj_weight), dtype=np.float64)
    if ow.ndim != 1 or ow.shape[0] < n_groups:
        raise ValueError("obj_weight needs one value per group code (length > group.max())")
    return ow


# --------------------------------------------------------------------------------------------
# pure-numpy fallbacks
# --------------------------------------------------------------------------------------------


def _ends_numpy(group: np.ndarray, time: np.ndarray, window: int) -> np.ndarray:
    """Per trace ``i``, one past its last window partner (arrays sorted)."""
    n = group.shape[0]
    if n == 0:
        return np.empty(0, np.int64)
    utimes = np.unique(time)
    grank = np.concatenate(([0], np.cumsum(group[1:] != group[:-1])))
    width = np.int64(utimes.shape[0])
    key = grank * width + np.searchsorted(utimes, time)
    hi = np.searchsorted(utimes, time + window, side="right") - 1
    return np.searchsorted(key, grank * width + hi, side="right").astype(np.int64)


def _partner_counts_numpy(group: np.ndarray, time: np.ndarray, window: int,
                          cap: int) -> tuple[np.ndarray, int]:
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
    """:func:`pair_indices_fast` in pure numpy (allocates every window pair before dropping
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
    """:func:`distinct_accounts` in pure numpy (any row order)."""
    g = _i64(group)
    a = _prepare_account(account, g.shape[0])
    size = (int(g.max()) + 1 if g.size else 0) if n_groups is None else int(n_groups)
    if g.size == 0:
        return np.zeros(size, np.int64)
    width = np.int64(a.max()) + 1
    pairs = np.unique(g * width + a)
    return np.bincount(pairs // width, minlength=size).astype(np.int64)


def _plan_numpy(group: np.ndarray, c: np.ndarray, budget: int) -> list[tuple[int, int, int]]:
    """Cut the traces into chunks ``(i0, i1, tag)`` of consecutive ``i`` whose pair counts fit
    ``budget``: whole groups packed together (tag -1), and a group whose own pairs exceed the
    budget split into parts by ranges of ``i`` (tag = its group code). A part holds at least one
    trace, so a trace with more partners than the budget makes a part above the budget."""
    n = group.shape[0]
    out: list[tuple[int, int, int]] = []
    if n == 0:
        return out
    gstart = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    gend = np.append(gstart[1:], n)
    totals = np.add.reduceat(c, gstart)
    cs, cp = 0, 0
    for gs, ge, tot in zip(gstart.tolist(), gend.tolist(), totals.tolist()):
        if tot > budget:
            if cp > 0:
                out.append((cs, gs, -1))
            cum = np.cumsum(c[gs:ge])
            s, base = gs, 0
            while s < ge:
                k = max(int(np.searchsorted(cum, base + budget, side="right")) + gs, s + 1)
                out.append((s, k, int(group[gs])))
                base = int(cum[k - gs - 1])
                s = k
            cs, cp = ge, 0
        else:
            if cp > 0 and cp + tot > budget:
                out.append((cs, gs, -1))
                cs, cp = gs, 0
            if cp == 0 and tot == 0:
                cs = ge  # traces without partners need no chunk
            else:
                cp += tot
    if cp > 0:
        out.append((cs, n, -1))
    return out


@dataclass
class _Partial:
    """Per (u, v) partial aggregates of the numpy fallback, sorted by ``key = u * width + v``."""

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


def _reduce_chunk_numpy(group, time, account, c, i0, i1, obj_weight, width) -> _Partial:
    i, j = _pairs_from_counts(c[i0:i1], i0)
    a, b = account[i], account[j]
    keep = a != b
    if not keep.any():
        return _Partial.empty()
    i, j, a, b = i[keep], j[keep], a[keep], b[keep]
    del keep
    key = np.minimum(a, b) * width + np.maximum(a, b)
    del a, b
    order = np.argsort(key, kind="stable")  # keeps generation order (groups ascending) per key
    key = key[order]
    i = i[order]
    j = j[order]
    del order
    g = group[i]
    newkey = np.concatenate(([True], key[1:] != key[:-1]))
    newobj = newkey | np.concatenate(([True], g[1:] != g[:-1]))
    starts = np.flatnonzero(newkey)
    del newkey
    weighted = np.add.reduceat(np.where(newobj, obj_weight[g], 0.0), starts)
    weight = np.add.reduceat(newobj.astype(np.int64), starts)
    del g, newobj
    ti = time[i]
    del i
    first = np.minimum.reduceat(ti, starts)
    tj = time[j]
    del j
    last = np.maximum.reduceat(tj, starts)
    tj -= ti
    del ti
    min_delay = np.minimum.reduceat(tj, starts)
    del tj
    n_pairs = np.diff(np.append(starts, key.shape[0])).astype(np.int64)
    return _Partial(key[starts], weight, n_pairs, min_delay, first, last, weighted)


def _merge_numpy(a: _Partial, b: _Partial, same_group: bool) -> _Partial:
    """Merge two partials: counts add, minima and maxima combine; parts of one split group
    take the maximum of ``weight``/``weighted`` instead (the object counts once).

    The inputs are consumed: each of their arrays is dropped as soon as it is merged, so the
    peak is about the inputs plus one field."""
    key = np.concatenate((a.key, b.key))
    a.key = b.key = None
    if key.shape[0] == 0:
        return _Partial.empty()
    order = np.argsort(key, kind="stable")  # two sorted runs: linear for numpy's timsort
    key = key[order]
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    out = _Partial.empty()
    out.key = key[starts]
    del key
    combine = {"weight": np.maximum if same_group else np.add,
               "weighted": np.maximum if same_group else np.add,
               "n_pairs": np.add, "min_delay": np.minimum, "first": np.minimum,
               "last": np.maximum}
    for name, ufunc in combine.items():
        x = np.concatenate((getattr(a, name), getattr(b, name)))
        setattr(a, name, None)
        setattr(b, name, None)
        setattr(out, name, ufunc.reduceat(x[order], starts))
        del x
    return out


def _push(stack: list[_Partial], part: _Partial, same_group: bool) -> None:
    """Append a partial and merge neighbours of similar size (binary-counter order: each edge
    is merged O(log chunks) times). Neighbours stay in trace order."""
    stack.append(part)
    while len(stack) >= 2 and len(stack[-2]) <= 2 * len(stack[-1]):
        b = stack.pop()
        stack.append(_merge_numpy(stack.pop(), b, same_group))


def _collapse(stack: list[_Partial], same_group: bool) -> _Partial:
    if not stack:
        return _Partial.empty()
    while len(stack) >= 2:
        b = stack.pop()
        stack.append(_merge_numpy(stack.pop(), b, same_group))
    return stack.pop()


def _aggregate_numpy(g, t, a, w, ow, cap, budget) -> tuple[np.ndarray, ...]:
    width = np.int64(int(a.max()) + 1 if a.size else 1)
    c, _ = _partner_counts_numpy(g, t, w, cap)
    stack: list[_Partial] = []
    split: list[_Partial] = []
    split_tag = -1
    for i0, i1, tag in _plan_numpy(g, c, budget):
        part = _reduce_chunk_numpy(g, t, a, c, i0, i1, ow, width)
        if split and tag != split_tag:
            _push(stack, _collapse(split, True), False)
        split_tag = tag
        _push(split if tag >= 0 else stack, part, tag >= 0)
    if split:
        _push(stack, _collapse(split, True), False)
    res = _collapse(stack, False)
    return ((res.key // width).astype(np.int32), (res.key % width).astype(np.int32), res.weight,
            res.n_pairs, res.min_delay, res.first, res.last, res.weighted)


def _min_weight(min_weight) -> int:
    mw = float(min_weight)
    if not mw >= 1 or mw != mw:
        raise ValueError(f"min_weight must be >= 1, got {min_weight!r}")
    return int(np.ceil(mw))  # weights are whole numbers of objects


def _aggregate(group, time, account, window, obj_weight, budget_pairs, max_partners,
               use_numba: bool, min_weight: float = 1) -> dict[str, np.ndarray | int]:
    g, t, w = _prepare(group, time, window, use_numba)
    a = _prepare_account(account, g.shape[0])
    ow = _obj_weight(obj_weight, g)
    cap = _cap(max_partners)
    mw = _min_weight(min_weight)
    budget = DEFAULT_BUDGET_PAIRS if budget_pairs is None else int(budget_pairs)
    if budget < 1:
        raise ValueError(f"budget_pairs must be positive, got {budget_pairs!r}")
    if use_numba:
        n_accounts = int(a.max()) + 1 if a.size else 0
        start, byacc = _nb_by_account(a, n_accounts)
        rec = _nb_records(g, t, a)
        rows, rows_all = _run_parallel(_nb_edge_rows, rec, w, cap, start, byacc, _blocks(start),
                                       mw)
        arrays = _run_parallel(_nb_fill_edges, rec, w, cap, start, byacc, ow, rows, rows_all,
                               _blocks(start + np.concatenate(([0], np.cumsum(rows_all)))), mw)
        del rec
        n_all = int(rows_all.sum())
        dropped = int(_nb_count_pairs(g, t, w, cap)[1]) if cap >= 0 else 0
    else:
        arrays = _aggregate_numpy(g, t, a, w, ow, cap, budget)
        n_all = int(arrays[0].shape[0])
        if mw > 1:
            keep = arrays[2] >= mw
            arrays = tuple(x[keep] for x in arrays)
        dropped = _partner_counts_numpy(g, t, w, cap)[1] if cap >= 0 else 0
    out: dict[str, np.ndarray | int] = dict(zip(EDGE_ARRAYS, arrays))
    out["dropped_pairs"] = int(dropped)
    out["n_edges_all"] = n_all
    return out


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def count_pairs(group: np.ndarray, time: np.ndarray, window: int) -> int:
    """The exact number of window pairs: index pairs ``i < j`` with ``group[i] == group[j]`` and
    ``time[j] - time[i] <= window``, same-account pairs included (as in ``pair_indices``).

    One two-pointer pass; nothing proportional to the pairs is allocated, so this is the check
    to run before anything is materialised (the work of every engine follows this number).

    Parameters
    ----------
    group, time : array of int
        Sorted by ``(group, time)``.
    window : int
        Inclusive, in the unit of ``time`` (>= 0).

    Returns
    -------
    int
        The pair count (it fits int64).

    Examples
    --------
    >>> g = np.array([0, 0, 0, 1, 1]); t = np.array([100, 160, 161, 5, 5])
    >>> count_pairs(g, t, 60)
    3
    """
    if not HAVE_NUMBA:  # pragma: no cover
        return count_pairs_numpy(group, time, window)
    g, t, w = _prepare(group, time, window, True)
    return int(_nb_count_pairs(g, t, w, -1)[0])


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
        When given, pairs of equal accounts are left out, so the result holds exactly the
        co-actions (a counting pass over the pairs sizes it).

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
    return _nb_pair_indices(g, t, w, _prepare_account(account, g.shape[0]), True)


def distinct_accounts(group: np.ndarray, account: np.ndarray,
                      n_groups: int | None = None) -> np.ndarray:
    """Distinct accounts per group code (``n_o`` of the popularity discount).

    Parameters
    ----------
    group : array of int
        Non-negative group codes.
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
    if not HAVE_NUMBA or (g.size and np.any(g[1:] < g[:-1])):
        return distinct_accounts_numpy(g, account, n_groups)  # the kernel needs groups sorted
    a = _prepare_account(account, g.shape[0])
    size = (int(g.max()) + 1 if g.size else 0) if n_groups is None else int(n_groups)
    return _nb_distinct_accounts(g, a, size, int(a.max()) + 1 if a.size else 0)


def sort_order(group: np.ndarray, time: np.ndarray) -> np.ndarray:
    """The stable permutation that sorts traces by ``(group, time)`` (same as
    ``np.lexsort((time, group))``, about twice as fast with numba: a stable sort by time, then a
    stable counting sort by group).

    Examples
    --------
    >>> sort_order(np.array([1, 0, 1, 0]), np.array([5, 9, 2, 1])).tolist()
    [3, 1, 2, 0]
    """
    g = _i64(group)
    t = _i64(time)
    n_groups = int(g.max()) + 1 if g.size else 0
    if not HAVE_NUMBA or g.size == 0 or g.min() < 0 or n_groups > 4 * g.size:
        return np.lexsort((t, g))
    return _nb_counting_sort(g, np.argsort(t, kind="stable"), n_groups)


def count_edges(group: np.ndarray, time: np.ndarray, account: np.ndarray, window: int,
                max_partners: int | None = None) -> int:
    """The exact number of rows :func:`aggregate_edges` returns (distinct account pairs with a
    co-action), computed without allocating them: the memory check before aggregating.

    Examples
    --------
    >>> g = np.array([0, 0, 0, 1, 1]); t = np.array([0, 5, 9, 100, 130])
    >>> count_edges(g, t, np.array([0, 1, 2, 0, 1]), 60)
    3
    """
    if not HAVE_NUMBA:  # pragma: no cover
        return count_edges_numpy(group, time, account, window, max_partners)
    g, t, w = _prepare(group, time, window, True)
    a = _prepare_account(account, g.shape[0])
    start, byacc = _nb_by_account(a, int(a.max()) + 1 if a.size else 0)
    rec = _nb_records(g, t, a)
    rows, _ = _run_parallel(_nb_edge_rows, rec, w, _cap(max_partners), start, byacc,
                            _blocks(start), 1)
    return int(rows.sum())


def count_edges_numpy(group: np.ndarray, time: np.ndarray, account: np.ndarray, window: int,
                      max_partners: int | None = None) -> int:
    """:func:`count_edges` in pure numpy (materialises the pairs)."""
    g, t, w = _prepare(group, time, window, False)
    a = _prepare_account(account, g.shape[0])
    c, _ = _partner_counts_numpy(g, t, w, _cap(max_partners))
    i, j = _pairs_from_counts(c)
    x, y = a[i], a[j]
    keep = x != y
    width = np.int64(int(a.max()) + 1 if a.size else 1)
    return int(np.unique(np.minimum(x, y)[keep] * width + np.maximum(x, y)[keep]).shape[0])


def aggregate_edges(group: np.ndarray, time: np.ndarray, account: np.ndarray, window: int,
                    obj_weight: np.ndarray | None, budget_pairs: int | None = None,
                    max_partners: int | None = None,
                    min_weight: float = 1) -> dict[str, np.ndarray | int]:
    """Aggregate the co-actions of sorted traces into undirected account edges.

    Parameters
    ----------
    group, time, account : array of int
        Traces sorted by ``(group, time)``; ``account`` codes are non-negative (below 2**31 - 1)
        and ordered like the account ids.
    window : int
        Inclusive, in the unit of ``time``.
    obj_weight : array of float or None
        Per group code, what one distinct object adds to ``weighted`` (normally
        ``popularity_discount(distinct_accounts(group, account))``); None counts 1.
    budget_pairs : int, optional
        Most pairs the numpy fallback holds at once (default :data:`DEFAULT_BUDGET_PAIRS`). The
        numba kernel never holds pairs and ignores it.
    max_partners : int, optional
        Off by default. When set to ``L``, each trace is paired only with the next ``L`` traces
        of its group (same-account ones count towards ``L``) that are within the window, i.e.
        a window pair ``(i, j)`` is kept only when ``j - i <= L``.
    min_weight : float, default 1
        Return only the pairs with ``weight >= min_weight``. The numba kernel filters while it
        aggregates, so the output holds only those rows: a burst of ``k`` accounts on one object
        makes ``k^2/2`` pairs of weight 1 that are counted (``n_edges_all``) but never stored.

    Returns
    -------
    dict
        Arrays sorted by ``(u, v)``, one entry per account pair with ``weight >= min_weight``:
        ``u`` < ``v`` (int32 account codes), ``weight`` (distinct groups), ``n_pairs``
        (co-action pairs), ``min_delay_ns`` (smallest ``time[j] - time[i]``), ``first_time``
        (smallest time of the earlier trace), ``last_time`` (largest time of the later trace),
        ``weighted`` (float: sum of ``obj_weight`` over the distinct groups); and the int
        ``dropped_pairs``: window pairs (same-account ones included) that ``max_partners`` left
        out, 0 without a cap; and the int ``n_edges_all``: account pairs with at least one
        co-action, before ``min_weight``.

    Notes
    -----
    *Exactness.* Without ``max_partners`` the result equals :func:`edges_per_kind` on the same
    traces (per kind: a group code is one (kind, object)), except that ``median_delay_s`` is
    not computed. A median does not combine across partial aggregates; it is computed later,
    from the pairs of the few edges that matter (``pair_indices_fast`` on their objects).

    *Memory.* The numba kernel is account-major (module notes): it never allocates anything
    proportional to the number of pairs; working memory is O(traces + accounts x threads) plus
    the output, allocated once at its exact size (:func:`count_edges`). The numpy fallback streams
    chunks of at most ``budget_pairs`` pairs and merges their partial aggregates.

    *Very popular objects.* A burst of ``k`` traces on one object makes about ``k^2/2`` window
    pairs: the numba kernel streams them without a buffer, and the numpy fallback splits such
    an object's pairs by ranges of ``i`` into parts that fit the budget (the parts of one
    object merge with ``max`` for ``weight``/``weighted``, so it still counts once per account
    pair; a part holds at least one trace, so a single trace with more partners than the budget
    makes a part that large). Time still grows like ``k^2``, and so may the output (up to
    ``k (k - 1) / 2`` edges for ``k`` distinct accounts); :func:`count_pairs` and
    :func:`count_edges` give both before any work. ``max_partners`` (DESIGN §8: ``L ~ 50``)
    bounds both at ``L`` per trace; ``dropped_pairs`` says how much it cut, so report it.

    Examples
    --------
    >>> g = np.array([0, 0, 0, 1, 1]); t = np.array([0, 5, 9, 100, 130])
    >>> a = np.array([0, 1, 1, 0, 1])
    >>> e = aggregate_edges(g, t, a, 60, obj_weight=np.array([1.0, 0.5]))
    >>> {k: e[k].tolist() for k in ("u", "v", "weight", "n_pairs", "min_delay_ns", "weighted")}
    {'u': [0], 'v': [1], 'weight': [2], 'n_pairs': [3], 'min_delay_ns': [5], 'weighted': [1.5]}
    >>> aggregate_edges(g, t, a, 60, None, max_partners=1)["dropped_pairs"]
    1
    """
    return _aggregate(group, time, account, window, obj_weight, budget_pairs, max_partners,
                      HAVE_NUMBA, min_weight)


def aggregate_edges_numpy(group: np.ndarray, time: np.ndarray, account: np.ndarray, window: int,
                          obj_weight: np.ndarray | None, budget_pairs: int | None = None,
                          max_partners: int | None = None,
                          min_weight: float = 1) -> dict[str, np.ndarray | int]:
    """:func:`aggregate_edges` in pure numpy (chunks of at most ``budget_pairs`` pairs)."""
    return _aggregate(group, time, account, window, obj_weight, budget_pairs, max_partners, False,
                      min_weight)


def kernel_edges(traces: pd.DataFrame, window: float | str = 60, *,
                 budget_pairs: int | None = None, max_partners: int | None = None,
                 use_numba: bool | None = None) -> pd.DataFrame:
    """TRACES -> EDGES per kind through :func:`aggregate_edges`.

    The same rows and values as ``edges_per_kind(coactions(traces, window), traces)`` (up to
    float rounding of ``weighted``), without materialising the co-actions. ``median_delay_s``
    is NaN: medians are computed later, for the edges that matter.

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
        EDGES sorted by kind, account_u, account_v; ``attrs["dropped_pairs"]`` holds the window
        pairs ``max_partners`` left out.

    Examples
    --------
    >>> t = pd.to_datetime([0, 5, 100, 130, 400], unit="s", utc=True)
    >>> tr = pd.DataFrame({"account_id": ["a", "b", "a", "b", "b"], "timestamp": t,
    ...     "kind": "repost", "object_id": ["p", "p", "q", "q", "q"], "action_id": list("12345")})
    >>> e = kernel_edges(tr, 60)
    >>> e[["account_u", "account_v", "weight", "n_pairs", "min_delay_s"]].to_dict("records")
    [{'account_u': 'a', 'account_v': 'b', 'weight': 2, 'n_pairs': 2, 'min_delay_s': 5.0}]
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
    group, _ = pd.factorize(gkey, sort=True)  # the groups of one kind get consecutive codes
    time = to_epoch_ns(traces["timestamp"])
    order = sort_order(group, time) if numba_on else np.lexsort((time, group))
    g = group[order].astype(np.int64)
    t = time[order]
    a = acc_codes[order].astype(np.int64)
    k = kind_codes[order].astype(np.int64)
    n_obj = (distinct_accounts if numba_on else distinct_accounts_numpy)(g, a, int(g.max()) + 1)
    ow = popularity_discount(n_obj)
    ids = np.asarray(accounts, dtype=object)
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
            "account_u": ids[res["u"]],
            "account_v": ids[res["v"]],
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
