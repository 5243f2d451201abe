"""Numba kernels of the edge test (:mod:`cib.nullmodel`): what :meth:`cib.nullmodel._Coded.test`
computes, without materialising co-actions or sparse products.

:func:`null_edges`
    the edge stage of one null run in one account-major pass over the co-actions (after the
    engine's row count): the account pairs with ``weight >= min_weight``, the distinct event keys
    behind each, the co-actions per object and those between the pairs (left out of the
    chance). It replaces ``SortedTraces.edges`` + ``trace_partners`` + ``select`` + ``events``
    (sorting and hashing millions of co-actions) in the null runs of the false discovery rate.
:func:`group_time_order`
    the (group, time) order of a null run's traces, sorting only within the objects (the null
    sampler keeps the traces grouped).
:func:`common_objects`
    the objects two accounts share (the columns two rows of the account x object incidence have
    in common, in increasing order) with the products of their counts: what
    ``incidence[u].multiply(incidence[v])`` gives, without scipy's row copies.
:func:`row_sums`
    row sums of such a CSR structure, computed exactly as ``scipy.sparse.csr_matrix.sum(axis=1)``
    does (``np.add.reduceat`` per non-empty row), so every float is the same.

Every result is identical to the scipy / numpy path it replaces (``tests/test_nullmodel.py`` pins
them against it); without numba, :mod:`cib.nullmodel` keeps that path.
"""

from __future__ import annotations

import numpy as np

from .coaction import _kernel as K
from .coaction._kernel import _LOW32, HAVE_NUMBA, _blocks, _jit, _nb_partners, _nb_window_start

__all__ = ["null_edges", "group_time_order", "common_objects", "row_sums", "HAVE_NUMBA"]


# --------------------------------------------------------------------------------------------
# the edge test's fast path (numba): what :meth:`_Coded.test` computes for the null runs,
# without materialising any co-action, and the objects two accounts share
# --------------------------------------------------------------------------------------------


@_jit
def _nb_listed(rec, act, gauth, window, cap, start, byacc, u, slot, rank, rm, count, bx, bkey,
               n_auth, n_act):  # pragma: no cover - compiled
    """Scan 2 of account ``u``, after :func:`_nb_partners`: the co-actions with the partners
    whose row has ``rank[slot[v]] >= 0``, counted per group into ``rm`` (when ``count``), with
    the rank and event key (the action pair, or the author of the post acted on: see
    :meth:`cib.nullmodel._Coded.event_keys`) of each written to ``bx``/``bkey`` while they fit.
    Returns how many there are (the caller grows the buffers and scans again when they did not
    fit: buffers never change inside a hot loop, which keeps it fast)."""
    n = rec.shape[0]
    size = bx.shape[0]
    m = 0
    for kk in range(start[u], start[u + 1]):
        p = byacc[kk]
        gp = rec[p, 1] >> 32
        tp = rec[p, 0]
        ga = gauth[gp]
        hi = n
        if cap >= 0 and p + cap + 1 < n:
            hi = p + cap + 1
        q = _nb_window_start(rec, window, cap, p)
        while q < hi and (q <= p or ((rec[q, 1] >> 32) == gp and rec[q, 0] - tp <= window)):
            v = rec[q, 1] & _LOW32
            if v > u:
                x = rank[slot[v]]
                if x >= 0:
                    if count:
                        rm[gp] += 1
                    if m < size:
                        bx[m] = x
                        if ga >= 0:
                            bkey[m] = ga
                        else:
                            bkey[m] = n_auth + act[p] * n_act + act[q]
                    m += 1
            q += 1
    return m


@_jit
def _nb_sort_small(seg):  # pragma: no cover - compiled
    """Sort ``seg`` in place (insertion sort up to 32 items: numba's sort has a high fixed
    cost)."""
    k1 = seg.shape[0]
    if k1 > 32:
        seg.sort()
        return
    for k in range(1, k1):
        x = seg[k]
        j = k - 1
        while j >= 0 and seg[j] > x:
            seg[j + 1] = seg[j]
            j -= 1
        seg[j + 1] = x


@_jit
def _nb_null_block(rec, act, gauth, window, cap, start, byacc, u0, u1, min_weight, n_auth,
                   n_act, mark, slot, lv, lw, lg, words, rank, pg, rm):  # pragma: no cover
    """The edge stage of one null run for the accounts ``u0 <= u < u1`` (see
    :func:`null_edges`): returns ``(u, v, weight, events)`` of their edges with ``weight >=
    min_weight``, by ``u`` then ``v``, and adds their co-actions per group to ``pg`` (all) and
    ``rm`` (those of the edges). ``mark`` (-1), ``slot``, ``lv``, ``lw``, ``lg``, ``words``,
    ``rank``: one thread's scratch, one entry per account."""
    cap_out = 1024
    ou = np.empty(cap_out, np.int64)
    ov = np.empty(cap_out, np.int64)
    ow = np.empty(cap_out, np.int64)
    oe = np.empty(cap_out, np.int64)
    n_out = 0
    bx = np.empty(4096, np.int64)
    bkey = np.empty(4096, np.int64)
    for u in range(u0, u1):
        r = _nb_partners(rec, window, cap, start, byacc, u, u, mark, slot, lv, lw, lg, pg)
        # the partners with weight >= min_weight, by account code (as the engine writes them)
        nq = 0
        for s in range(r):
            rank[s] = -1
            if lw[s] >= min_weight:
                words[nq] = (lv[s] << 32) | s
                nq += 1
        if nq == 0:
            continue
        _nb_sort_small(words[:nq])
        if n_out + nq > ou.shape[0]:
            cap_out = 2 * (n_out + nq)
            ou2 = np.empty(cap_out, np.int64)
            ov2 = np.empty(cap_out, np.int64)
            ow2 = np.empty(cap_out, np.int64)
            oe2 = np.empty(cap_out, np.int64)
            ou2[:n_out] = ou[:n_out]
            ov2[:n_out] = ov[:n_out]
            ow2[:n_out] = ow[:n_out]
            oe2[:n_out] = oe[:n_out]
            ou = ou2
            ov = ov2
            ow = ow2
            oe = oe2
        for k in range(nq):
            s = words[k] & _LOW32
            rank[s] = k
            ou[n_out + k] = u
            ov[n_out + k] = lv[s]
            ow[n_out + k] = lw[s]
        # their co-actions: left out of the chance, and the distinct event keys per partner
        m = _nb_listed(rec, act, gauth, window, cap, start, byacc, u, slot, rank, rm, True, bx,
                       bkey, n_auth, n_act)
        if m > bx.shape[0]:
            bx = np.empty(2 * m, np.int64)
            bkey = np.empty(2 * m, np.int64)
            _nb_listed(rec, act, gauth, window, cap, start, byacc, u, slot, rank, rm, False, bx,
                       bkey, n_auth, n_act)
        cnt = np.zeros(nq + 1, np.int64)
        for k in range(m):
            cnt[bx[k] + 1] += 1
        for k in range(nq):
            cnt[k + 1] += cnt[k]
        pos = cnt[:nq].copy()
        keys = np.empty(m, np.int64)
        for k in range(m):
            x = bx[k]
            keys[pos[x]] = bkey[k]
            pos[x] += 1
        for k in range(nq):
            seg = keys[cnt[k]:cnt[k + 1]]
            _nb_sort_small(seg)
            c = 1 if seg.shape[0] else 0
            for j in range(1, seg.shape[0]):
                if seg[j] != seg[j - 1]:
                    c += 1
            oe[n_out + k] = c
        n_out += nq
    return ou[:n_out].copy(), ov[:n_out].copy(), ow[:n_out].copy(), oe[:n_out].copy()


@_jit
def _nb_group_time_order(order, gstart, tg):  # pragma: no cover - compiled
    """Within each group segment ``[gstart[g], gstart[g + 1])`` of the grouped rows ``order``
    (increasing row numbers per group) with times ``tg``: the rows sorted by (time, row)."""
    out = order.copy()
    for g in range(gstart.shape[0] - 1):
        lo = gstart[g]
        hi = gstart[g + 1]
        k1 = hi - lo
        if k1 < 2:
            continue
        if k1 <= 32:  # stable insertion sort by time
            for k in range(lo + 1, hi):
                x = out[k]
                tx = tg[k]
                j = k - 1
                while j >= lo and tg[j] > tx:
                    out[j + 1] = out[j]
                    tg[j + 1] = tg[j]
                    j -= 1
                out[j + 1] = x
                tg[j + 1] = tx
        else:
            perm = np.argsort(tg[lo:hi], kind="mergesort")
            seg = out[lo:hi].copy()
            for k in range(k1):
                out[lo + k] = seg[perm[k]]
    return out


@_jit
def _nb_common_block(indptr, indices, data, small, pair, ptr, p0, p1, mark,
                     size):  # pragma: no cover - compiled
    """The pairs ``pair[ptr[a]:ptr[a + 1]]`` of the accounts ``p0 <= a < p1`` (``a`` the one
    with the longer row): the row of ``a`` is marked once (``mark[col]``: its value, a whole
    number, when below 255, else 255; one byte per column keeps the marks in the processor's
    cache), then the row of each partner ``small[k]`` is looked up in it, in column order.
    Returns the shared columns and the products of the values, pair after pair (at most
    ``size`` of them), and each pair's count. ``mark`` is all zeros before and after."""
    cols = np.empty(size, np.int64)
    prod = np.empty(size, np.float64)
    counts = np.zeros(ptr[p1] - ptr[p0], np.int64)
    o = 0
    for a in range(p0, p1):
        if ptr[a + 1] == ptr[a]:
            continue
        x0 = indptr[a]
        x1 = indptr[a + 1]
        for j in range(x0, x1):
            val = data[j]
            mark[indices[j]] = np.uint8(val) if val < 255.0 else np.uint8(255)
        for t in range(ptr[a], ptr[a + 1]):
            y = small[pair[t]]
            c = 0
            for j in range(indptr[y], indptr[y + 1]):
                col = indices[j]
                mk = mark[col]
                if mk != 0:
                    if mk == 255:  # a large value: find it in the row
                        lo = x0
                        hi = x1
                        while lo < hi:
                            mid = (lo + hi) >> 1
                            if indices[mid] < col:
                                lo = mid + 1
                            else:
                                hi = mid
                        bv = data[lo]
                    else:
                        bv = np.float64(mk)
                    cols[o] = col
                    prod[o] = bv * data[j]
                    o += 1
                    c += 1
            counts[t - ptr[p0]] = c
        for j in range(x0, x1):
            mark[indices[j]] = 0
    return cols[:o].copy(), prod[:o].copy(), counts


@_jit
def _nb_place(pair, counts, cols, prod, out_ptr, out_cols, out_prod):  # pragma: no cover
    """Copy a block's pairs (``pair``, ``counts``, their columns and products one after the
    other) to their places ``out_ptr[pair]`` in the output."""
    o = 0
    for t in range(pair.shape[0]):
        d = out_ptr[pair[t]]
        for k in range(counts[t]):
            out_cols[d + k] = cols[o]
            out_prod[d + k] = prod[o]
            o += 1


# --------------------------------------------------------------------------------------------
# Python side
# --------------------------------------------------------------------------------------------


def _threads() -> int:
    return max(int(K.get_num_threads()), 1) if HAVE_NUMBA else 1


def _run_blocks(n_blocks: int, scratch, work) -> list:
    """``work(b, scratch())`` for every block ``b``, on numba's number of Python threads (the
    kernels release the GIL), blocks handed out one at a time; each thread makes its scratch
    once. Returns the results in block order (so nothing depends on the number of threads)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    results: list = [None] * n_blocks
    lock = threading.Lock()
    todo = iter(range(n_blocks))

    def worker(_: int) -> None:
        mine = scratch()
        while True:
            with lock:
                b = next(todo, None)
            if b is None:
                return
            results[b] = work(b, mine)

    n = min(_threads(), max(n_blocks, 1))
    if n == 1:
        worker(0)
    else:
        with ThreadPoolExecutor(n) as ex:
            list(ex.map(worker, range(n)))
    return results


def row_sums(data: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Row sums of the CSR structure ``(data, indptr)``, float for float what
    ``scipy.sparse.csr_matrix.sum(axis=1)`` returns: one ``np.add.reduceat`` over the non-empty
    rows (the summation order, hence the rounding, is numpy's)."""
    indptr = np.asarray(indptr)
    out = np.zeros(indptr.shape[0] - 1, dtype=np.float64)
    major = np.flatnonzero(np.diff(indptr))
    if major.size:
        out[major] = np.add.reduceat(np.asarray(data, dtype=np.float64),
                                     indptr[major].astype(np.intp))
    return out


def _int_dtype(x: np.ndarray) -> type:
    return np.int32 if np.asarray(x).dtype == np.int32 else np.int64


def common_objects(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, u: np.ndarray,
                   v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For rows ``u[k]``, ``v[k]`` of the canonical CSR matrix ``(data, indices, indptr)``: the
    CSR structure ``(out_ptr, cols, prod)`` of their element-wise product (common columns in
    increasing order, products of the values): what ``A[u].multiply(A[v])`` holds. Needs numba.

    Each pair is handled from its account with the longer row (ties: the larger code), whose
    row is marked once for all its pairs; the shorter row is scanned."""
    u = np.ascontiguousarray(u, dtype=np.int64)
    v = np.ascontiguousarray(v, dtype=np.int64)
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    # 32-bit columns and whole-number counts are read as they are (no 64-bit copies): the
    # products are the same floats
    indices = np.ascontiguousarray(indices, dtype=_int_dtype(indices))
    data = np.ascontiguousarray(data, dtype=np.int32 if np.asarray(data).dtype == np.int32
                                else np.float64)
    if u.size == 0:
        return np.zeros(1, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    n_rows = indptr.shape[0] - 1
    deg = np.diff(indptr)
    swap = (deg[u] < deg[v]) | ((deg[u] == deg[v]) & (u < v))
    big = np.where(swap, v, u)
    small = np.where(swap, u, v)
    pair = np.argsort(big, kind="stable").astype(np.int64)
    ptr = np.searchsorted(big[pair], np.arange(n_rows + 1)).astype(np.int64)
    # blocks of accounts of about equal work; each one's output is at most its scanned entries
    work = np.concatenate(([0], np.cumsum(deg[small][pair])))[ptr]
    blocks = _blocks(work + np.concatenate(([0], np.cumsum(deg * (np.diff(ptr) > 0)))))
    width = max(int(indices.max()) + 1 if indices.size else 1, 1)
    parts = _run_blocks(
        blocks.shape[0] - 1, lambda: np.zeros(width, np.uint8),
        lambda b, mark: _nb_common_block(indptr, indices, data, small, pair, ptr, blocks[b],
                                         blocks[b + 1], mark,
                                         int(work[blocks[b + 1]] - work[blocks[b]])))
    counts = np.zeros(u.shape[0], np.int64)
    for b, (_, _, cnt) in enumerate(parts):
        counts[pair[ptr[blocks[b]]:ptr[blocks[b + 1]]]] = cnt
    out_ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    cols = np.empty(int(out_ptr[-1]), np.int64)
    prod = np.empty(int(out_ptr[-1]), np.float64)
    for b, (c, p, cnt) in enumerate(parts):
        _nb_place(pair[ptr[blocks[b]]:ptr[blocks[b + 1]]], cnt, c, p, out_ptr, cols, prod)
    return out_ptr, cols, prod


def group_time_order(order: np.ndarray | None, gstart: np.ndarray, time: np.ndarray) -> np.ndarray:
    """``cib.coaction._kernel.sort_order(group, time)`` (rows by group, then time, then row)
    from the rows already grouped: ``order`` (rows by group, increasing within a group, as
    :meth:`cib.nullmodel.TimeSwapNull._plan` keeps them) and the group starts ``gstart``. Only
    the groups' own segments are sorted, most of them a few rows long. Needs numba."""
    if order is None:  # the rows are in group order already (see TimeSwapNull._plan)
        order = np.arange(np.asarray(time).shape[0], dtype=np.int64)
    order = np.ascontiguousarray(order, dtype=np.int64)
    tg = np.ascontiguousarray(np.asarray(time, dtype=np.int64)[order])
    return _nb_group_time_order(order, np.ascontiguousarray(gstart, dtype=np.int64), tg)


def null_edges(rec: np.ndarray, action_sorted: np.ndarray, group_author: np.ndarray,
               window: int, cap: int, start: np.ndarray, byacc: np.ndarray, min_weight: int,
               n_groups: int, n_actions: int) -> dict[str, np.ndarray]:
    """The edge stage of one time array in one account-major pass over its co-actions (two
    scans of each account's windows, the second one only for the partners that made an edge):

    * the account pairs ``u < v`` with ``weight >= min_weight`` distinct groups, by ``u`` then
      ``v`` (``u``, ``v``, ``weight``: what :meth:`SortedTraces.edges` returns), with
      ``events``, the distinct event keys of their co-actions (what :meth:`_Coded.events`
      counts on :meth:`SortedTraces.select`'s co-actions);
    * ``pairs``: co-actions per group, as :meth:`SortedTraces.trace_partners` counts them;
    * ``removed``: co-actions per group between those pairs (what :meth:`_Coded.test` leaves
      out of the chance).

    ``rec``, ``start``, ``byacc``: the engine's structures of the sorted traces
    (:meth:`cib.coaction._engine.SortedTraces._state`). Each co-action is visited from its
    smaller account by one thread, and blocks of accounts are put together in order, so the
    result does not depend on the number of threads. Needs numba."""
    gauth = np.ascontiguousarray(group_author, dtype=np.int64)
    act = np.ascontiguousarray(action_sorted, dtype=_int_dtype(action_sorted))
    n_auth = int(gauth.max()) + 1 if gauth.size else 0
    n_act = max(int(n_actions), 1)
    if n_auth + float(n_act) * n_act >= 2.0 ** 62:
        raise ValueError("too many actions for the packed event keys")
    n_accounts = start.shape[0] - 1
    n_groups = int(n_groups)
    blocks = _blocks(start)
    sums: list[tuple[np.ndarray, np.ndarray]] = []

    def scratch():
        pg = np.zeros(n_groups, np.int64)
        rm = np.zeros(n_groups, np.int64)
        sums.append((pg, rm))
        acc = max(n_accounts, 1)
        # per account: stamps, rows, partners, weights, last groups and ranks fit 32 bits (the
        # records pack groups and accounts in 32 each); the packed sort words need 64
        i32 = np.int32 if max(n_groups, acc) < 2 ** 31 else np.int64
        return (np.full(acc, -1, i32), np.zeros(acc, i32), np.zeros(acc, i32),
                np.zeros(acc, i32), np.zeros(acc, i32), np.zeros(acc, np.int64),
                np.zeros(acc, i32), pg, rm)

    parts = _run_blocks(
        blocks.shape[0] - 1, scratch,
        lambda b, s: _nb_null_block(rec, act, gauth, int(window), int(cap), start, byacc,
                                    blocks[b], blocks[b + 1], int(min_weight), n_auth, n_act,
                                    *s))
    out = {k: np.concatenate([p[i] for p in parts]) if parts else np.empty(0, np.int64)
           for i, k in enumerate(("u", "v", "weight", "events"))}
    out["pairs"] = np.sum([pg for pg, _ in sums], axis=0) if sums else np.zeros(n_groups, np.int64)
    out["removed"] = np.sum([rm for _, rm in sums], axis=0) if sums else np.zeros(n_groups,
                                                                                   np.int64)
    return out
