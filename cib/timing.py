"""Timing similarity: accounts that post at the same moments without sharing any object.

A group that runs its accounts from one schedule posts different texts, links and hashtags, so
the co-action join finds nothing, yet its accounts are active in the same minutes, day after
day. Two organic accounts also share minutes, by chance, and more of them when both are busy or
when both post at moments that are busy anyway: on the hour, where schedulers post (brand
accounts), or in the evening.

Signal
    Each account's original posts (``action_type == "post"``; reposts, replies and quotes follow
    someone else's post and are left to the co-action join) are put into time bins of
    ``bin_s`` seconds (default 60). Two accounts' *common bins* are the bins both posted in.
    Candidate pairs share at least ``min_common`` bins; they are found by an account-major scan
    (:func:`_nb_pair_block`: each account against the later posters of its bins, counted in a
    scratch table), so a busy minute costs time but no memory. Only the pairs that can be
    significant are finished by default (:func:`timing_edges`, Notes). ``weighted`` sums the
    popularity discount ``1 / log2(k)`` over the common bins (``k`` = accounts posting in the
    bin): a busy minute that everyone posts in says little.

Null model: shifts by whole hours
    What would the pair share if the two schedules were unrelated but each kept its own rhythm?
    Shift one account's posts by ``s`` whole hours, ``s = ±1 ... ±max_shift_h``, and count the
    common bins again. A shift by whole hours keeps everything periodic within the hour: an
    account that posts at xx:00 through a scheduler still posts at xx:00, so two brand accounts
    posting on the hour share as many bins after the shift as before, and their pair is not
    significant. A group posting at 10:17 and 14:43 loses its common bins under any shift. The
    mean over the shifts is the pair's expected count ``expected`` (never below the count of
    two uniformly random schedules, ``n_u n_v / n_bins``); ``p_value`` is the Poisson upper tail
    of the observed count.

    Counted are the distinct *times of day* of the common bins (``times_of_day``), not the bins:
    an account that repeats its schedule every day makes one decision, not one per day. Two
    brands that both post at 09:00 and 12:00 every day share 2 times of day, not 2 per day,
    and the hour shifts give them about as many; a group posting at fresh moments every day
    shares a new time of day at each post. ``q_value`` is Benjamini-Hochberg over every pair of posting
    accounts (each could have been tested), so thousands of organic pairs do not make a false
    edge.

Cluster significance
    :func:`timing_pvalues` tests a cluster's internal count of common bins (summed over member
    pairs) against ``n_null`` runs in which every member's posts are shifted by its own random
    whole number of hours in ``[-max_shift_h, max_shift_h]``.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
import pandas as pd

from .coaction._edges import popularity_discount
from .coaction._kernel import _jit, get_num_threads
from .params import check_choice, check_number, parse_duration
from .schema import to_epoch_ns

__all__ = ["TIMING_COLUMNS", "TIMING_PAIRS", "timing_edges", "timing_pvalues", "post_bins",
           "merge_timing", "combine_timing_pvalues"]

#: What :func:`timing_edges` returns: the significant pairs, or every tested pair.
TIMING_PAIRS = ("significant", "all")

#: Columns of :func:`timing_edges`.
TIMING_COLUMNS = ["account_u", "account_v", "weight", "times_of_day", "weighted", "n_posts_u",
                  "n_posts_v", "expected", "p_value", "q_value", "significant", "timing_group"]


def post_bins(actions: pd.DataFrame, bin_s: float = 60) -> pd.DataFrame:
    """The distinct (account, time bin) of every account's original posts.

    Returns a DataFrame with ``account_id`` and ``bin`` (int64: seconds since the epoch floored
    to ``bin_s``, divided by ``bin_s``), sorted by account then bin.

    Examples
    --------
    >>> t = pd.to_datetime(["2024-01-01 10:00:05", "2024-01-01 10:00:50", "2024-01-01 10:03:00"], utc=True)
    >>> a = pd.DataFrame({"account_id": ["a", "a", "b"], "timestamp": t,
    ...                   "action_type": ["post", "post", "post"]})
    >>> post_bins(a)["bin"].diff().dropna().tolist()
    [3.0]
    """
    acc, accounts, bins = _post_codes(actions, bin_s)
    return pd.DataFrame({"account_id": np.asarray(accounts, dtype=object)[acc], "bin": bins})


def _post_codes(actions: pd.DataFrame, bin_s: float) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """:func:`post_bins` as codes: per distinct (account, bin), the account's code among the
    sorted ids of the accounts that posted (``accounts``) and the bin, sorted by account then
    bin. Account ids are coded in their column's own storage (Arrow strings: no Python string
    per post; as sorting the strings would) and the pairs made distinct on integers: the
    frame of strings with ``drop_duplicates`` and ``sort_values`` took ~150 bytes a post."""
    is_post = np.asarray(actions["action_type"] == "post", dtype=bool)
    b = to_epoch_ns(actions["timestamp"])[is_post] // int(round(bin_s * 1e9))
    ids = actions["account_id"]
    acc, uniq = pd.factorize(ids[is_post] if not is_post.all() else ids, sort=True,
                             use_na_sentinel=False)
    acc = acc.astype(np.int64)
    order = np.lexsort((b, acc))
    acc, b = acc[order], b[order]
    del order
    keep = np.ones(acc.size, dtype=bool)
    keep[1:] = (acc[1:] != acc[:-1]) | (b[1:] != b[:-1])
    return acc[keep], pd.Index(np.asarray(uniq, dtype=object)), b[keep]


@_jit
def _nb_distinct_overlap(a, b, s, per_day, buf):  # pragma: no cover - compiled
    """Distinct times of day (bin mod ``per_day``) of the bins in both ``a`` and ``b + s``
    (both sorted)."""
    i = 0
    j = 0
    m = 0
    while i < a.shape[0] and j < b.shape[0]:
        x = a[i]
        y = b[j] + s
        if x == y:
            buf[m] = x % per_day
            m += 1
            i += 1
            j += 1
        elif x < y:
            i += 1
        else:
            j += 1
    if m == 0:
        return 0
    w = np.sort(buf[:m])
    c = 1
    for k in range(1, m):
        if w[k] != w[k - 1]:
            c += 1
    return c


@_jit
def _grow_i64(x, n):  # pragma: no cover - compiled
    y = np.empty(n, np.int64)
    y[:x.shape[0]] = x
    return y


@_jit
def _grow_f64(x, n):  # pragma: no cover - compiled
    y = np.empty(n, np.float64)
    y[:x.shape[0]] = x
    return y


@_jit
def _nb_pair_block(u0, u1, aptr, acode, bptr, bacc, disc, ptr, bins, n_posts, min_common,
                   max_prod, all_pairs, shifts, per_day, cnt, wsum, touched, cand_c,
                   cand_x, cand_key, buf):  # pragma: no cover - compiled
    """The timing pair test of accounts ``u0 <= u < u1`` against partners ``v > u``.

    ``acode[aptr[u]:aptr[u + 1]]`` are the bin codes of ``u`` (ascending), ``bacc[bptr[b]:
    bptr[b + 1]]`` the accounts posting in bin code ``b`` (ascending), ``disc`` each bin's
    popularity discount; ``bins[ptr[u]:ptr[u + 1]]`` the raw bins of ``u`` (for the shifts).
    For each ``u``, its common bins with every partner are counted in ``cnt``/``wsum``
    (``weighted`` summed over the common bins in ascending order); a partner with at least
    ``min_common`` is *tested* (counted), and unless ``all_pairs`` it is kept only when its
    Poisson tail at the floor ``n_u n_v / span`` can reach the caller's bound, i.e.
    ``n_u n_v <= max_prod[min(weight, len(max_prod) - 1)]``; a kept pair gets its distinct
    times of day (:func:`_nb_distinct_overlap`) and their mean over the shifted copies.
    Rows come out sorted by ``(u, v)``.
    """
    cap = 256
    ou = np.empty(cap, np.int64)
    ov = np.empty(cap, np.int64)
    ow = np.empty(cap, np.int64)
    ox = np.empty(cap, np.float64)
    ot = np.empty(cap, np.int64)
    ol = np.empty(cap, np.float64)
    m = 0
    tested = 0
    top = max_prod.shape[0] - 1
    n_shifts = max(shifts.shape[0], 1)
    for u in range(u0, u1):
        nt = 0
        for k in range(aptr[u], aptr[u + 1]):
            b = acode[k]
            lo = bptr[b]
            hi = bptr[b + 1]
            while lo < hi:  # first poster after u
                mid = (lo + hi) >> 1
                if bacc[mid] <= u:
                    lo = mid + 1
                else:
                    hi = mid
            d = disc[b]
            for q in range(lo, bptr[b + 1]):
                v = bacc[q]
                if cnt[v] == 0:
                    touched[nt] = v
                    nt += 1
                    wsum[v] = d
                else:
                    wsum[v] += d
                cnt[v] += 1
        # the partners with min_common common bins, in order of v (most have one or two)
        nc = 0
        for i in range(nt):
            v = touched[i]
            if cnt[v] >= min_common:
                cand_c[nc] = cnt[v]
                cand_x[nc] = wsum[v]
                cand_key[nc] = (np.int64(v) << 32) | nc
                nc += 1
            cnt[v] = 0
        if nc == 0:
            continue
        keys = np.sort(cand_key[:nc])
        nu = n_posts[u]
        tested += nc
        for i in range(nc):
            v = keys[i] >> 32
            j = keys[i] & 0xFFFFFFFF
            c = cand_c[j]
            if not all_pairs and nu * n_posts[v] > max_prod[min(c, top)]:
                continue
            if m == cap:
                cap *= 2
                ou = _grow_i64(ou, cap)
                ov = _grow_i64(ov, cap)
                ow = _grow_i64(ow, cap)
                ox = _grow_f64(ox, cap)
                ot = _grow_i64(ot, cap)
                ol = _grow_f64(ol, cap)
            a = bins[ptr[u]:ptr[u + 1]]
            bv = bins[ptr[v]:ptr[v + 1]]
            total = 0
            for s in shifts:
                total += _nb_distinct_overlap(a, bv, s, per_day, buf)
            ou[m] = u
            ov[m] = v
            ow[m] = c
            ox[m] = cand_x[j]
            ot[m] = _nb_distinct_overlap(a, bv, 0, per_day, buf)
            ol[m] = total / n_shifts
            m += 1
    return ou[:m], ov[:m], ow[:m], ox[:m], ot[:m], ol[:m], tested


def _shifts(bin_s: float, max_shift_h: int) -> np.ndarray:  # noqa: D103
    step = 3600.0 / bin_s
    if abs(step - round(step)) > 1e-9:
        from .errors import ParameterError

        raise ParameterError("bin_s", "timing_edges", "a bin width that divides an hour "
                             "(1s, 10s, 30s, 60s, 5m, ...)", bin_s)
    s = np.arange(1, max_shift_h + 1, dtype=np.int64) * int(round(step))
    return np.concatenate([-s[::-1], s])


def timing_edges(actions: pd.DataFrame, *, bin_s: float | str = 60, min_common: int = 3,
                 max_shift_h: int = 3, fdr: float = 0.01, groups: bool = True,
                 null_runs: int = 10, seed: int = 0,
                 pairs: str = "significant") -> pd.DataFrame:
    """Account pairs whose original posts fall in the same time bins more often than their own
    rhythms explain (see the module docstring).

    Parameters
    ----------
    actions : DataFrame
        ACTIONS.
    bin_s : float or str, default 60
        Bin width (seconds or a duration such as ``"1m"``); an hour must be a whole number of bins.
    min_common : int, default 3
        Test only pairs with at least this many common bins.
    max_shift_h : int, default 3
        The null shifts one account by ``±1 ... ±max_shift_h`` hours.
    fdr : float, default 0.01
        ``significant`` is ``q_value <= fdr``.
    groups : bool, default True
        Also test groups of accounts (:func:`_timing_groups`): a pair inside a group whose
        calibrated false discovery rate is at most ``fdr`` gets that rate as its ``q_value``
        when lower, and the group in ``timing_group``.
    null_runs : int, default 10
        Null runs of the group test.
    seed : int, default 0
        Seed of the group test's null runs and communities.
    pairs : {"significant", "all"}, default "significant"
        Which tested pairs to return: the significant ones, or every pair with at least
        ``min_common`` common bins. Both give the significant pairs the same values, bit for
        bit; "significant" skips most of the work on the others (Notes).

    Returns
    -------
    DataFrame
        :data:`TIMING_COLUMNS`, one row per returned pair (``account_u < account_v``), sorted;
        ``attrs["pairs_tested"]`` holds the number of pairs tested.

    Notes
    -----
    The pairs with ``min_common`` common bins grow with the square of the busy accounts (14
    million of 1.4 million posting accounts in 20 million simulated actions), and almost none
    is significant: ``q_value`` counts every pair of posting accounts, ``m = n (n - 1) / 2``.
    Benjamini-Hochberg's ``q_value <= fdr`` needs ``p_value <= fdr * N / m`` (``N`` pairs
    tested), and a timing group uses pairs with ``p_value <= GROUP_EDGE_P``. With
    ``pairs="significant"`` only the pairs under the larger of the two are kept: a pair is
    skipped before its shifted overlaps are counted when even the floor ``n_u n_v / n_bins``
    puts its ``weight`` above that bound, and dropped after its test otherwise. The kept pairs
    hold the first ranks of every tested pair's p-values, and any pair left out would
    contribute more than ``fdr`` to Benjamini-Hochberg's running minimum, so the significant
    pairs' ``q_value`` (and timing groups) are those of the full test, exactly.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> start = pd.Timestamp("2024-01-01", tz="UTC")
    >>> slots = start + pd.to_timedelta(np.sort(rng.integers(0, 3 * 86400, 12)), unit="s")
    >>> rows = [(acc, t) for acc in ("s1", "s2", "s3") for t in slots]   # one schedule
    >>> rows += [(f"o{k}", start + pd.Timedelta(seconds=int(x)))          # background
    ...          for k in range(40) for x in rng.integers(0, 3 * 86400, 12)]
    >>> a = pd.DataFrame(rows, columns=["account_id", "timestamp"]).assign(action_type="post")
    >>> e = timing_edges(a)
    >>> sorted(e.loc[e["significant"], "account_u"] + "-" + e.loc[e["significant"], "account_v"])
    ['s1-s2', 's1-s3', 's2-s3']
    """
    from .nullmodel import benjamini_hochberg

    w = parse_duration(bin_s, "bin_s", "timing_edges")
    check_number(w, "bin_s", "timing_edges", low=1)
    check_number(min_common, "min_common", "timing_edges", low=1, integer=True)
    check_number(max_shift_h, "max_shift_h", "timing_edges", low=1, integer=True)
    check_number(fdr, "fdr", "timing_edges", low=0, high=1)
    check_number(null_runs, "null_runs", "timing_edges", low=0, integer=True)
    pairs = check_choice(pairs, TIMING_PAIRS, "pairs", "timing_edges")
    shifts = _shifts(w, int(max_shift_h))
    acc, accounts, bins = _post_codes(actions, w)
    if acc.size == 0:
        empty = pd.DataFrame({c: pd.Series([], dtype="float64") for c in TIMING_COLUMNS})
        empty = empty.astype({"account_u": str, "account_v": str, "significant": bool,
                              "timing_group": np.int64})
        empty.attrs["pairs_tested"] = 0
        return empty
    n_acc = len(accounts)
    per_day = int(round(86400.0 / w))
    m = n_acc * (n_acc - 1) / 2.0
    use_groups = bool(groups) and int(null_runs) >= 2
    group_p = GROUP_EDGE_P if use_groups else 0.0
    posts = _prepare(acc, bins, n_acc, int(min_common))
    p_bound = None
    if pairs != "all" and m > 0:
        # no more pairs can reach min_common than the visits allow
        p_bound = max(group_p, fdr * min(m, posts.visits / int(min_common)) / m)
    u, v, weight, weighted, times, expected, p, tested = _pair_tests(
        posts, shifts, per_day, int(min_common), p_bound)
    if p_bound is not None:
        keep = p <= max(group_p, fdr * tested / m)
        u, v, weight, weighted, times, expected, p = (
            x[keep] for x in (u, v, weight, weighted, times, expected, p))
    q = benjamini_hochberg(p, m=m)
    group = np.full(u.size, -1, dtype=np.int64)
    if use_groups and u.size:
        group, group_q = _timing_groups(acc, bins, n_acc, u, v, p, shifts, per_day,
                                        int(min_common), int(null_runs), seed, fdr)
        # a pair inside a significant group: its false discovery rate is the group's
        inside = group >= 0
        if inside.any():
            q = np.where(inside, np.minimum(q, group_q[np.maximum(group, 0)]), q)
    ids = np.asarray(accounts, dtype=object)
    n_posts = posts.n_posts
    out = pd.DataFrame({
        "account_u": ids[u], "account_v": ids[v], "weight": weight, "times_of_day": times,
        "weighted": weighted, "n_posts_u": n_posts[u], "n_posts_v": n_posts[v],
        "expected": expected, "p_value": p, "q_value": q, "significant": q <= fdr,
        "timing_group": group})
    if pairs != "all":
        out = out[out["significant"].to_numpy()].reset_index(drop=True)
    # the ids' dtype whether or not any row is left
    out = out.astype({"account_u": str, "account_v": str})
    out.attrs["pairs_tested"] = tested
    return out


class _Posts(NamedTuple):
    """Coded posts for :func:`_pair_tests` (see :func:`_prepare`)."""

    n_posts: np.ndarray   # distinct bins per account
    ptr: np.ndarray       # bins[ptr[a]:ptr[a + 1]]: account a's bins, ascending
    bins: np.ndarray
    aptr: np.ndarray      # acode[aptr[a]:aptr[a + 1]]: bin codes of a (if it can reach min_common)
    acode: np.ndarray
    bptr: np.ndarray      # bacc[bptr[b]:bptr[b + 1]]: those accounts posting in bin code b
    bacc: np.ndarray
    disc: np.ndarray      # popularity discount of each bin code (all its posters)
    span: int             # bins from the first to the last
    visits: int           # (bin, pair of posters) incidences the scan visits
    blocks: np.ndarray    # account ranges of about equal work


def _prepare(acc: np.ndarray, bins: np.ndarray, n_acc: int, min_common: int) -> _Posts:
    """Index posts (``acc`` sorted, each account's ``bins`` sorted and distinct) for the pair
    scan: the bins of each account, and the accounts of each bin, of the accounts with at
    least ``min_common`` bins (no other can share that many)."""
    n_posts = np.bincount(acc, minlength=n_acc).astype(np.int64)
    ptr = np.concatenate(([0], np.cumsum(n_posts))).astype(np.int64)
    bcode, _ = pd.factorize(bins, sort=True)
    bcode = bcode.astype(np.int64)
    k = np.bincount(bcode)
    ok = n_posts[acc] >= min_common
    acc_e, code_e = acc[ok], bcode[ok]
    aptr = np.concatenate(([0], np.cumsum(np.bincount(acc_e, minlength=n_acc)))).astype(np.int64)
    order = np.lexsort((acc_e, code_e))
    k_e = np.bincount(code_e, minlength=k.size).astype(np.int64)
    bptr = np.concatenate(([0], np.cumsum(k_e))).astype(np.int64)
    # work of an account: the posters of its bins (about twice its visits)
    work = np.cumsum(np.bincount(acc_e, weights=k_e[code_e], minlength=n_acc))
    n_blocks = min(n_acc, 64 * max(get_num_threads(), 1))
    cuts = np.searchsorted(work, np.linspace(0, work[-1] if work.size else 0,
                                             n_blocks + 1)[1:-1], side="right")
    blocks = np.unique(np.concatenate(([0], cuts, [n_acc]))).astype(np.int64)
    return _Posts(n_posts, ptr, np.asarray(bins, np.int64), aptr, code_e, bptr,
                  acc_e[order].astype(np.int64), popularity_discount(k).astype(np.float64),
                  int(bins.max() - bins.min() + 1) if bins.size else 1,
                  int((k_e * (k_e - 1) // 2).sum()), blocks)


def _max_products(p_bound: float, n_posts: np.ndarray, span: int) -> np.ndarray:
    """``max_prod[c]``: the largest ``n_u n_v`` whose Poisson tail at the floor
    ``n_u n_v / span`` with ``c`` common bins can still be ``<= p_bound`` (with a margin: the
    bound only skips pairs that surely fail; the kept ones are tested exactly).

    ``P(X >= c) = gammainc(c, lambda)`` rises with ``lambda``, so it is ``<= p_bound`` up to
    ``lambda_c = gammaincinv(c, p_bound)``, and ``p_value`` (the tail of ``times_of_day <=
    c`` at ``expected >= floor``) is at least that tail."""
    from scipy.special import gammaincinv

    top = int(n_posts.max()) if n_posts.size else 0
    c = np.arange(top + 1, dtype=np.float64)
    with np.errstate(all="ignore"):
        lam = np.where(c >= 1, gammaincinv(np.maximum(c, 1), min(p_bound, 1.0)), 0.0)
    limit = np.nan_to_num(lam * span * (1 + 1e-6) + 1, nan=0.0, posinf=9e18)
    return np.minimum(np.floor(limit), 9e18).astype(np.int64)


def _pair_tests(posts: _Posts, shifts: np.ndarray, per_day: int, min_common: int,
                p_bound: float | None = None) -> tuple[np.ndarray, ...]:
    """The pair test of :func:`timing_edges` on :func:`_prepare`'d posts: ``u, v, weight,
    weighted, times_of_day, expected, p_value`` of the pairs with at least ``min_common``
    common bins, sorted by ``(u, v)``, and the number of such pairs (tested).

    With ``p_bound``, only the pairs with ``p_value <= p_bound`` are returned; the others are
    still counted as tested. Most are skipped before their shifted overlaps are counted:
    ``p_value`` is never below the tail of their common bins at ``n_u n_v / span``.

    The scan runs blocks of accounts on numba's number of threads (the kernel releases the
    GIL); each account's rows come from one block, and the blocks are joined in order, so the
    result does not depend on the number of threads."""
    from concurrent.futures import ThreadPoolExecutor

    from scipy.stats import poisson

    n_acc = posts.n_posts.size
    all_pairs = p_bound is None
    max_prod = (np.zeros(1, np.int64) if all_pairs
                else _max_products(p_bound, posts.n_posts, posts.span))
    longest = max(int(posts.n_posts.max()) if n_acc else 1, 1)
    shifts = np.asarray(shifts, np.int64)
    local = threading.local()

    def block(i: int):
        scratch = getattr(local, "scratch", None)
        if scratch is None:
            scratch = local.scratch = (
                np.zeros(n_acc, np.int32), np.zeros(n_acc, np.float64), np.empty(n_acc, np.int64),
                np.empty(n_acc, np.int64), np.empty(n_acc, np.float64), np.empty(n_acc, np.int64),
                np.empty(longest, np.int64))
        return _nb_pair_block(posts.blocks[i], posts.blocks[i + 1], posts.aptr, posts.acode,
                              posts.bptr, posts.bacc, posts.disc, posts.ptr, posts.bins,
                              posts.n_posts, int(min_common), max_prod, all_pairs, shifts,
                              int(per_day), *scratch)

    n_threads = max(get_num_threads(), 1)
    with ThreadPoolExecutor(n_threads) as pool:
        parts = list(pool.map(block, range(posts.blocks.size - 1)))
    if parts:
        u, v, weight, weighted, times, lam = (np.concatenate([p[j] for p in parts])
                                              for j in range(6))
    else:
        u = v = weight = times = np.zeros(0, np.int64)
        weighted = lam = np.zeros(0)
    tested = int(sum(p[6] for p in parts))
    floor = posts.n_posts[u] * posts.n_posts[v] / max(posts.span, 1)
    expected = np.maximum(lam, floor)
    p = poisson.sf(times - 1, np.maximum(expected, 1e-12)) if u.size else np.zeros(0)
    if not all_pairs:
        keep = p <= p_bound
        u, v, weight, weighted, times, expected, p = (
            x[keep] for x in (u, v, weight, weighted, times, expected, p))
    return u, v, weight, weighted, times, expected, p, tested


#: Pairs at least this significant link accounts in the graph of :func:`_timing_groups`.
GROUP_EDGE_P = 1e-3

#: A member of a timing group has so many such pairs inside it that fewer than this many of
#: all posting accounts would have them by chance.
MEMBER_P = 0.01

#: A member of a timing group has such pairs with at least this share of the other members.
#: A group posts in the same minutes, so an account that happens to post in three of them gets
#: pairs with the several members who posted there, all at once; the binomial rule above
#: takes those pairs as independent (scenario seed 903: a breaking-news account with 3 such
#: pairs in a 16-account group). A member of a schedule is in step with most of the group.
TIMING_MEMBER_SHARE = 1 / 3

#: Most Leiden iterations on the graph of the pairs with ``p <= GROUP_EDGE_P``
#: (:func:`_group_logp`), on the data and on each null run alike. That graph has a node per
#: account with such a pair: 285,195 nodes and 1.04M edges at 20M simulated actions, where
#: each iteration takes about a second and modularity keeps creeping up (0.316, 0.340,
#: 0.343, 0.344, ...) through all of :data:`cib.communities.MAX_LEIDEN_ITERATIONS`: 11 such
#: runs took 21 minutes. A group of accounts posting in step is dense in it and is one
#: community after the first iterations; the later ones move the loose background around.
GROUP_LEIDEN_ITERATIONS = 10


def _group_logp(u: np.ndarray, v: np.ndarray, p: np.ndarray, n_acc: int, seed: int,
                min_share: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Communities of the pairs with ``p <= GROUP_EDGE_P`` (Leiden) and each one's log
    p-value: the Poisson tail of its internal such pairs at ``GROUP_EDGE_P`` times its possible
    pairs (at most :data:`GROUP_LEIDEN_ITERATIONS` Leiden iterations). A member whose such
    pairs inside its community are fewer than two, or so few that more than :data:`MEMBER_P`
    of all posting accounts would have as many by chance (binomial tail at ``GROUP_EDGE_P``
    over the other members), leaves it, and communities of fewer than 3 accounts are dropped,
    until nothing changes: two pairs with a 29-account group do not make an account one of
    them. With ``min_share``, a member also needs such pairs with at least that share of the
    other members (timing groups: :data:`TIMING_MEMBER_SHARE`)."""
    from scipy.stats import binom

    from .discovery import _communities
    from .nullmodel import _poisson_log_tail

    keep = p <= GROUP_EDGE_P
    lab = _communities(n_acc, u[keep], v[keep], np.ones(int(keep.sum())), seed, 1.0, 3,
                       GROUP_LEIDEN_ITERATIONS)
    k = int(lab.max()) + 1 if lab.size and lab.max() >= 0 else 0
    if k == 0:
        return lab, np.zeros(0)
    for _ in range(8):
        same = keep & (lab[u] == lab[v]) & (lab[u] >= 0)
        deg = np.bincount(np.r_[u[same], v[same]], minlength=n_acc)
        size = np.bincount(lab[lab >= 0], minlength=k)
        # a member needs more such pairs inside than any of the n_acc accounts would get by
        # chance: binomial tail over its community's other members, times n_acc
        others = np.maximum(size[np.maximum(lab, 0)] - 1, 1)
        chance = binom.sf(deg - 1, others, GROUP_EDGE_P) * n_acc
        drop = (lab >= 0) & ((deg < 2) | (chance > MEMBER_P) | (deg < min_share * others))
        small = size < 3
        drop |= (lab >= 0) & small[np.maximum(lab, 0)]
        if not drop.any():
            break
        lab = np.where(drop, -1, lab)
    same = keep & (lab[u] == lab[v]) & (lab[u] >= 0)
    t = np.bincount(lab[u[same]], minlength=k).astype(np.float64)
    size = np.bincount(lab[lab >= 0], minlength=k).astype(np.float64)
    e = GROUP_EDGE_P * size * (size - 1) / 2.0
    return lab, _poisson_log_tail(t, e)


def _timing_groups(acc: np.ndarray, bins: np.ndarray, n_acc: int, u: np.ndarray,
                   v: np.ndarray, p: np.ndarray, shifts: np.ndarray, per_day: int,
                   min_common: int, runs: int, seed: int, fdr: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Groups of accounts that post at the same moments, tested as groups.

    The pair test's false discovery rate runs over every pair of posting accounts, so it grows
    stricter as the data grows (``n^2 / 2`` pairs): at 15,000 accounts, pairs of a group
    sharing 6 times of day against 0.3 expected are lost. A group of 20 such accounts, though,
    holds 190 of them. The accounts linked by pairs with ``p <= GROUP_EDGE_P`` are split into
    Leiden communities, and a community's statistic is the Poisson tail of its internal such
    pairs (:func:`_group_logp`); the same is done on ``runs`` null runs in which each
    account's posts move by its own random whole number of hours (0-23: its rhythm within the
    hour and its days kept, its alignment with others broken), and a community's ``q_value`` is
    calibrated on them (:func:`cib.nullmodel.calibrated_qvalues`).

    Returns, per pair, the significant group it lies inside (-1: none), and per group its
    ``q_value``.
    """
    from .nullmodel import calibrated_qvalues

    lab, lp = _group_logp(u, v, p, n_acc, seed, TIMING_MEMBER_SHARE)
    none = np.full(u.size, -1, dtype=np.int64)
    if lp.size == 0:
        return none, np.zeros(0)
    rng = np.random.default_rng([int(seed), 0x7469])
    per_hour = per_day // 24
    null_lp = []
    for _ in range(runs):
        shift = rng.integers(0, 24, n_acc) * per_hour
        # one shift per account keeps each account's bins sorted
        # only pairs with p <= GROUP_EDGE_P make groups
        nu, nv, _, _, _, _, npv, _ = _pair_tests(
            _prepare(acc, bins + shift[acc], n_acc, min_common), shifts, per_day, min_common,
            GROUP_EDGE_P)
        null_lp.append(_group_logp(nu, nv, npv, n_acc, seed, TIMING_MEMBER_SHARE)[1])
    q = calibrated_qvalues(lp, null_lp, runs)
    sig = q <= fdr
    inside = (lab[u] == lab[v]) & (lab[u] >= 0) & (p <= GROUP_EDGE_P)
    inside &= sig[np.maximum(lab[u], 0)]
    return np.where(inside, lab[u], -1), q


def timing_pvalues(actions: pd.DataFrame, labels: pd.Series, *, bin_s: float | str = 60,
                   max_shift_h: int = 3, n_null: int = 100, seed: int = 0,
                   return_null: bool = False):
    """Per cluster, its internal common post times against random whole-hour shifts of each
    member's schedule.

    Returns a DataFrame with ``cluster_id``, ``observed`` (member pairs sharing a time of day,
    summed over the times of day each member posted at), ``null_mean`` and ``p_value`` (``(1 + #{null >= observed}) / (1 + n_null)``), one
    row per label >= 0; with ``return_null``, also the ``(n_null, clusters)`` null counts.

    Examples
    --------
    >>> start = pd.Timestamp("2024-01-01", tz="UTC")
    >>> t = start + pd.to_timedelta([600, 4000, 9000, 20000, 50000], unit="s")
    >>> a = pd.DataFrame({"account_id": list("aaaaabbbbbccccc"), "timestamp": list(t) * 3,
    ...                   "action_type": "post"})
    >>> r = timing_pvalues(a, pd.Series({"a": 0, "b": 0, "c": 0}), n_null=50)
    >>> int(r["observed"].iloc[0]), bool(r["p_value"].iloc[0] < 0.1)
    (15, True)
    """
    w = parse_duration(bin_s, "bin_s", "timing_pvalues")
    labels = labels[labels >= 0]
    ids = np.sort(labels.unique()).astype(np.int64)
    out = pd.DataFrame({"cluster_id": ids})
    pb = post_bins(actions[actions["account_id"].isin(labels.index)], w)
    if pb.empty or not len(ids):
        out["observed"] = np.zeros(len(ids), np.int64)
        out["null_mean"] = 0.0
        out["p_value"] = 1.0
        return (out, np.zeros((int(n_null), len(ids)), np.int64)) if return_null else out
    step = int(round(3600.0 / w))
    cl = pb["account_id"].map(labels).to_numpy(dtype=np.int64)
    acc, _ = pd.factorize(pb["account_id"], sort=True)
    bins = pb["bin"].to_numpy(dtype=np.int64)
    n_acc = int(acc.max()) + 1
    k = len(ids)
    cidx = np.searchsorted(ids, cl)
    cidx_of_acc = np.zeros(int(acc.max()) + 1, np.int64)
    cidx_of_acc[acc] = cidx

    per_day = int(round(86400.0 / w))

    def internal(b: np.ndarray) -> np.ndarray:
        # members' distinct times of day (a schedule repeated daily is one decision), then
        # member pairs sharing each time of day
        tod = np.unique(acc.astype(np.int64) * per_day + b % per_day)
        a_of = tod // per_day
        key = cidx_of_acc[a_of] * per_day + tod % per_day
        uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
        pairs = counts * (counts - 1) // 2
        return np.bincount(cidx_of_acc[a_of[first]], weights=pairs,
                           minlength=k).astype(np.int64)

    observed = internal(bins)
    rng = np.random.default_rng(seed)
    runs = np.zeros((int(n_null), k), np.int64)
    for r in range(int(n_null)):
        shift = rng.integers(-max_shift_h, max_shift_h + 1, n_acc) * step
        runs[r] = internal(bins + shift[acc])
    out["observed"] = observed
    out["null_mean"] = runs.mean(axis=0) if n_null else 0.0
    out["p_value"] = (1.0 + (runs >= observed).sum(axis=0)) / (1.0 + n_null)
    return (out, runs) if return_null else out


def merge_timing(edges: pd.DataFrame, timing: pd.DataFrame, *, copy: bool = True) -> pd.DataFrame:
    """Add the significant timing pairs to combined EDGES (as :func:`cib.detect` does).

    Every row gets ``w_timing`` (common post bins; 0 when the pair was not a significant timing
    pair), ``timing_p_value`` and ``timing_q_value``. A significant timing pair that is already
    an edge gets ``timing`` added to its ``kinds``, its discounted timing weight added to
    ``weighted``, and is ``significant``; one that is not becomes a new row with ``weight`` 0
    (no shared object), kind ``timing`` and no co-action figures. ``copy=False`` adds the
    columns to ``edges`` itself (the pipeline's candidate edges: the largest table).
    """
    out = edges.copy() if copy else edges
    out["w_timing"] = np.zeros(len(out), dtype=np.int64)
    out["timing_p_value"] = np.nan
    out["timing_q_value"] = np.nan
    sig = timing[timing["significant"].astype(bool)] if len(timing) else timing
    if sig is None or not len(sig):
        return out
    keys = ["account_u", "account_v"]
    t = sig.set_index(keys)
    # only rows whose two accounts are both in some timing pair can match (the index of every
    # row would cost as much as the candidate edges themselves)
    pre = np.flatnonzero(out["account_u"].isin(sig["account_u"].unique()).to_numpy(dtype=bool)
                         & out["account_v"].isin(sig["account_v"].unique()).to_numpy(dtype=bool))
    idx = pd.MultiIndex.from_frame(out.iloc[pre][keys]) if pre.size \
        else pd.MultiIndex.from_arrays([[], []])
    hit_pre = idx.isin(t.index)
    hit = np.zeros(len(out), dtype=bool)
    hit[pre[hit_pre]] = True
    idx = idx[hit_pre]
    if hit.any():
        tt = t.reindex(idx)
        out.loc[hit, "w_timing"] = tt["weight"].to_numpy(dtype=np.int64)
        out.loc[hit, "timing_p_value"] = tt["p_value"].to_numpy()
        out.loc[hit, "timing_q_value"] = tt["q_value"].to_numpy()
        out.loc[hit, "weighted"] = out.loc[hit, "weighted"].to_numpy() + tt["weighted"].to_numpy()
        out.loc[hit, "kinds"] = [",".join(sorted(set(str(k).split(",")) - {""} | {"timing"}))
                                 for k in out.loc[hit, "kinds"]]
        out.loc[hit, "significant"] = True
    new = t[~t.index.isin(idx)].reset_index()
    if len(new):
        rows = pd.DataFrame({c: pd.Series([np.nan] * len(new)) for c in out.columns})
        for c in out.columns:
            if c.startswith("w_") or c in ("weight", "n_pairs", "n_events", "n_common"):
                rows[c] = 0
            elif c == "edge_group":
                rows[c] = -1
        rows["account_u"] = new["account_u"].to_numpy(dtype=object)
        rows["account_v"] = new["account_v"].to_numpy(dtype=object)
        rows["weighted"] = new["weighted"].to_numpy(dtype=np.float64)
        rows["kinds"] = "timing"
        rows["w_timing"] = new["weight"].to_numpy(dtype=np.int64)
        rows["timing_p_value"] = new["p_value"].to_numpy()
        rows["timing_q_value"] = new["q_value"].to_numpy()
        rows["significant"] = True
        for c in ("first_time", "last_time"):
            if c in out.columns:
                rows[c] = pd.Series(pd.NaT, index=rows.index, dtype=out[c].dtype)
        rows = rows.astype({c: out[c].dtype for c in out.columns
                            if c not in ("first_time", "last_time") and out[c].dtype != object
                            and not rows[c].isna().any()})
        out = pd.concat([out, rows], ignore_index=True) if len(out) else rows
        out = out.sort_values(keys, kind="mergesort", ignore_index=True)
    out["significant"] = out["significant"].astype(bool)
    return out


def _run_pvalues(runs: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Each null run's p-value among the observed value and all runs, as the observed one's is
    computed (``#{x >= run}`` over the runs, itself included, and the observed), per column."""
    n = runs.shape[0]
    srt = np.sort(runs, axis=0)
    out = np.empty(runs.shape, dtype=np.float64)
    for c in range(runs.shape[1]):
        ge = n - np.searchsorted(srt[:, c], runs[:, c], side="left")
        out[:, c] = (ge + (observed[c] >= runs[:, c])) / (1.0 + n)
    return out


def combine_timing_pvalues(pvalues: pd.DataFrame, coaction_runs: np.ndarray,
                           graph_edges: pd.DataFrame, labels: pd.Series, actions: pd.DataFrame, *,
                           bin_s: float | str = 60, max_shift_h: int = 3, n_null: int = 100,
                           seed: int = 0) -> pd.DataFrame:
    """Cluster p-values with the timing test folded in.

    For a cluster with at least one timing edge between its members, both tests run: the
    co-action test (``p_coaction``, :func:`cib.nullmodel.cluster_pvalues`) and the
    whole-hour-shift test (``p_timing``, :func:`timing_pvalues`). They are combined by the
    min-p method, run for run: null run ``i`` gets the smaller of its two p-values among the
    null runs, and ``p_value = (1 + #{i: min_i <= min(p_coaction, p_timing)}) / (1 + n_null)``,
    so a cluster that either test finds beyond every null run gets the smallest p-value, with no
    Bonferroni penalty and no inflation. Other clusters keep ``p_coaction``.
    """
    out = pvalues.copy()
    out["p_coaction"] = out["p_value"]
    out["p_timing"] = np.nan
    if "w_timing" not in graph_edges.columns or not len(out):
        return out
    cu = graph_edges["account_u"].map(labels)
    cv = graph_edges["account_v"].map(labels)
    inside = (graph_edges["w_timing"] > 0) & cu.notna() & (cu == cv) & (cu >= 0)
    clusters = sorted(set(cu[inside].astype("int64")))
    if not clusters:
        return out
    lab = labels[labels.isin(clusters)]
    tp, t_runs = timing_pvalues(actions, lab, bin_s=bin_s, max_shift_h=max_shift_h,
                                n_null=n_null, seed=seed + 1, return_null=True)
    pos = pd.Index(out["cluster_id"]).get_indexer(tp["cluster_id"])
    if n_null:
        co_obs = pvalues["observed"].to_numpy()[pos]
        m_runs = np.minimum(_run_pvalues(coaction_runs[:, pos], co_obs),
                            _run_pvalues(t_runs, tp["observed"].to_numpy()))
        m_obs = np.minimum(out["p_coaction"].to_numpy()[pos], tp["p_value"].to_numpy())
        joint = (1.0 + (m_runs <= m_obs).sum(axis=0)) / (1.0 + n_null)
    else:
        joint = np.ones(len(pos))
    out.loc[out.index[pos], "p_timing"] = tp["p_value"].to_numpy()
    out.loc[out.index[pos], "p_value"] = joint
    return out
