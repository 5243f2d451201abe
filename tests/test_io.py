"""Tests of cib.io: reading input files into ACTIONS, REJECTS and stats."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cib.errors import InputError, ParameterError
from cib.io import FORMATS, detect_format, read_actions
from cib.schema import ACTION_COLUMNS, ACTION_TYPES, REJECT_COLUMNS, UTC_NS, validate_actions

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RUSSIAN = SHARED / "data" / "real" / "coortweet" / "russian_coord_tweets.csv.gz"

HEADER = "action_id,account_id,timestamp,parent_id,text"
ROWS = [
    "a1,u1,2021-01-17T07:56:33Z,,hello",
    "a2,u2,2021-01-17T07:57:00Z,a1,",
    "a3,u1,2021-01-17T07:58:00Z,,bye",
]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def csv_file(tmp_path: Path, rows: list[str] = ROWS, header: str = HEADER,
             name: str = "in.csv") -> Path:
    return write(tmp_path / name, "\n".join([header, *rows]) + "\n")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# ---------------------------------------------------------------------------------------------
# Columns by name, mapping, missing columns
# ---------------------------------------------------------------------------------------------

def test_result_follows_the_actions_contract(tmp_path):
    actions, rejects, stats = read_actions(csv_file(tmp_path))
    validate_actions(actions)
    assert list(actions.columns) == ACTION_COLUMNS
    assert list(rejects.columns) == REJECT_COLUMNS
    assert str(actions["timestamp"].dtype) == UTC_NS
    assert list(actions["action_type"].cat.categories) == ACTION_TYPES
    for c in ["action_id", "account_id", "parent_id", "text", "platform"]:
        assert actions[c].dtype == object
    assert actions["parent_id"].tolist() == [None, "a1", None]
    assert actions["text"].tolist() == ["hello", None, "bye"]
    assert actions["urls"].tolist() == [[], [], []]
    assert isinstance(actions.index, pd.RangeIndex)


def test_columns_are_read_by_name_reordered_and_extra(tmp_path):
    plain = read_actions(csv_file(tmp_path))[0]
    shuffled = write(tmp_path / "shuffled.csv",
                     "extra,text,timestamp,parent_id,account_id,action_id,more\n"
                     "x,hello,2021-01-17T07:56:33Z,,u1,a1,1\n"
                     "y,,2021-01-17T07:57:00Z,a1,u2,a2,2\n"
                     "z,bye,2021-01-17T07:58:00Z,,u1,a3,3\n")
    pd.testing.assert_frame_equal(read_actions(shuffled)[0], plain)


def test_mapping_renames_input_columns(tmp_path):
    path = write(tmp_path / "m.csv", "user,created_at,id\nu1,2021-01-17 07:56:33,a1\n")
    for mapping in ["account_id=user, timestamp=created_at, action_id=id",
                    {"account_id": "user", "timestamp": "created_at", "action_id": "id"}]:
        actions = read_actions(path, mapping=mapping)[0]
        assert actions.loc[0, ["action_id", "account_id"]].tolist() == ["a1", "u1"]
        assert actions.loc[0, "timestamp"] == ts("2021-01-17 07:56:33")


def test_mapping_of_a_column_not_in_the_file_is_an_error(tmp_path):
    path = csv_file(tmp_path)
    with pytest.raises(InputError, match="nope, gone") as err:
        read_actions(path, mapping="account_id=nope,timestamp=gone")
    assert err.value.file == str(path)


def test_mapping_to_an_unknown_cib_column_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="'map'"):
        read_actions(csv_file(tmp_path), mapping="acount_id=account_id")


def test_missing_required_columns_are_listed_together(tmp_path):
    path = write(tmp_path / "bad.csv", "user,created_at\nu1,2021-01-01\n")
    with pytest.raises(InputError) as err:
        read_actions(path)
    message = str(err.value)
    assert err.value.file == str(path)
    assert str(path) in message
    assert "account_id, timestamp" in message
    assert "--map" in message


def test_bad_parameters(tmp_path):
    path = csv_file(tmp_path)
    with pytest.raises(ParameterError, match="on_error"):
        read_actions(path, on_error="ignore")
    with pytest.raises(ParameterError, match="format"):
        read_actions(path, format="excel")


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------

def test_ids_keep_leading_zeros_and_numeric_spelling(tmp_path):
    path = write(tmp_path / "ids.csv", "action_id,account_id,timestamp,parent_id\n"
                                       "007,0042,1610870400,1e+18\n"
                                       "1.50,00,1610870401,\n")
    actions = read_actions(path)[0]
    assert actions["action_id"].tolist() == ["007", "1.50"]
    assert actions["account_id"].tolist() == ["0042", "00"]
    assert actions["parent_id"].tolist() == ["1e+18", None]


def test_epoch_seconds_millis_and_iso_zones_give_the_same_instant(tmp_path):
    spellings = {
        "s": "1610870400", "s_float": "1610870400.0", "ms": "1610870400000",
        "iso_z": "2021-01-17T08:00:00Z", "iso_offset": "2021-01-17T11:00:00+03:00",
        "iso_negative": "2021-01-17T03:00:00-05:00", "naive": "2021-01-17 08:00:00",
        "naive_t": "2021-01-17T08:00:00", "twitter": "Sun Jan 17 08:00:00 +0000 2021",
    }
    for name, value in spellings.items():
        path = write(tmp_path / f"{name}.csv", f"account_id,timestamp\nu1,{value}\n")
        actions, rejects, _ = read_actions(path)
        assert len(rejects) == 0, name
        assert actions.loc[0, "timestamp"] == ts("2021-01-17 08:00:00"), name


def test_mixed_zones_in_one_file_are_normalised_to_utc(tmp_path):
    path = write(tmp_path / "z.csv", "action_id,account_id,timestamp\n"
                                     "a,u,2021-01-17T08:00:00+01:00\n"
                                     "b,u,2021-01-17T08:00:00Z\n"
                                     "c,u,2021-01-17 08:00:00\n")
    actions = read_actions(path)[0].set_index("action_id")
    assert actions.loc["a", "timestamp"] == ts("2021-01-17 07:00")
    assert actions.loc["b", "timestamp"] == actions.loc["c", "timestamp"] == ts("2021-01-17 08:00")


def test_epoch_fractions_keep_milliseconds(tmp_path):
    path = write(tmp_path / "f.csv", "account_id,timestamp\nu,1610870400.123\n")
    assert read_actions(path)[0].loc[0, "timestamp"] == ts("2021-01-17 08:00:00.123")


def test_bad_timestamp_is_rejected_with_row_and_column(tmp_path):
    path = csv_file(tmp_path, rows=[ROWS[0], "a2,u2,yesterday,,", "a3,u3,,,", ROWS[2]])
    actions, rejects, stats = read_actions(path)
    assert actions["action_id"].tolist() == ["a1", "a3"]
    assert rejects.to_dict("records") == [
        {"source": str(path), "row": 3, "column": "timestamp", "value": "yesterday",
         "reason": "unparsable timestamp"},
        {"source": str(path), "row": 4, "column": "timestamp", "value": "",
         "reason": "missing timestamp"},
    ]
    assert stats["rows_rejected"] == 2


def test_other_row_problems_are_rejected(tmp_path):
    path = write(tmp_path / "r.csv", "action_id,account_id,timestamp,action_type,parent_id\n"
                                     "a1,,1610870400,post,\n"
                                     "a2,u,1610870400,like,\n"
                                     "a3,u,1610870400,reply,\n"
                                     "a4,u,1610870400,quote,a1\n")
    actions, rejects, _ = read_actions(path)
    assert actions["action_id"].tolist() == ["a4"]
    assert rejects[["row", "column", "reason"]].values.tolist() == [
        [2, "account_id", "missing account_id"],
        [3, "action_type", "unknown action_type"],
        [4, "parent_id", "reply without parent_id"],
    ]


def test_action_type_aliases_and_derivation(tmp_path):
    path = write(tmp_path / "t.csv", "action_id,account_id,timestamp,action_type,parent_id\n"
                                     "a1,u,1,Tweet,\n"
                                     "a2,u,2,RT,a1\n"
                                     "a3,u,3,comment,a1\n"
                                     "a4,u,4, QUOTE ,a1\n"
                                     "a5,u,5,,a1\n"
                                     "a6,u,6,,\n")
    actions = read_actions(path)[0]
    assert actions["action_type"].tolist() == ["post", "repost", "reply", "quote", "repost", "post"]


def test_action_type_is_derived_when_the_column_is_absent(tmp_path):
    actions = read_actions(csv_file(tmp_path))[0]
    assert actions["action_type"].tolist() == ["post", "repost", "post"]


def test_list_columns(tmp_path):
    path = tmp_path / "l.csv"
    pd.DataFrame({
        "account_id": ["u1", "u2", "u3"],
        "timestamp": ["1", "2", "3"],
        "hashtags": ['["#Vote", "now"]', "#a #b,c|d;#e", ""],
        "mentions": ["@x @@y", None, "z"],
        "urls": ["https://a.org/?q=1,2;3 https://b.org", "https://c.org, https://d.org", None],
        "media": ["h1|h2", None, None],
    }).to_csv(path, index=False)
    actions = read_actions(path)[0]
    assert actions["hashtags"].tolist() == [["Vote", "now"], ["a", "b", "c", "d", "e"], []]
    assert actions["mentions"].tolist() == [["x", "@y"], [], ["z"]]
    assert actions["urls"].tolist() == [["https://a.org/?q=1,2;3", "https://b.org"],
                                        ["https://c.org", "https://d.org"], []]
    assert actions["media"].tolist() == [["h1", "h2"], [], []]


def test_generated_action_ids_use_file_stem_and_row(tmp_path):
    path = tmp_path / "day1.csv.gz"
    path.write_bytes(gzip.compress(b"account_id,timestamp\nu1,1\nu2,2\n"))
    assert read_actions(path)[0]["action_id"].tolist() == ["day1:2", "day1:3"]


def test_timestamp_resolution(tmp_path):
    minutes = write(tmp_path / "m.csv", "account_id,timestamp\nu,1610870400\nu,1610870460\n")
    seconds = write(tmp_path / "s.csv", "account_id,timestamp\nu,1610870400\nu,1610870401\n")
    millis = write(tmp_path / "ms.csv", "account_id,timestamp\nu,1610870400001\n")
    assert read_actions(minutes)[2]["timestamp_resolution_s"] == 60.0
    assert read_actions(seconds)[2]["timestamp_resolution_s"] == 1.0
    assert read_actions(millis)[2]["timestamp_resolution_s"] == 0.001


# ---------------------------------------------------------------------------------------------
# on_error, duplicates, order
# ---------------------------------------------------------------------------------------------

def test_on_error_fail_raises_for_the_first_bad_row(tmp_path):
    path = csv_file(tmp_path, rows=[ROWS[0], "a2,,2021-01-17,,", "a3,u2,soon,,"])
    with pytest.raises(InputError) as err:
        read_actions(path, on_error="fail")
    assert (err.value.file, err.value.row, err.value.column) == (str(path), 3, "account_id")
    assert "missing account_id" in str(err.value)


def test_on_error_fail_raises_for_a_conflicting_duplicate(tmp_path):
    path = csv_file(tmp_path, rows=[ROWS[0], "a1,u9,2021-01-17T07:56:33Z,,hello", ROWS[2]])
    with pytest.raises(InputError, match="duplicate action_id") as err:
        read_actions(path, on_error="fail")
    assert (err.value.row, err.value.column) == (3, "action_id")


def test_exact_duplicates_are_dropped_and_counted(tmp_path):
    path = csv_file(tmp_path, rows=[ROWS[0], ROWS[1], ROWS[0], ROWS[2], ROWS[0]])
    actions, rejects, stats = read_actions(path)
    assert actions["action_id"].tolist() == ["a1", "a2", "a3"]
    assert len(rejects) == 0
    assert stats["duplicates_dropped"] == 2
    assert stats["files"][0]["duplicates"] == 2
    assert stats["rows_read"] == 5


def test_duplicate_action_id_with_different_content_is_rejected(tmp_path):
    path = csv_file(tmp_path, rows=[ROWS[0], "a1,u1,2021-01-17T07:56:33Z,,edited", ROWS[2]])
    actions, rejects, stats = read_actions(path)
    assert actions.loc[actions["action_id"] == "a1", "text"].tolist() == ["hello"]  # first kept
    assert rejects[["row", "column", "value", "reason"]].values.tolist() == [
        [3, "action_id", "a1", "duplicate action_id with different content"]]
    assert stats["duplicates_dropped"] == 0
    assert stats["rows_rejected"] == 1


def test_input_row_order_does_not_change_the_output(tmp_path):
    rows = [f"a{i},u{i % 7},{1610870400 + (i * 37) % 50},{'' if i % 3 else f'a{i - 1}'},t{i}"
            for i in range(1, 60)]
    rows += [rows[5], rows[9]]  # exact duplicates too
    rng = np.random.default_rng(1)
    first = read_actions(csv_file(tmp_path, rows=rows, name="a.csv"))
    shuffled = [rows[i] for i in rng.permutation(len(rows))]
    second = read_actions(csv_file(tmp_path, rows=shuffled, name="b.csv"))
    pd.testing.assert_frame_equal(first[0], second[0])
    assert first[2]["duplicates_dropped"] == second[2]["duplicates_dropped"] == 2


def test_stats_add_up(tmp_path):
    path = csv_file(tmp_path, rows=[ROWS[0], ROWS[0], "a2,u2,bad,,", ROWS[2]])
    actions, rejects, stats = read_actions(path)
    assert len(actions) == stats["rows_read"] - stats["rows_rejected"] - stats["duplicates_dropped"]
    assert stats["files"][0]["path"] == str(path)
    assert len(stats["files"][0]["sha256"]) == 64
    assert stats["format"] == stats["files"][0]["format"] == "generic"


# ---------------------------------------------------------------------------------------------
# Containers and compression
# ---------------------------------------------------------------------------------------------

def test_gzip_and_bz2(tmp_path):
    expected = read_actions(csv_file(tmp_path))[0]
    text = "\n".join([HEADER, *ROWS]) + "\n"
    gz = tmp_path / "in.csv.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    bz = tmp_path / "in.csv.bz2"
    bz.write_bytes(bz2.compress(text.encode()))
    for path in (gz, bz):
        pd.testing.assert_frame_equal(read_actions(path)[0], expected)


def test_zstd(tmp_path):
    if not pa.Codec.is_available("zstd"):
        pytest.skip("no zstd codec")
    text = ("\n".join([HEADER, *ROWS]) + "\n").encode()
    path = tmp_path / "in.csv.zst"
    with pa.CompressedOutputStream(str(path), "zstd") as out:
        out.write(text)
    assert read_actions(path)[0]["action_id"].tolist() == ["a1", "a2", "a3"]


def test_tsv_by_extension_and_other_delimiters_by_sniffing(tmp_path):
    expected = read_actions(csv_file(tmp_path))[0]
    for name, sep in [("in.tsv", "\t"), ("tabs.csv", "\t"), ("semi.csv", ";"), ("pipe.txt", "|")]:
        lines = [line.replace(",", sep) for line in [HEADER, *ROWS]]
        path = write(tmp_path / name, "\n".join(lines) + "\n")
        pd.testing.assert_frame_equal(read_actions(path)[0], expected)


def test_utf8_bom_is_stripped(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join([HEADER, *ROWS]) + "\n").encode())
    assert read_actions(path)[0]["action_id"].tolist() == ["a1", "a2", "a3"]


def test_windows_line_endings(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(("\r\n".join([HEADER, *ROWS]) + "\r\n").encode())
    actions = read_actions(path)[0]
    assert actions["text"].tolist() == ["hello", None, "bye"]


def test_sha256_is_of_the_file_as_stored(tmp_path):
    import hashlib

    path = tmp_path / "in.csv.gz"
    path.write_bytes(gzip.compress(("\n".join([HEADER, *ROWS]) + "\n").encode()))
    stats = read_actions(path)[2]
    assert stats["files"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_quoted_newlines_and_row_numbers(tmp_path):
    path = write(tmp_path / "q.csv", 'account_id,timestamp,text\n'
                                     'u1,1,"two\nlines"\n'
                                     'u2,bad,x\n')
    actions, rejects, _ = read_actions(path)
    assert actions["text"].tolist() == ["two\nlines"]
    assert rejects["row"].tolist() == [3]  # records, as a spreadsheet shows them


def test_jsonl(tmp_path):
    path = tmp_path / "in.jsonl"
    records = [
        {"action_id": "a1", "account_id": "007", "timestamp": 1610870400, "hashtags": ["#x", "y"]},
        {"action_id": "a2", "account_id": "008", "timestamp": "2021-01-17T08:00:01Z",
         "parent_id": "a1", "extra": {"nested": 1}},
        {"action_id": "a3", "account_id": "009", "timestamp": "never"},
    ]
    path.write_text(json.dumps(records[0]) + "\n\n" + json.dumps(records[1]) + "\n"
                    + json.dumps(records[2]) + "\n")
    actions, rejects, stats = read_actions(path)
    assert actions["account_id"].tolist() == ["007", "008"]
    assert actions["timestamp"].tolist() == [ts("2021-01-17 08:00:00"), ts("2021-01-17 08:00:01")]
    assert actions["hashtags"].tolist() == [["x", "y"], []]
    assert actions["action_type"].tolist() == ["post", "repost"]
    assert rejects["row"].tolist() == [4]  # the line number (line 2 is blank)
    assert stats["files"][0]["rows"] == 3


def test_jsonl_typed_numbers_keep_their_text(tmp_path):
    path = tmp_path / "n.ndjson"
    path.write_text('{"account_id": 42, "timestamp": 1610870400, "action_id": 1.5}\n'
                    '{"account_id": 43, "timestamp": 1610870401.5, "action_id": 2.25}\n')
    actions = read_actions(path)[0]
    assert actions["account_id"].tolist() == ["42", "43"]
    assert actions["action_id"].tolist() == ["1.5", "2.25"]


def test_json_array_file(tmp_path):
    path = tmp_path / "arr.json"
    path.write_text('[{"account_id": "u", "timestamp": 1}, {"account_id": "v", "timestamp": "x"}]')
    actions, rejects, _ = read_actions(path)
    assert actions["account_id"].tolist() == ["u"]
    assert rejects["row"].tolist() == [2]  # the element number


def test_invalid_json_line_is_an_input_error(tmp_path):
    path = write(tmp_path / "bad.jsonl", '{"account_id": "u", "timestamp": 1}\n{oops\n')
    with pytest.raises(InputError) as err:
        read_actions(path)
    assert (err.value.file, err.value.row) == (str(path), 2)


def test_parquet(tmp_path):
    path = tmp_path / "in.parquet"
    table = pa.table({
        "account_id": pa.array(["007", "008"]),
        "timestamp": pa.array([pd.Timestamp("2021-01-17 08:00"), pd.Timestamp("2021-01-17 08:01")],
                              pa.timestamp("ms", tz="UTC")),
        "action_id": pa.array([1, 2], pa.int64()),
        "hashtags": pa.array([["#a", "b"], None], pa.list_(pa.string())),
        "ignored": pa.array([1.5, None]),
    })
    pq.write_table(table, path)
    actions, rejects, stats = read_actions(path)
    assert actions["account_id"].tolist() == ["007", "008"]
    assert actions["action_id"].tolist() == ["1", "2"]
    assert actions["timestamp"].tolist() == [ts("2021-01-17 08:00"), ts("2021-01-17 08:01")]
    assert actions["hashtags"].tolist() == [["a", "b"], []]
    assert str(actions["timestamp"].dtype) == UTC_NS


def test_parquet_rows_are_record_numbers(tmp_path):
    path = tmp_path / "in.pq"
    pq.write_table(pa.table({"account_id": ["u", "u"], "timestamp": ["1", "x"]}), path)
    assert read_actions(path)[1]["row"].tolist() == [2]


def test_glob_of_several_files(tmp_path):
    (tmp_path / "data").mkdir()
    csv_file(tmp_path / "data", rows=ROWS[:1], name="b.csv")
    csv_file(tmp_path / "data", rows=ROWS[1:], name="a.csv")
    csv_file(tmp_path / "data", rows=ROWS[:1], name="c.csv")  # the same action again
    actions, rejects, stats = read_actions(str(tmp_path / "data" / "*.csv"))
    assert [Path(f["path"]).name for f in stats["files"]] == ["a.csv", "b.csv", "c.csv"]
    assert actions["action_id"].tolist() == ["a1", "a2", "a3"]
    assert stats["duplicates_dropped"] == 1
    assert stats["files"][2]["duplicates"] == 1


def test_list_of_paths_and_generated_ids_differ_between_files(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    a = write(tmp_path / "x" / "day.csv", "account_id,timestamp\nu,1\n")
    b = write(tmp_path / "y" / "day.csv", "account_id,timestamp\nu,2\n")
    actions, rejects, stats = read_actions([a, b])
    assert len(actions) == 2 and len(rejects) == 0
    assert actions["action_id"].nunique() == 2


def test_glob_without_matches_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no files match"):
        read_actions(str(tmp_path / "*.csv"))


# ---------------------------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------------------------

COORTWEET = ("object_id,account_id,content_id,timestamp_share\n"
             "o1,0fb4,c1,1623881091\n"
             "o1,7d0e,c2,1623881095\n"
             "c1,2e11,c3,1623881100\n")


def test_formats_registry():
    assert {"generic", "coortweet"} <= set(FORMATS)
    assert all(isinstance(d, str) and d for d in FORMATS.values())


def test_coortweet_preset(tmp_path):
    path = write(tmp_path / "ct.csv", COORTWEET)
    for fmt in ["auto", "coortweet"]:
        actions, rejects, stats = read_actions(path, format=fmt)
        assert stats["format"] == "coortweet"
        assert actions["action_id"].tolist() == ["c1", "c2", "c3"]
        assert actions["parent_id"].tolist() == ["o1", "o1", "c1"]
        assert actions["account_id"].tolist() == ["0fb4", "7d0e", "2e11"]
        assert (actions["action_type"] == "repost").all()
        assert actions.loc[0, "timestamp"] == pd.Timestamp(1623881091, unit="s", tz="UTC")


def test_detect_format(tmp_path):
    assert detect_format(write(tmp_path / "ct.csv", COORTWEET)) == "coortweet"
    assert detect_format(csv_file(tmp_path)) == "generic"
    path = tmp_path / "ct.parquet"
    pq.write_table(pa.table({"object_id": ["o"], "account_id": ["a"], "content_id": ["c"],
                             "timestamp_share": [1]}), path)
    assert detect_format(path) == "coortweet"


def test_generic_format_forced_on_a_coortweet_file_lists_missing_columns(tmp_path):
    path = write(tmp_path / "ct.csv", COORTWEET)
    with pytest.raises(InputError, match="timestamp"):
        read_actions(path, format="generic")


# ---------------------------------------------------------------------------------------------
# Empty and unreadable input
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", ["", HEADER + "\n", HEADER])
def test_empty_and_header_only_files(tmp_path, content):
    actions, rejects, stats = read_actions(write(tmp_path / "e.csv", content))
    validate_actions(actions)
    assert len(actions) == 0 and len(rejects) == 0
    assert stats["rows_read"] == 0 and stats["files"][0]["rows"] == 0


def test_directory_and_missing_file_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="directory") as err:
        read_actions(tmp_path)
    assert err.value.file == str(tmp_path)
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="no such file") as err:
        read_actions(missing)
    assert err.value.file == str(missing)


def test_undecodable_file_is_an_input_error(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("account_id,timestamp\nJos\u00e9,1\n".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8") as err:
        read_actions(path)
    assert err.value.file == str(path)


def test_malformed_csv_names_file_and_row(tmp_path):
    path = write(tmp_path / "m.csv", "account_id,timestamp\nu,1\nu,2,3\n")
    with pytest.raises(InputError) as err:
        read_actions(path)
    assert (err.value.file, err.value.row) == (str(path), 3)


def test_corrupt_gzip_is_an_input_error(tmp_path):
    path = tmp_path / "x.csv.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(InputError) as err:
        read_actions(path)
    assert err.value.file == str(path)


# ---------------------------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------------------------

@pytest.mark.shared
def test_russian_coord_tweets():
    if not RUSSIAN.exists():
        pytest.skip(f"{RUSSIAN} is not available")
    actions, rejects, stats = read_actions(RUSSIAN)
    assert stats["format"] == "coortweet"
    assert stats["rows_read"] == 35_125
    assert stats["duplicates_dropped"] == 1
    assert stats["rows_rejected"] == 39
    assert set(rejects["reason"]) == {"duplicate action_id with different content"}
    assert len(actions) == 35_085
    assert actions["action_id"].is_unique
    assert actions["account_id"].nunique() == 9_509
    assert actions["parent_id"].nunique() == 7_255  # 7,285 in the file; 30 only in rejected rows
    assert rejects["row"].tolist()[:5] == [24, 43, 216, 230, 574]
    assert actions["timestamp"].min() == ts("2021-01-17 07:56:33")
    assert actions["timestamp"].max() == ts("2021-08-30 10:21:00")
    assert stats["timestamp_resolution_s"] == 1.0
    assert (actions["action_type"] == "repost").all()
    top = actions["account_id"].value_counts()
    assert top.index[0] == "9fa51ef17278c01d13d313741eddfc0b"
