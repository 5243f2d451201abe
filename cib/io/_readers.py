"""Open input files and read their columns as text.

A :class:`Source` hides the container (CSV/TSV, JSON lines, Parquet) and the compression
(``.gz``, ``.bz2``, ``.zst``, chosen by extension). It first gives the column names (cheaply:
a CSV's header line, a Parquet schema) so that the caller can check them, then reads only the
columns it needs, as pandas ``str`` columns (every CSV cell is text, so ``007`` and ``1e+18``
stay as written; empty cells are missing). Typed Parquet/JSON columns are turned into text too,
except datetimes (kept as datetime64) and lists (kept as lists). Row numbers are 1-based as a
spreadsheet shows them: in CSV/TSV the header is row 1, in JSON lines the line number, in Parquet
the record index + 1.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from ..errors import InputError

__all__ = ["Source", "open_source", "split_name", "decode_document", "COMPRESSIONS",
           "CONTAINERS"]

log = logging.getLogger(__name__)

#: Compression by file extension.
COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
#: Container by file extension (``None``: look at the content).
CONTAINERS: dict[str, str | None] = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": None,
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}
_DELIMITERS = [",", "\t", ";", "|"]
_HEADER_CHUNK = 1 << 16
_HEADER_MAX = 1 << 24
_CSV_BLOCK = 1 << 23


def split_name(path: str | Path) -> tuple[str, str | None, str | None]:
    """Split a file name into (stem, container, compression) by its extensions.

    Examples
    --------
    >>> split_name("data/day1.csv.gz")
    ('day1', 'csv', 'gzip')
    >>> split_name("x.tab")
    ('x', 'tsv', None)
    >>> split_name("notes")
    ('notes', None, None)
    """
    name = Path(path).name
    compression = None
    lower = name.lower()
    for ext, comp in COMPRESSIONS.items():
        if lower.endswith(ext):
            compression, name, lower = comp, name[: -len(ext)], lower[: -len(ext)]
            break
    container = None
    for ext, kind in CONTAINERS.items():
        if lower.endswith(ext) and len(lower) > len(ext):
            container, name = kind, name[: -len(ext)]
            break
    return name, container, compression


def _open_binary(path: Path, compression: str | None, display: str) -> Any:
    """A binary, decompressing input stream over ``path``."""
    try:
        if compression is None:
            return pa.OSFile(str(path), "rb")
        if pa.Codec.is_available(compression):
            return pa.CompressedInputStream(pa.OSFile(str(path), "rb"), compression)
        if compression == "gzip":  # pragma: no cover - pyarrow wheels ship gzip
            return gzip.open(path, "rb")
        if compression == "bz2":  # pragma: no cover - pyarrow wheels ship bz2
            return bz2.open(path, "rb")
        try:  # pragma: no cover - pyarrow wheels ship zstd
            import zstandard
        except ImportError:  # pragma: no cover
            raise InputError("is zstandard-compressed, but neither pyarrow's zstd codec nor the "
                             "'zstandard' package is available (pip install zstandard)",
                             file=display) from None
        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"))  # pragma: no cover
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"cannot be opened: {exc}", file=display) from None


def _read_all(path: Path, compression: str | None, display: str) -> bytes:
    stream = _open_binary(path, compression, display)
    try:
        return stream.read()
    except (OSError, pa.ArrowException, EOFError, ValueError) as exc:
        raise InputError(f"cannot be read (corrupt or not {compression or 'plain'} data?): {exc}",
                         file=display) from None
    finally:
        stream.close()


def _read_head(path: Path, compression: str | None, display: str) -> tuple[bytes, bool]:
    """The first bytes of the decompressed content: at least one full line when there is one."""
    stream = _open_binary(path, compression, display)
    try:
        data = b""
        while len(data) < _HEADER_MAX:
            chunk = stream.read(_HEADER_CHUNK)
            if not chunk:
                return data, True
            data += chunk
            if b"\n" in data:
                return data, False
        return data, False
    except (OSError, pa.ArrowException, EOFError, ValueError) as exc:
        raise InputError(f"cannot be read (corrupt or not {compression or 'plain'} data?): {exc}",
                         file=display) from None
    finally:
        stream.close()


def _strip_bom(data: bytes) -> bytes:
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


# ---------------------------------------------------------------------------------------------
# Arrow -> pandas, every column as text except datetimes and lists
# ---------------------------------------------------------------------------------------------

def _to_series(col: pa.ChunkedArray, display: str, name: str) -> pd.Series:
    t = col.type
    if pa.types.is_dictionary(t):
        return _to_series(col.cast(t.value_type), display, name)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pd.Series(col.to_pandas(), dtype="str")
    if pa.types.is_null(t):
        return pd.Series(np.full(len(col), np.nan, dtype=object), dtype="str")
    if pa.types.is_timestamp(t):
        return col.to_pandas()
    if pa.types.is_date(t):
        return col.cast(pa.timestamp("s")).to_pandas()
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return pd.Series(col.to_pandas(), dtype=object)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        try:
            return pd.Series(col.cast(pa.string()).to_pandas(), dtype="str")
        except pa.ArrowInvalid:
            raise InputError("cannot be decoded as UTF-8 text", file=display, column=name) from None
    try:
        return pd.Series(col.cast(pa.string()).to_pandas(), dtype="str")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = [None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                  for v in col.to_pylist()]
        return pd.Series(values, dtype="str")


def _table_to_frame(table: pa.Table, columns: list[str], display: str) -> pd.DataFrame:
    data = {c: _to_series(table.column(c), display, c) for c in columns}
    return pd.DataFrame(data, index=pd.RangeIndex(table.num_rows)) if data else \
        pd.DataFrame(index=pd.RangeIndex(table.num_rows))


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------

class Source:
    """An opened input file.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    display : str
        The path as the user gave it (used in messages and REJECTS).
    container : str
        ``csv``, ``tsv``, ``jsonl`` or ``parquet``.
    compression : str or None
        ``gzip``, ``bz2``, ``zstd`` or None.
    duplicates : set of str
        Column names that occur more than once (only the first is read).
    """

    def __init__(self, path: Path, display: str, container: str, compression: str | None) -> None:
        self.path = path
        self.display = display
        self.container = container
        self.compression = compression
        self.duplicates: set[str] = set()

    def names(self) -> list[str]:
        """The column names (empty for an empty file)."""
        raise NotImplementedError

    def read(self, columns: list[str], exact: frozenset[str] = frozenset()) -> tuple[pd.DataFrame, np.ndarray]:
        """Read ``columns`` (a subset of :meth:`names`); return the frame and the 1-based row numbers.

        ``exact`` names columns that must keep their text exactly as written (ids); a reader
        whose fast path would turn them into floats uses a slower exact one instead.
        """
        raise NotImplementedError


class _CsvSource(Source):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._names: list[str] | None = None
        self._unique: list[str] = []
        self._header_only = False
        self.delimiter = "\t" if self.container == "tsv" else ","

    def names(self) -> list[str]:
        if self._names is not None:
            return self._names
        head, eof = _read_head(self.path, self.compression, self.display)
        text = _strip_bom(head).decode("utf-8", errors="replace")
        first_line = text.split("\n", 1)[0]
        self._header_only = eof and len(text.rstrip("\r\n").split("\n")) == 1
        if not first_line.strip():
            if text.strip():
                raise InputError("the first line (the header) is empty", file=self.display, row=1)
            self._names = []
            return self._names
        if self.container != "tsv":
            self.delimiter = _sniff_delimiter(first_line)
        try:
            header = next(csv.reader(io.StringIO(text), delimiter=self.delimiter))
        except (csv.Error, StopIteration) as exc:  # pragma: no cover - csv accepts nearly anything
            raise InputError(f"cannot parse the header: {exc}", file=self.display, row=1) from None
        header = [h.strip() for h in header]
        if any("\x00" in h for h in header):
            raise InputError("the header holds NUL bytes: not a text file, or UTF-16 text "
                             "(save it as UTF-8)", file=self.display, row=1)
        if any("\ufffd" in h for h in header):
            raise InputError("cannot be decoded as UTF-8 text (the header is not UTF-8)",
                             file=self.display, row=1)
        seen: dict[str, int] = {}
        unique = []
        for h in header:
            if h in seen:
                self.duplicates.add(h)
                seen[h] += 1
                unique.append(f"{h}\x00{seen[h]}")  # never matches a real name
            else:
                seen[h] = 0
                unique.append(h)
        self._unique = unique
        self._names = [h for h in unique if "\x00" not in h]
        return self._names

    def _options(self, columns: list[str], threads: bool, handler: Any = None) -> dict[str, Any]:
        return dict(
            read_options=pacsv.ReadOptions(column_names=self._unique, skip_rows=1,
                                           use_threads=threads, block_size=_CSV_BLOCK),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True,
                                             invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in self._unique}, include_columns=columns,
                strings_can_be_null=True, quoted_strings_can_be_null=True, null_values=[""]),
        )

    def read(self, columns: list[str], exact: frozenset[str] = frozenset()) -> tuple[pd.DataFrame, np.ndarray]:
        names = self.names()
        if not names:
            return pd.DataFrame(), np.zeros(0, dtype=np.int64)
        if self._header_only:
            frame = pd.DataFrame({c: pd.Series([], dtype="str") for c in columns})
            return frame, np.zeros(0, dtype=np.int64)
        include = list(columns) or names[:1]
        stream = _open_binary(self.path, self.compression, self.display)
        scan = _ScanningStream(stream)
        try:
            table = pacsv.read_csv(scan, **self._options(include, True))
        except pa.ArrowInvalid as exc:
            raise self._parse_error(include, exc) from None
        except (OSError, EOFError, pa.ArrowException) as exc:
            what = f" (truncated or corrupt {self.compression} data?)" if self.compression else ""
            raise InputError(f"cannot be read{what}: {exc}", file=self.display) from None
        finally:
            stream.close()
        frame = _table_to_frame(table, list(columns), self.display)
        rows = np.arange(2, table.num_rows + 2, dtype=np.int64)
        if scan.quotes % 2 or scan.inner_blank_line:
            # An odd number of quote characters: maybe a quoted field that never ends (it would
            # swallow every later row); blank lines between rows: rows are numbered as a
            # spreadsheet shows them, blank ones included. Both need the exact (slow) reader.
            rows = self._exact_rows(table.num_rows, rows)
        return frame, rows

    def _exact_rows(self, n_rows: int, fast: np.ndarray) -> np.ndarray:
        """Row numbers from Python's csv module (blank lines count as rows, as in a
        spreadsheet); raise for a quoted field that is still open at the end of the file."""
        text = _strip_bom(_read_all(self.path, self.compression, self.display)).decode(
            "utf-8", errors="replace")
        rows: list[int] = []
        consumed = [0]

        def lines() -> Iterator[str]:
            for line in io.StringIO(text, newline=""):
                consumed[0] += len(line)
                yield line

        limit = csv.field_size_limit()
        csv.field_size_limit(2**31 - 1)
        try:
            reader = csv.reader(lines(), delimiter=self.delimiter)
            row, last_start = 0, 0
            while True:
                start = consumed[0]
                try:
                    record = next(reader)
                except StopIteration:
                    break
                row += 1
                if record:
                    rows.append(row)
                    last_start = start
        except csv.Error as exc:  # pragma: no cover - the non-strict reader accepts nearly anything
            log.debug("%s: exact CSV reader failed (%s)", self.display, exc)
            return fast
        finally:
            csv.field_size_limit(limit)
        rows = rows[1:]  # the header
        if rows and not _RECORD[self.delimiter].fullmatch(text, last_start):
            raise InputError("a quoted value opens here and is never closed (a missing '\"'): "
                             "it runs to the end of the file and would swallow every later row",
                             file=self.display, row=rows[-1], column=self._unique[-1])
        if len(rows) != n_rows:  # pragma: no cover - the readers disagree; keep the fast numbers
            log.debug("%s: %d rows by the exact reader, %d by pyarrow", self.display, len(rows),
                      n_rows)
            return fast
        return np.asarray(rows, dtype=np.int64)

    def _find_undecodable(self, column: str) -> InputError | None:
        """The error for the first cell of ``column`` that is not UTF-8, with its row (None when
        it cannot be found)."""
        options = self._options([column], True)
        options["convert_options"] = pacsv.ConvertOptions(
            column_types={c: pa.binary() for c in self._unique}, include_columns=[column],
            strings_can_be_null=True, quoted_strings_can_be_null=True, null_values=[""])
        stream = _open_binary(self.path, self.compression, self.display)
        scan = _ScanningStream(stream)
        try:
            values = pacsv.read_csv(scan, **options).column(column)
        except (OSError, pa.ArrowException):  # pragma: no cover - it parsed the first time
            return None
        finally:
            stream.close()
        offset = 0
        for chunk in values.chunks:
            try:
                chunk.cast(pa.string())
            except pa.ArrowInvalid:
                for i, v in enumerate(chunk.to_pylist()):
                    try:
                        v is None or v.decode("utf-8")
                    except UnicodeDecodeError:
                        rows = np.arange(2, len(values) + 2, dtype=np.int64)
                        if scan.quotes % 2 or scan.inner_blank_line:
                            rows = self._exact_rows(len(values), rows)
                        shown = v[:40].decode("utf-8", errors="replace")
                        return InputError(f"cannot be decoded as UTF-8 text ({shown!r}); save "
                                          "the file as UTF-8", file=self.display,
                                          row=int(rows[offset + i]), column=column.split("\x00")[0])
            offset += len(chunk)
        return None  # pragma: no cover

    def _parse_error(self, include: list[str], exc: Exception) -> InputError:
        message = str(exc)
        if "conversion error" in message or "UTF8" in message:
            m = re.search(r"column #(\d+)", message)
            if m and int(m.group(1)) < len(self._unique):
                where = self._find_undecodable(self._unique[int(m.group(1))])
                if where is not None:
                    return where
            return InputError(f"cannot be decoded as UTF-8 text ({message})", file=self.display)
        bad: list[Any] = []

        def handler(row: Any) -> str:
            bad.append(row)
            return "error"

        row = None
        stream = _open_binary(self.path, self.compression, self.display)
        # pyarrow decodes the bad row's text before calling the handler; when it is not UTF-8
        # that fails inside pyarrow and would be printed to stderr as an "Exception ignored"
        # traceback. Keep it quiet: the row number then comes from the message.
        hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None
        try:  # again, single-threaded, to learn the row number
            pacsv.read_csv(stream, **self._options(include, False, handler))
        except pa.ArrowInvalid as again:
            message = str(again)
        except Exception:  # pragma: no cover - keep the first message
            pass
        finally:
            sys.unraisablehook = hook
            stream.close()
        if bad and bad[0].number is not None and bad[0].number >= 0:
            row = int(bad[0].number)
        else:
            m = re.search(r"Row #(\d+)", message)
            row = int(m.group(1)) if m else None
        message = re.sub(r"^CSV parse error: (Row #\d+: )?", "", message)
        if len(message) > 300:
            message = message[:300] + "..."
        return InputError(f"cannot parse {self.container.upper()}: {message}", file=self.display,
                          row=row)


_NOT_LINE_END = re.compile(rb"[^\r\n]")


class _ScanningStream:
    """A read-only file object over a pyarrow stream that notes, as the CSV reader pulls the
    bytes through, how many quote characters there are and whether a blank line is followed by
    more data (both cheap; see :meth:`_CsvSource.read`)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.quotes = 0
        self.inner_blank_line = False
        self._tail = b""  # the last bytes seen, for a blank line split across two reads
        self._pending_blank = False  # a blank line seen, no data after it yet

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read() if size is None or size < 0 else self._stream.read(size)
        if data:
            self.quotes += data.count(b'"')
            if not self.inner_blank_line:
                self._scan_blank(data)
        return data

    def _scan_blank(self, data: bytes) -> None:
        if not self._pending_blank:
            edge = self._tail + data[:2]  # a blank line split across two reads
            found = [at - len(self._tail) for at in (edge.find(b"\n\n"), edge.find(b"\n\r\n"))
                     if at >= 0]
            found += [at for at in (data.find(b"\n\n"), data.find(b"\n\r\n")) if at >= 0]
            if not found:
                self._tail = (self._tail + data[-2:])[-2:]
                return
            self._pending_blank = True
            data = data[max(min(found), 0):]
        if _NOT_LINE_END.search(data):  # rows follow the blank line
            self.inner_blank_line = True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return bool(self._stream.closed)

    def close(self) -> None:
        self._stream.close()


def _record_pattern(delimiter: str) -> re.Pattern[str]:
    """One complete CSV record (as pyarrow reads it) plus trailing line ends: a quoted field
    must be closed; text after the closing quote and quotes inside unquoted fields are literal."""
    d = re.escape(delimiter)
    field = rf'(?:"(?:[^"]|"")*+"[^{d}\r\n]*|[^{d}\r\n"][^{d}\r\n]*|)'
    return re.compile(rf"{field}(?:{d}{field})*[\r\n]*")


_RECORD = {d: _record_pattern(d) for d in (",", "\t", ";", "|")}


def _sniff_delimiter(line: str) -> str:
    """The most frequent of , TAB ; | outside quotes in the header line (ties: that order)."""
    unquoted = re.sub(r'"[^"]*"', "", line)
    counts = [unquoted.count(d) for d in _DELIMITERS]
    best = max(counts)
    return _DELIMITERS[counts.index(best)] if best > 0 else ","


# A JSON string escape of a UTF-16 surrogate that has no partner (``"\ud83d"`` from text cut in
# the middle of an emoji, or planted): Python's json module decodes it into a string that cannot
# be encoded as UTF-8 (every later step would fail), pyarrow rejects the file. It is replaced by
# U+FFFD, as browsers do; the escape must not itself be escaped (an odd number of backslashes).
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile(
    rb"((?<!\\)(?:\\\\)*)(?:\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2})")


class _JsonSource(Source):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        #: How many lone surrogate escapes were replaced by ``\ufffd``.
        self.replaced_surrogates = 0
        self._data: bytes | None = None
        self._loaded = False
        self._table: pa.Table | None = None
        self._frame: pd.DataFrame | None = None
        self._rows: np.ndarray | None = None
        #: id() of an object inside an array of a JSON document -> the line where it starts
        #: (filled by :meth:`records` for a file that holds one pretty-printed document).
        self.lines: dict[int, int] = {}
        self._document_cache: Any = None

    def _bytes(self) -> bytes:
        if self._data is None:
            data = _strip_bom(_read_all(self.path, self.compression, self.display))
            if _SURROGATE_HINT.search(data):
                data, self.replaced_surrogates = _LONE_SURROGATE.subn(rb"\1\\ufffd", data)
            self._data = data
        return self._data

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        self._bytes()
        assert self._data is not None
        head = self._data.lstrip()[:1]
        if head == b"[" or not head or not _is_utf8(self._data):
            self._python()  # the exact reader; it names the line that is not UTF-8
            return
        try:
            table = pajson.read_json(pa.BufferReader(self._data),
                                     read_options=pajson.ReadOptions(block_size=1 << 24))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            log.debug("%s: pyarrow JSON reader failed (%s); using the exact reader", self.display, exc)
            self._python()
            return
        data = self._data
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        if n_lines == table.num_rows:
            rows = np.arange(1, table.num_rows + 1, dtype=np.int64)
        else:  # blank lines: number the non-blank ones
            rows = np.array([i for i, line in enumerate(data.split(b"\n"), 1) if line.strip()],
                            dtype=np.int64)
            if len(rows) != table.num_rows:  # pragma: no cover - defensive
                self._python()
                return
        self._table, self._rows = table, rows

    def _python(self) -> None:
        """The exact (slow) reader: numbers stay as written, errors give line numbers."""
        assert self._data is not None
        self._table = None
        try:
            text = self._data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = self._data[: exc.start].count(b"\n") + 1
            raise InputError("cannot be decoded as UTF-8 text", file=self.display, row=line) from None
        records: list[Any] = []
        rows: list[int] = []
        if text.lstrip().startswith("["):
            try:
                doc = json.loads(text, parse_int=str, parse_float=str)
            except ValueError as exc:
                raise InputError(f"invalid JSON: {exc}", file=self.display) from None
            records = list(doc) if isinstance(doc, list) else [doc]
            rows = list(range(1, len(records) + 1))
        else:
            for lineno, line in enumerate(text.split("\n"), 1):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line, parse_int=str, parse_float=str))
                except ValueError as exc:
                    raise InputError(f"invalid JSON: {_json_problem(exc)}",
                                     file=self.display, row=lineno) from None
                rows.append(lineno)
        for rec, row in zip(records, rows):
            if not isinstance(rec, dict):
                raise InputError(f"expected a JSON object, got {type(rec).__name__}",
                                 file=self.display, row=row)
        keys: dict[str, None] = {}
        for rec in records:
            keys.update(dict.fromkeys(rec))
        columns = {}
        for k in keys:
            values = [_json_cell(rec.get(k)) for rec in records]
            if all(v is None or isinstance(v, str) for v in values):
                columns[k] = pd.Series(values, dtype="str")
            else:
                columns[k] = pd.Series(values, dtype=object)
        self._frame = pd.DataFrame(columns, index=pd.RangeIndex(len(records)))
        self._rows = np.asarray(rows, dtype=np.int64)

    def names(self) -> list[str]:
        self._load()
        if self._table is not None:
            return list(self._table.column_names)
        assert self._frame is not None
        return list(self._frame.columns)

    def read(self, columns: list[str], exact: frozenset[str] = frozenset()) -> tuple[pd.DataFrame, np.ndarray]:
        self._load()
        if self._table is not None:
            inexact = [c for c in columns if c in exact
                       and pa.types.is_floating(self._table.schema.field(c).type)]
            if inexact:
                log.debug("%s: %s parsed as floats; using the exact reader", self.display, inexact)
                self._python()
        if self._table is not None:
            frame = _table_to_frame(self._table, list(columns), self.display)
        else:
            assert self._frame is not None
            frame = self._frame[list(columns)].copy()
        assert self._rows is not None
        return frame, self._rows


    # -- nested JSON, record by record (the record formats) ------------------------------------

    def head_records(self, limit: int = 50) -> list[Any]:
        """The first (up to ``limit``) JSON values of the file, read from its first bytes when
        they hold them (the whole file otherwise): for format detection."""
        if self._data is None:
            head, eof = _read_head(self.path, self.compression, self.display)
            head = _strip_bom(head)
        else:
            head, eof = self._data, True
        text = head.decode("utf-8", errors="replace")
        body = text.lstrip()
        if not body:
            return []
        if body[0] == "[":
            out: list[Any] = []
            decoder = json.JSONDecoder()
            i = len(text) - len(body) + 1
            try:
                while len(out) < limit:
                    i = _WS.match(text, i).end()
                    if text.startswith("]", i):
                        break
                    value, i = decoder.raw_decode(text, i)
                    out.append(value)
                    i = _WS.match(text, i).end()
                    if not text.startswith(",", i):
                        break
                    i += 1
                return out
            except ValueError:
                if eof:
                    raise InputError("invalid JSON (cannot parse the first array elements)",
                                     file=self.display) from None
                return [r for _, r in zip(range(limit), (r for _, r in self.records()))]
        lines = text.split("\n")
        if not eof:
            lines = lines[:-1]  # the last one may be cut
        out = []
        for line in lines:
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                if out:
                    break  # reading the file will report it with its line number
                return [r for _, r in zip(range(limit), (r for _, r in self.records()))]
            if len(out) >= limit:
                break
        return out

    def records(self) -> Iterator[tuple[int, Any]]:
        """Every JSON value of the file with its row: one per line (the line number), the
        elements of a top-level array (their position, from 1), or one pretty-printed document
        (row 1; :attr:`lines` then gives the line of each object inside its arrays)."""
        if self._document_cache is not None:
            yield 1, self._document_cache
            return
        data = self._bytes()
        body = data.lstrip()
        if not body:
            return
        if body[:1] == b"[":
            try:
                doc = json.loads(data)
            except UnicodeDecodeError as exc:
                raise _utf8_error(data, exc, self.display) from None
            except ValueError as exc:
                raise InputError(f"invalid JSON: {_json_problem(exc)}", file=self.display,
                                 row=getattr(exc, "lineno", None)) from None
            yield from enumerate(doc, 1)
            return
        lineno = 0
        for raw in io.BytesIO(data):
            lineno += 1
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except UnicodeDecodeError:
                raise InputError("cannot be decoded as UTF-8 text", file=self.display,
                                 row=lineno) from None
            except ValueError as exc:
                if lineno == _first_line(data):
                    document = self._document(data, exc, lineno)
                    if document is not None:
                        yield 1, document
                        return
                raise InputError(f"invalid JSON: {_json_problem(exc)}",
                                 file=self.display, row=lineno) from None
            yield lineno, value

    def _document(self, data: bytes, first_error: Exception, first_line: int) -> Any:
        """The file as one (pretty-printed) JSON document, or None when it is not one."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _utf8_error(data, exc, self.display) from None
        try:
            doc, self.lines = decode_document(text)
            self._document_cache = doc  # format detection and reading both need it
            return doc
        except ValueError as exc:
            first = text.lstrip().split("\n", 1)[0].strip()
            if first in ("{", "["):  # a document, broken somewhere inside
                raise InputError(f"invalid JSON: {_json_problem(exc)}", file=self.display,
                                 row=getattr(exc, "lineno", None)) from None
            return None


def _json_problem(exc: Exception) -> str:
    """What a JSON decoding error says, with the character position in its line."""
    msg = getattr(exc, "msg", None)
    if msg is None:
        return str(exc)
    col = getattr(exc, "colno", None)
    return f"{msg} (character {col} of the line)" if col else msg


def _is_utf8(data: bytes, block: int = 1 << 24) -> bool:
    """Whether ``data`` is valid UTF-8 (pyarrow's JSON reader does not check it), decoded block
    by block so that no copy of the whole text is made."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), block):
            decoder.decode(view[start:start + block], final=start + block >= len(data))
    except UnicodeDecodeError:
        return False
    return True


def _first_line(data: bytes) -> int:
    """The number of the first non-blank line."""
    stripped = data.lstrip()
    return data[: len(data) - len(stripped)].count(b"\n") + 1


def _utf8_error(data: bytes, exc: UnicodeDecodeError, display: str) -> InputError:
    line = data[: exc.start].count(b"\n") + 1
    return InputError("cannot be decoded as UTF-8 text", file=display, row=line)


_WS = re.compile(r"[ \t\n\r]*")
#: Object keys whose values decode_document walks into (a Telegram export's chats and messages).
_WALK = frozenset({"", "chats", "list", "left_chats", "messages"})


def decode_document(text: str) -> tuple[Any, dict[int, int]]:
    r"""``json.loads(text)``, plus the line where each object inside the walked arrays starts.

    The document's top level, and the values of the keys ``chats``, ``list``, ``left_chats``
    and ``messages`` (a Telegram Desktop export), are walked; every object that is an element
    of an array among them gets its 1-based start line, keyed by ``id()`` of the decoded object.
    Everything else is decoded by :mod:`json` in one piece.

    Raises
    ------
    json.JSONDecodeError
        For malformed JSON (its ``lineno`` is the line in ``text``).

    Examples
    --------
    >>> doc, lines = decode_document('{"id": 1,\n "messages": [\n  {"id": 7},\n  {"id": 8}\n ]}')
    >>> [lines[id(m)] for m in doc["messages"]]
    [3, 4]
    """
    decoder = json.JSONDecoder()
    lines: dict[int, int] = {}
    cursor = [0, 1]  # a position and its line, to count newlines incrementally

    def line_at(pos: int) -> int:
        last, line = cursor
        line = line + text.count("\n", last, pos) if pos >= last else text.count("\n", 0, pos) + 1
        cursor[0], cursor[1] = pos, line
        return line

    def skip(i: int) -> int:
        return _WS.match(text, i).end()

    def expect(i: int, what: str) -> None:
        raise json.JSONDecodeError(f"Expecting {what}", text, i)

    def value(i: int, key: str | None) -> tuple[Any, int]:
        i = skip(i)
        if key in _WALK and text.startswith("{", i):
            obj: dict[str, Any] = {}
            i = skip(i + 1)
            if text.startswith("}", i):
                return obj, i + 1
            while True:
                if not text.startswith('"', i):
                    expect(i, "property name enclosed in double quotes")
                name, i = decoder.raw_decode(text, i)
                i = skip(i)
                if not text.startswith(":", i):
                    expect(i, "':' delimiter")
                obj[name], i = value(i + 1, name)
                i = skip(i)
                if text.startswith(",", i):
                    i = skip(i + 1)
                elif text.startswith("}", i):
                    return obj, i + 1
                else:
                    expect(i, "',' delimiter")
        if key in _WALK and text.startswith("[", i):
            arr: list[Any] = []
            element_key = "" if key in ("", "list") else None
            i = skip(i + 1)
            if text.startswith("]", i):
                return arr, i + 1
            while True:
                start = skip(i)
                item, i = value(start, element_key)
                if isinstance(item, dict):
                    lines[id(item)] = line_at(start)
                arr.append(item)
                i = skip(i)
                if text.startswith(",", i):
                    i += 1
                elif text.startswith("]", i):
                    return arr, i + 1
                else:
                    expect(i, "',' delimiter")
        return decoder.raw_decode(text, i)

    doc, end = value(0, "")
    if skip(end) != len(text):
        raise json.JSONDecodeError("Extra data", text, skip(end))
    return doc, lines


def _json_cell(v: Any) -> Any:
    if v is None or isinstance(v, (str, list)):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v, ensure_ascii=False)


class _ParquetSource(Source):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._file: pq.ParquetFile | None = None

    def _open(self) -> pq.ParquetFile:
        if self._file is None:
            source: Any = str(self.path)
            if self.compression is not None:
                source = pa.BufferReader(_read_all(self.path, self.compression, self.display))
            try:
                self._file = pq.ParquetFile(source)
            except (pa.ArrowException, OSError) as exc:
                raise InputError(f"is not a readable Parquet file: {exc}", file=self.display) from None
        return self._file

    def names(self) -> list[str]:
        names = list(self._open().schema_arrow.names)
        self.duplicates = {n for n in names if names.count(n) > 1}
        return list(dict.fromkeys(names))

    def read(self, columns: list[str], exact: frozenset[str] = frozenset()) -> tuple[pd.DataFrame, np.ndarray]:
        try:
            table = self._open().read(columns=list(columns) or None)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"cannot be read as Parquet: {exc}", file=self.display) from None
        frame = _table_to_frame(table, list(columns), self.display)
        return frame, np.arange(1, table.num_rows + 1, dtype=np.int64)


_SOURCES = {"csv": _CsvSource, "tsv": _CsvSource, "jsonl": _JsonSource, "parquet": _ParquetSource}


def open_source(path: str | Path, display: str | None = None) -> Source:
    """Check that ``path`` is a readable file and return its :class:`Source`.

    The container comes from the extension (``.csv``, ``.tsv``/``.tab``, ``.parquet``/``.pq``,
    ``.jsonl``/``.ndjson``/``.json``), else from the content: Parquet's magic bytes, a
    leading ``{`` or ``[`` (JSON), otherwise delimited text.

    Raises
    ------
    InputError
        If the file does not exist, is a directory, or cannot be opened.
    """
    display = str(path) if display is None else display
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", file=display)
    if p.is_dir():
        raise InputError("is a directory, not a file (use a glob such as 'dir/*.csv')", file=display)
    if not p.is_file():  # a device, pipe or socket: cannot be hashed and read twice
        raise InputError("is not a regular file (a device, pipe or socket); save the data to a "
                         "file first", file=display)
    _, container, compression = split_name(p)
    if container is None:
        head, _ = _read_head(p, compression, display)
        if head.startswith(b"PAR1"):
            container = "parquet"
        elif _strip_bom(head).lstrip()[:1] in (b"{", b"["):
            container = "jsonl"
        else:
            container = "csv"
    return _SOURCES[container](p, display, container, compression)
