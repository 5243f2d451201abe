"""Facebook posts by pages and groups: CrowdTangle CSV exports and Meta Content Library exports.

One format, ``meta-content-library``, reads both flavours, told apart by their columns:

- CrowdTangle (historical data / saved search CSV): ``Facebook Id`` (the page or group) and
  ``Post Created`` (``2021-01-05 14:03:12 EST``: local time with a time-zone abbreviation) are
  required; ``URL`` (the post's address) is the action id, ``Message`` the text, and the shared
  link is ``Final Link`` (after redirects) or else ``Link``. Every row is a post.
- Meta Content Library (CSV download or flattened API results): ``id``, ``creation_time`` and
  ``post_owner.id`` are required; ``text``, the link (``link_attachment.link`` or ``link_url``)
  and ``shared_post_id`` (a reshare: a repost of that post) are used when present.

Neither export has a hashtag field: hashtags are the ``#tags`` (or full-width ``＃tags``)
written in the text.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from ._formats import _pick, _present, hashtags_in_text, register

__all__ = ["TIMEZONE_ABBREVIATIONS"]

#: UTC offsets of the time-zone abbreviations accepted in CrowdTangle's ``Post Created``.
#: Ambiguous ones (IST: India, Ireland or Israel; CST in China) are left out on purpose, so
#: such rows are rejected as unparsable rather than read at a wrong time; CST is US Central,
#: BST British Summer Time, as CrowdTangle's dashboards use them.
TIMEZONE_ABBREVIATIONS = {
    "UTC": "+00:00", "GMT": "+00:00", "Z": "+00:00", "WET": "+00:00", "WEST": "+01:00",
    "BST": "+01:00", "CET": "+01:00", "CEST": "+02:00", "EET": "+02:00", "EEST": "+03:00",
    "MSK": "+03:00", "EST": "-05:00", "EDT": "-04:00", "CST": "-06:00", "CDT": "-05:00",
    "MST": "-07:00", "MDT": "-06:00", "PST": "-08:00", "PDT": "-07:00", "AKST": "-09:00",
    "AKDT": "-08:00", "HST": "-10:00", "AST": "-04:00", "ADT": "-03:00", "NST": "-03:30",
    "NDT": "-02:30", "JST": "+09:00", "KST": "+09:00", "HKT": "+08:00", "SGT": "+08:00",
    "PHT": "+08:00", "WIB": "+07:00", "ICT": "+07:00", "PKT": "+05:00", "AEST": "+10:00",
    "AEDT": "+11:00", "ACST": "+09:30", "ACDT": "+10:30", "AWST": "+08:00", "NZST": "+12:00",
    "NZDT": "+13:00", "SAST": "+02:00", "WAT": "+01:00", "CAT": "+02:00", "EAT": "+03:00",
    "BRT": "-03:00", "ART": "-03:00",
}
_ZONE = re.compile(r"^(.*\d)\s+([A-Za-z]{1,5})$")

CROWDTANGLE = ("Facebook Id", "Post Created")
CONTENT_LIBRARY = ("id", "creation_time", "post_owner.id")


def with_offsets(values: pd.Series) -> pd.Series:
    """Replace a trailing time-zone abbreviation by its UTC offset (unknown ones are kept, so
    that the value is rejected as unparsable).

    Examples
    --------
    >>> with_offsets(pd.Series(["2021-01-05 14:03:12 EST", "2021-01-05 14:03:12 XYZ",
    ...                         "2021-01-05 14:03:12"])).tolist()
    ['2021-01-05 14:03:12-05:00', '2021-01-05 14:03:12 XYZ', '2021-01-05 14:03:12']
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    fixed = []
    for text in uniques:
        m = _ZONE.match(text.strip())
        offset = TIMEZONE_ABBREVIATIONS.get(m.group(2).upper()) if m else None
        fixed.append(m.group(1) + offset if offset else text)
    table = np.array(fixed + [None], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype="str")


def _first_link(raw: pd.DataFrame, *columns: str) -> pd.Series | None:
    """Per row, the first non-blank value among ``columns`` (those present), as a one-item
    JSON list (so that a link is never split)."""
    present = [c for c in columns if c in raw.columns]
    if not present:
        return None
    links = _pick(raw.index, [(_present(raw, c), raw[c]) for c in present])
    codes, uniques = pd.factorize(links.str.strip(), use_na_sentinel=True)
    table = np.array([json.dumps([u], ensure_ascii=False) for u in uniques] + [None], dtype=object)
    return pd.Series(table[codes], index=raw.index, dtype="str")


@register(
    "meta-content-library",
    "Facebook posts of pages and groups: CrowdTangle CSV (Facebook Id, Post Created, URL, "
    "Message, Link, Final Link) or Meta Content Library export (id, creation_time, "
    "post_owner.id, text, link, shared_post_id).",
    required=(),
    flavours=(CROWDTANGLE, CONTENT_LIBRARY),
    optional=("URL", "Message", "Link", "Final Link", "text", "shared_post_id",
              "link_attachment.link", "link_url"),
    exact=("Facebook Id", "id", "post_owner.id", "shared_post_id"),
    sources={
        "action_id": ("URL", "id"),
        "account_id": ("Facebook Id", "post_owner.id"),
        "timestamp": ("Post Created", "creation_time"),
        "action_type": ("shared_post_id", "=repost when shared_post_id is set, else post"),
        "parent_id": ("shared_post_id",),
        "text": ("Message", "text"),
        "urls": ("Final Link", "Link", "link_attachment.link", "link_url"),
        "hashtags": ("Message", "text", "=#tags written in the text"),
        "platform": ("=facebook",),
    },
)
def _meta_content_library(raw: pd.DataFrame) -> pd.DataFrame:
    idx = raw.index
    warnings = []
    if "Facebook Id" in raw.columns and "Post Created" in raw.columns:  # CrowdTangle
        created = raw["Post Created"]
        timestamp = with_offsets(created)
        zoneless = created.notna() & (timestamp == created) & \
            ~created.astype("str").str.contains(r"[+-]\d\d:?\d\d$|Z$", regex=True).fillna(False)
        if zoneless.any():
            warnings.append(f"{int(zoneless.sum())} 'Post Created' values have no known time zone; "
                            "those without any are read as UTC")
        out = {
            "action_id": raw.get("URL"),
            "account_id": raw["Facebook Id"],
            "timestamp": timestamp,
            "action_type": pd.Series("post", index=idx, dtype="str"),
            "text": raw.get("Message"),
            "urls": _first_link(raw, "Final Link", "Link"),
        }
    else:  # Meta Content Library
        shared = _present(raw, "shared_post_id")
        out = {
            "action_id": raw["id"],
            "account_id": raw["post_owner.id"],
            "timestamp": raw["creation_time"],
            "action_type": _pick(idx, [(shared, "repost")], "post"),
            "parent_id": raw.get("shared_post_id"),
            "text": raw.get("text"),
            "urls": _first_link(raw, "link_attachment.link", "link_url"),
        }
    if out["text"] is not None:
        out["hashtags"] = hashtags_in_text(out["text"])
    out["platform"] = pd.Series("facebook", index=idx, dtype="str")
    frame = pd.DataFrame({k: v for k, v in out.items() if v is not None}, index=idx)
    frame.attrs["warnings"] = warnings
    return frame
