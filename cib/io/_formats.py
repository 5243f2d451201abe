"""Input formats: small functions that turn raw input into the canonical columns.

There are two kinds of format.

*Column formats* read flat files (CSV, TSV, Parquet, flat JSON lines) by column name. A column
format is registered with :func:`register`: its name, a one-line description, the input columns
it requires and those it may use, and a function that takes a DataFrame of those raw columns
(text, read by name) and returns a DataFrame whose columns are a subset of
:data:`cib.schema.ACTION_COLUMNS`, still raw text::

    @register("myformat", "what it reads", required=("user", "time"), optional=("url",),
              sources={"account_id": ("user",), "timestamp": ("time",), "urls": ("url",)})
    def _myformat(raw):
        return pd.DataFrame({"account_id": raw["user"], "timestamp": raw["time"], ...})

*Record formats* read nested JSON (one object per line, a JSON array, or one JSON document). A
record format is registered with :func:`register_records`: a ``sniff(record) -> bool`` that
recognises its first objects, and a generator ``convert(record, ctx)`` that yields one dict of
canonical columns (raw values: text, or lists for the list columns) per action in the record,
and calls ``ctx.skip(reason)`` for records that are not actions (likes, deletions, service
messages)::

    @register_records("myjson", "what it reads", sniff=lambda r: "post_id" in r,
                      sources={"action_id": ("post_id",), ...})
    def _myjson(record, ctx):
        yield {"action_id": record["post_id"], "account_id": ..., "timestamp": ...}

Either way, ``sources`` says where each cib column comes from (``cib inspect`` shows it, and
REJECTS name the first source of a column); parsing, validation, rejects and deduplication are
common to all formats (see :func:`cib.io.read_actions`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..schema import ACTION_COLUMNS

__all__ = ["Format", "FORMATS", "RecordContext", "register", "register_records", "get_format",
           "detect_columns", "detect_records", "detect_format", "jget", "jtext", "jlist", "unique",
           "epoch_us_to_iso", "hashtags_in_text"]

Converter = Callable[[pd.DataFrame], pd.DataFrame]
RecordConverter = Callable[[Any, "RecordContext"], Iterator[dict[str, Any]]]

#: Canonical columns that identify things: kept exactly as written.
_ID_COLUMNS = frozenset({"action_id", "account_id", "parent_id"})
#: How many of a JSON file's first objects format detection looks at.
SNIFF_RECORDS = 50


@dataclass(frozen=True)
class Format:
    """An input format.

    Attributes
    ----------
    name, description : str
        As listed by ``cib formats``.
    required, optional : tuple of str
        Input column names that must be present / are used when present (column formats).
    convert : callable
        Column formats: ``convert(raw) -> DataFrame`` with canonical column names (raw text
        values). Record formats: ``convert(record, ctx)`` yielding one dict per action.
    exact : frozenset of str
        Input columns holding ids, whose text must survive exactly.
    sources : dict
        cib column -> the input columns (or JSON fields) it is read from, in order of
        preference; an entry starting with ``=`` is a note on how the value is derived.
    flavours : tuple of tuple of str
        Alternative sets of required columns (a file must have every column of one of them),
        for formats that come in several spellings.
    sniff : callable or None
        Record formats: ``sniff(record) -> bool``, True when a JSON object is in this format.
    """

    name: str
    description: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    convert: Any
    exact: frozenset[str]
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    flavours: tuple[tuple[str, ...], ...] = ()
    sniff: Callable[[Any], bool] | None = None

    @property
    def records(self) -> bool:
        """True for a record format (nested JSON), False for a column format."""
        return self.sniff is not None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column the format reads."""
        extra = [c for f in self.flavours for c in f]
        return tuple(dict.fromkeys(self.required + tuple(extra) + self.optional))

    def matches(self, columns: Iterable[str]) -> bool:
        """True when every required column (of one flavour) is among ``columns``."""
        return self.missing(columns) is None

    def missing(self, columns: Iterable[str]) -> str | None:
        """What the columns lack for this format, in words (None when nothing)."""
        present = set(columns)
        lacking = [c for c in self.required if c not in present]
        if self.flavours:
            gaps = [[c for c in f if c not in present] for f in self.flavours]
            if all(gaps):
                return " or ".join(", ".join(f) for f in self.flavours) + \
                    " (one of these sets)" + (f"; and {', '.join(lacking)}" if lacking else "")
        return ", ".join(lacking) if lacking else None

    def mapping(self, view: Mapping[str, str] | None = None) -> dict[str, str]:
        """cib column -> where it comes from, in words, for a file whose columns are ``view``.

        ``view`` maps the format's input names to the file's column names (after ``--map``);
        None (record formats) shows every source.
        """
        out = {}
        for column, inputs in self.sources.items():
            names = [i for i in inputs if not i.startswith("=")]
            notes = [i[1:] for i in inputs if i.startswith("=")]
            if view is not None:
                names = [view[i] for i in names if i in view]
                if not names and len(notes) < len(inputs):
                    continue  # read from columns that this file does not have
            text = " | ".join(names)
            if notes:
                text = f"{text} ({'; '.join(notes)})" if text else "; ".join(notes)
            out[column] = text
        return out

    def reject_names(self, view: Mapping[str, str] | None = None) -> dict[str, str]:
        """cib column -> the input column (or JSON field) that REJECTS name for it."""
        out = {}
        for column, inputs in self.sources.items():
            names = [i for i in inputs if not i.startswith("=")]
            if view is not None:
                names = [view[i] for i in names if i in view]
            if names:
                out[column] = names[0]
        return out


_REGISTRY: dict[str, Format] = {}

#: Name -> one-line description of every input format (for ``cib formats``).
FORMATS: dict[str, str] = {}


def register(name: str, description: str, required: Iterable[str], optional: Iterable[str] = (),
             exact: Iterable[str] = (), sources: Mapping[str, Iterable[str]] | None = None,
             flavours: Iterable[Iterable[str]] = ()) -> Callable[[Converter], Converter]:
    """Register a converter function as the column format ``name`` (a decorator).

    ``sources`` defaults to each canonical column read from the input column of the same name.
    """

    def decorate(func: Converter) -> Converter:
        req, opt = tuple(required), tuple(optional)
        src = ({c: (c,) for c in req + opt if c in ACTION_COLUMNS} if sources is None
               else {c: tuple(v) for c, v in sources.items()})
        _REGISTRY[name] = Format(name, description, req, opt, func, frozenset(exact), src,
                                 tuple(tuple(f) for f in flavours))
        FORMATS[name] = description
        return func

    return decorate


def register_records(name: str, description: str, sniff: Callable[[Any], bool],
                     sources: Mapping[str, Iterable[str]]) -> Callable[[RecordConverter], RecordConverter]:
    """Register a generator function as the record (nested JSON) format ``name`` (a decorator)."""

    def decorate(func: RecordConverter) -> RecordConverter:
        _REGISTRY[name] = Format(name, description, (), (), func, frozenset(),
                                 {c: tuple(v) for c, v in sources.items()}, (), sniff)
        FORMATS[name] = description
        return func

    return decorate


def get_format(name: str) -> Format:
    """The registered :class:`Format` called ``name`` (KeyError if none)."""
    return _REGISTRY[name]


def detect_columns(columns: Iterable[str]) -> str:
    """Name the format that a file with these column names is in.

    The first registered specific column format whose required columns are all present wins;
    otherwise ``generic``.

    Examples
    --------
    >>> detect_columns(["object_id", "account_id", "content_id", "timestamp_share"])
    'coortweet'
    >>> detect_columns(["tweetid", "userid", "tweet_time", "is_retweet"])
    'twitter-io'
    >>> detect_columns(["account_id", "timestamp", "text"])
    'generic'
    """
    columns = list(columns)
    for fmt in _REGISTRY.values():
        if fmt.name != "generic" and not fmt.records and fmt.matches(columns):
            return fmt.name
    return "generic"


def detect_records(records: Iterable[Any]) -> str | None:
    """Name the record format of a JSON file from its first objects (None: not a record format).

    The first object that some record format recognises decides (objects that none recognises,
    such as a stream's rate-limit notices, are passed over).

    Examples
    --------
    >>> detect_records([{"limit": {"track": 3}}, {"id_str": "1", "user": {"id_str": "2"},
    ...                 "created_at": "Wed Oct 10 20:19:24 +0000 2018", "text": "hi"}])
    'twitter-v1'
    >>> detect_records([{"account_id": "u", "timestamp": 1}]) is None
    True
    """
    for i, record in enumerate(records):
        if i >= SNIFF_RECORDS:
            break
        if not isinstance(record, dict):
            continue
        for fmt in _REGISTRY.values():
            if fmt.sniff is not None and fmt.sniff(record):
                return fmt.name
    return None


def detect_format(path: str | Path) -> str:
    """Name the format of the file at ``path``.

    A JSON file whose first objects are in a record format (twarc2, twitter-v1, telegram,
    bluesky, mastodon) is in that format; otherwise the column names decide: the first
    specific column format whose required columns are present (for example ``coortweet`` when
    the header has ``object_id``, ``account_id``, ``content_id`` and ``timestamp_share``),
    else ``generic``.

    Raises
    ------
    InputError
        If the file does not exist, is a directory, cannot be read, or is malformed JSON.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "x.csv"
    ...     _ = p.write_text("object_id,account_id,content_id,timestamp_share\\n")
    ...     detect_format(p)
    'coortweet'
    """
    from ._readers import open_source

    source = open_source(path)
    if source.container == "jsonl":
        name = detect_records(source.head_records())
        if name is not None:
            return name
    return detect_columns(source.names())


# ---------------------------------------------------------------------------------------------
# Helpers for record converters
# ---------------------------------------------------------------------------------------------

class RecordContext:
    """What a record converter may use while it converts one file.

    Attributes
    ----------
    row : int
        The row of the record being converted (its line in JSON lines; its position in a JSON
        array).
    skipped : collections.Counter
        Reason -> number of records that are not actions.
    warnings : list of str
        Things the user should know about the whole file (each once).
    """

    def __init__(self, lines: Mapping[int, int] | None = None) -> None:
        self.row = 0
        self.skipped: Counter[str] = Counter()
        self.warnings: list[str] = []
        #: id() of an object inside an array of a JSON document -> its start line.
        self.lines: Mapping[int, int] = lines or {}

    def line(self, obj: Any) -> int:
        """The line where ``obj`` (an object inside an array of a JSON document) starts, else
        the record's row."""
        return self.lines.get(id(obj), self.row)

    def skip(self, reason: str) -> None:
        """Count a record (or part of one) that is not an action."""
        self.skipped[reason] += 1

    def warn(self, message: str) -> None:
        """Note something about the file (once)."""
        if message not in self.warnings:
            self.warnings.append(message)


def jget(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...``, or None when a step is missing or not an object.

    Examples
    --------
    >>> jget({"a": {"b": 1}}, "a", "b"), jget({"a": None}, "a", "b"), jget([], "a")
    (1, None, None)
    """
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def jtext(value: Any) -> str | None:
    """A JSON scalar as text (numbers as written by Python; true/false), None when missing.

    Examples
    --------
    >>> jtext(1234567890123456789), jtext("x"), jtext(None), jtext(True), jtext(1.5)
    ('1234567890123456789', 'x', None, 'true', '1.5')
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return None


def jlist(value: Any) -> list[Any]:
    """``value`` when it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def unique(items: Iterable[str | None]) -> list[str]:
    """The non-empty strings of ``items``, first occurrence kept, in order.

    Examples
    --------
    >>> unique(["a", None, "", "b", "a"])
    ['a', 'b']
    """
    return list(dict.fromkeys(i for i in items if isinstance(i, str) and i))


# A hashtag in text: # or the full-width ＃ after a start, space or opening bracket, then
# letters, digits, _ and the combining marks of Latin and Arabic script; not only digits.
_HASHTAG = re.compile(r"(?:^|(?<=[\s(\[（「『【]))[#＃]([\w\u0300-\u036f\u064b-\u065f\u0670\u200c\u200d]+)")


def hashtags_in_text(values: pd.Series) -> pd.Series:
    """The hashtags written in each text (without ``#``/``＃``), as JSON list texts: for formats
    whose exports have no hashtag field. Each distinct text is read once.

    Examples
    --------
    >>> hashtags_in_text(pd.Series(["Vote! #StopTheSteal ＃選挙 and #1 or a#b", None])).tolist()
    ['["StopTheSteal", "選挙"]', nan]
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = []
    for text in uniques:
        tags = [t for t in _HASHTAG.findall(text) if not t.isdigit()]
        table.append(json.dumps(unique(tags), ensure_ascii=False) if tags else None)
    return pd.Series(np.array(table + [None], dtype=object)[codes], index=values.index, dtype="str")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def epoch_us_to_iso(value: Any) -> str | None:
    """Epoch microseconds (int or digit string) as an exact ISO 8601 UTC text; other values as
    text unchanged (so that they are rejected as unparsable).

    Examples
    --------
    >>> epoch_us_to_iso(1725911162329308)
    '2024-09-09T19:46:02.329308+00:00'
    >>> epoch_us_to_iso("soon")
    'soon'
    """
    text = jtext(value)
    if text is None or not text.strip().lstrip("-").isdigit():
        return text
    try:
        return (_EPOCH + timedelta(microseconds=int(text))).isoformat()
    except OverflowError:
        return text


# ---------------------------------------------------------------------------------------------
# The formats
# ---------------------------------------------------------------------------------------------

_GENERIC_OPTIONAL = tuple(c for c in ACTION_COLUMNS if c not in ("account_id", "timestamp"))


@register(
    "generic",
    "Columns named as cib's ACTIONS (account_id, timestamp; optional action_id, action_type, "
    "parent_id, text, urls, hashtags, mentions, media, platform); rename others with --map.",
    required=("account_id", "timestamp"),
    optional=_GENERIC_OPTIONAL,
    exact=_ID_COLUMNS,
)
def _generic(raw: pd.DataFrame) -> pd.DataFrame:
    return raw[[c for c in ACTION_COLUMNS if c in raw.columns]]


@register(
    "coortweet",
    "CooRTweet's input: object_id (shared object), account_id, content_id (the share), "
    "timestamp_share (epoch seconds); every row is a repost of object_id.",
    required=("object_id", "account_id", "content_id", "timestamp_share"),
    exact=("object_id", "account_id", "content_id"),
    sources={"action_id": ("content_id",), "account_id": ("account_id",),
             "timestamp": ("timestamp_share",), "action_type": ("=repost, every row",),
             "parent_id": ("object_id",)},
)
def _coortweet(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "action_id": raw["content_id"],
        "account_id": raw["account_id"],
        "timestamp": raw["timestamp_share"],
        "action_type": pd.Series("repost", index=raw.index, dtype="str"),
        "parent_id": raw["object_id"],
    }, index=raw.index)


def _present(raw: pd.DataFrame, column: str) -> pd.Series:
    """True where ``column`` (absent: nowhere) holds a non-blank value."""
    if column not in raw.columns:
        return pd.Series(False, index=raw.index)
    s = raw[column]
    return (s.notna() & (s.astype("str").str.strip() != "")).fillna(False).astype(bool)


def _pick(index: pd.Index, choices: list[tuple[pd.Series, pd.Series | str]],
          default: str | None = None) -> pd.Series:
    """Per row, the value of the first (mask, value) whose mask is True (a value is a column,
    or a constant text); ``default`` where no mask is."""
    out = pd.Series(default, index=index, dtype="str")
    done = pd.Series(False, index=index)
    for mask, value in choices:
        take = mask & ~done
        if take.any():
            out[take] = value[take] if isinstance(value, pd.Series) else value
        done |= mask
    return out


@register(
    "cnt",
    "coordination-network-toolkit's CSV, read by column name: message_id, user_id, username, "
    "repost_id, reply_id, message, timestamp (epoch seconds), urls (space-separated).",
    required=("message_id", "user_id", "username", "repost_id", "reply_id", "message",
              "timestamp", "urls"),
    exact=("message_id", "user_id", "repost_id", "reply_id"),
    sources={"action_id": ("message_id",), "account_id": ("user_id",),
             "timestamp": ("timestamp",),
             "action_type": ("repost_id", "reply_id",
                             "=repost when repost_id is set, else reply when reply_id is, "
                             "else post"),
             "parent_id": ("repost_id", "reply_id"), "text": ("message",), "urls": ("urls",)},
)
def _cnt(raw: pd.DataFrame) -> pd.DataFrame:
    repost, reply = _present(raw, "repost_id"), _present(raw, "reply_id")
    out = {
        "action_id": raw["message_id"],
        "account_id": raw["user_id"],
        "timestamp": raw["timestamp"],
        "action_type": _pick(raw.index, [(repost, "repost"), (reply, "reply")], "post"),
        "parent_id": _pick(raw.index, [(repost, raw["repost_id"]), (reply, raw["reply_id"])]),
        "text": raw["message"],
        "urls": raw["urls"],
    }
    return pd.DataFrame(out, index=raw.index)


# The platform formats register themselves on import (the order is the order of detection
# and of ``cib formats``).
from . import _twitter, _meta, _telegram, _bluesky, _mastodon  # noqa: E402,F401
