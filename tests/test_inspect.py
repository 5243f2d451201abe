"""cib.inspect: describing input files without detecting; and the resolution warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cib.errors import InputError, ParameterError
from cib.inspect import format_report, inspect_command_text, inspect_inputs
from cib.io import read_actions, resolution_warning

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
IO = FIXTURES / "twitter_io.csv"
TWARC = FIXTURES / "twarc2_pages.jsonl"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_one_file_is_described():
    info = inspect_inputs(IO)
    (f,) = info["files"]
    assert (f["path"], f["format"], f["rows"], f["rejected"], f["error"]) == \
        (str(IO), "twitter-io", 6, 0, None)
    assert f["columns"]["account_id"] == "userid"
    assert f["columns"]["timestamp"] == "tweet_time"
    assert (info["actions"], info["accounts"]) == (6, 4)
    assert info["action_types"] == {"post": 2, "repost": 2, "reply": 1, "quote": 1}
    assert info["time_range"] == {"first": "2019-10-04T08:15:00Z", "last": "2019-10-04T09:05:00Z"}
    assert info["timestamp_resolution_s"] == 60.0
    assert info["top_accounts"][:2] == [{"account_id": "2849000001", "actions": 2},
                                        {"account_id": "2849000004", "actions": 2}]
    assert info["top_objects"]["parent_id"][0] == \
        {"object": "1180000000000000001", "actions": 3, "accounts": 3}
    assert info["top_objects"]["hashtags"][:2] == [
        {"object": "投票に行こう", "actions": 2, "accounts": 2},
        {"object": "選挙", "actions": 2, "accounts": 2}]
    assert info["top_objects"]["urls"][0]["object"] == "https://example.jp/senkyo?utm_source=twitter"
    assert any("60 s (whole minutes) resolution" in p for p in info["problems"])
    json.dumps(info)  # serialisable


def test_an_unreadable_file_is_a_problem_and_the_others_are_read(tmp_path):
    bad = write(tmp_path / "bad.csv", "user,when\nu,1\n")
    info = inspect_inputs([IO, bad, TWARC])
    formats = [(f["path"], f["format"]) for f in info["files"]]
    assert formats == [(str(IO), "twitter-io"), (str(bad), "generic"), (str(TWARC), "twarc2")]
    assert "missing required columns" in info["files"][1]["error"]
    assert info["actions"] == 11
    assert info["problems"][0].startswith(f"not read: {bad}: missing required columns")
    assert any("pages without tweets: 1" in p for p in info["problems"])


def test_rejects_duplicates_and_suspicious_values_are_problems(tmp_path):
    path = write(tmp_path / "x.csv", "\n".join([
        "action_id,account_id,timestamp,parent_id",
        "1.18E+18,u1,2021-01-17T08:00:00Z,p1",
        "a2,u2,2021-01-17T08:00:00Z,p1",
        "a2,u2,2021-01-17T08:00:00Z,p1",   # exact duplicate
        "a3,u3,yesterday,p1",
        "a4,,2021-01-17T08:00:01Z,p1",
        "a5,u5,86400,",                    # 1970: a wrong unit?
    ]) + "\n")
    info = inspect_inputs(path)
    assert info["rejects_by_reason"] == {"unparsable timestamp (timestamp)": 1,
                                         "missing account_id (account_id)": 1}
    assert info["reject_examples"][0] == {"source": str(path), "row": 5, "column": "timestamp",
                                          "value": "yesterday", "reason": "unparsable timestamp"}
    problems = "\n".join(info["problems"])
    assert f"1 row rejected, unparsable timestamp (timestamp); first: {path}, row 5: 'yesterday'" \
        in problems
    assert "1 exact duplicate row dropped" in problems
    assert "1 action_id value look like numbers in scientific notation (e.g. '1.18E+18')" in problems
    assert "1 timestamp is before 2000" in problems


def test_generated_ids_and_missing_objects_are_problems(tmp_path):
    path = write(tmp_path / "bare.csv", "account_id,timestamp\nu1,1610870400\nu2,1610870401\n")
    problems = "\n".join(inspect_inputs(path)["problems"])
    assert "no action id column" in problems
    assert "only the timing of actions can be compared" in problems


def test_a_default_timestamp_shared_by_most_rows_is_a_problem(tmp_path):
    rows = [f"u{i},2021-01-01T00:00:00Z,p" for i in range(8)] + ["u8,2021-01-02T10:00:01Z,p",
                                                                 "u9,2021-01-02T10:00:02Z,p"]
    path = write(tmp_path / "d.csv", "account_id,timestamp,parent_id\n" + "\n".join(rows) + "\n")
    problems = inspect_inputs(path)["problems"]
    assert any("8 of 10 actions share the timestamp 2021-01-01T00:00:00Z" in p for p in problems)


def test_report_text():
    text = format_report(inspect_inputs([IO, TWARC]))
    assert text.startswith("2 files: 11 rows read, 11 actions, 0 rejected, 0 duplicates dropped")
    assert "  format      twitter-io" in text and "  format      twarc2" in text
    assert "account_id  <- userid" in text
    assert "account_id  <- data[].author_id" in text
    assert "most shared parent_id (actions / accounts)" in text
    assert "problems (" in text


def test_command_text_with_a_window_and_as_json():
    text = inspect_command_text([IO], window="60s")
    assert "but the window is 60 s" in text
    assert inspect_command_text([IO], window="10m").count("but the window is") == 0
    info = json.loads(inspect_command_text([IO], as_json=True))
    assert info["files"][0]["format"] == "twitter-io"
    with pytest.raises(ParameterError, match="'window' parameter of inspect"):
        inspect_command_text([IO], window="soon")


def test_no_matching_or_readable_files_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no files match"):
        inspect_inputs(str(tmp_path / "*.csv"))
    with pytest.raises(InputError, match="no such file") as err:
        inspect_inputs(tmp_path / "nope.csv")
    assert err.value.file == str(tmp_path / "nope.csv")
    bad = write(tmp_path / "bad.csv", "user,when\nu,1\n")
    with pytest.raises(InputError, match="none of the 2 files can be read"):
        inspect_inputs([bad, tmp_path / "nope.csv"])


def test_resolution_warning_thresholds():
    stats = read_actions(IO)[2]
    assert stats["files"][0]["timestamp_resolution_s"] == 60.0
    warning = resolution_warning(stats, 60)
    assert warning.startswith("timestamps have 60 s (whole minutes) resolution but the window is 60 s")
    assert "at least 600 s (10 min)" in warning
    assert resolution_warning(stats, 599) is not None
    assert resolution_warning(stats, 600) is None  # ten steps: enough


def test_resolution_warning_names_the_coarse_file_among_several():
    stats = read_actions([IO, TWARC])[2]
    assert stats["timestamp_resolution_s"] == 1.0  # overall: the finest common unit
    warning = resolution_warning(stats, 60)
    assert warning.startswith(f"timestamps ({IO}) have 60 s")


def test_resolution_warning_needs_a_few_timestamps(tmp_path):
    one = write(tmp_path / "one.csv", "account_id,timestamp\nu,1610870400\n")
    stats = read_actions(one)[2]
    assert stats["timestamp_resolution_s"] == 3600.0  # one timestamp on a whole hour
    assert resolution_warning(stats, 60) is None
    assert stats["warnings"] == []
