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

Engines:

- **Input.** :func:`read_cnt_csv` parses a CSV file with ``pyarrow.csv`` after a numba scan has
  checked that pandas would split it the same way (else ``pandas.read_csv``, as before). Text
  columns stay pyarrow-backed and become integer codes with pyarrow's ``dictionary_encode``
  (``pd.factorize`` for object columns).
- **Join.** The join and the ``count(distinct message)`` are one numba kernel
  (:func:`_nb_cnt_rows` counts, :func:`_nb_cnt_fill` writes), *user-major* like
  :mod:`cib.coaction._kernel`: for each user ``u`` (parallel blocks of users), each message of
  ``u`` scans its window partners in place in the rows sorted by (object, time), and a scratch
  table indexed by user counts each partner user once per message. Nothing proportional to the
  number of pairs is allocated; the output is allocated once, at its exact size. Without numba
  (``cib.coaction._kernel.HAVE_NUMBA`` false), the pure-numpy :func:`_directed_weights` (which
  materialises the pairs) gives the same edges.
- **Files.** :class:`_CntEdges` renders ``cib.compat.run_cnt``'s ``edges.csv``, ``edges.parquet``,
  ``graph.gexf`` and ``graph.graphml`` from the codes (numba for the text files, pyarrow for
  Parquet), byte for byte as :func:`cib.export.write_outputs` writes the ``edges`` table and the
  networkx graph, without building either; each format is checked against the real writers on
  a sample of rows first.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from ..params import check_choice, check_number, parse_duration
from ..schema import to_epoch_ns, validate_actions
from ._kernel import HAVE_NUMBA

if HAVE_NUMBA:
    from numba import get_num_threads, get_thread_id, njit, prange, set_parallel_chunksize
else:  # pragma: no cover - exercised by a subprocess test
    prange = range


def _jit(func: Any) -> Any:
    """``numba.njit(cache=True, nogil=True)`` when numba is importable (else unused)."""
    if HAVE_NUMBA:
        return njit(cache=True, nogil=True)(func)
    return func  # pragma: no cover


def _jit_parallel(func: Any) -> Any:
    """The same with ``parallel=True`` (``prange`` loops on numba's threads)."""
    if HAVE_NUMBA:
        return njit(cache=True, nogil=True, parallel=True)(func)
    return func  # pragma: no cover

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
        :data:`CNT_COLUMNS`, in that order. Every column is a pyarrow-backed string column (pandas'
        ``"str"`` dtype; empty cells are ``''``, never missing) except ``timestamp``, which is
        float64 parsed as Python's ``float`` does, as in CNT.

    Raises
    ------
    InputError
        If columns are missing (they are all named) or a timestamp is not a number.

    Notes
    -----
    A file given by path is parsed with ``pyarrow.csv`` (multi-threaded, only CNT's columns, all as
    strings). Whatever pyarrow does not read exactly as ``pandas.read_csv`` would (ragged rows,
    white-space-only lines, lone carriage returns, stray or unclosed quotes, invalid UTF-8,
    compressions pyarrow does not share with pandas, file objects; and any file without numba)
    goes through ``pandas.read_csv``, so both give the same table.

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
    if not by_position and _arrow_can_read(path):
        try:
            table = _read_arrow(path)
        except Exception:  # noqa: BLE001 - pandas decides (and words the error)
            table = None
        if table is not None:
            return _frame_from_arrow(table, display)
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
    out = pd.DataFrame({c: pd.Series(raw[c].to_numpy(dtype=object), dtype=_STR)
                        for c in CNT_COLUMNS if c != "timestamp"})
    out.insert(CNT_COLUMNS.index("timestamp"), "timestamp",
               _float_times(raw["timestamp"].to_numpy(dtype=object), display))
    return out


def _str_dtype() -> pd.StringDtype:
    """pandas' pyarrow-backed ``"str"`` dtype (missing value NaN), under pandas 2.2 and 3."""
    try:
        return pd.StringDtype("pyarrow", na_value=np.nan)
    except TypeError:  # pragma: no cover - pandas < 2.3
        return pd.StringDtype("pyarrow_numpy")


_STR = _str_dtype()

# Compressions pandas and pyarrow do not both read the same way (pyarrow: .gz, .bz2, .zst, .lz4
# by suffix; pandas: .gz, .bz2, .zst, .zip, .xz, .tar...). These files go through pandas.
_PANDAS_ONLY_SUFFIXES = (".zip", ".xz", ".tar", ".tgz", ".tbz", ".tbz2", ".txz", ".lz4",
                         ".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst")
# A timestamp cell that pyarrow's float cast and Python's float read alike (both correctly
# rounded). Anything else (white space, "1_000", "inf", "nan", ...) goes through Python's float.
_PLAIN_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


def _arrow_can_read(path: Any) -> bool:
    if not isinstance(path, (str, os.PathLike)):
        return False
    name = os.fspath(path)
    if not isinstance(name, str) or "://" in name:
        return False
    return not name.lower().endswith(_PANDAS_ONLY_SUFFIXES) and os.path.isfile(name)


def _read_arrow(path: str | os.PathLike[str]) -> pa.Table:
    """CNT's columns of a CSV file as pyarrow strings (raises on anything pandas could read
    differently: the caller then uses pandas)."""
    import pyarrow.csv as pacsv

    plain, newlines = _plain_csv(path)
    if not plain:
        raise ValueError("not plain CSV: pandas reads it")
    return pacsv.read_csv(
        os.fspath(path),
        read_options=pacsv.ReadOptions(encoding="utf8", block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=newlines, ignore_empty_lines=True),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.large_string() for c in CNT_COLUMNS}, include_columns=CNT_COLUMNS,
            include_missing_columns=False, strings_can_be_null=False,
            quoted_strings_can_be_null=False))


def _plain_csv(path: str | os.PathLike[str], block: int = 1 << 24) -> tuple[bool, bool]:
    """Whether the (decompressed) file is CSV that pyarrow and pandas split alike: every quote
    opens a field, ends it, or is doubled inside it; no quoted field runs to the end of the file;
    every carriage return ends a CRLF. (On anything else, e.g. ``x"y`` or ``"a"b``, the two
    parsers can disagree.) And whether a quoted field holds a line break (pyarrow then needs
    ``newlines_in_values``, which halves its speed). Needs numba; without it: not plain."""
    if not HAVE_NUMBA:
        return False, True
    state = np.zeros(3, dtype=np.int64)  # tokenizer state, pending CR, line break in quotes
    with pa.input_stream(os.fspath(path), compression="detect") as f:
        while True:
            data = f.read(block)
            if not data:
                break
            if (state[0] < 2 and state[1] == 0 and data.find(b'"') < 0
                    and data.find(b"\r") < 0):  # nothing to track (memchr speed)
                state[0] = 0 if data[-1:] in (b",", b"\n") else 1
                continue
            if not _nb_csv_scan(np.frombuffer(data, dtype=np.uint8), state):
                return False, True
    return bool(state[0] != 2 and state[1] == 0), bool(state[2])


@_jit
def _nb_csv_scan(buf, state):  # pragma: no cover - compiled
    """Advance the CSV tokenizer over ``buf`` (states: 0 field start, 1 unquoted field, 2 quoted
    field, 3 quote inside a quoted field); False at the first byte the parsers may read apart."""
    st = state[0]
    cr = state[1]
    for k in range(buf.shape[0]):
        c = buf[k]
        if cr:
            if c != 10:
                return False
            cr = 0
            if st != 2:
                st = 0
            continue
        if c == 13:
            cr = 1
            if st == 3:
                st = 0
            elif st == 2:
                state[2] = 1
            continue
        if st == 0:
            if c == 34:
                st = 2
            elif c != 44 and c != 10:
                st = 1
        elif st == 1:
            if c == 44 or c == 10:
                st = 0
            elif c == 34:
                return False
        elif st == 2:
            if c == 34:
                st = 3
            elif c == 10:
                state[2] = 1
        else:
            if c == 34:
                st = 2
            elif c == 44 or c == 10:
                st = 0
            else:
                return False
    state[0] = st
    state[1] = cr
    return True


def _frame_from_arrow(table: pa.Table, display: str | None) -> pd.DataFrame:
    columns: dict[str, Any] = {}
    for c in CNT_COLUMNS:
        col = table.column(c)
        if c == "timestamp":
            columns[c] = _arrow_times(col, display)
        else:
            columns[c] = pd.Series(col, dtype=_STR)
    return pd.DataFrame(columns)


def _arrow_times(col: pa.ChunkedArray, display: str | None) -> np.ndarray:
    """A string column of seconds as float64, exactly as Python's ``float`` parses it."""
    if pc.all(pc.match_substring_regex(col, _PLAIN_NUMBER)).as_py() is not False:
        try:
            return np.asarray(pc.cast(col, pa.float64()).to_numpy(), dtype=np.float64)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # pragma: no cover - defensive
            pass
    return _float_times(col.to_numpy(zero_copy_only=False).astype(object), display)


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
        :data:`CNT_COLUMNS`; string columns (the ``"str"`` dtype of :func:`read_cnt_csv`) except
        ``timestamp`` (float64). Rows are in the order of ``actions``.

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
    return pd.DataFrame({c: pd.Series(v[keep], dtype=_STR if c != "timestamp" else None)
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
    users, src, dst, weight = _cnt_edge_codes(messages, network, time_window, min_edge_weight,
                                              keep_empty_urls, loops)
    return pd.DataFrame({
        "user_1": pd.Series(users[src], dtype=object),
        "user_2": pd.Series(users[dst], dtype=object),
        "weight": weight,
    })


def _cnt_edge_codes(messages: pd.DataFrame, network: str = "co_retweet", time_window: Any = 60,
                    min_edge_weight: float = 1, keep_empty_urls: bool = False,
                    loops: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cnt_edges` as codes (what :func:`cib.compat.run_cnt` uses): the users (an object
    array of str, in code-point order) and the edges ``users[src] -> users[dst]`` with their
    ``weight`` (int64), sorted by (src, dst)."""
    net = check_choice(network, CNT_NETWORKS, "network", "cnt_edges")
    w = parse_duration(time_window, "time_window", "cnt_edges")
    mw = check_number(_scalar(min_edge_weight), "min_edge_weight", "cnt_edges")
    _check_messages(messages)
    return _edge_codes(messages, net, w, mw, keep_empty_urls, loops)


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, pd.DataFrame):
        raise InputError(f"CNT messages must be a pandas DataFrame, got "
                         f"{type(messages).__name__}")
    missing = [c for c in _REQUIRED if c not in messages.columns]
    if missing:
        raise InputError(f"CNT messages lack required columns: {', '.join(missing)}")


def _edge_codes(messages: pd.DataFrame, net: str, w: float, mw: float, keep_empty_urls: bool,
                loops: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cnt_edges` as codes: the users (object array of str, sorted by code point) and the
    edges ``users[src] -> users[dst]`` with their ``weight`` (int64), sorted by (src, dst)."""
    bad = (messages["message_id"].isna().to_numpy(dtype=bool)
           | messages["user_id"].isna().to_numpy(dtype=bool))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"{int(bad.sum())} rows lack a message_id or user_id (first: row "
                         f"{row + 1} of the table)")
    mid = _factorize(messages["message_id"])[0]
    t = _float_times(messages["timestamp"])
    repost, repost_dict = _factorize(messages["repost_id"])
    non_repost = repost == _code_of_empty(repost_dict)

    if net == "co_link":
        rows, key = _url_rows(mid, messages["urls"], non_repost, keep_empty_urls)
        distinct = False
    else:
        first = ~pd.Series(mid).duplicated(keep="first").to_numpy()
        distinct = True  # one row per message from here: each row is its own entity
        if net == "co_retweet":
            rows = np.flatnonzero(first & ~non_repost)
            key = repost[rows]
        elif net == "co_reply":
            reply, reply_dict = _factorize(messages["reply_id"])
            rows = np.flatnonzero(first & non_repost & (reply != _code_of_empty(reply_dict)))
            key = reply[rows]
        else:  # co_tweet: the normalised text of each distinct text
            rows = np.flatnonzero(first & non_repost)
            text, text_dict = _factorize(messages["message"], rows)
            done = [" ".join(_MENTION.sub("", u.lower()).split()) for u in _objects(text_dict)]
            key = pd.factorize(np.array(done, dtype=object))[0].astype(np.int64)[text]

    user, user_dict = _factorize(messages["user_id"], rows)
    users = _objects(user_dict)
    order = np.argsort(users, kind="stable")  # code-point order, as pd.factorize(sort=True)
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users), dtype=np.int64)
    src, dst, weight = _weights(key, t[rows], rank[user], mid[rows], len(users), w, mw, loops,
                                distinct)
    return users[order], src, dst, weight


def _arrow_strings(values: Any) -> pa.Array | pa.ChunkedArray | None:
    """A pyarrow-backed string column (or a pyarrow string array) as pyarrow, with missing values
    as ``''``; None for anything else."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return pc.fill_null(values, "") if values.null_count else values
    if not isinstance(values, pd.Series):
        return None
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):
        if not str(dtype.storage).startswith("pyarrow"):
            return None
    elif not (isinstance(dtype, pd.ArrowDtype) and (pa.types.is_string(dtype.pyarrow_dtype)
                                                    or pa.types.is_large_string(
                                                        dtype.pyarrow_dtype))):
        return None
    arr = pa.array(values)
    return pc.fill_null(arr, "") if arr.null_count else arr


def _factorize(values: Any, rows: np.ndarray | None = None
               ) -> tuple[np.ndarray, pa.Array | np.ndarray]:
    """Codes (int64, in order of first appearance) of a text column, or of its ``rows``, and the
    distinct values (a pyarrow array, or an object array of str). Missing values count as ``''``
    and other values as their ``str``, as :func:`_strings` does."""
    arr = _arrow_strings(values)
    if arr is not None:
        if rows is not None:
            arr = arr.take(pa.array(rows, type=pa.int64()))
        if len(arr) == 0:
            return np.empty(0, np.int64), np.empty(0, dtype=object)
        enc = pc.dictionary_encode(arr)
        if isinstance(enc, pa.ChunkedArray):
            chunks = [c for c in enc.chunks if len(c)]
            if len({c.dictionary.buffers()[1].address for c in chunks}) != 1:
                # chunks with dictionaries of their own: encode it again in one piece
                enc = pc.dictionary_encode(arr.combine_chunks())
                chunks = [enc]
        else:
            chunks = [enc]
        codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in chunks])
        return codes.astype(np.int64, copy=False), chunks[-1].dictionary
    s = _strings(values)
    if rows is not None:
        s = s[rows]
    codes, uniques = pd.factorize(s)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def _code_of_empty(uniques: pa.Array | np.ndarray) -> int:
    """The code of ``''`` among the distinct values of :func:`_factorize` (-1: none)."""
    if isinstance(uniques, np.ndarray):
        hit = np.flatnonzero(uniques == "")
        return int(hit[0]) if hit.size else -1
    return int(pc.index(uniques, "").as_py())


def _objects(uniques: pa.Array | np.ndarray) -> np.ndarray:
    if isinstance(uniques, np.ndarray):
        return uniques
    return np.asarray(uniques.to_numpy(zero_copy_only=False), dtype=object)


def _url_rows(mid: np.ndarray, urls: pd.Series, non_repost: np.ndarray,
              keep_empty: bool) -> tuple[np.ndarray, np.ndarray]:
    """CNT's ``message_url`` table: (row, url code) for the URLs of non-repost rows (every row,
    repeated message ids included), unique on (message_id, url) with the first occurrence kept.
    ``mid`` holds message codes."""
    rows = np.flatnonzero(non_repost)
    arr = _arrow_strings(urls)
    if arr is not None:  # cell.split(" ") in pyarrow
        parts = pc.split_pattern(arr.take(pa.array(rows, type=pa.int64())), " ")
        if isinstance(parts, pa.ChunkedArray):
            parts = parts.combine_chunks()
        row_of = rows[pc.list_parent_indices(parts).to_numpy(zero_copy_only=False)]
        u_codes, u_values = _factorize(pc.list_flatten(parts))
        empty = _code_of_empty(u_values)
        n_values = len(u_values)
    else:
        row_of, url = _url_cells(urls, rows)
        u_codes, u_values = pd.factorize(url)
        u_codes = u_codes.astype(np.int64)
        n_values = len(u_values)
        hit = np.flatnonzero(np.asarray(u_values, dtype=object) == "")
        empty = int(hit[0]) if hit.size else -1
    if not keep_empty and empty >= 0:
        ok = u_codes != empty
        row_of, u_codes = row_of[ok], u_codes[ok]
    pair = mid[row_of] * np.int64(n_values + 1) + u_codes
    dup = pd.Series(pair).duplicated(keep="first").to_numpy()
    return row_of[~dup], u_codes[~dup]


def _url_cells(urls: pd.Series, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, url) for the cells of ``rows``: ``cell.split(" ")``, or the items of a list cell."""
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
    return np.repeat(rows, lengths), url


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


# --------------------------------------------------------------------------------------------
# the numba kernel


@_jit
def _nb_count_partner(v, u, e, r, mark, seen, cnt, lst):  # pragma: no cover - compiled
    """Count partner ``v`` of user ``u`` once for entity ``e`` (see :func:`_nb_cnt_user`);
    returns the new length of ``lst``."""
    if v != u and mark[v] != e:
        mark[v] = e
        if seen[v] != u:
            seen[v] = u
            cnt[v] = 1
            lst[r] = v
            r += 1
        else:
            cnt[v] += 1
    return r


@_jit
def _nb_cnt_user(u, skey, st, su, w, erow, eptr, uptr, mark, seen, cnt, lst):  # pragma: no cover
    """The partners of user ``u``: ``lst[:r]`` (unsorted) with ``cnt[v]`` = the number of distinct
    messages (entities) of ``u`` with a message of ``v != u`` on the same object within the
    window. Returns ``r`` and the self-loop weight (the messages of ``u`` with a time).

    ``skey``/``st``/``su`` are object, time and user of the rows sorted by (object, time), NaN
    times last; ``erow[eptr[e]:eptr[e + 1]]`` are the sorted positions of entity ``e``'s rows and
    ``uptr[u]:uptr[u + 1]`` the entities of ``u``. ``mark[v]`` is the last entity that counted
    ``v`` and ``seen[v]`` the last user that did (scratch, never reset: entities and users are
    unique). The bounds ``t - w`` and ``t + w`` are float64 as in SQLite, both ends included."""
    n = st.shape[0]
    r = 0
    self_w = 0
    for e in range(uptr[u], uptr[u + 1]):
        live = False
        for k in range(eptr[e], eptr[e + 1]):
            p = erow[k]
            tp = st[p]
            if np.isnan(tp):  # NaN (NULL in SQLite) is never between anything
                continue
            live = True
            g = skey[p]
            lo = tp - w
            hi = tp + w
            q = p - 1
            while q >= 0 and skey[q] == g and st[q] >= lo:
                r = _nb_count_partner(su[q], u, e, r, mark, seen, cnt, lst)
                q -= 1
            q = p + 1
            while q < n and skey[q] == g and st[q] <= hi:  # NaN times sort last: the scan stops
                r = _nb_count_partner(su[q], u, e, r, mark, seen, cnt, lst)
                q += 1
        if live:
            self_w += 1
    return r, self_w


_DEBRUIJN64 = np.uint64(0x03F79D71B4CB0A89)
_DEBRUIJN_INDEX = np.array([0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4, 62, 55, 59,
                            36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5, 63, 47, 56, 27, 60,
                            41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11, 46, 26, 40, 15, 34, 20, 31,
                            10, 25, 14, 19, 9, 13, 8, 7, 6], dtype=np.int64)


@_jit
def _nb_sorted_partners(lst, r, bits):  # pragma: no cover - compiled
    """``lst[:r]`` (distinct user codes) sorted in place. When the codes are dense enough, through
    the bitmap ``bits`` (all zero, left all zero) scanned over their range with a De Bruijn bit
    index: linear, where the per-user quicksort dominated the whole kernel."""
    part = lst[:r]
    if r < 2:
        return part
    lo = part[0]
    hi = part[0]
    for k in range(r):
        lo = min(lo, part[k])
        hi = max(hi, part[k])
    w0 = lo >> 6
    w1 = hi >> 6
    if (w1 - w0 + 1) > 4 * r:
        part.sort()
        return part
    for k in range(r):
        v = part[k]
        bits[v >> 6] |= np.uint64(1) << np.uint64(v & 63)
    o = 0
    for wi in range(w0, w1 + 1):
        x = bits[wi]
        if x == 0:
            continue
        bits[wi] = 0
        base = wi << 6
        while x != 0:
            low = x & (~x + np.uint64(1))
            part[o] = base + _DEBRUIJN_INDEX[(low * _DEBRUIJN64) >> np.uint64(58)]
            o += 1
            x ^= low
    return part


@_jit
def _nb_cnt_block(u0, u1, skey, st, su, w, erow, eptr, uptr, min_weight, loops, mark, seen, cnt,
                  lst, bits, rows, fill, out_start, out_u, out_v, out_w):  # pragma: no cover
    """Users ``u0 <= u < u1``: count their edges with ``weight >= min_weight`` into ``rows[u]``
    (``fill`` false), or write them at ``out_start[u]``, sorted by partner (``fill`` true)."""
    for u in range(u0, u1):
        if fill and rows[u] == 0:
            continue
        r, self_w = _nb_cnt_user(u, skey, st, su, w, erow, eptr, uptr, mark, seen, cnt, lst)
        with_loop = loops and self_w > 0 and self_w >= min_weight
        if not fill:
            m = 1 if with_loop else 0
            for k in range(r):
                if cnt[lst[k]] >= min_weight:
                    m += 1
            rows[u] = m
            continue
        part = _nb_sorted_partners(lst, r, bits)
        o = out_start[u]
        for k in range(r):
            v = part[k]
            if with_loop and v > u:
                out_u[o] = u
                out_v[o] = u
                out_w[o] = self_w
                o += 1
                with_loop = False
            if cnt[v] >= min_weight:
                out_u[o] = u
                out_v[o] = v
                out_w[o] = cnt[v]
                o += 1
        if with_loop:
            out_u[o] = u
            out_v[o] = u
            out_w[o] = self_w


@_jit_parallel
def _nb_cnt_rows(skey, st, su, w, erow, eptr, uptr, blocks, min_weight, loops, n_threads):
    # pragma: no cover - compiled
    """Per user ``u``: the number of edges ``u -> v`` with ``weight >= min_weight``. Blocks of
    users run in parallel on numba's threads, with scratch tables per thread."""
    n_users = uptr.shape[0] - 1
    rows = np.zeros(n_users, np.int64)
    marks = np.full((n_threads, n_users), -1, np.int64)
    seens = np.full((n_threads, n_users), -1, np.int32)
    cnts = np.zeros((n_threads, n_users), np.int32)
    lsts = np.empty((n_threads, n_users), np.int32)
    bitss = np.zeros((n_threads, (n_users >> 6) + 1), np.uint64)
    e32 = np.empty(0, np.int32)
    e64 = np.empty(0, np.int64)
    for b in prange(blocks.shape[0] - 1):
        tid = get_thread_id()
        _nb_cnt_block(blocks[b], blocks[b + 1], skey, st, su, w, erow, eptr, uptr, min_weight,
                      loops, marks[tid], seens[tid], cnts[tid], lsts[tid], bitss[tid], rows,
                      False, e64, e32, e32, e64)
    return rows


@_jit_parallel
def _nb_cnt_fill(skey, st, su, w, erow, eptr, uptr, blocks, min_weight, loops, rows, n_threads):
    # pragma: no cover - compiled
    """The edges counted by :func:`_nb_cnt_rows`: ``src``, ``dst`` (int32) and ``weight``
    (int64), sorted by (src, dst). The output is allocated here, once, at its exact size; each
    user's rows come from one thread in a fixed order, so the result does not depend on the
    number of threads."""
    n_users = uptr.shape[0] - 1
    out_start = np.zeros(n_users + 1, np.int64)
    for u in range(n_users):
        out_start[u + 1] = out_start[u] + rows[u]
    m = out_start[n_users]
    out_u = np.empty(m, np.int32)
    out_v = np.empty(m, np.int32)
    out_w = np.empty(m, np.int64)
    marks = np.full((n_threads, n_users), -1, np.int64)
    seens = np.full((n_threads, n_users), -1, np.int32)
    cnts = np.zeros((n_threads, n_users), np.int32)
    lsts = np.empty((n_threads, n_users), np.int32)
    bitss = np.zeros((n_threads, (n_users >> 6) + 1), np.uint64)
    for b in prange(blocks.shape[0] - 1):
        tid = get_thread_id()
        _nb_cnt_block(blocks[b], blocks[b + 1], skey, st, su, w, erow, eptr, uptr, min_weight,
                      loops, marks[tid], seens[tid], cnts[tid], lsts[tid], bitss[tid], rows, True,
                      out_start, out_u, out_v, out_w)
    return out_u, out_v, out_w


def _blocks(cum: np.ndarray) -> np.ndarray:
    """User blocks for the parallel loops (as :func:`cib.coaction._kernel._blocks`): ``cum`` is
    the cumulative work per user boundary; many small blocks, handed out one at a time."""
    n_users = cum.shape[0] - 1
    n_blocks = 64 * get_num_threads()
    cuts = np.searchsorted(cum, np.linspace(0, cum[-1], n_blocks + 1)[1:-1], side="left")
    return np.unique(np.concatenate(([0], cuts, [n_users]))).astype(np.int64)


def _weights(key: np.ndarray, t: np.ndarray, user: np.ndarray, msg: np.ndarray, n_users: int,
             w: float, mw: float, loops: bool, distinct: bool = False
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count(distinct e_1.message_id)`` per ``(e_1.user, e_2.user)``, kept when at least
    ``mw``: ``src``, ``dst``, ``weight`` (int64), sorted by (src, dst). One row per joinable trace:
    object code, time (float64 seconds), user code (``< n_users``), message code; ``distinct``:
    the caller knows that no two rows have the same message."""
    if not HAVE_NUMBA or key.size == 0:
        src, dst, weight = _directed_weights(key, t, user, msg, n_users, w, loops)
        keep = weight >= mw
        return src[keep], dst[keep], weight[keep].astype(np.int64)
    n = key.size
    order = np.lexsort((t, key))  # NaN times last within an object
    skey = np.ascontiguousarray(key[order], dtype=np.int64)
    st = np.ascontiguousarray(t[order], dtype=np.float64)
    su = np.ascontiguousarray(user[order], dtype=np.int32)
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n, dtype=np.int64)
    # The unit counted is the (message, user) entity: in co_link a message has one row per URL,
    # and a repeated message_id can carry another user.
    nn = np.int64(n_users)
    if distinct:
        ent_uniques = msg
    else:
        ent, ent_uniques = pd.factorize(msg * nn + user)
    if len(ent_uniques) == n:  # one row per entity (co_retweet, co_reply, co_tweet)
        by_user = np.argsort(user, kind="stable")
        erow = pos[by_user]
        eptr = np.arange(n + 1, dtype=np.int64)
        per_user = np.bincount(user, minlength=n_users)
    else:
        ent_user = np.asarray(ent_uniques, dtype=np.int64) % nn
        new_id = np.empty(len(ent_uniques), dtype=np.int64)
        new_id[np.argsort(ent_user, kind="stable")] = np.arange(len(ent_uniques))
        e = new_id[ent]
        erow = pos[np.argsort(e, kind="stable")]
        eptr = np.concatenate(([0], np.cumsum(np.bincount(e, minlength=len(ent_uniques)))))
        per_user = np.bincount(ent_user, minlength=n_users)
    uptr = np.concatenate(([0], np.cumsum(per_user))).astype(np.int64)
    eptr = eptr.astype(np.int64)
    blocks = _blocks(eptr[uptr])
    w = float(w)
    mw = float(mw)
    old = set_parallel_chunksize(1)
    try:
        rows = _nb_cnt_rows(skey, st, su, w, erow, eptr, uptr, blocks, mw, bool(loops),
                            get_num_threads())
        src, dst, weight = _nb_cnt_fill(skey, st, su, w, erow, eptr, uptr, blocks, mw,
                                        bool(loops), rows, get_num_threads())
    finally:
        set_parallel_chunksize(old)
    return src, dst, weight


# --------------------------------------------------------------------------------------------
# output: cib.compat.run_cnt's files straight from the edge codes

# Field numbers of the row renderer (_nb_render).
_LIT, _STRF, _INTF = 0, 1, 2  # op kinds: literal, string field, integer field
_SRC, _DST, _ET = 0, 1, 2  # string fields: source user, target user, edge type
_WEIGHT, _ROWID, _KEY = 0, 1, 2  # integer fields: weight, output row number, multigraph key

_EDGE_TABLE_COLUMNS = ["source", "target", "weight", "edge_type"]
_CSV_SPECIAL = re.compile('[,"\r\n]')
_XML_SPECIAL = re.compile('[&<>"\r\n\t]')


@_jit
def _nb_int_len(x):  # pragma: no cover - compiled
    n = 1
    if x < 0:
        n = 2
        x = -x
    while x >= 10:
        x //= 10
        n += 1
    return n


@_jit
def _nb_row_len(ops, lit_off, tab_off, src, dst, part, weight, key, et_base, i, r):
    # pragma: no cover - compiled
    s = 0
    for k in range(ops.shape[0]):
        kind = ops[k, 0]
        a = ops[k, 1]
        if kind == 0:
            s += lit_off[a + 1] - lit_off[a]
        elif kind == 1:
            if a == 0:
                c = np.int64(src[r])
            elif a == 1:
                c = np.int64(dst[r])
            else:
                c = et_base + part[r]
            s += tab_off[c + 1] - tab_off[c]
        else:
            if a == 0:
                x = weight[r]
            elif a == 1:
                x = np.int64(i)
            else:
                x = np.int64(key[r])
            s += _nb_int_len(x)
    return s


_RENDER_CHUNK = 4096  # rows per task of _nb_render


@_jit
def _nb_row_put(ops, lit, lit_off, tab, tab_off, src, dst, part, weight, key, et_base, i, r, out,
                o):  # pragma: no cover - compiled
    """Write row ``r`` (output row ``i``) at ``out[o:]``; returns the end."""
    for k in range(ops.shape[0]):
        kind = ops[k, 0]
        a = ops[k, 1]
        if kind == 0:
            for b in range(lit_off[a], lit_off[a + 1]):
                out[o] = lit[b]
                o += 1
        elif kind == 1:
            if a == 0:
                c = np.int64(src[r])
            elif a == 1:
                c = np.int64(dst[r])
            else:
                c = et_base + part[r]
            for b in range(tab_off[c], tab_off[c + 1]):
                out[o] = tab[b]
                o += 1
        else:
            if a == 0:
                x = weight[r]
            elif a == 1:
                x = np.int64(i)
            else:
                x = np.int64(key[r])
            n = _nb_int_len(x)
            if x < 0:
                out[o] = 45  # '-'
                x = -x
            p = o + n - 1
            while True:
                out[p] = 48 + x % 10
                x //= 10
                p -= 1
                if x == 0:
                    break
            o += n
    return o


@_jit_parallel
def _nb_render(ops, lit, lit_off, tab, tab_off, src, dst, part, weight, key, et_base, perm, head,
               tail):  # pragma: no cover - compiled
    """``head``, then one line per row (row ``perm[i]``, or ``i`` when ``perm`` is empty) made of
    the ops (literal / string field / integer field, see :class:`_Renderer`), then ``tail``.

    A first pass measures each chunk of rows, so the buffer is allocated here once, at its exact
    size, and each chunk is then written from its own offset (in parallel)."""
    m = src.shape[0]
    n_chunks = (m + _RENDER_CHUNK - 1) // _RENDER_CHUNK
    starts = np.empty(n_chunks + 1, np.int64)
    starts[0] = 0
    for c in prange(n_chunks):
        s = 0
        for i in range(c * _RENDER_CHUNK, min(m, (c + 1) * _RENDER_CHUNK)):
            r = np.int64(i)
            if perm.shape[0]:
                r = perm[i]
            s += _nb_row_len(ops, lit_off, tab_off, src, dst, part, weight, key, et_base, i, r)
        starts[c + 1] = s
    starts[0] = head.shape[0]
    for c in range(n_chunks):
        starts[c + 1] += starts[c]
    end = starts[n_chunks]
    out = np.empty(end + tail.shape[0], np.uint8)
    out[:head.shape[0]] = head
    out[end:] = tail
    for c in prange(n_chunks):
        o = starts[c]
        for i in range(c * _RENDER_CHUNK, min(m, (c + 1) * _RENDER_CHUNK)):
            r = np.int64(i)
            if perm.shape[0]:
                r = perm[i]
            o = _nb_row_put(ops, lit, lit_off, tab, tab_off, src, dst, part, weight, key, et_base,
                            i, r, out, o)
    return out


def _pack(items: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Byte strings as one uint8 buffer and offsets (``len(items) + 1``)."""
    off = np.zeros(len(items) + 1, dtype=np.int64)
    if items:
        np.cumsum([len(b) for b in items], out=off[1:])
    return np.frombuffer(b"".join(items), dtype=np.uint8).copy(), off


class _Renderer:
    """Renders one line per edge row from a template of literals and fields (numba), into one
    buffer between a head and a tail."""

    def __init__(self, table: list[bytes], et_base: int, src: np.ndarray, dst: np.ndarray,
                 part: np.ndarray, weight: np.ndarray, key: np.ndarray | None = None,
                 perm: np.ndarray | None = None) -> None:
        self.tab, self.tab_off = _pack(table)
        self.et_base = np.int64(et_base)
        self.src, self.dst, self.part, self.weight = src, dst, part, weight
        self.key = key if key is not None else np.zeros(0, np.int8)
        self.perm = perm if perm is not None else np.zeros(0, np.int64)

    def render(self, template: list[Any], head: bytes = b"", tail: bytes = b"",
               raw: bool = False) -> bytes | np.ndarray:
        """The rendered file: bytes, or (``raw``) the uint8 array it was rendered into, which
        :func:`cib.export.write_outputs` writes without copying hundreds of megabytes."""
        literals: list[bytes] = []
        ops = []
        for piece in template:
            if isinstance(piece, bytes):
                ops.append((_LIT, len(literals)))
                literals.append(piece)
            else:
                ops.append(piece)
        lit, lit_off = _pack(literals)
        op = np.array(ops, dtype=np.int64).reshape(-1, 2)
        out = _nb_render(op, lit, lit_off, self.tab, self.tab_off, self.src, self.dst, self.part,
                         self.weight, self.key, self.et_base, self.perm,
                         np.frombuffer(head, dtype=np.uint8), np.frombuffer(tail, dtype=np.uint8))
        return out if raw else out.tobytes()


class _CntEdges:
    """The edges of one :func:`cib.compat.run_cnt` run as codes, and what run_cnt used to build
    from them eagerly: the ``edges`` table (:meth:`frame`), the networkx graph (:meth:`graph`), and
    the output files (:meth:`files`), rendered byte for byte as :func:`cib.export.write_outputs`
    writes that table and graph, without building either.

    ``parts`` holds one ``(network, users, src, dst, weight)`` per network asked (in that order),
    as :func:`_cnt_edge_codes` returns them.
    """

    def __init__(self, parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
                 ) -> None:
        self.parts = parts
        self.nets = [p[0] for p in parts]
        self.sizes = np.array([len(p[2]) for p in parts], dtype=np.int64)
        self.n = int(self.sizes.sum())
        users = [p[1] for p in parts if len(p[1])]
        if len(users) == 1:
            self.users = users[0]
        elif users:
            self.users = np.unique(np.concatenate(users))
        else:
            self.users = np.empty(0, dtype=object)
        src, dst = [], []
        for _, u, s, d, _w in parts:
            if len(u) == len(self.users):  # the same users (both sorted and distinct)
                src.append(s.astype(np.int32, copy=False))
                dst.append(d.astype(np.int32, copy=False))
            elif len(s):
                g = np.searchsorted(self.users, u).astype(np.int32)
                src.append(g[s])
                dst.append(g[d])
        self.src = _concat(src, np.int32)
        self.dst = _concat(dst, np.int32)
        self.weight = _concat([p[4] for p in parts], np.int64)
        self.part = np.repeat(np.arange(len(parts), dtype=np.int8 if len(parts) < 128 else np.int64),
                              self.sizes)

    # the objects run_cnt used to return

    def frame(self) -> pd.DataFrame:
        """The ``edges`` table (``source``, ``target``, ``weight``, ``edge_type``), built as run_cnt
        always built it (so with the same dtypes)."""
        if not self.parts:
            return pd.DataFrame(columns=_EDGE_TABLE_COLUMNS)
        return self.frame_rows(None)

    def graph(self, rows: np.ndarray | None = None) -> Any:
        """The networkx MultiDiGraph run_cnt returned: one edge per row, in table order."""
        import networkx as nx

        g = nx.MultiDiGraph()
        if rows is None:
            rows = np.arange(self.n)
        users, nets = self.users, self.nets
        g.add_edges_from((users[self.src[r]], users[self.dst[r]],
                          {"weight": int(self.weight[r]), "edge_type": nets[self.part[r]]})
                         for r in rows.tolist())
        return g

    # the files

    def files(self, with_graph: bool, manifest: dict[str, Any]) -> dict[str, Any] | None:
        """``edges.csv``, ``edges.parquet`` and (``with_graph``) ``graph.gexf`` and
        ``graph.graphml`` as :func:`cib.export.write_outputs` would write :meth:`frame` and
        :meth:`graph`; None when that cannot be guaranteed here (no numba, no edges, account ids
        the files cannot hold as they are): the caller then writes the objects themselves.

        Each format is checked on a sample of rows against the real writers first (pandas,
        pyarrow, networkx); a format that does not match on it is refused (None)."""
        if not HAVE_NUMBA or self.n == 0:
            return None
        from concurrent.futures import ThreadPoolExecutor

        sample = self._sample_rows()
        out: dict[str, Any] = {}  # bytes, or the CSV's uint8 array
        try:
            for name, make in [("edges.csv", self._csv), ("edges.parquet", self._parquet)]:
                if make(sample) != _reference_table_file(name, self.frame_rows(sample)):
                    return None
            # pyarrow writes the Parquet file while numba renders the text files
            with ThreadPoolExecutor(1) as pool:
                parquet = pool.submit(self._parquet, None)
                out["edges.csv"] = self._csv(None, raw=True)
                if with_graph:
                    graphs = self._graphs(sample, manifest)
                    if graphs is None:
                        return None
                    out.update(graphs)
                out["edges.parquet"] = parquet.result()
        except (UnicodeEncodeError, ValueError):  # e.g. lone surrogates: let the writers say so
            return None
        return out

    def frame_rows(self, rows: np.ndarray | None) -> pd.DataFrame:
        """The rows ``rows`` (indices into the whole table, sorted; None: all) of :meth:`frame`,
        built like it: one frame per network, then concatenated."""
        frames = []
        start = 0
        for (net, u, s, d, w), size in zip(self.parts, self.sizes):
            if rows is not None:
                keep = rows[(rows >= start) & (rows < start + size)] - start
                s, d, w = s[keep], d[keep], w[keep]
            frames.append(pd.DataFrame({"source": u[s], "target": u[d],
                                        "weight": w.astype(np.int64), "edge_type": net}))
            start += size
        return pd.concat(frames, ignore_index=True)

    def _first_rows(self, rows: np.ndarray | None) -> np.ndarray:
        """The first row of each network among ``rows`` (None: all rows)."""
        if rows is None:
            rows = (np.cumsum(self.sizes) - self.sizes)[self.sizes > 0]
        part = self.part[rows]
        return rows[np.concatenate(([True], part[1:] != part[:-1]))] if len(rows) else rows

    def _sample_rows(self, k: int = 200) -> np.ndarray:
        """Rows to check the renderers on: the first ``k`` of each part, and the first rows of
        every account id that needs quoting or escaping."""
        picks = [np.arange(start, start + min(size, k)) for start, size in
                 zip(np.cumsum(self.sizes) - self.sizes, self.sizes)]
        special = np.flatnonzero([bool(_CSV_SPECIAL.search(u) or _XML_SPECIAL.search(u))
                                  or u[:1] in ("=", "+", "-", "@", "\t", "\r", "")
                                  for u in self.users])
        if special.size:
            flag = np.zeros(len(self.users), dtype=bool)
            flag[special] = True
            picks.append(np.flatnonzero(flag[self.src] | flag[self.dst])[:k])
        return np.unique(np.concatenate(picks)).astype(np.int64)

    def _subset(self, rows: np.ndarray | None) -> tuple[np.ndarray, ...]:
        if rows is None:
            return self.src, self.dst, self.part, self.weight
        return self.src[rows], self.dst[rows], self.part[rows], self.weight[rows]

    def _csv(self, rows: np.ndarray | None, raw: bool = False) -> bytes | np.ndarray:
        from ..export import neutralize_csv_cell

        cells = [_csv_cell(neutralize_csv_cell(v)) for v in [*self.users, *self.nets]]
        src, dst, part, weight = self._subset(rows)
        r = _Renderer(cells, len(self.users), src, dst, part, weight)
        return r.render([(_STRF, _SRC), b",", (_STRF, _DST), b",", (_INTF, _WEIGHT), b",",
                         (_STRF, _ET), b"\r\n"], head=b"source,target,weight,edge_type\r\n",
                        raw=raw)

    def _parquet(self, rows: np.ndarray | None) -> bytes:
        import io

        import pyarrow.parquet as pq

        frame = self.frame_rows(self._first_rows(rows))  # the dtypes of the whole table
        schema = pa.Table.from_pandas(frame, preserve_index=False).schema
        src, dst, part, weight = self._subset(rows)
        users = pa.array(list(self.users), type=schema.field("source").type)
        targets = pa.array(list(self.users), type=schema.field("target").type)
        et_type = schema.field("edge_type").type
        if rows is None:  # one run of each network's name
            nets = pa.concat_arrays([pa.repeat(pa.scalar(n, et_type), int(k))
                                     for n, k in zip(self.nets, self.sizes)])
        else:
            nets = pa.array(self.nets, type=et_type).take(pa.array(part))
        table = pa.Table.from_arrays(
            [users.take(pa.array(src)), targets.take(pa.array(dst)),
             pa.array(weight, type=pa.int64()), nets], schema=schema)
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return buf.getvalue()

    def _order(self, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """networkx's order for the rows (all, or ``rows`` added alone in table order): the node
        order (first appearance as source or target), the edge order (by source node, then target
        in order of its first edge from that source, then row) and each row's multigraph key."""
        src, dst, _, _ = self._subset(rows)
        m = len(src)
        seq = np.empty(2 * m, dtype=np.int64)
        seq[0::2] = src
        seq[1::2] = dst
        nodes, first = np.unique(seq, return_index=True)
        nodes = nodes[np.argsort(first, kind="stable")]
        rank = np.zeros(len(self.users), dtype=np.int64)
        rank[nodes] = np.arange(len(nodes))
        pair = src.astype(np.int64) * np.int64(len(self.users)) + dst
        pair_code, _ = pd.factorize(pair)  # in order of first appearance
        perm = np.lexsort((np.arange(m), pair_code, rank[src]))
        key = np.zeros(m, dtype=np.int64)
        if len(pair_code) and len(_) < m:  # the same (source, target) in several networks
            ps = pair_code[perm]
            new = np.concatenate(([True], ps[1:] != ps[:-1]))
            starts = np.maximum.accumulate(np.where(new, np.arange(m), 0))
            key[perm] = np.arange(m) - starts
        return nodes, perm.astype(np.int64), key

    def _graphs(self, sample: np.ndarray, manifest: dict[str, Any]) -> dict[str, bytes] | None:
        import io

        import networkx as nx

        from ..export import _GEXF_DATE, _clean_graph, _gexf_date, _xml_text

        clean = [_xml_text(u) for u in self.users]
        if len(set(clean)) != len(clean):  # two ids become one: _clean_graph raises
            return None
        special = [i for i, u in enumerate(clean) if _XML_SPECIAL.search(u)]
        date = _gexf_date(manifest)
        replacement = b"" if date is None else b' lastmodifieddate="' + date.encode() + b'"'
        ref = _clean_graph(self.graph(sample))
        out = {}
        for name, fmt in _GRAPH_FORMATS.items():
            ids = list(clean)
            if special:  # escaped as networkx's writer escapes them: ask it
                only = nx.MultiDiGraph()
                only.add_nodes_from(clean[i] for i in special)
                buf = io.BytesIO()
                fmt["write"](only, buf)
                esc = re.findall(r'<node id="([^"]*)"', buf.getvalue().decode("utf-8"))
                if len(esc) != len(special):
                    return None
                for i, e in zip(special, esc):
                    ids[i] = e
            buf = io.BytesIO()
            fmt["write"](ref, buf)
            want = buf.getvalue()
            parts = _split_graph_file(want, fmt)
            if parts is None or self._graph_file(sample, ids, fmt, parts) != want:
                return None
            data = self._graph_file(None, ids, fmt, parts)
            if name == "graph.gexf":
                data = _GEXF_DATE.sub(lambda _: replacement, data, count=1)
            out[name] = data
        return out

    def _graph_file(self, rows: np.ndarray | None, ids: list[str], fmt: dict[str, Any],
                    parts: tuple[bytes, bytes, bytes]) -> bytes:
        head, mid, tail = parts
        nodes, perm, key = self._order(rows)
        node_lines = "".join(fmt["node"](ids[v]) for v in nodes.tolist()).encode("utf-8")
        src, dst, part, weight = self._subset(rows)
        table = [x.encode("utf-8") for x in ids] + [n.encode("utf-8") for n in self.nets]
        r = _Renderer(table, len(ids), src, dst, part, weight, key, perm)
        return r.render(fmt["edge"], head=head + node_lines + mid, tail=tail)


def _concat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    """``np.concatenate`` as ``dtype``, without a copy for a single array."""
    arrays = [a for a in arrays if len(a)]
    if len(arrays) == 1:
        return arrays[0].astype(dtype, copy=False)
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype)


def _csv_cell(value: str) -> bytes:
    """One text cell as pandas' ``to_csv`` writes it (Python's csv module, minimal quoting)."""
    if value and not _CSV_SPECIAL.search(value):
        return value.encode("utf-8")
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerow([value, ""])
    return buf.getvalue()[:-3].encode("utf-8")


def _reference_table_file(name: str, frame: pd.DataFrame) -> bytes:
    """``name`` (edges.csv or edges.parquet) as :func:`cib.export.write_outputs` writes
    ``frame``: the reference the renderers are checked against."""
    import tempfile

    from ..export import _write_csv, _write_parquet

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name)
        (_write_csv if name.endswith(".csv") else _write_parquet)(path, frame)
        with open(path, "rb") as fh:
            return fh.read()


def _write_gexf13(graph: Any, fh: Any) -> None:
    import networkx as nx

    nx.write_gexf(graph, fh, version="1.3")


def _write_graphml(graph: Any, fh: Any) -> None:
    import networkx as nx

    nx.write_graphml(graph, fh)


_GRAPH_FORMATS: dict[str, dict[str, Any]] = {
    "graph.gexf": {
        "write": _write_gexf13,
        "node_prefix": b"      <node ", "edge_prefix": b"      <edge ",
        "edge_close": b"      </edge>\n",
        "node": lambda x: f'      <node id="{x}" label="{x}" />\n',
        "edge": [b'      <edge source="', (_STRF, _SRC), b'" target="', (_STRF, _DST),
                 b'" id="', (_INTF, _ROWID), b'" weight="', (_INTF, _WEIGHT),
                 b'">\n        <attvalues>\n          <attvalue for="0" value="', (_STRF, _ET),
                 b'" />\n          <attvalue for="1" value="', (_INTF, _KEY),
                 b'" />\n        </attvalues>\n      </edge>\n'],
    },
    "graph.graphml": {
        "write": _write_graphml,
        "node_prefix": b"    <node ", "edge_prefix": b"    <edge ",
        "edge_close": b"    </edge>\n",
        "node": lambda x: f'    <node id="{x}" />\n',
        "edge": [b'    <edge source="', (_STRF, _SRC), b'" target="', (_STRF, _DST), b'" id="',
                 (_INTF, _KEY), b'">\n      <data key="d0">', (_STRF, _ET),
                 b'</data>\n      <data key="d1">', (_INTF, _WEIGHT),
                 b'</data>\n    </edge>\n'],
    },
}


def _split_graph_file(data: bytes, fmt: dict[str, Any]) -> tuple[bytes, bytes, bytes] | None:
    """networkx's file cut into what comes before the node lines, between the nodes and the
    edges, and after the edges (None if it does not have that shape)."""
    try:
        first_node = data.index(b"\n" + fmt["node_prefix"]) + 1
        first_edge = data.index(b"\n" + fmt["edge_prefix"]) + 1
        last_node = data.rindex(b"\n" + fmt["node_prefix"], 0, first_edge) + 1
        mid_start = data.index(b"\n", last_node) + 1
        tail_start = data.rindex(fmt["edge_close"]) + len(fmt["edge_close"])
    except ValueError:
        return None
    return data[:first_node], data[mid_start:first_edge], data[tail_start:]
