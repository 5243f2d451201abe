"""Mastodon API statuses: one status per line (JSON lines) or a JSON array of them.

- ``action_id`` is the status's ``uri`` (its ActivityPub id, the same on every instance), else
  its ``id`` (local to the instance that served it).
- ``account_id`` is ``account.acct`` made global: a local account (``alice``) gets the host of
  its ``account.url`` (``alice@mastodon.social``), so that data from several instances agree;
  mentions likewise.
- A reblog is a repost of ``reblog.uri`` (else ``reblog.id``); a reply (``in_reply_to_id``, an
  id local to the serving instance: the API gives no URI) is a reply; a quote (Mastodon 4.5:
  ``quote.quoted_status``, or ``quote_id``) is a quote.
- ``content`` is HTML: the text is read with :mod:`html.parser` (``<br>`` and paragraphs become
  line breaks, entities are decoded, nothing is evaluated). URLs are the links of the content
  that are not mentions or hashtags, and ``card.url``; hashtags are ``tags[].name``; media are
  ``media_attachments[].blurhash`` (a compact hash of the image; else the attachment's URL).
- A reblog's own fields are empty in the API (its content is the original's), so it carries
  no text, URLs or hashtags of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from ._formats import RecordContext, jget, jlist, jtext, register_records, unique

__all__ = ["html_to_text"]


class _Html(HTMLParser):
    """Text and links of a status's HTML content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._paragraphs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p":
            if self._paragraphs:
                self.parts.append("\n\n")
            self._paragraphs += 1
        elif tag == "a":
            a = dict(attrs)
            classes = (a.get("class") or "").split()
            rel = (a.get("rel") or "").split()
            if a.get("href") and not {"mention", "hashtag", "u-url"} & set(classes) \
                    and "tag" not in rel:
                self.links.append(a["href"] or "")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> tuple[str, list[str]]:
    """The text of a status's HTML content, and its links (not mentions or hashtags).

    Examples
    --------
    >>> html_to_text('<p>Hi <span class="h-card"><a href="https://m.s/@a" class="u-url mention">'
    ...              '@<span>a</span></a></span> &amp; <a href="https://x.org/p" rel="nofollow">'
    ...              'x.org/p</a></p><p>2<br>3</p>')
    ('Hi @a & x.org/p\\n\\n2\\n3', ['https://x.org/p'])
    """
    parser = _Html()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip(), parser.links


def _sniff(r: dict[str, Any]) -> bool:
    return isinstance(r.get("account"), dict) and "content" in r and "created_at" in r


def _global(acct: str | None, url: str | None) -> str | None:
    """``alice`` + ``https://mastodon.social/@alice`` -> ``alice@mastodon.social``."""
    if not acct or "@" in acct:
        return acct
    host = urlsplit(url).hostname if url else None
    return f"{acct}@{host}" if host else acct


def _status_id(status: Any) -> str | None:
    return jtext(jget(status, "uri")) or jtext(jget(status, "id"))


@register_records(
    "mastodon",
    "Mastodon API statuses (JSON lines or a JSON array): uri/id, created_at, account.acct, "
    "content (HTML), reblog, in_reply_to_id, tags, mentions, card, media_attachments.",
    sniff=_sniff,
    sources={
        "action_id": ("uri", "id"),
        "account_id": ("account.acct", "=with the host of account.url when local"),
        "timestamp": ("created_at",),
        "action_type": ("reblog", "in_reply_to_id", "quote",
                        "=repost (reblog), reply, quote or post"),
        "parent_id": ("reblog.uri", "reblog.id", "in_reply_to_id", "quote.quoted_status.uri"),
        "text": ("content", "=HTML to text"),
        "urls": ("content <a href>", "card.url"),
        "hashtags": ("tags[].name",),
        "mentions": ("mentions[].acct",),
        "media": ("media_attachments[].blurhash", "media_attachments[].url"),
        "platform": ("=mastodon",),
    },
)
def _mastodon(status: dict[str, Any], ctx: RecordContext) -> Iterator[dict[str, Any]]:
    account = status.get("account")
    reblog = status.get("reblog")
    quote = status.get("quote")
    quoted = _status_id(jget(quote, "quoted_status")) or jtext(status.get("quote_id"))
    reply = jtext(status.get("in_reply_to_id"))
    if isinstance(reblog, dict):
        action_type, parent = "repost", _status_id(reblog)
    elif reply:
        action_type, parent = "reply", reply
    elif quoted or isinstance(quote, dict):
        action_type, parent = "quote", quoted
    else:
        action_type, parent = "post", None
    content = status.get("content")
    text, links = html_to_text(content) if isinstance(content, str) and content else ("", [])
    yield {
        "action_id": _status_id(status),
        "account_id": _global(jtext(jget(account, "acct")) or jtext(jget(account, "username")),
                              jtext(jget(account, "url"))),
        "timestamp": jtext(status.get("created_at")),
        "action_type": action_type,
        "parent_id": parent,
        "text": text or None,
        "urls": unique([*links, jtext(jget(status, "card", "url"))]),
        "hashtags": unique(jtext(jget(t, "name")) for t in jlist(status.get("tags"))),
        "mentions": unique(_global(jtext(jget(m, "acct")), jtext(jget(m, "url")))
                           for m in jlist(status.get("mentions"))),
        "media": unique(jtext(jget(m, "blurhash")) or jtext(jget(m, "url"))
                        for m in jlist(status.get("media_attachments"))),
        "platform": "mastodon",
    }
