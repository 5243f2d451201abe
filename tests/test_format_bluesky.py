"""The bluesky format: Jetstream JSON lines and decoded firehose commits."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cib.io import detect_format, read_actions
from cib.schema import validate_actions

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
JETSTREAM = FIXTURES / "bluesky_jetstream.jsonl"
FIREHOSE = FIXTURES / "bluesky_firehose.jsonl"
A = "did:plc:4sk7gwqbcxnvm2ygu3mkhnnu"
POST = f"at://{A}/app.bsky.feed.post/3l3qo2vutsw2b"


def rows(actions: pd.DataFrame) -> dict[str, dict]:
    return {r["action_id"]: r for r in actions.to_dict("records")}


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def test_jetstream_loads_to_the_expected_actions():
    actions, rejects, stats = read_actions(JETSTREAM)
    validate_actions(actions)
    assert len(rejects) == 0 and stats["format"] == "bluesky"
    assert stats["rows_read"] == 6 and stats["files"][0]["skipped"] == 3
    assert any("identity events: 1" in w and "app.bsky.feed.like records: 1" in w
               and "delete operations: 1" in w for w in stats["warnings"])
    got = rows(actions)
    assert got[POST] == {
        "action_id": POST, "account_id": A,
        "timestamp": pd.Timestamp("2024-09-09 19:46:02.329308", tz="UTC"),  # time_us, exact
        "action_type": "post", "parent_id": None,
        "text": "明日は投票日です🗳️ ＃選挙 #投票に行こう @news.example.com example.jp/senkyo",
        "urls": ["https://example.jp/senkyo?utm_source=bsky"],  # facet and card: once
        "hashtags": ["選挙", "投票に行こう", "election2024"],  # facets, then the record's tags
        "mentions": ["did:web:news.example.com"], "media": [], "platform": "bluesky",
    }
    repost = got["at://did:plc:wq3ibbh6kyf2hl6ha4ye5b6x/app.bsky.feed.repost/3l3qo3bx2fk2a"]
    assert (repost["action_type"], repost["parent_id"], repost["text"]) == ("repost", POST, None)
    reply = got["at://did:plc:q2rvkn6zrg4ztdyqzz6ym5xm/app.bsky.feed.post/3l3qo4vkfus2b"]
    assert (reply["action_type"], reply["parent_id"]) == ("reply", POST)
    assert reply["text"] == "هذا غير صحيح! #انتخابات" and reply["hashtags"] == ["انتخابات"]
    quote = got["at://did:plc:7nhzfcglqbxcw2rdg4ag3uym/app.bsky.feed.post/3l3qo5xkfus2b"]
    assert (quote["action_type"], quote["parent_id"]) == ("quote", POST)
    with_media = got["at://did:plc:7nhzfcglqbxcw2rdg4ag3uym/app.bsky.feed.post/3l3qo7xkfus2b"]
    assert (with_media["action_type"], with_media["parent_id"]) == ("quote", POST)
    assert with_media["media"] == ["bafkreibme22gw2h7y2eh4gq3ksqnktkwcjfgmmxvb6mxt5csvi5lhcwpde",
                                   "bafkreieq5jui4j25lacwomsqgjeswwl3y5zcdrresptwgmfylxo2depppq"]
    # back-dated createdAt (2010): the network's time is used
    assert with_media["timestamp"] == pd.Timestamp("2024-09-09 19:48:10", tz="UTC")
    early = got["at://did:web:news.example.com/app.bsky.feed.post/3l3qo9xkfus2b"]  # "type": "com"
    assert early["text"] == "שלום 👋 #בחירות" and early["hashtags"] == ["בחירות"]
    assert early["media"] == ["bafkreiclip4vbbehrzoss7xewzq6h3jgm2tugvu4ifzzjxwd6k4cxkkt7y"]


def test_firehose_commits():
    actions, rejects, stats = read_actions(FIREHOSE)
    assert len(rejects) == 0 and stats["files"][0]["skipped"] == 2  # a follow, a delete
    post = f"at://{A}/app.bsky.feed.post/3l3qoaxkfus2b"
    assert actions[["action_id", "action_type", "parent_id"]].values.tolist() == [
        [post, "post", None],
        ["at://did:plc:wq3ibbh6kyf2hl6ha4ye5b6x/app.bsky.feed.repost/3l3qobxkfus2b", "repost", post],
    ]
    assert actions["timestamp"].tolist() == [pd.Timestamp("2024-09-09 19:49:00.123", tz="UTC"),
                                             pd.Timestamp("2024-09-09 19:49:05", tz="UTC")]
    assert actions.loc[0, "urls"] == ["https://example.org/x"]


def test_auto_detection():
    assert detect_format(JETSTREAM) == "bluesky"  # the first line is an identity event
    assert detect_format(FIREHOSE) == "bluesky"


def test_created_at_is_used_when_the_event_has_no_time(tmp_path):
    records = lines(JETSTREAM)
    del records[1]["time_us"]
    actions = read_actions(write(tmp_path / "j.jsonl", records))[0]
    assert rows(actions)[POST]["timestamp"] == pd.Timestamp("2024-09-09 19:46:02.102", tz="UTC")


def test_bad_time_and_repost_without_subject_are_rejected(tmp_path):
    records = lines(JETSTREAM)
    records[1]["time_us"] = "yesterday"
    del records[2]["commit"]["record"]["subject"]
    path = write(tmp_path / "bad.jsonl", records)
    actions, rejects, _ = read_actions(path)
    assert len(actions) == 4
    assert rejects[["row", "column", "value", "reason"]].values.tolist() == [
        [2, "time_us", "yesterday", "unparsable timestamp"],
        [3, "record.subject.uri", "", "repost without parent_id"],
    ]
