"""Telegram Desktop's JSON export (``result.json``): one chat (``{name, type, id, messages}``)
or a whole account (``{chats: {list: [...]}, left_chats: {list: [...]}}``).

- ``action_id`` is ``<chat>/<message id>``, where ``<chat>`` is the chat's peer id as Telegram
  spells it in ``from_id``: ``channel<id>`` for channels and supergroups, ``chat<id>`` for basic
  groups, ``user<id>`` for personal chats (message ids are only unique within a chat).
- ``account_id`` is ``from_id`` (``user123``, ``channel456``); a channel post without one is
  the channel's.
- ``timestamp`` is ``date_unixtime``; older exports only have ``date``, the exporting computer's
  local time without a zone, which is read as UTC (with a warning).
- A forwarded message is a repost. Telegram Desktop does not export the original message's id,
  so the parent is ``fwd:<source>:<fingerprint>``: the forwarded-from channel or user
  (``forwarded_from_id`` when the export has it, else the ``forwarded_from`` name) and the first
  12 hex digits of a SHA-1 of the message's text and photo size; ``hidden`` when the export
  names no source. Two forwards of the same post share it; different posts of one channel do
  not.
- A reply (``reply_to_message_id``, in ``reply_to_peer_id`` when given) is a reply.
- Text, links, hashtags and mentions come from ``text_entities`` (or from ``text`` when it is a
  list of strings and entities): ``link`` (as written) and ``text_link`` (its ``href``) are
  URLs, ``hashtag`` a hashtag, ``mention`` a mention (``mention_name``: ``user<user_id>``).
- A photo with ``photo_file_size`` gives the media item ``photo:<width>x<height>:<bytes>``
  (forwarded copies of a photo are the same file).
- Service messages (joins, pins, ...) are skipped. REJECTS name the line where the message
  starts in ``result.json``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from ._formats import RecordContext, jget, jlist, jtext, register_records, unique

__all__: list[str] = []

_PEER_PREFIX = {
    "personal_chat": "user", "bot_chat": "user", "saved_messages": "user",
    "private_group": "chat",
    "public_supergroup": "channel", "private_supergroup": "channel",
    "public_channel": "channel", "private_channel": "channel",
}
_CHANNELS = {"public_channel", "private_channel"}


def _sniff(r: dict[str, Any]) -> bool:
    return isinstance(r.get("messages"), list) or isinstance(jget(r, "chats", "list"), list)


def _chats(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if isinstance(doc.get("messages"), list):
        yield doc
    for key in ("chats", "left_chats"):
        for chat in jlist(jget(doc, key, "list")):
            if isinstance(chat, dict) and isinstance(chat.get("messages"), list):
                yield chat


def _entities(msg: dict[str, Any]) -> list[dict[str, Any]]:
    entities = msg.get("text_entities")
    if isinstance(entities, list):
        return [e for e in entities if isinstance(e, dict)]
    text = msg.get("text")
    if isinstance(text, list):
        return [e if isinstance(e, dict) else {"type": "plain", "text": e}
                for e in text if isinstance(e, (dict, str))]
    if isinstance(text, str):
        return [{"type": "plain", "text": text}]
    return []


def _peer(chat: dict[str, Any]) -> str | None:
    cid = jtext(chat.get("id"))
    if cid is None:
        return None
    prefix = _PEER_PREFIX.get(chat.get("type"), "")
    return cid if cid.startswith(prefix) else prefix + cid


def _photo(msg: dict[str, Any]) -> str | None:
    size = jtext(msg.get("photo_file_size"))
    if msg.get("photo") is None or size is None:
        return None
    return f"photo:{jtext(msg.get('width'))}x{jtext(msg.get('height'))}:{size}"


@register_records(
    "telegram",
    "Telegram Desktop export result.json (one chat, or all chats): messages with from_id, "
    "date_unixtime, text / text_entities, forwarded_from, reply_to_message_id.",
    sniff=_sniff,
    sources={
        "action_id": ("id", "=as <chat peer id>/<message id>"),
        "account_id": ("from_id", "=the channel for channel posts without one"),
        "timestamp": ("date_unixtime", "date"),
        "action_type": ("forwarded_from", "reply_to_message_id",
                        "=repost when forwarded, reply when replying, else post"),
        "parent_id": ("forwarded_from_id", "forwarded_from", "reply_to_message_id",
                      "=fwd:<source>:<text fingerprint> for forwards"),
        "text": ("text_entities[].text", "text"),
        "urls": ("text_entities[type=link].text", "text_entities[type=text_link].href"),
        "hashtags": ("text_entities[type=hashtag].text",),
        "mentions": ("text_entities[type=mention].text", "mention_name.user_id"),
        "media": ("photo_file_size", "=photo:<width>x<height>:<bytes>"),
        "platform": ("=telegram",),
    },
)
def _telegram(doc: dict[str, Any], ctx: RecordContext) -> Iterator[dict[str, Any]]:
    for chat in _chats(doc):
        peer = _peer(chat)
        is_channel = chat.get("type") in _CHANNELS
        for msg in chat["messages"]:
            if not isinstance(msg, dict):
                continue
            if msg.get("type", "message") != "message":
                ctx.skip(f"{msg.get('type')} messages")
                continue
            row = ctx.line(msg)
            entities = _entities(msg)
            text = "".join(e["text"] for e in entities if isinstance(e.get("text"), str))
            urls, hashtags, mentions = [], [], []
            for e in entities:
                kind, value = e.get("type"), jtext(e.get("text"))
                if kind == "link":
                    urls.append(value)
                elif kind == "text_link":
                    urls.append(jtext(e.get("href")))
                elif kind == "hashtag":
                    hashtags.append(value)
                elif kind == "mention":
                    mentions.append(value)
                elif kind == "mention_name":
                    user = jtext(e.get("user_id"))
                    mentions.append(f"user{user}" if user else value)
            photo = _photo(msg)
            timestamp = jtext(msg.get("date_unixtime"))
            if timestamp is None and msg.get("date") is not None:
                timestamp = jtext(msg.get("date"))
                ctx.warn("messages without date_unixtime: their 'date' is the exporting "
                         "computer's local time, read as UTC")
            account = jtext(msg.get("from_id")) or (peer if is_channel else None)
            action_type, parent = "post", None
            source = jtext(msg.get("forwarded_from_id")) or jtext(msg.get("forwarded_from"))
            reply = jtext(msg.get("reply_to_message_id"))
            if "forwarded_from" in msg or "forwarded_from_id" in msg:
                action_type = "repost"
                digest = hashlib.sha1(f"{text}\x00{photo or ''}".encode()).hexdigest()[:12]
                parent = f"fwd:{source or 'hidden'}:{digest}"
            elif reply:
                action_type = "reply"
                reply_peer = jtext(msg.get("reply_to_peer_id")) or peer
                parent = f"{reply_peer}/{reply}"
            mid = jtext(msg.get("id"))
            yield {
                "_row": row,
                "action_id": f"{peer}/{mid}" if peer and mid else mid,
                "account_id": account,
                "timestamp": timestamp,
                "action_type": action_type,
                "parent_id": parent,
                "text": text or None,
                "urls": unique(urls),
                "hashtags": unique(hashtags),
                "mentions": unique(mentions),
                "media": [photo] if photo else [],
                "platform": "telegram",
            }
