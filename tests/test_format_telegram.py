"""The telegram format: Telegram Desktop's JSON export (result.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cib.errors import InputError
from cib.io import detect_format, read_actions
from cib.schema import validate_actions

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
GROUP = FIXTURES / "telegram_result.json"
CHANNEL = FIXTURES / "telegram_channel.json"
PEER = "channel1500000001"
FORWARD = "fwd:Новости 24/7:c7219b610eac"


def rows(actions: pd.DataFrame) -> dict[str, dict]:
    return {r["action_id"]: r for r in actions.to_dict("records")}


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_group_export_loads_to_the_expected_actions():
    actions, rejects, stats = read_actions(GROUP)
    validate_actions(actions)
    assert len(rejects) == 0 and stats["format"] == "telegram"
    assert stats["files"][0]["skipped"] == 1  # the service message
    assert actions["action_id"].tolist() == [f"{PEER}/{i}" for i in range(2, 7)]
    got = rows(actions)
    assert got[f"{PEER}/2"] == {
        "action_id": f"{PEER}/2", "account_id": "user111",
        "timestamp": utc("2021-09-17 12:03:12"),  # date_unixtime; "date" is Moscow time
        "action_type": "post", "parent_id": None,
        "text": "Все на выборы! #выборы2021 подробности: https://example.ru/vybory?utm_source=tg "
                "и здесь спасибо @news_channel 🙌",
        "urls": ["https://example.ru/vybory?utm_source=tg", "https://example.org/here"],
        "hashtags": ["выборы2021"], "mentions": ["news_channel"], "media": [],
        "platform": "telegram",
    }
    # two users forward the same channel post: one parent, built from source and content
    for mid, account in [(3, "user222"), (4, "user333")]:
        r = got[f"{PEER}/{mid}"]
        assert (r["account_id"], r["action_type"], r["parent_id"]) == (account, "repost", FORWARD)
        assert r["text"] == "Срочно: ＃выборы итоги 📊"
        assert r["media"] == ["photo:1280x720:84213"]
    reply = got[f"{PEER}/5"]
    assert (reply["action_type"], reply["parent_id"]) == ("reply", f"{PEER}/2")
    assert reply["text"] == "هذا غير صحيح Иван"
    assert reply["mentions"] == ["user111"]  # a mention_name: the user's peer id
    sticker = got[f"{PEER}/6"]  # a forward of another source, without text
    assert sticker["action_type"] == "repost" and sticker["text"] is None
    assert sticker["parent_id"].startswith("fwd:Другой канал:")
    assert sticker["parent_id"] != FORWARD


def test_channel_posts_belong_to_the_channel_and_local_dates_are_warned():
    actions, rejects, stats = read_actions(CHANNEL)
    assert len(rejects) == 0
    got = rows(actions)
    assert got["channel1234567890/10"]["account_id"] == "channel1234567890"  # no from_id
    assert got["channel1234567890/10"]["timestamp"] == utc("2021-01-05 23:03:12")  # local, as UTC
    assert got["channel1234567890/11"]["timestamp"] == utc("2021-01-05 14:04:00")
    assert got["channel1234567890/11"]["text"] == "速報：詳しくは example.jp/detail"
    assert got["channel1234567890/11"]["urls"] == ["example.jp/detail"]
    assert any("local time" in w for w in stats["warnings"])


def test_whole_account_export(tmp_path):
    doc = {"about": "Here is the data you requested.", "chats": {"about": "...", "list": [
        json.loads(GROUP.read_text(encoding="utf-8")), json.loads(CHANNEL.read_text(encoding="utf-8"))]}}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    assert detect_format(path) == "telegram"
    actions, rejects, stats = read_actions(path)
    assert len(actions) == 7 and stats["files"][0]["skipped"] == 1
    assert set(actions["action_id"]) >= {f"{PEER}/2", "channel1234567890/11"}


def test_auto_detection():
    assert detect_format(GROUP) == "telegram"
    assert detect_format(CHANNEL) == "telegram"


def test_rejects_name_the_line_where_the_message_starts(tmp_path):
    text = GROUP.read_text(encoding="utf-8")
    text = text.replace('"date_unixtime": "1631880220"', '"date_unixtime": "soon"')  # message 3
    text = text.replace('"from_id": "user444",\n', "")  # message 5
    path = tmp_path / "result.json"
    path.write_text(text, encoding="utf-8")
    actions, rejects, _ = read_actions(path)
    assert len(actions) == 3
    assert rejects[["row", "column", "value", "reason"]].values.tolist() == [
        [89, "date_unixtime", "soon", "unparsable timestamp"],
        [129, "from_id", "", "missing account_id"],
    ]
    with pytest.raises(InputError) as err:
        read_actions(path, on_error="fail")
    assert (err.value.file, err.value.row, err.value.column) == (str(path), 89, "date_unixtime")


def test_broken_document_is_an_input_error_with_its_line(tmp_path):
    text = GROUP.read_text(encoding="utf-8").replace('"from_id": "user333",', '"from_id": "user333"')
    path = tmp_path / "result.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="invalid JSON") as err:
        read_actions(path)
    assert (err.value.file, err.value.row) == (str(path), 116)
