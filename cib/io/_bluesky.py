"""Bluesky: Jetstream JSON lines, and decoded firehose commits.

- Jetstream (``{"did", "time_us", "kind": "commit", "commit": {"operation": "create",
  "collection", "rkey", "record"}}``; also its early spelling ``"type": "com"`` / ``"c"``).
- Decoded firehose commits (``{"repo", "time", "ops": [{"action": "create", "path":
  "app.bsky.feed.post/<rkey>", "record"}]}``), one action per op.

Only created posts (``app.bsky.feed.post``) and reposts (``app.bsky.feed.repost``) are actions;
likes, follows, deletions, identity and account events are skipped (and counted).

- ``action_id`` is the record's AT URI ``at://<did>/<collection>/<rkey>``; ``account_id`` the
  DID.
- ``timestamp`` is when the network saw the event (Jetstream's ``time_us``, the firehose's
  ``time``), not the record's ``createdAt``, which the client sets freely (posts imported from
  elsewhere are back-dated by years); ``createdAt`` is used only when the event has no time.
- A repost's parent is ``subject.uri``; a post replying (``reply.parent.uri``) is a reply, else
  a post embedding a record (``embed.record.uri``, or ``embed.record.record.uri`` with media) is
  a quote.
- URLs: link facets and ``embed.external.uri``; hashtags: tag facets and ``tags``; mentions:
  mention facets (DIDs); media: the CIDs (content hashes) of embedded images and videos.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._formats import (RecordContext, epoch_us_to_iso, jget, jlist, jtext, register_records,
                       unique)

__all__: list[str] = []

POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"
_FACET = "app.bsky.richtext.facet#"


def _sniff(r: dict[str, Any]) -> bool:
    did = r.get("did")
    if isinstance(did, str) and did.startswith("did:") and (
            "commit" in r or "time_us" in r or r.get("kind") in ("commit", "identity", "account")):
        return True
    return isinstance(r.get("repo"), str) and isinstance(r.get("ops"), list)


def _blob_cid(blob: Any) -> str | None:
    return jtext(jget(blob, "ref", "$link")) or jtext(jget(blob, "cid"))


def _embed(embed: Any, out: dict[str, list[str]]) -> str | None:
    """Collect URLs and media of an embed; return the quoted record's URI (if any)."""
    kind = jget(embed, "$type")
    quoted = None
    if kind == "app.bsky.embed.record":
        quoted = jtext(jget(embed, "record", "uri"))
    elif kind == "app.bsky.embed.recordWithMedia":
        quoted = jtext(jget(embed, "record", "record", "uri"))
        _embed(jget(embed, "media"), out)
    elif kind == "app.bsky.embed.external":
        out["urls"].append(jtext(jget(embed, "external", "uri")))
    elif kind == "app.bsky.embed.images":
        out["media"].extend(_blob_cid(jget(i, "image")) for i in jlist(jget(embed, "images")))
    elif kind == "app.bsky.embed.video":
        out["media"].append(_blob_cid(jget(embed, "video")))
    return quoted


def _action(did: str | None, collection: str, rkey: str | None, record: dict[str, Any],
            time: str | None) -> dict[str, Any]:
    uri = f"at://{did}/{collection}/{rkey}" if did and rkey else None
    timestamp = time or jtext(record.get("createdAt"))
    if collection == REPOST:
        return {"action_id": uri, "account_id": did, "timestamp": timestamp,
                "action_type": "repost", "parent_id": jtext(jget(record, "subject", "uri")),
                "platform": "bluesky"}
    lists: dict[str, list[str]] = {"urls": [], "hashtags": [], "mentions": [], "media": []}
    for facet in jlist(record.get("facets")):
        for feature in jlist(jget(facet, "features")):
            kind = jget(feature, "$type")
            if kind == _FACET + "link":
                lists["urls"].append(jtext(jget(feature, "uri")))
            elif kind == _FACET + "tag":
                lists["hashtags"].append(jtext(jget(feature, "tag")))
            elif kind == _FACET + "mention":
                lists["mentions"].append(jtext(jget(feature, "did")))
    lists["hashtags"].extend(jtext(t) for t in jlist(record.get("tags")))
    quoted = _embed(record.get("embed"), lists)
    reply = jtext(jget(record, "reply", "parent", "uri"))
    action_type, parent = ("reply", reply) if reply else ("quote", quoted) if quoted else ("post", None)
    return {"action_id": uri, "account_id": did, "timestamp": timestamp,
            "action_type": action_type, "parent_id": parent,
            "text": jtext(record.get("text")) or None,
            **{k: unique(v) for k, v in lists.items()}, "platform": "bluesky"}


@register_records(
    "bluesky",
    "Bluesky Jetstream JSON lines (did, time_us, commit: operation, collection, rkey, record) "
    "or decoded firehose commits (repo, time, ops); posts and reposts.",
    sniff=_sniff,
    sources={
        "action_id": ("did", "commit.collection", "commit.rkey", "=as at://<did>/<collection>/<rkey>"),
        "account_id": ("did", "repo"),
        "timestamp": ("time_us", "time", "commit.record.createdAt"),
        "action_type": ("commit.collection", "record.reply", "record.embed",
                        "=repost (app.bsky.feed.repost), reply, quote (embedded record) or post"),
        "parent_id": ("record.subject.uri", "record.reply.parent.uri", "record.embed.record.uri"),
        "text": ("record.text",),
        "urls": ("record.facets[#link].uri", "record.embed.external.uri"),
        "hashtags": ("record.facets[#tag].tag", "record.tags"),
        "mentions": ("record.facets[#mention].did",),
        "media": ("record.embed.images[].image.ref.$link", "record.embed.video.ref.$link"),
        "platform": ("=bluesky",),
    },
)
def _bluesky(event: dict[str, Any], ctx: RecordContext) -> Iterator[dict[str, Any]]:
    if isinstance(event.get("ops"), list):  # a decoded firehose commit
        did = jtext(event.get("repo"))
        for op in event["ops"]:
            action = jget(op, "action")
            collection, _, rkey = (jtext(jget(op, "path")) or "").partition("/")
            if action not in ("create", "c"):
                ctx.skip(f"{action} operations")
            elif collection not in (POST, REPOST):
                ctx.skip(f"{collection or 'unknown'} records")
            else:
                record = jget(op, "record")
                yield _action(did, collection, rkey or None,
                              record if isinstance(record, dict) else {}, jtext(event.get("time")))
        return
    kind = event.get("kind", event.get("type"))
    if kind not in ("commit", "com"):
        ctx.skip(f"{kind} events")
        return
    commit = event.get("commit") if isinstance(event.get("commit"), dict) else {}
    operation = commit.get("operation", commit.get("type"))
    collection = jtext(commit.get("collection"))
    if operation not in ("create", "c"):
        ctx.skip(f"{operation} operations")
        return
    if collection not in (POST, REPOST):
        ctx.skip(f"{collection} records")
        return
    record = commit.get("record") if isinstance(commit.get("record"), dict) else {}
    time = epoch_us_to_iso(event.get("time_us")) if event.get("time_us") is not None else None
    yield _action(jtext(event.get("did")), collection, jtext(commit.get("rkey")), record, time)
