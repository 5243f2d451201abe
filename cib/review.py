"""Analysts' verdicts on clusters that survive re-runs: the review file (DESIGN §6).

A review file holds one row per verdict: an analyst's ``status`` for a cluster (``unreviewed``,
``confirmed`` or ``dismissed``) with a free ``note``, the ``reviewer`` and the ``time`` of the
verdict. cib writes it (``cib detect ... --review review.csv``) with one ``unreviewed`` row per
cluster; the analyst edits ``status``, ``note``, ``reviewer`` (and ``time``, or leaves it empty) in a
spreadsheet or text editor; the next run carries every verdict over to the cluster of the new run
that has (almost) the same members, and rewrites the file.

Columns (:data:`REVIEW_COLUMNS`):

``stable_id``
    The cluster's content hash (:func:`cib.scoring.stable_id`) in the latest run the verdict
    matched; the report shows the verdict on the card with this id.
``status``
    ``unreviewed``, ``confirmed`` or ``dismissed`` (read case-insensitively; empty = unreviewed).
``note``, ``reviewer``
    Free text.
``time``
    When the verdict was given, ISO 8601 UTC (``2024-05-01T09:30:00Z``). Times without a zone are
    taken as UTC. A verdict whose time the analyst left empty gets the time cib first read it.
``members``
    The sorted account ids of the cluster the verdict belongs to, separated by spaces.
``cluster_id``
    The verdict's cluster in the latest run, -1 when it matched none.
``matched``
    Whether the verdict matched a cluster of the latest run.
``previous_stable_id``, ``jaccard``
    The last time the verdict's cluster changed members: its ``stable_id`` before, and the member
    overlap (Jaccard index) of the old and new member lists. Empty while the cluster has kept the
    members it had when cib first wrote the row; kept as they are while the members stay the
    same, so a re-run on unchanged data leaves the file as it is.

Only ``stable_id`` and ``status`` are required when reading: a hand-made file of
``stable_id, status, note`` works (a verdict without ``members`` matches only the cluster with
the same ``stable_id``). Columns the analyst adds (``priority``, ...) are kept and carried.

Matching (:func:`carry_verdicts`): a verdict matches the new cluster whose member set overlaps
its own most, with a Jaccard index of at least 0.5 (a verdict whose ``stable_id`` equals the
cluster's counts as 1). Matching is one-to-one and greedy: pairs are taken by decreasing Jaccard,
ties by the verdict's ``stable_id`` and then by ``cluster_id`` (then file order), so the result is
deterministic. A matched verdict keeps its status, note, reviewer and time and takes the new
cluster's ``stable_id``, ``members`` and ``cluster_id``. New clusters get ``unreviewed`` rows.
Verdicts that match nothing are never deleted: they stay in the file with ``matched`` false and
``cluster_id`` -1, after the matched rows. Only blank placeholders (``unreviewed`` with empty
note, reviewer and time, i.e. rows cib wrote and nobody touched) are dropped when they match
nothing; pass ``keep_placeholders=True`` to keep them as well.

Writing (:func:`write_review`): the file is replaced atomically (a temporary file in the same
folder, flushed to disk, then ``os.replace``), after the previous file was saved as
``<name>.bak``; an unchanged file is not rewritten (so ``.bak`` keeps the last real change). A
``.parquet`` / ``.pq`` name gives Parquet with the raw values; otherwise the file is CSV (UTF-8,
``\\r\\n`` line ends, text cells quoted) with text cells neutralised against spreadsheet formula
injection like every cib CSV (:func:`cib.export.neutralize_frame`): a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``. So that notes
round-trip exactly, a cell that already starts with one or more ``'`` followed by one of those
characters gets one more ``'``, and :func:`read_review` removes one leading ``'`` from exactly
those cells (a ``'`` followed by anything else is kept as it is).

Spreadsheets limit a cell to 32,767 characters: the ``members`` of a very large cluster may be cut
when the file is saved from one. A verdict whose ``stable_id`` still equals its cluster's matches
it anyway.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError, OutputError
from .export import CSV_FORMULA_PREFIXES, _fsync_dir, neutralize_frame
from .scoring import stable_id as _stable_id

__all__ = [
    "REVIEW_COLUMNS",
    "STATUSES",
    "MIN_JACCARD",
    "empty_review",
    "read_review",
    "carry_verdicts",
    "write_review",
    "apply_review",
]

#: The verdicts a review file may hold.
STATUSES: tuple[str, ...] = ("unreviewed", "confirmed", "dismissed")

#: The columns of a review table, in file order (columns the analyst adds follow them).
REVIEW_COLUMNS: list[str] = ["stable_id", "status", "note", "reviewer", "time", "members",
                             "cluster_id", "matched", "previous_stable_id", "jaccard"]

#: The smallest member overlap (Jaccard index) at which a verdict carries over to a new cluster.
MIN_JACCARD = 0.5

_REQUIRED = ("stable_id", "status")
_TEXT = ("stable_id", "status", "note", "reviewer", "time", "members", "previous_stable_id")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------

def empty_review() -> pd.DataFrame:
    """A review table with no rows.

    Examples
    --------
    >>> empty_review().columns.tolist() == REVIEW_COLUMNS
    True
    """
    return _frame({c: [] for c in REVIEW_COLUMNS})


def _frame(data: Mapping[str, list[Any]], extra: list[str] | None = None) -> pd.DataFrame:
    """A review table with the canonical dtypes: text as object (empty string when missing),
    ``cluster_id`` int64, ``matched`` bool, ``jaccard`` float64."""
    cols = REVIEW_COLUMNS + [c for c in (extra or []) if c not in REVIEW_COLUMNS]
    out = {}
    for c in cols:
        values = list(data.get(c, []))
        if c == "cluster_id":
            out[c] = pd.Series(values, dtype="int64")
        elif c == "matched":
            out[c] = pd.Series(values, dtype="bool")
        elif c == "jaccard":
            out[c] = pd.Series(values, dtype="float64")
        else:
            out[c] = pd.Series(["" if _missing(v) else str(v) for v in values], dtype=object)
    return pd.DataFrame(out, columns=cols)


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    return False


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------

def _unneutralize(value: str) -> str:
    """Undo :func:`_neutralize`: drop one leading ``'`` that export added.

    Examples
    --------
    >>> _unneutralize("'=1+1"), _unneutralize("''=1"), _unneutralize("'quoted'")
    ('=1+1', "'=1", "'quoted'")
    """
    if value.startswith("'") and value.lstrip("'").startswith(CSV_FORMULA_PREFIXES):
        return value[1:]
    return value


def _neutralize(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells as written to CSV: cells that start with quotes followed by a formula character
    get one more quote (so that :func:`_unneutralize` is exact), then the cib neutralisation."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: "'" + v if isinstance(v, str) and v.startswith("'")
                                and v.lstrip("'").startswith(CSV_FORMULA_PREFIXES) else v)
    return neutralize_frame(out)


def _iso(ts: pd.Timestamp) -> str:
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.microsecond or ts.nanosecond:
        text += f".{ts.microsecond:06d}".rstrip("0")
    return text + "Z"


def _parse_time(value: str, file: str, row: int) -> str:
    """An ISO 8601 UTC string for a time cell ("" stays "")."""
    if value.strip() == "":
        return ""
    try:
        ts = pd.Timestamp(value.strip())
    except (ValueError, TypeError, OverflowError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise InputError(f"cannot read the time {value!r} (use ISO 8601, e.g. "
                         "2024-05-01T09:30:00Z)", file=file, row=row, column="time")
    return _iso(ts)


def _row_number(i: int, is_csv: bool) -> int:
    return i + 2 if is_csv else i + 1  # CSV: the header is row 1 (as a spreadsheet shows it)


def _read_raw(path: Path, shown: str) -> tuple[pd.DataFrame, bool]:
    """The file's cells as strings (missing: ""), and whether it is a CSV."""
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            raw = pd.read_parquet(path)
        except Exception as e:  # pyarrow raises several types for a bad file
            raise InputError(f"cannot read the review file as Parquet: {e}", file=shown) from e
        cells = {}
        for c in raw.columns:
            s = raw[c]
            if pd.api.types.is_datetime64_any_dtype(s.dtype):
                vals = ["" if _missing(v) else _iso(pd.Timestamp(v)) for v in s]
            else:
                vals = ["" if _missing(v) else str(v) for v in s.tolist()]
            cells[str(c)] = pd.Series(vals, dtype=object)
        return pd.DataFrame(cells, columns=[str(c) for c in raw.columns]), False
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError as e:
        raise InputError("the review file is not UTF-8 text (save it as 'CSV UTF-8')",
                         file=shown) from e
    except OSError as e:
        raise InputError(f"cannot read the review file: {e.strerror or e}", file=shown) from e
    if not text.strip():
        return pd.DataFrame(), True
    header = text.split("\n", 1)[0]
    sep = ";" if "," not in header and ";" in header else ","  # spreadsheets in some locales
    try:
        raw = pd.read_csv(io.StringIO(text, newline=""), sep=sep, dtype=str,
                          keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, ValueError) as e:
        raise InputError(f"cannot read the review file as CSV: {e}", file=shown) from e
    raw.columns = [str(c).strip() for c in raw.columns]
    raw = raw.map(lambda v: _unneutralize(v) if isinstance(v, str) else ("" if _missing(v) else str(v)))
    return raw.astype(object), True


def read_review(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a review file (CSV, or Parquet by its ``.parquet`` / ``.pq`` suffix).

    A missing file gives an empty table. Values are checked and put in their canonical form:
    ``status`` lower-cased (empty: ``unreviewed``), ``time`` ISO 8601 UTC, ``cluster_id`` an int
    (empty: -1), ``matched`` a bool (empty: false), ``jaccard`` a float; text cells are strings
    (empty when missing) with the CSV neutralisation undone (see the module docstring). A row
    without ``stable_id`` gets the hash of its ``members``.

    Parameters
    ----------
    path : str or os.PathLike
        The review file.

    Returns
    -------
    pandas.DataFrame
        :data:`REVIEW_COLUMNS`, then any other columns of the file, in file order.

    Raises
    ------
    cib.errors.InputError
        If the file cannot be read, lacks ``stable_id`` or ``status``, or holds a bad value (the
        message names the file, the row, as a spreadsheet numbers it, and the column).

    Examples
    --------
    >>> read_review("no-such-review.csv").empty
    True
    """
    p = Path(path)
    shown = os.fspath(path)
    if not p.exists():
        return empty_review()
    if p.is_dir():
        raise InputError("the review file is a folder", file=shown)
    raw, is_csv = _read_raw(p, shown)
    if raw.columns.size == 0:
        return empty_review()
    dup = sorted({c for c in raw.columns if list(raw.columns).count(c) > 1})
    if dup:
        raise InputError(f"duplicate columns: {', '.join(dup)}", file=shown)
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(f"missing required column{'s' if len(missing) > 1 else ''}: "
                         f"{', '.join(missing)} (a review file needs {', '.join(_REQUIRED)}; "
                         f"it has {', '.join(map(str, raw.columns)) or 'none'})",
                         file=shown, column=missing[0])
    n = len(raw)
    col = {c: (raw[c].tolist() if c in raw.columns else [""] * n) for c in REVIEW_COLUMNS}
    data: dict[str, list[Any]] = {c: [] for c in REVIEW_COLUMNS}
    for i in range(n):
        row = _row_number(i, is_csv)
        status = col["status"][i].strip().lower() or "unreviewed"
        if status not in STATUSES:
            raise InputError(f"unknown status {col['status'][i]!r} (use one of "
                             f"{', '.join(STATUSES)})", file=shown, row=row, column="status")
        members = " ".join(col["members"][i].split())
        sid = col["stable_id"][i].strip()
        if not sid:
            if not members:
                raise InputError("a verdict needs a stable_id (or the cluster's members)",
                                 file=shown, row=row, column="stable_id")
            sid = _stable_id(members.split())
        cid_text = col["cluster_id"][i].strip()
        try:
            cid = int(float(cid_text)) if cid_text else -1
        except ValueError:
            raise InputError(f"cluster_id must be a whole number, got {cid_text!r}",
                             file=shown, row=row, column="cluster_id") from None
        matched_text = col["matched"][i].strip().lower()
        if matched_text in _TRUE:
            matched = True
        elif matched_text in _FALSE:
            matched = False
        else:
            raise InputError(f"matched must be true or false, got {col['matched'][i]!r}",
                             file=shown, row=row, column="matched")
        jac_text = col["jaccard"][i].strip()
        try:
            jac = float(jac_text) if jac_text else float("nan")
        except ValueError:
            raise InputError(f"jaccard must be a number, got {jac_text!r}",
                             file=shown, row=row, column="jaccard") from None
        data["stable_id"].append(sid)
        data["status"].append(status)
        data["note"].append(col["note"][i])
        data["reviewer"].append(col["reviewer"][i])
        data["time"].append(_parse_time(col["time"][i], shown, row))
        data["members"].append(members)
        data["cluster_id"].append(cid)
        data["matched"].append(matched)
        data["previous_stable_id"].append(col["previous_stable_id"][i].strip())
        data["jaccard"].append(jac)
    extra = [c for c in raw.columns if c not in REVIEW_COLUMNS]
    for c in extra:
        data[c] = raw[c].tolist()
    return _frame(data, extra)


# ---------------------------------------------------------------------------------------------
# Carrying verdicts to a new run
# ---------------------------------------------------------------------------------------------

def _normalize_table(review: pd.DataFrame) -> pd.DataFrame:
    """A review table built by hand (or by another tool) in the canonical form."""
    if not isinstance(review, pd.DataFrame):
        raise TypeError(f"review must be a pandas DataFrame, got {type(review).__name__}")
    missing = [c for c in _REQUIRED if c not in review.columns]
    if missing:
        raise InputError(f"the review table lacks the column{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(missing)}", column=missing[0])
    n = len(review)
    data: dict[str, list[Any]] = {}
    for c in REVIEW_COLUMNS:
        data[c] = review[c].tolist() if c in review.columns else [None] * n
    status = []
    for i, s in enumerate(data["status"]):
        v = "unreviewed" if _missing(s) or not str(s).strip() else str(s).strip().lower()
        if v not in STATUSES:
            raise InputError(f"unknown status {s!r} (use one of {', '.join(STATUSES)})",
                             row=i + 1, column="status")
        status.append(v)
    data["status"] = status
    data["members"] = ["" if _missing(m) else " ".join(m) if isinstance(m, (list, tuple))
                       else " ".join(str(m).split()) for m in data["members"]]
    data["stable_id"] = ["" if _missing(s) else str(s).strip() for s in data["stable_id"]]
    for i, (sid, m) in enumerate(zip(data["stable_id"], data["members"])):
        if not sid:
            if not m:
                raise InputError("a verdict needs a stable_id (or the cluster's members)",
                                 row=i + 1, column="stable_id")
            data["stable_id"][i] = _stable_id(m.split())
    data["time"] = ["" if _missing(t) or (isinstance(t, str) and not t.strip())
                    else _parse_time(t, None, i + 1) if isinstance(t, str) else _iso(pd.Timestamp(t))
                    for i, t in enumerate(data["time"])]
    data["cluster_id"] = [-1 if _missing(c) else int(c) for c in data["cluster_id"]]
    data["matched"] = [False if _missing(m) else bool(m) for m in data["matched"]]
    data["jaccard"] = [float("nan") if _missing(j) else float(j) for j in data["jaccard"]]
    extra = [c for c in review.columns if c not in REVIEW_COLUMNS]
    for c in extra:
        data[c] = review[c].tolist()
    return _frame(data, [str(c) for c in extra])


def _cluster_members(clusters: pd.DataFrame, members: pd.DataFrame) -> list[tuple[int, str, list[str]]]:
    """(cluster_id, stable_id, sorted members) per cluster, in rank order."""
    for c in ("cluster_id", "stable_id"):
        if c not in clusters.columns:
            raise ValueError(f"clusters lacks the column {c}")
    for c in ("account_id", "cluster_id"):
        if c not in members.columns:
            raise ValueError(f"members lacks the column {c}")
    order = clusters.sort_values("rank", kind="mergesort") if "rank" in clusters.columns else clusters
    m = members[members["cluster_id"] >= 0]
    groups = {int(k): sorted(map(str, v)) for k, v in
              m.groupby("cluster_id", sort=True)["account_id"]}
    return [(int(cid), str(sid), groups.get(int(cid), []))
            for cid, sid in zip(order["cluster_id"], order["stable_id"])]


def _now_iso(now: Any) -> str:
    ts = pd.Timestamp.now(tz="UTC").floor("s") if now is None else pd.Timestamp(now)
    return _iso(ts)


def _is_placeholder(row: Mapping[str, Any]) -> bool:
    return (row["status"] == "unreviewed" and not str(row["note"]).strip()
            and not str(row["reviewer"]).strip() and not str(row["time"]).strip())


def carry_verdicts(review: pd.DataFrame, clusters: pd.DataFrame, members: pd.DataFrame, *,
                   min_jaccard: float = MIN_JACCARD, keep_placeholders: bool = False,
                   now: Any = None) -> pd.DataFrame:
    """Carry the verdicts of ``review`` over to the clusters of a new run.

    See the module docstring for the matching rule.

    Parameters
    ----------
    review : DataFrame
        A review table (:func:`read_review`; only ``stable_id`` and ``status`` are required).
    clusters, members : DataFrame
        CLUSTERS (``cluster_id``, ``stable_id``, ``rank``) and MEMBERS (``account_id``,
        ``cluster_id``) of the new run.
    min_jaccard : float, default 0.5
        The smallest member overlap at which a verdict carries over.
    keep_placeholders : bool, default False
        Keep blank ``unreviewed`` rows that match no cluster (by default they are dropped; rows
        with any note, reviewer, time or a verdict are always kept).
    now : datetime-like, optional
        The time given to verdicts (status other than unreviewed) whose ``time`` is empty
        (default: the current time).

    Returns
    -------
    DataFrame
        :data:`REVIEW_COLUMNS` (and any extra columns of ``review``): one row per cluster of the
        new run in rank order (matched: ``matched`` true), then the verdicts that matched nothing
        (``matched`` false, ``cluster_id`` -1) in their previous order.

    Examples
    --------
    >>> clusters = pd.DataFrame({"cluster_id": [0], "rank": [1], "stable_id": ["s-new"]})
    >>> members = pd.DataFrame({"account_id": ["a", "b", "c"], "cluster_id": [0, 0, 0]})
    >>> old = pd.DataFrame({"stable_id": ["s-old"], "status": ["confirmed"],
    ...                     "members": ["a b"], "time": ["2024-05-01T00:00:00Z"]})
    >>> carry_verdicts(old, clusters, members)[["stable_id", "status", "members", "jaccard"]]
      stable_id     status members   jaccard
    0     s-new  confirmed   a b c  0.666667
    """
    old = _normalize_table(review)
    extra = [c for c in old.columns if c not in REVIEW_COLUMNS]
    new = _cluster_members(clusters, members)
    stamp = _now_iso(now)

    # account -> position of its new cluster; candidate pairs share at least one account
    where: dict[str, int] = {}
    for j, (_, _, accs) in enumerate(new):
        for a in accs:
            where[a] = j
    sid_pos = {sid: j for j, (_, sid, _) in enumerate(new)}
    cands: list[tuple[float, str, int, int, int]] = []  # (-jaccard, old sid, cluster id, i, j)
    old_sets = [set(m.split()) for m in old["members"]]
    for i, (sid, mset) in enumerate(zip(old["stable_id"], old_sets)):
        counts: dict[int, int] = {}
        for a in mset:
            j = where.get(a)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        best: dict[int, float] = {}
        for j, inter in counts.items():
            union = len(mset) + len(new[j][2]) - inter
            best[j] = inter / union if union else 0.0
        exact = sid_pos.get(sid)
        if exact is not None:  # the same content hash: the same members
            best[exact] = 1.0
        for j, jac in best.items():
            if jac >= min_jaccard:
                cands.append((-jac, sid, new[j][0], i, j))
    cands.sort()
    old_for: dict[int, tuple[int, float]] = {}  # new position -> (old row, jaccard)
    used: set[int] = set()
    for negjac, _, _, i, j in cands:
        if i in used or j in old_for:
            continue
        used.add(i)
        old_for[j] = (i, -negjac)

    rows: list[dict[str, Any]] = []
    records = old.to_dict("records")
    for j, (cid, sid, accs) in enumerate(new):
        if j in old_for:
            i, jac = old_for[j]
            r = dict(records[i])
            if r["stable_id"] != sid:  # the members changed: record from what, and how much
                r.update(previous_stable_id=r["stable_id"], jaccard=round(jac, 6))
        else:
            r = {c: "" for c in REVIEW_COLUMNS + extra}
            r.update(status="unreviewed", jaccard=float("nan"))
        r.update(stable_id=sid, members=" ".join(accs), cluster_id=cid, matched=True)
        rows.append(r)
    for i, r in enumerate(records):
        if i in used:
            continue
        if not keep_placeholders and _is_placeholder(r):
            continue
        r = dict(r)
        r.update(cluster_id=-1, matched=False, jaccard=float("nan"))
        rows.append(r)
    for r in rows:
        if r["status"] != "unreviewed" and not str(r["time"]).strip():
            r["time"] = stamp
    return _frame({c: [r[c] for r in rows] for c in REVIEW_COLUMNS + extra}, extra)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

def _review_bytes(review: pd.DataFrame, parquet: bool) -> bytes:
    if parquet:
        import pyarrow as pa
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(review, preserve_index=False), buf)
        return buf.getvalue()
    buf = io.StringIO()
    _neutralize(review).to_csv(buf, index=False, lineterminator="\r\n",
                               quoting=csv.QUOTE_NONNUMERIC)
    return buf.getvalue().encode("utf-8")


def _write_all(fh: Any, data: bytes) -> None:
    """Write ``data`` to the open file and flush it to disk."""
    fh.write(data)
    fh.flush()
    os.fsync(fh.fileno())


def _replace_with(path: Path, write: Any) -> None:
    """Write a temporary sibling of ``path`` with ``write(fh)``, then put it in place."""
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        with open(tmp, "xb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def write_review(path: str | os.PathLike[str], review: pd.DataFrame) -> Path:
    """Write a review table atomically, keeping the previous file as ``<name>.bak``.

    CSV (UTF-8, text quoted, formula-neutralised; see the module docstring) unless the name ends
    in ``.parquet`` or ``.pq``. The new content goes to a temporary file in the same folder that
    then replaces ``path`` in one step: a crash leaves either the old or the new file, never a
    mix. When the file already holds exactly these bytes nothing is written (and ``.bak`` keeps
    the previous change).

    Parameters
    ----------
    path : str or os.PathLike
        The review file.
    review : DataFrame
        A review table (:func:`carry_verdicts`, :func:`read_review`, or built by hand).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    cib.errors.OutputError
        If the file or its backup cannot be written.
    """
    table = _normalize_table(review)
    p = Path(path)
    data = _review_bytes(table, p.suffix.lower() in (".parquet", ".pq"))
    if p.is_dir():
        raise OutputError(f"cannot write the review file {p}: it is a folder")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.exists():
            with open(p, "rb") as fh:
                if fh.read() == data:
                    return p
            bak = p.with_name(p.name + ".bak")
            with open(p, "rb") as src:
                previous = src.read()
            _replace_with(bak, lambda fh: _write_all(fh, previous))
        _replace_with(p, lambda fh: _write_all(fh, data))
    except OSError as e:
        raise OutputError(f"cannot write the review file {p}: {e.strerror or e}") from e
    _fsync_dir(p.parent)
    return p


def apply_review(det: Any, path: str | os.PathLike[str], *, write: bool = True,
                 now: Any = None) -> pd.DataFrame:
    """Read the review file, carry its verdicts over to ``det``'s clusters, write it back.

    Parameters
    ----------
    det : cib.Detection
        The new run.
    path : str or os.PathLike
        The review file (created when missing).
    write : bool, default True
        Rewrite the file (with a ``.bak`` of the previous one); False only computes the table.
    now : datetime-like, optional
        See :func:`carry_verdicts`.

    Returns
    -------
    DataFrame
        The carried table. Pass ``table[table["matched"]]`` to the report
        (:meth:`cib.Detection.write` / :func:`cib.report.render_report`).
    """
    table = carry_verdicts(read_review(path), det.clusters, det.members, now=now)
    if write:
        write_review(path, table)
    return table
