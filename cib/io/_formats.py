"""Input formats: small functions that turn a raw text DataFrame into the canonical columns.

A format is registered with :func:`register`: its name, a one-line description, the input
columns it requires and those it may use, and a function that takes a DataFrame of those raw
columns (text, read by name) and returns a DataFrame whose columns are a subset of
:data:`cib.schema.ACTION_COLUMNS`, still raw text. Parsing, validation, rejects and
deduplication are common to all formats (see :func:`cib.io.read_actions`).

To add a format, write one function::

    @register("myformat", "what it reads", required=("user", "time"), optional=("url",))
    def _myformat(raw):
        return pd.DataFrame({"account_id": raw["user"], "timestamp": raw["time"], ...})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..schema import ACTION_COLUMNS

__all__ = ["Format", "FORMATS", "register", "get_format", "detect_columns", "detect_format"]

Converter = Callable[[pd.DataFrame], pd.DataFrame]

#: Canonical columns that identify things: kept exactly as written.
_ID_COLUMNS = frozenset({"action_id", "account_id", "parent_id"})


@dataclass(frozen=True)
class Format:
    """An input format.

    Attributes
    ----------
    name, description : str
        As listed by ``cib formats``.
    required, optional : tuple of str
        Input column names that must be present / are used when present.
    convert : callable
        ``convert(raw) -> DataFrame`` with canonical column names (raw text values).
    exact : frozenset of str
        Input columns holding ids, whose text must survive exactly.
    """

    name: str
    description: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    convert: Converter
    exact: frozenset[str]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column the format reads."""
        return self.required + self.optional

    def matches(self, columns: Iterable[str]) -> bool:
        """True when every required column is among ``columns``."""
        present = set(columns)
        return all(c in present for c in self.required)


_REGISTRY: dict[str, Format] = {}

#: Name -> one-line description of every input format (for ``cib formats``).
FORMATS: dict[str, str] = {}


def register(name: str, description: str, required: Iterable[str], optional: Iterable[str] = (),
             exact: Iterable[str] = ()) -> Callable[[Converter], Converter]:
    """Register a converter function as the input format ``name`` (a decorator)."""

    def decorate(func: Converter) -> Converter:
        _REGISTRY[name] = Format(name, description, tuple(required), tuple(optional), func,
                                 frozenset(exact))
        FORMATS[name] = description
        return func

    return decorate


def get_format(name: str) -> Format:
    """The registered :class:`Format` called ``name`` (KeyError if none)."""
    return _REGISTRY[name]


def detect_columns(columns: Iterable[str]) -> str:
    """Name the format that a file with these column names is in.

    The first registered specific format whose required columns are all present wins;
    otherwise ``generic``.

    Examples
    --------
    >>> detect_columns(["object_id", "account_id", "content_id", "timestamp_share"])
    'coortweet'
    >>> detect_columns(["account_id", "timestamp", "text"])
    'generic'
    """
    columns = list(columns)
    for fmt in _REGISTRY.values():
        if fmt.name != "generic" and fmt.matches(columns):
            return fmt.name
    return "generic"


def detect_format(path: str | Path) -> str:
    """Name the format of the file at ``path`` from its column names.

    ``coortweet`` when the header has ``object_id``, ``account_id``, ``content_id`` and
    ``timestamp_share``; otherwise ``generic``.

    Raises
    ------
    InputError
        If the file does not exist, is a directory, or cannot be read.

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

    return detect_columns(open_source(path).names())


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
)
def _coortweet(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "action_id": raw["content_id"],
        "account_id": raw["account_id"],
        "timestamp": raw["timestamp_share"],
        "action_type": pd.Series("repost", index=raw.index, dtype="str"),
        "parent_id": raw["object_id"],
    }, index=raw.index)
