"""Tests of cib.io reading files in chunks: the result of many chunks is that of one, row numbers
stay the file's, duplicates are found across chunks and files, the progress bar."""

from __future__ import annotations

import bz2
import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cib.errors import InputError
from cib.io import _read, _readers, read_actions
from cib.io._progress import progress_default, resolve
from cib.io._readers import Restart, open_source

SMALL = 2048  # bytes per chunk in these tests: every test file spans many chunks


def small(monkeypatch, size: int = SMALL) -> None:
    monkeypatch.setattr(_readers, "CHUNK_BYTES", size)
    monkeypatch.setattr(_readers, "PARQUET_BATCH_ROWS", 37)
    monkeypatch.setattr(_read, "RECORD_CHUNK", 5)


def read_both(monkeypatch, paths, **kwargs):
    """read_actions with the default chunks (each test file is one chunk) and with small ones."""
    whole = read_actions(paths, **kwargs)
    with monkeypatch.context() as m:
        small(m)
        chunked = read_actions(paths, **kwargs)
    return whole, chunked


def assert_same(a, b) -> None:
    pd.testing.assert_frame_equal(a[0], b[0], check_exact=True)
    pd.testing.assert_frame_equal(a[1], b[1], check_exact=True)
    assert a[2] == b[2]


def n_chunks(path, columns) -> int:
    source = open_source(path)
    source.names()
    for _ in range(5):
        try:
            return sum(1 for _ in source.chunks(columns))
        except Restart:
            continue
    raise AssertionError("too many passes")


def csv_lines(n: int, start: int = 0, multiline: bool = True) -> list[str]:
    """Rows with a bit of everything: generated ids, bad timestamps, missing accounts, unknown
    action types, hashtags, and (``multiline``) quoted cells over two lines."""
    out = []
    for i in range(start, start + n):
        aid = "" if i % 41 == 0 else f"a{i}"
        account = "" if i % 53 == 0 else f"u{i % 17}"
        ts = "soon" if i % 37 == 0 else str(1_600_000_000 + 7 * i)
        parent = f"a{i - 1}" if i % 3 == 0 else ""
        text = f'"line one {i}\nline two, {i}"' if multiline and i % 9 == 0 else f"text {i}"
        tags = "#x #y" if i % 5 == 0 else ""
        kind = "like" if i % 61 == 0 else ""
        out.append(f"{aid},{account},{ts},{parent},{text},{tags},{kind}")
    return out


HEADER = "action_id,account_id,timestamp,parent_id,text,hashtags,action_type"


def write_csv(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Many chunks give what one gives
# ---------------------------------------------------------------------------------------------

def test_many_chunks_give_the_frame_and_rejects_of_one(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "x.csv", csv_lines(1500))
    with monkeypatch.context() as m:
        small(m)
        assert n_chunks(path, ["action_id"]) > 20
    whole, chunked = read_both(monkeypatch, path)
    assert_same(whole, chunked)
    assert len(whole[1]) > 50  # rejects of every kind, in every chunk
    assert set(whole[1]["reason"]) >= {"missing account_id", "unparsable timestamp",
                                       "unknown action_type"}


@pytest.mark.parametrize("compress", ["gz", "bz2", "zst"])
def test_compressed_files_are_read_in_chunks(tmp_path, monkeypatch, compress):
    plain = write_csv(tmp_path / "x.csv", csv_lines(800))
    data = plain.read_bytes()
    if compress == "gz":
        packed = gzip.compress(data)
    elif compress == "bz2":
        packed = bz2.compress(data)
    else:
        if not pa.Codec.is_available("zstd"):
            pytest.skip("pyarrow without zstd")
        packed = pa.compress(data, "zstd", asbytes=True)
        sink = pa.BufferOutputStream()
        with pa.CompressedOutputStream(sink, "zstd") as out:
            out.write(data)
        packed = sink.getvalue().to_pybytes()
    path = tmp_path / f"x.csv.{compress}"
    path.write_bytes(packed)
    expected = read_actions(plain)
    with monkeypatch.context() as m:
        small(m)
        assert n_chunks(path, ["action_id"]) > 10
        got = read_actions(path)
    pd.testing.assert_frame_equal(got[1].drop(columns="source"), expected[1].drop(columns="source"))
    # generated ids carry the file's stem, the same for both
    pd.testing.assert_frame_equal(got[0], expected[0])


def test_quoted_multiline_cells_across_block_boundaries(tmp_path, monkeypatch):
    # Every row has a quoted cell over three lines; with 256-byte blocks, many cells cross a
    # block boundary.
    lines = [f'a{i},u{i % 5},{1_600_000_000 + i},,"first {i}\nsecond, {i}\n""third"" {i}",,'
             for i in range(300)]
    path = write_csv(tmp_path / "m.csv", lines)
    with monkeypatch.context() as m:
        small(m, 256)
        assert n_chunks(path, ["text"]) > 20
        actions, rejects, stats = read_actions(path)
    assert len(rejects) == 0 and stats["rows_read"] == 300
    texts = dict(zip(actions["action_id"], actions["text"]))
    assert all(texts[f"a{i}"] == f'first {i}\nsecond, {i}\n"third" {i}' for i in range(300))


def test_a_row_longer_than_a_block_is_read(tmp_path, monkeypatch):
    long = "x" * 5000
    path = write_csv(tmp_path / "long.csv", csv_lines(100, multiline=False)
                     + [f'a999,u1,1600000000,,"{long}\n{long}",,'] + csv_lines(100, 1000))
    whole, chunked = read_both(monkeypatch, path)
    assert_same(whole, chunked)
    assert whole[0].set_index("action_id").loc["a999", "text"] == f"{long}\n{long}"


# ---------------------------------------------------------------------------------------------
# Row numbers
# ---------------------------------------------------------------------------------------------

def test_a_bad_row_in_the_third_chunk_has_its_line_number(tmp_path, monkeypatch):
    lines = csv_lines(600, multiline=False)
    lines[470] = "a470,u1,not a time,,t,,"  # line 472 (the header is line 1)
    path = write_csv(tmp_path / "x.csv", lines)
    with monkeypatch.context() as m:
        small(m)
        source = open_source(path)
        source.names()
        chunks = list(source.chunks(["action_id"]))
        assert len(chunks) > 5
        third_or_later = next(i for i, (_, rows) in enumerate(chunks) if 472 in rows)
        assert third_or_later >= 2
        _, rejects, _ = read_actions(path)
        bad = rejects[rejects["value"] == "not a time"]
        assert bad["row"].tolist() == [472]
        with pytest.raises(InputError) as err:
            read_actions(path, on_error="fail", mapping=None)
    first = rejects.iloc[0]
    assert err.value.row == first["row"]


def test_malformed_row_far_into_the_file_names_its_row(tmp_path, monkeypatch):
    lines = csv_lines(600, multiline=False)
    lines[500] += ",one too many"
    path = write_csv(tmp_path / "x.csv", lines)
    with monkeypatch.context() as m:
        small(m)
        with pytest.raises(InputError) as err:
            read_actions(path)
    assert err.value.row == 502
    assert "Expected 7 columns, got 8" in str(err.value)


def test_blank_lines_late_in_the_file_count_as_rows(tmp_path, monkeypatch):
    lines = csv_lines(600, multiline=False)
    lines[400:400] = ["", ""]  # two blank lines: rows after them move down by two
    lines[550] = "a550,u1,not a time,,t,,"
    path = write_csv(tmp_path / "b.csv", lines)
    whole, chunked = read_both(monkeypatch, path)
    assert_same(whole, chunked)
    assert chunked[1].loc[chunked[1]["value"] == "not a time", "row"].tolist() == [552]


def test_unclosed_quote_far_into_the_file(tmp_path, monkeypatch):
    lines = csv_lines(300, multiline=False)
    lines[-1] = lines[-1].replace("text 299", '"never closed')
    path = write_csv(tmp_path / "q.csv", lines)
    with pytest.raises(InputError) as whole:
        read_actions(path)
    with monkeypatch.context() as m:
        small(m)
        with pytest.raises(InputError) as chunked:
            read_actions(path)
    assert str(chunked.value) == str(whole.value)


def test_jsonl_line_numbers_across_chunks(tmp_path, monkeypatch):
    recs = [json.dumps({"action_id": f"j{i}", "account_id": f"u{i % 7}",
                        "timestamp": "later" if i == 333 else 1_600_000_000 + i})
            for i in range(500)]
    recs[100:100] = [""]  # a blank line: line numbers and record numbers differ after it
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(recs) + "\n")
    whole, chunked = read_both(monkeypatch, path)
    assert_same(whole, chunked)
    assert chunked[1]["row"].tolist() == [335]


# ---------------------------------------------------------------------------------------------
# Duplicates
# ---------------------------------------------------------------------------------------------

def test_duplicates_across_chunks_and_files(tmp_path, monkeypatch):
    lines = csv_lines(500, multiline=False)
    lines.append(lines[10])  # an exact duplicate of row 12, many chunks later
    lines.append("a20,u99,1600000000,,other text,,")  # a20 with other content
    first = write_csv(tmp_path / "one.csv", lines)
    second = write_csv(tmp_path / "two.csv", [lines[30], lines[31], "a40,u98,1600000001,,t,,"])
    whole, chunked = read_both(monkeypatch, [first, second])
    assert_same(whole, chunked)
    actions, rejects, stats = chunked
    assert stats["duplicates_dropped"] == 3
    assert [f["duplicates"] for f in stats["files"]] == [1, 2]
    conflict = rejects[rejects["reason"] == "duplicate action_id with different content"]
    assert conflict[["source", "row", "value"]].values.tolist() == [
        [str(first), 503, "a20"], [str(second), 4, "a40"]]
    assert actions["action_id"].is_unique


def test_duplicates_do_not_depend_on_the_id_hash(tmp_path, monkeypatch):
    # Duplicates are found by sorting 64-bit hashes of the ids; rows whose hashes collide are
    # compared by their ids, so even a hash that is the same for every id gives the same result.
    lines = csv_lines(300, multiline=False)
    lines += [lines[5], "a7,u99,1600000000,,other,,", lines[200]]
    path = write_csv(tmp_path / "d.csv", lines)
    expected = read_actions(path)
    monkeypatch.setattr(_read, "_id_hashes", lambda ids: np.zeros(len(ids), dtype=np.uint64))
    assert_same(expected, read_actions(path))
    assert expected[2]["duplicates_dropped"] == 2


def test_glob_of_chunked_files(tmp_path, monkeypatch):
    for k in range(3):
        write_csv(tmp_path / f"part{k}.csv", csv_lines(200, start=150 * k, multiline=False))
    whole, chunked = read_both(monkeypatch, str(tmp_path / "part*.csv"))
    assert_same(whole, chunked)
    assert chunked[2]["duplicates_dropped"] > 0  # the parts overlap


# ---------------------------------------------------------------------------------------------
# What the whole file decides
# ---------------------------------------------------------------------------------------------

def test_epoch_unit_is_decided_by_the_whole_file(tmp_path, monkeypatch):
    # The first chunks hold seconds, most of the file milliseconds: the median says ms.
    lines = [f"a{i},u1,{1_600_000_000 + i}" for i in range(200)]
    lines += [f"a{i},u1,{1_600_000_000_000 + i}" for i in range(200, 600)]
    path = write_csv(tmp_path / "e.csv", lines, header="action_id,account_id,timestamp")
    whole, chunked = read_both(monkeypatch, path)
    assert_same(whole, chunked)
    assert chunked[2]["timestamp_resolution_s"] == 0.001
    first = chunked[0].set_index("action_id").loc["a0", "timestamp"]
    assert first.year == 1970  # the seconds are read as milliseconds


def test_jsonl_columns_and_types_found_late(tmp_path, monkeypatch):
    recs = [{"action_id": f"j{i}", "account_id": f"u{i % 7}", "timestamp": 1_600_000_000 + i}
            for i in range(400)]
    for i in range(300, 400, 2):
        recs[i]["parent_id"] = f"j{i - 1}"  # a column that only the end of the file has
    recs[350]["timestamp"] = 1_600_000_350.5  # an int column that becomes a float
    path = tmp_path / "late.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    whole, chunked = read_both(monkeypatch, path)
    assert_same(whole, chunked)
    assert chunked[0]["parent_id"].notna().sum() == 50
    recs[390]["account_id"] = 12.5  # an id column with a decimal: the exact reader
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    whole, chunked = read_both(monkeypatch, path)
    assert_same(whole, chunked)
    assert "12.5" in set(chunked[0]["account_id"])


def test_format_warnings_count_the_whole_file(tmp_path, monkeypatch):
    fixture = Path(__file__).parent / "fixtures" / "formats" / "crowdtangle.csv"
    header, *rows = fixture.read_text().splitlines()
    rows = [r.replace(" EST,", ",", 1) if i % 3 == 0 else r for i, r in enumerate(rows * 40)]
    path = tmp_path / "ct.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    whole, chunked = read_both(monkeypatch, path)
    assert_same(whole, chunked)
    assert chunked[2]["warnings"][0].endswith(
        "ct.csv: 40 'Post Created' values have no known time zone; those without any are read "
        "as UTC")


def test_parquet_batches(tmp_path, monkeypatch):
    n = 500
    table = pa.table({"action_id": [f"p{i}" for i in range(n)],
                      "account_id": [f"u{i % 9}" if i % 50 else None for i in range(n)],
                      "timestamp": pa.array([1_600_000_000 + i for i in range(n)], pa.int64()),
                      "hashtags": [["a"] if i % 4 == 0 else [] for i in range(n)]})
    path = tmp_path / "x.parquet"
    pq.write_table(table, path, row_group_size=120)
    whole, chunked = read_both(monkeypatch, path)
    assert_same(whole, chunked)
    assert chunked[1]["row"].tolist() == [i + 1 for i in range(0, n, 50)]


def test_record_formats_in_chunks(tmp_path, monkeypatch):
    fixture = Path(__file__).parent / "fixtures" / "formats" / "twarc2_pages.jsonl"
    path = tmp_path / "pages.jsonl"
    path.write_text("\n".join([fixture.read_text().strip()] * 20) + "\n")
    whole, chunked = read_both(monkeypatch, path)
    assert_same(whole, chunked)
    assert chunked[2]["format"] == "twarc2"


def test_source_read_is_all_chunks(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "x.csv", csv_lines(300))
    frame, rows = open_source(path).read(["action_id", "text"])
    with monkeypatch.context() as m:
        small(m)
        frame2, rows2 = open_source(path).read(["action_id", "text"])
    pd.testing.assert_frame_equal(frame, frame2)
    assert np.array_equal(rows, rows2)


def test_actions_share_equal_strings(tmp_path):
    path = write_csv(tmp_path / "x.csv", csv_lines(300, multiline=False))
    actions = read_actions(path)[0]
    by_text: dict[str, int] = {}
    for value in actions["account_id"]:
        by_text.setdefault(value, id(value))
        assert by_text[value] == id(value)  # one object per distinct account id
    assert actions["account_id"].dtype == object


# ---------------------------------------------------------------------------------------------
# Progress bar
# ---------------------------------------------------------------------------------------------

def test_progress_bar_when_asked_and_not_otherwise(tmp_path, capsys):
    path = write_csv(tmp_path / "x.csv", csv_lines(200))
    read_actions(path, progress=True)
    err = capsys.readouterr().err
    assert "reading x.csv" in err and "200 rows" in err and "sorting" in err
    read_actions(path, progress=False)
    assert capsys.readouterr().err == ""
    read_actions(path)  # stderr is not a terminal here
    assert capsys.readouterr().err == ""
    with progress_default(False):
        read_actions(path, progress=None)
        assert resolve(None) is False
    assert capsys.readouterr().err == ""


def test_progress_bar_without_tqdm(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails
    path = write_csv(tmp_path / "x.csv", csv_lines(200))
    read_actions(path, progress=True)
    err = capsys.readouterr().err
    assert "reading x.csv" in err and "MiB" in err


def test_progress_is_auto_on_a_terminal(monkeypatch):
    class Tty:
        def isatty(self):
            return True

    assert resolve(None, Tty()) is True
    assert resolve(False, Tty()) is False
    with progress_default(True):
        assert resolve(None) is True


def test_quiet_cli_has_no_progress(tmp_path):
    from click.testing import CliRunner

    from cib.cli import main

    path = write_csv(tmp_path / "x.csv", csv_lines(50, multiline=False))
    result = CliRunner().invoke(main, ["-q", "inspect", str(path)])
    assert result.exit_code == 0, result.output
    assert "rows" in result.output


def test_identical_rows_without_action_ids_are_dropped_as_duplicates(tmp_path):
    from cib.io import read_actions

    p = tmp_path / "noid.csv"
    p.write_text("account_id,timestamp,text\n"
                 "a,2024-01-01T00:00:00Z,hello there\n"
                 "a,2024-01-01T00:00:00Z,hello there\n"
                 "b,2024-01-01T00:00:00Z,hello there\n"
                 "a,2024-01-01T00:00:01Z,hello there\n"
                 "a,2024-01-01T00:00:00Z,hello there\n", encoding="utf-8")
    actions, rejects, stats = read_actions([str(p)])
    assert stats["duplicates_dropped"] == 2
    assert len(actions) == 3 and rejects.empty
    assert sorted(actions["account_id"]) == ["a", "a", "b"]
