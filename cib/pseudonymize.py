"""Keyed pseudonyms for account ids, for sharing findings (``cib detect --pseudonymize KEY``).

Every account id becomes ``acct_`` followed by the first 16 hex digits of
HMAC-SHA256(key, id): the same key gives the same pseudonym for the same account in every table,
file and run, so findings shared at different times can be linked by their recipients, while
without the key nobody can compute the pseudonym of an account they suspect (a plain hash of the
id could be recomputed from a list of candidate ids). Keep the key secret and long (anyone who
has it can test guesses), and use a new key for findings that must not be linkable.

Collisions: 16 hex digits are 64 bits, so two different ids get the same pseudonym with
probability about ``n**2 / 2**65`` for ``n`` distinct ids (about 3e-8 for a million accounts,
3e-4 for a hundred million). :func:`pseudonymize_detection` checks every mapping it builds and
raises instead of merging two accounts.

What :func:`pseudonymize_detection` replaces, in every table of a :class:`cib.Detection` (so in
every file :meth:`cib.Detection.write` writes: CSV, Parquet, GEXF, GraphML, report.html):

- account ids: ``members.account_id``, ``edges`` / ``edges_by_kind`` ``account_u`` and
  ``account_v`` (swapped where needed to keep ``account_u < account_v``, together with the
  per-end columns ``cluster_u`` / ``cluster_v``), ``coactions`` ``account_a`` / ``account_b``
  (swapped, with ``action_*`` and ``time_*``, where both acted at the same time, so that ties stay
  ordered by account id), ``traces.account_id``;
- handles: the ``object_id`` of ``mention`` traces, co-actions and evidence, and every @mention in
  texts (``evidence.example_text``; ``rejects.value``). A mention whose handle equals an account
  id (compared after Unicode NFKC and case folding, as cib compares mentions) gets that account's
  pseudonym; other handles get the pseudonym of the NFKC, case-folded handle. A mention is ``@``
  (or a full-width ``＠``) not preceded by a letter or digit, followed by a handle of letters,
  digits and ``_``, with inner ``.`` and ``-`` (``@name.bsky.social``) and an optional
  ``@host`` (``@alice@mastodon.social``). When the whole handle is no account id but a part of it
  up to a ``.``, ``-`` or ``@`` is, that part is replaced (``@u123-official`` ->
  ``@acct_...-official``);
- ``clusters.stable_id``: recomputed over the pseudonymised member lists
  (:func:`cib.scoring.stable_id`), so it cannot be used to test guesses about membership;
- ``rejects.value`` of rows whose ``column`` holds account ids (``account_id`` or the input column
  read as ``account_id``, from the manifest), and any value equal to a known account id;
- ``manifest["pseudonymized"] = True`` (the key is never stored).

Cluster ids, ranks, scores and every figure are unchanged. Rows of ``members``, ``edges``,
``edges_by_kind``, ``coactions`` and ``evidence`` are sorted again as cib sorts them, by the new
ids, so the row order does not give away the order of the original ids.

Not replaced: post ids (``action_id``, ``action_a`` / ``action_b``, and the ``object_id`` of
``repost`` / ``reply`` / ``quote`` traces, which are the parent post's id), URLs and domains,
hashtags, and ids written in a text without ``@``. Post ids are not account ids, but on some
platforms they contain one: Bluesky AT URIs (``at://did:plc:.../app.bsky.feed.post/...``), Mastodon
status URLs (``https://host/@alice/...``), tweet URLs (``twitter.com/alice/status/...``). Check
such data before sharing it. Files the user added to the output folder are not touched either.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .errors import CibError, ParameterError
from .scoring import stable_id

__all__ = ["PREFIX", "pseudonym", "Pseudonymizer", "pseudonymize_detection",
           "pseudonymize_review"]

#: What every pseudonym starts with.
PREFIX = "acct_"
#: Hex digits of the HMAC kept in a pseudonym (64 bits).
HEX_CHARS = 16

_HANDLE = r"\w(?:[\w.\-]*\w)?"
_MENTION = re.compile(rf"(?<!\w)[@＠﹫]({_HANDLE}(?:@{_HANDLE})?)")
_SPLIT = re.compile(r"[.\-@]")
#: Columns that hold account ids, in any table.
ACCOUNT_COLUMNS = ("account_id", "account_a", "account_b", "account_u", "account_v")


def _key_bytes(key: str | bytes, caller: str) -> bytes:
    if isinstance(key, str):
        data = key.encode("utf-8")
    elif isinstance(key, (bytes, bytearray)):
        data = bytes(key)
    else:
        raise ParameterError("key", caller, "a secret string or bytes", type(key).__name__)
    if not data:
        raise ParameterError("key", caller, "a non-empty secret string or bytes", "")
    return data


def pseudonym(value: str, key: str | bytes) -> str:
    """The keyed pseudonym of one account id or handle: ``acct_`` + 16 hex digits of
    HMAC-SHA256(key, value) (UTF-8).

    Parameters
    ----------
    value : str
        The account id (or handle) as it is; ``"Bob"`` and ``"bob"`` differ.
    key : str or bytes
        The secret key (a str is encoded as UTF-8).

    Returns
    -------
    str
        21 characters.

    Examples
    --------
    >>> p = pseudonym("u00012", "secret")
    >>> p.startswith("acct_"), len(p), p == pseudonym("u00012", "secret")
    (True, 21, True)
    >>> p != pseudonym("u00012", "another key")
    True
    """
    if not isinstance(value, str):
        raise TypeError(f"pseudonym expects a str, got {type(value).__name__}")
    mac = hmac.new(_key_bytes(key, "pseudonym"), value.encode("utf-8"), hashlib.sha256)
    return PREFIX + mac.hexdigest()[:HEX_CHARS]


def _fold(handle: str) -> str:
    """A handle as cib compares mentions: NFKC, case-folded, without leading ``@``/``#``."""
    return unicodedata.normalize("NFKC", handle).strip().casefold().lstrip("#@").strip()


class Pseudonymizer:
    """Pseudonyms under one key, for one set of known account ids.

    Parameters
    ----------
    key : str or bytes
        The secret key.
    accounts : iterable of str, optional
        The account ids of the data: a mention of one of them (after NFKC and case folding)
        gets that account's pseudonym.

    Examples
    --------
    >>> ps = Pseudonymizer("k", accounts=["Bob_1"])
    >>> ps.text("hi @bob_1 and @carol.") == f"hi @{ps.account('Bob_1')} and @{ps.account('carol')}."
    True
    """

    def __init__(self, key: str | bytes, accounts: Iterable[str] = ()) -> None:
        self._mac = hmac.new(_key_bytes(key, "pseudonymize"), digestmod=hashlib.sha256)
        self._cache: dict[str, str] = {}
        self._seen: dict[str, str] = {}  # pseudonym -> value, to catch collisions
        known: dict[str, str] = {}
        for a in sorted({a for a in accounts if isinstance(a, str)}):
            known.setdefault(_fold(a), a)  # two ids equal when folded: the first in sort order
        self._known = known

    def account(self, value: str) -> str:
        """The pseudonym of an account id (or any string)."""
        p = self._cache.get(value)
        if p is None:
            mac = self._mac.copy()
            mac.update(value.encode("utf-8"))
            p = PREFIX + mac.hexdigest()[:HEX_CHARS]
            other = self._seen.setdefault(p, value)
            if other != value:
                raise CibError("two account ids got the same pseudonym (a 64-bit collision, "
                               "very unlikely); pseudonymize again with another key")
            self._cache[value] = p
        return p

    def handle(self, value: str) -> str:
        """The pseudonym of a handle (a mention without ``@``): the account's when it names a
        known account, else that of the NFKC, case-folded handle."""
        folded = _fold(value)
        account = self._known.get(folded)
        return self.account(account if account is not None else folded)

    def _mention(self, match: re.Match[str]) -> str:
        token = match.group(1)
        if _fold(token) not in self._known:
            cuts = [m.start() for m in _SPLIT.finditer(token)]
            for cut in reversed(cuts):
                head = token[:cut]
                if head and _fold(head) in self._known:
                    return "@" + self.handle(head) + token[cut:]
        return "@" + self.handle(token)

    def text(self, value: Any) -> Any:
        """``value`` with every @mention replaced by ``@`` + the handle's pseudonym; anything
        that is not a string is returned as it is."""
        if not isinstance(value, str) or "@" not in value and "＠" not in value and "﹫" not in value:
            return value
        return _MENTION.sub(self._mention, value)

    # -- whole columns -------------------------------------------------------------------------

    def _map(self, s: pd.Series, func: Callable[[str], Any]) -> pd.Series:
        """``func`` over the distinct strings of a column (missing values stay missing)."""
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        mapped = np.array([func(u) if isinstance(u, str) else u for u in uniques.tolist()]
                          + [None], dtype=object)
        out = mapped[codes]  # code -1 (missing) picks the trailing None
        out = pd.Series(out, index=s.index, name=s.name, dtype=object)
        if isinstance(s.dtype, pd.StringDtype):
            out = out.astype(s.dtype)
        return out.where(s.notna(), s)

    def accounts_column(self, s: pd.Series) -> pd.Series:
        return self._map(s, self.account)

    def texts_column(self, s: pd.Series) -> pd.Series:
        return self._map(s, self.text)

    def handles_column(self, s: pd.Series) -> pd.Series:
        return self._map(s, self.handle)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------

def _known_accounts(det: Any) -> set[str]:
    out: set[str] = set()
    for df in (det.members, det.traces, det.edges, det.edges_by_kind, det.coactions,
               det.timing_edges):
        if df is None:
            continue
        for c in ACCOUNT_COLUMNS:
            if c in df.columns:
                out.update(v for v in pd.unique(df[c].to_numpy(dtype=object, na_value=None))
                           if isinstance(v, str))
    return out


def _swap_ends(df: pd.DataFrame, mask: np.ndarray, a: str, b: str) -> pd.DataFrame:
    """Swap every pair of columns ``<x>_<a>`` / ``<x>_<b>`` on the rows of ``mask``."""
    if not mask.any():
        return df
    out = df.copy()
    keep = pd.Series(~mask, index=df.index)
    for col in df.columns:
        if isinstance(col, str) and col.endswith("_" + a):
            other = col[: -len(a)] + b
            if other in df.columns:
                out[col] = df[col].where(keep, df[other])
                out[other] = df[other].where(keep, df[col])
    return out


def _greater(x: pd.Series, y: pd.Series) -> np.ndarray:
    """``x > y`` element-wise as a numpy bool array (missing: False)."""
    return (x > y).fillna(False).to_numpy(dtype=bool)


def _sorted(df: pd.DataFrame, keys: list[str], ascending: list[bool] | None = None) -> pd.DataFrame:
    keys = [k for k in keys if k in df.columns]
    if not keys or df.empty:
        return df.reset_index(drop=True)
    asc = ascending[: len(keys)] if ascending else True
    return df.sort_values(keys, ascending=asc, kind="mergesort", ignore_index=True)


def _edges(df: pd.DataFrame, ps: Pseudonymizer, keys: list[str]) -> pd.DataFrame:
    if df is None or "account_u" not in df.columns:
        return df
    out = df.copy()
    out["account_u"] = ps.accounts_column(df["account_u"])
    out["account_v"] = ps.accounts_column(df["account_v"])
    out = _swap_ends(out, _greater(out["account_u"], out["account_v"]), "u", "v")
    return _sorted(out, keys)


def _mention_objects(df: pd.DataFrame, ps: Pseudonymizer) -> pd.DataFrame:
    """Replace the handle in ``object_id`` of ``mention`` rows."""
    if df is None or "object_id" not in df.columns or "kind" not in df.columns:
        return df
    mask = (df["kind"].astype(object) == "mention").to_numpy(dtype=bool)
    if not mask.any():
        return df
    out = df.copy()
    obj = df["object_id"].astype(object).copy()
    obj[mask] = ps.handles_column(df.loc[mask, "object_id"]).astype(object)
    out["object_id"] = obj.astype(df["object_id"].dtype)
    return out


def _coactions(df: pd.DataFrame, ps: Pseudonymizer) -> pd.DataFrame:
    if df is None or "account_a" not in df.columns:
        return df
    out = _mention_objects(df, ps).copy()
    out["account_a"] = ps.accounts_column(df["account_a"])
    out["account_b"] = ps.accounts_column(df["account_b"])
    if "delay_s" in out.columns:
        tie = (out["delay_s"] == 0).fillna(False).to_numpy(dtype=bool)
        out = _swap_ends(out, tie & _greater(out["account_a"], out["account_b"]), "a", "b")
    keys = ["kind", "object_id", "time_a", "account_a", "account_b", "action_a", "action_b"]
    if "cluster_id" in out.columns:
        keys = ["cluster_id"] + keys
    return _sorted(out, keys)


def _account_input_names(manifest: Mapping[str, Any]) -> set[str]:
    """``account_id`` and the input columns the manifest says were read as account_id."""
    names = {"account_id"}
    inputs = manifest.get("inputs") if isinstance(manifest, Mapping) else None
    for f in inputs if isinstance(inputs, list) else []:
        cols = f.get("columns") if isinstance(f, Mapping) else None
        text = cols.get("account_id") if isinstance(cols, Mapping) else None
        if isinstance(text, str):
            for part in text.split(" | "):
                part = re.sub(r"\s*\(.*\)\s*$", "", part).strip()
                if part:
                    names.add(part)
    return names


def _rejects(df: pd.DataFrame, ps: Pseudonymizer, known: set[str],
             manifest: Mapping[str, Any]) -> pd.DataFrame:
    if df is None or "value" not in df.columns:
        return df
    out = df.copy()
    account_cols = _account_input_names(manifest)
    col = df["column"].astype(object) if "column" in df.columns else pd.Series(None, index=df.index)
    is_account = col.isin(account_cols).to_numpy(dtype=bool)

    values = df["value"].astype(object)
    new = []
    for flag, v in zip(is_account, values):
        if not isinstance(v, str):
            new.append(v)
        elif v in known:
            new.append(ps.account(v))
        elif flag and v.strip():
            new.append(ps.account(v.strip()))
        else:
            new.append(ps.text(v))
    out["value"] = pd.Series(new, index=df.index, dtype=object)
    if "example_text" in out.columns:
        out["example_text"] = ps.texts_column(out["example_text"])
    return out


def _evidence(df: pd.DataFrame, ps: Pseudonymizer) -> pd.DataFrame:
    if df is None:
        return df
    out = _mention_objects(df, ps)
    if "example_text" in out.columns:
        out = out.copy()
        out["example_text"] = ps.texts_column(out["example_text"])
    keys = ["cluster_id", "n_accounts", "first_time", "kind", "object_id"]
    return _sorted(out, keys, [True, False, True, True, True])


def _clusters(clusters: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    if clusters is None or "stable_id" not in clusters.columns:
        return clusters
    out = clusters.copy()
    m = members[members["cluster_id"] >= 0]
    groups = {int(k): list(v) for k, v in m.groupby("cluster_id", sort=True)["account_id"]}
    new = [stable_id(groups.get(int(c), [])) for c in out["cluster_id"]]
    out["stable_id"] = pd.Series(new, index=out.index, dtype=object).astype(clusters["stable_id"].dtype)
    return out


def pseudonymize_detection(det: Any, key: str | bytes) -> Any:
    """A copy of a detection whose account ids and handles are keyed pseudonyms.

    See the module docstring for what is replaced and what is not. ``det`` is not modified.

    Parameters
    ----------
    det : cib.Detection
        The detection.
    key : str or bytes
        The secret key (never stored).

    Returns
    -------
    cib.Detection
        A new detection: same clusters (ids, ranks, scores, sizes), pseudonymised ids, and
        ``manifest["pseudonymized"]`` true.

    Raises
    ------
    cib.errors.ParameterError
        If the key is empty.

    Examples
    --------
    >>> from cib.datasets import simulate
    >>> from cib.pipeline import detect
    >>> det = detect(simulate(n_accounts=200, n_groups=1, seed=1)[0], n_null=5, fdr_runs=2)
    >>> shared = pseudonymize_detection(det, "secret")
    >>> bool(shared.members["account_id"].str.startswith("acct_").all())
    True
    >>> shared.manifest["pseudonymized"], len(shared.clusters) == len(det.clusters)
    (True, True)
    """
    _key_bytes(key, "pseudonymize_detection")
    known = _known_accounts(det)
    ps = Pseudonymizer(key, known)

    members = det.members.copy()
    members["account_id"] = ps.accounts_column(det.members["account_id"])
    members = _sorted(members, ["account_id"])
    traces = _mention_objects(det.traces, ps)
    if traces is not None and "account_id" in traces.columns:
        traces = traces.copy()
        traces["account_id"] = ps.accounts_column(det.traces["account_id"])
    manifest = copy.deepcopy(dict(det.manifest))
    manifest["pseudonymized"] = True
    manifest["pseudonym_method"] = (f"account ids and @handles replaced by '{PREFIX}' + the first "
                                    f"{HEX_CHARS} hex digits of HMAC-SHA256(key, id)")
    return dataclasses.replace(
        det,
        clusters=_clusters(det.clusters, members),
        members=members,
        edges=_edges(det.edges, ps, ["account_u", "account_v"]),
        evidence=_evidence(det.evidence, ps),
        edges_by_kind=_edges(det.edges_by_kind, ps, ["kind", "account_u", "account_v"]),
        coactions=_coactions(det.coactions, ps),
        timing_edges=_edges(det.timing_edges, ps, ["account_u", "account_v"]),
        traces=traces,
        rejects=_rejects(det.rejects, ps, known, det.manifest),
        manifest=manifest,
    )


def pseudonymize_review(review: pd.DataFrame, key: str | bytes,
                        accounts: Iterable[str] = ()) -> pd.DataFrame:
    """A review table (:mod:`cib.review`) fit to go with a pseudonymised detection.

    ``members`` are pseudonymised and ``stable_id`` recomputed from them (so matched verdicts
    point at the pseudonymised clusters), @mentions in ``note`` replaced, ``previous_stable_id``
    emptied (it is a hash of the real member list), and so is the ``stable_id`` of a row without
    members. ``accounts`` are the account ids of the data
    (see :class:`Pseudonymizer`).
    """
    ps = Pseudonymizer(key, accounts)
    out = review.copy()
    if "members" in out.columns:
        mem = [[ps.account(a) for a in str(m).split()] if isinstance(m, str) else []
               for m in out["members"]]
        out["members"] = [" ".join(sorted(m)) for m in mem]
        if "stable_id" in out.columns:
            out["stable_id"] = [stable_id(m) if m else "" for m in mem]
    if "note" in out.columns:
        out["note"] = ps.texts_column(out["note"].astype(object))
    if "previous_stable_id" in out.columns:
        out["previous_stable_id"] = ""
    return out
