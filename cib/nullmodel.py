"""Significance of clusters against a null model that keeps popularity and activity but breaks timing.

The null model (DESIGN §3): objects of the same kind and similar popularity (the number of traces
on them; exact for up to 16, quarter-octave bins above) exchange their *time profiles*. In each null
run every object draws a donor object from its bin at random, and each trace of the object gets a
time drawn without replacement from the donor's share times. So

* every account keeps its objects and number of actions,
* every object keeps its popularity and gets a realistic time profile for that popularity (a viral
  post gets the burst of another viral post, a post shared by 5 accounts the spread of another post
  shared by 5 accounts),
* but which accounts act together in time is random.

A crowd reacting to breaking news looks the same in the null (any burst of that size makes the same
near-simultaneous pairs), so it is not significant; a group that repeatedly acts in lockstep on
objects that are otherwise shared slowly is. A cluster's internal weight is the number of distinct
(account pair, kind, object) co-actions between its members; its ``p_value`` is
``(1 + #{null runs with internal weight >= observed}) / (1 + n_null)``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from .coaction._engine import CodedTraces, SortedTraces, repeated_object_rows
from .coaction._kernel import HAVE_NUMBA, _jit, aggregate_edges, sort_order
from .params import check_number, parse_duration


def benjamini_hochberg(p: np.ndarray, m: float | None = None) -> np.ndarray:
    """Benjamini-Hochberg q-values (false discovery rate) of the p-values ``p``, out of ``m``
    hypotheses (default ``len(p)``; more when the untested ones are known to be unremarkable).

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p, dtype=np.float64)
    if p.size == 0:
        return p.copy()
    m = float(p.size if m is None else max(m, p.size))
    order = np.argsort(p, kind="mergesort")
    ranked = p[order] * m / np.arange(1, p.size + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(p.size)
    out[order] = np.minimum(q, 1.0)
    return out


MIN_BIN_OBJECTS = 50
MAX_BIN_SPAN = 4.0


def _fine_popularity(fine: np.ndarray) -> np.ndarray:
    """The smallest popularity of a fine bin code (its value modulo 10,000)."""
    f = np.asarray(fine, dtype=np.float64)
    return np.where(f <= 16, f, 16.0 * 2.0 ** ((f - 16) / 4.0))


def _popularity_bins(kind_of_group: np.ndarray, size: np.ndarray,
                     min_objects: int = MIN_BIN_OBJECTS,
                     max_span: float = MAX_BIN_SPAN) -> np.ndarray:
    """Popularity bin per object, per kind: exact popularity up to 16 traces, quarter-octave bins
    above; then adjacent bins are pooled, from the least popular up, until each holds at least
    ``min_objects`` objects that have pairs (a bin that only a group's own posts fill would
    otherwise only be compared with itself). A pool never spans more than a factor ``max_span``
    of popularity: a post shared 1,000 times in a breaking-news burst is compared with other
    posts of about that popularity (or only with itself), never with posts shared 40 times,
    whose time profiles say nothing about it. Objects with fewer than two traces form their own
    bin.

    Examples
    --------
    >>> sizes = np.array([2] * 60 + [6] * 15 + [7] * 40)
    >>> b = _popularity_bins(np.zeros(sizes.size, dtype=int), sizes)
    >>> len(set(b[:60])), bool(b[60] == b[-1]), bool(b[0] != b[-1])
    (1, True, True)
    >>> b = _popularity_bins(np.zeros(62, dtype=int), np.array([40] * 60 + [1000, 1100]))
    >>> bool(b[0] == b[59]), bool(b[60] == b[61]), bool(b[0] != b[60])
    (True, True, True)
    """
    size = np.asarray(size, dtype=np.float64)
    kind = np.asarray(kind_of_group, dtype=np.int64)
    fine = np.where(size <= 16, size, 16 + np.floor(4 * np.log2(np.maximum(size, 1) / 16.0)))
    fine = kind * 10_000 + fine.astype(np.int64)
    out = fine.copy()
    if size.size == 0:
        return out
    keys, inverse, counts = np.unique(fine, return_inverse=True, return_counts=True)
    kinds = keys // 10_000
    pop = _fine_popularity(keys % 10_000)
    merged = keys.copy()
    pools: list[tuple[int, int]] = []  # [start, stop) ranges of fine bins
    start = 0
    while start < keys.size:
        k = kinds[start]
        stop, total = start, 0
        if keys[start] % 10_000 < 2:  # objects with < 2 traces: no pairs, keep apart
            stop = start + 1
        else:
            # pool consecutive fine bins of this kind until the pool is big enough, within span
            while stop < keys.size and kinds[stop] == k and pop[stop] <= max_span * pop[start]:
                total += counts[stop]
                stop += 1
                if total >= min_objects:
                    break
            if total < min_objects and pools:
                # a thin pool joins the previous pool of its kind when the span allows
                p0, p1 = pools[-1]
                if kinds[p0] == k and keys[p0] % 10_000 >= 2 and pop[stop - 1] <= max_span * pop[p0]:
                    pools[-1] = (p0, stop)
                    start = stop
                    continue
        pools.append((start, stop))
        start = stop
    for p0, p1 in pools:
        merged[p0:p1] = keys[p0]
    return merged[inverse]


class _InternalWeight:
    """Per cluster, the number of distinct (account pair, object) co-actions among its members,
    for any time array: the group and cluster codes are sorted out once, each call runs the
    aggregation kernel (no co-action is materialised)."""

    def __init__(self, group: np.ndarray, cluster: np.ndarray, account: np.ndarray,
                 n_clusters: int, window_ns: int) -> None:
        key = np.asarray(group, dtype=np.int64) * (n_clusters + 1) + np.asarray(cluster, np.int64)
        self.key = np.unique(key, return_inverse=True)[1].astype(np.int64) if key.size else key
        acc = np.asarray(account, dtype=np.int64)
        self.account = acc
        self.cluster_of = np.zeros(int(acc.max()) + 1 if acc.size else 0, dtype=np.int64)
        self.cluster_of[acc] = cluster
        self.n_clusters = n_clusters
        self.window = int(window_ns)

    def __call__(self, time: np.ndarray, fast: bool = True) -> np.ndarray:
        if self.key.size == 0:
            return np.zeros(self.n_clusters, dtype=np.int64)
        order = sort_order(self.key, time)
        if HAVE_NUMBA and fast:
            # the same sums, without the engine's edge table: per (object, cluster) segment,
            # its distinct co-acting account pairs (a few thousand traces, one thread)
            a = np.ascontiguousarray(self.account[order])
            return _nb_internal_weight(np.ascontiguousarray(self.key[order]),
                                       np.ascontiguousarray(np.asarray(time, np.int64)[order]),
                                       a, self.cluster_of, self.window, self.n_clusters,
                                       int(a.max()) + 1)
        e = aggregate_edges(self.key[order], np.asarray(time, np.int64)[order],
                            self.account[order], self.window, None)
        u = e["u"].astype(np.int64)
        return np.bincount(self.cluster_of[u], weights=e["weight"],
                           minlength=self.n_clusters)[:self.n_clusters].astype(np.int64)


@_jit
def _nb_segment_pairs(t, a, lo, hi, window, width, buf):  # pragma: no cover - compiled
    """The co-acting account pairs (``min * width + max``) of the sorted segment ``[lo, hi)``,
    written to ``buf`` while they fit; returns how many (with repeats)."""
    m = 0
    for p in range(lo, hi):
        q = p + 1
        while q < hi and t[q] - t[p] <= window:
            if a[q] != a[p]:
                if m < buf.shape[0]:
                    x, y = a[p], a[q]
                    buf[m] = x * width + y if x < y else y * width + x
                m += 1
            q += 1
    return m


@_jit
def _nb_internal_weight(key, t, a, cluster_of, window, n_clusters, width):  # pragma: no cover
    """Per cluster, the sum over its (object, cluster) segments ``key`` (sorted by key, then
    time) of the distinct account pairs that co-act in the segment: the sum of the weights
    :func:`aggregate_edges` gives the pairs of each cluster."""
    n = key.shape[0]
    out = np.zeros(n_clusters, np.int64)
    buf = np.empty(1024, np.int64)
    lo = 0
    while lo < n:
        hi = lo + 1
        while hi < n and key[hi] == key[lo]:
            hi += 1
        m = _nb_segment_pairs(t, a, lo, hi, window, width, buf)
        if m > buf.shape[0]:
            buf = np.empty(2 * m, np.int64)
            _nb_segment_pairs(t, a, lo, hi, window, width, buf)
        if m > 0:
            seg = buf[:m]
            seg.sort()
            c = 1
            for k in range(1, m):
                if seg[k] != seg[k - 1]:
                    c += 1
            out[cluster_of[a[lo]]] += c
        lo = hi
    return out


def internal_weight(group: np.ndarray, cluster: np.ndarray, account: np.ndarray,
                    time: np.ndarray, n_clusters: int, window_ns: int) -> np.ndarray:
    """Per cluster, the number of distinct (account pair, object) co-actions among its members.

    ``group`` codes (kind, object). All arrays are aligned, one entry per trace of a clustered
    account; they need not be sorted.
    """
    return _InternalWeight(group, cluster, account, n_clusters, window_ns)(time)


def _poisson_log_tail(k: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``log P(X >= k)`` for ``X ~ Poisson(mu)``, finite far into the tail: where the tail
    underflows, ``log P(X = k) - log(1 - mu / (k + 1))`` (the geometric bound of the tail's
    terms, exact to a factor below 1 + mu / k)."""
    from scipy.stats import poisson

    k = np.asarray(k, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = poisson.logsf(k - 1, mu)
    bad = ~np.isfinite(out) & (k > mu)
    if bad.any():
        kb, mb = k[bad], mu[bad]
        out[bad] = poisson.logpmf(kb, mb) - np.log1p(-mb / (kb + 1))
    return out


#: Co-actions whose distinct events are counted at once in :meth:`_Coded.pair_events` (its
#: sort and temporaries take ~120 bytes a co-action).
EVENT_CHUNK_COACTIONS = 4_000_000


def _pair_chunks(account: np.ndarray, i: np.ndarray, j: np.ndarray, n_acc: int, chunk: int):
    """Indices of the co-actions ``(i, j)`` in pieces of about ``chunk`` (at least one whole
    smaller account each), cut between ranges of the pair's smaller account code: every pair's
    co-actions are in one piece."""
    if i.size <= chunk:
        yield np.arange(i.size)
        return
    from .coaction._partial import _nb_greedy_cuts

    au = np.minimum(account[i], account[j])
    order = np.argsort(au, kind="stable")
    per_acc = np.bincount(au, minlength=n_acc).astype(np.int64)
    bounds = np.searchsorted(au[order], _nb_greedy_cuts(per_acc, chunk))
    del au
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if b > a:
            yield np.sort(order[a:b])


def authors_of(actions: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    """The ``account_id`` of the action with each id in ``ids`` (the first row of an id in
    ``actions``; None where no action has it), as an object array.

    The lookup hashes ``ids`` (the posts acted on), not every action id, with Arrow.

    Examples
    --------
    >>> a = pd.DataFrame({"action_id": ["p1", "p2"], "account_id": ["ann", "bob"]})
    >>> authors_of(a, np.array(["p2", "p9"], dtype=object)).tolist()
    ['bob', None]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(ids) or actions is None or not len(actions):
        return np.full(len(ids), None, dtype=object)
    which, ids = pd.factorize(np.asarray(ids, dtype=object))  # an id asked twice: one answer
    out = np.full(len(ids), None, dtype=object)
    col = actions["action_id"]
    try:  # Python strings straight into Arrow (no pandas copy of the column first)
        col = pa.array(col, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # ids that are not all strings
        col = pa.array(col.astype(str), type=pa.large_string())
    found = pc.fill_null(pc.index_in(col, value_set=pa.array(
        np.asarray(ids, dtype=object), type=pa.large_string())), -1).to_numpy()
    found = found.astype(np.int64)
    del col
    rows = np.flatnonzero(found >= 0)
    first_of, first_row = np.unique(found[rows], return_index=True)
    out[first_of] = actions["account_id"].iloc[rows[first_row]].to_numpy(dtype=object)
    return out[which]


class _Coded(CodedTraces):
    """TRACES coded once as integers, with popularity bins and the account x object incidence:
    the common ground of the edge tests and the null runs."""

    def _finish(self) -> None:
        super()._finish()
        self.bins = _popularity_bins(self.group_kind, self.n)
        _, self.bin_code = np.unique(self.bins, return_inverse=True)
        self._incidence = None
        self._shared: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        # per group, the code of the author of the post it reposts / quotes / replies to (-1:
        # another kind, or the post is not in the data); see set_authors
        self.group_author = np.full(self.n_groups, -1, dtype=np.int64)

    @classmethod
    def repeated(cls, traces: pd.DataFrame
                 ) -> tuple["_Coded", pd.DataFrame, np.ndarray | None]:
        """The traces of objects acted on at least twice, coded with the account codes of all
        ``traces`` (what :func:`cib.detect` tests and draws null runs on: an object acted on
        once pairs with nothing), those traces, and their rows in ``traces`` (None: all)."""
        rows = repeated_object_rows(traces)
        if rows is None:
            return cls(traces), traces, None
        codes, accounts = pd.factorize(traces["account_id"], sort=True)
        part = traces.take(rows).reset_index(drop=True)
        return cls(part, pd.Index(accounts), codes[rows]), part, rows

    def set_authors(self, actions: pd.DataFrame | None,
                    author_of: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        """Learn who wrote the posts that ``repost``, ``quote`` and ``reply`` traces point to,
        from ACTIONS (``action_id`` -> ``account_id``), or from ``author_of`` (post ids ->
        their authors' account ids, None where not in the data: :func:`authors_of` on ACTIONS
        held elsewhere, such as on a Dask cluster's workers).

        With authors known, :meth:`events` counts the co-actions of a pair on posts of one
        author as one piece of evidence: followers of an account see its posts at once and
        react within minutes (a fan club, a news outlet's readers), so reposting one author's
        posts together many times is what following looks like, not coordination. A pair must
        co-act on posts of several authors, or on other kinds of objects, to gain weight."""
        self.group_author = np.full(self.n_groups, -1, dtype=np.int64)
        if author_of is None and (actions is None or actions.empty) or self.n_groups == 0:
            return
        kinds = self.kind_names[self.group_kind]
        rk = np.isin(kinds, ["repost", "quote", "reply"])
        if not rk.any():
            return
        want, which = pd.factorize(pd.Index(self.group_object[rk]).astype(str))
        ids = np.asarray(which, dtype=object)
        found = author_of(ids) if author_of is not None else authors_of(actions, ids)
        of_group = found[want]
        hit = pd.notna(of_group)
        author = np.full(int(rk.sum()), -1, dtype=np.int64)
        if hit.any():
            # codes of the authors among themselves (sorted ids): only equality is used
            author[hit] = pd.factorize(of_group[hit], sort=True)[0]
        self.group_author[rk] = author

    def event_keys(self, g: np.ndarray, au: np.ndarray, av: np.ndarray):
        """The keys :meth:`events` counts for co-actions on groups ``g`` between actions
        ``au``, ``av``: the action pair, or the author of the post acted on (negative)."""
        ga = self.group_author[g]
        authored = ga >= 0
        if not authored.any():
            return au, av
        return np.where(authored, -1 - ga, au), np.where(authored, -1, av)

    def coaction_events(self, i: np.ndarray, j: np.ndarray):
        """Per account pair ``(u, v)`` (codes, ``u < v``) with co-actions among the trace rows
        ``(i, j)``: the distinct events behind them (:meth:`events` on :meth:`event_keys`)."""
        ai, aj = self.account[i], self.account[j]
        swap = ai > aj
        au, av = self.event_keys(self.group[i], np.where(swap, self.action[j], self.action[i]),
                                 np.where(swap, self.action[i], self.action[j]))
        return self.events(np.where(swap, aj, ai), np.where(swap, ai, aj), au, av)

    def pair_events(self, i: np.ndarray, j: np.ndarray, tu: np.ndarray,
                    tv: np.ndarray) -> np.ndarray:
        """:meth:`coaction_events` of the co-actions ``(i, j)`` for the pairs ``(tu, tv)``
        (0 for a pair without any)."""
        n_acc = max(len(self.accounts), 1)
        out = np.zeros(len(tu), dtype=np.int64)
        if i.size == 0 or len(tu) == 0:
            return out
        want = np.asarray(tu, np.int64) * n_acc + np.asarray(tv, np.int64)
        for idx in _pair_chunks(self.account, i, j, n_acc, EVENT_CHUNK_COACTIONS):
            eu, ev, en = self.coaction_events(i[idx], j[idx])
            key = eu * n_acc + ev  # sorted: events() orders by (u, v)
            pos = np.searchsorted(key, want)
            hit = pos < key.size
            hit[hit] = key[pos[hit]] == want[hit]
            out[hit] = en[pos[hit]]
        return out

    @staticmethod
    def events(u: np.ndarray, v: np.ndarray, au: np.ndarray, av: np.ndarray):
        """Per account pair: the number of distinct action pairs behind its co-actions (or
        other event keys, see :meth:`event_keys`). Two posts that share a URL, a hashtag and a
        text are one coincidence, not three."""
        if u.size == 0:
            e = np.empty(0, np.int64)
            return e, e, e
        order = np.lexsort((av, au, v, u))
        u, v, au, av = u[order], v[order], au[order], av[order]
        new = np.ones(u.size, dtype=bool)
        new[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1]) | (au[1:] != au[:-1]) | (av[1:] != av[:-1])
        u, v = u[new], v[new]
        start = np.ones(u.size, dtype=bool)
        start[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        idx = np.flatnonzero(start)
        return u[idx], v[idx], np.diff(np.append(idx, u.size)).astype(np.int64)

    def chance(self, pairs: np.ndarray, removed: np.ndarray) -> np.ndarray:
        """Per object, the pooled chance that two of its shares fall within the window:
        ``pairs`` co-actions per group, of which ``removed`` belong to the pairs under test and
        are left out (see :func:`pair_chance`)."""
        pairs = pairs - removed
        possible = self.n * (self.n - 1) / 2.0 - removed
        nb = int(self.bin_code.max()) + 1 if self.n_groups else 0
        pooled_pairs = np.bincount(self.bin_code, weights=pairs, minlength=nb)
        pooled_possible = np.bincount(self.bin_code, weights=possible, minlength=nb)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(pooled_possible > 0, pooled_pairs / np.maximum(pooled_possible, 1), 0.0)
        return np.clip(c[self.bin_code], 0.0, 1.0)

    @property
    def incidence(self):
        """The account x object incidence (CSR, float64 trace counts, canonical), built on
        first use: the edge tests' numba path reads :meth:`_shared_incidence`, which comes
        from the codes without it (~12 bytes a trace less, and no COO-to-CSR copies)."""
        if self._incidence is None:
            from scipy import sparse

            inc = sparse.csr_matrix((np.ones(len(self.group)), (self.account, self.group)),
                                    shape=(len(self.accounts), self.n_groups))
            inc.sum_duplicates()
            self._incidence = inc
        return self._incidence

    def _shared_incidence(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(indptr, indices, data)`` of the incidence without the objects only one account
        acted on (no pair shares them), computed once from the codes: the distinct (account,
        object) cells in row-major order, as the canonical CSR holds them, with their trace
        counts."""
        if self._shared is None:
            n_groups = max(self.n_groups, 1)
            cells, counts = np.unique(self.account * n_groups + self.group, return_counts=True)
            cols = cells % n_groups
            keep = self.object_accounts[cols] >= 2
            rows = cells[keep] // n_groups
            del cells
            indptr = np.zeros(self.n_accounts + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=self.n_accounts), out=indptr[1:])
            # 32-bit object codes and counts (8 bytes a cell, not 16; common_objects reads
            # them as they are) where they fit
            small = n_groups < 2 ** 31 and (counts.size == 0 or counts.max() < 2 ** 31)
            self._shared = (indptr, cols[keep].astype(np.int32 if small else np.int64),
                            counts[keep].astype(np.int32 if small else np.float64))
        return self._shared

    def pvalues(self, u: np.ndarray, v: np.ndarray, weight: np.ndarray, chance: np.ndarray,
                fast: bool = True):
        """(n_common, expected, log p-value) of account pairs given per-object chances
        (``fast``: the numba kernels of :mod:`cib._edgetest` when available, else scipy's
        sparse product; the results are identical)."""
        from scipy.stats import poisson

        if u.size == 0:
            e = np.empty(0)
            return e.astype(np.int64), e, e
        log_miss = np.log1p(-np.minimum(chance, 1 - 1e-12))
        if HAVE_NUMBA and fast:
            # the sparse product below, without scipy's row copies (same floats)
            from ._edgetest import common_objects, row_sums

            ptr, cols, prod = common_objects(*self._shared_incidence(), u, v)
            n_common = np.diff(ptr)
            expected = row_sums(-np.expm1(prod * log_miss[cols]), ptr)
        else:
            common = self.incidence[u].multiply(self.incidence[v]).tocsr()
            n_common = np.diff(common.indptr)
            common.data = -np.expm1(common.data * log_miss[common.indices])
            expected = np.asarray(common.sum(axis=1)).ravel()
        # the log tail: a pair far beyond its expectation must not tie at p = 0 with others
        logp = _poisson_log_tail(weight.astype(np.float64), np.maximum(expected, 1e-12))
        return n_common.astype(np.int64), expected, logp

    def test(self, st: SortedTraces, tu: np.ndarray, tv: np.ndarray, weight: np.ndarray | None,
             per_group: np.ndarray | None = None, selected: tuple | None = None,
             fast: bool = True) -> dict:
        """Test the account pairs ``(tu, tv)`` (codes, ``tu < tv``) on the traces in the order
        ``st``: the chance of every object with their own co-actions left out, the distinct
        events behind each pair, and the p-values of ``min(weight, events)``."""
        if per_group is None:
            per_group = st.trace_partners()[0]
        i, j = st.select(pairs=(tu, tv), what="co-actions of tested edges") \
            if selected is None else selected
        removed = np.bincount(self.group[i], minlength=self.n_groups).astype(np.float64)
        chance = self.chance(per_group, removed)
        events = self.pair_events(i, j, tu, tv)
        observed = events if weight is None else np.minimum(np.asarray(weight, np.int64), events)
        n_common, expected, logp = self.pvalues(tu, tv, observed, chance, fast=fast)
        return {"events": events, "n_common": n_common, "expected": expected,
                "p_value": np.exp(logp), "log_p": logp, "chance": chance}

    def null_logp(self, null: TimeSwapNull, time: np.ndarray, window_ns: int, cap: int,
                  min_weight: float, with_pairs: bool = False):
        """The log p-values of one null run's edges, float for float what the reference path
        gives (``SortedTraces(self, time, ...)``, its ``edges(min_weight)``, then :meth:`test`
        of those edges; see ``_null_fdr(..., fast=False)``), in the edges' order. One
        account-major numba pass (:func:`cib._edgetest.null_edges`) finds the edges, their
        events and the chance's counts without materialising, sorting or hashing any
        co-action. Needs numba. With ``with_pairs``, ``(u, v, log_p)`` (account codes)."""
        from ._edgetest import group_time_order, null_edges
        from .coaction._kernel import _LOW32, _min_weight, _nb_by_account, _nb_records_at

        if self.group.size == 0:
            return _no_pairs() if with_pairs else np.empty(0)
        order, gstart, _ = null._plan(None)
        time = np.ascontiguousarray(time, dtype=np.int64)
        srt = group_time_order(order, gstart, time)
        rec = _nb_records_at(self.group, time, self.account, srt)
        # the run's arrays go as soon as they are used (the caller may hand ``time`` over)
        del time
        act = self.action[srt]
        del srt
        start, byacc = _nb_by_account(rec[:, 1] & _LOW32, self.n_accounts)
        e = null_edges(rec, act, self.group_author, window_ns, cap, start, byacc,
                       _min_weight(min_weight), self.n_groups, int(self.action.max()) + 1)
        del rec, act, start, byacc
        if e["u"].size == 0:
            return _no_pairs() if with_pairs else np.empty(0)
        chance = self.chance(e["pairs"].astype(np.float64), e["removed"].astype(np.float64))
        lp = self.pvalues(e["u"], e["v"], np.minimum(e["weight"], e["events"]), chance)[2]
        return (e["u"].astype(np.int64), e["v"].astype(np.int64), lp) if with_pairs else lp


def _no_pairs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)


def pair_chance(traces: pd.DataFrame, window: float | str = 60,
                exclude: pd.DataFrame | None = None) -> pd.Series:
    """Per object, the chance that two of its shares by different accounts fall within the window,
    pooled over objects of the same kind and popularity bin (exact popularity up to 16 traces,
    quarter-octave bins above).

    Pooling matters: an object pushed only by a lockstep group has all its shares inside the window,
    but few other objects of that popularity do, so its chance stays low; a viral post's burst is
    matched by the bursts of other viral posts, so its chance is high. The co-actions of the account
    pairs in ``exclude`` (``account_u``, ``account_v``: the pairs under test) are left out of the
    estimate, so that a group's own lockstep objects do not raise the chance it is tested against.

    Returns a Series indexed by (kind, object_id).
    """
    w = parse_duration(window, "window", "pair_chance")
    c = _Coded(traces)
    st = SortedTraces(c, window_ns=int(round(w * 1e9)))
    tu, tv = _pair_codes(c, exclude)
    per_group = st.trace_partners()[0]
    i, j = st.select(pairs=(tu, tv)) if tu.size else (np.empty(0, np.int64),) * 2
    removed = np.bincount(c.group[i], minlength=c.n_groups).astype(np.float64)
    chance = c.chance(per_group, removed)
    index = pd.MultiIndex.from_arrays([c.kind_names[c.group_kind],
                                       np.asarray(c.group_object, dtype=object)],
                                      names=["kind", "object_id"])
    return pd.Series(chance, index=index, name="chance")


def _pair_codes(c: _Coded, edges: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    if edges is None or edges.empty:
        e = np.empty(0, np.int64)
        return e, e
    u = c.accounts.get_indexer(edges["account_u"]).astype(np.int64)
    v = c.accounts.get_indexer(edges["account_v"]).astype(np.int64)
    return np.minimum(u, v), np.maximum(u, v)


def edge_significance(edges: pd.DataFrame, traces: pd.DataFrame, window: float | str = 60,
                      min_weight: float = 2, fdr_runs: int = 20, seed: int = 0, *,
                      max_partners: int | None = None,
                      budget_pairs: int | None = None) -> pd.DataFrame:
    """Test every edge's weight against what chance timing would give the pair.

    For an account pair, every object both accounts acted on (at any time) is a trial that ends in
    a co-action with probability ``1 - (1 - c) ** (n_u * n_v)``, where ``c`` is the object's pooled
    :func:`pair_chance` and ``n_u``, ``n_v`` the two accounts' numbers of traces on it (an account
    that uses a hashtag 200 times meets everyone else who uses it). The expected weight is the sum
    of those chances; the edge's ``p_value`` is the Poisson upper tail ``P(X >= k)`` with that
    mean (conservative for the Poisson-binomial it approximates), where ``k`` is the weight, or the
    number of distinct action pairs behind it (``n_events``) when smaller: one post pair that
    shares a URL, a hashtag and a text is one coincidence, not three.

    ``q_value`` is the false discovery rate at that p-value, measured on null data: the whole edge
    stage (co-action join, ``min_weight``, these p-values) is run ``fdr_runs`` times on the
    :class:`TimeSwapNull` (same accounts, objects and popularity; random timing), and for each
    observed p-value ``p`` the q-value is the expected number of false edges with a p-value at
    most ``p`` over the number of observed ones (made monotone, capped at 1). The expected number
    is the null edges per run with a p-value at most ``p``, and never less than ``m_eff * p``,
    where ``m_eff`` (the effective number of tests) is measured on the null runs where they have
    enough edges (p <= 0.001, 0.01, ... with at least 5 edges per run): a p-value smaller than any
    null run showed gets an honest, finite estimate instead of zero. This accounts for every
    account pair that could have co-acted by chance without enumerating them. With ``fdr_runs=0`` the q-value is the Benjamini-Hochberg q-value
    over the given edges only (which ignores all the pairs that never co-acted).

    Parameters
    ----------
    edges : DataFrame
        Combined EDGES to test (``account_u``, ``account_v``, ``weight``).
    traces : DataFrame
        All TRACES.
    window, min_weight
        As given to the co-action join and the threshold that produced ``edges``.
    fdr_runs : int, default 20
        Null runs for the false discovery rate.
    seed : int, default 0
        Seed of the null runs.
    max_partners, budget_pairs : optional
        As given to the co-action engine (:class:`cib.coaction._engine.SortedTraces`); the null
        runs use the same.

    Returns
    -------
    DataFrame
        ``edges`` with ``n_events`` (distinct action pairs behind the co-actions), ``n_common``
        (objects both accounts acted on), ``expected``, ``p_value`` and ``q_value`` added.
    """
    w = parse_duration(window, "window", "edge_significance")
    check_number(fdr_runs, "fdr_runs", "edge_significance", low=0, integer=True)
    out = edges.copy()
    if edges.empty or traces.empty:
        for col in ("n_events", "n_common", "expected", "p_value", "q_value"):
            out[col] = pd.Series([], dtype="float64")
        return out
    window_ns = int(round(w * 1e9))
    c = _Coded.repeated(traces)[0]  # as detect codes them (same null draws)
    st = SortedTraces(c, window_ns=window_ns, max_partners=max_partners, budget_pairs=budget_pairs)
    tu, tv = _pair_codes(c, edges)
    return _significance(c, st, edges, tu, tv, None, None, min_weight, fdr_runs, seed)


def _significance(c: _Coded, st: SortedTraces, edges: pd.DataFrame, tu: np.ndarray,
                  tv: np.ndarray, per_group: np.ndarray | None, selected: tuple | None,
                  min_weight: float, fdr_runs: int, seed: int,
                  group_fdr: float | None = None, copy: bool = True) -> pd.DataFrame:
    """:func:`edge_significance` on coded traces (the pipeline passes the passes it already ran);
    with ``group_fdr`` (and ``fdr_runs``), also :func:`_edge_groups` (column ``edge_group``).
    ``copy=False`` adds the columns to ``edges`` itself."""
    out = edges.copy() if copy else edges
    res = c.test(st, tu, tv, edges["weight"].to_numpy(dtype=np.int64), per_group, selected)
    p = res["p_value"]
    out["n_events"] = res["events"]
    out["n_common"] = res["n_common"]
    out["expected"] = res["expected"]
    out["p_value"] = p
    out["log10_p"] = res["log_p"] / np.log(10.0)
    if fdr_runs and group_fdr is not None:
        from .timing import GROUP_EDGE_P

        q, null_pairs = _null_fdr(c, st, res["log_p"], min_weight, int(fdr_runs), seed,
                                  pairs_below=np.log(GROUP_EDGE_P))
        group, group_q = _edge_groups(c.n_accounts, tu, tv, p, q, null_pairs, seed, group_fdr)
        inside = group >= 0
        q[inside] = np.minimum(q[inside], group_q[group[inside]])
        out["q_value"] = q
        out["edge_group"] = group
    elif fdr_runs:
        out["q_value"] = _null_fdr(c, st, res["log_p"], min_weight, int(fdr_runs), seed)
    else:
        out["q_value"] = benjamini_hochberg(p)
    return out


def _edge_groups(n_accounts: int, tu: np.ndarray, tv: np.ndarray, p: np.ndarray, q: np.ndarray,
                 null_pairs: list[tuple], seed: int, fdr: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Groups of accounts whose co-action edges are each only moderately significant, tested as
    groups.

    A group that hides its pushes in organic activity (a tenth of what its members do) gives
    each member pair five co-actions against 0.5 expected: ``p ~ 1e-4``, which the edge false
    discovery rate, run over every pair that could have co-acted, does not let through one by
    one (``q ~ 0.1``). Twenty such accounts, though, hold 190 of them. As for timing groups
    (:func:`cib.timing._group_logp`), the pairs with ``p <= GROUP_EDGE_P`` link accounts,
    Leiden splits them into communities, members need more such pairs inside than 1 % of the
    accounts would get by chance, and a community's statistic is the Poisson tail of its
    internal such pairs; the same is done on the edge stage's own null runs
    (``null_pairs``: ``(u, v, log_p)`` per run, its pairs with ``p <= GROUP_EDGE_P``), on which the communities' false discovery
    rate is calibrated (:func:`calibrated_qvalues`).

    Accounts in pairs already significant on their own (``q <= fdr``) are left out, in the
    observed data and in every null run: their groups are found without this test, and their
    own pushes, which exchange time profiles with each other in the null runs (a popularity
    bin that a group's posts fill), re-make them there at full strength and would hide every
    weaker group behind them.

    Returns, per pair, the index of the significant group it lies inside (-1: none; groups
    0, 1, ... by decreasing size), and per group its ``q_value``.
    """
    from .timing import GROUP_EDGE_P, _group_logp

    none = np.full(tu.size, -1, dtype=np.int64)
    skip = np.zeros(n_accounts, dtype=bool)
    strong = q <= fdr
    skip[tu[strong]] = True
    skip[tv[strong]] = True
    keep = ~skip[tu] & ~skip[tv]
    if not (keep & (p <= GROUP_EDGE_P)).any():
        return none, np.zeros(0)
    lab, lp = _group_logp(tu[keep], tv[keep], p[keep], n_accounts, seed)
    if lp.size == 0:
        return none, np.zeros(0)
    null_lp = []
    for nu, nv, nlp in null_pairs:
        k = ~skip[nu] & ~skip[nv]
        null_lp.append(_group_logp(nu[k], nv[k], np.exp(nlp[k]), n_accounts, seed)[1])
    gq = calibrated_qvalues(lp, null_lp, len(null_pairs))
    size = np.bincount(lab[lab >= 0], minlength=lp.size)
    sig = (gq <= fdr) & (size >= 3)
    new = np.full(lp.size, -1, dtype=np.int64)
    new[sig] = np.arange(int(sig.sum()))
    inside = keep & (lab[tu] == lab[tv]) & (lab[tu] >= 0) & (p <= GROUP_EDGE_P)
    group = np.where(inside, new[np.maximum(lab[tu], 0)], -1)
    return group, gq[sig]


def _null_fdr(c: _Coded, st: SortedTraces, logp_observed: np.ndarray, min_weight: float,
              runs: int, seed: int, fast: bool = True, pairs_below: float | None = None):
    """q-values of the observed log p-values, calibrated on ``runs`` null runs of the edge stage
    (see :func:`edge_significance`). Everything is compared on log p, so pairs far beyond their
    expectation keep their order instead of tying at p = 0. ``fast=False`` runs the reference
    path (:meth:`_Coded.test` per run) that :meth:`_Coded.null_logp` reproduces. With
    ``pairs_below`` (a log p-value), also each run's pairs at most that (``(u, v, log_p)``,
    account codes)."""
    null = TimeSwapNull.from_coded(c)
    rng = np.random.default_rng(seed)
    null_lp: list[np.ndarray] = []
    null_pairs: list[tuple] = []
    if fast and st.numba and runs:
        st.release()  # the observed structures are not read by the runs: not beside theirs
    for _ in range(runs):
        if fast and st.numba:
            # the times handed over: null_logp lets them go once its records hold them
            got = c.null_logp(null, null.sample(rng), st.window, st.cap, min_weight,
                              with_pairs=True)
            if pairs_below is not None:
                low = got[2] <= pairs_below
                null_pairs.append(tuple(x[low] for x in got))
            null_lp.append(got[2])
            continue
        time = null.sample(rng)
        sn = SortedTraces(c, time, window_ns=st.window, max_partners=st.max_partners,
                          budget_pairs=st.budget, max_selected=st.max_selected,
                          use_numba=st.numba)
        e = sn.edges(min_weight)
        if e["u"].size:
            cu = e["u"].astype(np.int64)
            cv = e["v"].astype(np.int64)
            null_lp.append(c.test(sn, cu, cv, e["weight"], fast=fast)["log_p"])
            if pairs_below is not None:
                low = null_lp[-1] <= pairs_below
                null_pairs.append((cu[low], cv[low], null_lp[-1][low]))
        elif pairs_below is not None:
            null_pairs.append(_no_pairs())
    pooled = np.sort(np.concatenate(null_lp)) if null_lp else np.empty(0)
    order = np.argsort(logp_observed, kind="mergesort")
    ls = logp_observed[order]
    n_obs = np.searchsorted(ls, ls, side="right").astype(np.float64)
    # expected false edges at p: what the null runs show, and never less than the effective
    # number of tests times p (measured where the null runs have enough edges), so a p-value
    # smaller than any null run could show still gets an honest, finite estimate
    m_eff = _effective_tests(pooled, runs)
    n_null = np.maximum(np.searchsorted(pooled, ls, side="right") / runs, m_eff * np.exp(ls))
    q_sorted = np.minimum(1.0, n_null / n_obs)
    q_sorted = np.minimum.accumulate(q_sorted[::-1])[::-1]
    q = np.empty_like(q_sorted)
    q[order] = q_sorted
    return (q, null_pairs) if pairs_below is not None else q


def _effective_tests(pooled: np.ndarray, runs: int, min_count: float = 5.0) -> float:
    """How many independent edge tests the null runs behave like: null edges with p <= t per run,
    over t, at the smallest t of 0.001, 0.01, 0.05, 0.2, 1 with at least ``min_count`` such edges
    per run (or t = 1). ``pooled``: the null runs' sorted log p-values."""
    for t in (0.001, 0.01, 0.05, 0.2, 1.0):
        count = np.searchsorted(pooled, np.log(t), side="right") / max(runs, 1)
        if count >= min_count or t == 1.0:
            return max(count / t, 1.0)
    return 1.0  # pragma: no cover


class TimeSwapNull:
    """The null model's sampler: draws null share times for every trace.

    Built once from TRACES; each :meth:`sample` call is one null run (objects of a popularity bin
    exchange time profiles, traces get donor times drawn without replacement).
    """

    def __init__(self, traces: pd.DataFrame) -> None:
        self._setup(_Coded(traces))

    @classmethod
    def from_coded(cls, coded: "_Coded") -> "TimeSwapNull":
        self = cls.__new__(cls)
        self._setup(coded)
        return self

    def _setup(self, c: "_Coded") -> None:
        self.group = c.group
        self.time = c.time
        self.n_groups = c.n_groups
        from .coaction._kernel import is_sorted

        # TRACES come sorted by (kind, object, time): then the sorted times are the times
        self._sorted = is_sorted(self.group, self.time)
        self.t_sorted = self.time if self._sorted else \
            self.time[np.lexsort((self.time, self.group))]
        self.size = np.bincount(self.group, minlength=self.n_groups)
        self.start = np.concatenate([[0], np.cumsum(self.size)[:-1]]).astype(np.int64)
        self.bins = c.bins
        self._by_bin = np.lexsort((np.arange(self.n_groups), self.bins)).astype(np.int64)
        b = self.bins[self._by_bin]
        self._bin_start = np.flatnonzero(np.concatenate(([True], b[1:] != b[:-1], [True]))) \
            .astype(np.int64) if self.n_groups else np.zeros(1, np.int64)
        self._plans: dict[int, tuple] = {}
        self._g_sorted: dict[int, tuple] = {}

    def _plan(self, subset: np.ndarray | None) -> tuple:
        """The traces (all, or the subset) grouped by object, computed once per subset."""
        key = 0 if subset is None else hash(np.asarray(subset, dtype=bool).tobytes())
        if key not in self._plans and subset is None and self._sorted:
            # already grouped: the identity (None), without its arrays
            self._plans[key] = (None, np.concatenate(([0], np.cumsum(self.size))).astype(np.int64),
                                self.group.size)
        if key not in self._plans:
            rows = np.arange(self.group.size) if subset is None else np.flatnonzero(subset)
            g = self.group[rows]
            order = np.argsort(g, kind="stable")
            counts = np.bincount(g, minlength=self.n_groups)
            gstart = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
            # where each subset trace lands in the output (the subset's own order)
            self._plans[key] = (order.astype(np.int64), gstart, rows.size)
        return self._plans[key]

    def sample(self, rng: np.random.Generator, subset: np.ndarray | None = None,
               donors: np.ndarray | None = None) -> np.ndarray:
        """Null times (int64 ns) for the traces (or the boolean ``subset`` of them).

        Each object draws a donor of its popularity bin; its traces get donor times without
        replacement (a partial Fisher-Yates shuffle of the donor's times) where the donor has
        enough, with replacement otherwise. One uniform number per trace drives the draw, so the
        compiled and the plain-Python kernel give identical times.

        ``donors`` (bool per group code) restricts the donors: each object draws one of the
        allowed objects of its bin at random (with replacement); bins without any keep the
        plain exchange. Used to keep time profiles that coordination made (the objects of
        flagged clusters) out of a null run."""
        shuffled = _nb_shuffle_segments(self._by_bin, self._bin_start, rng.random(self.n_groups))
        donor = np.empty(self.n_groups, dtype=np.int64)
        donor[self._by_bin] = shuffled
        if donors is not None and self.n_groups:
            pick = rng.random(self.n_groups)
            nb = self._bin_start.size - 1
            bin_sorted = np.repeat(np.arange(nb), np.diff(self._bin_start))
            ok = np.asarray(donors, dtype=bool)[self._by_bin]
            allowed, allowed_bin = self._by_bin[ok], bin_sorted[ok]
            cnt = np.bincount(allowed_bin, minlength=nb)
            first = np.concatenate(([0], np.cumsum(cnt)[:-1]))
            bin_of = np.empty(self.n_groups, dtype=np.int64)
            bin_of[self._by_bin] = bin_sorted
            c = cnt[bin_of]
            has = c > 0
            k = np.minimum((pick * c).astype(np.int64), np.maximum(c - 1, 0))
            donor = np.where(has, allowed[np.minimum(first[bin_of] + k, max(allowed.size - 1, 0))]
                             if allowed.size else donor, donor)
        order, gstart, n = self._plan(subset)
        u = rng.random(n)
        pos = _nb_null_positions(gstart, self.size[donor].astype(np.int64), u,
                                 int(self.size.max()) if self.size.size else 0)
        if order is None:  # the traces in group order already
            return self.t_sorted[self.start[donor[self.group]] + pos]
        out = np.empty(n, dtype=np.int64)
        key = id(order)  # the plan's group of each grouped trace, computed once per plan
        if self._g_sorted.get(key, (None,))[0] is not order:
            self._g_sorted[key] = (order, np.repeat(np.arange(self.n_groups), np.diff(gstart)))
        d = donor[self._g_sorted[key][1]]
        out[order] = self.t_sorted[self.start[d] + pos]
        return out


@_jit
def _nb_swap(a, x, y):  # pragma: no cover - compiled
    tmp = a[x]
    a[x] = a[y]
    a[y] = tmp


@_jit
def _nb_shuffle_segments(members, seg_start, u):  # pragma: no cover - compiled
    """A Fisher-Yates shuffle of each segment ``members[seg_start[b]:seg_start[b + 1]]``."""
    out = members.copy()
    for b in range(seg_start.shape[0] - 1):
        lo = seg_start[b]
        k = seg_start[b + 1] - lo
        for x in range(k - 1, 0, -1):
            y = int(u[lo + x] * (x + 1))
            if y > x:
                y = x
            tmp = out[lo + x]
            out[lo + x] = out[lo + y]
            out[lo + y] = tmp
    return out


@_jit
def _nb_null_positions(gstart, donor_size, u, max_size):  # pragma: no cover - compiled
    """Per trace (grouped by object), a position in its donor's time list: without replacement
    (partial Fisher-Yates on a scratch identity, undone afterwards) when the donor has at least
    as many times as the object has traces, else with replacement."""
    n = u.shape[0]
    pos = np.empty(n, np.int64)
    scratch = np.arange(max(max_size, 1))
    for g in range(gstart.shape[0] - 1):
        lo = gstart[g]
        k = gstart[g + 1] - lo
        if k == 0:
            continue
        m = donor_size[g]
        if m >= k:
            for x in range(k):
                _nb_swap(scratch, x, min(x + int(u[lo + x] * (m - x)), m - 1))
                pos[lo + x] = scratch[x]
            for x in range(k - 1, -1, -1):  # undo the swaps: scratch is the identity again
                _nb_swap(scratch, x, min(x + int(u[lo + x] * (m - x)), m - 1))
        else:
            for x in range(k):
                y = int(u[lo + x] * m)
                if y >= m:
                    y = m - 1
                pos[lo + x] = y
    return pos


def cluster_pvalues(traces: pd.DataFrame, labels: pd.Series, window: float | str = 60,
                    n_null: int = 100, seed: int = 0, coded: "_Coded | None" = None,
                    return_null: bool = False):
    """Test every cluster's internal co-action weight against the null model.

    Parameters
    ----------
    traces : DataFrame
        All TRACES (the null model needs every object's popularity and time profile).
    labels : Series
        Cluster label per account (index ``account_id``); labels < 0 are ignored.
    window : float or str
        The co-action window.
    n_null : int, default 100
        Null runs. The smallest attainable p-value is ``1 / (1 + n_null)``.
    seed : int, default 0
        Seed of the null runs.
    coded : optional
        The traces already coded (internal; saves coding them again).
    return_null : bool, default False
        Also return the null internal weights, an ``(n_null, clusters)`` array (to combine this
        test with another one run for run, see :func:`cib.timing.combine_timing_pvalues`).

    Returns
    -------
    DataFrame
        ``cluster_id``, ``observed`` (internal weight), ``null_mean``, ``p_value``, one row per
        label >= 0, sorted by cluster_id.

    Examples
    --------
    >>> from cib.datasets import simulate
    >>> from cib.traces import build_traces
    >>> actions, truth = simulate(n_accounts=300, n_groups=2, seed=3)
    >>> traces = build_traces(actions)
    >>> planted = truth.set_index("account_id")["group"]
    >>> res = cluster_pvalues(traces, planted, window=60, n_null=20, seed=0)
    >>> bool((res["p_value"] <= 0.05).all())
    True
    """
    w = parse_duration(window, "window", "cluster_pvalues")
    check_number(n_null, "n_null", "cluster_pvalues", low=0, integer=True)
    check_number(seed, "seed", "cluster_pvalues", low=0, integer=True)
    labels = labels[labels >= 0]
    cluster_ids = np.sort(labels.unique()).astype(np.int64)
    out = pd.DataFrame({"cluster_id": cluster_ids})
    if len(cluster_ids) == 0 or traces.empty:
        out["observed"] = np.zeros(len(out), dtype=np.int64)
        out["null_mean"] = 0.0
        out["p_value"] = 1.0
        return (out, np.zeros((int(n_null), len(out)), np.int64)) if return_null else out
    window_ns = int(round(w * 1e9))
    cl_index = pd.Series(np.arange(len(cluster_ids)), index=cluster_ids)
    if coded is None:  # as detect codes them (same null draws)
        coded = _Coded.repeated(traces)[0]
    null = TimeSwapNull.from_coded(coded)
    # per account code, then per trace: no column of Python strings
    lab_acc = pd.Series(coded.accounts.to_numpy(dtype=object)).map(labels) \
        .to_numpy(dtype=np.float64)
    lab = lab_acc[coded.account]
    sel = ~np.isnan(lab)
    # account codes follow the sorted ids, so factorizing the codes sorts like the ids
    r_account, _ = pd.factorize(coded.account[sel], sort=True)
    r_group = null.group[sel]
    r_cluster = cl_index.loc[lab[sel].astype(np.int64)].to_numpy(dtype=np.int64)
    r_account = r_account.astype(np.int64)
    k = len(cluster_ids)
    weigh = _InternalWeight(r_group, r_cluster, r_account, k, window_ns)
    observed = weigh(null.time[sel])

    rng = np.random.default_rng(seed)
    runs = np.zeros((int(n_null), k), dtype=np.int64)
    for r in range(int(n_null)):
        runs[r] = weigh(null.sample(rng, sel))
    out["observed"] = observed
    out["null_mean"] = runs.mean(axis=0) if n_null else 0.0
    out["p_value"] = (1.0 + (runs >= observed).sum(axis=0)) / (1.0 + n_null)
    return (out, runs) if return_null else out


#: Null findings with a log p-value at most log(TAIL_P) form the tail that
#: :func:`_tail_floor` extrapolates.
TAIL_P = 0.05


def _tail_floor(pooled: np.ndarray, runs: int, lp: np.ndarray) -> np.ndarray:
    """Null findings per run expected at log p-values ``lp`` or below, extrapolated from the
    null runs' tail (``pooled``: their sorted log p-values).

    The log p-value of a finding chosen from the data (a discovered community, a cluster of
    significant edges) is not calibrated: null runs reach p = 1e-5 several times per run.
    Beyond the most extreme null finding there is no count to go by; the null log p-values
    below ``log(TAIL_P)`` are taken
    as exponential in their excess (the tail model of permutation tests): with ``N0`` of them
    per run and a mean excess ``m``, ``N(x) = N0 exp((x - log TAIL_P) / m)``, never a thinner
    tail than calibrated p-values give (``m >= 1``). Without a null tail, calibrated p-values
    are assumed: the null communities per run times p."""
    x0 = np.log(TAIL_P)
    lp = np.asarray(lp, dtype=np.float64)
    tail = pooled[pooled <= x0]
    if tail.size < 2:
        return max(pooled.size / max(runs, 1), 1.0) * np.exp(lp)
    # the rate's unbiased estimate from an exponential sample, (n - 1) / sum of excesses
    excess = float(np.sum(x0 - tail))
    m = max(excess / (tail.size - 1), 1.0) if excess > 0 else 1.0
    n0 = tail.size / runs
    return np.where(lp <= x0, n0 * np.exp((lp - x0) / m), n0)




def calibrated_qvalues(lp_obs: np.ndarray, null_lp: list[np.ndarray], runs: int
                       ) -> np.ndarray:
    """False discovery rates of findings chosen from the data (communities), calibrated on the
    same procedure run on ``runs`` null runs: at each observed log p-value, the null findings
    per run at least as extreme (never fewer than the null tail extrapolated,
    :func:`_tail_floor`) over the observed findings at least as extreme, made monotone.

    Examples
    --------
    >>> q = calibrated_qvalues(np.log([1e-12, 0.2]), [np.log([0.01, 0.5])] * 4, 4)
    >>> bool(q[0] < 1e-3), round(float(q[1]), 2)
    (True, 0.5)
    """
    lp_obs = np.asarray(lp_obs, dtype=np.float64)
    if lp_obs.size == 0:
        return np.zeros(0)
    pooled = np.sort(np.concatenate(null_lp)) if len(null_lp) else np.empty(0)
    order = np.argsort(lp_obs, kind="mergesort")
    ls = lp_obs[order]
    n_obs = np.searchsorted(ls, ls, side="right").astype(np.float64)
    n_null = np.maximum(np.searchsorted(pooled, ls, side="right") / max(runs, 1),
                        _tail_floor(pooled, runs, ls))
    q_sorted = np.minimum.accumulate(np.minimum(1.0, n_null / n_obs)[::-1])[::-1]
    q = np.empty_like(q_sorted)
    q[order] = q_sorted
    return q


def cluster_qvalues(labels: pd.Series, graph_edges: pd.DataFrame, candidates: pd.DataFrame,
                    timing_pairs: pd.DataFrame | None = None, *, min_weight: float = 2,
                    edge_fdr: float = 0.01, exclude=()) -> pd.Series:
    """The false discovery rate of the clusters that hang on single edges, the selection of
    their members from the data included.

    A cluster's fixed-membership test (:func:`cluster_pvalues`) does not know its members were
    chosen because they co-act: a pair of organic accounts whose one edge passed the edge test
    by chance is, as a cluster, beyond every null run. The edge false discovery rate bounds the
    share of false *edges*; a false edge, though, makes a whole false cluster (a lone pair, or
    a pair hanging on an account that is in another false pair), while a true cluster holds
    dozens of edges. Clusters whose significant edges form a *tree* (as many edges as accounts
    minus one: each edge needed to hold them together) are what false edges make; a cycle
    needs three or more false edges among the same accounts. For the tree clusters:

    - a cluster's *strength* is its strongest internal significant edge, as the number of
      false edges at least that strong expected per null run: ``q_value x rank`` of the edge
      among the tested pairs (co-action edges, and timing pairs by their own test); every
      false tree cluster holds at least one false edge at least as weak as its strongest;
    - its q-value is that number over the tree clusters at least as strong (made monotone, at
      most 1).

    Clusters with a cycle of significant edges, and ``exclude``, get NaN.

    Parameters
    ----------
    labels : Series
        Cluster label per ``account_id`` (< 0: none).
    graph_edges : DataFrame
        The edges of the account graph (``account_u``, ``account_v``, ``q_value``, and
        ``timing_q_value`` when timing ran).
    candidates : DataFrame
        Every tested co-action pair: ``account_u``, ``account_v``, ``weight``, ``log10_p``,
        ``q_value``.
    timing_pairs : DataFrame, optional
        Every pair tested for timing similarity (``account_u``, ``account_v``, ``p_value``,
        ``q_value``, see :func:`cib.timing.timing_edges`).
    min_weight, edge_fdr : float
        The edge test's: pairs below ``min_weight`` were not tested; an edge is significant at
        ``q_value <= edge_fdr``.
    exclude : iterable of int
        Cluster ids not built from edges (discovered groups).

    Returns
    -------
    Series
        q-value per cluster id (index: the labels >= 0).

    Examples
    --------
    Two lone pairs: one with an overwhelming edge, one whose edge barely passed (4 false edges
    that strong per null run, among 500 significant ones)

    >>> import pandas as pd
    >>> labels = pd.Series([0, 0, 1, 1], index=["a", "b", "c", "d"])
    >>> cand = pd.DataFrame({"account_u": ["a", "c"] + ["x"] * 498,
    ...                      "account_v": ["b", "d"] + [f"y{i}" for i in range(498)],
    ...                      "weight": 3, "log10_p": [-30.0, -2.5] + [-5.0] * 498,
    ...                      "q_value": [1e-25, 0.008] + [1e-4] * 498})
    >>> cluster_qvalues(labels, cand.iloc[:2], cand).round(3).tolist()
    [0.0, 1.0]
    """
    lab = labels[labels >= 0]
    ids = np.sort(pd.unique(lab.to_numpy(dtype=np.int64)))
    out = pd.Series(np.nan, index=pd.Index(ids, name="cluster_id"), dtype="float64")
    e = graph_edges
    if not len(ids) or e.empty:
        return out

    def false_at(frame: pd.DataFrame, p: str) -> pd.Series:
        """Per significant pair, the false edges at least as strong per null run."""
        x = frame[p].to_numpy(dtype=np.float64)
        n0 = frame["q_value"].to_numpy(dtype=np.float64) * np.searchsorted(np.sort(x), x, "right")
        sig = frame["q_value"].to_numpy() <= edge_fdr
        key = (frame["account_u"].astype(str) + "\0" + frame["account_v"].astype(str))[sig]
        s = pd.Series(n0[sig], index=key.to_numpy())
        return s[~s.index.duplicated()]

    co = false_at(candidates[candidates["weight"] >= min_weight], "log10_p")
    tm = false_at(timing_pairs, "p_value") if timing_pairs is not None and len(timing_pairs) \
        else pd.Series(dtype="float64")
    cu, cv = e["account_u"].map(lab), e["account_v"].map(lab)
    inside = (cu.notna() & (cu == cv)).to_numpy()
    if not inside.any():
        return out
    ek = (e["account_u"].astype(str) + "\0" + e["account_v"].astype(str))[inside].to_numpy()
    strength = np.fmin(co.reindex(ek).to_numpy(dtype=np.float64),
                       tm.reindex(ek).to_numpy(dtype=np.float64))
    per = pd.DataFrame({"c": cu[inside].astype(np.int64).to_numpy(), "s": strength}) \
        .groupby("c")["s"].agg(["min", "size"])
    size = lab.value_counts()
    tree = (per["size"] == per.index.map(size) - 1) & per["min"].notna() \
        & ~per.index.isin(list(exclude))
    per = per.loc[tree, "min"]
    if per.empty:
        return out
    order = np.argsort(per.to_numpy(), kind="mergesort")
    x = per.to_numpy()[order]
    rank = np.searchsorted(x, x, side="right").astype(np.float64)
    q = np.minimum.accumulate(np.minimum(1.0, x / rank)[::-1])[::-1]
    out.loc[per.index.to_numpy()[order]] = q
    return out
