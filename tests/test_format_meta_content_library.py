"""The meta-content-library format: CrowdTangle CSV and Meta Content Library exports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cib.errors import InputError
from cib.io import detect_format, read_actions
from cib.schema import validate_actions

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
CROWDTANGLE = FIXTURES / "crowdtangle.csv"
MCL = FIXTURES / "mcl.csv"


def rows(actions: pd.DataFrame) -> dict[str, dict]:
    return {r["action_id"]: r for r in actions.to_dict("records")}


def variant(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / source.name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_crowdtangle_loads_to_the_expected_actions():
    actions, rejects, stats = read_actions(CROWDTANGLE)
    validate_actions(actions)
    assert len(rejects) == 0 and stats["format"] == "meta-content-library"
    got = rows(actions)
    first = "https://www.facebook.com/100064000000001/posts/3900000000000001"
    assert got[first] == {
        "action_id": first, "account_id": "100064000000001",
        "timestamp": pd.Timestamp("2021-01-05 19:03:12", tz="UTC"),  # 14:03:12 EST
        "action_type": "post", "parent_id": None,
        "text": "They don't want you to see this 😡 Share before it's deleted! #StopTheSteal",
        "urls": ["https://news.example.com/story?utm_source=facebook&fbclid=IwAR0abc"],  # Final Link
        "hashtags": ["StopTheSteal"], "mentions": [], "media": [], "platform": "facebook",
    }
    second = got["https://www.facebook.com/100064000000002/posts/1200000000000002"]
    assert second["urls"] == ["https://news.example.com/story?utm_source=facebook"]  # Link
    assert second["timestamp"] == pd.Timestamp("2021-01-05 19:03:32", tz="UTC")
    third = got["https://www.facebook.com/100064000000003/posts/5000000000000003"]
    assert third["timestamp"] == pd.Timestamp("2021-07-05 14:00:00", tz="UTC")  # EDT
    assert third["text"] == "الخبر العاجل ＃مصر 🇪🇬" and third["hashtags"] == ["مصر"]


def test_content_library_loads_to_the_expected_actions():
    actions, rejects, stats = read_actions(MCL)
    assert len(rejects) == 0 and stats["format"] == "meta-content-library"
    got = rows(actions)
    assert got["1158000000000001"] == {
        "action_id": "1158000000000001", "account_id": "100091000000001",
        "timestamp": pd.Timestamp("2024-03-12 10:15:30", tz="UTC"), "action_type": "post",
        "parent_id": None, "text": "明日は投票日です🗳️ ＃選挙 詳しくはリンクへ",
        "urls": ["https://example.jp/senkyo?utm_source=fb"], "hashtags": ["選挙"],
        "mentions": [], "media": [], "platform": "facebook",
    }
    reshare = got["1158000000000002"]
    assert (reshare["action_type"], reshare["parent_id"], reshare["text"]) == \
        ("repost", "1158000000000001", None)
    assert got["1158000000000003"]["hashtags"] == ["انتخابات"]


def test_mapping_shows_the_flavour():
    ct = read_actions(CROWDTANGLE)[2]["files"][0]["columns"]
    assert (ct["action_id"], ct["account_id"], ct["timestamp"], ct["urls"]) == \
        ("URL", "Facebook Id", "Post Created", "Final Link | Link")
    mcl = read_actions(MCL)[2]["files"][0]["columns"]
    assert (mcl["action_id"], mcl["account_id"], mcl["timestamp"], mcl["parent_id"]) == \
        ("id", "post_owner.id", "creation_time", "shared_post_id")


def test_auto_detection():
    assert detect_format(CROWDTANGLE) == "meta-content-library"
    assert detect_format(MCL) == "meta-content-library"


def test_unknown_or_ambiguous_zone_is_rejected(tmp_path):
    path = variant(tmp_path, CROWDTANGLE, "2021-01-05 14:03:32 EST", "2021-01-05 14:03:32 IST")
    actions, rejects, _ = read_actions(path)
    assert len(actions) == 2
    assert rejects.to_dict("records") == [{
        "source": str(path), "row": 3, "column": "Post Created",
        "value": "2021-01-05 14:03:32 IST", "reason": "unparsable timestamp"}]


def test_zoneless_time_is_read_as_utc_with_a_warning(tmp_path):
    path = variant(tmp_path, CROWDTANGLE, "2021-01-05 14:03:32 EST", "2021-01-05 14:03:32")
    actions, rejects, stats = read_actions(path)
    assert len(rejects) == 0
    assert pd.Timestamp("2021-01-05 14:03:32", tz="UTC") in actions["timestamp"].tolist()
    assert any("no known time zone" in w for w in stats["warnings"])


def test_missing_owner_value_and_missing_columns(tmp_path):
    path = variant(tmp_path, MCL, ",und,100091000000002,", ",und,,")
    _, rejects, _ = read_actions(path)
    assert rejects[["row", "column", "reason"]].values.tolist() == [[3, "post_owner.id", "missing account_id"]]
    path = variant(tmp_path, MCL, "post_owner.id,", "owner_id,")
    with pytest.raises(InputError) as err:
        read_actions(path, format="meta-content-library")
    assert err.value.file == str(path)
    assert "Facebook Id, Post Created or id, creation_time, post_owner.id" in str(err.value)
