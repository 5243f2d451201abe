"""Score a detection against ground truth (for example the TRUTH of :func:`cib.datasets.simulate`).

:func:`evaluate` compares the accounts a detection flags (MEMBERS of flagged CLUSTERS) with the planted
groups, and, when the truth names a ``scenario`` per account (as :func:`cib.scenarios.simulate_scenarios`
does), scenario by scenario; :func:`read_truth` reads a ground-truth CSV file.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["evaluate", "read_truth"]

_MEMBER_NEEDS = ["account_id", "cluster_id"]
_CLUSTER_NEEDS = ["cluster_id", "flagged"]
_TRUTH_NEEDS = ["account_id", "group"]


def evaluate(members: pd.DataFrame, clusters: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    """Compare the accounts a detection flags with the planted groups of ``truth``.

    An account is *flagged* when its cluster is flagged in ``clusters`` (cluster -1, "in no cluster",
    never is). An account is *planted* when its ``group`` in ``truth`` is not -1. Accounts in
    ``truth`` but absent from ``members`` are unflagged; accounts in ``members`` but absent from
    ``truth`` count as organic (a flagged one is a false positive) and take no part in the ARIs.

    Parameters
    ----------
    members : pandas.DataFrame
        MEMBERS: ``account_id`` and ``cluster_id`` (int, -1 = in no cluster), one row per account.
    clusters : pandas.DataFrame
        CLUSTERS: ``cluster_id`` and ``flagged`` (bool).
    truth : pandas.DataFrame
        ``account_id`` and ``group`` (int, -1 = organic, else the planted group), one row per account.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``
            Of the flagged accounts against the planted ones (floats). Each is 0.0 when undefined:
            precision when nothing is flagged, recall when nothing is planted, F1 when both
            precision and recall are 0.
        ``ari``
            Adjusted Rand index (:func:`sklearn.metrics.adjusted_rand_score`) over the planted
            accounts: true label = group; predicted label = cluster if flagged, else a label of
            its own (so an unflagged account never counts as grouped with anyone). With scikit-learn's
            conventions, 1.0 when there are fewer than two planted accounts.
        ``ari_all``
            Adjusted Rand index over all accounts in ``truth``: the organic accounts share one true
            label (-1), the unflagged accounts share one predicted label.
        ``n_flagged``, ``n_planted``, ``tp``, ``fp``, ``fn``
            Counts of accounts (ints).
        ``groups_found``, ``n_groups``
            The number of planted groups with at least half of their members flagged in one
            flagged cluster, and the number of planted groups.

        Only when ``truth`` has a ``scenario`` column (the scenario or trap of each account;
        ``"organic"``, empty or missing for the background):

        ``scenario_recall``
            dict scenario -> share of its planted accounts (``group`` != -1) that are flagged.
        ``trap_flagged``
            dict trap -> share of its trap accounts (``group`` -1, scenario not organic) that are
            flagged. Trap accounts are negatives: each flagged one is a false positive above.
        ``organic_flagged``
            Share of the plain organic accounts (``group`` -1, scenario organic) that are flagged
            (0.0 when there are none).
        ``scenario_accounts``
            dict scenario or trap -> its number of accounts in ``truth``.

        The dicts list the names of :data:`cib.scenarios.SCENARIOS` and :data:`cib.scenarios.TRAPS`
        first, in that order, then any other names alphabetically.

    Raises
    ------
    cib.errors.InputError
        If a table lacks a required column, or ``members`` or ``truth`` lists an account twice.

    Examples
    --------
    >>> truth = pd.DataFrame({"account_id": ["a", "b", "c", "d", "e", "f"],
    ...                       "group": [0, 0, 0, -1, -1, -1]})
    >>> members = pd.DataFrame({"account_id": ["a", "b", "d", "e"], "cluster_id": [7, 7, 7, 8]})
    >>> clusters = pd.DataFrame({"cluster_id": [7, 8], "flagged": [True, False]})
    >>> m = evaluate(members, clusters, truth)
    >>> m["tp"], m["fp"], m["fn"], round(m["precision"], 3), round(m["recall"], 3), m["groups_found"]
    (2, 1, 1, 0.667, 0.667, 1)
    >>> truth["scenario"] = ["lockstep", "lockstep", "slow", "fan_club", "fan_club", "organic"]
    >>> m = evaluate(members, clusters, truth)
    >>> m["scenario_recall"], m["trap_flagged"], m["organic_flagged"]
    ({'lockstep': 1.0, 'slow': 0.0}, {'fan_club': 0.5}, 0.0)
    """
    members = _need(members, _MEMBER_NEEDS, "MEMBERS")
    clusters = _need(clusters, _CLUSTER_NEEDS, "CLUSTERS")
    truth = _need(truth, _TRUTH_NEEDS, "TRUTH")
    m_acc = members["account_id"].astype(str).to_numpy(dtype=object)
    t_acc = truth["account_id"].astype(str).to_numpy(dtype=object)
    _unique(m_acc, "MEMBERS")
    _unique(t_acc, "TRUTH")

    m_cluster = _integers(members["cluster_id"].fillna(-1), "MEMBERS", "cluster_id")
    group = _integers(truth["group"], "TRUTH", "group")
    flagged_ids = clusters.loc[_as_bool(clusters["flagged"]), "cluster_id"]
    flagged_set = set(pd.to_numeric(flagged_ids).astype(np.int64).tolist()) - {-1}

    m_flagged = np.array([c in flagged_set for c in m_cluster.tolist()], dtype=bool)
    # The cluster of each truth account if flagged, else -1 (absent from members: unflagged).
    cluster_of = dict(zip(m_acc[m_flagged].tolist(), m_cluster[m_flagged].tolist()))
    pred = np.array([cluster_of.get(a, -1) for a in t_acc.tolist()], dtype=np.int64)
    t_flagged = pred != -1
    planted = group != -1

    n_flagged = int(m_flagged.sum())
    n_planted = int(planted.sum())
    tp = int((t_flagged & planted).sum())
    fp = n_flagged - tp
    fn = n_planted - tp
    precision = tp / n_flagged if n_flagged else 0.0
    recall = tp / n_planted if n_planted else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0

    # Predicted labels as small codes: flagged clusters 0..k-1; unflagged accounts a label each
    # (over the planted accounts) or one shared label (over all accounts).
    codes = pd.factorize(pred)[0].astype(np.int64)
    codes[~t_flagged] = -1
    p_pred = codes[planted].copy()
    lonely = p_pred == -1
    p_pred[lonely] = -2 - np.arange(int(lonely.sum()))
    from sklearn.metrics import adjusted_rand_score  # heavy: imported on first use

    ari = float(adjusted_rand_score(group[planted], p_pred))
    ari_all = float(adjusted_rand_score(group, codes))

    groups_found = 0
    n_groups = 0
    if n_planted:
        frame = pd.DataFrame({"group": group[planted], "pred": codes[planted]})
        sizes = frame.groupby("group").size()
        n_groups = len(sizes)
        best = frame[frame["pred"] >= 0].groupby(["group", "pred"]).size().groupby(level=0).max()
        groups_found = int((best.reindex(sizes.index, fill_value=0) * 2 >= sizes).sum()) if len(best) \
            else 0
    out: dict[str, Any] = {
        "precision": float(precision), "recall": float(recall), "f1": float(f1),
        "ari": ari, "ari_all": ari_all,
        "n_flagged": n_flagged, "n_planted": n_planted, "tp": tp, "fp": fp, "fn": fn,
        "groups_found": groups_found, "n_groups": n_groups,
    }
    if "scenario" in truth.columns:
        out.update(_by_scenario(truth["scenario"], planted, t_flagged))
    return out


def _by_scenario(scenario: pd.Series, planted: np.ndarray, flagged: np.ndarray) -> dict[str, Any]:
    """Per-scenario recall, per-trap and organic flagged shares (see :func:`evaluate`)."""
    from .scenarios import SCENARIOS, TRAPS

    names = np.array([str(v).strip() if v is not None and not pd.isna(v) else ""
                      for v in scenario.tolist()], dtype=object)
    names[(names == "") | (names == "organic")] = "organic"
    trap = ~planted & (names != "organic")
    plain = ~planted & ~trap
    known = {n: i for i, n in enumerate((*SCENARIOS, *TRAPS))}

    def order(values: np.ndarray) -> list[str]:
        return sorted(set(values.tolist()), key=lambda n: (known.get(n, len(known)), n))

    recall = {n: float(flagged[planted & (names == n)].mean()) for n in order(names[planted])}
    traps = {n: float(flagged[trap & (names == n)].mean()) for n in order(names[trap])}
    counts = {n: int((names == n).sum()) for n in order(names[planted | trap])}
    return {"scenario_recall": recall, "trap_flagged": traps,
            "organic_flagged": float(flagged[plain].mean()) if plain.any() else 0.0,
            "scenario_accounts": counts}


def _need(frame: pd.DataFrame, columns: list[str], what: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{what} lacks required columns: {', '.join(missing)}")
    return frame


def _integers(values: pd.Series, what: str, column: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = (numbers.isna() | (numbers != numbers.round())).to_numpy()
    if bad.any():
        raise InputError(f"{what} column {column!r} must hold integers, got {values[bad].tolist()[0]!r}")
    return numbers.to_numpy().astype(np.int64)


def _as_bool(flags: pd.Series) -> np.ndarray:
    """``flagged`` as booleans; also accepts 0/1 and the strings true/false (as read from a CSV)."""
    if pd.api.types.is_bool_dtype(flags.dtype):
        return flags.fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(flags.dtype):
        return (flags.fillna(0) != 0).to_numpy(dtype=bool)
    words = flags.astype(object).map(lambda v: str(v).strip().lower() if v is not None else "")
    known = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False,
             "": False, "nan": False, "none": False}
    bad = ~words.isin(list(known))
    if bad.any():
        raise InputError(f"CLUSTERS column 'flagged' must be true or false, got "
                         f"{flags[bad.to_numpy()].iloc[0]!r}", column="flagged")
    return words.map(known).to_numpy(dtype=bool)


def _unique(accounts: np.ndarray, what: str) -> None:
    dup = pd.Series(accounts).duplicated()
    if dup.any():
        raise InputError(f"{what} lists account {accounts[dup.to_numpy()][0]!r} more than once")


def read_truth(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a ground-truth CSV file with columns ``account_id`` and ``group`` (and optionally ``role``
    and ``scenario``).

    Account ids are read as strings (``"007"`` stays ``"007"``, ``"NA"`` stays ``"NA"``; surrounding
    spaces are removed), ``group`` as integers (-1 = organic). Other columns are kept as strings.

    Parameters
    ----------
    path : str or path-like
        The CSV file, as written by :func:`cib.datasets.write_simulation`.

    Returns
    -------
    pandas.DataFrame
        ``account_id`` (object), ``group`` (int64) and any other columns of the file.

    Raises
    ------
    cib.errors.InputError
        If the file cannot be read, lacks a required column (all missing ones are named), has an
        empty account id, a ``group`` that is not an integer, or an account listed twice.

    Examples
    --------
    >>> import io
    >>> read_truth(io.StringIO("account_id,group\\n007,0\\n008,-1\\n")).to_dict("list")
    {'account_id': ['007', '008'], 'group': [0, -1]}
    >>> read_truth(io.StringIO("account_id,role\\n007,organic\\n"))
    Traceback (most recent call last):
    ...
    cib.errors.InputError: <stream>: TRUTH lacks required columns: group
    """
    name = os.fspath(path) if isinstance(path, (str, os.PathLike)) else "<stream>"
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", file=name) from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise InputError(f"cannot read the file: {e}", file=name) from None
    missing = [c for c in _TRUTH_NEEDS if c not in raw.columns]
    if missing:
        raise InputError(f"TRUTH lacks required columns: {', '.join(missing)}", file=name)
    out = raw.astype(object)
    acc = out["account_id"].str.strip()
    empty = np.flatnonzero((acc == "").to_numpy())
    if len(empty):
        raise InputError("empty account id", file=name, row=int(empty[0]) + 2, column="account_id")
    group = pd.to_numeric(out["group"].str.strip(), errors="coerce")
    bad = np.flatnonzero((group.isna() | (group != group.round())).to_numpy())
    if len(bad):
        raise InputError(f"group must be an integer (-1 = organic), got {out['group'].iat[bad[0]]!r}",
                         file=name, row=int(bad[0]) + 2, column="group")
    dup = np.flatnonzero(acc.duplicated().to_numpy())
    if len(dup):
        raise InputError(f"account {acc.iat[dup[0]]!r} is listed more than once", file=name,
                         row=int(dup[0]) + 2, column="account_id")
    out["account_id"] = pd.Series(acc.to_numpy(dtype=object), dtype=object)
    out["group"] = group.astype(np.int64)
    return out
