"""CooRTweet 2.1 compatibility mode (DESIGN §4): the same answer as the R package, from cib.

This module reproduces, in vectorised numpy/pandas, CooRTweet's

- ``detect_groups``  -> :func:`detect_groups` (pairs of shares of the same object within the window),
- ``generate_coordinated_network`` -> :func:`generate_coordinated_network` (an edge list) and
  :func:`coortweet_graph` (the igraph object CooRTweet returns),
- ``flag_speed_share`` -> :func:`flag_speed_share`,
- ``account_stats`` and ``group_stats`` -> :func:`account_stats`, :func:`group_stats`,

plus :func:`detect_groups_multi` (the multimodal recipe: one ``detect_groups`` per kind of object,
results stacked) and :func:`coortweet_input` (cib TRACES -> CooRTweet's input table).

CooRTweet semantics reproduced here (R package 2.1.3, read from its source and checked against its
output on ``russian_coord_tweets``):

1. accounts with fewer than ``min_participation`` input rows are dropped (pre-filter);
2. per object, every pair of shares with ``|dt| <= time_window`` (inclusive, pairwise);
3. loops removed (``remove_loops``): ``object_id == content_id``, ``object_id == content_id_y``,
   same content, same account;
4. post-filter: an account "participates" when at least ``min_participation`` of its input rows
   have a content id that occurs in a pair; a pair survives if EITHER side's content id belongs to
   such an account;
5. the older share is on the left (``content_id``, ``account_id``), ``time_delta >= 0``;
6. edge ``weight`` = number of pair rows of the account pair (not distinct objects),
   ``weight_threshold = weight > quantile(weight, edge_weight, type = 7)``.

Row order follows CooRTweet too: ``detect_groups`` groups its input by account (accounts in order
of first appearance, rows in input order), then by object (in order of first appearance in that
regrouped table); within an object the pairs come ordered by the later row, then the earlier one,
and on equal times the earlier row of the regrouped table is the "older" share. Strings are
compared by code point (R's C locale), which matters only for ``pmin``/``pmax`` of account ids and
for the sort in :func:`flag_speed_share` / :func:`account_stats`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, ParameterError
from ..params import check_choice, check_number
from ..schema import TRACE_COLUMNS, is_utc_datetime, to_epoch_ns
from ._join import pair_indices

__all__ = [
    "INPUT_COLUMNS",
    "RESULT_COLUMNS",
    "EDGE_COLUMNS",
    "r_quantile_type7",
    "detect_groups",
    "detect_groups_multi",
    "generate_coordinated_network",
    "coortweet_graph",
    "flag_speed_share",
    "account_stats",
    "group_stats",
    "coortweet_input",
]

#: CooRTweet's input columns.
INPUT_COLUMNS = ["object_id", "account_id", "content_id", "timestamp_share"]
#: The columns of ``detect_groups``'s result, in CooRTweet's order.
RESULT_COLUMNS = ["object_id", "content_id", "content_id_y", "time_delta", "account_id",
                  "account_id_y"]
#: The edge list of ``generate_coordinated_network`` (``fast_net=False``); ``object_ids`` comes
#: before ``weight_threshold`` when ``objects=True``.
EDGE_COLUMNS = ["from", "to", "weight", "avg_time_delta", "n_content_id", "n_content_id_y",
                "edge_symmetry_score", "weight_threshold"]

_FAST_STATS = ["weight", "avg_time_delta", "n_content_id", "n_content_id_y", "edge_symmetry_score"]
_FLAG = re.compile(r"time_window_")


# --------------------------------------------------------------------------------------------
# small helpers


def _require(df: Any, columns: list[str], what: str) -> None:
    """Raise InputError naming every missing column."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{what} lacks required columns: {', '.join(missing)}")


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _codes(*arrays: Any) -> list[np.ndarray]:
    """Joint integer codes (first-appearance order, NA is a value) of several id columns."""
    sizes = [len(a) for a in arrays]
    joint = pd.concat([pd.Series(np.asarray(a, dtype=object)) for a in arrays], ignore_index=True)
    codes, _ = pd.factorize(joint, use_na_sentinel=False)
    out, start = [], 0
    for n in sizes:
        out.append(codes[start:start + n].astype(np.int64))
        start += n
    return out


def _times(series: pd.Series) -> np.ndarray:
    """``timestamp_share`` as numbers (int64 when integral; datetimes become epoch seconds)."""
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        s = series if isinstance(series.dtype, pd.DatetimeTZDtype) else series.dt.tz_localize("UTC")
        return to_epoch_ns(s) // 1_000_000_000
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    finite = values[~np.isnan(values)]
    if np.all(finite == np.round(finite)) and not np.isnan(values).any():
        return values.astype(np.int64)
    return values


def _num_label(x: float) -> str:
    """How R's ``paste`` prints a number (``10``, not ``10.0``)."""
    x = _scalar(x)
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _participating(content: np.ndarray, account: np.ndarray, pair_contents: np.ndarray,
                   min_participation: float, n_content: int) -> np.ndarray:
    """CooRTweet's ``filter_min_participation`` core: which content codes belong to an account
    with at least ``min_participation`` input rows whose content occurs in ``pair_contents``.

    ``content`` / ``account`` are the codes of the input rows. Returns a boolean mask over content
    codes.
    """
    in_pairs = np.zeros(n_content, dtype=bool)
    in_pairs[pair_contents] = True
    rows = in_pairs[content]
    counts = np.bincount(account[rows], minlength=int(account.max(initial=-1)) + 1)
    ok_rows = rows & (counts[account] >= min_participation)
    good = np.zeros(n_content, dtype=bool)
    good[content[ok_rows]] = True
    return good


def _filter_min_participation(data: pd.DataFrame, result: pd.DataFrame,
                              min_participation: float) -> np.ndarray:
    """Boolean mask over ``result`` rows kept by CooRTweet's ``filter_min_participation``."""
    if result.empty:
        return np.zeros(0, dtype=bool)
    c_data, c_left, c_right = _codes(data["content_id"], result["content_id"],
                                     result["content_id_y"])
    acc, _ = pd.factorize(pd.Series(np.asarray(data["account_id"], dtype=object)),
                          use_na_sentinel=False)
    n_content = int(max(c_data.max(initial=-1), c_left.max(), c_right.max())) + 1
    good = _participating(c_data, acc.astype(np.int64), np.concatenate([c_left, c_right]),
                          min_participation, n_content)
    return good[c_left] | good[c_right]


def r_quantile_type7(x: Any, p: float) -> float:
    """R's ``quantile(x, p, type = 7, na.rm = TRUE)`` for one probability.

    ``h = 1 + (n - 1) p``; the answer is ``x[floor h]``, moved towards ``x[ceil h]`` by the
    fraction ``h - floor h`` with R's formula ``(1 - f) * lo + f * hi`` (only when the two differ).

    Parameters
    ----------
    x : array-like of numbers
        Missing values are dropped.
    p : float
        Probability in [0, 1].

    Returns
    -------
    float
        The quantile, or NaN when ``x`` has no values.

    Examples
    --------
    >>> r_quantile_type7([1, 2, 3, 4], 0.5)
    2.5
    >>> r_quantile_type7([1, 1, 1, 2], 0.5)
    1.0
    >>> round(r_quantile_type7(range(1, 11), 0.9), 10)
    9.1
    """
    p = float(check_number(_scalar(p), "p", "r_quantile_type7", low=0, high=1))
    v = np.asarray(pd.to_numeric(pd.Series(np.asarray(x, dtype=object).ravel()), errors="coerce"),
                   dtype="float64")
    v = np.sort(v[~np.isnan(v)])
    n = v.size
    if n == 0:
        return float("nan")
    index = 1 + (n - 1) * p
    lo = int(np.floor(index))
    hi = int(np.ceil(index))
    q = v[lo - 1]
    if index > lo and v[hi - 1] != q:
        h = index - lo
        q = (1 - h) * q + h * v[hi - 1]
    return float(q)


# --------------------------------------------------------------------------------------------
# detect_groups


def _empty_result(data: pd.DataFrame) -> pd.DataFrame:
    cols = {}
    for c in RESULT_COLUMNS:
        src = "content_id" if c.startswith("content") else "account_id" if c.startswith(
            "account") else c
        dtype = "int64" if c == "time_delta" else data[src].dtype
        cols[c] = pd.Series([], dtype=dtype)
    return pd.DataFrame(cols)


def detect_groups(data: pd.DataFrame, time_window: float = 10, min_participation: float = 2,
                  remove_loops: bool = True) -> pd.DataFrame:
    """CooRTweet's ``detect_groups``: pairs of shares of the same object within ``time_window``.

    Parameters
    ----------
    data : DataFrame
        CooRTweet's input: ``object_id``, ``account_id``, ``content_id``, ``timestamp_share``
        (seconds; integer in CooRTweet, datetimes are accepted and turned into epoch seconds).
        Other columns are ignored.
    time_window : float, default 10
        Seconds; pairs with ``|dt| <= time_window`` are kept (inclusive).
    min_participation : float, default 2
        Accounts with fewer input rows are dropped first; afterwards a pair survives only when
        one of its two content ids belongs to an account with at least this many input rows
        whose content id occurs in some pair (CooRTweet's post-filter; skipped below 1).
    remove_loops : bool, default True
        Drop pairs of the same account, of the same content, or whose content id equals the
        object id.

    Returns
    -------
    DataFrame
        ``object_id``, ``content_id``, ``content_id_y``, ``time_delta`` (int seconds, >= 0),
        ``account_id``, ``account_id_y``; the older share on the left. Rows in CooRTweet's order.

    Raises
    ------
    InputError
        When required columns are missing (all of them are listed).

    Examples
    --------
    >>> d = pd.DataFrame({"object_id": ["o1", "o1", "o2", "o2"],
    ...                   "account_id": ["a", "b", "a", "b"],
    ...                   "content_id": ["c1", "c2", "c3", "c4"],
    ...                   "timestamp_share": [100, 95, 200, 210]})
    >>> detect_groups(d, time_window=10).to_dict("records")[0]
    {'object_id': 'o1', 'content_id': 'c2', 'content_id_y': 'c1', 'time_delta': 5, 'account_id': 'b', 'account_id_y': 'a'}
    >>> len(detect_groups(d, time_window=9))  # a and b keep one pair each: below 2
    0
    >>> len(detect_groups(d, time_window=9, min_participation=1))
    1
    """
    _require(data, INPUT_COLUMNS, "detect_groups input")
    tw = check_number(_scalar(time_window), "time_window", "detect_groups", low=0)
    mp = check_number(_scalar(min_participation), "min_participation", "detect_groups")
    if len(data) == 0:
        return _empty_result(data)

    # 1. pre-filter, and CooRTweet's regrouping of the rows by account (first appearance order)
    acc_all, _ = pd.factorize(pd.Series(np.asarray(data["account_id"], dtype=object)),
                              use_na_sentinel=False)
    keep = np.bincount(acc_all)[acc_all] >= mp
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(acc_all[idx], kind="stable")]
    x = data.iloc[order]
    m = len(x)
    if m == 0:
        return _empty_result(data)
    obj_arr = np.asarray(x["object_id"], dtype=object)
    con_arr = np.asarray(x["content_id"], dtype=object)
    acc_arr = np.asarray(x["account_id"], dtype=object)
    t = _times(x["timestamp_share"])
    obj_group, _ = pd.factorize(pd.Series(obj_arr), use_na_sentinel=False)
    obj_group = obj_group.astype(np.int64)
    obj_c, con_c = _codes(obj_arr, con_arr)
    acc_c = acc_all[order].astype(np.int64)

    # 2. all pairs within the window per object: sort by (object, time, row) and join
    valid = ~np.isnan(t) if t.dtype.kind == "f" else np.ones(m, dtype=bool)
    rows = np.flatnonzero(valid)
    s = rows[np.lexsort((rows, t[rows], obj_group[rows]))]
    i_s, j_s = pair_indices(obj_group[s], t[s], tw)
    a, b = s[i_s], s[j_s]
    lo, hi = np.minimum(a, b), np.maximum(a, b)

    # 3. loops
    if remove_loops:
        ok = ((obj_c[lo] != con_c[lo]) & (obj_c[lo] != con_c[hi]) & (con_c[lo] != con_c[hi])
              & (acc_c[lo] != acc_c[hi]))
        lo, hi = lo[ok], hi[ok]

    # 4. post-filter on participation
    if mp >= 1 and lo.size:
        n_content = int(con_c.max()) + 1
        good = _participating(con_c, acc_c, np.concatenate([con_c[lo], con_c[hi]]), mp, n_content)
        ok = good[con_c[lo]] | good[con_c[hi]]
        lo, hi = lo[ok], hi[ok]

    # CooRTweet's row order: object group, then the later row, then the earlier row
    o = np.lexsort((lo, hi, obj_group[lo]))
    lo, hi = lo[o], hi[o]

    # 5. the older share on the left (on equal times the earlier row stays left)
    swap = t[lo] > t[hi]
    left = np.where(swap, hi, lo)
    right = np.where(swap, lo, hi)
    delta = t[right] - t[left]
    out = pd.DataFrame({
        "object_id": pd.Series(obj_arr[left], dtype=data["object_id"].dtype),
        "content_id": pd.Series(con_arr[left], dtype=data["content_id"].dtype),
        "content_id_y": pd.Series(con_arr[right], dtype=data["content_id"].dtype),
        "time_delta": delta,
        "account_id": pd.Series(acc_arr[left], dtype=data["account_id"].dtype),
        "account_id_y": pd.Series(acc_arr[right], dtype=data["account_id"].dtype),
    })
    return out


def detect_groups_multi(frames: Mapping[str, pd.DataFrame],
                        time_window: float | Mapping[str, float] = 10,
                        min_participation: float | Mapping[str, float] = 2,
                        remove_loops: bool = True, prefix_objects: bool = True) -> pd.DataFrame:
    """Multimodal CooRTweet: one :func:`detect_groups` per kind of object, results stacked.

    This is the recipe of CooRTweet's multimodal examples (``rbind`` of the per-modality
    results before ``generate_coordinated_network``). Each kind is filtered on its own
    (``min_participation`` counts the rows of that kind only). Object ids are kept distinct per
    kind by prefixing the RESULT's ``object_id`` with ``"<kind>:"`` (after detection, so that loop
    removal still compares the raw ids).

    Parameters
    ----------
    frames : mapping of str to DataFrame
        Kind name -> CooRTweet input table of that kind.
    time_window, min_participation : float or mapping of kind to float
        One value for all kinds, or one per kind.
    remove_loops : bool, default True
    prefix_objects : bool, default True
        Prefix object ids with the kind (set False when the ids are already distinct).

    Returns
    -------
    DataFrame
        The stacked results (``RESULT_COLUMNS``), kinds in the order of ``frames``.

    Examples
    --------
    >>> urls = pd.DataFrame({"object_id": ["u"] * 2, "account_id": ["a", "b"],
    ...                      "content_id": ["p1", "p2"], "timestamp_share": [0, 5]})
    >>> tags = pd.DataFrame({"object_id": ["u"] * 2, "account_id": ["a", "b"],
    ...                      "content_id": ["p1", "p2"], "timestamp_share": [0, 5]})
    >>> r = detect_groups_multi({"url": urls, "hashtag": tags}, min_participation=1)
    >>> r["object_id"].tolist()
    ['url:u', 'hashtag:u']
    """
    if not isinstance(frames, Mapping) or not frames:
        raise ParameterError("frames", "detect_groups_multi",
                             "a non-empty mapping of kind -> DataFrame", frames)

    def pick(value: Any, kind: str, name: str) -> Any:
        if isinstance(value, Mapping):
            if kind not in value:
                raise ParameterError(name, "detect_groups_multi", f"a value for kind {kind!r}",
                                     value)
            return value[kind]
        return value

    parts = []
    for kind, frame in frames.items():
        r = detect_groups(frame, time_window=pick(time_window, kind, "time_window"),
                          min_participation=pick(min_participation, kind, "min_participation"),
                          remove_loops=remove_loops)
        if prefix_objects:
            r["object_id"] = (f"{kind}:" + r["object_id"].astype(str)).astype(object)
        parts.append(r)
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------------------------
# generate_coordinated_network


def _aggregate(u: np.ndarray, v: np.ndarray, delta: np.ndarray, cl: np.ndarray, cr: np.ndarray,
               obj: np.ndarray | None, objects: bool, n_acc: int) -> pd.DataFrame:
    """CooRTweet's per-account-pair aggregation (pairs in first-appearance order).

    ``u``/``v``: account codes with ``u <= v`` in string order; ``cl``/``cr``: content codes;
    ``obj``: object values (for ``object_ids``). Returns one row per pair with codes ``u``, ``v``.
    """
    e, first = pd.factorize(u * (n_acc + 1) + v, use_na_sentinel=False)
    n_e = len(first)
    weight = np.bincount(e, minlength=n_e)
    avg = np.bincount(e, weights=delta.astype("float64"), minlength=n_e) / weight

    def n_unique(codes: np.ndarray) -> np.ndarray:
        key = e.astype(np.int64) * (int(codes.max(initial=0)) + 1) + codes
        uniq = np.unique(key)
        return np.bincount(uniq // (int(codes.max(initial=0)) + 1), minlength=n_e)

    n_l = n_unique(cl)
    n_r = n_unique(cr)
    pos = np.zeros(n_e, dtype=np.int64)
    pos[e[::-1]] = np.arange(len(e) - 1, -1, -1)  # first row of each pair
    out = pd.DataFrame({
        "u": u[pos], "v": v[pos], "weight": weight.astype(np.int64), "avg_time_delta": avg,
        "n_content_id": n_l.astype(np.int64), "n_content_id_y": n_r.astype(np.int64),
        "edge_symmetry_score": np.minimum(n_l, n_r) / np.maximum(n_l, n_r),
    })
    if objects:
        oc, _ = pd.factorize(pd.Series(obj, dtype=object), use_na_sentinel=False)
        labels = pd.Series(obj, dtype=object)
        labels = labels.astype(str).where(labels.notna(), "NA")  # R's paste() prints NA as "NA"
        frame = pd.DataFrame({"e": e, "o": oc, "name": labels})
        frame = frame.drop_duplicates(["e", "o"])  # unique(object_id), first appearance order
        joined = frame.groupby("e", sort=True)["name"].agg(",".join)
        out["object_ids"] = joined.reindex(np.arange(n_e)).to_numpy(dtype=object)
    return out


def _pair_codes(result: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Account codes ordered by account id (so min/max of codes = pmin/pmax of ids)."""
    joint = pd.concat([pd.Series(np.asarray(result["account_id"], dtype=object)),
                       pd.Series(np.asarray(result["account_id_y"], dtype=object))],
                      ignore_index=True)
    codes, uniques = pd.factorize(joint, sort=True, use_na_sentinel=False)
    n = len(result)
    a, b = codes[:n].astype(np.int64), codes[n:].astype(np.int64)
    return np.minimum(a, b), np.maximum(a, b), np.asarray(uniques, dtype=object)


def generate_coordinated_network(result: pd.DataFrame, edge_weight: float = 0.5,
                                 subgraph: int = 0, objects: bool = False,
                                 fast_net: bool = False) -> pd.DataFrame:
    """CooRTweet's ``generate_coordinated_network``, as an edge list.

    Parameters
    ----------
    result : DataFrame
        From :func:`detect_groups` (or :func:`flag_speed_share` when ``fast_net`` or
        ``subgraph`` 2/3 are used).
    edge_weight : float, default 0.5
        Probability of the R type-7 quantile of the edge weights used as threshold;
        ``weight_threshold`` is 1 for edges whose weight exceeds it.
    subgraph : {0, 1, 2, 3}, default 0
        0: the full network. 1: the edges with ``weight_threshold == 1`` (and their vertices).
        2: the edges with ``weight_threshold_fast == 1`` (needs ``fast_net``). 3: the vertices
        of those fast edges, their neighbours and every edge among them (needs ``fast_net``);
        the vertex attribute ``color_v`` (1 = endpoint of a fast edge, 0 = neighbour) is kept in
        ``attrs`` and set by :func:`coortweet_graph`.
    objects : bool, default False
        Add ``object_ids``: the edge's distinct object ids in order of appearance, joined by ",".
    fast_net : bool, default False
        ``result`` carries a ``time_window_<s>`` flag column (:func:`flag_speed_share`): report the
        full and the fast network side by side (``*_full`` / ``*_fast`` columns, the fast ones NA
        where the pair never co-shared within the narrower window), each with its own threshold.

    Returns
    -------
    DataFrame
        ``from``, ``to`` (account ids; ``from`` is the vertex that comes first in CooRTweet's
        vertex order), ``weight``, ``avg_time_delta``, ``n_content_id``, ``n_content_id_y``,
        ``edge_symmetry_score``, [``object_ids``], ``weight_threshold`` (0/1). With ``fast_net``
        the columns follow CooRTweet's ``*_full``/``*_fast`` naming. ``attrs["vertices"]`` holds
        the vertex order (used by :func:`coortweet_graph`).

    Raises
    ------
    InputError
        Missing columns, or no ``time_window_`` column for ``fast_net`` / subgraph 2, 3.
    ParameterError
        ``edge_weight`` outside [0, 1], unknown ``subgraph``, subgraph 1 with ``fast_net``, or
        subgraph 2, 3 without ``fast_net`` (CooRTweet would return an empty graph there).

    Examples
    --------
    >>> r = pd.DataFrame({"object_id": ["o1", "o2", "o3"], "content_id": ["c1", "c3", "c5"],
    ...                   "content_id_y": ["c2", "c4", "c6"], "time_delta": [2, 4, 3],
    ...                   "account_id": ["b", "a", "a"], "account_id_y": ["a", "b", "c"]})
    >>> e = generate_coordinated_network(r)
    >>> e[["from", "to", "weight", "avg_time_delta", "weight_threshold"]].to_dict("records")
    [{'from': 'a', 'to': 'b', 'weight': 2, 'avg_time_delta': 3.0, 'weight_threshold': 1}, {'from': 'a', 'to': 'c', 'weight': 1, 'avg_time_delta': 3.0, 'weight_threshold': 0}]
    """
    need = ["account_id", "account_id_y", "time_delta", "content_id", "content_id_y"]
    if objects:
        need = ["object_id"] + need
    _require(result, need, "generate_coordinated_network input")
    ew = float(check_number(_scalar(edge_weight), "edge_weight", "generate_coordinated_network",
                            low=0, high=1))
    subgraph = check_choice(_scalar(subgraph), [0, 1, 2, 3], "subgraph",
                            "generate_coordinated_network")
    flag_cols = [c for c in result.columns if _FLAG.search(str(c))]
    if (fast_net or subgraph in (2, 3)) and not flag_cols:
        raise InputError("generate_coordinated_network: fast_net / subgraph 2, 3 need the "
                         "time_window_<s> column that flag_speed_share adds")
    if subgraph == 1 and fast_net:
        raise ParameterError("subgraph", "generate_coordinated_network",
                             "0, 2 or 3 when fast_net=True (CooRTweet has no subgraph 1 there)",
                             subgraph)
    if subgraph in (2, 3) and not fast_net:
        raise ParameterError("subgraph", "generate_coordinated_network",
                             "0 or 1 unless fast_net=True", subgraph)

    u, v, names = _pair_codes(result)
    delta = pd.to_numeric(result["time_delta"]).to_numpy(dtype="float64")
    cl, cr = _codes(result["content_id"], result["content_id_y"])
    obj = np.asarray(result["object_id"], dtype=object) if objects else None
    n_acc = len(names)
    full = _aggregate(u, v, delta, cl, cr, obj, objects, n_acc)

    # CooRTweet's vertex order: unique(c(account_id column, account_id_y column)) of the edges
    vorder, _ = pd.factorize(np.concatenate([full["u"].to_numpy(), full["v"].to_numpy()]))
    rank = np.full(n_acc, -1, dtype=np.int64)
    rank[np.concatenate([full["u"].to_numpy(), full["v"].to_numpy()])] = vorder
    vertex_codes = np.empty(int(vorder.max(initial=-1)) + 1, dtype=np.int64)
    vertex_codes[vorder] = np.concatenate([full["u"].to_numpy(), full["v"].to_numpy()])
    fu, fv = full["u"].to_numpy(), full["v"].to_numpy()
    src = np.where(rank[fu] <= rank[fv], fu, fv)
    dst = np.where(rank[fu] <= rank[fv], fv, fu)

    edges = pd.DataFrame({"from": names[src], "to": names[dst]})
    stats = [c for c in full.columns if c not in ("u", "v")]
    if not fast_net:
        for c in stats:
            edges[c] = full[c].to_numpy()
        thr = r_quantile_type7(edges["weight"], ew)
        edges["weight_threshold"] = (edges["weight"] > thr).astype(np.int64)
    else:
        flag = pd.to_numeric(result[flag_cols[0]], errors="coerce").to_numpy() == 1
        fast = _aggregate(u[flag], v[flag], delta[flag], cl[flag], cr[flag],
                          obj[flag] if objects else None, objects, n_acc)
        fast_pos = pd.Series(np.arange(len(fast)), index=fast["u"] * (n_acc + 1) + fast["v"])
        where = fast_pos.reindex(fu * (n_acc + 1) + fv).to_numpy()
        has = ~np.isnan(where)
        take = where[has].astype(np.int64)

        def fast_col(c: str) -> pd.Series:
            col = fast[c].to_numpy()
            if c in ("weight", "n_content_id", "n_content_id_y"):
                out = pd.array(np.zeros(len(full), dtype=np.int64), dtype="Int64")
                out[~has] = pd.NA
            elif c == "object_ids":
                out = np.full(len(full), None, dtype=object)
            else:
                out = np.full(len(full), np.nan)
            out[has] = col[take]
            return pd.Series(out, index=edges.index)

        edges["weight_full"] = full["weight"].to_numpy()
        edges["weight_fast"] = fast_col("weight")
        edges["avg_time_delta_full"] = full["avg_time_delta"].to_numpy()
        edges["avg_time_delta_fast"] = fast_col("avg_time_delta")
        edges["n_content_id_full"] = full["n_content_id"].to_numpy()
        edges["n_content_id_y_full"] = full["n_content_id_y"].to_numpy()
        edges["n_content_id_fast"] = fast_col("n_content_id")
        edges["n_content_id_y_fast"] = fast_col("n_content_id_y")
        edges["edge_symmetry_score_full"] = full["edge_symmetry_score"].to_numpy()
        edges["edge_symmetry_score_fast"] = fast_col("edge_symmetry_score")
        if objects:
            edges["object_ids_full"] = full["object_ids"].to_numpy()
            edges["object_ids_fast"] = fast_col("object_ids")
        thr_full = r_quantile_type7(edges["weight_full"], ew)
        edges["weight_threshold_full"] = (edges["weight_full"] > thr_full).astype(np.int64)
        thr_fast = r_quantile_type7(edges["weight_fast"].astype("float64"), ew)
        wf = edges["weight_fast"].astype("float64").to_numpy()
        wtf = pd.array((wf > thr_fast).astype(np.int64), dtype="Int64")
        wtf[np.isnan(wf)] = pd.NA
        edges["weight_threshold_fast"] = wtf

    vertices = names[vertex_codes]
    color: np.ndarray | None = None
    if subgraph == 1:
        keep = edges["weight_threshold"].to_numpy() == 1
    elif subgraph == 2:
        keep = (edges["weight_threshold_fast"] == 1).fillna(False).to_numpy(dtype=bool)
    elif subgraph == 3:
        fast_edges = (edges["weight_threshold_fast"] == 1).fillna(False).to_numpy(dtype=bool)
        core = np.zeros(n_acc, dtype=bool)
        core[src[fast_edges]] = True
        core[dst[fast_edges]] = True
        near = np.zeros(n_acc, dtype=bool)
        near[dst[core[src]]] = True  # neighbours of the core vertices (both directions)
        near[src[core[dst]]] = True
        keep = near[src] & near[dst]
        in_sub = vertex_codes[near[vertex_codes]]
        color = core[in_sub].astype(np.int64)
    else:
        keep = np.ones(len(edges), dtype=bool)
    if subgraph:
        edges = edges.loc[keep].reset_index(drop=True)
        kept = np.zeros(n_acc, dtype=bool)
        kept[src[keep]] = True
        kept[dst[keep]] = True
        if subgraph == 3:
            kept = near
        vertices = names[vertex_codes[kept[vertex_codes]]]
    edges.attrs["vertices"] = list(vertices)
    if color is not None:
        edges.attrs["color_v"] = color.tolist()
    return edges


def coortweet_graph(edges: pd.DataFrame) -> Any:
    """The igraph object CooRTweet's ``generate_coordinated_network`` returns.

    Undirected; vertex attribute ``name`` (and ``color_v`` for subgraph 3); every edge column
    other than ``from``/``to`` becomes an edge attribute. Vertices follow CooRTweet's order when
    ``edges`` comes from :func:`generate_coordinated_network` (``attrs["vertices"]``), otherwise
    the order of first appearance in ``from`` then ``to``.

    Parameters
    ----------
    edges : DataFrame
        From :func:`generate_coordinated_network`.

    Returns
    -------
    igraph.Graph

    Examples
    --------
    >>> r = pd.DataFrame({"object_id": ["o1"], "content_id": ["c1"], "content_id_y": ["c2"],
    ...                   "time_delta": [2], "account_id": ["b"], "account_id_y": ["a"]})
    >>> g = coortweet_graph(generate_coordinated_network(r))
    >>> g.vcount(), g.ecount(), g.es["weight"]
    (2, 1, [1])
    """
    import igraph as ig

    _require(edges, ["from", "to"], "coortweet_graph input")
    ends = pd.concat([edges["from"], edges["to"]], ignore_index=True).astype(object)
    present = pd.unique(ends)
    listed = edges.attrs.get("vertices")
    color = None
    if listed is not None and pd.Index(present).isin(listed).all():
        listed_index = pd.Index(listed)
        on = listed_index.isin(present)
        vertices = listed_index[on].tolist()
        given = edges.attrs.get("color_v")
        if given is not None and len(given) == len(listed):
            color = np.asarray(given)[on].tolist()
    else:
        vertices = list(present)
    index = pd.Index(vertices)
    src = index.get_indexer(edges["from"].astype(object))
    dst = index.get_indexer(edges["to"].astype(object))
    g = ig.Graph(n=len(vertices), edges=np.column_stack([src, dst]).tolist(), directed=False)
    g.vs["name"] = vertices
    if color is not None:
        g.vs["color_v"] = color
    for c in edges.columns:
        if c in ("from", "to"):
            continue
        col = edges[c]
        values = col.astype(object).where(col.notna(), None).tolist()
        g.es[c] = values
    return g


# --------------------------------------------------------------------------------------------
# flag_speed_share, account_stats, group_stats


def flag_speed_share(result: pd.DataFrame, data: pd.DataFrame, min_participation: float = 2,
                     time_window: float = 10) -> pd.DataFrame:
    """CooRTweet's ``flag_speed_share``: mark the pairs that also hold in a narrower window.

    A pair is flagged 1 when its ``(content_id, content_id_y)`` is among the pairs with
    ``time_delta <= time_window`` that pass CooRTweet's participation post-filter (counted on
    ``data``, the input table); 0 otherwise. Like CooRTweet, the result comes back sorted by
    ``content_id``, ``content_id_y`` (stable; CooRTweet's ``setkey``). The input is not modified.

    Parameters
    ----------
    result : DataFrame
        From :func:`detect_groups` (with the wider window).
    data : DataFrame
        The input of :func:`detect_groups`. (CooRTweet's own argument order is
        ``flag_speed_share(x = data, result, ...)``; the two are swapped back when passed that way.)
    min_participation : float, default 2
    time_window : float, default 10
        The narrower window, in seconds; names the new column ``time_window_<s>``.

    Returns
    -------
    DataFrame
        ``result``'s columns plus ``time_window_<s>`` (int 0/1).

    Examples
    --------
    >>> d = pd.DataFrame({"object_id": ["o1", "o1", "o2", "o2"], "account_id": ["a", "b"] * 2,
    ...                   "content_id": ["c1", "c2", "c3", "c4"],
    ...                   "timestamp_share": [0, 30, 100, 105]})
    >>> r = detect_groups(d, time_window=60)
    >>> flag_speed_share(r, d, min_participation=1, time_window=10)["time_window_10"].tolist()
    [0, 1]
    """
    if (isinstance(result, pd.DataFrame) and isinstance(data, pd.DataFrame)
            and "time_delta" not in result.columns and "time_delta" in data.columns):
        result, data = data, result
    _require(result, ["content_id", "content_id_y", "time_delta"], "flag_speed_share result")
    _require(data, ["account_id", "content_id"], "flag_speed_share data")
    tw = check_number(_scalar(time_window), "time_window", "flag_speed_share", low=0)
    mp = check_number(_scalar(min_participation), "min_participation", "flag_speed_share")
    fast = (pd.to_numeric(result["time_delta"]) <= tw).to_numpy()
    upd = result.loc[fast]
    kept = _filter_min_participation(data, upd, mp)
    cl, cr = _codes(result["content_id"], result["content_id_y"])
    n = int(max(cl.max(initial=-1), cr.max(initial=-1))) + 2
    key = cl * n + cr
    flagged = np.isin(key, key[fast][kept])
    out = result.copy()
    out[f"time_window_{_num_label(tw)}"] = flagged.astype(np.int64)
    return out.sort_values(["content_id", "content_id_y"], kind="stable", ignore_index=True)


def _edge_frame(network: Any) -> pd.DataFrame:
    if isinstance(network, pd.DataFrame):
        return network
    try:  # an igraph Graph
        frame = network.get_edge_dataframe()
        names = np.asarray(network.vs["name"], dtype=object)
        frame.insert(0, "to", names[frame.pop("target").to_numpy(dtype=np.int64)])
        frame.insert(0, "from", names[frame.pop("source").to_numpy(dtype=np.int64)])
        return frame.reset_index(drop=True)
    except AttributeError:
        raise InputError("network must be an edge DataFrame or an igraph Graph from "
                         "generate_coordinated_network") from None


def account_stats(result: pd.DataFrame, network: Any = None, weight_threshold: str = "full",
                  edge_weight: float = 0.5) -> pd.DataFrame:
    """CooRTweet's ``account_stats(coord_graph, result, weight_threshold)``.

    Per account on the (optionally thresholded) network: the mean of ``avg_time_delta`` and of
    ``edge_symmetry_score`` over its edges, where, as in CooRTweet, identical
    (account, avg_time_delta, edge_symmetry_score) rows count once; and ``unique_shares_count``,
    the number of distinct content ids of the account in ``result`` (either side). Sorted by
    account id.

    Parameters
    ----------
    result : DataFrame
        From :func:`detect_groups` (or :func:`flag_speed_share`).
    network : DataFrame or igraph.Graph, optional
        From :func:`generate_coordinated_network` / :func:`coortweet_graph`; built from
        ``result`` with ``edge_weight`` when omitted.
    weight_threshold : {"full", "fast", "none"}, default "full"
        "full": edges with ``weight_threshold(_full) == 1``; "fast": edges with
        ``weight_threshold_fast == 1`` and only the fast pairs of ``result`` (needs a ``fast_net``
        network; without it CooRTweet warns and uses every edge); "none": every edge.
    edge_weight : float, default 0.5
        Only used when ``network`` is omitted.

    Returns
    -------
    DataFrame
        ``account_id``, ``avg_time_delta``, ``avg_edge_symmetry_score``, ``unique_shares_count``
        (with a ``fast_net`` network: ``avg_time_delta_full``, ``avg_time_delta_fast``,
        ``avg_edge_symmetry_score_full``, ``avg_edge_symmetry_score_fast``,
        ``unique_shares_count``).

    Examples
    --------
    >>> r = pd.DataFrame({"object_id": ["o1", "o2"], "content_id": ["c1", "c3"],
    ...                   "content_id_y": ["c2", "c4"], "time_delta": [2, 4],
    ...                   "account_id": ["a", "b"], "account_id_y": ["b", "c"]})
    >>> account_stats(r, weight_threshold="none").to_dict("list")
    {'account_id': ['a', 'b', 'c'], 'avg_time_delta': [2.0, 3.0, 4.0], 'avg_edge_symmetry_score': [1.0, 1.0, 1.0], 'unique_shares_count': [1, 2, 1]}
    """
    wt = check_choice(weight_threshold, ["full", "fast", "none"], "weight_threshold",
                      "account_stats")
    _require(result, ["account_id", "account_id_y", "content_id", "content_id_y"],
             "account_stats result")
    x = _edge_frame(generate_coordinated_network(result, edge_weight=edge_weight)
                    if network is None else network)
    is_fast = any("_fast" in str(c) for c in x.columns) and any("_full" in str(c)
                                                                 for c in x.columns)
    if is_fast:
        if wt == "full":
            x = x[(x["weight_threshold_full"] == 1).fillna(False).to_numpy(dtype=bool)]
        elif wt == "fast":
            x = x[(x["weight_threshold_fast"] == 1).fillna(False).to_numpy(dtype=bool)]
        stats = ["avg_time_delta_full", "avg_time_delta_fast", "edge_symmetry_score_full",
                 "edge_symmetry_score_fast"]
        names = ["avg_time_delta_full", "avg_time_delta_fast", "avg_edge_symmetry_score_full",
                 "avg_edge_symmetry_score_fast"]
        if wt == "fast":
            flag_cols = [c for c in result.columns if _FLAG.search(str(c))]
            if flag_cols:
                result = result[(pd.to_numeric(result[flag_cols[0]]) == 1).to_numpy()]
    else:
        if wt == "full":
            x = x[(x["weight_threshold"] == 1).to_numpy()]
        elif wt == "fast":
            warnings.warn("The data does not include the fastest shares. Metrics are calculated "
                          "based on all the data. Use flag_speed_share and fast_net=True first.",
                          stacklevel=2)
        stats = ["avg_time_delta", "edge_symmetry_score"]
        names = ["avg_time_delta", "avg_edge_symmetry_score"]
    reshaped = pd.concat([
        x[["from"] + stats].rename(columns={"from": "account_id"}),
        x[["to"] + stats].rename(columns={"to": "account_id"}),
    ], ignore_index=True)
    reshaped = reshaped.astype({c: "float64" for c in stats}).drop_duplicates()
    summary = reshaped.groupby("account_id", sort=False)[stats].mean()
    summary.columns = names
    shares = pd.DataFrame({
        "account_id": np.concatenate([np.asarray(result["account_id"], dtype=object),
                                      np.asarray(result["account_id_y"], dtype=object)]),
        "share": np.concatenate([np.asarray(result["content_id"], dtype=object),
                                 np.asarray(result["content_id_y"], dtype=object)]),
    })
    counts = shares.groupby("account_id", sort=False)["share"].nunique()
    out = summary.join(counts.rename("unique_shares_count"), how="inner")
    out = out.reset_index().sort_values("account_id", kind="stable", ignore_index=True)
    out["unique_shares_count"] = out["unique_shares_count"].astype(np.int64)
    return out


def group_stats(network: Any, weight_threshold: str = "full") -> pd.DataFrame:
    """CooRTweet's ``group_stats``: per object, how many accounts shared it in coordination.

    Needs a network made with ``objects=True``. The edges are first filtered (``"full"``:
    ``weight_threshold(_full) == 1``; ``"fast"``: ``weight_threshold_fast == 1``, objects from
    ``object_ids_fast``; ``"none"``: every edge), then each object counts the distinct accounts
    at either end of the edges listing it. Sorted by ``num_accounts``, descending (stable).

    Parameters
    ----------
    network : DataFrame or igraph.Graph
    weight_threshold : {"full", "fast", "none"}, default "full"

    Returns
    -------
    DataFrame
        ``object_id``, ``num_accounts``.

    Examples
    --------
    >>> r = pd.DataFrame({"object_id": ["o1", "o1", "o2"], "content_id": ["c1", "c1", "c5"],
    ...                   "content_id_y": ["c2", "c3", "c6"], "time_delta": [2, 4, 3],
    ...                   "account_id": ["a", "a", "a"], "account_id_y": ["b", "c", "b"]})
    >>> net = generate_coordinated_network(r, objects=True)
    >>> group_stats(net, "none").to_dict("list")
    {'object_id': ['o1', 'o2'], 'num_accounts': [3, 2]}
    """
    wt = check_choice(weight_threshold, ["full", "fast", "none"], "weight_threshold",
                      "group_stats")
    x = _edge_frame(network)
    col = "object_ids_fast" if wt == "fast" else next(
        (c for c in x.columns if str(c).startswith("object_ids")), None)
    if col is None or col not in x.columns:
        raise InputError("group_stats needs a network made with objects=True "
                         "(an object_ids column)")
    if wt == "full":
        thr = "weight_threshold" if "weight_threshold" in x.columns else "weight_threshold_full"
        x = x[(x[thr] == 1).fillna(False).to_numpy(dtype=bool)]
    elif wt == "fast":
        x = x[(x["weight_threshold_fast"] == 1).fillna(False).to_numpy(dtype=bool)]
    x = x[x[col].notna()]
    lists = x[col].astype(str).str.split(",")
    long = pd.DataFrame({"from": x["from"].to_numpy(), "to": x["to"].to_numpy(),
                         "object_id": lists.to_numpy()}).explode("object_id")
    both = pd.concat([long[["object_id", "from"]].rename(columns={"from": "account"}),
                      long[["object_id", "to"]].rename(columns={"to": "account"})])
    counts = both.groupby("object_id", sort=False)["account"].nunique()
    out = counts.rename("num_accounts").reset_index()
    out["num_accounts"] = out["num_accounts"].astype(np.int64)
    return out.sort_values("num_accounts", ascending=False, kind="stable", ignore_index=True)


# --------------------------------------------------------------------------------------------
# TRACES -> CooRTweet input


def coortweet_input(traces: pd.DataFrame) -> pd.DataFrame:
    """cib TRACES -> CooRTweet's input table.

    ``object_id`` becomes ``"<kind>:<object_id>"`` (kept as is when there is a single kind),
    ``content_id`` is the ``action_id``, ``timestamp_share`` the epoch second (floored).

    Parameters
    ----------
    traces : DataFrame
        TRACES: ``account_id``, ``timestamp`` (datetime64 UTC), ``kind``, ``object_id``,
        ``action_id``.

    Returns
    -------
    DataFrame
        ``object_id``, ``account_id``, ``content_id``, ``timestamp_share`` (int64).

    Raises
    ------
    InputError
        Missing columns (all listed) or a timestamp column that is not UTC datetimes.

    Examples
    --------
    >>> tr = pd.DataFrame({"account_id": ["a", "b"],
    ...                    "timestamp": pd.to_datetime([10, 12], unit="s", utc=True),
    ...                    "kind": ["url", "hashtag"], "object_id": ["x.org", "#x"],
    ...                    "action_id": ["1", "2"]})
    >>> coortweet_input(tr).to_dict("records")[0]
    {'object_id': 'url:x.org', 'account_id': 'a', 'content_id': '1', 'timestamp_share': 10}
    """
    _require(traces, TRACE_COLUMNS, "TRACES")
    if not is_utc_datetime(traces["timestamp"]):
        raise InputError("TRACES column 'timestamp' must be datetimes in UTC, got "
                         f"{traces['timestamp'].dtype}", column="timestamp")
    kinds = pd.unique(traces["kind"])
    obj = traces["object_id"].astype(object)
    if len(kinds) > 1:
        obj = traces["kind"].astype(str) + ":" + traces["object_id"].astype(str)
    return pd.DataFrame({
        "object_id": obj.to_numpy(dtype=object),
        "account_id": traces["account_id"].to_numpy(dtype=object),
        "content_id": traces["action_id"].to_numpy(dtype=object),
        "timestamp_share": to_epoch_ns(traces["timestamp"]) // 1_000_000_000,
    })
