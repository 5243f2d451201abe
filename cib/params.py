"""Parameter parsing and validation in one place, with one message form (see :class:`ParameterError`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import ParameterError

__all__ = ["parse_duration", "check_number", "check_choice", "parse_kinds", "parse_mapping"]

_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")
_DURATION_HELP = "a duration >= 0 (90, '90s', '5m', '1h', '1d')"


def parse_duration(value: object, name: str = "window", caller: str = "detect") -> float:
    """Parse a duration into seconds.

    Accepts a number of seconds or a string such as ``"90"``, ``"90s"``, ``"5m"``, ``"1h"``, ``"1d"``.

    Examples
    --------
    >>> parse_duration("90s"), parse_duration("5m"), parse_duration(60), parse_duration("1.5h")
    (90.0, 300.0, 60.0, 5400.0)
    >>> parse_duration("soon")
    Traceback (most recent call last):
    ...
    cib.errors.ParameterError: The 'window' parameter of detect must be a duration >= 0 (90, '90s', '5m', '1h', '1d'). Got 'soon' instead.
    """
    if isinstance(value, bool):
        raise ParameterError(name, caller, _DURATION_HELP, value)
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif hasattr(value, "total_seconds"):
        seconds = float(value.total_seconds())  # datetime.timedelta / pd.Timedelta
    elif isinstance(value, str):
        m = _DURATION.match(value.lower())
        if not m or m.group(2) not in _UNITS:
            raise ParameterError(name, caller, _DURATION_HELP, value)
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ParameterError(name, caller, _DURATION_HELP, value)
    if not (seconds >= 0) or seconds == float("inf"):
        raise ParameterError(name, caller, _DURATION_HELP, value)
    return seconds


def check_number(value: object, name: str, caller: str, *, low: float | None = None,
                 high: float | None = None, integer: bool = False,
                 low_open: bool = False) -> float | int:
    """Check that ``value`` is a number in range; return it.

    Examples
    --------
    >>> check_number(2, "min_weight", "detect", low=1, integer=True)
    2
    >>> check_number(0, "resolution", "detect", low=0, low_open=True)
    Traceback (most recent call last):
    ...
    cib.errors.ParameterError: The 'resolution' parameter of detect must be a number in the range (0, inf). Got 0 instead.
    """
    kind = "an integer" if integer else "a number"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    allowed = f"{kind} in the range {'(' if low_open or low is None else '['}{lo}, {hi}{']' if high is not None else ')'}"
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer and not float(value).is_integer():
        ok = False
    if ok and value != value:  # NaN
        ok = False
    if ok and low is not None and (value < low or (low_open and value == low)):
        ok = False
    if ok and high is not None and value > high:
        ok = False
    if not ok:
        raise ParameterError(name, caller, allowed, value)
    return int(value) if integer else value


def check_choice(value: object, choices: Iterable[str], name: str, caller: str) -> str:
    """Check that ``value`` is one of ``choices``.

    Examples
    --------
    >>> check_choice("leiden", ["leiden", "louvain"], "method", "detect")
    'leiden'
    """
    choices = list(choices)
    if value not in choices:
        raise ParameterError(name, caller, "one of " + ", ".join(repr(c) for c in choices), value)
    return value  # type: ignore[return-value]


def parse_kinds(value: str | Iterable[str] | None, known: Iterable[str], default: Iterable[str],
                caller: str = "detect") -> list[str]:
    """Parse a kinds list (``"repost,url"`` or a list); ``None`` gives ``default``.

    Examples
    --------
    >>> parse_kinds("url, repost", ["repost", "url", "hashtag"], ["repost"])
    ['url', 'repost']
    """
    known = list(known)
    if value is None:
        return list(default)
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
    items = [v for v in items if v]
    bad = [v for v in items if v not in known]
    if bad or not items:
        raise ParameterError("kinds", caller, "a non-empty list of " + ", ".join(known),
                             value)
    return list(dict.fromkeys(items))


def parse_mapping(value: str | dict[str, str] | None, caller: str = "detect") -> dict[str, str]:
    """Parse a column mapping ``"account_id=user,timestamp=created_at"`` into a dict.

    Keys are cib's column names, values the names in the input file.

    Examples
    --------
    >>> parse_mapping("account_id=user, timestamp=created_at")
    {'account_id': 'user', 'timestamp': 'created_at'}
    """
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ParameterError("map", caller, "a list of CIB_COLUMN=INPUT_COLUMN pairs", value)
        k, v = (s.strip() for s in part.split("=", 1))
        if not k or not v:
            raise ParameterError("map", caller, "a list of CIB_COLUMN=INPUT_COLUMN pairs", value)
        out[k] = v
    return out
