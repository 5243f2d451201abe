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

import numpy as np
import pandas as pd

from .coaction._join import pair_indices
from .params import check_number, parse_duration
from .schema import to_epoch_ns


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


def pair_chance(traces: pd.DataFrame, coactions: pd.DataFrame,
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
    n = traces.groupby(["kind", "object_id"], sort=True).size().rename("n")
    ca = coactions
    removed = pd.Series(dtype="float64", name="removed")
    if exclude is not None and len(exclude) and len(ca):
        a = ca["account_a"].to_numpy(dtype=object)
        b = ca["account_b"].to_numpy(dtype=object)
        key = pd.MultiIndex.from_arrays([np.where(a < b, a, b), np.where(a < b, b, a)])
        ex = pd.MultiIndex.from_frame(exclude[["account_u", "account_v"]])
        tested = key.isin(ex)
        removed = ca[tested].groupby(["kind", "object_id"], sort=True).size().rename("removed")
        ca = ca[~tested]
    pairs = ca.groupby(["kind", "object_id"], sort=True).size().rename("pairs")
    df = pd.concat([n, pairs, removed], axis=1).fillna({"pairs": 0, "removed": 0})
    kind_codes, _ = pd.factorize(df.index.get_level_values(0), sort=True)
    df["bin"] = _popularity_bins(kind_codes, df["n"].to_numpy())
    df["possible"] = df["n"] * (df["n"] - 1) / 2.0 - df["removed"]
    pooled = df.groupby("bin")[["pairs", "possible"]].transform("sum")
    chance = np.where(pooled["possible"] > 0, pooled["pairs"] / pooled["possible"].clip(lower=1), 0.0)
    index = df.index.set_names(["kind", "object_id"])
    return pd.Series(np.clip(chance, 0.0, 1.0), index=index, name="chance")


def n_tests(traces: pd.DataFrame) -> float:
    """How many account pairs could have co-acted: the sum over objects of (accounts choose 2),
    an upper bound on the number of pairs with a common object (the hypotheses behind the edge
    tests, most of them never seen because they never co-acted)."""
    k = traces.groupby(["kind", "object_id"], sort=False)["account_id"].nunique().to_numpy(np.float64)
    return float(np.sum(k * (k - 1) / 2.0))


def edge_significance(edges: pd.DataFrame, traces: pd.DataFrame,
                      coactions: pd.DataFrame) -> pd.DataFrame:
    """Test every edge's weight against what chance timing would give the pair.

    For an account pair, every object both accounts acted on (at any time) is a trial that ends in
    a co-action with probability ``1 - (1 - c) ** (n_u * n_v)``, where ``c`` is the object's pooled
    :func:`pair_chance` and ``n_u``, ``n_v`` the two accounts' numbers of traces on it (an account
    that uses a hashtag 200 times meets everyone else who uses it). The expected weight is the sum of
    those chances; the edge's ``p_value`` is the Poisson upper tail ``P(X >= weight)`` with that
    mean (conservative for the Poisson-binomial it approximates), and ``q_value`` is its
    Benjamini-Hochberg false discovery rate over the edges tested.

    Returns the edges with ``n_common`` (objects both acted on), ``expected``, ``p_value``,
    ``q_value`` added.
    """
    from scipy import sparse
    from scipy.stats import poisson

    out = edges.copy()
    if edges.empty:
        for c in ("n_common", "expected", "p_value", "q_value"):
            out[c] = pd.Series([], dtype="float64")
        return out
    chance = pair_chance(traces, coactions, exclude=edges)
    accounts = pd.Index(sorted(set(edges["account_u"]).union(edges["account_v"])))
    t = traces[traces["account_id"].isin(accounts)]
    counts = t.groupby(["account_id", "kind", "object_id"], sort=True).size().reset_index(name="c")
    obj_index = pd.MultiIndex.from_frame(counts[["kind", "object_id"]])
    obj_codes, obj_uniques = pd.factorize(obj_index, sort=True)
    rows = accounts.get_indexer(counts["account_id"])
    a = sparse.csr_matrix((counts["c"].to_numpy(dtype=np.float64), (rows, obj_codes)),
                          shape=(len(accounts), len(obj_uniques)))
    log_miss = np.log1p(-np.minimum(chance.reindex(obj_uniques).fillna(0.0).to_numpy(), 1 - 1e-12))
    u = accounts.get_indexer(edges["account_u"])
    v = accounts.get_indexer(edges["account_v"])
    # per common object: c_u * c_v share pairs, each within the window with the pooled chance
    common = a[u].multiply(a[v]).tocsr()
    n_common = np.diff(common.indptr)
    common.data = -np.expm1(common.data * log_miss[common.indices])
    out["n_common"] = n_common.astype("int64")
    out["expected"] = np.asarray(common.sum(axis=1)).ravel()
    weight = edges["weight"].to_numpy(dtype=np.float64)
    out["p_value"] = poisson.sf(weight - 1, np.maximum(out["expected"].to_numpy(), 1e-12))
    m = max(n_tests(traces), float(len(out)))
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(), m=m)
    return out

__all__ = ["cluster_pvalues", "internal_weight", "edge_significance", "pair_chance",
           "benjamini_hochberg"]


def _popularity_bins(kind_of_group: np.ndarray, size: np.ndarray) -> np.ndarray:
    b = np.where(size <= 16, size, 16 + np.floor(4 * np.log2(np.maximum(size, 1) / 16.0)))
    return kind_of_group.astype(np.int64) * 10_000 + b.astype(np.int64)


def internal_weight(group: np.ndarray, cluster: np.ndarray, account: np.ndarray,
                    time: np.ndarray, n_clusters: int, window_ns: int) -> np.ndarray:
    """Per cluster, the number of distinct (account pair, object) co-actions among its members.

    ``group`` codes (kind, object). All arrays are aligned, one entry per trace of a clustered
    account; they need not be sorted.
    """
    if group.size == 0:
        return np.zeros(n_clusters, dtype=np.int64)
    order = np.lexsort((account, time, cluster, group))
    key = group[order] * (n_clusters + 1) + cluster[order]
    t = time[order]
    acc = account[order]
    i, j = pair_indices(key, t, window_ns)
    keep = acc[i] != acc[j]
    i, j = i[keep], j[keep]
    if i.size == 0:
        return np.zeros(n_clusters, dtype=np.int64)
    u = np.minimum(acc[i], acc[j])
    v = np.maximum(acc[i], acc[j])
    triples = np.unique(np.stack([key[i], u, v]), axis=1)
    cl = triples[0] % (n_clusters + 1)
    return np.bincount(cl, minlength=n_clusters)[:n_clusters].astype(np.int64)


def cluster_pvalues(traces: pd.DataFrame, labels: pd.Series, window: float | str = 60,
                    n_null: int = 100, seed: int = 0) -> pd.DataFrame:
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
        return out
    window_ns = int(round(w * 1e9))
    cl_index = pd.Series(np.arange(len(cluster_ids)), index=cluster_ids)

    kind_codes, _ = pd.factorize(traces["kind"], sort=True)
    obj_codes, objects = pd.factorize(traces["object_id"], sort=True)
    gkey = kind_codes.astype(np.int64) * (len(objects) + 1) + obj_codes
    group, _ = pd.factorize(gkey, sort=True)
    group = group.astype(np.int64)
    time = to_epoch_ns(traces["timestamp"])
    n_groups = int(group.max()) + 1

    # every object's sorted share times, for the donors
    order = np.lexsort((time, group))
    t_sorted = time[order]
    size = np.bincount(group, minlength=n_groups)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    kind_of_group = np.zeros(n_groups, dtype=np.int64)
    kind_of_group[group] = kind_codes
    bins = _popularity_bins(kind_of_group, size)

    # the traces of clustered accounts
    acct = traces["account_id"].to_numpy(dtype=object)
    lab = pd.Series(acct).map(labels).to_numpy(dtype=np.float64)
    sel = ~np.isnan(lab)
    r_group = group[sel]
    r_cluster = cl_index.loc[lab[sel].astype(np.int64)].to_numpy(dtype=np.int64)
    r_account, _ = pd.factorize(pd.Series(acct[sel]), sort=True)
    r_account = r_account.astype(np.int64)
    r_time = time[sel]
    k = len(cluster_ids)
    observed = internal_weight(r_group, r_cluster, r_account, r_time, k, window_ns)

    rng = np.random.default_rng(seed)
    used = np.unique(r_group)
    exceed = np.zeros(k, dtype=np.int64)
    total = np.zeros(k, dtype=np.float64)
    objs_by_bin = np.lexsort((np.arange(n_groups), bins))
    for _ in range(int(n_null)):
        shuffled = np.lexsort((rng.random(n_groups), bins))
        donor = np.empty(n_groups, dtype=np.int64)
        donor[objs_by_bin] = shuffled
        d = donor[r_group]
        pos = _draw_positions(rng, r_group, size[d])
        null_time = t_sorted[start[d] + pos]
        nw = internal_weight(r_group, r_cluster, r_account, null_time, k, window_ns)
        exceed += nw >= observed
        total += nw
    del used
    out["observed"] = observed
    out["null_mean"] = total / max(int(n_null), 1)
    out["p_value"] = (1.0 + exceed) / (1.0 + n_null)
    return out


def _draw_positions(rng: np.random.Generator, group: np.ndarray, donor_size: np.ndarray,
                    tries: int = 8) -> np.ndarray:
    """Draw, per trace, a position in its donor's time list, without replacement within a group
    where the donor has enough times."""
    pos = np.floor(rng.random(group.size) * donor_size).astype(np.int64)
    for _ in range(tries):
        order = np.lexsort((pos, group))
        g, p = group[order], pos[order]
        dup = np.zeros(group.size, dtype=bool)
        dup[1:] = (g[1:] == g[:-1]) & (p[1:] == p[:-1])
        if not dup.any():
            break
        idx = order[dup]
        pos[idx] = np.floor(rng.random(idx.size) * donor_size[idx]).astype(np.int64)
    return pos
