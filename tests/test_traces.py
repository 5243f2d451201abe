"""ACTIONS -> TRACES and the normalisation of URLs, tags and texts."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cib.errors import InputError, ParameterError
from cib.schema import ACTION_COLUMNS, ACTION_TYPES, TRACE_COLUMNS
from cib.traces import build_traces, normalize_tag, normalize_text, normalize_url, url_domain


def actions(rows: list[dict]) -> pd.DataFrame:
    base = {"action_id": None, "account_id": None, "timestamp": 0, "action_type": "post",
            "parent_id": None, "text": None, "urls": [], "hashtags": [], "mentions": [],
            "media": [], "platform": None}
    recs = [{**base, **r} for r in rows]
    for n, r in enumerate(recs):
        r["action_id"] = r["action_id"] or f"a{n}"
    df = pd.DataFrame(recs, columns=ACTION_COLUMNS)
    df["timestamp"] = pd.to_datetime(df["timestamp"], unit="s", utc=True)
    df["action_type"] = pd.Categorical(df["action_type"], categories=ACTION_TYPES)
    return df


@pytest.mark.parametrize("raw, expected", [
    ("https://www.example.com/a?utm_source=x&utm_medium=y", "example.com/a"),
    ("http://example.com/a/", "example.com/a"),
    ("https://EXAMPLE.com:443/a#frag", "example.com/a"),
    ("https://example.com:8080/a", "example.com:8080/a"),
    ("https://example.com/a?b=2&a=1&fbclid=zz&gclid=1", "example.com/a?a=1&b=2"),
    ("https://example.com/Path", "example.com/Path"),
])
def test_url_normalisation(raw, expected):
    assert normalize_url(raw) == expected


def test_urls_that_differ_only_in_tracking_are_one_object():
    a = actions([{"account_id": "x", "urls": ["https://news.site/story?utm_source=a"]},
                 {"account_id": "y", "urls": ["http://www.news.site/story/?utm_source=b&fbclid=q"]}])
    tr = build_traces(a, kinds="url,domain")
    assert tr.loc[tr["kind"] == "url", "object_id"].nunique() == 1
    assert set(tr.loc[tr["kind"] == "domain", "object_id"]) == {"news.site"}
    assert url_domain("news.site/story") == "news.site"


def test_hashtags_nfkc_and_casefold():
    assert normalize_tag("＃選挙") == normalize_tag("#選挙") == "選挙"
    assert normalize_tag("#Vote2024") == normalize_tag("#VOTE2024")
    assert normalize_tag("#") is None


def test_text_normalisation_strips_urls_mentions_and_spacing():
    assert normalize_text("Hello   @bob https://t.co/x WORLD") == "hello world"
    assert normalize_text("日本語のテキスト　です") == "日本語のテキスト です"


def test_kinds_from_each_action_type():
    a = actions([
        {"account_id": "u1", "action_type": "repost", "parent_id": "P1",
         "urls": ["https://x.org/a"], "hashtags": ["tag"], "text": "the original text here"},
        {"account_id": "u2", "action_type": "reply", "parent_id": "P2", "text": "a reply that is long"},
        {"account_id": "u3", "action_type": "quote", "parent_id": "P3", "hashtags": ["Tag"]},
        {"account_id": "u4", "urls": ["https://x.org/a"], "mentions": ["@Bob"], "media": ["img1"]},
    ])
    tr = build_traces(a, kinds="repost,quote,reply,url,hashtag,mention,text,media")
    assert list(tr.columns) == TRACE_COLUMNS
    got = set(zip(tr["account_id"], tr["kind"], tr["object_id"]))
    assert ("u1", "repost", "P1") in got
    assert ("u2", "reply", "P2") in got
    assert ("u3", "quote", "P3") in got
    assert ("u3", "hashtag", "tag") in got
    assert ("u4", "url", "x.org/a") in got
    assert ("u4", "mention", "bob") in got
    assert ("u4", "media", "img1") in got
    # a repost carries the original's URLs, tags and text: those are not the reposter's traces
    assert not any(acc == "u1" and kind != "repost" for acc, kind, _ in got)


def test_short_texts_are_not_traces():
    a = actions([{"account_id": "a", "text": "lol"}, {"account_id": "b", "text": "@x"},
                 {"account_id": "c", "text": "this is a long enough text"}])
    tr = build_traces(a, kinds="text")
    assert tr["account_id"].tolist() == ["c"]


def test_one_action_one_trace_per_object():
    a = actions([{"account_id": "a", "urls": ["https://x.org/a", "https://x.org/a?utm_id=1"]}])
    assert len(build_traces(a, kinds="url")) == 1


def test_row_order_does_not_matter():
    rows = [{"account_id": f"u{i % 5}", "timestamp": i * 7 % 50, "urls": [f"https://s.org/{i % 3}"],
             "hashtags": [f"h{i % 4}"]} for i in range(30)]
    a = actions(rows)
    b = a.sample(frac=1, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(build_traces(a), build_traces(b))


def test_bad_kinds_and_bad_actions():
    a = actions([{"account_id": "a"}])
    with pytest.raises(ParameterError, match="'kinds' parameter of build_traces"):
        build_traces(a, kinds="repost,likes")
    with pytest.raises(InputError, match="lacks required columns"):
        build_traces(a.drop(columns=["urls"]))


# the pieces a hostile or unusual text is made of: case variants that only Unicode folding
# relates (long s, Kelvin sign, dotted I, fullwidth forms), every kind of whitespace, URL and
# mention fragments
_TEXT_PIECES = ["http", "HTTP", "https://", "http://t.co/x", "://", "wWw.x", "ſ", "hTTpſ://", "ｈｔｔｐｓ：／／", "www.", "WWW．",
                "@", "＠", "a@b", "@bob", "x", "K", "\u212a", "İ", "ß", " ", "\t", "\n", "\u00a0",
                "\u2003", "\u3000", "\x1c", "\x85", "\u2028", "é", "e\u0301", "選挙", ".", "/"]


@settings(deadline=None)
@given(st.lists(st.sampled_from(_TEXT_PIECES) | st.text(max_size=3), max_size=12))
def test_normalize_text_matches_the_plain_regex_version(pieces):
    """normalize_text skips its patterns where they cannot match and collapses whitespace with
    str.split: the same result as running every pattern on every text."""
    import re
    import unicodedata

    text = "".join(pieces)
    t = unicodedata.normalize("NFKC", text).casefold()
    t = re.sub(r"(?:https?://|www\.)\S+", " ", t, flags=re.IGNORECASE)
    t = re.sub(r"(?<!\w)@\w+", " ", t)
    assert normalize_text(text) == re.sub(r"\s+", " ", t).strip()
