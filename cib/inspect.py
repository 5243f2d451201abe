"""Look at input files before detecting: format, column mapping, counts, time range, problems.

:func:`inspect_inputs` reads the files as :func:`cib.io.read_actions` would and describes what
it found; :func:`format_report` turns that into text; :func:`inspect_command_text` is what
``cib inspect`` prints. Nothing is detected and nothing is written.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError
from .io import detect_format, expand_paths, read_actions, resolution_warning
from .params import parse_duration
from .schema import ACTION_TYPES

__all__ = ["inspect_inputs", "format_report", "inspect_command_text"]

#: How many accounts and objects the "most active / most shared" lists hold.
TOP = 10
# Ids written as floats in scientific notation: a spreadsheet rounded them (digits are lost).
_SCIENTIFIC = re.compile(r"^[+-]?\d(?:\.\d+)?[eE]\+?\d+$")
# Earlier timestamps are more likely a wrong epoch unit or a default date than real posts.
_EARLIEST = pd.Timestamp("2000-01-01", tz="UTC")
_OBJECT_COLUMNS = ("parent_id", "urls", "hashtags")


def inspect_inputs(paths: str | os.PathLike | Iterable[str | os.PathLike], format: str = "auto",
                   mapping: str | dict[str, str] | None = None) -> dict[str, Any]:
    """Read input files and describe them, without detecting anything.

    A file that cannot be read at all (missing columns, malformed) is reported as a problem
    and left out; the others are read together, as :func:`cib.io.read_actions` reads them
    (bad rows are skipped and counted).

    Parameters
    ----------
    paths : str, path, or list of them
        Files or glob patterns, as for :func:`cib.io.read_actions`.
    format : str, default "auto"
        An input format (``cib formats``) or ``"auto"``.
    mapping : dict or str, optional
        Input column names of cib's columns (``--map``).

    Returns
    -------
    dict
        JSON-serialisable: ``files`` (per file: ``path``, ``format`` (detected or given),
        ``rows``, ``rejected``, ``duplicates``, ``skipped``, ``columns`` (cib column -> the
        input column it was read from), ``error`` (why the file could not be read, or None)),
        ``rows_read``, ``rows_rejected``, ``duplicates_dropped``, ``skipped``, ``actions``,
        ``rejects_by_reason`` (``"reason (column)"`` -> rows), ``reject_examples`` (the
        first rejected rows: ``source``, ``row``, ``column``, ``value``, ``reason``),
        ``action_types`` (type -> actions), ``accounts`` (distinct), ``time_range``
        (``first``, ``last``: ISO 8601 UTC, or None), ``timestamp_resolution_s``,
        ``top_accounts`` (the ten most active: ``account_id``, ``actions``),
        ``top_objects`` (per ``parent_id``, ``urls``, ``hashtags``: the ten most shared, as
        ``object``, ``actions``, ``accounts``; raw values, not normalised), ``warnings``
        (from reading) and ``problems`` (every problem found, as sentences).

    Raises
    ------
    InputError
        No file matches, or none can be read.
    ParameterError
        A bad ``format`` or ``mapping``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "x.csv"
    ...     _ = p.write_text("account_id,timestamp,parent_id\\nu1,1610870400,p\\nu2,1610870401,p\\n"
    ...                      "u3,soon,p\\n")
    ...     info = inspect_inputs(p)
    >>> info["files"][0]["format"], info["actions"], info["accounts"], info["rejects_by_reason"]
    ('generic', 2, 2, {'unparsable timestamp (timestamp)': 1})
    >>> info["top_objects"]["parent_id"]
    [{'object': 'p', 'actions': 2, 'accounts': 2}]
    """
    files = expand_paths(paths)
    failures: dict[str, InputError] = {}
    remaining = list(files)
    result = None
    while remaining:
        try:
            result = read_actions(remaining, format=format, mapping=mapping, on_error="skip")
            break
        except InputError as exc:
            if exc.file not in remaining:
                raise
            failures[exc.file] = exc
            remaining.remove(exc.file)
    if result is None:  # no file can be read: an error, not a finding
        first = failures[files[0]]
        if len(files) == 1:
            raise first
        raise InputError(f"none of the {len(files)} files can be read; the first: {first}")
    errors = {path: str(exc) for path, exc in failures.items()}
    actions, rejects, stats = result
    read = {s["path"]: s for s in stats["files"]}

    file_info = []
    for path in files:
        s = read.get(path)
        if s is None:
            file_info.append({"path": path, "format": _format_of(path, format), "rows": 0,
                              "rejected": 0, "duplicates": 0, "skipped": 0, "columns": {},
                              "error": errors.get(path)})
        else:
            file_info.append({"path": path, "format": s["format"], "rows": s["rows"],
                              "rejected": s["rejected"], "duplicates": s["duplicates"],
                              "skipped": s.get("skipped", 0), "columns": s.get("columns", {}),
                              "error": None})

    reasons = (rejects["reason"] + " (" + rejects["column"] + ")").value_counts() if len(rejects) \
        else pd.Series(dtype="int64")
    info: dict[str, Any] = {
        "files": file_info,
        "rows_read": int(stats["rows_read"]),
        "rows_rejected": int(stats["rows_rejected"]),
        "duplicates_dropped": int(stats["duplicates_dropped"]),
        "skipped": int(sum(f["skipped"] for f in file_info)),
        "actions": int(len(actions)),
        "rejects_by_reason": {str(k): int(v) for k, v in reasons.items()},
        "reject_examples": [_plain(r) for r in rejects.head(TOP).to_dict("records")],
        "action_types": {t: int(n) for t, n in actions["action_type"].value_counts()
                         .reindex(ACTION_TYPES, fill_value=0).items()},
        "accounts": int(actions["account_id"].nunique()),
        "time_range": None,
        "timestamp_resolution_s": float(stats["timestamp_resolution_s"]),
        "top_accounts": _top_accounts(actions),
        "top_objects": {c: _top_objects(actions, c) for c in _OBJECT_COLUMNS},
        "warnings": list(stats.get("warnings", [])),
        "problems": [],
    }
    if len(actions):
        info["time_range"] = {"first": _iso(actions["timestamp"].min()),
                              "last": _iso(actions["timestamp"].max())}
    info["problems"] = _problems(info, actions, rejects, errors)
    return info


def _format_of(path: str, given: str) -> str | None:
    if given != "auto":
        return given
    try:
        return detect_format(path)
    except InputError:
        return None


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (int(v) if isinstance(v, (np.integer,)) else v) for k, v in record.items()}


def _iso(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").isoformat().replace("+00:00", "Z")


def _top_accounts(actions: pd.DataFrame) -> list[dict[str, Any]]:
    if not len(actions):
        return []
    counts = actions["account_id"].value_counts()
    frame = pd.DataFrame({"account_id": counts.index.astype(str), "actions": counts.to_numpy()})
    frame = frame.sort_values(["actions", "account_id"], ascending=[False, True]).head(TOP)
    return [{"account_id": a, "actions": int(n)} for a, n in zip(frame["account_id"], frame["actions"])]


def _top_objects(actions: pd.DataFrame, column: str) -> list[dict[str, Any]]:
    if not len(actions):
        return []
    pairs = actions[["account_id", column]]
    if column != "parent_id":
        pairs = pairs.explode(column)
    pairs = pairs.dropna(subset=[column])
    if not len(pairs):
        return []
    grouped = pairs.groupby(column, sort=False)["account_id"].agg(["size", "nunique"])
    grouped = grouped.reset_index().sort_values(["size", "nunique", column],
                                                ascending=[False, False, True]).head(TOP)
    return [{"object": str(o), "actions": int(n), "accounts": int(a)}
            for o, n, a in zip(grouped[column], grouped["size"], grouped["nunique"])]


def _problems(info: dict[str, Any], actions: pd.DataFrame, rejects: pd.DataFrame,
              errors: dict[str, str]) -> list[str]:
    problems = [f"not read: {message}" for message in errors.values()]
    for f in info["files"]:
        if f["error"] is None and f["rows"] == 0:
            problems.append(f"{f['path']}: no rows")
        elif f["error"] is None and f["rows"] and f["rejected"] == f["rows"]:
            problems.append(f"{f['path']}: every row was rejected")
        if f["error"] is None and f["rows"] and f["columns"] and "action_id" not in f["columns"]:
            problems.append(f"{f['path']}: no action id column; ids are made from the file name "
                            "and row, so the same post in two files is not recognised as one")
    for reason, n in info["rejects_by_reason"].items():
        first = rejects[(rejects["reason"] + " (" + rejects["column"] + ")") == reason].iloc[0]
        example = f"{first['source']}, row {int(first['row'])}"
        if first["value"]:
            example += f": {first['value']!r}"
        problems.append(f"{n} row{'s' if n != 1 else ''} rejected, {reason}; first: {example}")
    if info["duplicates_dropped"]:
        n = info["duplicates_dropped"]
        problems.append(f"{n} exact duplicate row{'s' if n != 1 else ''} dropped")
    problems.extend(info["warnings"])
    if not len(actions):
        if info["rows_read"] or not errors:
            problems.append("no actions could be read")
        return problems
    for column in ("action_id", "account_id", "parent_id"):
        values = pd.Series(actions[column].dropna().unique(), dtype="str")
        bad = values[values.str.match(_SCIENTIFIC)]
        if len(bad):
            problems.append(f"{len(bad)} {column} value{'s' if len(bad) != 1 else ''} look like "
                            f"numbers in scientific notation (e.g. {bad.iloc[0]!r}): ids saved by "
                            "a spreadsheet lose digits and collide; export them as text")
    ts = actions["timestamp"]
    early = int((ts < _EARLIEST).sum())
    if early:
        problems.append(f"{early} timestamp{'s are' if early != 1 else ' is'} before 2000 "
                        f"(earliest {_iso(ts.min())}): epoch milliseconds read as seconds, or a "
                        "default date?")
    future = int((ts > pd.Timestamp(datetime.now(timezone.utc)) + pd.Timedelta(days=1)).sum())
    if future:
        problems.append(f"{future} timestamp{'s are' if future != 1 else ' is'} in the future "
                        f"(latest {_iso(ts.max())}): epoch seconds read as milliseconds?")
    if len(actions) >= 10:
        common = ts.value_counts()
        if common.iloc[0] > len(actions) / 2 and len(common) > 1:
            problems.append(f"{int(common.iloc[0])} of {len(actions)} actions share the timestamp "
                            f"{_iso(common.index[0])}: a default or truncated date?")
    shared = actions["parent_id"].notna().any() or any(
        actions[c].map(len).any() for c in ("urls", "hashtags", "mentions", "media"))
    if not shared and not actions["text"].notna().any():
        problems.append("no parent ids, URLs, hashtags, mentions, media or text: only the timing "
                        "of actions can be compared")
    return problems


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------

def _duration(seconds: float) -> str:
    for size, unit in [(86400, "d"), (3600, "h"), (60, "min")]:
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}".replace(".0 ", " ")
    return f"{seconds:g} s"


def _resolution(seconds: float) -> str:
    name = {86400.0: "whole days", 3600.0: "whole hours", 60.0: "whole minutes",
            1.0: "whole seconds", 0.001: "milliseconds", 1e-06: "microseconds"}.get(seconds)
    return f"{seconds:g} s" + (f" ({name})" if name else "")


def format_report(info: dict[str, Any]) -> str:
    """The result of :func:`inspect_inputs` as text for a terminal.

    Examples
    --------
    >>> info = {"files": [{"path": "x.csv", "format": "generic", "rows": 2, "rejected": 0,
    ...                    "duplicates": 0, "skipped": 0, "error": None,
    ...                    "columns": {"account_id": "user", "timestamp": "time"}}],
    ...         "rows_read": 2, "rows_rejected": 0, "duplicates_dropped": 0, "skipped": 0,
    ...         "actions": 2, "rejects_by_reason": {}, "reject_examples": [],
    ...         "action_types": {"post": 2, "repost": 0, "reply": 0, "quote": 0}, "accounts": 1,
    ...         "time_range": {"first": "2021-01-17T08:00:00Z", "last": "2021-01-17T08:01:00Z"},
    ...         "timestamp_resolution_s": 60.0, "top_accounts": [{"account_id": "u", "actions": 2}],
    ...         "top_objects": {"parent_id": [], "urls": [], "hashtags": []}, "warnings": [],
    ...         "problems": []}
    >>> print(format_report(info))
    1 file: 2 rows read, 2 actions, 0 rejected, 0 duplicates dropped
    <BLANKLINE>
    x.csv
      format      generic
      rows        2 (0 rejected, 0 duplicates, 0 skipped)
      columns     account_id <- user
                  timestamp  <- time
    <BLANKLINE>
    actions       2 by 1 account (post 2, repost 0, reply 0, quote 0)
    time range    2021-01-17T08:00:00Z .. 2021-01-17T08:01:00Z (1 min)
    resolution    60 s (whole minutes)
    <BLANKLINE>
    most active accounts
           2  u
    <BLANKLINE>
    no problems found
    """
    n_files = len(info["files"])
    out = [f"{n_files} file{'s' if n_files != 1 else ''}: {info['rows_read']:,} rows read, "
           f"{info['actions']:,} actions, {info['rows_rejected']:,} rejected, "
           f"{info['duplicates_dropped']:,} duplicates dropped"]
    for f in info["files"]:
        out += ["", f["path"], f"  format      {f['format'] or '?'}"]
        if f["error"]:
            out.append(f"  not read    {f['error']}")
            continue
        out.append(f"  rows        {f['rows']:,} ({f['rejected']:,} rejected, {f['duplicates']:,} "
                   f"duplicates, {f['skipped']:,} skipped)")
        width = max((len(c) for c in f["columns"]), default=0)
        for i, (column, source) in enumerate(f["columns"].items()):
            label = "  columns     " if i == 0 else " " * 14
            out.append(f"{label}{column:<{width}} <- {source}")
    types = ", ".join(f"{t} {n:,}" for t, n in info["action_types"].items())
    out += ["", f"actions       {info['actions']:,} by {info['accounts']:,} account"
                f"{'s' if info['accounts'] != 1 else ''} ({types})"]
    if info["time_range"]:
        first, last = info["time_range"]["first"], info["time_range"]["last"]
        span = (pd.Timestamp(last) - pd.Timestamp(first)).total_seconds()
        out.append(f"time range    {first} .. {last} ({_duration(span)})")
        out.append(f"resolution    {_resolution(info['timestamp_resolution_s'])}")
    if info["top_accounts"]:
        out += ["", "most active accounts"]
        out += [f"  {a['actions']:>6,}  {a['account_id']}" for a in info["top_accounts"]]
    for column, items in info["top_objects"].items():
        if items:
            out += ["", f"most shared {column} (actions / accounts)"]
            out += [f"  {o['actions']:>6,} / {o['accounts']:<6,} {o['object']}" for o in items]
    out.append("")
    if info["problems"]:
        out.append(f"problems ({len(info['problems'])})")
        out += [f"  - {p}" for p in info["problems"]]
    else:
        out.append("no problems found")
    return "\n".join(out)


def inspect_command_text(paths: str | os.PathLike | Iterable[str | os.PathLike],
                         format: str = "auto", mapping: str | dict[str, str] | None = None,
                         window: object = None, as_json: bool = False) -> str:
    """What ``cib inspect`` prints: :func:`format_report` (or JSON) of :func:`inspect_inputs`.

    ``window`` (a duration: ``60``, ``"90s"``, ``"5m"``) adds a problem when the timestamps
    are too coarse for it (:func:`cib.io.resolution_warning`).
    """
    info = inspect_inputs(paths, format=format, mapping=mapping)
    if window is not None:
        window_s = parse_duration(window, "window", "inspect")
        stats = {"timestamp_resolution_s": info["timestamp_resolution_s"],
                 "rows_read": info["actions"], "rows_rejected": 0, "duplicates_dropped": 0}
        warning = resolution_warning(stats, window_s)
        if warning:
            info["problems"].append(warning)
    if as_json:
        return json.dumps(info, indent=2, ensure_ascii=False)
    return format_report(info)
