"""The twitter-io format: Twitter/X Information Operations archive CSV."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from cib.errors import InputError
from cib.io import detect_format, read_actions
from cib.schema import validate_actions

FIXTURE = Path(__file__).parent / "fixtures" / "formats" / "twitter_io.csv"
HASHED = "9b2a5f0c1d8e4a7b3c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b"


def rows(actions: pd.DataFrame) -> dict[str, dict]:
    return {r["action_id"]: r for r in actions.to_dict("records")}


def variant(tmp_path: Path, old: str, new: str, name: str = "io.csv") -> Path:
    text = FIXTURE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_fixture_loads_to_the_expected_actions():
    actions, rejects, stats = read_actions(FIXTURE)
    validate_actions(actions)
    assert len(rejects) == 0
    assert stats["format"] == "twitter-io"
    assert actions["action_id"].tolist() == [f"118000000000000000{i}" for i in range(1, 7)]
    got = rows(actions)
    assert got["1180000000000000001"] == {
        "action_id": "1180000000000000001", "account_id": "2849000001",
        "timestamp": pd.Timestamp("2019-10-04 08:15", tz="UTC"), "action_type": "post",
        "parent_id": None,
        "text": "明日は投票日です🗳️ ＃選挙 #投票に行こう https://t.co/AbCdEf1234",
        "urls": ["https://example.jp/senkyo?utm_source=twitter"],
        "hashtags": ["選挙", "投票に行こう"], "mentions": [], "media": [], "platform": "twitter",
    }
    rt = got["1180000000000000002"]
    assert (rt["account_id"], rt["action_type"], rt["parent_id"]) == (HASHED, "repost",
                                                                      "1180000000000000001")
    assert rt["hashtags"] == ["選挙", "投票に行こう"]  # the unquoted [a, b] spelling
    assert rt["urls"] == ["https://example.jp/senkyo?utm_source=twitter"]
    assert rt["mentions"] == ["2849000001"]  # user ids, as the archive has them
    reply = got["1180000000000000003"]
    assert (reply["action_type"], reply["parent_id"]) == ("reply", "1180000000000000001")
    assert reply["text"] == "@sakura_news هذا غير صحيح! #انتخابات"
    assert reply["hashtags"] == ["انتخابات"]
    quote = got["1180000000000000004"]
    assert (quote["action_type"], quote["parent_id"]) == ("quote", "1180000000000000001")
    assert quote["hashtags"] == [] and quote["mentions"] == []  # empty cells
    multi = got["1180000000000000005"]
    assert multi["text"] == 'Line one, with "quotes"\nline two #tag'
    assert multi["urls"] == ["https://a.example/?q=1,2", "https://b.example/x"]
    assert got["1180000000000000006"]["action_type"] == "repost"  # is_retweet "true"
    assert got["1180000000000000006"]["parent_id"] == "1180000000000000004"


def test_minute_resolution_is_reported():
    _, _, stats = read_actions(FIXTURE)
    assert stats["timestamp_resolution_s"] == 60.0
    assert any("60 s (whole minutes) resolution" in w for w in stats["warnings"])


def test_mapping_is_reported():
    columns = read_actions(FIXTURE)[2]["files"][0]["columns"]
    assert columns["action_id"] == "tweetid"
    assert columns["timestamp"] == "tweet_time"
    assert columns["parent_id"] == "retweet_tweetid | in_reply_to_tweetid | quoted_tweet_tweetid"
    assert columns["mentions"] == "user_mentions"


def test_auto_detection(tmp_path):
    assert detect_format(FIXTURE) == "twitter-io"
    gz = tmp_path / "archive.csv.gz"
    gz.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    assert detect_format(gz) == "twitter-io"
    pd.testing.assert_frame_equal(read_actions(gz)[0], read_actions(FIXTURE, format="twitter-io")[0])


def test_bad_timestamp_is_rejected_with_record_number_and_input_column(tmp_path):
    # the sixth record spans two lines (a quoted newline): REJECTS count records
    path = variant(tmp_path, "2019-10-04 09:05", "04/10/2019 09:05")
    actions, rejects, _ = read_actions(path)
    assert len(actions) == 5
    assert rejects.to_dict("records") == [{
        "source": str(path), "row": 7, "column": "tweet_time", "value": "04/10/2019 09:05",
        "reason": "unparsable timestamp"}]
    with pytest.raises(InputError) as err:
        read_actions(path, on_error="fail")
    assert (err.value.file, err.value.row, err.value.column) == (str(path), 7, "tweet_time")


def test_retweet_without_retweet_tweetid_and_unknown_flag_are_rejected(tmp_path):
    path = variant(tmp_path, "True,2849000001,1180000000000000001,", "True,2849000001,,")
    text = path.read_text(encoding="utf-8").replace("Twitter Web App,,,1180000000000000001,False,",
                        "Twitter Web App,,,1180000000000000001,maybe,")
    path.write_text(text, encoding="utf-8")
    _, rejects, _ = read_actions(path)
    assert rejects[["row", "column", "value", "reason"]].values.tolist() == [
        [3, "retweet_tweetid", "", "repost without parent_id"],
        [5, "is_retweet", "maybe", "unknown action_type"],
    ]


def test_missing_required_column_names_file_and_column(tmp_path):
    path = variant(tmp_path, "tweetid,userid,", "tweetid,user_id,")
    with pytest.raises(InputError) as err:
        read_actions(path, format="twitter-io")
    assert err.value.file == str(path)
    assert "userid" in str(err.value) and "twitter-io" in str(err.value)
    assert detect_format(path) == "generic"  # without userid it is no IO archive


def test_missing_userid_value_is_rejected(tmp_path):
    path = variant(tmp_path, "1180000000000000004,2849000004,", "1180000000000000004,,")
    _, rejects, _ = read_actions(path)
    assert rejects[["row", "column", "reason"]].values.tolist() == [[5, "userid", "missing account_id"]]


def test_empty_flag_with_a_retweet_id_is_a_retweet(tmp_path):
    path = variant(tmp_path, ",True,2849000001,1180000000000000001,", ",,2849000001,1180000000000000001,")
    got = rows(read_actions(path)[0])
    assert (got["1180000000000000002"]["action_type"], got["1180000000000000002"]["parent_id"]) == \
        ("repost", "1180000000000000001")
