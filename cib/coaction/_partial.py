"""Account-pair weights of one (kind, object) partition, and their exact, bounded reduction
across partitions (the Dask engine, :mod:`cib.distributed`).

Every object lives on exactly one partition, so the weight of an account pair (the distinct
objects it co-acted on) is the sum of its per-partition weights. The candidate pairs are those
whose sum reaches ``min_weight``; ``n_edges_all`` counts the pairs with any co-action.

Shipping every co-acting pair to a reducer costs as much as the pairs (most of them co-act on a
single object), so the reduction runs in two passes:

1. **fingerprints.** Each partition sends, per reducer (a hash of the pair), the sorted distinct
   32-bit fingerprints of its pairs' keys (4 bytes per pair, not the 16 of key and weight). A
   reducer keeps the fingerprints that came from at least two partitions: *shared*.
2. **exact keys.** A pair whose fingerprint is not shared lives in one partition only, so its
   weight there is its total: the partition decides alone (a candidate when its weight reaches
   ``min_weight``; counted in ``n_edges_all``). Only the pairs with a shared fingerprint travel,
   with their keys and weights; the reducer adds the weights up per key.

Fingerprint collisions only send a few more pairs to pass 2 (where keys are exact), so the
result is exact: the same candidates and count as one machine. :func:`reduce_single_pass` is the
plain reduction, for tests.

Examples
--------
>>> k1 = np.array([5, 7, 9], np.int64); w1 = np.array([1, 3, 1], np.int64)
>>> k2 = np.array([5, 8], np.int64); w2 = np.array([1, 1], np.int64)
>>> reduce_two_pass([(k1, w1), (k2, w2)], min_weight=2, n_reducers=2)
(array([5, 7]), 4)
>>> reduce_single_pass([(k1, w1), (k2, w2)], min_weight=2)
(array([5, 7]), 4)
"""

from __future__ import annotations

import numpy as np

from . import _kernel as K

__all__ = ["pair_weights", "pair_weight_blocks", "pass1_fingerprints", "shared_fingerprints",
           "shared_table", "pass2_split", "merge_splits", "reduce_exact", "reduce_two_pass",
           "reduce_single_pass", "sorted_unique", "FP_BITS"]

#: Bits of the pass-1 fingerprints (tests lower it to force collisions).
FP_BITS = 32

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)


@K._jit_parallel
def _nb_pair_weights(rec, window, cap, start, byacc, rows_all, u0, u1, blocks,
                     n_threads):  # pragma: no cover - compiled
    """Per account ``u0 <= u < u1``, its partners ``v > u`` (sorted) and the distinct groups
    they share (:func:`cib.coaction._kernel._nb_partners`), nothing else. ``blocks`` cuts
    ``[u0, u1)`` for the parallel loop; the rows of ``u`` start at ``out_start[u - u0]``."""
    n_accounts = start.shape[0] - 1
    out_start = K._fill_i64(u1 - u0 + 1, 0)
    max_rows = 1
    for u in range(u0, u1):
        out_start[u - u0 + 1] = out_start[u - u0] + rows_all[u]
        if rows_all[u] > max_rows:
            max_rows = rows_all[u]
    m = out_start[u1 - u0]
    out_v = np.empty(m, np.int64)
    out_w = np.empty(m, np.int64)
    marks = K._fill2_i64(n_threads, n_accounts, -1)
    slots = K._fill2_i64(n_threads, n_accounts, 0)
    lvs = np.empty((n_threads, max_rows), np.int64)
    lws = np.empty((n_threads, max_rows), np.int64)
    lgs = np.empty((n_threads, max_rows), np.int64)
    no_groups = np.zeros(0, np.int64)
    for b in K.prange(blocks.shape[0] - 1):
        tid = K.get_thread_id()
        mark = marks[tid]
        slot = slots[tid]
        lv = lvs[tid]
        lw = lws[tid]
        lg = lgs[tid]
        for u in range(blocks[b], blocks[b + 1]):
            if rows_all[u] == 0:
                continue
            r = K._nb_partners(rec, window, cap, start, byacc, u, u, mark, slot, lv, lw, lg,
                               no_groups)
            idx = np.argsort(lv[:r])
            o = out_start[u - u0]
            for x in range(r):
                out_v[o + x] = lv[idx[x]]
                out_w[o + x] = lw[idx[x]]
    return out_start, out_v, out_w


@K._jit
def _nb_greedy_cuts(rows, max_pairs):  # pragma: no cover - compiled
    """Account boundaries of blocks of at most ``max_pairs`` rows (an account with more is a
    block of its own)."""
    n = rows.shape[0]
    cuts = np.empty(n + 1, np.int64)
    cuts[0] = 0
    m = 1
    acc = 0
    for u in range(n):
        if acc > 0 and acc + rows[u] > max_pairs:
            cuts[m] = u
            m += 1
            acc = 0
        acc += rows[u]
    cuts[m] = n
    return cuts[:m + 1]


def pair_weights(group: np.ndarray, time: np.ndarray, account: np.ndarray, window: int,
                 max_partners: int | None = None,
                 use_numba: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every co-acting account pair (codes ``u < v``, sorted) of traces sorted by
    ``(group, time)``, with its weight (distinct groups): the rows of
    :func:`cib.coaction._kernel.aggregate_edges` at ``min_weight=1``, only ``u``, ``v`` and
    ``weight`` (8 bytes a pair each, nothing else). See :func:`pair_weight_blocks` for the
    same in blocks of bounded size.

    Examples
    --------
    >>> g = np.array([0, 0, 1, 1]); t = np.array([0, 5, 0, 5]); a = np.array([0, 1, 1, 0])
    >>> [x.tolist() for x in pair_weights(g, t, a, 10)]
    [[0], [1], [2]]
    """
    blocks = list(pair_weight_blocks(group, time, account, window, max_partners, None,
                                     use_numba))
    if len(blocks) == 1:
        return blocks[0]
    return tuple(np.concatenate([b[i] for b in blocks]) if blocks else np.zeros(0, np.int64)
                 for i in range(3))


def pair_weight_blocks(group: np.ndarray, time: np.ndarray, account: np.ndarray, window: int,
                       max_partners: int | None = None, max_pairs: int | None = 10_000_000,
                       use_numba: bool | None = None):
    """:func:`pair_weights` in blocks of consecutive accounts ``u`` of at most ``max_pairs``
    pairs each (an account with more partners is a block of its own; None: one block), in
    order: memory is that of one block, however many pairs there are (a viral object's pairs
    grow like the square of its shares).

    Yields
    ------
    (u, v, weight)
        int64 arrays, sorted by ``(u, v)``.
    """
    numba = K.HAVE_NUMBA if use_numba is None else bool(use_numba) and K.HAVE_NUMBA
    g, t, w = K._prepare(group, time, window, numba)
    a = K._prepare_account(account, g.shape[0])
    cap = K._cap(max_partners)
    if not numba:
        res = K._aggregate(g, t, a, w, None, None, max_partners, False, 1)
        yield (res["u"].astype(np.int64), res["v"].astype(np.int64),
               res["weight"].astype(np.int64))
        return
    n_accounts = int(a.max()) + 1 if a.size else 0
    start, byacc = K._nb_by_account(a, n_accounts)
    rec = K._nb_records(g, t, a)
    _, rows_all = K._run_parallel(K._nb_edge_rows, rec, w, cap, start, byacc,
                                  K._blocks(start), 1)
    cum = np.concatenate(([0], np.cumsum(rows_all)))
    total = int(cum[-1])
    if total == 0 or max_pairs is None:
        cuts = np.array([0, n_accounts], np.int64)
    else:
        cuts = _nb_greedy_cuts(rows_all, max(int(max_pairs), 1))
    work = start + cum
    for u0, u1 in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        if cum[u1] == cum[u0]:
            continue
        sub = work[u0:u1 + 1] - work[u0]
        blocks = u0 + K._blocks(sub)
        out_start, v, wt = K._run_parallel(_nb_pair_weights, rec, w, cap, start, byacc,
                                           rows_all, u0, u1, blocks)
        u = np.repeat(np.arange(u0, u1, dtype=np.int64), np.diff(out_start))
        yield u, v, wt
    if total == 0:
        e = np.zeros(0, np.int64)
        yield e, e, e


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """``np.unique(x)`` by a sort (numpy 2.3+'s hash-based ``np.unique`` is ~100x slower on
    large integer arrays).

    Examples
    --------
    >>> sorted_unique(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    s = np.sort(x)
    if s.size < 2:
        return s
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _mix(key: np.ndarray) -> np.ndarray:
    """A 64-bit mix of the keys (splitmix64's finaliser)."""
    x = np.asarray(key).astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _dest_fp(keys: np.ndarray, n_reducers: int,
             fp_bits: int = FP_BITS) -> tuple[np.ndarray, np.ndarray]:
    """Reducer (low half of the mix) and fingerprint (top ``fp_bits`` of the mix) of keys."""
    m = _mix(keys)
    dest = ((m & _LOW32) % np.uint64(n_reducers)).astype(np.int64)
    fp = (m >> np.uint64(64 - fp_bits)).astype(np.uint32)
    return dest, fp


def pass1_fingerprints(keys: np.ndarray, n_reducers: int,
                       fp_bits: int = FP_BITS) -> list[np.ndarray]:
    """Pass 1 of one partition: per reducer, the sorted distinct fingerprints of ``keys``
    (uint32)."""
    if keys.size == 0:
        return [np.zeros(0, np.uint32)] * n_reducers
    dest, fp = _dest_fp(keys, n_reducers, fp_bits)
    both = sorted_unique((dest.astype(np.uint64) << np.uint64(32)) | fp.astype(np.uint64))
    cuts = np.searchsorted(both >> np.uint64(32), np.arange(n_reducers + 1, dtype=np.uint64))
    low = (both & _LOW32).astype(np.uint32)
    return [low[cuts[r]:cuts[r + 1]] for r in range(n_reducers)]


def shared_fingerprints(*pieces: np.ndarray) -> np.ndarray:
    """Pass 1 of one reducer: the fingerprints sent by at least two partitions (sorted; each
    piece is one partition's distinct fingerprints)."""
    pieces = [p for p in pieces if p.size]
    if len(pieces) < 2:
        return np.zeros(0, np.uint32)
    s = np.sort(np.concatenate(pieces))
    dup = s[1:] == s[:-1]
    return sorted_unique(s[1:][dup])


def shared_table(shared: list[np.ndarray]) -> np.ndarray:
    """The shared fingerprints of all reducers as one sorted table (``reducer << 32 | fp``)
    for :func:`pass2_split`."""
    if not shared:
        return np.zeros(0, np.uint64)
    table = np.concatenate([(np.uint64(r) << np.uint64(32)) | s.astype(np.uint64)
                            for r, s in enumerate(shared)])
    table.sort()
    return table


def pass2_split(keys: np.ndarray, weights: np.ndarray, min_weight: int, n_reducers: int,
                table: np.ndarray, fp_bits: int = FP_BITS
                ) -> tuple[np.ndarray, int, list[tuple[np.ndarray, np.ndarray]]]:
    """Pass 2 of one partition (or of a block of its pairs): the keys it decides alone
    (fingerprint not shared: their weight here is their total) as ``(candidates, how many)``,
    and, per reducer, the ``(keys, weights)`` whose fingerprint is shared (``table``:
    :func:`shared_table`)."""
    e64 = np.zeros(0, np.int64)
    if keys.size == 0:
        return e64, 0, [(e64, e64)] * n_reducers
    dest, fp = _dest_fp(keys, n_reducers, fp_bits)
    if table.size:
        both = (dest.astype(np.uint64) << np.uint64(32)) | fp.astype(np.uint64)
        pos = np.minimum(np.searchsorted(table, both), table.size - 1)
        hit = table[pos] == both
        del both, pos
    else:
        hit = np.zeros(keys.size, dtype=bool)
    alone = ~hit
    cand = keys[alone & (weights >= min_weight)]
    n_alone = int(alone.sum())
    idx = np.flatnonzero(hit)
    d = dest[idx]
    order = np.argsort(d, kind="stable")
    idx = idx[order]
    cuts = np.searchsorted(d[order], np.arange(n_reducers + 1))
    out = [(keys[idx[cuts[r]:cuts[r + 1]]], weights[idx[cuts[r]:cuts[r + 1]]])
           for r in range(n_reducers)]
    return cand, n_alone, out


def merge_splits(splits: list, n_reducers: int
                 ) -> tuple[np.ndarray, int, list[tuple[np.ndarray, np.ndarray]]]:
    """:func:`pass2_split` results of the blocks of one partition, as one."""
    e64 = np.zeros(0, np.int64)
    if not splits:
        return e64, 0, [(e64, e64)] * n_reducers
    if len(splits) == 1:
        return splits[0]
    cand = np.concatenate([s[0] for s in splits])
    out = [(np.concatenate([s[2][r][0] for s in splits]),
            np.concatenate([s[2][r][1] for s in splits])) for r in range(n_reducers)]
    return cand, int(sum(s[1] for s in splits)), out


def reduce_exact(min_weight: int, *pieces: tuple[np.ndarray, np.ndarray]
                 ) -> tuple[np.ndarray, int]:
    """Per account pair key, the weights of all pieces added up: the keys reaching
    ``min_weight`` (sorted) and how many distinct keys there are."""
    pieces = [p for p in pieces if p[0].size]
    if not pieces:
        return np.zeros(0, np.int64), 0
    keys = np.concatenate([p[0] for p in pieces])
    w = np.concatenate([p[1] for p in pieces])
    order = np.argsort(keys, kind="stable")
    keys, w = keys[order], w[order]
    start = np.ones(keys.size, dtype=bool)
    start[1:] = keys[1:] != keys[:-1]
    idx = np.flatnonzero(start)
    total = np.add.reduceat(w, idx)
    return keys[idx][total >= min_weight], int(idx.size)


def reduce_single_pass(parts: list[tuple[np.ndarray, np.ndarray]],
                       min_weight: int) -> tuple[np.ndarray, int]:
    """Every ``(keys, weights)`` part added up at once: the reference for
    :func:`reduce_two_pass`."""
    return reduce_exact(min_weight, *parts)


def reduce_two_pass(parts: list[tuple[np.ndarray, np.ndarray]], min_weight: int,
                    n_reducers: int, fp_bits: int = FP_BITS) -> tuple[np.ndarray, int]:
    """The two-pass reduction of the module docstring, in one process (the Dask engine runs the
    same functions as tasks). Each part's keys must be distinct."""
    fps = [pass1_fingerprints(k, n_reducers, fp_bits) for k, _ in parts]
    table = shared_table([shared_fingerprints(*[f[r] for f in fps]) for r in range(n_reducers)])
    splits = [pass2_split(k, w, min_weight, n_reducers, table, fp_bits) for k, w in parts]
    reduced = [reduce_exact(min_weight, *[s[2][r] for s in splits]) for r in range(n_reducers)]
    cand = np.sort(np.concatenate([s[0] for s in splits] + [r[0] for r in reduced])) \
        if parts else np.zeros(0, np.int64)
    return cand, int(sum(s[1] for s in splits) + sum(r[1] for r in reduced))
