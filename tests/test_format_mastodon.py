"""The mastodon format: Mastodon API statuses (a JSON array, or one per line)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cib.errors import InputError
from cib.io import detect_format, read_actions
from cib.schema import validate_actions

FIXTURE = Path(__file__).parent / "fixtures" / "formats" / "mastodon_statuses.json"
POST = "https://mastodon.social/users/alice/statuses/109310000000000001"


def rows(actions: pd.DataFrame) -> dict[str, dict]:
    return {r["action_id"]: r for r in actions.to_dict("records")}


def statuses() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_fixture_loads_to_the_expected_actions():
    actions, rejects, stats = read_actions(FIXTURE)
    validate_actions(actions)
    assert len(rejects) == 0 and stats["format"] == "mastodon"
    got = rows(actions)
    assert got[POST] == {
        "action_id": POST, "account_id": "alice@mastodon.social",  # local acct made global
        "timestamp": pd.Timestamp("2022-11-09 08:15:30", tz="UTC"), "action_type": "post",
        "parent_id": None,
        "text": "明日は投票日です🗳️ #選挙 & ＃投票に行こう\n\n"
                "詳しくは https://example.jp/senkyo?utm_source=mastodon\ncc @bob <3",
        "urls": ["https://example.jp/senkyo?utm_source=mastodon"],  # link and card: once
        "hashtags": ["選挙"], "mentions": ["bob@example.social"],
        "media": ["UFGb#-xu00Rj~qofRjWB4nRj?bt7xuRjRjof"], "platform": "mastodon",
    }
    reblog = got["https://example.social/users/bob/statuses/109310000000000777/activity"]
    assert (reblog["account_id"], reblog["action_type"], reblog["parent_id"]) == \
        ("bob@example.social", "repost", POST)
    assert reblog["text"] is None and reblog["hashtags"] == []
    reply = got["https://toot.example/users/noor/statuses/109310555000000003"]
    assert (reply["action_type"], reply["parent_id"]) == ("reply", "109310000000000001")
    assert reply["text"] == "@alice هذا غير صحيح! #انتخابات"
    assert reply["urls"] == []  # mention and hashtag links are not URLs
    assert reply["mentions"] == ["alice@mastodon.social"]
    quote = got["https://mastodon.social/users/quoter/statuses/109310000000000004"]
    assert (quote["action_type"], quote["parent_id"]) == ("quote", POST)
    assert quote["media"] == ["https://files.mastodon.social/x.mp4"]  # no blurhash: the URL
    assert reply["timestamp"] == pd.Timestamp("2022-11-09 08:16:05.25", tz="UTC")


def test_one_status_per_line_gives_the_same_actions(tmp_path):
    path = tmp_path / "statuses.jsonl"
    path.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in statuses()),
                    encoding="utf-8")
    assert detect_format(path) == "mastodon"
    pd.testing.assert_frame_equal(read_actions(path)[0], read_actions(FIXTURE)[0])


def test_auto_detection():
    assert detect_format(FIXTURE) == "mastodon"


def test_script_in_content_is_text_not_code(tmp_path):
    data = statuses()[:1]
    data[0]["content"] = "<p>hi <script>alert('x')</script><img src=x onerror=alert(1)></p>"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_actions(path)[0].loc[0, "text"] == "hi alert('x')"


def test_bad_values_are_rejected_with_the_element_number(tmp_path):
    data = statuses()
    data[1]["created_at"] = "not a date"
    data[2]["account"] = {"display_name": "nobody"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    actions, rejects, _ = read_actions(path)
    assert len(actions) == 2
    assert rejects[["row", "column", "value", "reason"]].values.tolist() == [
        [2, "created_at", "not a date", "unparsable timestamp"],
        [3, "account.acct", "", "missing account_id"],
    ]


def test_truncated_array_is_an_input_error(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(FIXTURE.read_text(encoding="utf-8")[:500], encoding="utf-8")
    with pytest.raises(InputError, match="invalid JSON") as err:
        read_actions(path, format="mastodon")
    assert err.value.file == str(path)
