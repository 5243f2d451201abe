"""Open input files and read their columns as text.

A :class:`Source` hides the container (CSV/TSV, JSON lines, Parquet) and the compression
(``.gz``, ``.bz2``, ``.zst``, chosen by extension). It first gives the column names (cheaply:
a CSV's header line, a Parquet schema) so that the caller can check them, then reads only the
columns it needs, as pandas ``str`` columns (every CSV cell is text, so ``007`` and ``1e+18``
stay as written; empty cells are missing). Typed Parquet/JSON columns are turned into text too,
except datetimes (kept as datetime64) and lists (kept as lists). Row numbers are 1-based as a
spreadsheet shows them: in CSV/TSV the header is row 1, in JSON lines the line number, in Parquet
the record index + 1.

Files are read in chunks (:meth:`Source.chunks`): CSV/TSV with pyarrow's streaming reader in
blocks of :data:`CHUNK_BYTES`, JSON lines in pieces of about that many bytes that end at a line
end, Parquet in batches of :data:`PARQUET_BATCH_ROWS` records; compressed files are decompressed
as they are read. A JSON array or document is read whole. When something found late in a file
changes how the whole file must be read (a blank line between CSV rows, an odd number of quote
characters, a JSON value that pyarrow cannot type), :meth:`Source.chunks` raises
:class:`Restart` and the next pass reads the file the right way from its start.
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
import threading
import time
from array import array
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

__all__ = ["Source", "Restart", "open_source", "split_name", "decode_document", "COMPRESSIONS",
           "CONTAINERS", "CHUNK_BYTES", "PARQUET_BATCH_ROWS"]

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
#: Bytes per chunk: the block size of the CSV reader, the size of a JSON-lines piece.
CHUNK_BYTES = 1 << 23
#: Records per Parquet batch.
PARQUET_BATCH_ROWS = 1 << 18
#: The JSON reader's block size (a JSON line must fit in one block).
_JSON_BLOCK = 1 << 24
#: The largest CSV block tried for a row longer than a block.
_MAX_BLOCK = 1 << 28
#: CSV blocks that pyarrow may read ahead of the batch being converted.
_LEAD_BLOCKS = 2
#: Seconds a held-back read waits while the caller waits for pyarrow.
_HOLD_WHILE_WAITING = 0.2


class Restart(Exception):
    """Raised by :meth:`Source.chunks`: read the file again from its start (the source now
    knows how); drop the chunks of this pass."""


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


def _open_binary(path: Path, compression: str | None, display: str, raw: list[Any] | None = None
                 ) -> Any:
    """A binary, decompressing input stream over ``path`` (``raw`` is given the file itself,
    whose position is how far the file has been read)."""
    try:
        if compression is None:
            f = pa.OSFile(str(path), "rb")
            if raw is not None:
                raw.append(f)
            return f
        if pa.Codec.is_available(compression):
            f = pa.OSFile(str(path), "rb")
            if raw is not None:
                raw.append(f)
            return pa.CompressedInputStream(f, compression)
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
        self._raw: list[Any] = []  # the file being read (its position is the progress)
        self._position = 0

    def names(self) -> list[str]:
        """The column names (empty for an empty file)."""
        raise NotImplementedError

    def names_hint(self) -> tuple[list[str], bool]:
        """The column names as far as they are known without reading the whole file, and
        whether that is all of them (JSON lines: the keys of the first piece)."""
        return self.names(), True

    def chunks(self, columns: list[str], exact: frozenset[str] = frozenset()
               ) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """Read ``columns`` (a subset of :meth:`names`) chunk by chunk: yield each chunk's frame
        and its 1-based row numbers (at least one chunk, maybe empty).

        ``exact`` names columns that must keep their text exactly as written (ids); a reader
        whose fast path would turn them into floats uses a slower exact one instead.

        Raises
        ------
        Restart
            The file must be read again from its start (call again; the source knows how now).
        """
        raise NotImplementedError

    def read(self, columns: list[str], exact: frozenset[str] = frozenset()) -> tuple[pd.DataFrame, np.ndarray]:
        """Read ``columns`` (a subset of :meth:`names`) at once; return the frame and the 1-based
        row numbers (see :meth:`chunks`)."""
        for _ in range(_MAX_PASSES):
            try:
                parts = list(self.chunks(columns, exact))
            except Restart:
                continue
            frames = [f for f, _ in parts]
            frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
            return frame, np.concatenate([r for _, r in parts]).astype(np.int64, copy=False)
        raise AssertionError("the file was read again too often")  # pragma: no cover

    def position(self) -> int:
        """How many bytes of the file (as stored) the current pass has read."""
        if self._raw:
            try:
                self._position = int(self._raw[-1].tell())
            except (OSError, ValueError, pa.ArrowException):  # closed: keep the last one
                pass
        return self._position

    def _open(self) -> Any:
        """The decompressing stream over the file, for one pass."""
        self._raw.clear()
        self._position = 0
        return _open_binary(self.path, self.compression, self.display, self._raw)


#: How often one file may be read again (each reason for another pass happens once).
_MAX_PASSES = 6


class _RawReader(io.RawIOBase):
    """A pyarrow input stream as a Python raw stream (for io.TextIOWrapper)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _CsvSource(Source):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._names: list[str] | None = None
        self._unique: list[str] = []
        self._header_only = False
        self.delimiter = "\t" if self.container == "tsv" else ","
        self._exact = False  # number rows with Python's csv module (see chunks)
        self._rows: np.ndarray | None = None  # those row numbers
        self._exact_error: InputError | None = None  # an unclosed quote it found
        self._parsed = False  # pyarrow has read the whole file once without error
        self._block = CHUNK_BYTES  # grows when a row is longer than a block

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
                                           use_threads=threads, block_size=self._block),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True,
                                             invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in self._unique}, include_columns=columns,
                strings_can_be_null=True, quoted_strings_can_be_null=True, null_values=[""]),
        )

    def chunks(self, columns: list[str], exact: frozenset[str] = frozenset()
               ) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        names = self.names()
        if not names:
            yield pd.DataFrame(), np.zeros(0, dtype=np.int64)
            return
        if self._header_only:
            frame = pd.DataFrame({c: pd.Series([], dtype="str") for c in columns})
            yield frame, np.zeros(0, dtype=np.int64)
            return
        if self._exact and self._rows is None:
            self._rows, self._exact_error = self._exact_rows()
            if self._rows is None:  # pragma: no cover - the csv module gave up: pyarrow's numbers
                self._exact = False
            elif self._exact_error is not None and self._parsed:
                raise self._exact_error
        include = list(columns) or names[:1]
        exact_rows = self._rows if self._exact else None
        stream = self._open()
        scan = _ScanningStream(stream, _LEAD_BLOCKS)
        done = 0
        disagree = False
        reader = None
        try:
            try:
                # single-threaded: a read-ahead thread calling back into Python can outlive an
                # error and abort the interpreter at exit ("terminate called without an active
                # exception")
                reader = pacsv.open_csv(scan, **self._options(include, False))
                while True:
                    scan.taking()
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        break
                    finally:
                        scan.took()
                    n = batch.num_rows
                    if exact_rows is None and scan.inner_blank_line:
                        # Blank lines between rows: rows are numbered as a spreadsheet shows
                        # them, blank ones included, which needs the exact (slow) reader.
                        self._exact = True
                        raise Restart
                    if disagree or n == 0:
                        done += n
                        continue
                    if exact_rows is None:
                        rows = np.arange(done + 2, done + n + 2, dtype=np.int64)
                    elif done + n > len(exact_rows):
                        disagree = True  # the readers disagree: pyarrow's numbers, next pass
                        done += n
                        continue
                    else:
                        rows = exact_rows[done:done + n]
                    done += n
                    yield _table_to_frame(pa.Table.from_batches([batch]), list(columns),
                                          self.display), rows
            except pa.ArrowInvalid as exc:
                if "straddl" in str(exc) and self._block < _MAX_BLOCK:
                    self._block *= 4  # a row longer than a block: bigger blocks
                    raise Restart from None
                raise self._parse_error(include, exc) from None
            except (OSError, EOFError, pa.ArrowException) as exc:
                what = f" (truncated or corrupt {self.compression} data?)" if self.compression else ""
                raise InputError(f"cannot be read{what}: {exc}", file=self.display) from None
        finally:
            self._position = self.position()
            scan.release()
            if reader is not None:
                reader.close()
            scan.quiesce()  # no read-ahead inside the stream when it closes
            stream.close()
        self._parsed = True
        if exact_rows is None:
            if scan.quotes % 2 or scan.inner_blank_line:
                # An odd number of quote characters: maybe a quoted field that never ends (it
                # would swallow every later row); blank lines between rows. Both need the exact
                # reader.
                self._exact = True
                raise Restart
        else:
            if self._exact_error is not None:
                raise self._exact_error
            if disagree or done != len(exact_rows):  # pragma: no cover - keep pyarrow's numbers
                log.debug("%s: %d rows by the exact reader, %d by pyarrow", self.display,
                          len(exact_rows), done)
                self._exact = False
                raise Restart
        if done == 0:
            yield _table_to_frame(pa.table({c: pa.array([], pa.string()) for c in include}),
                                  list(columns), self.display), np.zeros(0, dtype=np.int64)

    def _exact_rows(self) -> tuple[np.ndarray | None, InputError | None]:
        """Row numbers from Python's csv module (blank lines count as rows, as in a
        spreadsheet), read as a stream; and the error for a quoted field that is still open at
        the end of the file (None when there is none). None for the rows when the csv module
        fails."""
        rows = array("q")
        pending: list[str] = []  # the lines from the start of the last non-empty record on
        stream = self._open()
        text = io.TextIOWrapper(io.BufferedReader(_RawReader(stream), 1 << 20),
                                encoding="utf-8-sig", errors="replace", newline="")

        def lines() -> Iterator[str]:
            for line in text:
                pending.append(line)
                yield line

        limit = csv.field_size_limit()
        csv.field_size_limit(2**31 - 1)
        try:
            reader = csv.reader(lines(), delimiter=self.delimiter)
            row = 0
            while True:
                mark = len(pending)
                try:
                    record = next(reader)
                except StopIteration:
                    break
                row += 1
                if record:
                    rows.append(row)
                    del pending[:mark]
        except csv.Error as exc:  # pragma: no cover - the non-strict reader accepts nearly anything
            log.debug("%s: exact CSV reader failed (%s)", self.display, exc)
            return None, None
        except (OSError, EOFError, pa.ArrowException) as exc:  # pragma: no cover - read before
            what = f" (truncated or corrupt {self.compression} data?)" if self.compression else ""
            raise InputError(f"cannot be read{what}: {exc}", file=self.display) from None
        finally:
            csv.field_size_limit(limit)
            stream.close()
        out = np.frombuffer(rows, dtype=np.int64)[1:].copy()  # not the header
        error = None
        if len(out) and not _RECORD[self.delimiter].fullmatch("".join(pending)):
            error = InputError("a quoted value opens here and is never closed (a missing '\"'): "
                               "it runs to the end of the file and would swallow every later row",
                               file=self.display, row=int(out[-1]), column=self._unique[-1])
        return out, error

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
                            exact_rows, error = self._exact_rows()
                            if error is not None:
                                return error
                            if exact_rows is not None and len(exact_rows) == len(rows):
                                rows = exact_rows
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
    more data (both cheap; see :meth:`_CsvSource.chunks`).

    With ``lead``, it also holds pyarrow's streaming reader back: that reader reads blocks ahead
    on its own threads, as fast as it can (a whole file, were it let), while the caller is busy
    with the batches it has. A read waits while more than ``lead`` blocks are ahead of the
    batches the caller has taken (:meth:`taking`, :meth:`took`), unless the caller itself waits
    for pyarrow (then pyarrow needs the data: no deadlock).
    """

    def __init__(self, stream: Any, lead: int | None = None) -> None:
        self._stream = stream
        self.quotes = 0
        self.inner_blank_line = False
        self._tail = b""  # the last bytes seen, for a blank line split across two reads
        self._pending_blank = False  # a blank line seen, no data after it yet
        self._lead = lead
        self._reads = 0
        self._taken = 0
        self._waiting = False
        self._cond = threading.Condition()
        self._closed = False  # reads return EOF (the caller is done with the reader)
        self._active = 0  # reads in progress (pyarrow's read-ahead thread)
        self._eof = False
        self._last = time.monotonic()  # when a read last ended

    def taking(self) -> None:
        """The caller waits for the next batch."""
        with self._cond:
            self._waiting = True
            self._cond.notify_all()

    def took(self) -> None:
        """The caller has the next batch."""
        with self._cond:
            self._waiting = False
            self._taken += 1

    def release(self) -> None:
        """Stop holding reads back (the caller is done)."""
        with self._cond:
            self._lead = None
            self._cond.notify_all()

    def _hold(self) -> None:
        with self._cond:
            start = time.monotonic()
            while self._lead is not None and self._reads > self._taken + self._lead:
                if self._waiting and time.monotonic() - start > _HOLD_WHILE_WAITING:
                    break
                self._cond.wait(0.05)
            self._reads += 1

    def quiesce(self, timeout: float = 2.0, idle: float = 0.05) -> None:
        """Make every later read return EOF and wait (up to ``timeout`` s) until pyarrow's
        read-ahead thread is out of :meth:`read` and has seen EOF, or has been idle for
        ``idle`` s: a thread that calls back into Python while the interpreter exits (after an
        error, say) aborts the process ("terminate called without an active exception")."""
        with self._cond:
            self._closed = True
            self._lead = None
            self._cond.notify_all()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._active == 0 and (self._eof or time.monotonic() - self._last > idle):
                    return
                self._cond.wait(0.01)

    def read(self, size: int = -1) -> bytes:
        self._hold()
        with self._cond:
            if self._closed:
                self._eof = True
                self._cond.notify_all()
                return b""
            self._active += 1
        data = b""
        try:
            data = self._stream.read() if size is None or size < 0 else self._stream.read(size)
        finally:
            with self._cond:
                self._active -= 1
                self._eof = self._eof or not data
                self._last = time.monotonic()
                self._cond.notify_all()
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
    """JSON lines (read in pieces of about :data:`CHUNK_BYTES` that end at a line end), or a
    JSON array or document (read whole).

    Flat JSON lines go through pyarrow's JSON reader piece by piece. The exact (slow) reader,
    which keeps numbers as written and names the line of an error, reads the whole file
    instead when a piece is not UTF-8, pyarrow cannot read it, an id column holds decimals,
    or pyarrow would type a column differently in different pieces (one file read at once
    fails then).
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        #: How many lone surrogate escapes were replaced by ``\ufffd``.
        self.replaced_surrogates = 0
        self._data: bytes | None = None
        self._data_replaced = 0
        self._whole: bool | None = None
        self._loaded = False
        self._table: pa.Table | None = None
        self._frame: pd.DataFrame | None = None
        self._rows: np.ndarray | None = None
        self._mode = "arrow"  # or "python": the exact reader
        self._names: list[str] | None = None  # every key of the file, once read through
        #: id() of an object inside an array of a JSON document -> the line where it starts
        #: (filled by :meth:`records` for a file that holds one pretty-printed document).
        self.lines: dict[int, int] = {}
        self._document_cache: Any = None

    def _bytes(self) -> bytes:
        """The whole (decompressed) file, surrogate escapes replaced."""
        if self._data is None:
            data = _strip_bom(_read_all(self.path, self.compression, self.display))
            replaced = 0
            if _SURROGATE_HINT.search(data):
                data, replaced = _LONE_SURROGATE.subn(rb"\1\\ufffd", data)
            self._data, self._data_replaced = data, replaced
        self.replaced_surrogates = self._data_replaced
        return self._data

    def _is_whole(self) -> bool:
        """Whether the file is read at once: a JSON array (its first non-blank character is
        ``[``), or nothing but white space."""
        if self._whole is None:
            stream = _open_binary(self.path, self.compression, self.display)
            first = b""
            try:
                start = True
                while True:
                    block = stream.read(_HEADER_CHUNK)
                    if not block:
                        break
                    if start:
                        block, start = _strip_bom(block), False
                    body = block.lstrip()
                    if body:
                        first = body[:1]
                        break
            except (OSError, pa.ArrowException, EOFError, ValueError) as exc:
                raise InputError(f"cannot be read (corrupt or not {self.compression or 'plain'} "
                                 f"data?): {exc}", file=self.display) from None
            finally:
                stream.close()
            self._whole = first in (b"[", b"")
        return self._whole

    def _line_chunks(self) -> Iterator[tuple[int, bytes]]:
        """The decompressed file in pieces of about :data:`CHUNK_BYTES` that end at a line end
        (the last one maybe not), each with the number of its first line; the byte order mark
        removed, lone surrogate escapes replaced (counted in :attr:`replaced_surrogates`)."""
        self.replaced_surrogates = 0
        stream = self._open()
        lineno = 1
        pieces: list[bytes] = []
        size = 0
        bom_checked = False
        try:
            while True:
                try:
                    block = stream.read(CHUNK_BYTES)
                except (OSError, pa.ArrowException, EOFError, ValueError) as exc:
                    raise InputError(f"cannot be read (corrupt or not {self.compression or 'plain'}"
                                     f" data?): {exc}", file=self.display) from None
                if block:
                    pieces.append(block)
                    size += len(block)
                if not bom_checked and (size >= 3 or not block):
                    pieces = [_strip_bom(b"".join(pieces))]
                    size = len(pieces[0])
                    bom_checked = True
                if not block:
                    data = b"".join(pieces)
                    if data:
                        yield lineno, self._replace_surrogates(data)
                    return
                if not bom_checked or b"\n" not in block:
                    continue  # a line longer than a piece: read on
                data = b"".join(pieces)
                cut = data.rfind(b"\n") + 1
                piece, rest = data[:cut], data[cut:]
                pieces, size = ([rest], len(rest)) if rest else ([], 0)
                del data
                yield lineno, self._replace_surrogates(piece)
                lineno += piece.count(b"\n")
        finally:
            self._position = self.position()
            stream.close()

    def _replace_surrogates(self, data: bytes) -> bytes:
        if _SURROGATE_HINT.search(data):
            data, n = _LONE_SURROGATE.subn(rb"\1\\ufffd", data)
            self.replaced_surrogates += n
        return data

    # -- flat JSON (column formats) ----------------------------------------------------------

    def names(self) -> list[str]:
        if self._is_whole():
            self._load()
            if self._table is not None:  # pragma: no cover - arrays use the exact reader
                return list(self._table.column_names)
            assert self._frame is not None
            return list(self._frame.columns)
        for _ in range(_MAX_PASSES):
            if self._names is not None:
                break
            try:
                for _ in self.chunks([]):
                    pass
            except Restart:
                continue
        assert self._names is not None
        return list(self._names)

    def names_hint(self) -> tuple[list[str], bool]:
        if self._names is not None or self._is_whole():
            return self.names(), True
        pieces = self._line_chunks()
        try:
            for first, piece in pieces:
                if not piece.strip():
                    continue
                out = self._arrow_piece(piece, first, frozenset(), {}) if self._mode == "arrow" \
                    else None
                if out is None:
                    break  # the exact reader: read all of it (it reports errors in file order)
                return list(out[0].column_names), False
            else:
                return [], True
        finally:
            pieces.close()
        return self.names(), True

    def chunks(self, columns: list[str], exact: frozenset[str] = frozenset()
               ) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        if self._is_whole():
            yield self._read_whole(columns, exact)
            return
        seen: dict[str, None] = {}
        got = False
        if self._mode == "python":
            for frame, rows in self._python_pieces(columns, seen):
                got = True
                yield frame, rows
        else:
            types: dict[str, pa.DataType] = {}
            for first, piece in self._line_chunks():
                out = self._arrow_piece(piece, first, exact, types)
                if out is None:
                    self._mode = "python"
                    raise Restart
                table, rows = out
                seen.update(dict.fromkeys(table.column_names))
                if table.num_rows:
                    got = True
                    yield self._arrow_frame(table, columns), rows
        self._names = list(seen)
        if not got:
            frame = pd.DataFrame({c: pd.Series([], dtype="str") for c in columns},
                                 index=pd.RangeIndex(0))
            yield frame, np.zeros(0, dtype=np.int64)

    def _arrow_piece(self, piece: bytes, first_line: int, exact: frozenset[str],
                     types: dict[str, pa.DataType]) -> tuple[pa.Table, np.ndarray] | None:
        """One piece by pyarrow, with its line numbers; None when it needs the exact reader.
        ``types`` holds the type of each column so far (as pyarrow would type the whole file)."""
        if not piece.strip():
            return pa.table({}), np.zeros(0, dtype=np.int64)
        if not _is_utf8(piece):
            return None  # the exact reader names the line that is not UTF-8
        try:
            table = pajson.read_json(pa.BufferReader(piece),
                                     read_options=pajson.ReadOptions(block_size=_JSON_BLOCK))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            log.debug("%s: pyarrow JSON reader failed (%s); using the exact reader", self.display,
                      exc)
            return None
        n_lines = piece.count(b"\n") + (0 if piece.endswith(b"\n") else 1)
        if n_lines == table.num_rows:
            rows = np.arange(first_line, first_line + table.num_rows, dtype=np.int64)
        else:  # blank lines: number the non-blank ones
            rows = np.array([i for i, line in enumerate(piece.split(b"\n"), first_line)
                             if line.strip()], dtype=np.int64)
            if len(rows) != table.num_rows:  # pragma: no cover - defensive
                return None
        for f in table.schema:
            if f.name in exact and pa.types.is_floating(f.type):
                log.debug("%s: %s parsed as floats; using the exact reader", self.display, f.name)
                return None
            unified = _unify_json_types(types.get(f.name), f.type)
            if unified is None:
                log.debug("%s: column %s is typed %s and %s in different parts; using the exact "
                          "reader", self.display, f.name, types.get(f.name), f.type)
                return None
            types[f.name] = unified
        return table, rows

    def _arrow_frame(self, table: pa.Table, columns: list[str]) -> pd.DataFrame:
        present = set(table.column_names)
        frame = _table_to_frame(table, [c for c in columns if c in present], self.display)
        for c in columns:
            if c not in present:  # not in this piece: missing
                frame[c] = pd.Series(np.full(table.num_rows, np.nan, dtype=object), dtype="str",
                                     index=frame.index)
        return frame[list(columns)] if len(columns) else frame

    def _python_pieces(self, columns: list[str], seen: dict[str, None]
                       ) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """The exact reader, piece by piece. Its errors come in the order of one file read at
        once: the first line that is not UTF-8, else the first invalid JSON line, else the
        first value that is not an object."""
        json_error: InputError | None = None
        type_error: InputError | None = None
        for first, piece in self._line_chunks():
            try:
                text = piece.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = first + piece[: exc.start].count(b"\n")
                raise InputError("cannot be decoded as UTF-8 text", file=self.display,
                                 row=line) from None
            if json_error is not None:
                continue  # only UTF-8 errors come first
            records: list[Any] = []
            rows: list[int] = []
            for lineno, line in enumerate(text.split("\n"), first):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line, parse_int=str, parse_float=str))
                except ValueError as exc:
                    json_error = InputError(f"invalid JSON: {_json_problem(exc)}",
                                            file=self.display, row=lineno)
                    break
                rows.append(lineno)
            if json_error is not None or type_error is not None:
                continue
            for rec, row in zip(records, rows):
                if not isinstance(rec, dict):
                    type_error = InputError(f"expected a JSON object, got {type(rec).__name__}",
                                            file=self.display, row=row)
                    break
            if type_error is not None:
                continue
            keys: dict[str, None] = {}
            for rec in records:
                keys.update(dict.fromkeys(rec))
            seen.update(keys)
            if records:
                yield _records_frame(records, columns, keys), np.asarray(rows, dtype=np.int64)
        if json_error is not None:
            raise json_error
        if type_error is not None:
            raise type_error

    # -- a JSON array (or an empty file), read at once -----------------------------------------

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        self._bytes()
        self._python()

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

    def _read_whole(self, columns: list[str], exact: frozenset[str]
                    ) -> tuple[pd.DataFrame, np.ndarray]:
        self._load()
        assert self._frame is not None and self._rows is not None
        return self._frame[list(columns)].copy(), self._rows

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
        if self._is_whole():
            data = self._bytes()
            if not data.strip():
                return
            try:
                doc = json.loads(data)
            except UnicodeDecodeError as exc:
                raise _utf8_error(data, exc, self.display) from None
            except ValueError as exc:
                raise InputError(f"invalid JSON: {_json_problem(exc)}", file=self.display,
                                 row=getattr(exc, "lineno", None)) from None
            yield from enumerate(doc, 1)
            return
        first_value = True
        for first, piece in self._line_chunks():
            lineno = first - 1
            for raw in io.BytesIO(piece):
                lineno += 1
                if not raw.strip():
                    continue
                try:
                    value = json.loads(raw)
                except UnicodeDecodeError:
                    raise InputError("cannot be decoded as UTF-8 text", file=self.display,
                                     row=lineno) from None
                except ValueError as exc:
                    if first_value:  # the first line: maybe one pretty-printed document
                        document = self._document(self._bytes(), exc, lineno)
                        if document is not None:
                            yield 1, document
                            return
                    raise InputError(f"invalid JSON: {_json_problem(exc)}",
                                     file=self.display, row=lineno) from None
                first_value = False
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


def _records_frame(records: list[dict[str, Any]], columns: list[str],
                   keys: dict[str, None]) -> pd.DataFrame:
    """``columns`` of JSON objects (decoded with numbers as text): text, or lists."""
    out = {}
    for k in columns:
        if k in keys:
            values = [_json_cell(rec.get(k)) for rec in records]
            if all(v is None or isinstance(v, str) for v in values):
                out[k] = pd.Series(values, dtype="str")
            else:
                out[k] = pd.Series(values, dtype=object)
        else:
            out[k] = pd.Series(np.full(len(records), np.nan, dtype=object), dtype="str")
    return pd.DataFrame(out, index=pd.RangeIndex(len(records)))


def _unify_json_types(old: pa.DataType | None, new: pa.DataType) -> pa.DataType | None:
    """The type pyarrow's JSON reader gives a column typed ``old`` in earlier blocks and ``new``
    in a later one; None when it fails (then the file is read the exact way).

    Examples
    --------
    >>> _unify_json_types(pa.int64(), pa.float64())
    DataType(double)
    >>> _unify_json_types(pa.int64(), pa.string()) is None
    True
    """
    if old is None or old == new or pa.types.is_null(old) and not (
            pa.types.is_list(new) or pa.types.is_struct(new)):
        return new
    if pa.types.is_null(new):
        return old
    numeric = (pa.types.is_integer, pa.types.is_floating)
    if any(f(old) for f in numeric) and any(f(new) for f in numeric):
        return pa.float64()
    if pa.types.is_timestamp(old) and pa.types.is_timestamp(new):
        return old
    if {pa.types.is_timestamp(old), pa.types.is_timestamp(new)} == {True, False} and \
            pa.types.is_string(old if pa.types.is_string(old) else new):
        return pa.string()
    if pa.types.is_list(old) and pa.types.is_list(new):
        item = _unify_json_types(old.value_type, new.value_type)
        return None if item is None else pa.list_(item)
    if pa.types.is_struct(old) and pa.types.is_struct(new):
        return old
    return None


class _ParquetSource(Source):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._file: pq.ParquetFile | None = None

    def _parquet(self) -> pq.ParquetFile:
        if self._file is None:
            source: Any = str(self.path)
            if self.compression is not None:  # Parquet needs random access: decompress it all
                source = pa.BufferReader(_read_all(self.path, self.compression, self.display))
            try:
                self._file = pq.ParquetFile(source)
            except (pa.ArrowException, OSError) as exc:
                raise InputError(f"is not a readable Parquet file: {exc}", file=self.display) from None
        return self._file

    def names(self) -> list[str]:
        names = list(self._parquet().schema_arrow.names)
        self.duplicates = {n for n in names if names.count(n) > 1}
        return list(dict.fromkeys(names))

    def chunks(self, columns: list[str], exact: frozenset[str] = frozenset()
               ) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        pf = self._parquet()
        total = pf.metadata.num_rows
        size = self.path.stat().st_size
        self._position = 0
        done = 0
        try:
            batches = pf.iter_batches(batch_size=PARQUET_BATCH_ROWS,
                                      columns=list(columns) or None)
            for batch in batches:
                n = batch.num_rows
                if n == 0:
                    continue
                frame = _table_to_frame(pa.Table.from_batches([batch]), list(columns),
                                        self.display)
                rows = np.arange(done + 1, done + n + 1, dtype=np.int64)
                done += n
                self._position = size * done // total if total else size
                yield frame, rows
            if done == 0:
                empty = pf.schema_arrow.empty_table()
                yield _table_to_frame(empty, list(columns), self.display), \
                    np.zeros(0, dtype=np.int64)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"cannot be read as Parquet: {exc}", file=self.display) from None


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
