"""``report.html``: a self-contained, offline page of ranked cluster cards for human review.

:func:`render_report` turns a run's tables (CLUSTERS, MEMBERS, EDGES, EVIDENCE, optionally
COACTIONS and a review file) into one HTML page; :func:`write_report` re-renders the
``report.html`` of an output folder from the tables written there (``cib report OUT``).

The page
--------
- A header with the run's parameters, inputs and counts (from the manifest).
- One card per cluster, in rank order, 25 per page, with a filter box (cluster id, stable id, kinds,
  verdicts, member accounts, evidence objects and texts), a "flagged only" toggle and a sort order.
  Each card shows the cluster's figures, the analyst's verdict when a review table is given,
  a network picture (members as nodes, edges as lines whose width follows the weight, a
  deterministic spring layout), a timeline (accounts by time, one mark per co-action trace coloured
  by kind; without COACTIONS one line per co-acted object instead), the evidence (objects co-acted
  on) and a sortable, filterable members table.
- It loads nothing from anywhere: CSS and JavaScript are inline, pictures are SVG drawn in the page;
  a Content-Security-Policy allows only the page's own script and style (by hash) and no
  connections, images, fonts, frames or forms.

Safety
------
Account ids, texts and URLs are written by strangers. The HTML parts are rendered by Jinja2 with
autoescaping on and no data is ever marked safe; the data for the cards travels as JSON in a
``<script type="application/json">`` block in which ``<``, ``>`` and ``&`` are written as
``\\u003c``, ``\\u003e`` and ``\\u0026`` (so no ``</script>`` in the data can end the block), and
the page's script builds every element with ``createElement``/``textContent``, never ``innerHTML``.
An object id becomes a link only when it is an ``http``/``https`` URL with a host (checked here and
again in the page), opened with ``rel="noopener noreferrer"``; anything else (``javascript:``,
``data:``, schemeless normalised URLs) is shown as text.

Size
----
So that a run with thousands of clusters gives a page that opens quickly, the data embedded per
cluster is capped (the page says so where it is): :data:`MAX_TIMELINE_POINTS` timeline marks
(evenly spread over time; fewer when there are many clusters, see :data:`TIMELINE_BUDGET`),
:data:`MAX_EVIDENCE_ROWS` evidence objects, :data:`MAX_MEMBERS` member rows and
:data:`MAX_NETWORK_NODES` nodes / :data:`MAX_NETWORK_EDGES` edges in the network picture. Long
texts are cut at :data:`MAX_TEXT_CHARS` characters. The tables written next to the report hold
everything.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import secrets
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from .errors import OutputError

__all__ = [
    "render_report",
    "write_report",
    "safe_href",
    "script_json",
    "REPORT_NAME",
    "MAX_TIMELINE_POINTS",
    "MAX_EVIDENCE_ROWS",
    "MAX_MEMBERS",
    "MAX_NETWORK_NODES",
    "MAX_NETWORK_EDGES",
    "PRIORITY_CLUSTERS",
    "TIMELINE_BUDGET",
    "EVIDENCE_BUDGET",
    "MEMBER_BUDGET",
    "EDGE_BUDGET",
    "MAX_TEXT_CHARS",
]

REPORT_NAME = "report.html"

#: Per cluster, at most: timeline marks, evidence rows (objects, the most widely shared first),
#: member rows (the strongest first), nodes and edges of the network picture.
MAX_TIMELINE_POINTS = 2000
MAX_EVIDENCE_ROWS = 200
MAX_MEMBERS = 2000
MAX_NETWORK_NODES = 150
MAX_NETWORK_EDGES = 1500
#: The first clusters by rank (the first page) always get the per-cluster maxima above.
PRIORITY_CLUSTERS = 25
#: What the other clusters share, per page: (budget over all of them, least per cluster).
#: A cluster gets all its rows when it has few; the big ones get an equal share of what is left.
TIMELINE_BUDGET = (100_000, 100)
EVIDENCE_BUDGET = (10_000, 10)
MEMBER_BUDGET = (100_000, 100)
EDGE_BUDGET = (60_000, 100)
#: Longer texts (object ids, example texts) are cut to this many characters.
MAX_TEXT_CHARS = 280

_MEMBER_FIELDS = [  # column, heading, kind of value
    ("account_id", "Account", "account"),
    ("degree", "Degree", "int"),
    ("strength", "Strength", "num"),
    ("n_traces", "Traces", "int"),
    ("n_coacting_traces", "Co-acting traces", "int"),
    ("coordination_ratio", "Coordination ratio", "ratio"),
    ("self_repeats", "Self repeats", "int"),
]
_EVIDENCE_FIELDS = [
    ("kind", "Kind", "kind"),
    ("object_id", "Object", "object"),
    ("n_accounts", "Accounts", "int"),
    ("n_pairs", "Pairs", "int"),
    ("first_time", "First", "time"),
    ("last_time", "Last", "time"),
    ("median_delay_s", "Median delay", "delay"),
    ("example_text", "Example text", "text"),
]
#: Kinds in this order get the first colours of the page's palette.
_KIND_ORDER = ["repost", "quote", "reply", "url", "domain", "hashtag", "mention", "text", "media"]
_PARAMETER_LABELS = {
    "window_s": "window (s)", "kinds": "kinds", "min_weight": "min weight", "method": "method",
    "resolution": "resolution", "seed": "seed", "n_null": "null runs", "alpha": "alpha",
    "edge_fdr": "edge FDR", "fdr_runs": "FDR runs", "min_text_chars": "min text chars",
}
_COUNT_LABELS = [
    ("actions", "actions"), ("accounts", "accounts"), ("traces", "traces"),
    ("coactions", "co-actions"), ("candidate_edges", "candidate edges"),
    ("graph_edges", "graph edges"), ("graph_accounts", "graph accounts"),
]
_STATUSES = ("unreviewed", "confirmed", "dismissed")


# ---------------------------------------------------------------------------------------------
# Small safe helpers
# ---------------------------------------------------------------------------------------------

_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


def safe_href(value: Any) -> str | None:
    """``value`` when it may be a link target in the report (an ``http``/``https`` URL with a host
    and no white space or control characters), else None.

    Examples
    --------
    >>> safe_href("https://example.com/a?b=1")
    'https://example.com/a?b=1'
    >>> safe_href("javascript:alert(1)") is None, safe_href("JavaScript:alert(1)") is None
    (True, True)
    >>> safe_href("example.com/a") is None, safe_href("data:text/html,x") is None
    (True, True)
    >>> safe_href("https:///no-host") is None, safe_href(" https://example.com") is None
    (True, True)
    """
    if not isinstance(value, str) or not value or len(value) > 2048:
        return None
    if _BAD_URL_CHARS.search(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if not value.lower().startswith(("http://", "https://")):
        return None
    return value


def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` are written as JSON unicode escapes, so the text can hold no ``</script``,
    ``<!--`` or character reference, and ``JSON.parse`` gives back exactly ``data``. NaN and
    infinities are not allowed (use None).

    Examples
    --------
    >>> script_json({"a": "</script><b>&"})
    '{"a":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026"}'
    >>> json.loads(script_json(["</script>"])) == ["</script>"]
    True
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # U+2028/2029 are valid in JSON but were line ends in older JavaScript: escape them too.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_HIDDEN_CHARS = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\u061c\ufeff]")


def _reveal(text: str) -> str:
    """Invisible and direction-changing characters shown as ``<U+XXXX>`` (as the page does).

    >>> _reveal("evil\\u202etxt.exe") == "evil\\u27e8U+202E\\u27e9txt.exe"
    True
    """
    return _HIDDEN_CHARS.sub(lambda m: f"\u27e8U+{ord(m.group()):04X}\u27e9", text)


def _cut(value: Any, limit: int = MAX_TEXT_CHARS) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _cut_series(s: pd.Series, limit: int = MAX_TEXT_CHARS) -> list[str | None]:
    return [_cut(v, limit) for v in s.tolist()]


def _utc(s: pd.Series) -> pd.Series:
    """A column as UTC datetimes, whatever it held (datetimes, ISO strings from CSV, NaN)."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return s.dt.tz_localize("UTC")
    return pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")


_NAT = np.iinfo(np.int64).min


def _ns(s: pd.Series) -> np.ndarray:
    """UTC datetimes as int64 nanoseconds since the epoch (missing: ``_NAT``)."""
    return _utc(s).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64)


def _epoch_s(s: pd.Series) -> list[int | None]:
    """UTC datetimes as whole seconds since the epoch (None where missing)."""
    ns = _ns(s)
    out = np.floor_divide(ns, 1_000_000_000).tolist()
    return [None if v == _NAT else o for v, o in zip(ns.tolist(), out)]


def _nums(s: pd.Series, digits: int | None = 4) -> list[float | int | None]:
    """Numbers for JSON: integers as they are, floats rounded, NaN and infinities as None."""
    if pd.api.types.is_integer_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
        return s.to_numpy(dtype=np.int64, na_value=0).tolist() if not s.isna().any() else \
            [None if v is None else int(v) for v in s.astype(object).where(s.notna(), None)]
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype(object).where(s.notna(), None).map(lambda v: None if v is None else int(v)).tolist()
    arr = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if digits is not None:
        arr = np.round(arr, digits)
    bad = ~np.isfinite(arr)
    out = arr.tolist()
    if bad.any():
        for i in np.flatnonzero(bad).tolist():
            out[i] = None
    return out


def _flags(s: pd.Series) -> list[bool]:
    """A boolean column, also when read back from CSV as text ("True"/"False")."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.fillna(False).astype(bool).tolist()
    if pd.api.types.is_numeric_dtype(s.dtype):
        return (s.fillna(0) != 0).tolist()
    return [str(v).strip().lower() in ("true", "1", "yes", "t", "y") for v in s.tolist()]


def _kinds_list(value: Any) -> list[str]:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [k.strip() for k in value.split(",") if k.strip()]
    try:
        return [str(k) for k in value]
    except TypeError:
        return [str(value)]


def _fmt_time(ts: Any) -> str:
    if ts is None or ts is pd.NaT or (isinstance(ts, float) and math.isnan(ts)):
        return ""
    try:
        t = pd.Timestamp(ts)
    except (ValueError, TypeError):
        return str(ts)
    if t is pd.NaT:
        return ""
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def _fmt_value(value: Any) -> str:
    """A manifest value as short text."""
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt_value(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_fmt_value(v)}" for k, v in value.items())
    return str(value)


def _fmt_int(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return _fmt_value(value)


def _split(df: pd.DataFrame, cols: list[list]) -> dict[int, list[list]]:
    """Rows of ``df`` (sorted by ``cluster_id``) as lists per cluster; ``cols`` are column lists."""
    out: dict[int, list[list]] = {}
    if not len(df):
        return out
    cid = df["cluster_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, cid[1:] != cid[:-1]])
    ends = np.r_[starts[1:], len(cid)]
    rows = list(zip(*cols))  # tuples: JSON arrays
    for s, e in zip(starts.tolist(), ends.tolist()):
        out[int(cid[s])] = rows[s:e]
    return out


def allocate(needs: Any, cap: int, budget: tuple[int, int], priority: int = PRIORITY_CLUSTERS) -> np.ndarray:
    """Rows to embed per cluster (``needs``: rows each has, in rank order).

    The first ``priority`` clusters get ``min(need, cap)``; the others share ``budget = (total,
    floor)``: each gets ``min(need, level)`` with the highest level (at least ``floor``, at most
    ``cap``) whose sum fits the total.

    Examples
    --------
    >>> allocate([500, 500, 5, 300, 300], cap=200, budget=(250, 10), priority=1).tolist()
    [200, 81, 5, 81, 81]
    >>> allocate([500, 500, 500], cap=200, budget=(10, 50), priority=0).tolist()
    [50, 50, 50]
    """
    needs = np.asarray(needs, dtype=np.int64)
    want = np.minimum(needs, cap)
    rest = want[priority:]
    total, floor = budget
    if rest.sum() <= total:
        return want
    lo, hi = 0, int(cap)
    while lo < hi:  # the highest level whose sum fits
        mid = (lo + hi + 1) // 2
        if np.minimum(rest, mid).sum() <= total:
            lo = mid
        else:
            hi = mid - 1
    out = want.copy()
    out[priority:] = np.minimum(rest, max(lo, floor))
    return out


class _Ranked:
    """The clusters on the page in rank order, and per-cluster numbers looked up by cluster id."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self.index = pd.Index(self.ids)

    def counts(self, cluster_ids: np.ndarray) -> np.ndarray:
        """Rows per cluster (rank order) of a column of cluster ids."""
        pos = self.index.get_indexer(np.asarray(cluster_ids, dtype=np.int64))
        return np.bincount(pos[pos >= 0], minlength=len(self.ids))

    def per_row(self, values: np.ndarray, cluster_ids: np.ndarray) -> np.ndarray:
        """``values`` (one per cluster, rank order) for each row of a column of cluster ids."""
        return np.asarray(values)[self.index.get_indexer(np.asarray(cluster_ids, dtype=np.int64))]


# ---------------------------------------------------------------------------------------------
# The data behind the cards
# ---------------------------------------------------------------------------------------------

def _review_map(review: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    """The latest verdict per stable id."""
    if review is None or not len(review) or "stable_id" not in review.columns:
        return {}
    r = review.copy()
    r["_order"] = np.arange(len(r))
    if "time" in r.columns:
        r["_t"] = _utc(r["time"])
        r = r.sort_values(["_t", "_order"], na_position="first", kind="stable")
    out: dict[str, dict[str, Any]] = {}
    for rec in r.to_dict("records"):
        sid = rec.get("stable_id")
        if sid is None or (isinstance(sid, float) and math.isnan(sid)):
            continue
        status = _cut(rec.get("status"), 40) or "unreviewed"
        out[str(sid)] = {
            "status": status,
            "status_class": status.strip().lower() if status.strip().lower() in _STATUSES else "other",
            "note": _cut(rec.get("note"), 2000),
            "reviewer": _cut(rec.get("reviewer"), 200),
            "time": _fmt_time(rec.get("time")) if "time" in rec else "",
        }
    return out


class _Accounts:
    """Members of the clusters on the page: account id -> (cluster id, row in the cluster's
    member list, strongest first)."""

    def __init__(self, accounts: pd.Series, cluster: np.ndarray, pos: np.ndarray) -> None:
        index = pd.Index(accounts.astype(str).to_numpy(dtype=object))
        first = ~index.duplicated()
        self.index = index[first]
        self.cluster = np.asarray(cluster, dtype=np.int64)[first]
        self.pos = np.asarray(pos, dtype=np.int64)[first]

    def find(self, values: pd.Series) -> np.ndarray:
        """Positions in :attr:`index` of ``values`` (-1: not a member)."""
        if not len(self.index) or not len(values):
            return np.full(len(values), -1, dtype=np.int64)
        codes, uniques = pd.factorize(values)  # look each distinct value up once
        found = self.index.get_indexer(pd.Index(uniques).astype(str).to_numpy(dtype=object))
        return np.where(codes >= 0, found[np.maximum(codes, 0)], -1)


def _positions(cluster_ids: np.ndarray) -> np.ndarray:
    """Row number within each cluster (rows sorted by cluster)."""
    if not len(cluster_ids):
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, cluster_ids[1:] != cluster_ids[:-1]]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(cluster_ids)), 0))
    return np.arange(len(cluster_ids)) - group_start


def _member_data(members: pd.DataFrame, ranked: _Ranked):
    m = members[members["cluster_id"].isin(ranked.ids)]
    fields = [f for f in _MEMBER_FIELDS if f[0] in m.columns]
    sort_cols = ["cluster_id"] + (["strength"] if "strength" in m.columns else []) + ["account_id"]
    asc = [True] + ([False] if "strength" in m.columns else []) + [True]
    m = m.assign(account_id=m["account_id"].astype(str)).sort_values(sort_cols, ascending=asc,
                                                                     kind="stable")
    cid = m["cluster_id"].to_numpy(dtype=np.int64)
    pos = _positions(cid)
    acc = _Accounts(m["account_id"], cid, pos)
    totals = ranked.counts(cid)
    alloc = allocate(totals, MAX_MEMBERS, MEMBER_BUDGET)
    keep = pos < ranked.per_row(alloc, cid)
    m = m[keep]
    cols = []
    for name, _, kind in fields:
        cols.append(_cut_series(m[name], 400) if kind in ("text", "account") else _nums(m[name], 4))
    return fields, _split(m, cols), totals, alloc, acc


def _edge_data(edges: pd.DataFrame | None, acc: _Accounts, ranked: _Ranked,
               members_alloc: np.ndarray) -> tuple[dict, np.ndarray]:
    """Per cluster a flat list ``u, v, weight, u, v, weight, ...`` (member rows), heaviest first."""
    none = np.zeros(len(ranked.ids), dtype=np.int64)
    if edges is None or not len(edges) or not {"account_u", "account_v"} <= set(edges.columns):
        return {}, none
    e = edges
    if "significant" in e.columns:
        e = e[np.asarray(_flags(e["significant"]), dtype=bool)]
    ju, jv = acc.find(e["account_u"]), acc.find(e["account_v"])
    keep = (ju >= 0) & (jv >= 0)
    keep &= acc.cluster[ju] == acc.cluster[jv]
    nodes = np.minimum(members_alloc, MAX_NETWORK_NODES)
    limit = ranked.per_row(nodes, acc.cluster[ju])
    keep &= (acc.pos[ju] < limit) & (acc.pos[jv] < limit)
    w = (pd.to_numeric(e["weight"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
         if "weight" in e.columns else np.ones(len(e)))
    ju, jv = ju[keep], jv[keep]
    f = pd.DataFrame({"cluster_id": acc.cluster[ju], "u": acc.pos[ju], "v": acc.pos[jv],
                      "w": np.round(np.nan_to_num(w[keep], nan=1.0), 3)})
    f = f.sort_values(["cluster_id", "w", "u", "v"], ascending=[True, False, True, True], kind="stable")
    cid = f["cluster_id"].to_numpy()
    totals = ranked.counts(cid)
    alloc = allocate(totals, MAX_NETWORK_EDGES, EDGE_BUDGET)
    f = f[_positions(cid) < ranked.per_row(alloc, cid)]
    out: dict[int, list] = {}
    cid = f["cluster_id"].to_numpy()
    flat = np.column_stack([f["u"].to_numpy(dtype=float), f["v"].to_numpy(dtype=float),
                            f["w"].to_numpy(dtype=float)]) if len(f) else np.zeros((0, 3))
    starts = np.flatnonzero(np.r_[True, cid[1:] != cid[:-1]]) if len(cid) else np.zeros(0, dtype=int)
    ends = np.r_[starts[1:], len(cid)]
    for s_, e_ in zip(starts.tolist(), ends.tolist()):
        vals = flat[s_:e_].ravel().tolist()
        out[int(cid[s_])] = [int(v) if v == int(v) else v for v in vals]
    return out, totals


def _hrefs(values: pd.Series) -> list[str | None]:
    """:func:`safe_href` of each value (only values that start like a web URL are looked at)."""
    text = values.astype(object).where(values.notna(), None)
    looks = text.map(lambda v: isinstance(v, str) and v[:8].lower().startswith(("http://", "https://")))
    out: list[str | None] = [None] * len(text)
    for i in np.flatnonzero(looks.to_numpy(dtype=bool)).tolist():
        out[i] = safe_href(text.iloc[i])
    return out


def _evidence_data(evidence: pd.DataFrame | None, ranked: _Ranked):
    none = np.zeros(len(ranked.ids), dtype=np.int64)
    if evidence is None or not len(evidence) or "cluster_id" not in evidence.columns:
        return [f for f in _EVIDENCE_FIELDS], {}, none
    ev = evidence[evidence["cluster_id"].isin(ranked.ids)]
    fields = [f for f in _EVIDENCE_FIELDS if f[0] in ev.columns]
    order = [c for c in ("n_accounts", "n_pairs") if c in ev.columns]
    first = _ns(ev["first_time"]) if "first_time" in ev.columns else np.zeros(len(ev), dtype=np.int64)
    ev = ev.assign(_first=first)
    ev = ev.sort_values(["cluster_id"] + order + ["_first"],
                        ascending=[True] + [False] * len(order) + [True], kind="stable")
    cid = ev["cluster_id"].to_numpy(dtype=np.int64)
    totals = ranked.counts(cid)
    alloc = allocate(totals, MAX_EVIDENCE_ROWS, EVIDENCE_BUDGET)
    ev = ev[_positions(cid) < ranked.per_row(alloc, cid)]
    cols = []
    for name, _, kind in fields:
        if kind in ("text", "kind", "object"):
            cols.append(_cut_series(ev[name], 120 if kind == "kind" else MAX_TEXT_CHARS))
        elif kind == "time":
            cols.append(_epoch_s(ev[name]))
        else:
            cols.append(_nums(ev[name], 3))
    # a link target only for http(s) URLs given in full (normalised URLs have no scheme)
    cols.append(_hrefs(ev["object_id"]) if "object_id" in ev.columns else [None] * len(ev))
    return fields, _split(ev, cols), totals


def _timeline_data(coactions: pd.DataFrame | None, acc: _Accounts, ranked: _Ranked,
                   members_alloc: np.ndarray, kinds: list[str]) -> tuple[dict, np.ndarray]:
    """The timeline marks: per cluster, member row, seconds since the previous mark (the first:
    since the epoch) and kind index of each (account, second, kind) at which a member acted in a
    co-action with another member, in time order and evenly thinned to the cluster's allocation;
    and the number of such marks per cluster (rank order)."""
    none = np.zeros(len(ranked.ids), dtype=np.int64)
    need = {"kind", "account_a", "account_b", "time_a", "time_b"}
    if coactions is None or not len(coactions) or not need <= set(coactions.columns) \
            or not len(acc.index):
        return {}, none
    c = coactions
    ja, jb = acc.find(c["account_a"]), acc.find(c["account_b"])
    keep = (ja >= 0) & (jb >= 0)
    keep &= acc.cluster[ja] == acc.cluster[jb]
    if not keep.any():
        return {}, none
    ja, jb = ja[keep], jb[keep]
    kc, kind_names = pd.factorize(c["kind"][keep].astype(str))
    j = np.r_[ja, jb]
    t = np.r_[_ns(c["time_a"][keep]), _ns(c["time_b"][keep])]
    k = np.r_[kc, kc].astype(np.int64)
    ok = (t != _NAT) & (acc.pos[j] < ranked.per_row(members_alloc, acc.cluster[j])) & (k >= 0)
    j, t, k = j[ok], t[ok] // 1_000_000_000, k[ok]
    if not len(j):
        return {}, none
    # one key per (second, account, kind): the members are numbered by cluster, then strength,
    # so sorting the keys orders each cluster's marks by time, then member row, then kind
    t0 = int(t.min())
    kbits = max(int(len(kind_names)).bit_length(), 1)
    jbits = max(int(len(acc.index)).bit_length(), 1)
    if (int(t.max()) - t0).bit_length() + jbits + kbits > 62:  # absurd ranges: plain lexsort
        order = np.lexsort((k, j, t))
        j, t, k = j[order], t[order], k[order]
        first = np.r_[True, (np.diff(j) != 0) | (np.diff(t) != 0) | (np.diff(k) != 0)]
        j, t, k = j[first], t[first], k[first]
    else:
        key = np.sort(((t - t0) << (jbits + kbits)) | (j << kbits) | k)
        key = key[np.r_[True, key[1:] != key[:-1]]]
        t = (key >> (jbits + kbits)) + t0
        j = (key >> kbits) & ((1 << jbits) - 1)
        k = key & ((1 << kbits) - 1)
    cl = acc.cluster[j]
    order = np.argsort(ranked.index.get_indexer(cl), kind="stable")
    cl, pos, t, k = cl[order], acc.pos[j][order], t[order], k[order]
    where = {name: i for i, name in enumerate(kinds)}
    kmap = np.array([where.get(str(name), -1) for name in kind_names], dtype=np.int64)
    k = kmap[k]
    totals = ranked.counts(cl)
    alloc = allocate(totals, MAX_TIMELINE_POINTS, TIMELINE_BUDGET)
    size = ranked.per_row(totals, cl)
    cap = ranked.per_row(alloc, cl)
    p = _positions(cl)
    # keep `cap` marks evenly spread over each cluster's time-ordered marks
    sel = (size <= cap) | (np.floor((p + 1) * cap / size) > np.floor(p * cap / size))
    cl, pos, t, k = cl[sel], pos[sel], t[sel], k[sel]
    out: dict[int, dict] = {}
    starts = np.flatnonzero(np.r_[True, cl[1:] != cl[:-1]])
    ends = np.r_[starts[1:], len(cl)]
    for s_, e_ in zip(starts.tolist(), ends.tolist()):
        out[int(cl[s_])] = {"a": pos[s_:e_].tolist(), "dt": np.diff(t[s_:e_], prepend=0).tolist(),
                            "k": k[s_:e_].tolist()}
    return out, totals


def _all_kinds(clusters: pd.DataFrame, evidence: pd.DataFrame | None,
               coactions: pd.DataFrame | None) -> list[str]:
    found: set[str] = set()
    for v in clusters["kinds"].tolist() if "kinds" in clusters.columns else []:
        found.update(_kinds_list(v))
    for df in (evidence, coactions):
        if df is not None and len(df) and "kind" in df.columns:
            found.update(str(k) for k in pd.unique(df["kind"].dropna()))
    known = [k for k in _KIND_ORDER if k in found]
    return known + sorted(found - set(known))


def _prepare(clusters, members, edges, evidence, coactions, review, max_clusters):
    clusters = clusters.copy()
    if "rank" not in clusters.columns:
        clusters["rank"] = np.arange(1, len(clusters) + 1)
    clusters = clusters.sort_values(["rank", "cluster_id"], kind="stable").reset_index(drop=True)
    n_all = len(clusters)
    if "flagged" in clusters.columns:
        clusters["flagged"] = _flags(clusters["flagged"])
    n_flagged_all = int(clusters["flagged"].sum()) if "flagged" in clusters.columns else 0
    if max_clusters is not None:
        if int(max_clusters) < 0:
            raise ValueError(f"max_clusters must be >= 0, got {max_clusters!r}")
        if int(max_clusters) < n_all:  # the flagged ones first, then by rank
            flag = clusters["flagged"].astype(bool) if "flagged" in clusters.columns else \
                pd.Series(False, index=clusters.index)
            chosen = pd.concat([clusters[flag], clusters[~flag]]).head(int(max_clusters))
            clusters = clusters.loc[sorted(chosen.index)].reset_index(drop=True)

    kinds = _all_kinds(clusters, evidence, coactions)
    if members is None:
        members = pd.DataFrame({"account_id": pd.Series([], dtype=str),
                                "cluster_id": pd.Series([], dtype="int64")})
    ranked = _Ranked([int(c) for c in clusters["cluster_id"].tolist()])
    m_fields, m_rows, m_totals, m_alloc, acc = _member_data(members, ranked)
    net_rows, net_totals = _edge_data(edges, acc, ranked, m_alloc)
    e_fields, e_rows, e_totals = _evidence_data(evidence, ranked)
    tl, tl_totals = _timeline_data(coactions, acc, ranked, m_alloc, kinds)
    verdicts = _review_map(review)

    def col(name: str, digits: int | None = 6) -> list:
        if name in clusters.columns:
            return _nums(clusters[name], digits)
        return [None] * len(clusters)

    def tcol(name: str) -> list:
        return _epoch_s(clusters[name]) if name in clusters.columns else [None] * len(clusters)

    cid = [int(c) for c in clusters["cluster_id"].tolist()]
    sid = [("" if v is None else str(v)) for v in
           (clusters["stable_id"].astype(object).where(clusters["stable_id"].notna(), None).tolist()
            if "stable_id" in clusters.columns else [None] * len(clusters))]
    flagged = (clusters["flagged"].astype(bool).tolist() if "flagged" in clusters.columns
               else [False] * len(clusters))
    kinds_col = ([_kinds_list(v) for v in clusters["kinds"].tolist()] if "kinds" in clusters.columns
                 else [[] for _ in cid])
    figures = {name: col(name) for name in ("rank", "score", "p_value", "n_accounts", "n_edges",
                                            "density", "total_weight", "weighted", "median_delay_s",
                                            "n_objects", "timing_similarity", "text_similarity",
                                            "coordination_ratio")}
    first, last = tcol("first_time"), tcol("last_time")
    cards = []
    for i, c in enumerate(cid):
        card: dict[str, Any] = {"id": c, "sid": _cut(sid[i], 200) or "", "flagged": bool(flagged[i]),
                                "kinds": [_cut(k, 60) for k in kinds_col[i]],
                                "first": first[i], "last": last[i]}
        for name, values in figures.items():
            card[name] = values[i]
        card["members"] = m_rows.get(c, [])
        card["n_members"] = int(m_totals[i])
        card["net"] = net_rows.get(c, [])
        card["n_net_edges"] = int(net_totals[i])
        card["evidence"] = e_rows.get(c, [])
        card["n_evidence"] = int(e_totals[i])
        if c in tl:
            card["tl"] = tl[c]
            card["n_tl"] = int(tl_totals[i])
        v = verdicts.get(sid[i])
        if v is not None:
            card["review"] = v
        cards.append(card)

    data = {
        "kinds": kinds,
        "member_fields": [[n, h, k] for n, h, k in m_fields],
        "evidence_fields": [[n, h, k] for n, h, k in e_fields],
        "has_coactions": coactions is not None,
        "caps": {"members": MAX_MEMBERS, "evidence": MAX_EVIDENCE_ROWS,
                 "timeline": MAX_TIMELINE_POINTS, "net_nodes": MAX_NETWORK_NODES,
                 "net_edges": MAX_NETWORK_EDGES, "text": MAX_TEXT_CHARS},
        "has_review": review is not None,
        "clusters": cards,
    }
    summary = []  # the no-script table (rendered by Jinja, escaped)
    for i, card in enumerate(cards):
        v = card.get("review")
        summary.append({
            "rank": _fmt_value(card["rank"]), "id": card["id"], "sid": card["sid"],
            "score": "" if card["score"] is None else f"{card['score']:.3f}",
            "p_value": "" if card["p_value"] is None else f"{card['p_value']:.4g}",
            "flagged": card["flagged"], "n_accounts": _fmt_value(card["n_accounts"]),
            "n_objects": _fmt_value(card["n_objects"]), "kinds": ", ".join(card["kinds"]),
            "first": _fmt_time(None if first[i] is None else pd.Timestamp(first[i], unit="s")),
            "last": _fmt_time(None if last[i] is None else pd.Timestamp(last[i], unit="s")),
            "status": v["status"] if v else "",
        })
    info = {"n_all": n_all, "n_shown": len(cards), "n_flagged": n_flagged_all,
            "n_flagged_shown": sum(1 for card in cards if card["flagged"]),
            "n_members": int(sum(card["n_members"] for card in cards)),
            "n_reviewed": sum(1 for card in cards if "review" in card
                              and card["review"]["status_class"] in ("confirmed", "dismissed"))}
    return data, summary, info


def _manifest_view(manifest: Mapping[str, Any] | None, info: dict[str, int]) -> dict[str, Any]:
    m = dict(manifest or {})
    params = m.get("parameters") or {}
    if not isinstance(params, Mapping):
        params = {}
    parameters = [(_PARAMETER_LABELS.get(str(k), str(k)), _fmt_value(v)) for k, v in params.items()]
    counts = m.get("counts") or {}
    if not isinstance(counts, Mapping):
        counts = {}
    tiles = [("clusters", _fmt_int(info["n_all"])), ("flagged", _fmt_int(info["n_flagged"]))]
    tiles += [(label, _fmt_int(counts[key])) for key, label in _COUNT_LABELS if key in counts]
    by_kind = counts.get("traces_by_kind")
    traces_by_kind = ([(str(k), _fmt_int(v)) for k, v in by_kind.items()]
                      if isinstance(by_kind, Mapping) else [])
    inputs = []
    for f in m.get("inputs") or []:
        if isinstance(f, Mapping):
            inputs.append({"path": _reveal(_fmt_value(f.get("path", ""))), "format": _fmt_value(f.get("format", "")),
                           "rows": _fmt_int(f.get("rows", "")), "rejected": _fmt_int(f.get("rejected", 0)),
                           "sha256": str(f.get("sha256", ""))[:16]})
        else:
            inputs.append({"path": _reveal(_fmt_value(f)), "format": "", "rows": "", "rejected": "", "sha256": ""})
    rows = m.get("rows") if isinstance(m.get("rows"), Mapping) else {}
    versions = m.get("versions") if isinstance(m.get("versions"), Mapping) else {}
    timings = m.get("timings_s") if isinstance(m.get("timings_s"), Mapping) else {}
    total = 0.0
    for v in timings.values():
        try:
            total += float(v)
        except (TypeError, ValueError):
            pass
    return {
        "version": _fmt_value(m.get("cib_version", versions.get("cib", ""))),
        "created": _fmt_time(m["created"]) if m.get("created") else "",
        "parameters": parameters, "tiles": tiles, "traces_by_kind": traces_by_kind,
        "inputs": inputs,
        "rows": [(str(k).replace("_", " "), _fmt_int(v)) for k, v in rows.items()],
        "versions": [(str(k), _fmt_value(v)) for k, v in versions.items()],
        "timings": [(str(k), _fmt_value(v)) for k, v in timings.items()],
        "total_time": f"{total:.1f} s" if timings else "",
    }


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _assets() -> tuple[str, str]:
    base = resources.files("cib") / "templates"
    css = (base / "report.css").read_text(encoding="utf-8")
    js = (base / "report.js").read_text(encoding="utf-8")
    for name, text, bad in (("report.css", css, "</style"), ("report.js", js, "</script")):
        if bad in text.lower() or "<!--" in text:
            raise RuntimeError(f"{name} must not contain {bad!r} or '<!--'")
    return css, js


@lru_cache(maxsize=1)
def _template():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cib", "templates"),
        autoescape=True,  # every {{ }} is HTML-escaped; nothing from the data is marked safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    return env.get_template("report.html.j2")


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render_report(clusters: pd.DataFrame, members: pd.DataFrame, edges: pd.DataFrame,
                  evidence: pd.DataFrame, manifest: Mapping[str, Any] | None,
                  coactions: pd.DataFrame | None = None, review: pd.DataFrame | None = None,
                  max_clusters: int | None = None) -> str:
    """The report of a run as one self-contained HTML page.

    Parameters
    ----------
    clusters, members, edges, evidence : DataFrame
        CLUSTERS, MEMBERS, (combined) EDGES and EVIDENCE as :func:`cib.detect` returns them or
        :func:`cib.results.load_table` reads them back. Only the edges flagged ``significant``
        (all, when there is no such column) between members of the same cluster are drawn.
    manifest : mapping or None
        The run's manifest (parameters, inputs, counts, versions) for the header.
    coactions : DataFrame, optional
        COACTIONS: gives the timelines one mark per co-action trace (account by time). Without
        it each timeline shows the cluster's co-acted objects from first to last share.
    review : DataFrame, optional
        Verdicts (``stable_id``, ``status``, ``note``, ``reviewer``, ``time``); the latest per
        stable id is shown on the matching card.
    max_clusters : int, optional
        Put at most ``max_clusters`` clusters into the page: the flagged ones first, then the
        others, each by rank (the page says so).

    Returns
    -------
    str
        The HTML page (always encodable as UTF-8).

    Examples
    --------
    >>> import pandas as pd
    >>> from cib.schema import CLUSTER_COLUMNS, MEMBER_COLUMNS, EVIDENCE_COLUMNS
    >>> empty = lambda cols: pd.DataFrame({c: [] for c in cols})
    >>> html = render_report(empty(CLUSTER_COLUMNS), empty(MEMBER_COLUMNS), None,
    ...                      empty(EVIDENCE_COLUMNS), {})
    >>> html.startswith("<!DOCTYPE html>") and 'id="cib-data"' in html
    True
    """
    if not isinstance(clusters, pd.DataFrame):
        raise TypeError(f"clusters must be a pandas DataFrame, got {type(clusters).__name__}")
    if "cluster_id" not in clusters.columns:
        raise ValueError("clusters lacks the column cluster_id")
    data, summary, info = _prepare(clusters, members, edges, evidence, coactions, review,
                                   max_clusters)
    css, js = _assets()
    payload = script_json(data)
    assert "<" not in payload  # nothing in the data can close the <script> element
    import markupsafe

    html = _template().render(
        css=markupsafe.Markup(css),          # package files, not data
        js=markupsafe.Markup(js),
        data_json=markupsafe.Markup(payload),  # escaped for a <script> element by script_json
        csp=("default-src 'none'; "
             f"script-src '{_csp_hash(js)}'; style-src '{_csp_hash(css)}'; "
             "base-uri 'none'; form-action 'none'"),
        m=_manifest_view(manifest, info),
        info=info,
        summary=summary,
        has_coactions=coactions is not None,
    )
    try:
        html.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (e.g. undecodable file names) become U+FFFD
        html = html.encode("utf-8", "replace").decode("utf-8")
    return html


def _read_review(review: pd.DataFrame | str | os.PathLike | None) -> pd.DataFrame | None:
    if review is None or isinstance(review, pd.DataFrame):
        return review
    path = Path(review)
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def write_report(out_dir: str | os.PathLike[str], *, review: pd.DataFrame | str | os.PathLike | None = None,
                 max_clusters: int | None = None) -> Path:
    """Render ``report.html`` again from the tables of a cib output folder.

    Reads ``clusters``, ``members``, ``edges`` and ``evidence`` (Parquet, else CSV; see
    :func:`cib.results.load_table`), ``coactions`` when the folder has it, and ``manifest.json``,
    then replaces ``out_dir/report.html`` atomically (a temporary file in the same folder,
    flushed, then renamed over the old one).

    Parameters
    ----------
    out_dir : str or os.PathLike
        The output folder of ``cib detect``.
    review : DataFrame or path, optional
        Verdicts to show (a CSV or Parquet file, or a table).
    max_clusters : int, optional
        See :func:`render_report`.

    Returns
    -------
    pathlib.Path
        The path of the report written.

    Notes
    -----
    Per-account timelines need the co-actions, which ``cib detect`` does not save; without a
    ``coactions`` table in the folder the timelines show one bar per co-acted object. The
    ``outputs`` entry of ``manifest.json`` (size and hash of each file) is not updated.
    """
    from .results import load_table

    out_dir = Path(out_dir)
    tables = {name: load_table(out_dir, name) for name in ("clusters", "members", "edges", "evidence")}
    coactions = None
    if (out_dir / "coactions.parquet").exists() or (out_dir / "coactions.csv").exists():
        coactions = load_table(out_dir, "coactions")
    manifest: dict[str, Any] = {}
    mpath = out_dir / "manifest.json"
    if mpath.exists():
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise OutputError(f"cannot read {mpath}: {exc}") from exc
    if isinstance(manifest, dict):  # timings stay in the manifest, as in `cib detect`'s report
        manifest = {k: v for k, v in manifest.items() if k != "timings_s"}
    html = render_report(tables["clusters"], tables["members"], tables["edges"], tables["evidence"],
                         manifest, coactions=coactions, review=_read_review(review),
                         max_clusters=max_clusters)
    target = out_dir / REPORT_NAME
    tmp = out_dir / f".{REPORT_NAME}.tmp-{secrets.token_hex(4)}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(html.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target
