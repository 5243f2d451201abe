"""The twitter-v1 format: Twitter API v1.1 statuses (JSON lines)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cib.errors import InputError
from cib.io import detect_format, read_actions
from cib.schema import validate_actions

FIXTURE = Path(__file__).parent / "fixtures" / "formats" / "twitter_v1.jsonl"
ORIGINAL = "1050118621198921728"


def rows(actions: pd.DataFrame) -> dict[str, dict]:
    return {r["action_id"]: r for r in actions.to_dict("records")}


def lines() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


def write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def test_fixture_loads_to_the_expected_actions():
    actions, rejects, stats = read_actions(FIXTURE)
    validate_actions(actions)
    assert len(rejects) == 0 and stats["format"] == "twitter-v1"
    assert stats["rows_read"] == 4 and stats["files"][0]["skipped"] == 2  # limit, delete
    assert any("'limit' notices: 1" in w and "'delete' notices: 1" in w for w in stats["warnings"])
    got = rows(actions)
    assert got[ORIGINAL] == {
        "action_id": ORIGINAL, "account_id": "2244994945",
        "timestamp": pd.Timestamp("2018-10-10 20:19:24", tz="UTC"), "action_type": "post",
        "parent_id": None,
        "text": "明日は投票日です🗳️ ＃選挙 #投票に行こう 投票所は朝7時から夜8時まで開いています。"
                "お近くの投票所を確認してください https://t.co/AbCdEf1234 https://t.co/PiCtUrE",
        "urls": ["https://example.jp/senkyo?utm_source=twitter"],  # extended_tweet's entities
        "hashtags": ["選挙", "投票に行こう"], "mentions": [],
        "media": ["3_1050118600000000001", "3_1050118600000000002"], "platform": "twitter",
    }
    rt = got["1050118688332951552"]
    assert (rt["account_id"], rt["action_type"], rt["parent_id"]) == \
        ("933000000000000002", "repost", ORIGINAL)
    assert rt["mentions"] == ["sakura_news"]
    reply = got["1050119000000000003"]
    assert (reply["action_type"], reply["parent_id"]) == ("reply", ORIGINAL)
    assert reply["text"] == "@sakura_news זה לא נכון! #בחירות"
    assert reply["hashtags"] == ["בחירות"]
    quote = got["1050119000000000004"]
    assert (quote["action_type"], quote["parent_id"]) == ("quote", ORIGINAL)
    assert quote["media"] == ["16_1050119000000000077", "7_1050119000000000078"]


def test_auto_detection_passes_over_stream_notices():
    assert lines()[0] == {"limit": {"track": 12, "timestamp_ms": "1539202790000"}}
    assert detect_format(FIXTURE) == "twitter-v1"


def test_bad_timestamp_and_retweet_without_id(tmp_path):
    records = lines()
    records[3]["created_at"] = "Wed Oct 10 25:21:00 +0000 2018"
    del records[2]["retweeted_status"]["id_str"]
    del records[2]["retweeted_status"]["id"]
    path = write(tmp_path / "bad.jsonl", records)
    actions, rejects, _ = read_actions(path)
    assert actions["action_id"].tolist() == [ORIGINAL, "1050119000000000004"]
    assert rejects[["row", "column", "value", "reason"]].values.tolist() == [
        [3, "retweeted_status.id_str", "", "repost without parent_id"],
        [4, "created_at", "Wed Oct 10 25:21:00 +0000 2018", "unparsable timestamp"],
    ]


def test_a_line_that_is_not_an_object_is_an_input_error(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(FIXTURE.read_text(encoding="utf-8") + "[1, 2]\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected a JSON object") as err:
        read_actions(path)
    assert (err.value.file, err.value.row) == (str(path), 7)


def test_mapping_is_not_allowed_for_nested_json(tmp_path):
    from cib.errors import ParameterError

    with pytest.raises(ParameterError, match="'map'"):
        read_actions(FIXTURE, format="twitter-v1", mapping="account_id=user")
    with pytest.raises(InputError, match="cannot be renamed"):
        read_actions(FIXTURE, mapping="account_id=user")
