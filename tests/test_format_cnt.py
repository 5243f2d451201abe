"""The cnt format: coordination-network-toolkit's CSV, read by column name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cib.errors import InputError
from cib.io import detect_format, read_actions
from cib.schema import validate_actions

FIXTURE = Path(__file__).parent / "fixtures" / "formats" / "cnt.csv"


def rows(actions: pd.DataFrame) -> dict[str, dict]:
    return {r["action_id"]: r for r in actions.to_dict("records")}


def test_fixture_loads_to_the_expected_actions():
    actions, rejects, stats = read_actions(FIXTURE)
    validate_actions(actions)
    assert len(rejects) == 0 and stats["format"] == "cnt"
    assert actions["action_id"].tolist() == ["m1", "m5", "m2", "m3", "m4"]  # by time
    got = rows(actions)
    assert got["m1"] == {
        "action_id": "m1", "account_id": "u1", "timestamp": pd.Timestamp(1609459200, unit="s", tz="UTC"),
        "action_type": "post", "parent_id": None,
        "text": "Breaking: ¡Qué barbaridad! https://news.example/a?utm_source=x",
        "urls": ["https://news.example/a?utm_source=x"], "hashtags": [], "mentions": [], "media": [],
        "platform": None,
    }
    assert (got["m2"]["action_type"], got["m2"]["parent_id"]) == ("repost", "m1")
    assert got["m2"]["timestamp"] == pd.Timestamp("2021-01-01 00:00:05.5", tz="UTC")
    assert (got["m3"]["action_type"], got["m3"]["parent_id"]) == ("reply", "m1")
    assert got["m3"]["text"] == "@alice no way 🤔"
    assert got["m4"]["urls"] == ["https://a.example/x", "https://b.example/y"]  # space-separated


def test_columns_are_read_by_name_not_position(tmp_path):
    frame = pd.read_csv(FIXTURE, dtype=str, keep_default_na=False)
    path = tmp_path / "reordered.csv"
    frame[["urls", "timestamp", "message", "reply_id", "repost_id", "username", "user_id",
           "message_id"]].to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_actions(path)[0], read_actions(FIXTURE)[0])


def test_auto_detection():
    assert detect_format(FIXTURE) == "cnt"
    assert read_actions(FIXTURE, format="auto")[2]["files"][0]["columns"]["account_id"] == "user_id"


def test_bad_and_missing_values_are_rejected(tmp_path):
    text = FIXTURE.read_text(encoding="utf-8")
    path = tmp_path / "bad.csv"
    path.write_text(text.replace("1609459260", "yesterday").replace("m4,u2,", "m4,,"),
                    encoding="utf-8")
    actions, rejects, _ = read_actions(path)
    assert actions["action_id"].tolist() == ["m1", "m5", "m2"]
    assert rejects[["row", "column", "value", "reason"]].values.tolist() == [
        [4, "timestamp", "yesterday", "unparsable timestamp"],
        [5, "user_id", "", "missing account_id"],
    ]


def test_missing_required_column(tmp_path):
    # CNT's CSV has all eight columns; without one it is not detected as cnt
    path = tmp_path / "nouser.csv"
    path.write_text(FIXTURE.read_text(encoding="utf-8").replace(",user_id,", ",uid,", 1),
                    encoding="utf-8")
    assert detect_format(path) == "generic"
    with pytest.raises(InputError, match="missing required columns for the cnt format: user_id") \
            as err:
        read_actions(path, format="cnt")
    assert err.value.file == str(path)
