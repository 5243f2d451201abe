"""COACTIONS -> EDGES: undirected account pairs, per kind and combined."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import COMBINED_EDGE_COLUMNS, EDGE_COLUMNS, UTC_NS, from_epoch_ns, to_epoch_ns

__all__ = ["popularity_discount", "edges_per_kind", "combine_edges"]

try:
    from numba import njit as _njit

    from .._numbacache import install as _install_cache_lock

    _install_cache_lock()  # before any cached kernel is loaded or saved
except ImportError:  # pragma: no cover
    _njit = None


def _kahan_group_sum_py(codes, values, n):
    """Per group ``codes[i]``, the compensated (Kahan) sum of ``values`` in row order: the
    arithmetic of pandas' Cython ``group_sum``, done here so that a sum does not depend on the
    rest of the frame (pandas sums with ``np.add.reduceat`` instead when the group ids happen
    to be sorted)."""
    total = np.zeros(n, np.float64)
    comp = np.zeros(n, np.float64)
    for k in range(codes.shape[0]):
        g = codes[k]
        if values[k] != values[k]:  # NaN is skipped, as pandas does
            continue
        y = values[k] - comp[g]
        t = total[g] + y
        comp[g] = t - total[g] - y
        if comp[g] != comp[g]:  # an infinite value: no compensation
            comp[g] = 0.0
        total[g] = t
    return total


_kahan_group_sum = _njit(cache=True, nogil=True)(_kahan_group_sum_py) if _njit is not None \
    else _kahan_group_sum_py


def _group_sum(grouped, column: str) -> np.ndarray:
    """``grouped[column].sum()`` as :func:`_kahan_group_sum` (groups in ``grouped``'s sorted
    order)."""
    codes = grouped.ngroup().to_numpy(dtype=np.int64)
    values = grouped.obj[column].to_numpy(dtype=np.float64)
    return _kahan_group_sum(codes, values, int(grouped.ngroups))


def popularity_discount(n_accounts: np.ndarray | pd.Series) -> np.ndarray:
    """The weight one co-action on an object contributes: ``1 / log2(n)``, ``n`` = distinct
    accounts that acted on the object (``n >= 2``).

    An object only the two accounts shared counts 1; one shared by 1,024 accounts counts 0.1, so a
    crowd reacting to breaking news weighs little while a pair that repeatedly shares rare objects
    weighs a lot.

    Examples
    --------
    >>> popularity_discount(np.array([2, 4, 1024])).tolist()
    [1.0, 0.5, 0.1]
    """
    n = np.maximum(np.asarray(n_accounts, dtype=np.float64), 2.0)
    return 1.0 / np.log2(n)


def _object_accounts(traces: pd.DataFrame) -> pd.Series:
    return traces.groupby(["kind", "object_id"], sort=False)["account_id"].nunique()


def edges_per_kind(coactions: pd.DataFrame, traces: pd.DataFrame | None,
                   popularity: pd.Series | None = None) -> pd.DataFrame:
    """Aggregate co-actions into one undirected edge per (kind, account pair).

    Parameters
    ----------
    coactions : DataFrame
        COACTIONS.
    traces : DataFrame
        The TRACES the co-actions came from (for object popularity).
    popularity : Series, optional
        Instead of ``traces``: the distinct accounts per ``(kind, object_id)`` (a Series with
        that MultiIndex) of at least the objects of ``coactions``.

    Returns
    -------
    DataFrame
        EDGES: ``kind``, ``account_u`` < ``account_v``, ``weight`` (distinct objects co-acted on),
        ``n_pairs`` (pair rows), ``min_delay_s``, ``median_delay_s`` (over pair rows),
        ``first_time``, ``last_time`` (of the traces involved), ``weighted`` (sum over the distinct
        objects of :func:`popularity_discount`). Sorted by kind, account_u, account_v.

    Examples
    --------
    >>> from cib.coaction import coactions
    >>> t = pd.to_datetime([0, 5, 100, 130, 400], unit="s", utc=True)
    >>> tr = pd.DataFrame({"account_id": ["a", "b", "a", "b", "b"], "timestamp": t,
    ...     "kind": "repost", "object_id": ["p", "p", "q", "q", "q"], "action_id": list("12345")})
    >>> e = edges_per_kind(coactions(tr, 60), tr)
    >>> e[["account_u", "account_v", "weight", "n_pairs", "min_delay_s", "weighted"]].to_dict("records")
    [{'account_u': 'a', 'account_v': 'b', 'weight': 2, 'n_pairs': 2, 'min_delay_s': 5.0, 'weighted': 2.0}]
    """
    if coactions.empty:
        return _empty_edges()
    a = coactions["account_a"].to_numpy(dtype=object)
    b = coactions["account_b"].to_numpy(dtype=object)
    swap = a > b
    df = pd.DataFrame({
        "kind": coactions["kind"].to_numpy(dtype=object),
        "object_id": coactions["object_id"].to_numpy(dtype=object),
        "account_u": np.where(swap, b, a),
        "account_v": np.where(swap, a, b),
        "delay_s": coactions["delay_s"].to_numpy(dtype=np.float64),
        "time_a": to_epoch_ns(coactions["time_a"]),
        "time_b": to_epoch_ns(coactions["time_b"]),
    })
    pop = (_object_accounts(traces) if popularity is None else popularity).rename("n_obj")
    keys = ["kind", "account_u", "account_v"]
    g = df.groupby(keys, sort=True)
    out = g.agg(n_pairs=("delay_s", "size"), min_delay_s=("delay_s", "min"),
                median_delay_s=("delay_s", "median"), first_time=("time_a", "min"),
                last_time=("time_b", "max"))
    objs = df.drop_duplicates(keys + ["object_id"])[keys + ["object_id"]]
    objs = objs.join(pop, on=["kind", "object_id"])
    objs["w"] = popularity_discount(objs["n_obj"].to_numpy())
    og = objs.groupby(keys, sort=True)
    per_obj = og.agg(weight=("object_id", "size"))
    per_obj["weighted"] = _group_sum(og, "w")
    out = out.join(per_obj).reset_index()
    out["weight"] = out["weight"].astype("int64")
    out["n_pairs"] = out["n_pairs"].astype("int64")
    out["first_time"] = from_epoch_ns(out["first_time"].to_numpy())
    out["last_time"] = from_epoch_ns(out["last_time"].to_numpy())
    return out[EDGE_COLUMNS]


def combine_edges(edges: pd.DataFrame, coactions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Combine per-kind EDGES into one multi-kind edge per account pair.

    ``weight``, ``weighted`` and ``n_pairs`` are summed over kinds, ``min_delay_s``, ``first_time``
    and ``last_time`` combined, ``kinds`` lists the kinds (comma-separated, sorted) and one
    ``w_<kind>`` column per kind holds that kind's weight. ``median_delay_s`` is the median over all
    pair rows when ``coactions`` is given, else the pair-weighted mean of the per-kind medians
    would be wrong, so the smallest per-kind median is not used either: it is recomputed from
    ``coactions`` or left as the per-kind value when there is only one kind.

    Examples
    --------
    >>> e = pd.DataFrame({"kind": ["repost", "url"], "account_u": ["a", "a"], "account_v": ["b", "b"],
    ...     "weight": [2, 1], "n_pairs": [2, 1], "min_delay_s": [5.0, 1.0], "median_delay_s": [7.0, 1.0],
    ...     "first_time": pd.to_datetime([0, 50], unit="s", utc=True),
    ...     "last_time": pd.to_datetime([130, 60], unit="s", utc=True), "weighted": [2.0, 0.5]})
    >>> combine_edges(e)[["weight", "weighted", "kinds", "w_repost", "w_url"]].to_dict("records")
    [{'weight': 3, 'weighted': 2.5, 'kinds': 'repost,url', 'w_repost': 2, 'w_url': 1}]
    """
    if edges.empty:
        return _empty_edges(combined=True)
    keys = ["account_u", "account_v"]
    kind_codes, kind_names = pd.factorize(edges["kind"], sort=True)
    g = edges.assign(_bits=np.left_shift(1, kind_codes.astype(np.int64))).groupby(keys, sort=True)
    out = g.agg(weight=("weight", "sum"), n_pairs=("n_pairs", "sum"),
                min_delay_s=("min_delay_s", "min"), first_time=("first_time", "min"),
                last_time=("last_time", "max"), bits=("_bits", "sum"))
    out.insert(1, "weighted", _group_sum(g, "weighted"))
    masks = out["bits"].unique()
    names = {m: ",".join(k for i, k in enumerate(kind_names) if m >> i & 1) for m in masks}
    out["kinds"] = out.pop("bits").map(names)
    if coactions is not None and not coactions.empty:
        a = coactions["account_a"].to_numpy(dtype=object)
        b = coactions["account_b"].to_numpy(dtype=object)
        swap = a > b
        d = pd.DataFrame({"account_u": np.where(swap, b, a), "account_v": np.where(swap, a, b),
                          "delay_s": coactions["delay_s"].to_numpy(dtype=np.float64)})
        med = d.groupby(keys, sort=True)["delay_s"].median().rename("median_delay_s")
        out = out.join(med)
    else:
        single = g["kind"].size() == 1
        med = g["median_delay_s"].first().where(single)
        out = out.join(med.rename("median_delay_s"))
    wide = edges.pivot_table(index=keys, columns="kind", values="weight", aggfunc="sum",
                             fill_value=0)
    wide.columns = [f"w_{k}" for k in wide.columns]
    out = out.join(wide.astype("int64")).reset_index()
    out["weight"] = out["weight"].astype("int64")
    out["n_pairs"] = out["n_pairs"].astype("int64")
    cols = COMBINED_EDGE_COLUMNS + sorted(c for c in out.columns if c.startswith("w_"))
    return out[cols]


def _empty_edges(combined: bool = False) -> pd.DataFrame:
    cols = COMBINED_EDGE_COLUMNS if combined else EDGE_COLUMNS
    dtypes = {"weight": "int64", "n_pairs": "int64", "min_delay_s": "float64",
              "median_delay_s": "float64", "weighted": "float64", "first_time": UTC_NS,
              "last_time": UTC_NS}
    return pd.DataFrame({c: pd.Series([], dtype=dtypes.get(c, object)) for c in cols})
