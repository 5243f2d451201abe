"""coordination-network-toolkit (CNT) 1.5.2 compatibility mode (DESIGN §4).

CNT (QUT Digital Media Research Centre, ``pip install coordination-network-toolkit``) loads
messages into SQLite and builds each network with one self-join. This module gives the same
directed edge weights from a pandas table, with numpy instead of SQL, for four of CNT's six network
types: ``co_retweet``, ``co_link``, ``co_reply`` and ``co_tweet``.

- :func:`read_cnt_csv` reads CNT's 8-column CSV (by column name; CNT reads by position).
- :func:`cnt_input_from_actions` turns cib ACTIONS into that message table.
- :func:`cnt_edges` computes one network: ``user_1``, ``user_2``, ``weight``.
- :func:`cnt_message_preprocessor` is CNT's co_tweet text normalisation.

CNT's semantics, as reproduced here (checked against the real tool's exports, see
``tests/test_compat_cnt.py``):

1. **Messages.** A row whose ``repost_id`` is non-empty is a repost. Rows that repeat a
   ``message_id`` are dropped, and the first one is kept, as CNT's ``insert or ignore`` does. One
   exception: CNT stores URLs from *every* row, repeated ids included (see 4).
2. **Objects.** co_retweet joins reposts on ``repost_id``. co_reply joins non-reposts on
   ``reply_id``. co_tweet joins non-reposts on their normalised text
   (:func:`cnt_message_preprocessor`). co_link joins URL rows on the URL.
3. **Window and weight.** Message ``m`` of user ``u`` counts towards ``u -> v`` when ``v`` has a
   message on the same object with ``e_1.t - W <= t <= e_1.t + W``. Both ends are included, and the
   bounds are computed in float64 as SQLite does. ``weight(u -> v)`` is the number of *distinct
   messages* of ``u`` that count. Both directions are kept, and they differ when a user posted the
   same object more than once. ``weight >= min_edge_weight`` is tested for each direction on its
   own, so one-way edges can appear.
4. **URLs** come from the space-separated ``urls`` cell (``cell.split(" ")``) of non-repost rows.
   URLs on reposts are ignored. ``(message_id, url)`` is unique, and the first occurrence keeps its
   user and time. A repeated ``message_id`` still adds URLs it did not have yet, with its own user
   and time, because CNT's URL table has its own key.
5. **Self-loops.** A message joins with itself, so CNT's table holds ``u -> u`` with weight = the
   user's qualifying messages. CNT's exports drop loops (``loops=False``, the default here).

Choices and deviations:

- **Bug 2 of the peer notes** (an empty ``urls`` cell, or a doubled space, gives a URL ``''`` that
  links every URL-less post): ``keep_empty_urls=False`` (the default) drops the URL ``''``. That is
  the fixed behaviour, and equals CNT after ``delete from message_url where url = ''``.
  ``keep_empty_urls=True`` reproduces CNT as it is.
- **Bug 4** (empty or mention-only texts all normalise to ``''`` and so co-tweet with each other)
  is reproduced as it is, because it is CNT's co_tweet definition. Drop rows with an empty
  normalised text yourself if you do not want it.
- Columns are read **by name** (CNT reads by position and needs exactly 8 columns, with ``urls``
  last). ``by_position=True`` in :func:`read_cnt_csv` gives CNT's reading.
- Timestamps are parsed with Python's ``float`` as CNT does. A missing or NaN time joins nothing,
  not even itself (SQLite stores NaN as NULL).
- The CLI's defaults are not copied: CNT's command line defaults to ``--time_window 1`` and
  ``--min_edge_weight 2``. The defaults here are ``time_window=60`` (the README's value) and
  ``min_edge_weight=1`` (CNT's Python functions).
- co_similar_tweet, co_post, ``--resolved`` URLs and CNT's JSON inputs are not reproduced.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..params import check_choice, check_number, parse_duration
from ..schema import to_epoch_ns, validate_actions

__all__ = [
    "CNT_COLUMNS",
    "CNT_NETWORKS",
    "EDGE_COLUMNS",
    "read_cnt_csv",
    "cnt_input_from_actions",
    "cnt_message_preprocessor",
    "cnt_edges",
]

#: CNT's CSV columns, in CNT's (positional) order.
CNT_COLUMNS = ["message_id", "user_id", "username", "repost_id", "reply_id", "message",
               "timestamp", "urls"]
#: The network types reproduced.
CNT_NETWORKS = ("co_retweet", "co_link", "co_reply", "co_tweet")
#: Columns of :func:`cnt_edges`.
EDGE_COLUMNS = ["user_1", "user_2", "weight"]

# CNT strips mentions with the ``regex`` module's ``@.*?(?=(?:\s|$))``. Its ``\s`` is Unicode
# White_Space, which differs from Python's ``str.isspace`` (U+001C..U+001F are not White_Space).
# So the class is spelled out here and does not use ``re``'s ``\s``.
_WHITE_SPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000")
_MENTION = re.compile(f"@[^{_WHITE_SPACE}]*")

# Largest (src user, dst user, message) code packed into one int64 in _directed_weights.
_MAX_CODE = 2 ** 62

_REQUIRED = ["message_id", "user_id", "repost_id", "reply_id", "message", "timestamp", "urls"]


# --------------------------------------------------------------------------------------------
# input


def read_cnt_csv(path: str | os.PathLike[str], *, by_position: bool = False) -> pd.DataFrame:
    """Read a CSV file in CNT's input format.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 CSV with a header row and the columns ``message_id``, ``user_id``, ``username``,
        ``repost_id``, ``reply_id``, ``message``, ``timestamp`` and ``urls``, matched by name in any
        order (other columns are ignored). Compressed files (``.gz`` and so on) work too.
    by_position : bool, default False
        Ignore the header names and take exactly 8 columns in CNT's order, as CNT does.

    Returns
    -------
    DataFrame
        :data:`CNT_COLUMNS`, in that order. Every column is object dtype holding ``str`` (empty
        cells are ``''``, never NaN) except ``timestamp``, which is float64 parsed with Python's
        ``float`` as in CNT.

    Raises
    ------
    InputError
        If columns are missing (they are all named) or a timestamp is not a number.

    Examples
    --------
    >>> import io
    >>> csv = io.StringIO("timestamp,message_id,user_id,username,repost_id,reply_id,message,urls\\n"
    ...                   "100,1,007,x,,,Hi,a.org b.org\\n")
    >>> m = read_cnt_csv(csv)
    >>> m[["user_id", "repost_id", "timestamp", "urls"]].iloc[0].to_dict()
    {'user_id': '007', 'repost_id': '', 'timestamp': 100.0, 'urls': 'a.org b.org'}
    """
    display = str(path) if isinstance(path, (str, os.PathLike)) else None
    try:
        raw = pd.read_csv(path, dtype=object, keep_default_na=False, na_filter=False,
                          encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read as CNT CSV: {exc}", file=display) from None
    if by_position:
        if raw.shape[1] != len(CNT_COLUMNS):
            raise InputError(f"CNT CSV needs exactly {len(CNT_COLUMNS)} columns when read by "
                             f"position, got {raw.shape[1]}", file=display)
        raw.columns = CNT_COLUMNS
    missing = [c for c in CNT_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(f"CNT CSV lacks required columns: {', '.join(missing)} (read by name; "
                         "pass by_position=True to use CNT's column order)", file=display)
    out = pd.DataFrame({c: pd.Series(raw[c].to_numpy(dtype=object), dtype=object)
                        for c in CNT_COLUMNS})
    out["timestamp"] = _float_times(out["timestamp"], display)
    return out


def _float_times(values: Any, display: str | None = None) -> np.ndarray:
    """Timestamps as float64 seconds: numbers as they are, datetimes as epoch seconds, strings
    through Python's ``float`` (CNT's parser)."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return to_epoch_ns(s) / 1e9
    if pd.api.types.is_datetime64_dtype(s):
        return to_epoch_ns(s.dt.tz_localize("UTC")) / 1e9
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = s.to_numpy(dtype=object)
    na = pd.isna(arr)
    if na.any():
        arr = arr.copy()
        arr[na] = np.nan
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        bad = next(i for i, v in enumerate(arr) if not _is_float(v))
        raise InputError(f"timestamp {arr[bad]!r} is not a number (seconds)", file=display,
                         row=bad + 2, column="timestamp") from None


def _is_float(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def cnt_input_from_actions(actions: pd.DataFrame) -> pd.DataFrame:
    """cib ACTIONS -> CNT's message table (the input of :func:`cnt_edges`).

    - ``message_id`` is ``action_id``.
    - ``user_id`` and ``username`` are ``account_id`` (ACTIONS has no display name).
    - ``repost_id`` is ``parent_id`` for reposts.
    - ``reply_id`` is ``parent_id`` for replies.
    - Posts and quotes are non-reposts without ``reply_id``, as in CNT's Twitter readers.
    - ``message`` is ``text``, with ``''`` when it is missing.
    - ``timestamp`` is epoch seconds (float64).
    - ``urls`` is the ``urls`` list joined by single spaces, with ``''`` when there are none. The
      empty cell is therefore the same as a CSV written for CNT, and ``keep_empty_urls`` acts on
      it in the same way.

    Reposts without a ``parent_id`` are dropped. CNT would treat them as original posts, and their
    empty text would then co-tweet with each other.

    Parameters
    ----------
    actions : DataFrame
        ACTIONS (:data:`cib.schema.ACTION_COLUMNS`).

    Returns
    -------
    DataFrame
        :data:`CNT_COLUMNS`; object columns of ``str`` except ``timestamp`` (float64). Rows are
        in the order of ``actions``.

    Raises
    ------
    InputError
        If ``actions`` does not follow the ACTIONS contract.

    Examples
    --------
    >>> a = pd.DataFrame({"action_id": ["1", "2"], "account_id": ["u", "v"],
    ...     "timestamp": pd.to_datetime([100, 130], unit="s", utc=True),
    ...     "action_type": ["post", "repost"], "parent_id": [None, "1"], "text": ["Hi", None],
    ...     "urls": [["a.org", "b.org"], []], "hashtags": [[], []], "mentions": [[], []],
    ...     "media": [[], []], "platform": "x"})
    >>> m = cnt_input_from_actions(a)
    >>> m[["repost_id", "timestamp", "urls"]].to_dict("list")
    {'repost_id': ['', '1'], 'timestamp': [100.0, 130.0], 'urls': ['a.org b.org', '']}
    """
    validate_actions(actions)
    kind = actions["action_type"].astype(object).to_numpy()
    parent = _strings(actions["parent_id"])
    is_repost = kind == "repost"
    keep = ~(is_repost & (parent == ""))
    account = _strings(actions["account_id"])
    urls = np.array([_join_urls(u) for u in actions["urls"].to_numpy(dtype=object)], dtype=object)
    columns = {
        "message_id": _strings(actions["action_id"]),
        "user_id": account,
        "username": account,
        "repost_id": np.where(is_repost, parent, "").astype(object),
        "reply_id": np.where(kind == "reply", parent, "").astype(object),
        "message": _strings(actions["text"]),
        "timestamp": to_epoch_ns(actions["timestamp"]) / 1e9,
        "urls": urls,
    }
    return pd.DataFrame({c: pd.Series(v[keep], dtype=object if c != "timestamp" else None)
                         for c, v in columns.items()})


def _join_urls(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, str):
        return value
    return " ".join(str(u) for u in value)


def _strings(values: Any) -> np.ndarray:
    """An object array of str, with missing values as ``''``."""
    if isinstance(values, (pd.Series, pd.Index)):
        arr = values.to_numpy(dtype=object)
    elif isinstance(values, np.ndarray) and values.ndim == 1:
        arr = values.astype(object, copy=False)
    else:
        arr = np.array(list(values), dtype=object)
    na = pd.isna(arr)
    if na.any():
        arr = arr.copy()
        arr[na] = ""
    if pd.api.types.infer_dtype(arr, skipna=False) not in ("string", "empty"):
        arr = np.array([str(v) for v in arr], dtype=object)
    return arr


# --------------------------------------------------------------------------------------------
# co_tweet text


def cnt_message_preprocessor(text: Any) -> Any:
    """CNT's co_tweet normalisation (``similarity.message_preprocessor``).

    The text is lowercased, ``@mentions`` are removed (``@`` up to the next white space) and
    white space is collapsed to single spaces, with none at either end.

    Parameters
    ----------
    text : str, or array-like of str
        Missing values become ``''``.

    Returns
    -------
    str, or an object array of the same length

    Examples
    --------
    >>> cnt_message_preprocessor("  Hello @Bob\\tWORLD ")
    'hello world'
    >>> cnt_message_preprocessor(["@only", "A  b", None]).tolist()
    ['', 'a b', '']
    """
    if isinstance(text, str):
        return " ".join(_MENTION.sub("", text.lower()).split())
    arr = _strings(text)
    codes, uniques = pd.factorize(arr)
    done = np.array([" ".join(_MENTION.sub("", u.lower()).split()) for u in uniques],
                    dtype=object)
    return done[codes] if len(arr) else np.empty(0, dtype=object)


# --------------------------------------------------------------------------------------------
# networks


def cnt_edges(messages: pd.DataFrame, network: str = "co_retweet", time_window: Any = 60,
              min_edge_weight: float = 1, keep_empty_urls: bool = False,
              loops: bool = False) -> pd.DataFrame:
    """One CNT network: directed edges ``user_1 -> user_2`` with CNT's weight.

    ``weight`` is the number of distinct messages of ``user_1`` that have at least one message of
    ``user_2`` on the same object within ``time_window`` seconds, either side, ends included. The
    module docstring gives the full semantics and the bug choices.

    Parameters
    ----------
    messages : DataFrame
        CNT's message table (:func:`read_cnt_csv`, :func:`cnt_input_from_actions`). It needs
        ``message_id``, ``user_id``, ``repost_id``, ``reply_id``, ``message``, ``timestamp``
        (seconds; datetimes are turned into epoch seconds) and ``urls`` (a space-separated
        string as in CNT's CSV, or a list of URLs as in CNT's ``preprocess_data``). Missing values
        in the text columns count as ``''``. Rows are in input order, so the first row of a
        repeated ``message_id`` wins.
    network : {"co_retweet", "co_link", "co_reply", "co_tweet"}, default "co_retweet"
    time_window : float or str, default 60
        ``W`` in seconds, or a duration such as ``"90s"``. Note that CNT's command line defaults
        to 1 second.
    min_edge_weight : float, default 1
        Keep ``weight >= min_edge_weight``, tested for each direction separately. CNT's command line
        defaults to 2.
    keep_empty_urls : bool, default False
        co_link only. True reproduces CNT's bug: the empty URL ``''`` (an empty ``urls`` cell, or a
        doubled space) is a URL, so every URL-less post co-links. False drops it.
    loops : bool, default False
        Keep the self-loops ``u -> u`` of CNT's network table. CNT's exports drop them.

    Returns
    -------
    DataFrame
        ``user_1``, ``user_2`` (object dtype, str) and ``weight`` (int64), sorted by ``user_1``
        then ``user_2`` (code-point order).

    Raises
    ------
    InputError
        If required columns are missing, or ``message_id`` or ``user_id`` is missing.
    cib.errors.ParameterError
        If a parameter is out of range.

    Examples
    --------
    A at t=0 and t=30, E at t=50 with the same URL; B, C, D repost item 9 at t=100, 160, 161:

    >>> m = pd.DataFrame({"message_id": list("123456"), "user_id": list("AAEBCD"),
    ...     "repost_id": ["", "", "", "9", "9", "9"], "reply_id": "", "message": "",
    ...     "timestamp": [0, 30, 50, 100, 160, 161], "urls": ["x.org"] * 3 + [""] * 3})
    >>> cnt_edges(m, "co_link").to_dict("list")
    {'user_1': ['A', 'E'], 'user_2': ['E', 'A'], 'weight': [2, 1]}
    >>> cnt_edges(m, "co_retweet").to_dict("list")
    {'user_1': ['B', 'C', 'C', 'D'], 'user_2': ['C', 'B', 'D', 'C'], 'weight': [1, 1, 1, 1]}
    """
    net = check_choice(network, CNT_NETWORKS, "network", "cnt_edges")
    w = parse_duration(time_window, "time_window", "cnt_edges")
    mw = check_number(_scalar(min_edge_weight), "min_edge_weight", "cnt_edges")
    _check_messages(messages)

    mid = _strings(messages["message_id"])
    uid = _strings(messages["user_id"])
    bad = pd.isna(messages["message_id"].to_numpy(dtype=object)) | pd.isna(
        messages["user_id"].to_numpy(dtype=object))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"{int(bad.sum())} rows lack a message_id or user_id (first: row "
                         f"{row + 1} of the table)")
    t = _float_times(messages["timestamp"])
    repost = _strings(messages["repost_id"])
    non_repost = repost == ""

    if net == "co_link":
        rows, key = _url_rows(mid, messages["urls"], non_repost, keep_empty_urls)
    else:
        first = ~pd.Series(mid, dtype=object).duplicated(keep="first").to_numpy()
        if net == "co_retweet":
            rows = np.flatnonzero(first & ~non_repost)
            key = repost[rows]
        elif net == "co_reply":
            reply = _strings(messages["reply_id"])
            rows = np.flatnonzero(first & non_repost & (reply != ""))
            key = reply[rows]
        else:  # co_tweet
            rows = np.flatnonzero(first & non_repost)
            key = cnt_message_preprocessor(_strings(messages["message"])[rows])

    user_codes, users = pd.factorize(uid[rows], sort=True)
    msg_codes, _ = pd.factorize(mid[rows])
    key_codes, _ = pd.factorize(key)
    src, dst, weight = _directed_weights(key_codes.astype(np.int64), t[rows],
                                         user_codes.astype(np.int64), msg_codes.astype(np.int64),
                                         len(users), w, loops)
    keep = weight >= mw
    users = np.asarray(users, dtype=object)
    return pd.DataFrame({
        "user_1": pd.Series(users[src[keep]], dtype=object),
        "user_2": pd.Series(users[dst[keep]], dtype=object),
        "weight": weight[keep].astype(np.int64),
    })


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, pd.DataFrame):
        raise InputError(f"CNT messages must be a pandas DataFrame, got "
                         f"{type(messages).__name__}")
    missing = [c for c in _REQUIRED if c not in messages.columns]
    if missing:
        raise InputError(f"CNT messages lack required columns: {', '.join(missing)}")


def _url_rows(mid: np.ndarray, urls: pd.Series, non_repost: np.ndarray,
              keep_empty: bool) -> tuple[np.ndarray, np.ndarray]:
    """CNT's ``message_url`` table: (row, url) for the URLs of non-repost rows (every row, repeated
    message ids included), unique on (message_id, url) with the first occurrence kept."""
    rows = np.flatnonzero(non_repost)
    cells = urls.to_numpy(dtype=object)[rows]
    na = pd.isna(cells)
    if na.any():  # a missing cell is an empty CSV cell
        cells = cells.copy()
        cells[na] = ""
    is_str = np.fromiter((isinstance(c, str) for c in cells), dtype=bool, count=len(cells))
    single = is_str & ~pd.Series(cells, dtype=object).str.contains(" ", regex=False).to_numpy(
        dtype=bool, na_value=False)
    lists = [c.split(" ") if isinstance(c, str) else [str(u) for u in c]  # a list: as CNT's
             for c in cells[~single]]                                    # preprocess_data
    lengths = np.ones(len(cells), dtype=np.int64)
    lengths[~single] = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    starts = np.cumsum(lengths) - lengths
    url = np.empty(int(lengths.sum()), dtype=object)
    url[starts[single]] = cells[single]
    multi = np.flatnonzero(~single)
    if multi.size:
        pos = np.repeat(starts[multi], lengths[multi]) + _ramp(lengths[multi])
        url[pos] = [u for x in lists for u in x]
    row_of = np.repeat(rows, lengths)
    if not keep_empty:
        ok = url != ""
        row_of, url = row_of[ok], url[ok]
    m_codes, _ = pd.factorize(mid[row_of])
    u_codes, u_values = pd.factorize(url)
    pair = m_codes.astype(np.int64) * np.int64(len(u_values) + 1) + u_codes
    dup = pd.Series(pair).duplicated(keep="first").to_numpy()
    return row_of[~dup], url[~dup]


def _ramp(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ..., n-1 for each n in ``lengths``, concatenated."""
    total = int(lengths.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _window_pairs(end: np.ndarray, t: np.ndarray, w: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``i < j`` of rows sorted by (key, time) with the same key where at least one direction
    qualifies under CNT's ``between`` test.

    ``end[i]`` is one past the last row of ``i``'s key. Forward (``i`` is ``e_1``):
    ``t[j] <= t[i] + w``. Backward (``j`` is ``e_1``): ``t[i] >= t[j] - w``. The other bound of
    each holds because ``t[i] <= t[j]``. The bounds are rounded as float64, as SQLite rounds them,
    so the two can differ for fractional times. Both tests are monotone in ``j``, so a row leaves
    the active set at its first failure.
    """
    n = len(t)
    upper = t + w
    lower = t - w
    out: list[tuple[np.ndarray, ...]] = []
    active = np.arange(max(n - 1, 0), dtype=np.int64)
    k = 1
    while active.size:
        j = active + k
        inside = j < end[active]
        active, j = active[inside], j[inside]
        fwd = t[j] <= upper[active]
        bwd = t[active] >= lower[j]
        ok = fwd | bwd
        active, j, fwd, bwd = active[ok], j[ok], fwd[ok], bwd[ok]
        if active.size:
            out.append((active, j, fwd, bwd))
        k += 1
    if not out:
        e = np.empty(0, np.int64)
        return e, e, np.empty(0, bool), np.empty(0, bool)
    i, j, fwd, bwd = (np.concatenate([o[c] for o in out]) for c in range(4))
    return i, j, fwd, bwd


def _directed_weights(key: np.ndarray, t: np.ndarray, user: np.ndarray, msg: np.ndarray,
                      n_users: int, w: float, loops: bool
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count(distinct e_1.message_id)`` grouped by ``(e_1.user, e_2.user)``.

    The inputs are one row per joinable trace: the object key, the time, the user code and the
    message code. The result is sorted by (src, dst).
    """
    e = np.empty(0, np.int64)
    if key.size == 0:
        return e, e, e
    # A message is counted once for each user it belongs to: in co_link a repeated message_id can
    # carry another user. So the unit is the (message, user) "entity".
    n = np.int64(n_users)
    ent_codes, ent_uniques = pd.factorize(msg * n + user)
    n_ent = np.int64(len(ent_uniques))
    ent_user = np.asarray(ent_uniques, dtype=np.int64) % n

    order = np.lexsort((t, key))
    ks, ts = key[order], t[order]
    us, es = user[order], ent_codes.astype(np.int64)[order]
    bounds = np.flatnonzero(ks[1:] != ks[:-1]) + 1
    starts = np.concatenate(([0], bounds))
    stops = np.concatenate((bounds, [len(ks)]))
    end = np.repeat(stops, stops - starts)
    i, j, fwd, bwd = _window_pairs(end, ts, w)
    other = us[i] != us[j]  # a same-user pair only repeats the self row
    if not other.all():
        i, j, fwd, bwd = i[other], j[other], fwd[other], bwd[other]
    if fwd.all() and bwd.all():  # always so with integer times
        src_ent = np.concatenate((es[i], es[j]))
        dst = np.concatenate((us[j], us[i]))
    else:
        src_ent = np.concatenate((es[i[fwd]], es[j[bwd]]))
        dst = np.concatenate((us[j[fwd]], us[i[bwd]]))
    del i, j, fwd, bwd
    if loops:
        live = ~np.isnan(ts)  # NULL in SQLite: never between anything, not even itself
        src_ent = np.concatenate((src_ent, es[live]))
        dst = np.concatenate((dst, us[live]))
    if src_ent.size == 0:
        return e, e, e
    if int(n) * int(n) * int(n_ent) < _MAX_CODE:
        # one sort: (src user, dst user, entity) codes, sorted, so pairs come out grouped
        code = _sorted_unique((ent_user[src_ent] * n + dst) * n_ent + src_ent)
        pair = code // n_ent
    else:
        code = _sorted_unique(src_ent * n + dst)
        pair = np.sort(ent_user[code // n] * n + code % n)
    first = np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1])))
    weight = np.diff(np.append(first, pair.size))
    pair = pair[first]
    return pair // n, pair % n, weight.astype(np.int64)


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """``np.unique`` by sorting (numpy 2's hash-based unique is slower on large int64 arrays)."""
    x = np.sort(x)
    if x.size:
        x = x[np.concatenate(([True], x[1:] != x[:-1]))]
    return x
