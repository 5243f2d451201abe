"""Vectorised parsing of raw input values into the ACTIONS dtypes.

Every function takes a raw column (a pandas Series as the readers return it: ``str`` dtype,
or datetime64 for typed timestamp columns, or object holding lists for typed list columns) and
returns parsed values plus enough information to reject rows. Timestamps, ids and action types
are parsed without a Python loop over rows; list columns loop over their distinct cell texts.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa

from ..schema import ACTION_TYPES

__all__ = [
    "ACTION_TYPE_ALIASES",
    "NAT",
    "EpochScale",
    "as_str",
    "clean_str",
    "parse_timestamps",
    "timestamps_out_of_range",
    "parse_action_types",
    "parse_lists",
    "display_values",
    "timestamp_resolution",
]

#: The int64 value of NaT in a datetime64[ns] array.
NAT = np.iinfo(np.int64).min

#: Accepted spellings of each action type (after stripping and lower-casing).
ACTION_TYPE_ALIASES: dict[str, str] = {
    "post": "post", "tweet": "post",
    "repost": "repost", "retweet": "repost", "rt": "repost", "retweeted": "repost",
    "reply": "reply", "comment": "reply", "replied_to": "reply",
    "quote": "quote", "quoted": "quote",
}

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
# Twitter API v1 ``created_at``: "Wed Oct 10 20:19:24 +0000 2018".
_TWITTER_V1 = r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d{1,2} \d{2}:\d{2}:\d{2} [+-]\d{4} \d{4}"
_TWITTER_V1_FORMAT = "%a %b %d %H:%M:%S %z %Y"
# Values above this are epoch milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_MS_THRESHOLD = 1e11
# The largest |microseconds| that still fits into int64 nanoseconds.
_MAX_US = np.iinfo(np.int64).max // 1000

_SEPARATORS = r"[\s,|;]+"
# URLs may contain ',' and ';' (query strings), so in urls these only separate when followed by
# white space, another separator, the end, or the start of the next URL.
_URL_SEPARATORS = r"(?:[\s|]|[,;](?=[\s,;|]|$|https?://|www\.))+"
_LIST_PREFIX = {"hashtags": "#", "mentions": "@"}


def as_str(values: pd.Series) -> pd.Series:
    """Return ``values`` as a pandas ``str`` Series (missing stays missing).

    Typed columns (numbers, datetimes, lists from Parquet or JSON) are turned into text:
    numbers as written by Arrow, lists and mappings as JSON.

    Examples
    --------
    >>> as_str(pd.Series(["007", None])).tolist()
    ['007', nan]
    >>> as_str(pd.Series([7, 8])).tolist()
    ['7', '8']
    """
    if isinstance(values.dtype, pd.StringDtype):
        return values
    if values.dtype != object:
        if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
            out = pd.Series(values.dt.strftime("%Y-%m-%dT%H:%M:%S.%f"), dtype="str", index=values.index)
            return out
        return values.astype("str").where(values.notna())

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and v != v):
            return None
        if isinstance(v, str):
            return v
        if isinstance(v, np.ndarray):
            v = v.tolist()
        if isinstance(v, (list, tuple, dict)):
            return json.dumps(v, ensure_ascii=False, default=str)
        return str(v)

    return pd.Series([one(v) for v in values], dtype="str", index=values.index)


def clean_str(values: pd.Series | None, n: int = 0, *, strip: bool = True) -> pd.Series:
    """Text with surrounding white space stripped; empty cells become missing (NaN).

    ``None`` (an absent column) gives ``n`` missing values.

    Examples
    --------
    >>> clean_str(pd.Series([" 007 ", "", "  ", None])).tolist()
    ['007', nan, nan, nan]
    >>> clean_str(None, 2).tolist()
    [nan, nan]
    """
    if values is None:
        return pd.Series(np.full(n, np.nan, dtype=object), dtype="str")
    s = as_str(values)
    if strip:
        s = s.str.strip()
    return s.where(s != "")


def _datetimes_to_ns(values: pd.Series) -> np.ndarray:
    """int64 UTC nanoseconds of a datetime64 Series of any unit (NAT where missing or out of range)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    unit = np.datetime_data(values.dtype)[0]
    raw = values.to_numpy().view("int64")
    factor = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    if factor == 1:
        return raw.copy()
    ok = (raw != NAT) & (np.abs(raw) <= np.iinfo(np.int64).max // factor)
    return np.where(ok, raw * factor, NAT)


class EpochScale:
    """Whether the epoch numbers of a file are seconds or milliseconds, decided over all of them
    while the file is read in chunks.

    The rule is the one :func:`parse_timestamps` applies to one column: milliseconds when the
    median magnitude of the finite numbers is above 1e11. The median is not kept: what decides
    it is how many magnitudes are above 1e11, and (for an even count split exactly in half) the
    largest one below and the smallest one above, so the answer is exactly ``np.median``'s.

    Examples
    --------
    >>> scale = EpochScale()
    >>> scale.add(np.array([1.6e9, 1.7e9])); scale.add(np.array([1.6e12]))
    >>> scale.unit(), scale.count
    ('s', 3)
    >>> scale.add(np.array([1.6e12, 1.6e12])); scale.unit()
    'ms'
    """

    def __init__(self) -> None:
        self.count = 0  # finite numbers seen
        self.above = 0  # of them with a magnitude above the threshold
        self.max_low = -np.inf  # the largest magnitude at or below it
        self.min_high = np.inf  # the smallest magnitude above it

    def add(self, numbers: np.ndarray) -> None:
        """Count ``numbers`` (float64; non-finite ones are ignored)."""
        mag = np.abs(numbers[np.isfinite(numbers)])
        if not len(mag):
            return
        high = mag > _MS_THRESHOLD
        k = int(high.sum())
        self.count += len(mag)
        self.above += k
        if k:
            self.min_high = min(self.min_high, float(mag[high].min()))
        if k < len(mag):
            self.max_low = max(self.max_low, float(mag[~high].max()))

    def merge(self, other: EpochScale) -> None:
        self.count += other.count
        self.above += other.above
        self.max_low = max(self.max_low, other.max_low)
        self.min_high = min(self.min_high, other.min_high)

    def unit(self) -> str | None:
        """``"ms"`` or ``"s"`` (None when no number was seen)."""
        n, low = self.count, self.count - self.above
        if n == 0:
            return None
        if n % 2:  # the median is the middle magnitude
            above = low <= n // 2
        elif low != n // 2:  # both middle magnitudes on one side
            above = low < n // 2
        else:  # np.median: the mean of the two middle ones
            above = bool(np.median(np.array([self.max_low, self.min_high])) > _MS_THRESHOLD)
        return "ms" if above else "s"


def _epoch_to_ns(numbers: np.ndarray, unit: str | None = None,
                 scale: EpochScale | None = None) -> np.ndarray:
    """Epoch seconds, or milliseconds when the median magnitude exceeds 1e11, to int64 ns.

    ``unit`` (``"s"``/``"ms"``) overrides the median; ``scale`` is given the numbers.
    """
    finite = np.isfinite(numbers)
    if scale is not None:
        scale.add(numbers)
    if not finite.any():
        return np.full(len(numbers), NAT, dtype=np.int64)
    if unit is None:
        unit = "ms" if np.median(np.abs(numbers[finite])) > _MS_THRESHOLD else "s"
    scale_us = 1e3 if unit == "ms" else 1e6
    with np.errstate(invalid="ignore", over="ignore"):
        us = np.round(numbers * scale_us)
        ok = finite & (np.abs(us) <= _MAX_US)
    return np.where(ok, np.where(ok, us, 0).astype(np.int64) * 1000, NAT)


def _to_float(text: pd.Series) -> np.ndarray:
    """float64 of number strings (already checked against _NUMBER)."""
    try:
        return pa.array(text.array).cast(pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def parse_timestamps(values: pd.Series, unit: str | None = None, scale: EpochScale | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Parse raw timestamps into int64 UTC nanoseconds.

    Accepted: epoch seconds (integer or decimal), epoch milliseconds (chosen for the whole
    column when the median magnitude is above 1e11), ISO 8601 with or without a zone
    (no zone means UTC; a space may replace the ``T``), Twitter's ``created_at`` form
    (``Wed Oct 10 20:19:24 +0000 2018``), and typed datetime columns. Epoch numbers keep
    microsecond precision. Values outside the datetime64[ns] range count as unparsable.

    Parameters
    ----------
    values : pandas.Series
        Raw values.
    unit : {"s", "ms"}, optional
        The unit of epoch numbers, instead of the median rule (a file read in chunks uses the
        unit of the whole file, see :class:`EpochScale`).
    scale : EpochScale, optional
        Given the epoch numbers found.

    Returns
    -------
    ns : numpy.ndarray of int64
        UTC nanoseconds since the epoch; :data:`NAT` where missing or unparsable.
    missing : numpy.ndarray of bool
        True where the raw value is missing or blank (the rest of the NAT values are unparsable).

    Examples
    --------
    >>> ns, missing = parse_timestamps(pd.Series(
    ...     ["1610870400", "2021-01-17T10:00:00+03:00", "2021-01-17 07:00:00", "soon", ""]))
    >>> pd.to_datetime(ns[:3], utc=True).strftime("%Y-%m-%d %H:%M").tolist()
    ['2021-01-17 08:00', '2021-01-17 07:00', '2021-01-17 07:00']
    >>> (ns[3:] == NAT).tolist(), missing.tolist()
    ([True, True], [False, False, False, False, True])
    """
    n = len(values)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        ns = _datetimes_to_ns(values)
        return ns, values.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return _epoch_to_ns(numbers, unit, scale), values.isna().to_numpy()
    s = clean_str(values)
    missing = s.isna().to_numpy()
    ns = np.full(n, NAT, dtype=np.int64)
    is_num = s.str.fullmatch(_NUMBER).to_numpy(dtype=bool, na_value=False)
    if is_num.any():
        ns[is_num] = _epoch_to_ns(_to_float(s[is_num]), unit, scale)
    rest = ~is_num & ~missing
    if rest.any():
        parsed = pd.to_datetime(s[rest], format="ISO8601", utc=True, errors="coerce")
        ns[rest] = _datetimes_to_ns(parsed)
        failed = rest & (ns == NAT)
        if failed.any():
            candidates = s[failed]
            v1 = candidates.str.fullmatch(_TWITTER_V1).to_numpy(dtype=bool, na_value=False)
            if v1.any():
                idx = np.flatnonzero(failed)[v1]
                parsed = pd.to_datetime(candidates[v1], format=_TWITTER_V1_FORMAT, utc=True,
                                        errors="coerce")
                ns[idx] = _datetimes_to_ns(parsed)
    return ns, missing


_ISO_YEAR = re.compile(r"\s*([+-]?\d{4,})-\d{1,2}-\d{1,2}")
#: The years that datetime64[ns] holds completely (it spans 1677-09-21 to 2262-04-11).
_YEARS_NS = (1678, 2261)


def timestamps_out_of_range(values: pd.Series) -> np.ndarray:
    """True where a raw timestamp that :func:`parse_timestamps` could not use is a number or a
    date, just too far from 1970 (beyond the years 1677-2262 that nanosecond datetimes hold),
    rather than text that is no timestamp at all.

    Examples
    --------
    >>> timestamps_out_of_range(pd.Series(["9999-12-31", "soon", "1e20", "0800-01-01T00:00"])).tolist()
    [True, False, True, True]
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or (
            pd.api.types.is_numeric_dtype(values.dtype)
            and not pd.api.types.is_bool_dtype(values.dtype)):
        return values.notna().to_numpy()
    s = clean_str(values)
    number = s.str.fullmatch(_NUMBER).to_numpy(dtype=bool, na_value=False)
    year = pd.to_numeric(s.str.extract(_ISO_YEAR.pattern, expand=False), errors="coerce")
    year = year.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        far = (year < _YEARS_NS[0]) | (year > _YEARS_NS[1])
    return number | far


def parse_action_types(values: pd.Series | None, has_parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse action types into codes of :data:`cib.schema.ACTION_TYPES`.

    Case and surrounding white space are ignored; the aliases in :data:`ACTION_TYPE_ALIASES`
    are accepted (``retweet``/``rt`` -> repost, ``tweet`` -> post, ``comment`` -> reply, and
    Twitter API v2's ``retweeted``, ``quoted``, ``replied_to``). Missing values (or an absent
    column, ``values=None``) are derived: repost when the row has a parent, else post.

    Returns
    -------
    codes : numpy.ndarray of int8
        Index into ``ACTION_TYPES``; -1 where the value is not a known type.
    unknown : numpy.ndarray of bool
        True where a value was given but is not a known type.

    Examples
    --------
    >>> codes, unknown = parse_action_types(pd.Series(["RT", " Post", None, None, "like"]),
    ...                                     np.array([True, False, True, False, False]))
    >>> [ACTION_TYPES[c] if c >= 0 else None for c in codes], unknown.tolist()
    (['repost', 'post', 'repost', 'post', None], [False, False, False, False, True])
    """
    n = len(has_parent)
    derived = np.where(has_parent, ACTION_TYPES.index("repost"), ACTION_TYPES.index("post")).astype(np.int8)
    if values is None:
        return derived, np.zeros(n, dtype=bool)
    s = clean_str(values)
    codes_raw, uniques = pd.factorize(s, use_na_sentinel=True)
    lookup = np.array([ACTION_TYPES.index(ACTION_TYPE_ALIASES[u.lower()])
                       if u.lower() in ACTION_TYPE_ALIASES else -1 for u in uniques] + [-2],
                      dtype=np.int8)
    codes = lookup[codes_raw]  # -2 (missing) comes from the sentinel -1 indexing the last entry
    unknown = codes == -1
    codes = np.where(codes == -2, derived, codes).astype(np.int8)
    return codes, unknown


def _strip_prefix(token: str, prefix: str | None) -> str:
    return token[1:] if prefix and token.startswith(prefix) else token


def _native_list(value: object, prefix: str | None) -> list[str]:
    items = value.tolist() if isinstance(value, np.ndarray) else list(value)  # type: ignore[arg-type]
    out = []
    for item in items:
        if item is None or (isinstance(item, float) and item != item):
            continue
        if not isinstance(item, str):
            item = json.dumps(item, ensure_ascii=False, default=str)
        t = _strip_prefix(item.strip(), prefix)
        if t:
            out.append(t)
    return out


def _parse_one(text: str, separators: re.Pattern[str], prefix: str | None) -> list[str]:
    """Parse one non-empty list cell (a JSON list or separated text)."""
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return _native_list(parsed, prefix)
        text = text[1:-1]
    return [t for t in (_strip_prefix(t, prefix) for t in separators.split(text)) if t]


def parse_lists(values: pd.Series | None, column: str, n: int = 0) -> np.ndarray:
    """Parse a list column into an object array holding one Python list of str per row.

    A cell may hold a JSON list (``["a", "b"]``), or plain text split on white space, ``,``,
    ``|`` and ``;`` (in ``urls``, ``,`` and ``;`` split only when followed by white space or
    the start of another URL, because URLs may contain them). Typed list cells (Parquet,
    JSON) are used as they are. In ``hashtags`` and ``mentions`` one leading ``#`` / ``@``
    is removed from each item. Empty or missing cells give an empty list.

    Each distinct cell text is parsed once, and rows with equal cells share one list object
    (all empty cells share one empty list): this keeps ten million rows fast and small, but
    the lists must be treated as read-only.

    Parameters
    ----------
    values : pandas.Series or None
        Raw cells; None (an absent column) gives ``n`` empty lists.
    column : str
        ``urls``, ``hashtags``, ``mentions`` or ``media``.
    n : int
        The number of rows when ``values`` is None.

    Examples
    --------
    >>> parse_lists(pd.Series(['["#a", "b"]', "#c, #d|e", None]), "hashtags").tolist()
    [['a', 'b'], ['c', 'd', 'e'], []]
    >>> parse_lists(pd.Series(["https://x.org/?a=1,2 https://y.org"]), "urls").tolist()
    [['https://x.org/?a=1,2', 'https://y.org']]
    """
    empty: list[str] = []
    if values is None:
        out = np.empty(n, dtype=object)
        out.fill(empty)
        return out
    prefix = _LIST_PREFIX.get(column)
    separators = re.compile(_URL_SEPARATORS if column == "urls" else _SEPARATORS)
    if values.dtype == object:
        cells = values.to_numpy(dtype=object)
        native = np.fromiter((isinstance(v, (list, tuple, np.ndarray)) for v in cells),
                             dtype=bool, count=len(cells))
        if native.any():
            out = np.empty(len(values), dtype=object)
            for i in np.flatnonzero(native):
                items = _native_list(cells[i], prefix)
                out[i] = items if items else empty  # all empty lists share one
            if not native.all():
                out[~native] = parse_lists(as_str(values[~native]), column)
            return out
    codes, uniques = pd.factorize(clean_str(values), use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    for i, text in enumerate(uniques):
        table[i] = _parse_one(text, separators, prefix)
    table[-1] = empty  # the missing cells (code -1)
    return table[codes]


def display_values(values: pd.Series | None, n: int, limit: int = 200) -> np.ndarray:
    """Raw values as text for REJECTS: missing becomes ``""``, long values are cut to ``limit``.

    Examples
    --------
    >>> display_values(pd.Series(["x" * 300, None]), 2).tolist() == ["x" * 200, ""]
    True
    """
    if values is None:
        return np.full(n, "", dtype=object)
    s = as_str(values)
    return s.str.slice(0, limit).to_numpy(dtype=object, na_value="")


_RESOLUTIONS_NS = [86400 * 10**9, 3600 * 10**9, 60 * 10**9] + [10**k for k in range(9, -1, -1)]


def timestamp_resolution(ns: np.ndarray) -> float:
    """The coarsest unit (in seconds) that every timestamp is a multiple of.

    Candidates are 1 day, 1 hour, 1 minute, then 1 s, 0.1 s, ... down to 1 ns.
    With no timestamps the answer is 1.0.

    Examples
    --------
    >>> timestamp_resolution(np.array([60, 120]) * 10**9)
    60.0
    >>> timestamp_resolution(np.array([1_500_000_000, 3 * 10**9]))
    0.1
    """
    ns = np.asarray(ns, dtype=np.int64)
    ns = ns[ns != NAT]
    if len(ns) == 0:
        return 1.0
    for unit in _RESOLUTIONS_NS:
        if not (ns % unit).any():
            return unit / 1e9
    return 1e-9  # pragma: no cover - every int is a multiple of 1 ns
