"""The twarc2 format: X API v2 response pages and flattened tweets (JSON lines)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cib.errors import InputError
from cib.io import detect_format, read_actions
from cib.schema import validate_actions

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
PAGES = FIXTURES / "twarc2_pages.jsonl"
FLAT = FIXTURES / "twarc2_flat.jsonl"


def rows(actions: pd.DataFrame) -> dict[str, dict]:
    return {r["action_id"]: r for r in actions.to_dict("records")}


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def test_pages_load_to_the_expected_actions():
    actions, rejects, stats = read_actions(PAGES)
    validate_actions(actions)
    assert len(rejects) == 0 and stats["format"] == "twarc2"
    assert stats["rows_read"] == 5  # data tweets only, not the includes
    assert stats["files"][0]["skipped"] == 1  # the empty page
    assert any("(pages without tweets: 1)" in w for w in stats["warnings"])
    got = rows(actions)
    assert got["1587999000000000001"] == {
        "action_id": "1587999000000000001", "account_id": "2244994945",
        "timestamp": pd.Timestamp("2022-11-03 09:58:01", tz="UTC"), "action_type": "post",
        "parent_id": None,
        "text": "明日は投票日です🗳️ ＃選挙 #投票に行こう @NHK_news https://t.co/AbCdEf1234 "
                "https://t.co/PiCtUrE",
        "urls": ["https://example.jp/senkyo?utm_source=twitter",
                 "https://twitter.com/sakura_news/status/1587999000000000001/photo/1"],
        "hashtags": ["選挙", "投票に行こう"], "mentions": ["NHK_news"],
        "media": ["3_1587998990000000000"], "platform": "twitter",
    }
    rt = got["1587999000000000002"]
    assert (rt["action_type"], rt["parent_id"]) == ("repost", "1587999000000000001")
    assert rt["mentions"] == ["sakura_news", "NHK_news"]
    reply = got["1587999000000000003"]  # replies and quotes: a reply
    assert (reply["action_type"], reply["parent_id"]) == ("reply", "1587999000000000001")
    assert reply["urls"] == ["https://t.co/QuOtE12345"]  # no expanded_url: the t.co link
    assert reply["hashtags"] == ["انتخابات"]
    note = got["1587999000000000004"]  # a long tweet: the note's text and entities
    assert note["text"].startswith("A long note tweet")
    assert note["urls"] == ["https://long.example/article"]
    assert note["hashtags"] == ["Elections2022"]
    assert got["1587999000000000005"]["parent_id"] == "1587999000000000004"


def test_flattened_tweets_load_to_the_expected_actions():
    actions, rejects, stats = read_actions(FLAT)
    assert len(rejects) == 0 and stats["format"] == "twarc2"
    got = rows(actions)
    assert got["1600000000000000011"]["text"] == "שלום עולם! #בחירות https://t.co/HeBrEw"
    assert got["1600000000000000011"]["hashtags"] == ["בחירות"]
    assert got["1600000000000000011"]["urls"] == ["https://news.example.il/x"]
    assert (got["1600000000000000012"]["action_type"], got["1600000000000000012"]["parent_id"]) == \
        ("repost", "1600000000000000011")
    assert got["1600000000000000013"]["action_type"] == "reply"
    assert got["1600000000000000013"]["media"] == ["16_1600000000000000099"]
    assert actions["timestamp"].tolist() == [pd.Timestamp(t, tz="UTC") for t in
                                             ["2022-12-06 07:00:00", "2022-12-06 07:00:09",
                                              "2022-12-06 07:01:00"]]


def test_auto_detection(tmp_path):
    assert detect_format(PAGES) == "twarc2"
    assert detect_format(FLAT) == "twarc2"
    empty_first = write(tmp_path / "x.jsonl", lines(PAGES)[1:])  # starts with an empty page
    assert detect_format(empty_first) == "twarc2"


def test_bad_timestamp_and_missing_author_are_rejected_with_the_line(tmp_path):
    records = lines(PAGES)
    records[0]["data"][1]["created_at"] = "2022-13-45T99:00:00Z"
    del records[2]["data"][0]["author_id"]
    path = write(tmp_path / "bad.jsonl", records)
    actions, rejects, _ = read_actions(path)
    assert len(actions) == 3
    assert rejects[["row", "column", "value", "reason"]].values.tolist() == [
        [1, "data[].created_at", "2022-13-45T99:00:00Z", "unparsable timestamp"],
        [3, "data[].author_id", "", "missing account_id"],
    ]
    with pytest.raises(InputError) as err:
        read_actions(path, on_error="fail")
    assert (err.value.file, err.value.row) == (str(path), 1)


def test_malformed_line_is_an_input_error_with_its_line(tmp_path):
    path = tmp_path / "cut.jsonl"
    text = FLAT.read_text(encoding="utf-8").splitlines()
    path.write_text(text[0] + "\n" + text[1][:40] + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_actions(path, format="twarc2")
    assert (err.value.file, err.value.row) == (str(path), 2)


def test_a_csv_file_cannot_be_read_as_twarc2(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("account_id,timestamp\nu,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="reads JSON") as err:
        read_actions(path, format="twarc2")
    assert err.value.file == str(path)
