"""Group discovery: groups whose every pair is weak evidence but whose whole is not.

A network that rotates its members (each push done by a handful of a large group) or hides
its pushes in a lot of organic activity makes few co-actions per account pair: one or two
shared objects, which chance explains for any single pair. The edge test of
:func:`cib.nullmodel.edge_significance` rightly does not link them. Taken together, though,
the group has made hundreds of co-actions among its members where chance gives a few dozen.

This stage finds such groups without a pair-level threshold, and calibrates what it finds on
null data, since a community detection run on noise also finds "dense" groups:

1. **Burst graph** (:func:`_burst_graph`). Every pair of accounts that co-acted within the
   window, weighted by the sum over the objects they co-acted on of ``1 / (k - 1)``, ``k``
   being the accounts that co-acted on that object (posts of one author count as one object,
   see :meth:`cib.nullmodel._Coded.set_authors`): each account spreads one unit per object
   over its co-actors, so the thousand readers of a breaking-news post are linked by 1/999
   each, and the seven accounts of a push by 1/6. Accounts already in flagged clusters are
   left out.
2. **Communities** of the burst graph (Leiden, modularity), of at least ``min_size`` accounts.
3. **Bursts.** A community's *bursts* are the objects on which its members co-acted far more
   than the object's chance allows (Poisson tail of the co-acting member pairs at the chance
   times the member pairs on the object, at most :data:`BURST_P`). Members that took part in
   fewer than ``min_bursts`` of them are pruned and the bursts recounted, until stable.
4. **Group statistic.** The burst count ``T`` against its expectation ``E``, :data:`BURST_P`
   times the objects two or more members acted on; the log p-value is the Poisson upper tail
   of ``T`` at ``E``. It is not calibrated (the communities are chosen for their co-actions),
   hence step 5.
5. **Calibration.** Steps 1 to 4 are repeated on each null run
   (:class:`cib.nullmodel.TimeSwapNull`: same accounts, objects and popularity, each object's
   time profile given to another of its popularity; the objects flagged clusters co-acted on
   give their profiles to none, see :func:`_organic_donors`), and a community's ``q_value`` is the number of null
   communities per run with a log p-value at most its own over the number of observed ones
   (made monotone): the false discovery rate of the whole procedure, selection of the
   communities included. Beyond the most extreme null community, the null runs' tail is
   extrapolated (:func:`cib.nullmodel.calibrated_qvalues`). Groups with ``q_value <= fdr`` are
   reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .coaction._engine import SortedTraces
from .nullmodel import TimeSwapNull, _Coded, _poisson_log_tail, calibrated_qvalues

__all__ = ["discover_groups", "DISCOVERY_COLUMNS"]

#: Columns of the table :func:`discover_groups` returns (one row per observed community).
DISCOVERY_COLUMNS = ["round", "group", "n_accounts", "n_members", "bursts", "expected",
                     "log10_p", "q_value", "significant"]

#: Share of an object's sharers (at any time) that must be members of a community for the
#: object to count for it (a burst, or one of the objects its expectation counts).
MIN_MEMBER_SHARE = 0.25

#: Objects of the long-window pass must have their middle 80 % of shares within this many
#: windows (:func:`_compact`).
LONG_MAX_SPAN = 10.0

#: Most rounds of discovery (each on the accounts no earlier round put in a group).
MAX_ROUNDS = 4


def _unique_rows(*cols: np.ndarray) -> np.ndarray:
    """The distinct rows of the integer columns ``cols``, sorted (an ``(n, k)`` array): a
    lexsort, much faster than ``np.unique(..., axis=0)``."""
    if cols[0].size == 0:
        return np.empty((0, len(cols)), dtype=np.int64)
    order = np.lexsort(cols[::-1])
    rows = np.stack([np.asarray(col, dtype=np.int64)[order] for col in cols], axis=1)
    new = np.ones(rows.shape[0], dtype=bool)
    new[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    return rows[new]


class _TooMany(Exception):
    """The burst graph of the observed data is larger than the caller allows."""


#: Default bound on the co-actions the burst graph is built from (see :func:`discover_groups`).
MAX_LENIENT_PAIRS = 1_000_000


def _object_keys(c: _Coded) -> np.ndarray:
    """Per group code, the key discovery counts objects by: the author of the post reposted,
    quoted or replied to (``n_groups + author``) when known, else the group itself."""
    ga = c.group_author
    return np.where(ga >= 0, c.n_groups + ga, np.arange(c.n_groups))


#: Objects on which more accounts co-acted are left out of the burst graph.
MAX_BURST_ACCOUNTS = 100

#: Objects that more accounts acted on (at any time) are left out of discovery altogether.
MAX_BURST_SHARERS = 100


def _popular(c: _Coded) -> np.ndarray:
    """Per group code: more than :data:`MAX_BURST_SHARERS` accounts acted on the object.

    Unlike the crowd cut of :func:`_burst_graph` (accounts that *co-acted*, which depends on
    the times), this does not change in the null runs, which keep who acted on what: a
    breaking-news post shared by thousands is left out of the observed data as a crowd, and
    when a null run hands it a spread-out time profile it would otherwise come back with fewer
    than 100 co-actors, and its sharers, picked by Leiden because they co-act on it, would
    "burst" on it (on a 15,000-account suite, null communities of organic and breaking-news
    accounts with 12-24 such bursts, log10 p down to -20, which made every real group but the
    strongest insignificant)."""
    return c.object_accounts > MAX_BURST_SHARERS


def _burst_graph(c: _Coded, st: SortedTraces, skip: np.ndarray,
                 max_coactions: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The account graph discovery looks for communities in: pairs (u, v) that co-acted within
    the window of ``st``, weighted by ``sum over objects of 1 / (k - 1)``, ``k`` being the
    accounts that co-acted on the object (a projection of the account x object co-action
    graph in which every account spreads one unit per object over its co-actors).

    A push by seven accounts links each of them to the six others with weight 1/6; a post that
    a thousand readers repost within minutes links each of them to the others with weight
    1/999: crowds weigh little, however many they are, and a small group that keeps turning up
    together on objects nobody else acts on at the time weighs a lot, even when no two of its
    members meet twice. Objects are counted per author (:func:`_object_keys`); those on which
    more than :data:`MAX_BURST_ACCOUNTS` accounts co-acted are left out (a crowd: at most 1/100
    per pair, and ``k^2 / 2`` pairs), found from the traces that co-act before any pair is
    materialised. ``max_coactions`` bounds the co-actions outside crowds (:class:`_TooMany`)."""
    e = np.empty(0, np.int64)
    per_group, has = st.trace_partners()
    # crowds first, from the traces that co-act at all (no pair materialised): their
    # co-actions are what would make the graph expensive, and they are left out anyway
    gkey = _object_keys(c)
    live = has & ~skip[c.account]
    ka0 = _unique_rows(gkey[c.group[live]], c.account[live])
    crowd = (np.bincount(ka0[:, 0], minlength=int(gkey.max()) + 1 if gkey.size else 1)
             > MAX_BURST_ACCOUNTS)[gkey] if ka0.size else np.zeros(c.n_groups, dtype=bool)
    crowd = crowd | _popular(c)
    n_co = float(per_group[~crowd].sum())
    if max_coactions is not None and n_co > max_coactions:
        raise _TooMany(round(n_co))
    if crowd.any():
        # the crowds' traces moved apart in time, so that they co-act with nothing
        time = st.unsort(st.t).copy()
        out = crowd[c.group]
        time[out] = np.arange(int(out.sum()), dtype=np.int64) * (st.window + 1)
        st = SortedTraces(c, time, window_ns=st.window, max_partners=st.max_partners,
                          budget_pairs=st.budget, max_selected=st.max_selected,
                          use_numba=st.numba)
    i, j = st.select(labels=np.where(skip, -1, 0).astype(np.int64),
                     what="co-actions of the burst graph")
    ai, aj = c.account[i], c.account[j]
    keep = ai != aj
    if not keep.any():
        return e, e, np.empty(0)
    ai, aj = ai[keep], aj[keep]
    key = gkey[c.group[i[keep]]]
    kuv = _unique_rows(key, np.minimum(ai, aj), np.maximum(ai, aj))
    ka = _unique_rows(np.r_[kuv[:, 0], kuv[:, 0]], np.r_[kuv[:, 1], kuv[:, 2]])
    k_accounts = np.bincount(ka[:, 0])
    # crowds: 1/(k - 1) per pair is next to nothing, and k^2 / 2 pairs is a lot
    kuv = kuv[k_accounts[kuv[:, 0]] <= MAX_BURST_ACCOUNTS]
    w = 1.0 / np.maximum(k_accounts[kuv[:, 0]] - 1, 1)
    n = max(c.n_accounts, 1)
    pair, inv = np.unique(kuv[:, 1] * n + kuv[:, 2], return_inverse=True)
    return pair // n, pair % n, np.bincount(inv, weights=w)


def _communities(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, seed: int,
                 resolution: float, min_size: int, max_iterations: int | None = None
                 ) -> np.ndarray:
    """Leiden (modularity) communities of the burst graph: a label per account code, -1 for
    accounts outside communities of at least ``min_size``; labels 0, 1, ... by decreasing
    size, ties by smallest account code. ``max_iterations`` caps Leiden's iterations
    (:func:`cib.communities.leiden_membership`)."""
    lab = np.full(n, -1, dtype=np.int64)
    if u.size == 0:
        return lab
    import igraph as ig

    from .communities import _seeded, leiden_membership

    nodes = np.unique(np.concatenate([u, v]))
    pos = np.searchsorted(nodes, np.stack([u, v], axis=1))
    g = ig.Graph(n=nodes.size, edges=pos.tolist())
    with _seeded(int(seed)):
        membership = np.asarray(leiden_membership(g, w.tolist(), resolution, max_iterations),
                                dtype=np.int64)
    sizes = np.bincount(membership)
    first = np.full(sizes.size, np.iinfo(np.int64).max)
    np.minimum.at(first, membership, nodes)
    big = np.flatnonzero(sizes >= min_size)
    order = big[np.lexsort((first[big], -sizes[big]))]
    renum = np.full(sizes.size, -1, dtype=np.int64)
    renum[order] = np.arange(order.size)
    lab[nodes] = renum[membership]
    return lab


BURST_P = 0.01


def _compact(c: _Coded, st: SortedTraces, factor: float) -> np.ndarray:
    """Per group code: the middle 80 % of its traces' times (this run's) span at most
    ``factor`` windows."""
    t = st.unsort(st.t)
    order = np.lexsort((t, c.group))
    ts = t[order]
    size = np.bincount(c.group, minlength=c.n_groups)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    n1 = np.maximum(size - 1, 0)
    lo = start + np.floor(0.1 * n1).astype(np.int64)
    hi = start + np.ceil(0.9 * n1).astype(np.int64)
    ok = size > 0
    span = np.zeros(c.n_groups, dtype=np.int64)
    span[ok] = ts[hi[ok]] - ts[lo[ok]]
    return span <= factor * st.window


def _group_stats(c: _Coded, st: SortedTraces, lab: np.ndarray, k: int,
                 chance: np.ndarray, short: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per community: ``T``, the number of objects on which its members co-acted far more
    than chance allows (a *burst*: the Poisson tail of the member pairs that co-acted on the
    object, at the object's chance times the member pairs on it, is at most
    :data:`BURST_P`), and ``E``, the expected number, :data:`BURST_P` times the objects two or
    more members acted on. Only objects whose sharers are at least :data:`MIN_MEMBER_SHARE`
    members count (popular objects, :func:`_popular`, never do), and with ``short`` (per group
    code, :func:`_compact`) only the objects it marks.
    Posts of one author count as one object (:meth:`_Coded.set_authors`)."""
    t = np.zeros(k)
    e = np.zeros(k)
    if k == 0:
        return t, e, np.zeros(c.n_accounts, dtype=np.int64), (np.empty(0, np.int64),) * 2
    nk = c.n_groups + int(c.group_author.max()) + 2
    gkey = _object_keys(c)
    # members per (community, object): possible pairs and their expected co-actions
    popular = _popular(c)
    m = (lab[c.account] >= 0) & ~popular[c.group]
    ca = np.unique(c.group[m].astype(np.int64) * c.n_accounts + c.account[m])
    g, a = ca // c.n_accounts, ca % c.n_accounts
    cg, cnt = np.unique(lab[a] * c.n_groups + g, return_counts=True)
    cl, g = cg // c.n_groups, cg % c.n_groups
    # an object is one of the community's only when members are at least MIN_MEMBER_SHARE of
    # the accounts that ever acted on it: a few members among the early sharers of a popular
    # post are not a push of theirs
    share_ok = cnt >= MIN_MEMBER_SHARE * c.object_accounts[g]
    if short is not None:
        share_ok &= short[g]
    possible = np.where(share_ok, cnt * (cnt - 1) / 2.0, 0.0)
    exp = possible * chance[g]
    # co-acting member pairs per (community, object)
    i, j = st.select(labels=lab, what="co-actions within discovered communities")
    ai, aj = c.account[i], c.account[j]
    pu, pv = np.minimum(ai, aj), np.maximum(ai, aj)
    pk = _unique_rows(c.group[i], pu, pv)
    pk = pk[~popular[pk[:, 0]]]
    obs_cg, obs_n = np.unique(lab[pk[:, 1]] * c.n_groups + pk[:, 0], return_counts=True)
    obs = np.zeros(cg.size)
    obs[np.searchsorted(cg, obs_cg)] = obs_n
    obs[~share_ok] = 0
    # per (community, key)
    key = cl * nk + gkey[g]
    uk, inv = np.unique(key, return_inverse=True)
    o_k = np.bincount(inv, weights=obs)
    e_k = np.bincount(inv, weights=exp)
    p_k = np.bincount(inv, weights=possible)
    c_k = uk // nk
    live = p_k > 0
    burst = live & (o_k > 0) & (_poisson_log_tail(o_k, np.maximum(e_k, 1e-12))
                                 <= np.log(BURST_P))
    t = np.bincount(c_k[burst], minlength=k)[:k].astype(np.float64)
    e = BURST_P * np.bincount(c_k[live], minlength=k)[:k].astype(np.float64)
    # per account, the bursts of its community it co-acted in
    per_account = np.zeros(c.n_accounts, dtype=np.int64)
    if pk.shape[0] and burst.any():
        pkey = lab[pk[:, 1]] * nk + gkey[pk[:, 0]]
        hit = np.isin(pkey, uk[burst])
        acc = np.concatenate([pk[hit, 1], pk[hit, 2]])
        keys = np.concatenate([pkey[hit], pkey[hit]])
        both = _unique_rows(acc, keys)
        per_account = np.bincount(both[:, 0], minlength=c.n_accounts)
    return t, e, per_account, (c_k[burst], uk[burst] % nk)


def _run(c: _Coded, st: SortedTraces, skip: np.ndarray, seed: int, resolution: float,
         min_size: int, min_bursts: int, max_span: float | None = None, rounds: int = 4,
         max_coactions: int | None = None) -> tuple:
    """One pass of discovery on the times of ``st``: communities of the burst graph, then per
    community its bursts ``T`` and ``E``, per account the bursts of its community it took part
    in, and the bursts (community, object key).

    Members that took part in fewer than ``min_bursts`` of their community's bursts are pruned
    and the bursts recounted on the rest, until nothing changes (at most ``rounds`` times): a
    community only keeps accounts that repeatedly act in its bursts. Null runs are pruned the
    same way, so the calibration sees the same procedure."""
    chance = c.chance(st.trace_partners()[0], np.zeros(c.n_groups))
    lab = _communities(c.n_accounts, *_burst_graph(c, st, skip, max_coactions), seed,
                       resolution, min_size)
    k = int(lab.max()) + 1 if lab.size else 0
    short = None if max_span is None else _compact(c, st, max_span)
    for _ in range(rounds):
        t, e, per_account, bursts = _group_stats(c, st, lab, k, chance, short)
        drop = (lab >= 0) & (per_account < min_bursts)
        if not drop.any():
            break
        lab = np.where(drop, -1, lab)
        small = np.bincount(lab[lab >= 0], minlength=k)[:k] < min_size
        lab = np.where((lab >= 0) & small[np.maximum(lab, 0)], -1, lab)
    else:
        t, e, per_account, bursts = _group_stats(c, st, lab, k, chance, short)
    return lab, t, e, per_account, bursts


def discover_groups(c: _Coded, st: SortedTraces, chance: np.ndarray | None, skip: np.ndarray,
                    *, runs: int = 10, seed: int = 0, fdr: float = 0.05, min_size: int = 3,
                    min_bursts: int = 2, resolution: float = 1.0,
                    max_pairs: int | None = MAX_LENIENT_PAIRS, rounds: int = MAX_ROUNDS,
                    max_span: float | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Find groups of accounts whose co-actions together exceed chance (module docstring).

    Discovery runs in rounds: each round leaves out the accounts earlier rounds put in groups
    (in its observed run and in its null runs), and its null runs do not lend the time profile
    of an object they co-acted on to other objects. A strong group found in round 1 would
    otherwise be found again, with part of its bursts, in the null runs of a weaker group
    (its own pushes lend their bursts to each other), and hide it. Rounds stop when one finds
    nothing (at most ``rounds``). Each round's groups have ``q_value <= fdr`` against its own
    null runs, so the expected false groups are at most ``fdr`` times the groups found, per
    round.

    Parameters
    ----------
    c : _Coded
        The coded traces (with authors set, when known).
    st : SortedTraces
        The observed traces in engine order (its window and limits are used for the null runs).
    chance : array of float or None
        Unused (kept for callers): each run's bursts are judged against the per-object chances
        of that run's own co-actions (:meth:`cib.nullmodel._Coded.chance`).
    skip : array of bool
        Per account code, accounts to leave out (already in flagged clusters).
    runs : int, default 10
        Null runs (at least 2: a null community's expectation comes from the other runs).
    seed : int, default 0
    fdr : float, default 0.05
        Report communities with ``q_value <= fdr``.
    min_size : int, default 3
    min_bursts : int, default 2
        Bursts of its community an account must take part in to stay in it.
    resolution : float, default 1.0
        Modularity resolution of the burst graph's communities.
    max_pairs : int or None, default :data:`MAX_LENIENT_PAIRS`
        When the observed data has more co-actions (trace pairs within the window) outside
        crowds (objects more than :data:`MAX_BURST_ACCOUNTS` accounts co-acted on) than this,
        nothing is discovered and ``table.attrs["skipped"]`` says why (None: no bound).
    rounds : int, default :data:`MAX_ROUNDS`
        Most rounds (1: a single round).
    max_span : float, optional
        Count only objects whose middle 80 % of shares fall within this many windows (the
        long-window pass uses :data:`LONG_MAX_SPAN`): a push is over within minutes; a trending
        hashtag used for hours is not one, though at a 10-minute window the accounts active in
        its busiest hours co-act on it more than the null runs give.

    Returns
    -------
    labels : array of int64
        Per account code, the index of its significant group (0, 1, ... by decreasing size), or
        -1.
    table : DataFrame
        One row per observed community of every round (:data:`DISCOVERY_COLUMNS`), ``group``
        being its label in ``labels`` (-1 when not significant).
    """
    skip = np.asarray(skip, dtype=bool)
    labels = np.full(c.n_accounts, -1, dtype=np.int64)
    tables = []
    n_found = 0
    for r in range(max(int(rounds), 1)):
        lab, table = _discover_round(c, st, skip | (labels >= 0), runs=runs, seed=seed,
                                     fdr=fdr, min_size=min_size, min_bursts=min_bursts,
                                     resolution=resolution, max_pairs=max_pairs,
                                     max_span=max_span)
        table.insert(0, "round", np.full(len(table), r + 1, dtype=np.int64))
        table["group"] = np.where(table["group"] >= 0, table["group"] + n_found, -1)
        tables.append(table)
        new = int(table["significant"].sum())
        if table.attrs.get("skipped") or new == 0:
            break
        labels = np.where(lab >= 0, lab + n_found, labels)
        n_found += new
    out = (pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0])
    out = out[DISCOVERY_COLUMNS].copy()
    out.attrs = {"skipped": tables[-1].attrs["skipped"]} \
        if tables[-1].attrs.get("skipped") else {}
    return labels, out


def _discover_round(c: _Coded, st: SortedTraces, skip: np.ndarray, *, runs: int, seed: int,
                    fdr: float, min_size: int, min_bursts: int, resolution: float,
                    max_pairs: int | None, max_span: float | None = None
                    ) -> tuple[np.ndarray, pd.DataFrame]:
    """One round of :func:`discover_groups` on the accounts not in ``skip``: labels (0, 1,
    ... per significant group) and the table of its communities (without ``round``)."""
    n = c.n_accounts
    empty = pd.DataFrame({col: pd.Series([], dtype=t) for col, t in zip(
        DISCOVERY_COLUMNS[1:], ["int64", "int64", "int64", "int64", "float64", "float64",
                                "float64", "bool"])})
    none = np.full(n, -1, dtype=np.int64)
    runs = int(runs)
    if n == 0 or runs < 2:
        return none, empty
    skip = np.asarray(skip, dtype=bool)
    args = (skip, seed, resolution, min_size, min_bursts, max_span)
    try:
        lab, t_obs, e_obs, bursts, burst_keys = _run(c, st, *args, max_coactions=max_pairs)
    except _TooMany as exc:
        empty.attrs["skipped"] = (
            f"group discovery skipped: the data has {exc.args[0]:,} co-actions outside crowds "
            f"(more than {max_pairs:,}); dense inputs make it slow. Pass a larger discovery_max_pairs "
            "(--discovery-max-pairs) to run it anyway.")
        return none, empty
    k = t_obs.size
    if k == 0 or not (lab >= 0).any():
        return none, empty
    null = TimeSwapNull.from_coded(c)
    rng = np.random.default_rng([int(seed), 0x6772])
    donors = _organic_donors(c, st, skip)
    limits = {"window_ns": st.window, "max_partners": st.max_partners,
              "budget_pairs": st.budget, "max_selected": st.max_selected, "use_numba": st.numba}
    null_lp = []
    for _ in range(runs):
        sn = SortedTraces(c, null.sample(rng, donors=donors), **limits)
        _, t2, e2 = _run(c, sn, *args)[:3]
        null_lp.append(_poisson_log_tail(t2, np.maximum(e2, 1e-6)))
    lp_obs = _poisson_log_tail(t_obs, np.maximum(e_obs, 1e-6))
    # expected false groups at log p: what the null runs show, and never less than their tail
    # extrapolated (a group beyond every null run still gets an honest, finite rate)
    q = calibrated_qvalues(lp_obs, null_lp, runs)
    sig = q <= fdr
    # members of significant groups that took part in fewer than min_bursts of its bursts
    # leave it (an account that co-acted once with members is not shown to be one of them)
    kept = (lab >= 0) & sig[np.maximum(lab, 0)] & (bursts >= min_bursts)
    n_kept = np.bincount(lab[kept], minlength=k)[:k]
    sig = sig & (n_kept >= min_size)
    kept &= sig[np.maximum(lab, 0)]
    # significant groups renumbered 0, 1, ... in the order of the communities (size, account)
    new = np.full(k, -1, dtype=np.int64)
    new[np.flatnonzero(sig)] = np.arange(int(sig.sum()))
    labels = np.where(kept, new[np.maximum(lab, 0)], -1)
    labels = _expand(c, st, labels, new, burst_keys, skip, min_bursts)
    n_members = np.zeros(k, dtype=np.int64)
    for comm in np.flatnonzero(sig):
        n_members[comm] = int((labels == new[comm]).sum())
    table = pd.DataFrame({"group": new, "n_accounts": np.bincount(lab[lab >= 0], minlength=k),
                          "n_members": n_members, "bursts": t_obs.astype(np.int64),
                          "expected": e_obs,
                          "log10_p": lp_obs / np.log(10.0), "q_value": q, "significant": sig})
    return labels, table[DISCOVERY_COLUMNS[1:]]


def _organic_donors(c: _Coded, st: SortedTraces, skip: np.ndarray) -> np.ndarray | None:
    """Per group code, whether the null runs may give its time profile to other objects: not
    when two accounts of flagged clusters (``skip``) co-acted on it. A push's burst is what
    coordination made; handed to an object of the same popularity in a null run, it makes that
    object's sharers co-act as if they were a group, and hides real groups behind it."""
    if not skip.any():
        return None
    i, _ = st.select(labels=np.where(skip, 0, -1).astype(np.int64),
                     what="co-actions within flagged clusters")
    ok = np.ones(c.n_groups, dtype=bool)
    ok[c.group[i]] = False
    return ok


#: A free account joins a group on a single push only when a non-member would land in that
#: push by chance this rarely (:func:`_chance_visits`).
SINGLE_PUSH_CHANCE = 0.02


def _chance_visits(c: _Coded, st: SortedTraces, objs: np.ndarray,
                   members: np.ndarray) -> np.ndarray:
    """Per object code in ``objs`` (sorted), the expected actions of non-members on it that
    fall, by chance, within one window of its members' push: the non-members' actions outside
    the push (more than one window before the members' first action on it or after their last)
    spread evenly over the rest of the object's life, times the push's length plus two windows.

    A post the group amplified while others reshare it all day draws a reader into the push now
    and then; the group's own post or page, which nobody else shares, never does."""
    t = st.unsort(st.t)
    rows = np.flatnonzero(np.isin(c.group, objs))
    o = np.searchsorted(objs, c.group[rows])
    ot = t[rows].astype(np.float64)
    om = members[c.account[rows]]
    big = np.finfo(np.float64).max
    first, last = np.full(objs.size, big), np.full(objs.size, -big)
    np.minimum.at(first, o[om], ot[om])
    np.maximum.at(last, o[om], ot[om])
    life_lo, life_hi = np.full(objs.size, big), np.full(objs.size, -big)
    np.minimum.at(life_lo, o, ot)
    np.maximum.at(life_hi, o, ot)
    w = float(st.window)
    outside = ~om & ((ot < first[o] - w) | (ot > last[o] + w))
    n_out = np.bincount(o[outside], minlength=objs.size)
    span = np.maximum(last - first, 0.0) + 2 * w
    return n_out * span / np.maximum(life_hi - life_lo - span, span)


#: An object that three or more members acted on counts as one of their pushes for
#: :func:`_expand` when outsiders would land in the push by chance at most this often.
PUSH_OBJECT_CHANCE = 0.3


def _member_objects(c: _Coded, st: SortedTraces, members: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per group code: the members that acted on the object, and, for the objects three or more
    members acted on, the outsiders' expected chance visits to the members' push on it
    (:func:`_chance_visits`; ``inf`` for the others). Computed once per group for
    :func:`_quiet_pushes` and :func:`_single_push`."""
    visits = np.full(c.n_groups, np.inf)
    m_rows = members[c.account]
    ga = _unique_rows(c.group[m_rows], c.account[m_rows])
    if ga.size == 0:
        return np.zeros(c.n_groups, dtype=np.int64), visits
    m_sharers = np.bincount(ga[:, 0], minlength=c.n_groups)
    objs = np.flatnonzero(m_sharers >= 3)
    if objs.size:
        visits[objs] = _chance_visits(c, st, objs, members)
    return m_sharers, visits


def _quiet_pushes(c: _Coded, st: SortedTraces, members: np.ndarray,
                  visits: np.ndarray | None = None) -> np.ndarray:
    """Per group code: three or more members acted on the object, it is not popular
    (:func:`_popular`), and outsiders would land in the members' push on it by chance at most
    :data:`PUSH_OBJECT_CHANCE` times (:func:`_chance_visits`; ``visits`` from
    :func:`_member_objects` when already computed).

    A group's bursts only count objects of which members are at least
    :data:`MIN_MEMBER_SHARE` of the sharers (early sharers of breaking news are not a push of
    theirs); a rotating network that amplifies a post 40 to 80 others reshare over the day
    fails that, yet its push stands out against the post's quiet hours. Such objects count
    towards the two pushes an outsider needs to join (:func:`_expand`), never towards the
    group's test."""
    if visits is None:
        visits = _member_objects(c, st, members)[1]
    return (visits <= PUSH_OBJECT_CHANCE) & ~_popular(c)


def _expand(c: _Coded, st: SortedTraces, labels: np.ndarray, new: np.ndarray,
            burst_keys: tuple[np.ndarray, np.ndarray], skip: np.ndarray,
            min_bursts: int) -> np.ndarray:
    """Add to each significant group the accounts outside every group that co-acted with its
    members in at least ``min_bursts`` of its bursts or quiet pushes (:func:`_quiet_pushes`),
    mostly with members (members of a rotating network whose own weak ties left them outside
    the community), or that took part in a single push of the group (:func:`_single_push`)."""
    comm, key = burst_keys
    if comm.size == 0 or not (labels >= 0).any():
        return labels
    out = labels.copy()
    gkey = _object_keys(c)
    free = (labels < 0) & ~skip
    for grp in np.unique(new[comm][new[comm] >= 0]):
        keys = key[new[comm] == grp]
        members = labels == grp
        # per group code: a burst object of grp, or one of its pushes on a post others share too
        m_sharers, visits = _member_objects(c, st, members)
        on_burst = np.isin(gkey, keys) | _quiet_pushes(c, st, members, visits)
        rows = on_burst[c.group]
        cand = rows & (members[c.account] | free[c.account])
        if not cand.any():
            continue
        # one label for the members and the candidates, -1 elsewhere: the co-actions among
        # them, of which those between a member and a candidate on a burst object count
        lab2 = np.full(c.n_accounts, -1, dtype=np.int64)
        touched = np.unique(c.account[cand])
        lab2[touched] = 0
        i, j = st.select(labels=lab2, what="co-actions on a group's bursts")
        ai, aj = c.account[i], c.account[j]
        g = c.group[i]
        on = on_burst[g]
        ai, aj, g = ai[on], aj[on], g[on]
        ok = members[ai] != members[aj]
        outsider = np.where(members[ai[ok]], aj[ok], ai[ok])
        both = _unique_rows(outsider, gkey[g[ok]])
        counts = np.bincount(both[:, 0], minlength=c.n_accounts) if both.size else \
            np.zeros(c.n_accounts, dtype=np.int64)
        # and most of whose partners on those objects are members: in a crowd reacting to a
        # post the group amplified, an account acts with the crowd, not with the group
        pairs = _unique_rows(np.r_[ai, aj], np.r_[aj, ai])
        n_partners = np.bincount(pairs[:, 0], minlength=c.n_accounts)
        n_member_partners = np.bincount(pairs[:, 0], weights=members[pairs[:, 1]],
                                        minlength=c.n_accounts)
        join = free & (counts >= min_bursts) & (2 * n_member_partners >= n_partners)
        join |= free & _single_push(c, members, ai, aj, g, m_sharers, visits)
        out[join] = grp
        free &= ~join
    return out


def _single_push(c: _Coded, members: np.ndarray, ai: np.ndarray, aj: np.ndarray,
                 g: np.ndarray, m_sharers: np.ndarray, visits: np.ndarray) -> np.ndarray:
    """Per account code, whether it took part in one push of the group: on one of the group's
    burst objects (``g``, with the co-acting pairs ``ai``-``aj`` on it) it acted within the
    window of at least three members, and of at least as many members as other accounts (the
    others being mostly members too, not yet known as such), the members are at least
    :data:`MIN_MEMBER_SHARE` of the object's sharers (at any time), and an outsider would land
    in that push by chance at most :data:`SINGLE_PUSH_CHANCE` times (``visits``, and the
    members per object ``m_sharers``, from :func:`_member_objects`).

    A rotating network's member that joined one push of five to ten members in three days is
    found this way; a reader who reshared the amplified post right after the push is not, when
    the post draws readers all day."""
    hit = np.zeros(c.n_accounts, dtype=bool)
    trip = _unique_rows(np.r_[ai, aj], np.r_[g, g], np.r_[aj, ai])
    trip = trip[~members[trip[:, 0]]]
    if trip.size == 0:
        return hit
    rows = _unique_rows(trip[:, 0], trip[:, 1])             # (outsider, object)
    ng = np.int64(c.n_groups)
    idx = np.searchsorted(rows[:, 0] * ng + rows[:, 1], trip[:, 0] * ng + trip[:, 1])
    mp = np.bincount(idx, weights=members[trip[:, 2]], minlength=rows.shape[0])
    op = np.bincount(idx, weights=~members[trip[:, 2]], minlength=rows.shape[0])
    obj = rows[:, 1]
    good = (mp >= 3) & (op <= mp) & (m_sharers[obj] >= MIN_MEMBER_SHARE * c.object_accounts[obj]) \
        & (visits[obj] <= SINGLE_PUSH_CHANCE)
    hit[rows[good, 0]] = True
    return hit
