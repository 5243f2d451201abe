"""cib on the real third-party data under ``../shared/data/real`` (issue 5), as markdown.

Three datasets, each skipped with a message when its files are missing:

1. **IRA (FiveThirtyEight/Clemson), 2016-10-01 .. 2016-11-15** (``ira538-election2016/``).
   Every account is an IRA troll; the labels are Linvill & Warren's ``account_category``
   (RightTroll, LeftTroll, NewsFeed, HashtagGamer, NonEnglish, ...), i.e. *themes*, not
   operations. cib's flagged clusters are compared with them: the adjusted Rand index (ARI) and
   homogeneity over the accounts in flagged clusters, each flagged cluster's purity (share of its
   majority category), and the categories present among flagged accounts.

   - the wide file (one row per tweet) is read with::

         account_id=author_id, timestamp=timestamp, action_type=post_type,
         parent_id=content_sha1, text=content, hashtags=hashtags, urls=urls, mentions=mentions

     ``post_type`` is tweet / retweet / quote, so a retweet becomes a repost whose parent is the
     SHA-1 of the retweeted text (the data have no retweeted-tweet id); posts ignore
     ``parent_id``; a quote's parent is the hash of its own text (the quoted tweet is unknown),
     so two quotes co-act only when identical. Hashtags, URLs and texts of posts and quotes are
     traces; those of retweets belong to the retweeted tweet and are not.
   - the long file (retweet texts and hashtags as objects) as the README does:
     ``account_id=account_id,timestamp=timestamp,parent_id=object_id`` (every row a "repost" of
     ``rt:<sha1>`` or ``ht:<tag>``).

   Timestamps have 1-minute resolution, so the window is 600 s, with 60 s (cib's default, as in
   the README) beside it.

2. **CooRTweet's ``russian_coord_tweets``** (``coortweet/``): cib's native mode (defaults: 60 s,
   every significance test) against CooRTweet's network (:func:`cib.run_coortweet`, 60 s,
   ``min_participation`` 2: 2,110 vertices / 3,721 edges, checked against
   ``../shared/data/reference/coortweet/network_tw60_full_edges.csv.gz`` when present).

3. **Turkish astroturfing bots** (``elmas-astrobots/``): creation times and deletion
   times (``--no-deleted`` skips the latter) of 4,974 known bots' tweets, no shared objects, so only cib's
   timing similarity (:mod:`cib.timing`) can link them. ``bots_users_2022.csv.gz`` gives each
   bot's ``total_attacks`` (the data's author advises trusting bots with >= 4).

Usage::

    .venv/bin/python bench/real_data.py                 # all three, about 2-3 min on 2 cores
    .venv/bin/python bench/real_data.py --only ira,russian --shared /path/to/shared
    .venv/bin/python bench/real_data.py --heading-level 3   # as pasted into bench/README.md

Times are wall-clock seconds of ``read_actions`` and of ``detect`` (no output files written).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import cib

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared"

IRA_DIR = ("ira538-election2016",)
IRA_WIDE = "ira_tweets_2016-10-01_2016-11-15.csv.gz"
IRA_LONG = "ira_actions_long.csv.gz"
IRA_AUTHORS = "authors.csv.gz"
#: The wide IRA file as cib's ACTIONS (see the module docstring).
IRA_WIDE_MAP = ("account_id=author_id,timestamp=timestamp,action_type=post_type,"
                "parent_id=content_sha1,text=content,hashtags=hashtags,urls=urls,mentions=mentions")
#: The long IRA file, as in the README's "Results on real data".
IRA_LONG_MAP = "account_id=account_id,timestamp=timestamp,parent_id=object_id"

RU_DIR = ("coortweet",)
RU_FILE = "russian_coord_tweets.csv.gz"
RU_REFERENCE = ("reference", "coortweet", "network_tw60_full_edges.csv.gz")

TR_DIR = ("elmas-astrobots",)
TR_STREAM = "botstream_deleted_tweets.csv.gz"
TR_USERS = "bots_users_2022.csv.gz"
TR_CREATED_MAP = "account_id=author_id,timestamp=created_ms,action_id=id"
TR_DELETED_MAP = "account_id=author_id,timestamp=deleted_ms,action_id=id"

SECTIONS = ("ira", "russian", "turkish")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table (cells formatted with :func:`fmt`)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for r in rows:
        lines.append("| " + " | ".join(fmt(x) for x in r) + " |")
    return "\n".join(lines)


def fmt(x: object) -> str:
    """Thousands separators for integers, 3 significant decimals for floats, '–' for missing."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e6):
            return f"{x:.2g}"
        if x == int(x) and abs(x) >= 100:
            return f"{int(x):,}"
        return f"{x:.3f}"
    return str(x)


def short(account: str, n: int = 8) -> str:
    return account if len(account) <= n + 1 else account[:n] + "…"


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def find(shared: Path, parts: Sequence[str], names: Sequence[str]) -> list[Path] | str:
    """The files, or a sentence saying which are missing."""
    base = shared.joinpath("data", "real", *parts)
    paths = [base / n for n in names]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        return "skipped: missing " + ", ".join(missing)
    return paths


def flagged_members(det: cib.Detection) -> pd.DataFrame:
    m = det.members
    # an empty MEMBERS table has object columns: cast before masking
    return m[m["in_flagged"].astype(bool)][["account_id", "cluster_id"]].reset_index(drop=True)


def purity_table(members: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Per cluster: size, majority label, its share (purity), and the label counts."""
    d = members.assign(label=members["account_id"].map(labels).fillna("(unlabelled)"))
    rows = []
    for cid, g in d.groupby("cluster_id", sort=False):
        vc = g["label"].value_counts()
        rows.append({"cluster_id": int(cid), "size": len(g), "majority": vc.index[0],
                     "purity": vc.iloc[0] / len(g),
                     "labels": ", ".join(f"{k} {v}" for k, v in vc.items())})
    return pd.DataFrame(rows, columns=["cluster_id", "size", "majority", "purity", "labels"])


def label_agreement(members: pd.DataFrame, labels: pd.Series) -> dict[str, float]:
    """ARI, NMI and homogeneity of cluster ids against labels over the given accounts."""
    from sklearn.metrics import (
        adjusted_rand_score,
        homogeneity_score,
        normalized_mutual_info_score,
    )

    if len(members) == 0:
        return {"ari": np.nan, "nmi": np.nan, "homogeneity": np.nan}
    truth = members["account_id"].map(labels).fillna("(unlabelled)").to_numpy()
    pred = members["cluster_id"].to_numpy()
    return {"ari": adjusted_rand_score(truth, pred),
            "nmi": normalized_mutual_info_score(truth, pred),
            "homogeneity": homogeneity_score(truth, pred)}


# ---------------------------------------------------------------------------------------------
# 1. IRA
# ---------------------------------------------------------------------------------------------

def ira_labels(authors: Path, wide: Path) -> pd.DataFrame:
    """account -> account_category, account_type (authors.csv.gz, else the wide file)."""
    if authors.exists():
        a = pd.read_csv(authors, dtype=str, usecols=["author_id", "account_category", "account_type"])
    else:
        a = pd.read_csv(wide, dtype=str, usecols=["author_id", "account_category", "account_type"])
    return a.drop_duplicates("author_id").set_index("author_id")


def ira_run(name: str, path: Path, mapping: str, labels: pd.DataFrame,
            windows: Sequence[int], n_null: int, top: int) -> tuple[list[str], list[dict], list]:
    """Read one IRA file, detect at each window, and describe the flagged clusters."""
    out = [f"### {name}", "", f"`{path.name}`, `--map {mapping}`", ""]
    (actions, rejects, stats), t_read = timed(cib.read_actions, path, mapping=mapping)
    cat = labels["account_category"]
    typ = labels["account_type"]
    all_acc = pd.Series(actions["account_id"].unique())
    by_cat = all_acc.map(cat).fillna("(unlabelled)").value_counts()
    out.append(f"{len(actions):,} actions of {len(all_acc):,} accounts "
               f"({', '.join(f'{k} {v}' for k, v in by_cat.items())}); read in {t_read:.1f} s; "
               f"{stats['rows_rejected']:,} rejected, {stats['duplicates_dropped']:,} exact "
               f"duplicates dropped; timestamp resolution {stats['timestamp_resolution_s']:g} s.")
    out.append("")
    summary, details = [], []
    for w in windows:
        det, t_det = timed(cib.detect, actions, window=w, n_null=n_null, rejects=rejects,
                           input_stats=stats)
        counts = det.manifest["counts"]
        fm = flagged_members(det)
        pur = purity_table(fm, cat)
        agree = label_agreement(fm, cat)
        clustered = det.members[det.members["cluster_id"] >= 0][["account_id", "cluster_id"]]
        agree_all = label_agreement(clustered, cat)
        flagged = det.flagged
        cats = fm["account_id"].map(cat).fillna("(unlabelled)").value_counts()
        e = det.edges
        fdr = det.manifest["parameters"]["edge_fdr"]
        by_coaction = int((e["q_value"] <= fdr).sum()) if "q_value" in e else 0
        by_timing = int((e["timing_q_value"] <= fdr).sum()) if "timing_q_value" in e else 0
        wpur = float((pur["purity"] * pur["size"]).sum() / pur["size"].sum()) if len(pur) else np.nan
        summary.append({
            "window s": w, "accounts": len(all_acc), "actions": len(actions),
            "traces": counts.get("traces"), "co-actions": counts.get("coactions"),
            "pairs w>=2": counts.get("candidate_edges"),
            "significant pairs": counts.get("graph_edges"),
            "... by co-actions (q_value <= 0.01)": by_coaction,
            "... by timing (timing_q_value <= 0.01)": by_timing,
            "pairs with p_value == 0 (underflow)": int((det.edges["p_value"] == 0).sum())
            if "p_value" in det.edges else 0,
            "their smallest q_value": det.edges.loc[det.edges["p_value"] == 0, "q_value"].min()
            if "p_value" in det.edges and (det.edges["p_value"] == 0).any() else np.nan,
            "clusters": len(det.clusters), "flagged clusters": len(flagged),
            "accounts flagged": len(fm), "categories among flagged": len(cats),
            "ARI (flagged)": agree["ari"], "homogeneity (flagged)": agree["homogeneity"],
            "NMI (flagged)": agree["nmi"], "purity (size-weighted)": wpur,
            "min purity": pur["purity"].min() if len(pur) else np.nan,
            "ARI (all clustered)": agree_all["ari"], "detect s": t_det,
        })
        d = [f"### {name}, window {w} s: flagged clusters", "",
             f"{len(flagged)} flagged clusters, {len(fm)} accounts; categories among them: "
             + (", ".join(f"{k} {v}" for k, v in cats.items()) or "none") + ".", ""]
        if len(flagged):
            pur_i = pur.set_index("cluster_id")
            types = purity_table(fm, typ).set_index("cluster_id")
            rows = []
            for r in flagged.head(top).itertuples():
                p = pur_i.loc[r.cluster_id]
                delay = r.median_delay_s
                rows.append([r.rank, r.cluster_id, r.n_accounts, r.p_value, r.score, r.n_objects,
                             delay, r.kinds or "(timing only)", p["majority"], p["purity"],
                             types.loc[r.cluster_id, "labels"]])
            d.append(md_table(["rank", "cluster", "size", "p", "score", "objects", "median delay s",
                               "kinds", "majority category", "purity", "account_type"], rows))
            if len(flagged) > top:
                d.append(f"\n... and {len(flagged) - top} more flagged clusters.")
            d.append("")
        details.append(d)
    return out, summary, details


def section_ira(shared: Path, windows: Sequence[int], n_null: int, top: int) -> list[str]:
    out = ["## 1. IRA slice against `account_category`", ""]
    base = shared.joinpath("data", "real", *IRA_DIR)
    if not (base / IRA_WIDE).exists() and not (base / IRA_LONG).exists():
        return out + [f"skipped: missing {base / IRA_WIDE} and {base / IRA_LONG}", ""]
    labels = ira_labels(base / IRA_AUTHORS, base / IRA_WIDE) if (
        (base / IRA_AUTHORS).exists() or (base / IRA_WIDE).exists()) else None
    if labels is None:
        return out + [f"skipped: no labels ({base / IRA_AUTHORS} missing)", ""]
    all_summary, all_details = [], []
    for name, fname, mapping in [("wide file", IRA_WIDE, IRA_WIDE_MAP),
                                 ("long file", IRA_LONG, IRA_LONG_MAP)]:
        path = base / fname
        if not path.exists():
            out += [f"### {name}", "", f"skipped: missing {path}", ""]
            continue
        head, summary, details = ira_run(name, path, mapping, labels, windows, n_null, top)
        out += head
        for s in summary:
            s["file"] = name
        all_summary += summary
        all_details += details
    if all_summary:
        keys = ["file"] + [k for k in all_summary[0] if k != "file"]
        # transposed: one column per (file, window), the measures as rows
        cols = [f"{s['file']}, {s['window s']} s" for s in all_summary]
        rows = [[k] + [s[k] for s in all_summary] for k in keys[2:]]
        out += ["### Summary", "", md_table(["measure"] + cols, rows), ""]
    for d in all_details:
        out += d
    return out


# ---------------------------------------------------------------------------------------------
# 2. russian_coord_tweets
# ---------------------------------------------------------------------------------------------

def _pair_key(u: pd.Series, v: pd.Series) -> pd.Series:
    a, b = u.astype(str), v.astype(str)
    lo = np.where(a < b, a, b)
    hi = np.where(a < b, b, a)
    return pd.Series(lo, index=u.index) + "|" + pd.Series(hi, index=u.index)


def _components(graph) -> int | None:
    """Connected components of an igraph or networkx graph."""
    if graph is None:
        return None
    if hasattr(graph, "components") and callable(graph.components):  # igraph
        return len(graph.components())
    import networkx as nx

    return nx.number_connected_components(graph)


def section_russian(shared: Path, window: int, n_null: int) -> list[str]:
    out = ["## 2. `russian_coord_tweets`: cib native vs CooRTweet", ""]
    found = find(shared, RU_DIR, [RU_FILE])
    if isinstance(found, str):
        return out + [found, ""]
    path = found[0]
    # cib native: the file read in its coortweet format, every default
    (actions, rejects, stats), t_read = timed(cib.read_actions, path, format="coortweet")
    det, t_det = timed(cib.detect, actions, window=window, n_null=n_null, rejects=rejects,
                       input_stats=stats)
    # CooRTweet: its own input, unchanged
    raw = pd.read_csv(path, dtype={"object_id": str, "account_id": str, "content_id": str,
                                   "timestamp_share": "int64"})
    res, t_ct = timed(cib.run_coortweet, raw, window=window, min_participation=2, edge_weight=0.5)
    ct_edges = res.tables["edges"]
    ct_vertices = set(ct_edges["from"]).union(ct_edges["to"])
    ct_weight = pd.Series(ct_edges["weight"].to_numpy(),
                          index=_pair_key(ct_edges["from"], ct_edges["to"]).to_numpy())
    ref_note = ""
    ref_path = shared.joinpath("data", *RU_REFERENCE)
    if window == 60 and ref_path.exists():
        ref = pd.read_csv(ref_path, dtype={"from": str, "to": str})
        same = (set(_pair_key(ref["from"], ref["to"])) == set(ct_weight.index)
                and len(ref) == len(ct_edges))
        ref_note = (f"; {'identical to' if same else 'DIFFERENT FROM'} CooRTweet 2.1.3's reference "
                    f"edge list ({len(ref):,} edges)")
    n_comp = _components(res.graph)

    m = det.members
    fm = flagged_members(det)
    e = det.edges
    sig = e[e["significant"]]
    cand_keys = _pair_key(e["account_u"], e["account_v"])
    in_ct = cand_keys.isin(ct_weight.index)
    cand_acc = set(e["account_u"]).union(e["account_v"])
    counts = det.manifest["counts"]

    out += [(f"Input: {len(raw):,} rows, {raw['account_id'].nunique():,} accounts, "
             f"{raw['object_id'].nunique():,} retweeted objects. cib read {len(actions):,} actions "
             f"({stats['rows_rejected']:,} rejected: duplicate content_id with different content; "
             f"{stats['duplicates_dropped']:,} exact duplicate dropped). Window {window} s."), ""]
    rows = [
        ["accounts in the input", raw["account_id"].nunique(), actions["account_id"].nunique()],
        ["co-retweet pairs within the window (pair rows)", len(res.tables["result"]),
         counts.get("coactions")],
        ["account pairs (CooRTweet: all edges; cib: weight >= 2 distinct objects)",
         len(ct_edges), counts.get("candidate_edges")],
        ["accounts in those pairs", len(ct_vertices), len(cand_acc)],
        ["pairs kept (CooRTweet: weight > median, `weight_threshold`; cib: FDR <= 0.01)",
         int(ct_edges["weight_threshold"].astype(bool).sum()), len(sig)],
        ["network: vertices / edges", f"{len(ct_vertices):,} / {len(ct_edges):,}",
         f"{len(m):,} / {len(sig):,}"],
        ["components (CooRTweet) / clusters (cib)", n_comp, len(det.clusters)],
        ["flagged clusters / accounts", "–", f"{len(det.flagged)} / {len(fm)}"],
        ["seconds", t_ct, t_read + t_det],
    ]
    out += [md_table(["", "CooRTweet (`run_coortweet`, min_participation 2)", "cib native"], rows),
            "", f"CooRTweet network: {len(ct_vertices):,} vertices / {len(ct_edges):,} edges{ref_note}.",
            ""]
    fl_in = fm["account_id"].isin(ct_vertices)
    out += [f"- cib's flagged accounts in CooRTweet's network: **{int(fl_in.sum())} of {len(fm)}**.",
            (f"- cib's {len(e):,} candidate pairs (weight >= 2) that are CooRTweet edges: "
             f"{int(in_ct.sum())}; their accounts in CooRTweet's vertices: "
             f"{len(cand_acc & ct_vertices)} of {len(cand_acc)}."),
            "- CooRTweet's edges by weight (pair rows): "
            + ", ".join(f"{k}: {v:,}" for k, v in ct_edges["weight"].value_counts().sort_index().items())
            + ".", ""]
    # the flagged pairs and the pairs nearest the line
    show = e.assign(ct_weight=cand_keys.map(ct_weight)).sort_values("p_value").head(8)
    coa = det.coactions
    rows = []
    for r in show.itertuples():
        delays = ""
        if r.significant and len(coa):
            mask = (((coa["account_a"] == r.account_u) & (coa["account_b"] == r.account_v))
                    | ((coa["account_a"] == r.account_v) & (coa["account_b"] == r.account_u)))
            delays = ", ".join(f"{d:g}" for d in sorted(coa.loc[mask, "delay_s"]))
        rows.append([short(r.account_u), short(r.account_v), r.significant, r.weight, r.n_pairs,
                     r.n_common, r.expected, r.p_value, r.q_value, r.min_delay_s,
                     r.median_delay_s, delays or "–", r.ct_weight])
    out += ["The 8 candidate pairs with the smallest p-values (the significant ones are the graph):",
            "", md_table(["account u", "account v", "significant", "weight (objects)", "pairs",
                          "n_common (objects both shared, any time)", "expected", "p", "q",
                          "min delay s", "median delay s", "delays s (co-actions)",
                          "CooRTweet weight"], rows), ""]
    if len(det.flagged):
        c = det.flagged.iloc[0]
        out += [(f"Flagged cluster {c.cluster_id}: {c.n_accounts} accounts, p = {c.p_value:.3f}, "
                 f"{c.n_objects} objects, median delay {c.median_delay_s:g} s, kinds {c.kinds}."), ""]
    return out


# ---------------------------------------------------------------------------------------------
# 3. Turkish astroturfing bots
# ---------------------------------------------------------------------------------------------

def section_turkish(shared: Path, n_null: int, deleted: bool, top: int) -> list[str]:
    out = ["## 3. Turkish astroturfing bots (timing only)", ""]
    found = find(shared, TR_DIR, [TR_STREAM])
    if isinstance(found, str):
        return out + [found, ""]
    path = found[0]
    users_path = path.parent / TR_USERS
    attacks = None
    if users_path.exists():
        u = pd.read_csv(users_path, dtype={"author_id": str})
        attacks = u.drop_duplicates("author_id").set_index("author_id")["total_attacks"]
    runs = [("creation times", TR_CREATED_MAP)] + ([("deletion times", TR_DELETED_MAP)] if deleted else [])
    out += ["Every account is a known bot (no organic accounts), and there is no shared object, "
            "so cib can only link accounts by timing similarity (original posts in the same "
            "60 s bins more often than hour-shifted schedules explain). "
            + ("`total_attacks` from `bots_users_2022.csv.gz`." if attacks is not None
               else f"({users_path} missing: no total_attacks.)"), ""]
    summary = []
    details = []
    memberships: list[pd.Series] = []
    for name, mapping in runs:
        (actions, rejects, stats), t_read = timed(cib.read_actions, path, mapping=mapping)
        det, t_det = timed(cib.detect, actions, n_null=n_null, rejects=rejects, input_stats=stats)
        counts = det.manifest["counts"]
        fm = flagged_members(det)
        acc = pd.Series(actions["account_id"].unique())
        posts = actions.groupby("account_id").size()
        flagged_set = set(fm["account_id"])
        row = {"signal": name, "`--map`": f"`{mapping}`", "bots": len(acc),
               "rows read": stats["rows_read"], "posts kept": len(actions),
               "rows rejected": stats["rows_rejected"],
               "exact duplicates dropped": stats["duplicates_dropped"],
               "pairs tested (>= 3 common bins)": counts.get("timing_pairs_tested"),
               "significant timing pairs": counts.get("timing_edges"),
               "accounts in graph": counts.get("graph_accounts"),
               "clusters": len(det.clusters), "flagged clusters": len(det.flagged),
               "bots flagged": len(fm), "share of bots flagged": len(fm) / len(acc)}
        if attacks is not None:
            a = acc.map(attacks)
            for lab, mask in [("bots with total_attacks >= 4", a >= 4),
                              ("bots with total_attacks < 4", a < 4),
                              ("bots not in bots_users_2022", a.isna())]:
                sel = acc[mask.to_numpy()]
                row[f"flagged / {lab}"] = (f"{sum(x in flagged_set for x in sel):,} / {len(sel):,}")
        q = posts.reindex(acc).to_numpy()
        for lo, hi in [(1, 4), (5, 19), (20, 99), (100, 10 ** 9)]:
            sel = acc[(q >= lo) & (q <= hi)]
            lab = f"{lo}-{hi}" if hi < 10 ** 9 else f">= {lo}"
            row[f"flagged / bots with {lab} posts"] = f"{sum(x in flagged_set for x in sel):,} / {len(sel):,}"
        row["read s"] = t_read
        row["detect s"] = t_det
        summary.append(row)
        memberships.append(fm.set_index("account_id")["cluster_id"])
        rows = []
        for r in det.flagged.head(top).itertuples():
            mem = fm[fm["cluster_id"] == r.cluster_id]["account_id"]
            a4 = (mem.map(attacks) >= 4).mean() if attacks is not None else np.nan
            rows.append([r.rank, r.cluster_id, r.n_accounts, r.n_edges, r.density, r.p_value,
                         r.timing_similarity, int(posts.reindex(mem).median()), a4,
                         r.kinds or "(empty)", r.score])
        details += [f"### Flagged clusters, {name} (top {top})", "",
                    md_table(["rank", "cluster", "size", "edges", "density", "p", "timing_similarity",
                              "median posts", "share total_attacks >= 4", "kinds", "score"], rows), ""]
    keys = list(summary[0])
    out += [md_table(["measure"] + [s["signal"] for s in summary],
                     [[k] + [s[k] for s in summary] for k in keys[1:]]), ""]
    if len(memberships) == 2:
        from sklearn.metrics import adjusted_rand_score

        a, b = memberships
        both = a.index.intersection(b.index)
        out += [(f"Creation-time and deletion-time clusterings: {len(both):,} bots flagged in both "
                 f"({len(a.index.difference(b.index)):,} only by creation, "
                 f"{len(b.index.difference(a.index)):,} only by deletion); adjusted Rand index "
                 f"of their cluster labels over the common bots "
                 f"{adjusted_rand_score(a[both], b[both]):.3f}."), ""]
    return out + details


# ---------------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                   help="the shared folder holding data/real and data/reference (default: %(default)s)")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help="comma-separated sections to run: ira, russian, turkish (default: all)")
    p.add_argument("--ira-windows", default="600,60",
                   help="co-action windows (s) for the IRA files (default: %(default)s)")
    p.add_argument("--n-null", type=int, default=100, help="cib's --n-null (default: %(default)s)")
    p.add_argument("--top", type=int, default=10, help="flagged clusters listed (default: %(default)s)")
    p.add_argument("--no-deleted", dest="deleted", action="store_false",
                   help="Turkish bots: skip the second run on deletion times")
    p.add_argument("--heading-level", type=int, default=1, choices=range(1, 4),
                   help="markdown level of the title (sections one deeper; 3 to paste the output "
                        "under a '##' section) (default: %(default)s)")
    args = p.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        p.error(f"unknown section(s): {', '.join(bad)}; choose from {', '.join(SECTIONS)}")
    windows = [int(w) for w in args.ira_windows.split(",")]

    t0 = time.perf_counter()
    shift = "#" * (args.heading_level - 1)

    def emit(lines: Iterable[str]) -> None:
        for line in lines:
            print(shift + line if line.startswith("#") else line)
        sys.stdout.flush()

    emit(["# cib on real data"])
    print()
    print(f"cib {cib.__version__}, Python {platform.python_version()}, {os.cpu_count()} cores; "
          f"data: `{args.shared / 'data' / 'real'}`; n_null {args.n_null}.")
    print()
    for section in only:
        t = time.perf_counter()
        if section == "ira":
            lines = section_ira(args.shared, windows, args.n_null, args.top)
        elif section == "russian":
            lines = section_russian(args.shared, 60, args.n_null)
        else:
            lines = section_turkish(args.shared, args.n_null, args.deleted, args.top)
        emit(lines)
        print(f"_section took {time.perf_counter() - t:.0f} s_")
        print()
        sys.stdout.flush()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"Total {time.perf_counter() - t0:.0f} s; peak RSS {peak:.1f} GB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
