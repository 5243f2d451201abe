"""Twitter / X formats: the Information Operations archive (CSV), API v2 as written by twarc2,
and API v1.1 (JSON lines).

All three give one action per tweet: a retweet is a repost of the retweeted tweet, then a reply
(to ``in_reply_to``), then a quote (of the quoted tweet), else a post; a tweet that both replies
and quotes is a reply. Hashtags and mentions are kept as written, without ``#``/``@``. Media
are API v2 media keys (v1.1 media ids get the same ``<type>_<id>`` form: 3 photo, 7 video, 16
animated GIF), so that the two API versions agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ._formats import (RecordContext, _pick, _present, jget, jlist, jtext, register,
                       register_records, unique)

__all__: list[str] = []

_TRUE = {"true", "1", "t", "yes", "y"}
_FALSE = {"false", "0", "f", "no", "n"}


# ---------------------------------------------------------------------------------------------
# Information Operations archive (CSV)
# ---------------------------------------------------------------------------------------------

_QUOTED_ITEM = re.compile(r"""\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*(?:,|$)""")


def python_list(text: str) -> str:
    """A list cell of the IO archive (``['a', 'b']``, ``[a, b]``, ``[]``) as a JSON list text;
    other text unchanged.

    Items in quotes are read as Python string literals (quotes and backslash escapes); unquoted
    items are split on ``", "`` when there is one (URLs may hold bare commas), else on ``,``.

    Examples
    --------
    >>> python_list("['Vote', 'a, b']"), python_list("[x, y]"), python_list("[]")
    ('["Vote", "a, b"]', '["x", "y"]', '[]')
    >>> python_list("[https://a.org/?q=1,2, https://b.org]")
    '["https://a.org/?q=1,2", "https://b.org"]'
    >>> python_list("plain")
    'plain'
    """
    t = text.strip()
    if not (t.startswith("[") and t.endswith("]")):
        return text
    inner = t[1:-1].strip()
    if not inner:
        return "[]"
    items: list[str] = []
    if inner[0] in "'\"":
        pos = 0
        while pos < len(inner):
            m = _QUOTED_ITEM.match(inner, pos)
            if not m:
                items = []
                break
            raw = m.group(1) if m.group(1) is not None else m.group(2)
            items.append(re.sub(r"\\(.)", r"\1", raw))
            pos = m.end()
        else:
            return json.dumps(items, ensure_ascii=False)
    separator = ", " if ", " in inner else ","
    items = [i.strip().strip("'\"") for i in inner.split(separator)]
    return json.dumps([i for i in items if i], ensure_ascii=False)


def _python_lists(values: pd.Series) -> pd.Series:
    """:func:`python_list` over a column, once per distinct cell."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([python_list(u) for u in uniques] + [None], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype="str")


@register(
    "twitter-io",
    "Twitter/X Information Operations archive CSV: tweetid, userid, tweet_time (minutes); "
    "is_retweet, retweet_tweetid, in_reply_to_tweetid, quoted_tweet_tweetid, tweet_text, "
    "hashtags, urls, user_mentions.",
    required=("tweetid", "userid", "tweet_time"),
    optional=("is_retweet", "retweet_tweetid", "in_reply_to_tweetid", "quoted_tweet_tweetid",
              "tweet_text", "hashtags", "urls", "user_mentions"),
    exact=("tweetid", "userid", "retweet_tweetid", "in_reply_to_tweetid", "quoted_tweet_tweetid"),
    sources={
        "action_id": ("tweetid",), "account_id": ("userid",), "timestamp": ("tweet_time",),
        "action_type": ("is_retweet", "in_reply_to_tweetid", "quoted_tweet_tweetid",
                        "=repost if is_retweet is True (or empty with a retweet_tweetid), "
                        "else reply, quote or post"),
        "parent_id": ("retweet_tweetid", "in_reply_to_tweetid", "quoted_tweet_tweetid"),
        "text": ("tweet_text",), "urls": ("urls",), "hashtags": ("hashtags",),
        "mentions": ("user_mentions",), "platform": ("=twitter",),
    },
)
def _twitter_io(raw: pd.DataFrame) -> pd.DataFrame:
    idx = raw.index
    has_rt_id = _present(raw, "retweet_tweetid")
    if "is_retweet" in raw.columns:
        flag = raw["is_retweet"].astype("str").str.strip().str.lower()
        unset = (raw["is_retweet"].isna() | (flag == "")).fillna(True).astype(bool)
        is_rt = (flag.isin(_TRUE).fillna(False).astype(bool)) | (unset & has_rt_id)
        known = (unset | flag.isin(_TRUE | _FALSE)).fillna(True).astype(bool)
    else:  # no flag: a retweet id makes a retweet
        is_rt = has_rt_id
        known = pd.Series(True, index=idx)
    reply = _present(raw, "in_reply_to_tweetid")
    quote = _present(raw, "quoted_tweet_tweetid")
    out: dict[str, Any] = {
        "action_id": raw["tweetid"],
        "account_id": raw["userid"],
        "timestamp": raw["tweet_time"],
        "action_type": _pick(idx, [(~known, raw.get("is_retweet")), (is_rt, "repost"),
                                   (reply, "reply"), (quote, "quote")], "post"),
        "parent_id": _pick(idx, [(~known, None), (is_rt, raw.get("retweet_tweetid")),
                                 (reply, raw.get("in_reply_to_tweetid")),
                                 (quote, raw.get("quoted_tweet_tweetid"))]),
        "platform": pd.Series("twitter", index=idx, dtype="str"),
    }
    if "tweet_text" in raw.columns:
        out["text"] = raw["tweet_text"]
    for source, column in [("urls", "urls"), ("hashtags", "hashtags"), ("user_mentions", "mentions")]:
        if source in raw.columns:
            out[column] = _python_lists(raw[source])
    return pd.DataFrame(out, index=idx)


# ---------------------------------------------------------------------------------------------
# API v2 (twarc2)
# ---------------------------------------------------------------------------------------------

_V2_TYPES = {"retweeted": "repost", "replied_to": "reply", "quoted": "quote"}
_ORDER = ("repost", "reply", "quote")


def _sniff_twarc2(r: dict[str, Any]) -> bool:
    data = r.get("data")
    if isinstance(data, (list, dict)) and ("includes" in r or "meta" in r or "__twarc" in r
                                           or _is_v2_tweet(data[0] if isinstance(data, list) and data
                                                           else data)):
        return True
    return _is_v2_tweet(r)


def _is_v2_tweet(r: Any) -> bool:
    return isinstance(r, dict) and "author_id" in r and "id" in r and (
        "text" in r or "referenced_tweets" in r or "created_at" in r)


def _pick_parent(found: dict[str, str | None]) -> tuple[str, str | None]:
    """(action type, parent) from {type: parent id} by precedence repost > reply > quote."""
    for kind in _ORDER:
        if kind in found:
            return kind, found[kind]
    return "post", None


def _v2_tweet(t: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, str | None] = {}
    for ref in jlist(t.get("referenced_tweets")):
        kind = _V2_TYPES.get(jget(ref, "type"))
        if kind and kind not in found:
            found[kind] = jtext(jget(ref, "id"))
    action_type, parent = _pick_parent(found)
    note = t.get("note_tweet") if isinstance(t.get("note_tweet"), dict) else {}
    entities = note.get("entities") if isinstance(note.get("entities"), dict) else t.get("entities")
    return {
        "action_id": jtext(t.get("id")),
        "account_id": jtext(t.get("author_id")) or jtext(jget(t, "author", "id")),
        "timestamp": jtext(t.get("created_at")),
        "action_type": action_type,
        "parent_id": parent,
        "text": jtext(note.get("text")) or jtext(t.get("text")),
        "urls": unique(jtext(jget(u, "expanded_url")) or jtext(jget(u, "url"))
                       for u in jlist(jget(entities, "urls"))),
        "hashtags": unique(jtext(jget(h, "tag")) for h in jlist(jget(entities, "hashtags"))),
        "mentions": unique(jtext(jget(m, "username")) for m in jlist(jget(entities, "mentions"))),
        "media": unique(jtext(k) for k in jlist(jget(t, "attachments", "media_keys"))),
        "platform": "twitter",
    }


@register_records(
    "twarc2",
    "X/Twitter API v2 JSON lines as twarc2 writes them: response pages ({data, includes, meta}) "
    "or one flattened tweet per line.",
    sniff=_sniff_twarc2,
    sources={
        "action_id": ("data[].id",), "account_id": ("data[].author_id",),
        "timestamp": ("data[].created_at",),
        "action_type": ("data[].referenced_tweets[].type",
                        "=retweeted -> repost, replied_to -> reply, quoted -> quote, else post"),
        "parent_id": ("data[].referenced_tweets[].id",),
        "text": ("data[].note_tweet.text", "data[].text"),
        "urls": ("data[].entities.urls[].expanded_url", "url"),
        "hashtags": ("data[].entities.hashtags[].tag",),
        "mentions": ("data[].entities.mentions[].username",),
        "media": ("data[].attachments.media_keys",), "platform": ("=twitter",),
    },
)
def _twarc2(record: dict[str, Any], ctx: RecordContext) -> Iterator[dict[str, Any]]:
    data = record.get("data")
    if isinstance(data, dict):  # a single-tweet lookup
        data = [data]
    if isinstance(data, list):
        if not data:
            ctx.skip("pages without tweets")
        for tweet in data:
            if isinstance(tweet, dict):
                yield _v2_tweet(tweet)
        return
    if not _is_v2_tweet(record) and ("meta" in record or "errors" in record
                                     or "includes" in record or "__twarc" in record):
        ctx.skip("pages without tweets" if "errors" not in record else "error responses")
        return
    yield _v2_tweet(record)


# ---------------------------------------------------------------------------------------------
# API v1.1
# ---------------------------------------------------------------------------------------------

_V1_NOTICES = ("delete", "limit", "scrub_geo", "status_withheld", "user_withheld", "disconnect",
               "warning", "friends", "event")
_MEDIA_TYPES = {"photo": "3", "video": "7", "animated_gif": "16"}


def _sniff_v1(r: dict[str, Any]) -> bool:
    return isinstance(r.get("user"), dict) and ("id_str" in r or "id" in r) and "created_at" in r \
        and ("text" in r or "full_text" in r or "extended_tweet" in r)


def _v1_media(media: Any) -> list[str]:
    out = []
    for m in jlist(media):
        mid = jtext(jget(m, "id_str")) or jtext(jget(m, "id"))
        if mid:
            out.append(f"{_MEDIA_TYPES.get(jget(m, 'type'), '3')}_{mid}")
    return unique(out)


@register_records(
    "twitter-v1",
    "Twitter API v1.1 JSON lines (statuses: id_str, user.id_str, created_at, full_text, "
    "retweeted_status, quoted_status_id_str, in_reply_to_status_id_str, entities).",
    sniff=_sniff_v1,
    sources={
        "action_id": ("id_str", "id"), "account_id": ("user.id_str", "user.id"),
        "timestamp": ("created_at",),
        "action_type": ("retweeted_status", "in_reply_to_status_id_str", "quoted_status_id_str",
                        "=repost, else reply, else quote, else post"),
        "parent_id": ("retweeted_status.id_str", "in_reply_to_status_id_str",
                      "quoted_status_id_str"),
        "text": ("extended_tweet.full_text", "full_text", "text"),
        "urls": ("entities.urls[].expanded_url", "url"),
        "hashtags": ("entities.hashtags[].text",),
        "mentions": ("entities.user_mentions[].screen_name",),
        "media": ("extended_entities.media[].id_str", "=as <type>_<id>, like v2 media keys"),
        "platform": ("=twitter",),
    },
)
def _twitter_v1(record: dict[str, Any], ctx: RecordContext) -> Iterator[dict[str, Any]]:
    if not _sniff_v1(record):
        notice = next((k for k in _V1_NOTICES if k in record), None)
        if notice is not None:
            ctx.skip(f"'{notice}' notices")
            return
    found: dict[str, str | None] = {}
    rt = record.get("retweeted_status")
    if isinstance(rt, dict):
        found["repost"] = jtext(rt.get("id_str")) or jtext(rt.get("id"))
    reply = jtext(record.get("in_reply_to_status_id_str")) or jtext(record.get("in_reply_to_status_id"))
    if reply:
        found["reply"] = reply
    quoted = (jtext(record.get("quoted_status_id_str")) or jtext(jget(record, "quoted_status", "id_str"))
              or jtext(record.get("quoted_status_id")))
    if quoted:
        found["quote"] = quoted
    action_type, parent = _pick_parent(found)
    ext = record.get("extended_tweet") if isinstance(record.get("extended_tweet"), dict) else {}
    entities = ext.get("entities") if isinstance(ext.get("entities"), dict) else record.get("entities")
    media = jget(ext, "extended_entities", "media") or jget(record, "extended_entities", "media") \
        or jget(entities, "media")
    yield {
        "action_id": jtext(record.get("id_str")) or jtext(record.get("id")),
        "account_id": jtext(jget(record, "user", "id_str")) or jtext(jget(record, "user", "id")),
        "timestamp": jtext(record.get("created_at")),
        "action_type": action_type,
        "parent_id": parent,
        "text": jtext(ext.get("full_text")) or jtext(record.get("full_text")) or jtext(record.get("text")),
        "urls": unique(jtext(jget(u, "expanded_url")) or jtext(jget(u, "url"))
                       for u in jlist(jget(entities, "urls"))),
        "hashtags": unique(jtext(jget(h, "text")) for h in jlist(jget(entities, "hashtags"))),
        "mentions": unique(jtext(jget(m, "screen_name")) for m in jlist(jget(entities, "user_mentions"))),
        "media": _v1_media(media),
        "platform": "twitter",
    }
