"""Vectorised windowed self-join on sorted traces.

Traces are sorted by (group, time, account, action). For every offset ``k = 1, 2, ...`` the trace at
position ``i`` is compared with the one at ``i + k``; a trace stays *active* only while the partner
at ``i + k`` is in the same group and at most ``window`` later. Because times are sorted within a
group, once ``t[i + k] - t[i] > window`` no later partner can qualify, so the active set only
shrinks and the total work is O(number of pairs + number of traces), all in numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..params import parse_duration
from ..schema import COACTION_COLUMNS, UTC_NS, from_epoch_ns, to_epoch_ns, validate_traces

__all__ = ["coactions", "pair_indices", "pair_indices_shifted", "self_repeats", "sorted_codes"]


def pair_indices(group: np.ndarray, time: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs ``(i, j)``, ``i < j``, with ``group[i] == group[j]`` and
    ``time[j] - time[i] <= window``.

    The arrays must be sorted by ``(group, time)``. Pairs come out sorted by ``(i, j)``. Uses the
    compiled kernel (:func:`cib.coaction._kernel.pair_indices_fast`: a counting pass, then exactly
    one allocation) when numba is installed, else :func:`pair_indices_shifted`.

    Examples
    --------
    >>> g = np.array([0, 0, 0, 1, 1]); t = np.array([100, 160, 161, 5, 5])
    >>> i, j = pair_indices(g, t, 60)
    >>> list(zip(i.tolist(), j.tolist()))
    [(0, 1), (1, 2), (3, 4)]
    """
    from ._kernel import HAVE_NUMBA, pair_indices_fast

    if HAVE_NUMBA and len(group):
        return pair_indices_fast(np.asarray(group, dtype=np.int64), np.asarray(time, dtype=np.int64),
                                 int(window))
    return pair_indices_shifted(group, time, window)


def pair_indices_shifted(group: np.ndarray, time: np.ndarray,
                         window: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pair_indices` in plain numpy: compare position ``i`` with ``i + k`` for k = 1, 2, ...
    while any trace still has a partner in the window (the active set only shrinks).

    Examples
    --------
    >>> g = np.array([0, 0, 0, 1, 1]); t = np.array([100, 160, 161, 5, 5])
    >>> i, j = pair_indices_shifted(g, t, 60)
    >>> list(zip(i.tolist(), j.tolist()))
    [(0, 1), (1, 2), (3, 4)]
    """
    n = len(group)
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    active = np.arange(max(n - 1, 0), dtype=np.int64)
    k = 1
    while active.size:
        j = active + k
        inside = j < n
        active, j = active[inside], j[inside]
        ok = (group[j] == group[active]) & (time[j] - time[active] <= window)
        active, j = active[ok], j[ok]
        if active.size:
            out_i.append(active)
            out_j.append(j)
        k += 1
    if not out_i:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    i = np.concatenate(out_i)
    j = np.concatenate(out_j)
    order = np.lexsort((j, i))
    return i[order], j[order]


def sorted_codes(traces: pd.DataFrame) -> dict[str, np.ndarray]:
    """Integer-code a TRACES table once and sort it by (kind, object, time, account, action).

    Account codes follow the sorted account ids, so comparing codes compares ids.
    Returns the codes, the sort order and the unique values.
    """
    kind_codes, kinds = pd.factorize(traces["kind"], sort=True)
    obj_codes, objects = pd.factorize(traces["object_id"], sort=True)
    acc_codes, accounts = pd.factorize(traces["account_id"], sort=True)
    act_codes, _ = pd.factorize(traces["action_id"], sort=True)
    group_key = kind_codes.astype(np.int64) * (len(objects) + 1) + obj_codes
    group, _ = pd.factorize(group_key, sort=True)
    time = to_epoch_ns(traces["timestamp"])
    order = np.lexsort((act_codes, acc_codes, time, group))
    return {
        "order": order,
        "group": group[order].astype(np.int64),
        "time": time[order],
        "account": acc_codes[order].astype(np.int64),
        "accounts": np.asarray(accounts, dtype=object),
    }


def coactions(traces: pd.DataFrame, window: float | str = 60) -> pd.DataFrame:
    """Every pair of traces of the same kind on the same object, by different accounts,
    at most ``window`` apart (inclusive).

    Parameters
    ----------
    traces : DataFrame
        TRACES.
    window : float or str, default 60
        Seconds, or a duration such as ``"90s"``, ``"5m"``.

    Returns
    -------
    DataFrame
        COACTIONS: ``kind``, ``object_id``, ``account_a``, ``account_b`` (a acted first; on equal
        times a has the smaller id), ``action_a``, ``action_b``, ``time_a``, ``time_b``,
        ``delay_s`` (``0 <= delay_s <= window``). Sorted by kind, object, time_a, account_a,
        account_b, action_a, action_b.

    Examples
    --------
    >>> t = pd.to_datetime([100, 160, 161, 100], unit="s", utc=True)
    >>> tr = pd.DataFrame({"account_id": ["B", "C", "D", "B"], "timestamp": t,
    ...                    "kind": "repost", "object_id": ["p1", "p1", "p1", "p2"],
    ...                    "action_id": ["1", "2", "3", "4"]})
    >>> coactions(tr, window=60)[["account_a", "account_b", "delay_s"]].to_dict("records")
    [{'account_a': 'B', 'account_b': 'C', 'delay_s': 60.0}, {'account_a': 'C', 'account_b': 'D', 'delay_s': 1.0}]
    """
    validate_traces(traces)
    w = parse_duration(window, "window", "coactions")
    window_ns = int(round(w * 1e9))
    if traces.empty:
        return _empty()
    c = sorted_codes(traces)
    i, j = pair_indices(c["group"], c["time"], window_ns)
    diff = c["account"][i] != c["account"][j]
    i, j = i[diff], j[diff]
    src = traces.iloc[c["order"]]
    kind = src["kind"].to_numpy(dtype=object)
    obj = src["object_id"].to_numpy(dtype=object)
    acc = src["account_id"].to_numpy(dtype=object)
    act = src["action_id"].to_numpy(dtype=object)
    tm = c["time"]
    out = pd.DataFrame({
        "kind": kind[i],
        "object_id": obj[i],
        "account_a": acc[i],
        "account_b": acc[j],
        "action_a": act[i],
        "action_b": act[j],
        "time_a": from_epoch_ns(tm[i]),
        "time_b": from_epoch_ns(tm[j]),
        "delay_s": (tm[j] - tm[i]) / 1e9,
    })
    return out.sort_values(["kind", "object_id", "time_a", "account_a", "account_b",
                            "action_a", "action_b"], kind="mergesort", ignore_index=True)


def self_repeats(traces: pd.DataFrame) -> pd.Series:
    """Per account, how many of its traces repeat an object it already acted on (same kind).

    Examples
    --------
    >>> tr = pd.DataFrame({"account_id": ["a", "a", "a", "b"], "kind": "repost",
    ...                    "object_id": ["p", "p", "q", "p"]})
    >>> self_repeats(tr).to_dict()
    {'a': 1, 'b': 0}
    """
    if traces.empty:
        return pd.Series(dtype="int64", name="self_repeats")
    sizes = traces.groupby(["account_id", "kind", "object_id"], sort=True).size()
    rep = (sizes - 1).groupby(level="account_id").sum().astype("int64")
    rep.index.name = "account_id"
    return rep.rename("self_repeats")


def _empty() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series([], dtype=object) for c in COACTION_COLUMNS})
    out["time_a"] = out["time_a"].astype(UTC_NS)
    out["time_b"] = out["time_b"].astype(UTC_NS)
    out["delay_s"] = out["delay_s"].astype("float64")
    return out
