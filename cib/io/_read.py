"""Read input files into the ACTIONS table (DESIGN section 2), with REJECTS and statistics."""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._memory import release_memory as _release
from ..errors import InputError, ParameterError
from ..params import check_choice, parse_mapping
from ..schema import (ACTION_COLUMNS, ACTION_TYPES, LIST_COLUMNS, REJECT_COLUMNS, UTC_NS,
                      empty_actions, empty_rejects)
from ._formats import (_REGISTRY, FORMATS, Format, RecordContext, detect_columns, detect_records,
                       get_format)
from ._progress import Progress, resolve
from ._readers import Restart, Source, open_source, split_name
from ._values import (NAT, EpochScale, clean_str, display_values, parse_action_types, parse_lists,
                      parse_timestamps, timestamp_resolution, timestamps_out_of_range)

__all__ = ["read_actions", "expand_paths", "resolution_warning", "timestamp_summary",
           "combine_summaries"]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike
_CALLER = "read_actions"
_STR_COLUMNS = ["action_id", "account_id", "parent_id", "text", "platform"]
_POST = ACTION_TYPES.index("post")
_MAP_EXAMPLE = "--map account_id=user,timestamp=created_at"
# Fewer timestamps than this say nothing about their resolution (3 random ones fall on whole
# minutes with probability 1 in 216,000).
_MIN_FOR_RESOLUTION = 3
# resolution_warning: the window should span at least this many resolution steps.
_STEPS_PER_WINDOW = 10
#: Actions of a record format (nested JSON) normalised at a time.
RECORD_CHUNK = 1 << 17
#: How often one file may be read again (each reason for another pass happens once or twice).
_MAX_PASSES = 8


@dataclass
class _Part:
    """What one file contributes: valid rows (internal dtypes, chunk by chunk), rejects, and
    counts."""

    good: list[pd.DataFrame]
    rejects: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------

def read_actions(
    paths: PathLike | Iterable[PathLike],
    format: str = "auto",
    mapping: str | dict[str, str] | None = None,
    on_error: str = "skip",
    progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Read one or more input files into an ACTIONS table.

    Columns are found by name, never by position; extra columns are ignored. Every cell is
    read as text, so ids such as ``007`` or ``1e+18`` survive as written; empty cells are
    missing; surrounding white space is stripped from everything but ``text``.

    Parameters
    ----------
    paths : str, path, or list of them
        Files to read, in order. Glob patterns (``data/*.csv``, ``data/**/*.jsonl``) are
        expanded and sorted. Containers by extension: ``.csv``; ``.tsv``/``.tab``;
        ``.parquet``/``.pq``; ``.jsonl``/``.ndjson``/``.json`` (one object per line, or one
        JSON array); anything else is recognised by its content. Compression by a further
        extension: ``.gz``, ``.bz2``, ``.zst``. The delimiter of a ``.csv`` file is the most
        frequent of ``,`` TAB ``;`` ``|`` in its header line.
    format : str, default "auto"
        One of :data:`FORMATS` or ``"auto"`` (each file on its own, see
        :func:`detect_format`).
    mapping : dict or str, optional
        Input column names of cib's columns: ``{"account_id": "user"}`` or
        ``"account_id=user,timestamp=created_at"`` (the CLI's ``--map``). Applied before the
        format's column check.
    on_error : {"skip", "fail"}, default "skip"
        ``"skip"`` puts bad rows into REJECTS; ``"fail"`` raises :class:`InputError` for the
        first bad row (in file order, then row order). Problems with a whole file (missing
        columns, unreadable or malformed file) always raise.
    progress : bool, optional
        Show a progress bar on stderr (bytes of the files read, rows so far). None (the
        default): when stderr is a terminal (see also ``cib.io._progress.progress_default``).

    Returns
    -------
    actions : pandas.DataFrame
        ACTIONS (:data:`cib.schema.ACTION_COLUMNS`): ``action_id``, ``account_id``,
        ``parent_id``, ``text``, ``platform`` (object: str or None), ``timestamp``
        (datetime64[ns, UTC]), ``action_type`` (category: post, repost, reply, quote),
        ``urls``, ``hashtags``, ``mentions``, ``media`` (a list of str per row). Sorted by
        (timestamp, account_id, action_id), with a fresh RangeIndex, so the order of the
        input rows does not matter.
    rejects : pandas.DataFrame
        REJECTS (:data:`cib.schema.REJECT_COLUMNS`): ``source`` (the path as given), ``row``
        (1-based; the CSV header is row 1, JSON lines count lines, a JSON array counts its
        elements, a JSON document such as Telegram's ``result.json`` gives the line where the
        message starts, Parquet counts records from 1), ``column`` (the input column or JSON
        field, as named in the file: ``created_at`` for ``--map timestamp=created_at``,
        ``tweet_time`` in the twitter-io format), ``value`` (raw, at most 200 characters),
        ``reason``; in file and row order. One row per rejected action, giving its first
        problem (a twarc2 page holds many tweets: they share the page's line).
    stats : dict
        ``files`` (per file: ``path``, ``sha256`` of the file as stored, ``format``, ``rows``
        (actions read), ``rejected``, ``duplicates``, ``skipped`` (JSON records that are not
        actions: likes, deletions, service messages, ...), ``columns`` (cib column -> where it
        was read from, in words), ``timestamp_resolution_s`` (of the file's valid rows)),
        ``rows_read``, ``rows_rejected``, ``duplicates_dropped``,
        ``timestamp_resolution_s`` (the coarsest of 86400, 3600, 60, 1, 0.1, ... seconds that
        every timestamp is a multiple of; 1.0 when there are none), ``format`` (the formats
        used, comma-separated) and ``warnings`` (a list of sentences: skipped records, time
        zones assumed, timestamps with a resolution of a minute or coarser; see also
        :func:`resolution_warning`). ``len(actions) == rows_read - rows_rejected -
        duplicates_dropped``.

    Raises
    ------
    InputError
        A file is missing, a directory, unreadable, not UTF-8, malformed, or lacks required
        columns (all of them are listed at once), or a mapped column is not in the file; with
        ``on_error="fail"``, also for the first bad row.
    ParameterError
        ``format``, ``on_error`` or ``mapping`` is not valid.

    Notes
    -----
    :data:`FORMATS` lists the formats (``cib formats``); the module of each documents its
    mapping (``cib.io._twitter``, ``_meta``, ``_telegram``, ``_bluesky``, ``_mastodon``), and
    ``stats["files"][i]["columns"]`` (``cib inspect``) shows it for a file. With ``"auto"``, a
    JSON file whose first objects are in a nested-JSON format (twarc2, twitter-v1, telegram,
    bluesky, mastodon) is read in that format; any other file by its column names (the first
    specific format whose required columns are present, else generic).

    The generic format reads the columns named like ACTIONS; only ``account_id`` and
    ``timestamp`` are required.

    - ``action_id``: when absent or empty, ``"{file stem}:{row}"`` (the stem is the file name
      without extensions, or the path without them when two inputs share a name).
    - ``timestamp``: epoch seconds or milliseconds (milliseconds when the file's median
      magnitude is above 1e11), ISO 8601 with or without a zone (none means UTC), or
      Twitter's ``Wed Oct 10 20:19:24 +0000 2018``.
    - ``action_type``: post, repost, reply, quote in any case; also retweet/rt/retweeted ->
      repost, tweet -> post, comment/replied_to -> reply, quoted -> quote. When absent or
      empty: repost if the row has a ``parent_id``, else post.
    - list columns: a JSON list, or text split on white space, ``,``, ``|``, ``;`` (in
      ``urls`` a ``,``/``;`` splits only before white space or another URL). One leading
      ``#`` (hashtags) or ``@`` (mentions) is removed from each item.

    Rows are rejected (reason in quotes) for: a missing ``account_id`` ("missing
    account_id"); a control character (NUL, ESC, a line break, ...) in ``account_id``,
    ``action_id`` or ``parent_id`` ("control character in account_id", ...); a missing or
    unparsable ``timestamp`` ("missing timestamp", "unparsable timestamp"; a number or date
    beyond the years 1678-2261: "timestamp out of range (years 1678-2261)"); an
    ``action_type`` not in the list above ("unknown action_type"); a repost, reply or quote
    without ``parent_id`` ("repost without parent_id", ...); and an ``action_id`` seen before
    with different content ("duplicate action_id with different content"; the first in input
    order is kept). A row equal to an earlier one in every ACTIONS column is dropped and
    counted in ``duplicates_dropped``.

    A whole file is refused (:class:`InputError` naming it, and the row and column where they
    apply) when it is not a regular file, cannot be read or decompressed (truncated ``.gz``),
    is not UTF-8 (the first undecodable cell is named), has a header with NUL bytes (UTF-16),
    has a row with more or fewer cells than the header, or has a quoted CSV value that is never
    closed (it would swallow every later row). CSV rows are numbered as a spreadsheet shows
    them: blank lines count. In JSON, a ``\\uD83D`` escape without its partner (half an emoji)
    becomes U+FFFD, with a warning.

    Files are read in chunks (about 8 MiB of CSV or JSON lines at a time, 262,144 Parquet
    records), decompressed as they are read, and each chunk is checked and converted before the
    next one is read, so memory holds the converted rows but never the text of a whole file;
    duplicates are found across chunks and files. The result is the same as reading each file
    at once. A JSON array or document, and a compressed Parquet file, are read whole.

    Examples
    --------
    >>> import tempfile, shutil
    >>> from pathlib import Path
    >>> d = tempfile.mkdtemp()
    >>> path = Path(d) / "posts.csv"
    >>> _ = path.write_text(
    ...     "user,time,parent_id,hashtags\\n"
    ...     "007,2021-01-17T10:00:00+03:00,,#a #b\\n"
    ...     "008,1610866860,p1,\\n"
    ...     "009,yesterday,,\\n")
    >>> actions, rejects, stats = read_actions(path, mapping="account_id=user,timestamp=time")
    >>> actions[["action_id", "account_id", "timestamp", "action_type", "hashtags"]]
      action_id account_id                 timestamp action_type hashtags
    0   posts:2        007 2021-01-17 07:00:00+00:00        post   [a, b]
    1   posts:3        008 2021-01-17 07:01:00+00:00      repost       []
    >>> rejects[["row", "column", "value", "reason"]]
       row column      value                reason
    0    4   time  yesterday  unparsable timestamp
    >>> stats["rows_read"], stats["rows_rejected"], stats["timestamp_resolution_s"]
    (3, 1, 60.0)
    >>> shutil.rmtree(d)
    """
    fmt_name = check_choice(format, ["auto", *FORMATS], "format", _CALLER)
    on_error = check_choice(on_error, ["skip", "fail"], "on_error", _CALLER)
    mapping_dict = parse_mapping(mapping, caller=_CALLER)
    _check_mapping_keys(mapping_dict, fmt_name, mapping)
    files = _expand(paths)
    stems = _stems([display for _, display in files])
    sizes = [_size(path) for path, _ in files]
    bar = Progress(sum(sizes), resolve(progress))
    try:
        return _read_all(files, stems, sizes, fmt_name, mapping_dict, on_error, bar)
    finally:
        bar.close()


def _merge_rejects(frames: list[pd.DataFrame], dup_rejects: pd.DataFrame,
                   exact_dups: np.ndarray, stats: list[dict],
                   on_error: str) -> tuple[pd.DataFrame, list[dict]]:
    """The rejects of every file (and of deduplication) in file and row order, and each file's
    stats with its ``rejected`` and ``duplicates`` counts; with ``on_error="fail"``, the first
    reject raises :class:`~cib.errors.InputError` naming its file, row and column."""
    rejects = pd.concat([*frames, dup_rejects], ignore_index=True)
    rejects = rejects.sort_values(["_file", "row"], kind="stable", ignore_index=True)
    if on_error == "fail" and len(rejects):
        first = rejects.iloc[0]
        message = first["reason"] + (f": {first['value']!r}" if first["value"] else "")
        raise InputError(message, file=first["source"], row=int(first["row"]),
                         column=first["column"])
    rej_per_file = np.bincount(rejects["_file"].to_numpy(dtype=np.int64), minlength=len(stats))
    dup_per_file = np.bincount(exact_dups, minlength=len(stats))
    file_stats = [dict(st, rejected=int(rej_per_file[i]), duplicates=int(dup_per_file[i]))
                  for i, st in enumerate(stats)]
    return rejects, file_stats


def _read_all(files: list[tuple[Path, str]], stems: dict[str, str], sizes: list[int],
              fmt_name: str, mapping_dict: dict[str, str], on_error: str, bar: Progress
              ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    parts: list[_Part] = []
    offset = 0
    for index, (path, display) in enumerate(files):
        bar.start_file(display, offset)
        part = _read_file(path, display, index, stems[display], fmt_name, mapping_dict, bar)
        offset += sizes[index]
        parts.append(part)
        _release()
        log.info("%s: %d rows (%s), %d rejected", display, part.stats["rows"],
                 part.stats["format"], len(part.rejects))
        if on_error == "fail" and len(part.rejects):
            break  # the first bad row is in this file or (a duplicate) an earlier one

    bar.phase("sorting")
    good = _concat_good([g for p in parts for g in p.good])
    for p in parts:
        p.good = []  # the concatenation holds the rows now
    _release()
    drop, dup_rejects, exact_dups = _deduplicate(good, [d for _, d in files])
    _release()
    rejects, file_stats = _merge_rejects([p.rejects for p in parts], dup_rejects, exact_dups,
                                         [p.stats for p in parts], on_error)
    rejects = _finish_rejects(rejects)
    if drop is None and len(good):  # nothing dropped: units nest, so the finest file's
        resolution = min(s["timestamp_resolution_s"] for s in file_stats if s["rows"] > s["rejected"])
    else:
        ts = good["timestamp"].to_numpy(dtype=np.int64)
        resolution = timestamp_resolution(ts if drop is None else ts[~drop])
    actions = _finish(good, drop)
    del good
    warnings = [w for s in file_stats for w in s.pop("warnings", [])]
    stats = {
        "files": file_stats,
        "rows_read": int(sum(s["rows"] for s in file_stats)),
        "rows_rejected": int(len(rejects)),
        "duplicates_dropped": int(len(exact_dups)),
        "timestamp_resolution_s": resolution,
        "format": ",".join(dict.fromkeys(s["format"] for s in file_stats)),
        "warnings": warnings,
    }
    for w in warnings:
        log.info("%s", w)
    return actions, rejects, stats


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # reported when the file is opened
        return 0


def timestamp_summary(actions: pd.DataFrame, now: pd.Timestamp | None = None) -> dict[str, Any]:
    """Rows of ``actions``, their earliest and latest ``timestamp``, and how many are before
    2000 or more than a day after ``now`` (default: the present).

    Examples
    --------
    >>> t = pd.to_datetime(["1970-01-02", "2024-05-01"], utc=True)
    >>> s = timestamp_summary(pd.DataFrame({"timestamp": t}))
    >>> s["n"], s["early"], s["future"], str(s["min"].date())
    (2, 1, 0, '1970-01-02')
    """
    ts = actions["timestamp"]
    now = pd.Timestamp.now(tz="UTC") if now is None else now
    if not len(ts):
        return {"n": 0, "early": 0, "future": 0, "min": None, "max": None}
    return {"n": len(ts), "early": int((ts < pd.Timestamp("2000-01-01", tz="UTC")).sum()),
            "future": int((ts > now + pd.Timedelta(days=1)).sum()),
            "min": ts.min(), "max": ts.max()}


def combine_summaries(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One :func:`timestamp_summary` of the partitions' summaries."""
    have = [p for p in parts if p["n"]]
    return {"n": sum(p["n"] for p in parts), "early": sum(p["early"] for p in parts),
            "future": sum(p["future"] for p in parts),
            "min": min((p["min"] for p in have), default=None),
            "max": max((p["max"] for p in have), default=None)}


def resolution_warning(stats: dict[str, Any], window_s: float) -> str | None:
    """A warning when the timestamps are too coarse for a co-action window, else None.

    Timestamps rounded to ``r`` seconds make every delay uncertain by up to ``r``: pairs up to
    ``window + r`` apart can count as co-actions and pairs within the window can be missed.
    The warning is given when the window is shorter than ten resolution steps of the coarsest
    file (``stats["files"][i]["timestamp_resolution_s"]``, or the overall
    ``stats["timestamp_resolution_s"]``, as :func:`read_actions` reports them), and names the
    files when there are several.

    Parameters
    ----------
    stats : dict
        The statistics returned by :func:`read_actions`.
    window_s : float
        The co-action window in seconds.

    Examples
    --------
    >>> resolution_warning({"timestamp_resolution_s": 60.0, "rows_read": 5}, 60)
    'timestamps have 60 s (whole minutes) resolution but the window is 60 s: delays are only known to within 60 s, so pairs up to 120 s apart can count as co-actions and some within the window are missed; use a window of at least 600 s (10 min), or read delays as approximate'
    >>> resolution_warning({"timestamp_resolution_s": 1.0, "rows_read": 5}, 60) is None
    True
    """
    window_s = float(window_s)
    files = [f for f in stats.get("files", []) if "timestamp_resolution_s" in f
             and f.get("rows", 0) - f.get("rejected", 0) >= _MIN_FOR_RESOLUTION]
    if files:
        resolution = max(f["timestamp_resolution_s"] for f in files)
        coarse = [f["path"] for f in files if f["timestamp_resolution_s"] == resolution]
        where = f" ({', '.join(coarse)})" if len(files) > 1 else ""
    else:
        n = stats.get("rows_read", 0) - stats.get("rows_rejected", 0) \
            - stats.get("duplicates_dropped", 0)
        resolution = stats.get("timestamp_resolution_s") if n >= _MIN_FOR_RESOLUTION else None
        where = ""
    if not resolution or window_s >= _STEPS_PER_WINDOW * resolution:
        return None
    least = _STEPS_PER_WINDOW * resolution
    return (f"timestamps{where} have {_duration(resolution)} resolution but the window is "
            f"{window_s:g} s: delays are only known to within {resolution:g} s, so pairs up to "
            f"{window_s + resolution:g} s apart can count as co-actions and some within the "
            f"window are missed; use a window of at least {least:g} s"
            f"{_in_units(least)}, or read delays as approximate")


def _duration(seconds: float) -> str:
    """``60 s (whole minutes)`` and the like."""
    unit = {86400.0: "whole days", 3600.0: "whole hours", 60.0: "whole minutes",
            1.0: "whole seconds"}.get(float(seconds))
    return f"{seconds:g} s" + (f" ({unit})" if unit else "")


def _in_units(seconds: float) -> str:
    for size, name in [(86400, "d"), (3600, "h"), (60, "min")]:
        if seconds >= size and seconds % size == 0:
            return f" ({seconds / size:g} {name})"
    return ""


def expand_paths(paths: PathLike | Iterable[PathLike]) -> list[str]:
    """The input files that :func:`read_actions` would read, in order (glob patterns expanded
    and sorted), as given.

    Raises
    ------
    InputError
        No paths, or a pattern that matches no file.
    ParameterError
        ``paths`` is not a path, a pattern or a list of them.
    """
    return [display for _, display in _expand(paths)]


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------

def _check_mapping_keys(mapping: dict[str, str], fmt_name: str, given: object) -> None:
    formats = list(_REGISTRY.values()) if fmt_name == "auto" else [get_format(fmt_name)]
    if mapping and fmt_name != "auto" and formats[0].records:
        raise ParameterError("map", _CALLER, f"empty for the {fmt_name} format (it reads nested "
                             "JSON fields, which cannot be renamed)", given)
    known = list(dict.fromkeys(c for f in formats for c in f.columns))
    bad = [k for k in mapping if k not in known]
    if bad:
        raise ParameterError("map", _CALLER,
                             "a list of CIB_COLUMN=INPUT_COLUMN pairs with CIB_COLUMN one of "
                             + ", ".join(known), given)


def _expand(paths: Any) -> list[tuple[Path, str]]:
    """(path, path as given) for every input file; glob patterns expanded and sorted."""
    if isinstance(paths, (str, os.PathLike)):
        items = [paths]
    else:
        try:
            items = list(paths)
        except TypeError:
            raise ParameterError("paths", _CALLER, "a path, a glob pattern, or a list of them",
                                 paths) from None
    if not items:
        raise InputError("no input files given")
    out: list[tuple[Path, str]] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise ParameterError("paths", _CALLER, "a path, a glob pattern, or a list of them",
                                 item)
        text = os.fspath(item)
        if re.search(r"[*?\[]", text) and not os.path.exists(text):
            matches = [m for m in sorted(glob.glob(text, recursive=True)) if not os.path.isdir(m)]
            if not matches:
                raise InputError(f"no files match the pattern {text!r}")
            out.extend((Path(m), m) for m in matches)
        else:
            out.append((Path(text), text))
    return out


def _stems(displays: list[str]) -> dict[str, str]:
    """The prefix of generated action ids per file: its name without extensions, or its path
    without extensions when two different inputs share that name."""
    stems = {d: split_name(d)[0] for d in displays}
    owners: dict[str, set[str]] = {}
    for d, s in stems.items():
        owners.setdefault(s, set()).add(os.path.normpath(d))
    return {d: (s if len(owners[s]) == 1 else str(Path(d).with_name(s)).replace(os.sep, "/"))
            for d, s in stems.items()}


def _sha256(path: Path, display: str) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as exc:
        raise InputError(f"cannot be read: {exc}", file=display) from None


# ---------------------------------------------------------------------------------------------
# One file
# ---------------------------------------------------------------------------------------------

def _read_file(path: Path, display: str, index: int, stem: str, fmt_name: str,
               mapping: dict[str, str], bar: Progress) -> _Part:
    source = open_source(path, display)
    sha = _sha256(path, display)
    fmt = None if fmt_name == "auto" else get_format(fmt_name)
    stats: dict[str, Any] = {"path": display, "sha256": sha, "format": "generic", "rows": 0,
                             "rejected": 0, "duplicates": 0, "skipped": 0, "columns": {},
                             "warnings": []}
    if source.container == "jsonl" and (fmt is None or fmt.records):
        if fmt is None:
            name = detect_records(source.head_records())
            fmt = None if name is None else get_format(name)
        if fmt is not None:
            if mapping:
                raise InputError(f"--map (mapping=) renames flat columns; the {fmt.name} format "
                                 "reads nested JSON fields, which cannot be renamed", file=display)
            return _note_replacements(source, _read_records(source, fmt, display, index, stem,
                                                            stats, bar))
    elif fmt is not None and fmt.records:
        raise InputError(f"the {fmt.name} format reads JSON (one object per line, an array, or one "
                         f"document), but this file is read as {source.container.upper()} "
                         "(by its extension or content)", file=display)
    return _note_replacements(source, _read_columns(source, fmt, display, index, stem, mapping,
                                                    stats, bar))


def _note_replacements(source: Source, part: _Part) -> _Part:
    """Warn when invalid characters of the file were replaced while reading it."""
    n = getattr(source, "replaced_surrogates", 0)
    if n:
        part.stats.setdefault("warnings", []).append(
            f"{source.display}: {n} unpaired UTF-16 surrogate escape{'s' if n != 1 else ''} "
            "(such as \\ud83d, half an emoji) replaced by U+FFFD")
    return part


@dataclass(frozen=True)
class _Plan:
    """How a flat file is read: its format, the input columns used, and where they go."""

    fmt: Format
    used: tuple[str, ...]  # the format's input names that the file has
    view: dict[str, str]  # format input name -> the file's column (for ``used``)
    raw_columns: list[str]
    exact: frozenset[str]
    columns: dict[str, str]  # stats["columns"]
    reject_names: dict[str, str]


def _plan(names: list[str], fmt: Format | None, mapping: dict[str, str], source: Source,
          display: str) -> _Plan:
    """The :class:`_Plan` for a file with these column names (InputError when it cannot be read
    in ``fmt``, or in any format when it is None)."""
    absent = [v for v in dict.fromkeys(mapping.values()) if v not in names]
    if absent:
        raise InputError(f"the mapping names columns that are not in the file: {', '.join(absent)} "
                         f"(the file has: {_list_names(names)})", file=display)
    view = {n: n for n in names if n not in mapping.values()}
    view.update(mapping)
    if fmt is None:
        fmt = get_format(detect_columns(view))
    missing = fmt.missing(view)
    if missing:
        raise InputError(
            f"missing required columns for the {fmt.name} format: {missing} "
            f"(the file has: {_list_names(names)}). Name the input columns with --map "
            f"(mapping=), e.g. {_MAP_EXAMPLE}", file=display)
    used = [c for c in fmt.columns if c in view]
    dup = sorted({view[c] for c in used} & source.duplicates)
    if dup:
        raise InputError(f"these columns appear more than once in the header: {', '.join(dup)}",
                         file=display)
    return _Plan(fmt, tuple(used), {c: view[c] for c in used},
                 list(dict.fromkeys(view[c] for c in used)),
                 frozenset(view[c] for c in used if c in fmt.exact), fmt.mapping(view),
                 fmt.reject_names(view))


def _read_columns(source: Source, fmt: Format | None, display: str, index: int, stem: str,
                  mapping: dict[str, str], stats: dict[str, Any], bar: Progress) -> _Part:
    """A flat file (CSV, TSV, Parquet, flat JSON) in a column format (None: detect it)."""
    names, complete = source.names_hint()
    if fmt is not None:
        stats["format"] = fmt.name
    if not names and complete:  # an empty file
        return _finish_part(_Chunks(source, display, stem, index, {}, None, bar), stats, display)
    try:
        plan = _plan(names, fmt, mapping, source, display)
    except InputError:
        if complete:
            raise
        names, complete = source.names(), True  # the names that decide are maybe further on
        plan = _plan(names, fmt, mapping, source, display)
    stats["format"] = plan.fmt.name
    unit = None
    for _ in range(_MAX_PASSES):
        chunks = _Chunks(source, display, stem, index, plan.reject_names, unit, bar)
        try:
            for frame, rows in source.chunks(plan.raw_columns, plan.exact):
                raw = pd.DataFrame({c: frame[plan.view[c]] for c in plan.used}, index=frame.index)
                del frame
                chunks.add(plan.fmt.convert(raw), rows)
        except Restart:
            chunks.drop()
            continue
        if not complete:  # the whole file has been read: are there more columns than first seen?
            names, complete = source.names(), True
            again = _plan(names, fmt, mapping, source, display)
            if again != plan:
                plan = again
                chunks.drop()
                continue
        unit = chunks.wrong_unit()
        if unit is not None:  # epoch numbers in the other unit than the first ones suggested
            chunks.drop()
            continue
        break
    else:  # pragma: no cover - each reason for another pass happens once
        raise AssertionError(f"{display}: read too many times")
    stats["format"] = plan.fmt.name
    stats["rows"] = chunks.rows
    stats["columns"] = plan.columns
    stats["warnings"] = [f"{display}: {w}" for w in chunks.warnings()]
    return _finish_part(chunks, stats, display)


def _read_records(source: Any, fmt: Format, display: str, index: int, stem: str,
                  stats: dict[str, Any], bar: Progress) -> _Part:
    """A JSON file in a record format: one row per action that the format's converter yields,
    normalised in chunks of about :data:`RECORD_CHUNK` actions (whole records)."""
    stats["format"] = fmt.name
    stats["columns"] = fmt.mapping()
    unit = None
    for _ in range(_MAX_PASSES):
        chunks = _Chunks(source, display, stem, index, fmt.reject_names(), unit, bar)
        values: dict[str, list[Any]] = {c: [] for c in ACTION_COLUMNS}
        rows: list[int] = []
        ctx = RecordContext(source.lines)
        for row, record in source.records():
            if not isinstance(record, dict):
                raise InputError(f"expected a JSON object, got {_json_type(record)}", file=display,
                                 row=row)
            ctx.row = row
            ctx.lines = source.lines  # filled once a document has been decoded
            for item in fmt.convert(record, ctx):
                rows.append(item.get("_row", row))
                for c, column in values.items():
                    column.append(item.get(c))
            if len(rows) >= RECORD_CHUNK:  # the actions of one record stay in one chunk
                chunks.add(_canonical(values, len(rows)), np.asarray(rows, dtype=np.int64))
                values = {c: [] for c in ACTION_COLUMNS}
                rows = []
        chunks.add(_canonical(values, len(rows)), np.asarray(rows, dtype=np.int64))
        unit = chunks.wrong_unit()
        if unit is None:
            break
        chunks.drop()
    else:  # pragma: no cover - each reason for another pass happens once
        raise AssertionError(f"{display}: read too many times")
    stats["rows"] = chunks.rows
    stats["skipped"] = int(sum(ctx.skipped.values()))
    warnings = list(ctx.warnings)
    if ctx.skipped:
        what = ", ".join(f"{r}: {k}" for r, k in sorted(ctx.skipped.items(), key=lambda x: -x[1]))
        skipped = stats["skipped"]
        warnings.append(f"skipped {skipped} record{'s' if skipped != 1 else ''} that "
                        f"{'are' if skipped != 1 else 'is'} not a post, repost, reply or quote "
                        f"({what})")
    stats["warnings"] = [f"{display}: {w}" for w in warnings]
    return _finish_part(chunks, stats, display)


def _canonical(values: dict[str, list[Any]], n: int) -> pd.DataFrame:
    """The canonical columns of record-format actions (those with any value)."""
    return pd.DataFrame({
        c: (pd.Series(v, dtype=object) if c in LIST_COLUMNS else pd.Series(v, dtype="str"))
        for c, v in values.items() if any(x is not None for x in v)
    }, index=pd.RangeIndex(n))


_COUNTED = re.compile(r"(\d+) (.*)", re.DOTALL)


class _Chunks:
    """The valid rows (internal dtypes) and rejects of one file, added chunk by chunk.

    The seconds-or-milliseconds decision for epoch numbers belongs to the whole file (the
    median of all of them): the first chunk with numbers decides it for the rest of the pass,
    :meth:`wrong_unit` says when the whole file decides otherwise (read it again then).
    """

    def __init__(self, source: Source, display: str, stem: str, index: int,
                 names: dict[str, str], unit: str | None, bar: Progress) -> None:
        self.source, self.display, self.stem, self.index = source, display, stem, index
        self.names = names
        self.unit = unit
        self.bar = bar
        self.good: list[pd.DataFrame] = []
        self.rejects: list[pd.DataFrame] = []
        self.rows = 0
        self.n_good = 0
        self.resolution: float | None = None
        self.scale = EpochScale()
        self._warnings: dict[str, int | None] = {}

    def add(self, canonical: pd.DataFrame, rows: np.ndarray) -> None:
        scale = EpochScale()
        good, rejects = _normalise(canonical, rows, self.display, self.stem, self.index,
                                   self.names, unit=self.unit, scale=scale)
        if self.unit is None and scale.count:
            self.unit = scale.unit()  # what this chunk's own median said
        self.scale.merge(scale)
        self.rows += len(rows)
        good["_hash"] = _id_hashes(good)
        if len(good):
            # Resolutions nest (a day is whole hours, ...): the file's is the finest chunk's.
            r = timestamp_resolution(good["timestamp"].to_numpy(dtype=np.int64))
            self.resolution = r if self.resolution is None else min(self.resolution, r)
            self.n_good += len(good)
            self.good.append(good)
        if len(rejects):
            self.rejects.append(rejects)
        for w in canonical.attrs.get("warnings", []):
            m = _COUNTED.fullmatch(w)  # "12 values have ...": add the counts of the chunks
            if m:
                key = m.group(2)
                self._warnings[key] = (self._warnings.get(key) or 0) + int(m.group(1))
            else:
                self._warnings.setdefault(w, None)
        self.bar.update(self.source.position(), len(rows))
        _release()  # the chunk's temporary memory

    def warnings(self) -> list[str]:
        """The format's warnings about the file (counts added up)."""
        return [w if n is None else f"{n} {w}" for w, n in self._warnings.items()]

    def wrong_unit(self) -> str | None:
        """The unit of the file's epoch numbers when this pass used the other one, else None."""
        unit = self.scale.unit()
        return unit if unit is not None and unit != self.unit else None

    def drop(self) -> None:
        """Forget this pass (the file is read again)."""
        self.bar.restart_file(self.rows)
        self.good, self.rejects = [], []


def _id_hashes(good: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of every row's identity (duplicates are found by sorting these): its
    action_id, or, where the id was generated from the row number (the input has none), its
    content, so that identical rows without ids are still found."""
    out = pd.util.hash_array(good["action_id"].to_numpy(dtype=object, na_value=None),
                             categorize=False)
    gen = good["_gen"].to_numpy(dtype=bool) if "_gen" in good.columns else None
    if gen is not None and gen.any():
        sub = good.loc[gen]
        h = np.zeros(int(gen.sum()), dtype=np.uint64)
        for c in [c for c in _STR_COLUMNS if c != "action_id"] + ["timestamp", "action_type"]:
            v = sub[c].to_numpy(dtype=object, na_value=None) if c in _STR_COLUMNS \
                else sub[c].to_numpy()
            h = h * np.uint64(1000003) ^ pd.util.hash_array(np.asarray(v), categorize=False)
        for c in LIST_COLUMNS:
            v = np.array(["\x1f".join(map(str, x)) if x is not None else "" for x in sub[c]],
                         dtype=object)
            h = h * np.uint64(1000003) ^ pd.util.hash_array(v, categorize=False)
        out[gen] = h
    return out


def _finish_part(chunks: _Chunks, stats: dict[str, Any], display: str) -> _Part:
    """Add the file's timestamp resolution (and a warning when it is a minute or coarser)."""
    resolution = 1.0 if chunks.resolution is None else chunks.resolution
    stats["timestamp_resolution_s"] = resolution
    if resolution >= 60 and chunks.n_good >= _MIN_FOR_RESOLUTION:
        least = _STEPS_PER_WINDOW * resolution
        stats["warnings"].append(
            f"{display}: timestamps have {_duration(resolution)} resolution: delays shorter "
            f"than that cannot be measured; use a window of {least:g} s{_in_units(least)} or more")
    rejects = pd.concat(chunks.rejects, ignore_index=True) if chunks.rejects else _empty_rejects()
    return _Part(chunks.good, rejects, stats)


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def _list_names(names: list[str], limit: int = 30, width: int = 60) -> str:
    shown = ", ".join(n if len(n) <= width else n[:width] + "..." for n in names[:limit])
    return shown + (f", ... ({len(names)} columns)" if len(names) > limit else "")


# C0 control characters and DEL: no platform's ids hold them. A NUL in an id is a corrupt or
# UTF-16 file; others would end up in XML (GEXF, GraphML cannot hold them) and on terminals.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _has_control(values: pd.Series) -> np.ndarray:
    """True where a (cleaned) id holds a control character."""
    if not _may_have_control(values):
        return np.zeros(len(values), dtype=bool)
    return values.str.contains(_CONTROL.pattern, regex=True).to_numpy(dtype=bool, na_value=False)


def _may_have_control(values: pd.Series) -> bool:
    """False when no byte of the column's Arrow text is a control character (most columns: no
    need for the regular expression then)."""
    arrow = getattr(values.array, "__arrow_array__", None)
    if arrow is None:
        return True
    data = arrow()
    for chunk in getattr(data, "chunks", [data]):
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return True
        buffer = chunk.buffers()[2]
        if buffer is None:
            continue
        raw = np.frombuffer(buffer, dtype=np.uint8)
        if ((raw < 0x20) | (raw == 0x7F)).any():
            return True
    return False


def _normalise(canonical: pd.DataFrame, rows: np.ndarray, display: str, stem: str,
               index: int, names: dict[str, str] | None = None, unit: str | None = None,
               scale: EpochScale | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse canonical raw columns; split valid rows from rejected ones.

    ``names`` gives the input column (or JSON field) that REJECTS name for a cib column;
    ``unit`` and ``scale`` are passed to :func:`parse_timestamps`.
    """
    names = names or {}
    n = len(rows)

    def get(column: str) -> pd.Series | None:
        return canonical[column] if column in canonical.columns else None

    account = clean_str(get("account_id"), n)
    parent = clean_str(get("parent_id"), n)
    raw_ts = get("timestamp")
    if raw_ts is None:
        ts, ts_missing = np.full(n, NAT, dtype=np.int64), np.ones(n, dtype=bool)
    else:
        ts, ts_missing = parse_timestamps(raw_ts, unit, scale)
    has_parent = parent.notna().to_numpy()
    codes, unknown = parse_action_types(get("action_type"), has_parent)

    action_id = clean_str(get("action_id"), n)
    no_account = account.isna().to_numpy()
    ok = ~no_account
    m_ctl_account = ok & _has_control(account)
    ok = ok & ~m_ctl_account
    m_ts_missing = ok & ts_missing
    m_ts_bad = ok & ~ts_missing & (ts == NAT)
    ok = ok & (ts != NAT)
    m_type = ok & unknown
    ok = ok & ~unknown
    m_parent = ok & (codes != _POST) & ~has_parent
    ok = ok & ~m_parent
    m_ctl_action = ok & _has_control(action_id)
    ok = ok & ~m_ctl_action
    m_ctl_parent = ok & _has_control(parent)
    ok = ok & ~m_ctl_parent

    pieces = []
    for mask, column, reason in [
        (no_account, "account_id", "missing account_id"),
        (m_ctl_account, "account_id", "control character in account_id"),
        (m_ts_missing, "timestamp", "missing timestamp"),
        (m_ts_bad, "timestamp", "unparsable timestamp"),
        (m_type, "action_type", "unknown action_type"),
        (m_parent, "parent_id", None),
        (m_ctl_action, "action_id", "control character in action_id"),
        (m_ctl_parent, "parent_id", "control character in parent_id"),
    ]:
        if not mask.any():
            continue
        raw = get(column)
        values = display_values(None if raw is None else raw[mask], int(mask.sum()))
        if reason and reason.startswith("control character"):
            values = np.array([_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", v)
                               for v in values], dtype=object)
        if reason is None:
            reasons = np.array(ACTION_TYPES, dtype=object)[codes[mask]] + " without parent_id"
        elif reason == "unparsable timestamp":
            far = timestamps_out_of_range(raw[mask])
            reasons = np.where(far, "timestamp out of range (years 1678-2261)",
                               reason).astype(object)
        else:
            reasons = np.full(int(mask.sum()), reason, dtype=object)
        pieces.append(pd.DataFrame({
            "source": np.full(int(mask.sum()), display, dtype=object),
            "row": rows[mask],
            "column": np.full(int(mask.sum()), names.get(column, column), dtype=object),
            "value": values,
            "reason": reasons,
            "_file": np.full(int(mask.sum()), index, dtype=np.int64),
        }))
    rejects = pd.concat(pieces, ignore_index=True) if pieces else _empty_rejects()

    no_id = action_id.isna().to_numpy()
    if no_id.any():
        generated = stem + ":" + pd.Series(rows[no_id]).astype("str")
        action_id = action_id.copy()
        action_id[no_id] = generated.to_numpy()

    keep = np.flatnonzero(ok) if not ok.all() else None

    def take(values: Any) -> Any:
        if keep is None:
            return values.reset_index(drop=True) if isinstance(values, pd.Series) else values
        if isinstance(values, pd.Series):
            return values.iloc[keep].reset_index(drop=True)
        return values[keep]

    def list_column(column: str) -> np.ndarray:
        raw = get(column)
        return parse_lists(None if raw is None else take(raw), column, len(rows) if keep is None
                           else len(keep))

    good = _assemble({
        "action_id": take(action_id),
        "account_id": take(account),
        "timestamp": take(ts),
        "action_type": take(codes),
        "parent_id": take(parent),
        "text": take(clean_str(get("text"), n, strip=False)),
        "platform": take(clean_str(get("platform"), n)),
        **{c: list_column(c) for c in LIST_COLUMNS},
        "_file": np.full(n if keep is None else len(keep), index, dtype=np.int32),
        "_row": take(rows),
        "_gen": take(no_id),
    }, n if keep is None else len(keep))
    return good, rejects


# ---------------------------------------------------------------------------------------------
# All files
# ---------------------------------------------------------------------------------------------

def _concat_good(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The valid rows of all chunks in one frame, built column by column (each column of the
    chunks is freed once it is copied; text columns are Arrow arrays, joined without a copy)."""
    if not frames:
        return _empty_good()
    if len(frames) == 1:
        return frames[0]
    n = sum(len(f) for f in frames)
    columns: dict[str, Any] = {}
    for c in list(frames[0].columns):
        pieces = [f[c] for f in frames]
        if isinstance(pieces[0].dtype, pd.StringDtype):
            columns[c] = pd.concat(pieces, ignore_index=True)
        else:
            columns[c] = np.concatenate([p.to_numpy() for p in pieces])
        del pieces
        for f in frames:
            del f[c]
        _release()
    return _assemble(columns, n)


def _deduplicate(good: pd.DataFrame, displays: list[str]
                 ) -> tuple[np.ndarray | None, pd.DataFrame, np.ndarray]:
    """Find exact duplicates and later rows that reuse an action_id with other content.

    Returns the rows to drop (a mask; None when none), the rejects, and the file index of
    every dropped exact duplicate.
    """
    none = np.zeros(0, dtype=np.int64)
    if len(good) == 0:
        return None, _empty_rejects(), none
    # Rows whose action_id hash occurs more than once: every repeated action_id, and maybe a
    # few others (a hash collision) that the exact comparison below leaves alone. Sorting 8
    # bytes per row needs far less memory than a hash table of the ids.
    hashes = good["_hash"].to_numpy()
    ordered = np.sort(hashes)
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return None, _empty_rejects(), none
    repeated = np.unique(ordered[1:][same])
    del ordered, same
    dup = np.isin(hashes, repeated)
    sub = good.iloc[np.flatnonzero(dup)]
    columns = [sub[c].to_numpy(dtype=object, na_value=None) for c in _STR_COLUMNS]
    columns += [sub["timestamp"].to_numpy(), sub["action_type"].to_numpy()]
    columns += [[tuple(v) for v in sub[c].to_numpy()] for c in LIST_COLUMNS]
    gen = sub["_gen"].to_numpy(dtype=bool) if "_gen" in sub.columns else np.zeros(len(sub), bool)
    first: dict[object, tuple] = {}
    exact = np.zeros(len(sub), dtype=bool)
    conflict = np.zeros(len(sub), dtype=bool)
    for i, key in enumerate(zip(*columns)):
        # rows with a generated id are identified by their content: equal content is an
        # exact duplicate, and there is no conflicting reuse of an id
        kept = first.setdefault(("gen", key[1:]) if gen[i] else key[0], key)
        if gen[i] and kept is not key:
            exact[i] = True
            continue
        if kept is not key:
            if kept == key:
                exact[i] = True
            else:
                conflict[i] = True
    positions = np.flatnonzero(dup)
    drop = np.zeros(len(good), dtype=bool)
    drop[positions[exact | conflict]] = True
    bad = sub[conflict]
    files = bad["_file"].to_numpy(dtype=np.int64)
    rejects = pd.DataFrame({
        "source": np.array([displays[f] for f in files], dtype=object),
        "row": bad["_row"].to_numpy(dtype=np.int64),
        "column": np.full(len(bad), "action_id", dtype=object),
        "value": bad["action_id"].str.slice(0, 200).to_numpy(dtype=object, na_value=""),
        "reason": np.full(len(bad), "duplicate action_id with different content", dtype=object),
        "_file": files,
    })
    exact_files = sub["_file"].to_numpy(dtype=np.int64)[exact]
    return (drop if drop.any() else None), rejects, exact_files


def _arrow(values: pd.Series) -> pa.ChunkedArray | pa.Array:
    """The Arrow data of a text column (no copy for Arrow-backed ``str``)."""
    arr = values.array
    if hasattr(arr, "__arrow_array__"):
        return arr.__arrow_array__()
    return pa.array(values, type=pa.large_string(), from_pandas=True)  # pragma: no cover


def _objects(values: pd.Series, order: np.ndarray, share: bool) -> np.ndarray:
    """A text column as an object array (str or None) in ``order``. With ``share``, equal
    texts are one Python object (an account's id is stored once, not once per action)."""
    if not share:
        return values.to_numpy(dtype=object, na_value=None)[order]
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = np.asarray(uniques, dtype=object)
    table[-1] = None  # code -1: missing
    return table[codes[order]]


def _finish(good: pd.DataFrame, drop: np.ndarray | None = None) -> pd.DataFrame:
    """Sort deterministically and convert to the ACTIONS dtypes, leaving out the ``drop`` rows.
    The columns of ``good`` are used up (deleted one by one, to free their memory)."""
    n = len(good) if drop is None else int(len(good) - drop.sum())
    if n == 0:
        return empty_actions()
    for c in ("_file", "_row", "_gen", "_hash"):
        if c in good.columns:
            del good[c]
    keys = pa.table({"timestamp": good["timestamp"].to_numpy(dtype=np.int64),
                     "account_id": _arrow(good["account_id"]),
                     "action_id": _arrow(good["action_id"])})
    order = pc.sort_indices(keys, sort_keys=[("timestamp", "ascending"), ("account_id", "ascending"),
                                             ("action_id", "ascending")]).to_numpy()
    del keys
    if drop is not None:  # the sort is stable: the kept rows keep their relative order
        order = order[~drop[order]]
    out: dict[str, Any] = {}
    # The columns whose ACTIONS form is no larger than the internal one first, action_id (a new
    # Python string per row) last: the peak is then the result plus action_id's Arrow text.
    for c in ["timestamp", "action_type", *LIST_COLUMNS, "account_id", "parent_id", "platform",
              "text", "action_id"]:
        if c in _STR_COLUMNS:
            out[c] = _objects(good[c], order, share=c != "action_id")
        elif c == "timestamp":
            out[c] = pd.to_datetime(good[c].to_numpy()[order], unit="ns", utc=True)
        elif c == "action_type":
            out[c] = pd.Categorical.from_codes(good[c].to_numpy()[order],
                                               dtype=pd.CategoricalDtype(ACTION_TYPES))
        else:
            out[c] = good[c].to_numpy()[order]
        del good[c]
        _release()
    actions = _assemble({c: out[c] for c in ACTION_COLUMNS}, n)
    assert str(actions["timestamp"].dtype) == UTC_NS
    return actions


def _assemble(columns: dict[str, Any], n: int) -> pd.DataFrame:
    """A DataFrame of these columns (numpy object arrays stay object), one block per column.

    Assigning column by column avoids consolidating object columns into one 2-D block, which
    copies (it is several times slower on ten million rows).
    """
    frame = pd.DataFrame(index=pd.RangeIndex(n))
    for name, values in columns.items():
        if isinstance(values, np.ndarray) and values.dtype == object:
            values = pd.Series(values, dtype=object, index=frame.index, copy=False)
        elif isinstance(values, pd.Series):
            values = values.set_axis(frame.index)
        frame[name] = values
    return frame


def _empty_good() -> pd.DataFrame:
    frame = pd.DataFrame({
        **{c: pd.Series([], dtype="str") for c in _STR_COLUMNS},
        "timestamp": pd.Series([], dtype=np.int64),
        "action_type": pd.Series([], dtype=np.int8),
        **{c: pd.Series([], dtype=object) for c in LIST_COLUMNS},
        "_file": pd.Series([], dtype=np.int32),
        "_row": pd.Series([], dtype=np.int64),
        "_gen": pd.Series([], dtype=bool),
        "_hash": pd.Series([], dtype=np.uint64),
    })
    return frame[["action_id", "account_id", "timestamp", "action_type", "parent_id", "text",
                  "platform", *LIST_COLUMNS, "_file", "_row", "_gen", "_hash"]]


def _empty_rejects() -> pd.DataFrame:
    frame = empty_rejects()
    frame["_file"] = pd.Series([], dtype=np.int64)
    return frame


def _finish_rejects(rejects: pd.DataFrame) -> pd.DataFrame:
    if len(rejects) == 0:
        return empty_rejects()
    out = {c: pd.Series(rejects[c].to_numpy(dtype=object), dtype=object) for c in REJECT_COLUMNS}
    out["row"] = pd.Series(rejects["row"].to_numpy(dtype=np.int64))
    return pd.DataFrame(out)
