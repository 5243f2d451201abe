"""Communities -> CLUSTERS, MEMBERS and EVIDENCE, with figures a reviewer can check.

The first score (DESIGN §2, CLUSTERS) is::

    score = (1 - p_value) * (weighted / n_accounts) * (1 - median_delay_s / (2 * window))

the significance against the null model, times the popularity-discounted co-action weight per
member (how much rare content the members pushed together), times the synchrony (how fast they
followed each other inside the window: from 1 for simultaneous actions down to 1/2 at the edge of
the window, so that minute-resolution data, whose delays are 0 or 60 s, do not score 0). A
cluster held together by timing similarity alone has no co-action delays; its synchrony is
``0.5 + timing_similarity / 2`` (0.5 when unknown). Clusters are ranked by score (ties: more accounts first,
then ``stable_id``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from .schema import CLUSTER_COLUMNS, EVIDENCE_COLUMNS, MEMBER_COLUMNS, UTC_NS, to_epoch_ns

__all__ = ["stable_id", "member_table", "cluster_table", "evidence_table", "intra_cluster"]


def stable_id(members: list[str]) -> str:
    """A content hash of the sorted member list: the same accounts give the same id in any run.

    Examples
    --------
    >>> stable_id(["b", "a"]) == stable_id(["a", "b"])
    True
    >>> len(stable_id(["a", "b"]))
    16
    """
    text = "\n".join(sorted(members))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def intra_cluster(coactions: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """The co-actions whose two accounts are in the same cluster, with a ``cluster_id`` column."""
    ca = coactions["account_a"].map(labels)
    cb = coactions["account_b"].map(labels)
    mask = (ca.notna() & (ca == cb) & (ca >= 0)).to_numpy()
    out = coactions.loc[mask].copy()
    out.insert(0, "cluster_id", ca[mask].astype("int64").to_numpy())
    return out


def member_table(graph_edges: pd.DataFrame, labels: pd.Series, traces: pd.DataFrame,
                 coactions: pd.DataFrame | np.ndarray, self_repeats: pd.Series,
                 flagged_clusters: set[int]) -> pd.DataFrame:
    """MEMBERS: one row per account of the (thresholded) graph.

    Columns: ``account_id``, ``cluster_id`` (-1: in no cluster), ``degree`` and ``strength``
    (number and popularity-discounted weight of graph edges), ``n_traces``, ``n_coacting_traces``
    (traces in at least one co-action with another account), ``coordination_ratio`` (their share),
    ``self_repeats``, ``in_flagged``.

    ``coactions`` is COACTIONS (every co-action), or a boolean per trace row: whether the trace
    co-acts with another account (what the engine computes without materialising co-actions).
    """
    accounts = np.array(sorted(set(graph_edges["account_u"]).union(graph_edges["account_v"])),
                        dtype=object)
    out = pd.DataFrame({"account_id": accounts})
    if len(accounts) == 0:
        dtypes = {"account_id": object, "in_flagged": bool, "coordination_ratio": "float64",
                  "strength": "float64"}
        return pd.DataFrame({c: pd.Series([], dtype=dtypes.get(c, "int64"))
                             for c in MEMBER_COLUMNS})
    ends = pd.concat([graph_edges[["account_u", "weighted"]].rename(columns={"account_u": "a"}),
                      graph_edges[["account_v", "weighted"]].rename(columns={"account_v": "a"})])
    agg = ends.groupby("a").agg(degree=("weighted", "size"), strength=("weighted", "sum"))
    out = out.join(agg, on="account_id")
    n_tr = traces.groupby("account_id").size()
    if isinstance(coactions, pd.DataFrame):
        acts = pd.concat([coactions[["account_a", "action_a", "kind", "object_id"]].set_axis(
                              ["account_id", "action_id", "kind", "object_id"], axis=1),
                          coactions[["account_b", "action_b", "kind", "object_id"]].set_axis(
                              ["account_id", "action_id", "kind", "object_id"], axis=1)])
    else:
        acts = traces.loc[np.asarray(coactions, dtype=bool),
                          ["account_id", "action_id", "kind", "object_id"]]
    n_co = acts.drop_duplicates().groupby("account_id").size()
    out["n_traces"] = out["account_id"].map(n_tr).fillna(0).astype("int64")
    out["n_coacting_traces"] = out["account_id"].map(n_co).fillna(0).astype("int64")
    out["coordination_ratio"] = np.where(out["n_traces"] > 0,
                                         out["n_coacting_traces"] / out["n_traces"].clip(lower=1), 0.0)
    out["self_repeats"] = out["account_id"].map(self_repeats).fillna(0).astype("int64")
    out["cluster_id"] = out["account_id"].map(labels).fillna(-1).astype("int64")
    out["in_flagged"] = out["cluster_id"].isin(flagged_clusters)
    out["degree"] = out["degree"].astype("int64")
    return out[MEMBER_COLUMNS]


def _timing_similarity(traces: pd.DataFrame, labels: pd.Series, bin_s: float) -> pd.Series:
    """Per cluster: the mean over members of the share of the member's active time bins
    (width ``bin_s``) in which another member of the cluster is active too."""
    lab = traces["account_id"].map(labels)
    sel = lab.notna().to_numpy()
    if not sel.any():
        return pd.Series(dtype="float64")
    b = to_epoch_ns(traces["timestamp"])[sel] // int(max(bin_s, 1.0) * 1e9)
    df = pd.DataFrame({"cluster_id": lab[sel].astype("int64").to_numpy(),
                       "account_id": traces["account_id"].to_numpy(dtype=object)[sel], "bin": b})
    df = df.drop_duplicates()
    active = df.groupby(["cluster_id", "bin"])["account_id"].transform("size")
    df["shared"] = active > 1
    per_member = df.groupby(["cluster_id", "account_id"])["shared"].mean()
    return per_member.groupby(level="cluster_id").mean()


def _text_similarity(traces: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """Per cluster: the share of members' text traces whose (normalised) text another member of
    the cluster also posted, at any time. NaN when the members posted no text."""
    t = traces[traces["kind"] == "text"]
    lab = t["account_id"].map(labels)
    sel = lab.notna().to_numpy()
    if not sel.any():
        return pd.Series(dtype="float64")
    df = pd.DataFrame({"cluster_id": lab[sel].astype("int64").to_numpy(),
                       "account_id": t["account_id"].to_numpy(dtype=object)[sel],
                       "object_id": t["object_id"].to_numpy(dtype=object)[sel]})
    n_acc = df.groupby(["cluster_id", "object_id"])["account_id"].transform("nunique")
    df["shared"] = n_acc > 1
    return df.groupby("cluster_id")["shared"].mean()


def cluster_table(labels: pd.Series, graph_edges: pd.DataFrame, intra: pd.DataFrame,
                  traces: pd.DataFrame, pvalues: pd.DataFrame, window: float,
                  alpha: float = 0.05, groups: set | None = None,
                  cluster_window: dict | None = None) -> pd.DataFrame:
    """CLUSTERS: one row per community of at least two accounts, ranked by score.

    ``flagged`` is true when ``p_value <= alpha`` and ``q_value <= alpha`` (``pvalues`` gives
    both per cluster; a missing or NaN ``q_value``, no calibration, does not count). ``found_by`` is ``"group"`` for the cluster
    ids in ``groups`` (found by :mod:`cib.discovery`), ``"edges"`` otherwise; a group found at
    a longer window (``cluster_window``: cluster id -> seconds) measures its synchrony against
    that window. See the module docstring for the score.
    """
    labels = labels[labels >= 0]
    if labels.empty:
        return _empty_clusters()
    members = labels.groupby(labels).apply(lambda s: sorted(s.index))
    out = pd.DataFrame({"cluster_id": members.index.astype("int64"),
                        "n_accounts": members.map(len).to_numpy(dtype="int64"),
                        "stable_id": members.map(stable_id).to_numpy(dtype=object)})
    e = graph_edges.assign(cu=graph_edges["account_u"].map(labels),
                           cv=graph_edges["account_v"].map(labels))
    e = e[e["cu"].notna() & (e["cu"] == e["cv"])]
    eg = e.groupby(e["cu"].astype("int64")).agg(n_edges=("weight", "size"),
                                                 total_weight=("weight", "sum"),
                                                 weighted=("weighted", "sum"))
    out = out.join(eg, on="cluster_id")
    if len(intra):
        ig_ = intra.groupby("cluster_id")
        kinds = ig_["kind"].agg(lambda s: ",".join(sorted(set(s))))
        objs = intra.drop_duplicates(["cluster_id", "kind", "object_id"]).groupby("cluster_id").size()
        stats = pd.DataFrame({"median_delay_s": ig_["delay_s"].median(), "kinds": kinds,
                              "n_objects": objs, "first_time": ig_["time_a"].min(),
                              "last_time": ig_["time_b"].max()})
        out = out.join(stats, on="cluster_id")
        # share of members' traces that are in co-actions with other members
        acts = pd.concat([intra[["cluster_id", "action_a", "kind", "object_id"]].set_axis(
                              ["cluster_id", "action_id", "kind", "object_id"], axis=1),
                          intra[["cluster_id", "action_b", "kind", "object_id"]].set_axis(
                              ["cluster_id", "action_id", "kind", "object_id"], axis=1)])
        n_co = acts.drop_duplicates().groupby("cluster_id").size()
    else:
        for c in ("median_delay_s", "kinds", "n_objects", "first_time", "last_time"):
            out[c] = np.nan
        n_co = pd.Series(dtype="int64")
    tl = traces["account_id"].map(labels)
    n_tr = tl[tl.notna()].astype("int64").value_counts()
    out["coordination_ratio"] = (out["cluster_id"].map(n_co).fillna(0)
                                 / out["cluster_id"].map(n_tr).fillna(0).clip(lower=1))
    n = out["n_accounts"].astype(float)
    out["n_edges"] = out["n_edges"].fillna(0).astype("int64")
    out["total_weight"] = out["total_weight"].fillna(0).astype("int64")
    out["weighted"] = out["weighted"].fillna(0.0).astype(float)
    out["n_objects"] = out["n_objects"].fillna(0).astype("int64")
    out["density"] = np.where(n > 1, 2.0 * out["n_edges"] / (n * (n - 1)), 0.0)
    out["timing_similarity"] = out["cluster_id"].map(
        _timing_similarity(traces, labels, bin_s=max(window, 1.0))).astype(float)
    out["text_similarity"] = out["cluster_id"].map(_text_similarity(traces, labels)).astype(float)
    pv = pvalues.set_index("cluster_id")
    out["p_value"] = out["cluster_id"].map(pv["p_value"]).fillna(1.0).astype(float)
    qv = pv["q_value"] if "q_value" in pv.columns else pv["p_value"] * np.nan
    out["q_value"] = out["cluster_id"].map(qv).astype(float)
    out["flagged"] = ((out["p_value"] <= alpha) & ~(out["q_value"] > alpha)).to_numpy(dtype=bool)
    # groups found at a longer window (cluster_window) are scored against their own window
    win = out["cluster_id"].map(cluster_window or {}).fillna(window).astype(float).clip(lower=1.0)
    sync = 1.0 - out["median_delay_s"].astype(float).clip(lower=0.0) / (2.0 * win)
    # a cluster held together by timing alone has no co-action delays: its synchrony comes from
    # the share of members' active time bins shared with another member
    sync = sync.where(out["median_delay_s"].notna(),
                      0.5 + out["timing_similarity"].fillna(0.0) / 2.0)
    # clusters held together (also) by timing edges say so in kinds
    if "w_timing" in graph_edges.columns:
        te = e[e["w_timing"] > 0]
        timed = set(te["cu"].astype("int64")) if len(te) else set()
        kinds_t = out["kinds"].astype(object).where(out["kinds"].notna(), "")
        out["kinds"] = [",".join(sorted(set(str(k).split(",")) - {""} | {"timing"}))
                        if cid in timed else k for cid, k in zip(out["cluster_id"], kinds_t)]
    out["score"] = ((1.0 - out["p_value"]) * (out["weighted"] / n) * sync.clip(lower=0.0)).round(10)
    out = out.sort_values(["score", "n_accounts", "stable_id"], ascending=[False, False, True],
                          kind="mergesort", ignore_index=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype="int64")
    out["first_time"] = pd.to_datetime(out["first_time"], utc=True).astype(UTC_NS)
    out["last_time"] = pd.to_datetime(out["last_time"], utc=True).astype(UTC_NS)
    out["kinds"] = out["kinds"].astype(object).where(out["kinds"].notna(), "")
    out["found_by"] = np.where(out["cluster_id"].isin(sorted(groups or ())), "group", "edges") \
        .astype(object)
    return out[CLUSTER_COLUMNS]


def evidence_table(intra: pd.DataFrame, actions: pd.DataFrame | None = None) -> pd.DataFrame:
    """EVIDENCE: per cluster, the objects its members co-acted on.

    Columns: ``cluster_id``, ``kind``, ``object_id``, ``n_accounts`` (members involved),
    ``n_pairs``, ``first_time``, ``last_time``, ``median_delay_s``, ``example_text`` (the text of one
    of the actions involved, when there is one). Sorted by cluster, most accounts first, then time.
    """
    if intra.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in EVIDENCE_COLUMNS})
    keys = ["cluster_id", "kind", "object_id"]
    g = intra.groupby(keys, sort=True)
    out = g.agg(n_pairs=("delay_s", "size"), first_time=("time_a", "min"),
                last_time=("time_b", "max"), median_delay_s=("delay_s", "median"),
                action_id=("action_a", "first"))
    accs = pd.concat([intra[keys + ["account_a"]].set_axis(keys + ["a"], axis=1),
                      intra[keys + ["account_b"]].set_axis(keys + ["a"], axis=1)])
    out["n_accounts"] = accs.groupby(keys)["a"].nunique()
    out = out.reset_index()
    if actions is not None and len(actions):
        text = actions.set_index("action_id")["text"]
        text = text[~text.index.duplicated()]
        out["example_text"] = out["action_id"].map(text)
    else:
        out["example_text"] = None
    out["n_accounts"] = out["n_accounts"].astype("int64")
    out["n_pairs"] = out["n_pairs"].astype("int64")
    out = out.sort_values(["cluster_id", "n_accounts", "first_time", "kind", "object_id"],
                          ascending=[True, False, True, True, True], kind="mergesort",
                          ignore_index=True)
    return out[EVIDENCE_COLUMNS]


def _empty_clusters() -> pd.DataFrame:
    dt = {"cluster_id": "int64", "rank": "int64", "score": "float64", "p_value": "float64",
          "q_value": "float64", "flagged": "bool", "n_accounts": "int64", "n_edges": "int64", "density": "float64",
          "total_weight": "int64", "weighted": "float64", "median_delay_s": "float64",
          "n_objects": "int64", "first_time": UTC_NS, "last_time": UTC_NS,
          "timing_similarity": "float64", "text_similarity": "float64",
          "coordination_ratio": "float64"}
    return pd.DataFrame({c: pd.Series([], dtype=dt.get(c, object)) for c in CLUSTER_COLUMNS})
