"""Writing results: tables (CSV and Parquet), the graph (GEXF and GraphML) and the manifest.

Everything a run writes goes to one output folder (DESIGN §6), and the folder is replaced
*atomically*: the files are written into a fresh temporary sibling folder, flushed to disk, and only
then swapped in for the old one. A crash or an error while writing leaves the previous results as
they were. A folder that is not a previous cib output (it has no ``manifest.json``) is never
replaced, so a typo in ``-o`` cannot delete a user's folder.

CSV files are made safe to open in a spreadsheet: a text cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is prefixed with a single quote (the OWASP defence against CSV
injection, since account names and post texts are written by strangers). The Parquet twins keep the
raw values and the dtypes (lists stay lists), so use them for further analysis.

The same inputs give byte-identical files: GEXF's ``lastmodifieddate`` is taken from the manifest's
``created`` entry (or left out), datetimes are written in one ISO 8601 form, JSON keys are sorted.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import logging
import math
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

from .errors import OutputError, ParameterError

__all__ = [
    "check_output_dir",
    "CSV_FORMULA_PREFIXES",
    "TABLE_FORMATS",
    "file_sha256",
    "neutralize_csv_cell",
    "neutralize_frame",
    "write_json",
    "write_outputs",
    "write_table",
]

logger = logging.getLogger(__name__)

#: Leading characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
CSV_FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

#: The table formats :func:`write_outputs` can write.
TABLE_FORMATS: tuple[str, ...] = ("csv", "parquet")

MANIFEST_NAME = "manifest.json"
GEXF_NAME = "graph.gexf"
GRAPHML_NAME = "graph.graphml"

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_TEMP_NAME = re.compile(r"\.(tmp|old)-[0-9a-f]{8}$")
_GEXF_DATE = re.compile(rb'\slastmodifieddate="[^"]*"')
_DROP = object()  # marks a graph attribute value that is left out


# ---------------------------------------------------------------------------------------------
# CSV injection
# ---------------------------------------------------------------------------------------------

def neutralize_csv_cell(value: Any) -> Any:
    """Defuse one cell against CSV (formula) injection.

    A string that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a single
    quote in front, so that a spreadsheet shows it as text instead of running it as a formula.
    Anything that is not a string (numbers, missing values, lists) is returned unchanged.

    Parameters
    ----------
    value : object
        The cell.

    Returns
    -------
    object
        ``"'" + value`` for a dangerous string, else ``value`` itself.

    Examples
    --------
    >>> neutralize_csv_cell('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> neutralize_csv_cell("-1")
    "'-1"
    >>> neutralize_csv_cell("plain text")
    'plain text'
    >>> neutralize_csv_cell(-1.5)
    -1.5
    """
    if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def _is_text_dtype(dtype: object) -> bool:
    return dtype == object or isinstance(dtype, pd.StringDtype)


def _neutralize_series(s: pd.Series) -> pd.Series:
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        if not _is_text_dtype(dtype.categories.dtype):
            return s
        needs = [c for c in dtype.categories if neutralize_csv_cell(c) is not c]
        if not needs:
            return s
        return s.astype(object).map(neutralize_csv_cell)
    if isinstance(dtype, pd.StringDtype):
        mask = s.str.startswith(CSV_FORMULA_PREFIXES).fillna(False).astype(bool)
        if not mask.any():
            return s
        return s.where(~mask, "'" + s)
    if dtype == object:
        return s.map(neutralize_csv_cell)
    return s


def neutralize_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Defuse every text cell of a table against CSV injection (see :func:`neutralize_csv_cell`).

    Only string cells in text columns (``object``, ``str``/``string`` and categorical columns with
    text categories) are touched; numeric, boolean and datetime columns keep their values and
    dtypes, so a column of negative numbers stays numeric. A categorical column whose categories
    needed a prefix becomes an ``object`` column. Column names are not changed.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; it is not modified.

    Returns
    -------
    pandas.DataFrame
        A new table with the same columns and index.

    Examples
    --------
    >>> df = pd.DataFrame({"text": ["=1+1", "ok"], "x": [-1.0, 2.0]})
    >>> neutralize_frame(df)["text"].tolist(), neutralize_frame(df)["x"].tolist()
    (["'=1+1", 'ok'], [-1.0, 2.0])
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"neutralize_frame expects a pandas DataFrame, got {type(df).__name__}")
    out = df.copy()
    for i in range(out.shape[1]):
        s = out.iloc[:, i]
        new = _neutralize_series(s)
        if new is not s:
            out.isetitem(i, new)
    return out


# ---------------------------------------------------------------------------------------------
# Value conversion (CSV cells, graph attributes, JSON)
# ---------------------------------------------------------------------------------------------

def _is_missing_scalar(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    if isinstance(v, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(v))
    return False


def _iso_utc(v: pd.Timestamp | _dt.datetime | np.datetime64) -> str:
    """One datetime as ISO 8601 UTC with ``Z``; naive datetimes are taken to be UTC."""
    ts = pd.Timestamp(v)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    ns = ts.microsecond * 1000 + ts.nanosecond
    if ns:
        frac = f"{ns:09d}"
        digits = 3 if ns % 1_000_000 == 0 else 6 if ns % 1000 == 0 else 9
        text += "." + frac[:digits]
    return text + "Z"


def _iso_utc_column(s: pd.Series) -> pd.Series:
    """A datetime column as ISO 8601 UTC strings with ``Z`` (missing values stay missing).

    The column uses one precision: whole seconds unless some value needs milli-, micro- or
    nanoseconds. Naive datetimes are taken to be UTC.
    """
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    arr = s.to_numpy()
    unit, _ = np.datetime_data(arr.dtype)
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}.get(unit)
    nat = np.isnat(arr)
    if per_second is None:  # coarser than seconds (days, ...): seconds are exact
        arr, per_second, unit = arr.astype("datetime64[s]"), 1, "s"
    ticks = arr[~nat].view("i8")
    out_unit = unit
    for cand, cand_per_second in (("s", 1), ("ms", 1_000), ("us", 1_000_000)):
        step = per_second // cand_per_second
        if step >= 1 and per_second % cand_per_second == 0 and (ticks % step == 0).all():
            out_unit = cand
            break
    text = np.datetime_as_string(arr, unit=out_unit, timezone="UTC").astype(object)
    text[nat] = None
    return pd.Series(text, index=s.index, name=s.name, dtype=object)


def _join_list(v: Iterable[Any]) -> str:
    if isinstance(v, (set, frozenset)):
        items = sorted(v, key=str)
    else:
        items = list(v)
    parts = []
    for x in items:
        if isinstance(x, (list, tuple, np.ndarray, set, frozenset)) or not _is_missing_scalar(x):
            parts.append(_cell_text(x))
    return " ".join(parts)


def _cell_text(x: Any) -> str:
    if isinstance(x, (list, tuple, np.ndarray, set, frozenset)):
        return _join_list(x)
    if isinstance(x, (pd.Timestamp, _dt.datetime, np.datetime64)):
        return _iso_utc(x)
    if isinstance(x, np.generic):
        return str(x.item())
    return str(x)


def _csv_object_cell(v: Any) -> Any:
    if isinstance(v, (list, tuple, np.ndarray, set, frozenset)):
        return _join_list(v)
    if isinstance(v, (pd.Timestamp, _dt.datetime, np.datetime64)):
        return None if _is_missing_scalar(v) else _iso_utc(v)
    return v


def _csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The table as it goes into a CSV: lists joined, datetimes in ISO 8601 UTC, neutralised."""
    out = df.copy()
    for i in range(out.shape[1]):
        s = out.iloc[:, i]
        if isinstance(s.dtype, pd.CategoricalDtype):
            if not _is_text_dtype(s.dtype.categories.dtype):
                s = s.astype(object)
                out.isetitem(i, s)
            else:
                continue
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            out.isetitem(i, _iso_utc_column(s))
        elif s.dtype == object:
            out.isetitem(i, s.map(_csv_object_cell))
    return neutralize_frame(out)


# Characters that XML 1.0 (GEXF, GraphML) cannot hold, even escaped: C0 controls other than tab,
# line feed and carriage return, lone surrogates, U+FFFE and U+FFFF.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(v: str) -> str:
    """``v`` with the characters XML cannot hold replaced by U+FFFD."""
    return _XML_INVALID.sub("\ufffd", v)


def _graph_value(v: Any) -> Any:
    """A graph attribute value as str/int/float/bool, or ``_DROP`` when it is missing.

    Text loses the characters XML cannot hold (they become U+FFFD).
    """
    if isinstance(v, str):
        return _xml_text(v)
    if isinstance(v, (list, tuple, np.ndarray, set, frozenset)):
        return _xml_text(_join_list(v))
    if _is_missing_scalar(v):
        return _DROP
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, (pd.Timestamp, _dt.datetime, np.datetime64)):
        return _iso_utc(v)
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, (pd.Timedelta, _dt.timedelta, np.timedelta64)):
        return float(pd.Timedelta(v).total_seconds())
    if isinstance(v, np.generic):
        return _graph_value(v.item())
    return _xml_text(str(v))


def _node_id(n: Any) -> Any:
    v = _graph_value(n)
    if v is _DROP:
        raise ValueError(f"a graph node id is missing ({n!r})")
    return v


def _clean_attrs(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Convert attribute dicts; give each attribute one type across all elements.

    GEXF and GraphML declare one type per attribute: a mix of int and float becomes float, any
    other mix becomes str.
    """
    cleaned = []
    types: dict[str, set[type]] = {}
    for data in items:
        d = {}
        for k in sorted(data, key=str):
            v = _graph_value(data[k])
            if v is _DROP:
                continue
            key = str(k)
            d[key] = v
            types.setdefault(key, set()).add(type(v))
        cleaned.append(d)
    for key, ts in types.items():
        if len(ts) < 2:
            continue
        if ts <= {int, float}:
            conv: Any = float
        else:
            def conv(x: Any) -> str:
                return str(x).lower() if isinstance(x, bool) else str(x)
        for d in cleaned:
            if key in d:
                d[key] = conv(d[key])
    return cleaned


def _clean_graph(graph: nx.Graph) -> nx.Graph:
    """A copy of ``graph`` whose ids and attributes GEXF and GraphML can hold."""
    out = graph.__class__()
    # Graph-level dicts (networkx's node_default / edge_default) are not attribute values.
    (graph_attrs,) = _clean_attrs([{k: v for k, v in graph.graph.items()
                                    if not isinstance(v, Mapping)}])
    out.graph.update(graph_attrs)
    nodes = list(graph.nodes(data=True))
    for (n, _), d in zip(nodes, _clean_attrs([d for _, d in nodes])):
        out.add_node(_node_id(n), **d)
    if out.number_of_nodes() != graph.number_of_nodes():
        raise ValueError("two graph nodes have the same id once the characters that GEXF and "
                         "GraphML cannot hold are replaced; remove control characters from the "
                         "account ids")
    if graph.is_multigraph():
        edges = list(graph.edges(keys=True, data=True))
        for (u, v, k, _), d in zip(edges, _clean_attrs([d for *_, d in edges])):
            out.add_edge(_node_id(u), _node_id(v), key=k, **d)
    else:
        edges2 = list(graph.edges(data=True))
        for (u, v, _), d in zip(edges2, _clean_attrs([d for *_, d in edges2])):
            out.add_edge(_node_id(u), _node_id(v), **d)
    return out


def _json_value(v: Any) -> Any:
    """``v`` as plain JSON types; NaN, infinities and missing values become ``None``."""
    if isinstance(v, Mapping):
        return {_json_key(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, (set, frozenset)):
        items = [_json_value(x) for x in v]
        return sorted(items, key=lambda x: json.dumps(x, sort_keys=True, ensure_ascii=False))
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_json_value(x) for x in v.tolist()]
    if isinstance(v, (pd.Series, pd.Index)):
        return [_json_value(x) for x in v.tolist()]
    if _is_missing_scalar(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, str):
        return v
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    if isinstance(v, (pd.Timestamp, _dt.datetime, np.datetime64)):
        return _iso_utc(v)
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, (pd.Timedelta, _dt.timedelta, np.timedelta64)):
        return float(pd.Timedelta(v).total_seconds())
    if isinstance(v, np.generic):
        return _json_value(v.item())
    raise TypeError(f"cannot write a {type(v).__name__} to JSON: {v!r}")


def _json_key(k: Any) -> str:
    if isinstance(k, str):
        return k
    v = _json_value(k)
    return v if isinstance(v, str) else json.dumps(v)


def _json_bytes(obj: Any) -> bytes:
    text = json.dumps(_json_value(obj), indent=2, sort_keys=True, ensure_ascii=False,
                      allow_nan=False)
    return (text + "\n").encode("utf-8")


# ---------------------------------------------------------------------------------------------
# File writers (each writes one new file and fsyncs it)
# ---------------------------------------------------------------------------------------------

def _sync(fh: IO[Any]) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    """Flush a folder's entries (renames, new files) to disk; a no-op where not supported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_csv(path: Path, df: pd.DataFrame) -> None:
    frame = _csv_frame(df)
    with open(path, "x", encoding="utf-8", newline="") as fh:
        # RFC 4180 line ends: with "\r\n" as terminator Python's csv module quotes every cell
        # that holds a "\r" or "\n"; with "\n" alone a lone "\r" in a text would go unquoted
        # and split the row for readers.
        frame.to_csv(fh, index=False, lineterminator="\r\n")
        _sync(fh)


def _write_parquet(path: Path, df: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    with open(path, "xb") as fh:
        pq.write_table(table, fh)
        _sync(fh)


def _write_bytes(path: Path, data: bytes | memoryview) -> None:
    with open(path, "xb") as fh:
        fh.write(data)
        _sync(fh)


def _as_buffer(content: Any) -> memoryview | bytes:
    """The bytes of an extra file: ``str`` as UTF-8, bytes-like objects (bytes, a uint8 array,
    a memoryview) as they are, without a copy."""
    if isinstance(content, str):
        return content.encode("utf-8")
    try:
        return memoryview(content).cast("B")
    except TypeError:
        return bytes(content)


def _write_files(contents: Mapping[Path, Any]) -> dict[Path, str]:
    """Write each file of ``contents`` (path to str or bytes-like, see :func:`_as_buffer`) and
    fsync it, and return their SHA-256 digests, computed from the bytes in memory: the files
    are written side by side, each hashed while it is written (the writes and the hashing run
    without the GIL), which gives the same files and digests as writing them one after the
    other and reading them back."""
    from concurrent.futures import ThreadPoolExecutor

    bufs = {path: _as_buffer(c) for path, c in contents.items()}
    if not bufs:
        return {}
    if sum(len(b) for b in bufs.values()) < 1 << 20:  # small: not worth the threads
        for path, buf in bufs.items():
            _write_bytes(path, buf)
        return {path: hashlib.sha256(buf).hexdigest() for path, buf in bufs.items()}
    with ThreadPoolExecutor(max(2, min(2 * len(bufs), 4))) as pool:
        writes = [pool.submit(_write_bytes, path, buf) for path, buf in bufs.items()]
        hashes = {path: pool.submit(lambda b: hashlib.sha256(b).hexdigest(), buf)
                  for path, buf in bufs.items()}
        for w in writes:
            w.result()
        return {path: h.result() for path, h in hashes.items()}


def _write_json_file(path: Path, obj: Any) -> None:
    _write_bytes(path, _json_bytes(obj))


def _gexf_date(manifest: Mapping[str, Any]) -> str | None:
    created = manifest.get("created")
    if created is None:
        return None
    try:
        ts = pd.Timestamp(created)
    except (TypeError, ValueError):
        return None
    if ts is pd.NaT:
        return None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%d")


def _is_nx_graph(graph: Any) -> bool:
    import networkx as nx

    return isinstance(graph, nx.Graph)


def _write_gexf(path: Path, graph: nx.Graph, date: str | None) -> None:
    buf = io.BytesIO()
    import networkx as nx  # imported when a graph file is written (it takes a while)

    nx.write_gexf(graph, buf, version="1.3")  # GEXF 1.3 (Gephi 0.10)
    replacement = b"" if date is None else b' lastmodifieddate="' + date.encode("ascii") + b'"'
    data = _GEXF_DATE.sub(lambda _: replacement, buf.getvalue(), count=1)
    _write_bytes(path, data)


def _write_graphml(path: Path, graph: nx.Graph) -> None:
    import networkx as nx

    buf = io.BytesIO()
    nx.write_graphml(graph, buf)
    _write_bytes(path, buf.getvalue())


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, as 64 lowercase hex digits.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    str
        The hex digest.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Single files
# ---------------------------------------------------------------------------------------------

def _token() -> str:
    return secrets.token_hex(4)


def _atomic_file(path: str | os.PathLike[str], write: Callable[[Path], None], what: str) -> Path:
    """Write ``path`` through a temporary file in its folder, then ``os.replace`` it into place."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {what} {path}: it is a folder")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the folder {parent}: {e.strerror or e}") from e
    tmp = parent / f"{path.name}.tmp-{_token()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(e, OSError) and not isinstance(e, OutputError):
            raise OutputError(f"cannot write {what} {path}: {e.strerror or e}") from e
        raise
    _fsync_dir(parent)
    return path


def write_table(path: str | os.PathLike[str], df: pd.DataFrame) -> Path:
    """Write one table atomically, as CSV or Parquet according to the file name's suffix.

    The table goes to a temporary file in the same folder, which then replaces ``path`` in one
    step, so a reader never sees a half-written file. ``.csv`` files are written like those of
    :func:`write_outputs` (UTF-8, no index, lists joined with spaces, datetimes as ISO 8601 UTC,
    text cells neutralised against formula injection); ``.parquet`` (or ``.pq``) files keep the
    raw values. Missing parent folders are created.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its suffix (``.csv``, ``.parquet``, ``.pq``) picks the format.
    df : pandas.DataFrame
        The table; it is not modified.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ParameterError
        If the suffix is none of the above.
    OutputError
        If the file cannot be written.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"write_table expects a pandas DataFrame, got {type(df).__name__}")
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        writer = _write_csv
    elif suffix in (".parquet", ".pq"):
        writer = _write_parquet
    else:
        raise ParameterError("path", "write_table",
                             "a file name ending in .csv, .parquet or .pq", os.fspath(path))
    return _atomic_file(path, lambda tmp: writer(tmp, df), "the table")


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as JSON atomically (temporary file in the same folder, then ``os.replace``).

    The JSON is UTF-8, indented by 2, with sorted keys and a final newline; numpy and pandas
    scalars become plain numbers, datetimes ISO 8601 UTC strings, durations seconds, and NaN,
    infinities and missing values ``null``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    obj : object
        Dicts, lists, tuples, sets, strings, numbers, booleans, None, datetimes, paths and numpy
        or pandas scalars and arrays, nested as needed.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        If ``obj`` holds something JSON cannot represent.
    OutputError
        If the file cannot be written.
    """
    data = _json_bytes(obj)  # fail on bad content before touching the disk
    return _atomic_file(path, lambda tmp: _write_bytes(tmp, data), "the JSON file")


# ---------------------------------------------------------------------------------------------
# The output folder
# ---------------------------------------------------------------------------------------------

def check_output_dir(out_dir: str | os.PathLike[str]) -> None:
    """Fail early (before any work) when ``out_dir`` could not be replaced by :func:`write_outputs`.

    Raises :class:`OutputError` when it is a file or a non-empty folder that is not a cib output.
    """
    path = Path(out_dir)
    _check_out_dir(path, str(path))


def _check_out_dir(out_dir: Path, shown: str) -> bool:
    """Raise if ``out_dir`` must not be replaced; return whether it exists."""
    if os.path.lexists(out_dir) and not out_dir.is_dir():
        raise OutputError(f"cannot write the output folder {shown}: it exists and is not a folder")
    if not out_dir.exists():
        return False
    try:
        entries = os.listdir(out_dir)
    except OSError as e:
        raise OutputError(f"cannot read the output folder {shown}: {e.strerror or e}") from e
    if entries and not (out_dir / MANIFEST_NAME).is_file():
        raise OutputError(f"refusing to replace {shown}: it is not a cib output folder "
                          f"(it is not empty and has no {MANIFEST_NAME}); "
                          "choose another folder or remove it yourself")
    return True


def _previous_outputs(out_dir: Path) -> set[str]:
    """File names the previous run wrote, from its manifest (empty when unreadable)."""
    try:
        with open(out_dir / MANIFEST_NAME, encoding="utf-8") as fh:
            outputs = json.load(fh).get("outputs", {})
    except (OSError, ValueError, AttributeError):
        return set()
    if isinstance(outputs, Mapping):
        return {str(k) for k in outputs}
    if isinstance(outputs, list):
        return {str(o.get("file")) for o in outputs if isinstance(o, Mapping)}
    return set()


def _carry_over(old: Path, new: Path, written: set[str]) -> list[str]:
    """Copy the user's own files from the previous output folder into the new one."""
    skip = written | _previous_outputs(old) | {MANIFEST_NAME}
    carried = []
    for entry in sorted(os.scandir(old), key=lambda e: e.name):
        if entry.name in skip or _TEMP_NAME.search(entry.name):
            continue
        src, dst = Path(entry.path), new / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(src), dst)
        elif entry.is_dir():
            shutil.copytree(src, dst, symlinks=True)
        else:
            try:
                os.link(src, dst)  # cheap, and the old file is never modified
            except OSError:
                shutil.copy2(src, dst)
        carried.append(entry.name)
    return carried


def _check_tables(tables: Mapping[str, pd.DataFrame], formats: tuple[str, ...]) -> None:
    for name, df in tables.items():
        if not isinstance(name, str) or not _TABLE_NAME.match(name) or name in (".", ".."):
            raise ValueError(f"a table name must be a plain file name, got {name!r}")
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"table {name!r} must be a pandas DataFrame, got {type(df).__name__}")
    reserved = {MANIFEST_NAME, GEXF_NAME, GRAPHML_NAME}
    clash = sorted(f"{n}.{f}" for n in tables for f in formats if f"{n}.{f}" in reserved)
    if clash:
        raise ValueError(f"table names clash with other outputs: {', '.join(clash)}")


def write_outputs(out_dir: str | os.PathLike[str], tables: Mapping[str, pd.DataFrame],
                  graph: nx.Graph | None, manifest: Mapping[str, Any], *,
                  formats: Iterable[str] = TABLE_FORMATS,
                  files: Mapping[str, bytes | str] | None = None) -> Path:
    """Write a run's results into ``out_dir``, replacing a previous cib output folder atomically.

    Written files (DESIGN §6):

    - ``<name>.csv`` per table: UTF-8 without BOM, no index, ``\\r\\n`` line ends (RFC 4180;
      cells holding line breaks are quoted), lists joined with spaces,
      datetimes as ISO 8601 UTC with ``Z`` (``2021-01-17T07:56:33Z``; fractions of a second only
      when a column has them), text cells neutralised against formula injection
      (:func:`neutralize_frame`), missing values empty.
    - ``<name>.parquet`` per table: the raw values and dtypes (lists stay lists), no index.
    - ``graph.gexf`` and ``graph.graphml`` when ``graph`` is given. Node and edge attributes are
      made writable: datetimes become ISO strings, lists space-joined strings, durations seconds,
      numpy scalars Python ones; missing values (None, NaN, NaT) are left out for that element;
      an attribute with mixed int and float values becomes float, any other mix str.
    - ``manifest.json``: ``manifest`` plus an ``"outputs"`` entry mapping every file written in
      this run (not ``manifest.json`` itself, nor carried-over files) to ``{"bytes": size,
      "sha256": hex digest}``.

    Everything is written into a new sibling folder ``<out_dir>.tmp-<random>`` and flushed to
    disk; then an existing ``out_dir`` is renamed to ``<out_dir>.old-<random>``, the new folder
    renamed to ``out_dir`` and the old one removed. On any error the temporary folder is removed
    and an existing ``out_dir`` is left untouched. Files the user added to a previous output folder
    (those its manifest does not list, e.g. a review file) are carried over unless this run writes
    a file of the same name; outputs of the previous run that this run does not write again are
    dropped. The same arguments give byte-identical files.

    Parameters
    ----------
    out_dir : str or os.PathLike
        The output folder. It may be missing, empty, or a previous cib output folder (one with a
        ``manifest.json``); missing parent folders are created.
    tables : mapping of str to pandas.DataFrame
        Table name (a plain file name without suffix, e.g. ``"clusters"``) to table.
    graph : networkx.Graph or None
        The account graph, or None to write no graph files.
    manifest : mapping
        The run's description (parameters, versions, input hashes, ...). Its ``"created"``
        entry, if it parses as a datetime, gives GEXF's ``lastmodifieddate``; without one the
        attribute is left out. An ``"outputs"`` entry is replaced. It is not modified.
    formats : iterable of str, default ("csv", "parquet")
        The table formats to write.
    files : mapping of str to bytes or str, optional
        Extra files to write as they are (``str`` as UTF-8; any bytes-like object, such as a
        uint8 array, without a copy), e.g. ``{"report.html": html}``.

    Returns
    -------
    pathlib.Path
        The output folder (absolute).

    Raises
    ------
    OutputError
        If ``out_dir`` is a file, or a non-empty folder that is not a cib output folder, or a
        folder or file cannot be created or written.
    ParameterError
        If ``formats`` holds an unknown format.
    """
    formats = tuple(formats) if not isinstance(formats, str) else (formats,)
    unknown = [f for f in formats if f not in TABLE_FORMATS]
    if unknown:
        raise ParameterError("formats", "write_outputs",
                             f"a subset of {TABLE_FORMATS}", list(formats))
    formats = tuple(f for f in TABLE_FORMATS if f in formats)
    _check_tables(tables, formats)
    files = dict(files or {})
    for name in files:
        if not isinstance(name, str) or not _TABLE_NAME.match(name):
            raise ValueError(f"an extra file name must be a plain file name, got {name!r}")
    if not isinstance(manifest, Mapping):
        raise TypeError(f"manifest must be a mapping, got {type(manifest).__name__}")
    if graph is not None and not _is_nx_graph(graph):
        raise TypeError(f"graph must be a networkx graph or None, got {type(graph).__name__}")

    shown = os.fspath(out_dir)
    out_dir = Path(os.path.abspath(os.fspath(out_dir)))
    if out_dir.is_symlink():  # replace the folder it points to, keep the link
        out_dir = Path(os.path.realpath(out_dir))
    if out_dir.parent == out_dir:
        raise OutputError(f"cannot use {shown} as the output folder")
    exists = _check_out_dir(out_dir, shown)
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the folder {parent}: {e.strerror or e}") from e
    # Prepare what can fail on content before anything is on disk.
    manifest_data = _json_value(dict(manifest))
    clean_graph = _clean_graph(graph) if graph is not None else None
    gexf_date = _gexf_date(manifest)

    tmp = _make_sibling(out_dir, "tmp")
    try:
        written: dict[str, Path] = {}

        def target(name: str) -> Path:
            if name in written or name == MANIFEST_NAME:
                raise ValueError(f"two outputs are both named {name!r}")
            written[name] = tmp / name
            return written[name]

        for name in sorted(tables):
            if "csv" in formats:
                _write_csv(target(f"{name}.csv"), tables[name])
            if "parquet" in formats:
                _write_parquet(target(f"{name}.parquet"), tables[name])
        if clean_graph is not None:
            _write_gexf(target(GEXF_NAME), clean_graph, gexf_date)
            _write_graphml(target(GRAPHML_NAME), clean_graph)
        digests = _write_files({target(name): files[name] for name in sorted(files)})
        manifest_data["outputs"] = {
            name: {"bytes": path.stat().st_size,
                   "sha256": digests[path] if path in digests else file_sha256(path)}
            for name, path in sorted(written.items())
        }
        _write_json_file(tmp / MANIFEST_NAME, manifest_data)
        carried = _carry_over(out_dir, tmp, set(written)) if exists else []
        _fsync_dir(tmp)
        _swap(tmp, out_dir, exists)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and not isinstance(e, OutputError):
            where = f" ({e.filename})" if getattr(e, "filename", None) else ""
            raise OutputError(f"cannot write the output folder {shown}: "
                              f"{e.strerror or e}{where}") from e
        raise
    logger.info("wrote %d files to %s%s", len(written) + 1, out_dir,
                f" (kept {len(carried)} of the user's files)" if carried else "")
    return out_dir


def _make_sibling(out_dir: Path, kind: str) -> Path:
    """Create a new empty folder ``<out_dir>.<kind>-<random>`` next to ``out_dir``."""
    for _ in range(100):
        path = out_dir.with_name(f"{out_dir.name}.{kind}-{_token()}")
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        except OSError as e:
            raise OutputError(f"cannot create a folder in {out_dir.parent}: "
                              f"{e.strerror or e}") from e
        return path
    raise OutputError(f"cannot create a temporary folder in {out_dir.parent}")


def _swap(tmp: Path, out_dir: Path, exists: bool) -> None:
    """Put ``tmp`` in the place of ``out_dir``; on failure, put the old folder back."""
    old = None
    if exists:
        for _ in range(100):
            candidate = out_dir.with_name(f"{out_dir.name}.old-{_token()}")
            if not os.path.lexists(candidate):
                old = candidate
                break
        else:
            raise OutputError(f"cannot find a free name next to {out_dir}")
        os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        if old is not None:
            os.rename(old, out_dir)
        raise
    _fsync_dir(out_dir.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
        if os.path.lexists(old):
            logger.warning("could not remove the previous output folder %s", old)
