"""Simulated social-media activity with planted coordinated groups and their ground truth.

:func:`simulate` returns an ACTIONS table (DESIGN §2) and a TRUTH table saying which accounts belong
to which planted group, so that a detector can be measured (see :mod:`cib.evaluate`).
:func:`write_simulation` writes both as CSV files.

The simulation is meant to be hard in the ways real data is hard:

* organic activity is heavy-tailed (most accounts act a few times, a few act hundreds of times) and
  follows a daily rhythm;
* organic reposts, replies and quotes pick their post by popularity (heavy-tailed), with a delay that
  decays over minutes to hours, so popular posts attract bursts of reposts by unrelated accounts;
* organic posts share popular URLs (with tracking parameters and ``www.`` variants) and trending
  hashtags;
* a few *viral* posts are reposted by several hundred organic accounts within about 30 minutes (an
  organic trap: synchronous, but not coordinated);
* planted members have the same organic background activity as everyone else (their pushes come on
  top of it), and account ids are assigned at random, so planted accounts cannot be told apart by id.

Each planted group runs a number of *pushes*. In a push, a target is chosen and every member takes
part with probability 0.8 (at least two always do), acting within a small jitter of the push time
(uniform in ``[0, window / 2]`` seconds; 5% of the members straggle in ``[window, 4 window]``).
The targets are, with probabilities 0.35 / 0.25 / 0.15 / 0.15 / 0.10:

``own``
    one member posts, the others repost that post;
``amplify``
    the members repost an existing popular organic post;
``url``
    each member posts its own text with the same URL (a campaign URL or a popular organic one), each
    with member-specific ``utm_*`` tracking parameters;
``hashtag``
    each member posts its own text with the same hashtag (a campaign tag or a trending organic one);
``copypasta``
    each member posts exactly the same text (half of the time with the same image hash too).
"""

from __future__ import annotations

import gc
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import OutputError, ParameterError
from .params import check_number, parse_duration
from .schema import ACTION_COLUMNS, ACTION_TYPES, LIST_COLUMNS, TRUTH_COLUMNS, UTC_NS

__all__ = ["simulate", "write_simulation"]

log = logging.getLogger(__name__)

_CALLER = "simulate"
_POST, _REPOST, _REPLY, _QUOTE = (ACTION_TYPES.index(k) for k in ("post", "repost", "reply", "quote"))
_DAY = 86_400
_TABLE = 1 << 20

# Organic behaviour.
_ACTIVITY_MEDIAN = 4.0        # lognormal rate of actions per account over 7 days (plus one)
_ACTIVITY_SIGMA = 1.4
_P_URL, _P_TAGS, _P_MENTION, _P_MEDIA = 0.30, 0.25, 0.05, 0.08
_DELAY_MEDIAN_S = {_REPOST: 1200.0, _REPLY: 1800.0, _QUOTE: 2400.0}
_DELAY_SIGMA = 1.6
_VIRAL_SIZE = (200, 500)      # organic reposters of a viral post
_VIRAL_SCALE_S = 360.0        # exponential delay of viral reposts: 99% within 30 minutes
# Planted behaviour.
_PUSHES = (15, 40)
_PUSH_KINDS = ("own", "amplify", "url", "hashtag", "copypasta")
_PUSH_P = (0.35, 0.25, 0.15, 0.15, 0.10)
_PARTICIPATION = 0.8
_STRAGGLERS = 0.05

_TLDS = np.array([".com", ".com", ".com", ".net", ".org", ".news", ".co.uk", ".info"], dtype=object)
_UTM_SOURCES = ("twitter", "facebook", "telegram", "whatsapp", "share", "copy", "ig", "newsletter")


def simulate(n_accounts: int = 1000, n_groups: int = 5,
             group_size: int | Sequence[int] = (5, 15), days: float = 7,
             seed: int = 0, start: str | pd.Timestamp = "2024-01-01",
             window: float | str = 60.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate organic activity with planted coordinated groups.

    Parameters
    ----------
    n_accounts : int, default 1000
        Number of accounts (organic and planted), at least 2.
    n_groups : int, default 5
        Number of planted groups, at least 0.
    group_size : int or (int, int), default (5, 15)
        Size of each planted group, or the inclusive range it is drawn from (uniformly); at least 2.
        The planted accounts (the sum of the drawn sizes) must not outnumber ``n_accounts``.
    days : float, default 7
        Length of the simulated period in days (> 0). Organic activity scales with it; each group
        runs 15 to 40 pushes whatever the length.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`; the same seed gives identical tables.
    start : str or pandas.Timestamp, default "2024-01-01"
        Start of the period (UTC if no time zone is given; floored to whole seconds).
    window : float or str, default 60.0
        The co-action window (seconds, or a duration such as ``"2m"``) the planted groups keep to:
        most members act within ``window / 2`` seconds of the push time.

    Returns
    -------
    actions : pandas.DataFrame
        The ACTIONS contract (see :data:`cib.schema.ACTION_COLUMNS`): ``action_id`` (``"a000001"``,
        ...), ``account_id`` (``"u00001"``, ...), ``timestamp`` (datetime64[ns, UTC], whole
        seconds), ``action_type`` (categorical: post, repost, reply, quote), ``parent_id`` (the
        reposted, replied or quoted post, else None), ``text`` (None for reposts), ``urls``,
        ``hashtags``, ``mentions``, ``media`` (lists of str) and ``platform`` (``"sim"``).
        String columns have object dtype. Sorted by timestamp, account_id, action_id.
    truth : pandas.DataFrame
        One row per account, sorted by ``account_id``: ``account_id``, ``group`` (int; -1 for
        organic accounts, 0 to ``n_groups - 1`` for planted ones) and ``role`` (``"organic"`` or
        ``"coordinated"``). Some organic accounts may have no action.

    Raises
    ------
    cib.errors.ParameterError
        If a parameter is out of range.

    Notes
    -----
    The module docstring describes the model. Its scale: each account makes ``1 + Poisson(r)``
    organic actions with ``r`` lognormal (median 4 per 7 days, sigma 1.4), about 35% posts, 50%
    reposts, 10% replies and 5% quotes (about 12 actions per account in all, planted ones included);
    ``max(1, round(days / 2 * (1 + n_accounts / 20000)))`` viral posts, each reposted by 200 to 500
    organic accounts (at most 60% of them); each group runs 15 to 40 pushes whatever ``days``.
    Organic reposts of a post already reposted by the same account are dropped (a platform allows
    one), as are replies and reposts that would fall after the end of the period.

    See Also
    --------
    write_simulation : write both tables as CSV files.
    cib.evaluate.evaluate : score a detection against ``truth``.

    Examples
    --------
    >>> actions, truth = simulate(n_accounts=200, n_groups=2, group_size=(4, 6), days=2, seed=1)
    >>> list(actions.columns) == ACTION_COLUMNS, str(actions["timestamp"].dtype)
    (True, 'datetime64[ns, UTC]')
    >>> truth["role"].value_counts().index.tolist()
    ['organic', 'coordinated']
    >>> sorted(truth.loc[truth["group"] >= 0, "group"].unique().tolist())
    [0, 1]
    >>> simulate(n_accounts=1)
    Traceback (most recent call last):
    ...
    cib.errors.ParameterError: The 'n_accounts' parameter of simulate must be an integer in the range [2, inf). Got 1 instead.
    """
    actions, truth, _ = _simulate_with_pushes(n_accounts, n_groups, group_size, days, seed, start,
                                              window)
    return actions, truth


def _simulate_with_pushes(n_accounts: int = 1000, n_groups: int = 5,
                          group_size: int | Sequence[int] = (5, 15), days: float = 7,
                          seed: int = 0, start: str | pd.Timestamp = "2024-01-01",
                          window: float | str = 60.0
                          ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`simulate`, plus the log of the pushes (for tests and for studying a detector).

    The third table has one row per push: ``push_id``, ``group``, ``kind`` (own, amplify, url,
    hashtag, copypasta), ``time`` (the push time) and ``action_ids`` (list of the push's actions).
    """
    n_accounts, n_groups, seed = (int(v) if isinstance(v, np.integer) else v
                                  for v in (n_accounts, n_groups, seed))
    n_accounts = check_number(n_accounts, "n_accounts", _CALLER, low=2, integer=True)
    n_groups = check_number(n_groups, "n_groups", _CALLER, low=0, integer=True)
    size_range = _check_group_size(group_size)
    days, seed, window_s, start_ts = _check_period(days, seed, window, start, _CALLER)

    rng = np.random.default_rng(seed)
    sizes = rng.integers(size_range[0], size_range[1] + 1, size=n_groups)
    n_planted = int(sizes.sum())
    if n_planted > n_accounts:
        raise ParameterError(
            "n_accounts", _CALLER,
            f"at least the number of planted accounts ({n_planted}: {n_groups} groups of sizes "
            f"drawn from {size_range[0]}..{size_range[1]})", n_accounts)
    # Millions of small lists: the cyclic garbage collector would rescan them again and again.
    gc_enabled = gc.isenabled()
    gc.disable()
    try:
        return _simulate(rng, n_accounts, sizes, days, start_ts, window_s)
    finally:
        if gc_enabled:
            gc.enable()


def _check_period(days, seed, window, start, caller: str):
    """Checked ``(days, seed, window_s, start_ts)`` of a simulation (shared with
    :mod:`cib.scenarios`): ``start_ts`` in UTC, floored to whole seconds."""
    days = float(check_number(days, "days", caller, low=0, low_open=True))
    if days == float("inf"):
        raise ParameterError("days", caller, "a number in the range (0, inf)", days)
    seed = check_number(seed, "seed", caller, low=0, integer=True)
    window_s = parse_duration(window, "window", caller)
    if window_s <= 0:
        raise ParameterError("window", caller, "a duration > 0 (90, '90s', '5m', '1h')", window)
    try:
        start_ts = pd.Timestamp(start)
    except (TypeError, ValueError):
        raise ParameterError("start", caller, "a date or time such as '2024-01-01'", start) from None
    if start_ts is pd.NaT:
        raise ParameterError("start", caller, "a date or time such as '2024-01-01'", start)
    start_ts = (start_ts.tz_localize("UTC") if start_ts.tzinfo is None
                else start_ts.tz_convert("UTC")).floor("s")
    return days, seed, window_s, start_ts


def _check_group_size(group_size: object) -> tuple[int, int]:
    allowed = "an integer >= 2 or a pair (low, high) of integers with 2 <= low <= high"
    if isinstance(group_size, (int, np.integer)) and not isinstance(group_size, bool):
        pair: tuple[object, object] = (group_size, group_size)
    elif isinstance(group_size, (tuple, list)) and len(group_size) == 2:
        pair = (group_size[0], group_size[1])
    else:
        raise ParameterError("group_size", _CALLER, allowed, group_size)
    ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair)
    if not ok or not (2 <= pair[0] <= pair[1]):  # type: ignore[operator]
        raise ParameterError("group_size", _CALLER, allowed, group_size)
    return int(pair[0]), int(pair[1])  # type: ignore[call-overload]


# ---------------------------------------------------------------------------------------------
# Building blocks


class _Rows:
    """Accumulates actions block by block; each row gets a running index used for parent links."""

    def __init__(self) -> None:
        self.n = 0
        self.num: dict[str, list[np.ndarray]] = {k: [] for k in ("account", "time", "kind",
                                                                    "parent", "push")}
        self.pushes: list[tuple[int, str, int]] = []  # (group, kind, time) by push id
        self.obj: dict[str, list] = {k: [] for k in ["text", *LIST_COLUMNS]}

    def add(self, account: np.ndarray, time: np.ndarray, kind: int, *, parent: np.ndarray | None = None,
            push: int = -1, text: list | None = None, **lists: list) -> np.ndarray:
        account = np.asarray(account, dtype=np.int64)
        m = len(account)
        self.num["account"].append(account)
        self.num["time"].append(np.asarray(time, dtype=np.int64))
        self.num["kind"].append(np.full(m, kind, dtype=np.int8))
        self.num["parent"].append(np.full(m, -1, dtype=np.int64) if parent is None
                                  else np.asarray(parent, dtype=np.int64))
        self.num["push"].append(np.full(m, push, dtype=np.int64))
        self.obj["text"].extend([None] * m if text is None else text)
        for name in LIST_COLUMNS:
            values = lists.get(name)
            self.obj[name].extend([[] for _ in range(m)] if values is None else values)
        idx = np.arange(self.n, self.n + m, dtype=np.int64)
        self.n += m
        return idx


def _zipf(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1, dtype=float) ** s
    return w / w.sum()


def _top_k_weighted(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Sample ``k`` distinct indices with probability proportional to ``weights`` (Gumbel top-k)."""
    k = min(k, int(np.count_nonzero(weights > 0)))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    with np.errstate(divide="ignore"):
        keys = np.log(weights) + rng.gumbel(size=len(weights))
    return np.argpartition(-keys, k - 1)[:k].astype(np.int64)


def _vocabulary(rng: np.random.Generator, n: int) -> list[str]:
    onsets = np.array(list("bcdfghjklmnprstvwz") + ["ch", "sh", "th", "br", "st", "tr", "pl"])
    vowels = np.array(list("aeiou") + ["ai", "ou", "ea"])
    codas = np.array(["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st"])
    words: dict[str, None] = {}
    while len(words) < n:
        m = 2 * (n - len(words)) + 16
        n_syl = rng.integers(1, 4, size=m)
        parts = [onsets[rng.integers(0, len(onsets), (m, 3))],
                 vowels[rng.integers(0, len(vowels), (m, 3))],
                 codas[rng.integers(0, len(codas), (m, 3))]]
        for i in range(m):
            w = "".join(parts[0][i, j] + parts[1][i, j] + parts[2][i, j] for j in range(n_syl[i]))
            if len(w) >= 2:
                words.setdefault(w, None)
            if len(words) == n:
                break
    return list(words)


class _Text:
    """Random texts from a Zipf-distributed vocabulary of pseudo-words."""

    def __init__(self, rng: np.random.Generator, n_words: int = 4000) -> None:
        self.rng = rng
        self.words = np.array(_vocabulary(rng, n_words), dtype=object)
        self.lens = np.array([len(w) for w in self.words.tolist()], dtype=np.int64)
        cdf = np.cumsum(_zipf(n_words, 1.0))
        # Inverse-CDF lookup table: a gather instead of a binary search per word.
        self.table = np.searchsorted(cdf, (np.arange(_TABLE) + 0.5) / _TABLE).astype(np.int32)

    def draw_words(self, n: int) -> np.ndarray:
        return self.table[self.rng.integers(0, _TABLE, n)]

    def texts(self, n: int, low: int = 5, high: int = 20) -> list[str]:
        """``n`` texts of ``low`` to ``high`` words each."""
        if n == 0:
            return []
        lens = self.rng.integers(low, high + 1, size=n)
        idx = self.draw_words(int(lens.sum()))
        big = " ".join(self.words[idx].tolist())
        wlen = self.lens[idx] + 1
        cum = np.concatenate([[0], np.cumsum(wlen)])
        ends = np.cumsum(lens)
        a = cum[ends - lens].tolist()
        b = (cum[ends] - 1).tolist()
        return [big[i:j] for i, j in zip(a, b)]


def _diurnal_times(rng: np.random.Generator, n: int, horizon: int) -> np.ndarray:
    """``n`` times in ``[0, horizon)`` seconds with a daily rhythm (peak 20:00, trough 08:00 UTC)."""
    hours = np.arange(24)
    w = 1.0 + 0.7 * np.cos(2 * np.pi * (hours - 20) / 24)
    n_days = max(1, int(np.ceil(horizon / _DAY)))
    t = (rng.integers(0, n_days, n) * _DAY + rng.choice(24, size=n, p=w / w.sum()) * 3600
         + rng.integers(0, 3600, n))
    return np.where(t >= horizon, t % horizon, t)


# ---------------------------------------------------------------------------------------------
# The simulation proper (parameters already checked)


def _simulate(rng: np.random.Generator, n_accounts: int, sizes: np.ndarray, days: float,
              start: pd.Timestamp, window: float
              ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    horizon = max(1, int(round(days * _DAY)))
    n_planted = int(sizes.sum())
    # Internal account index i has id number perm[i] + 1; planted accounts are the first n_planted.
    perm = rng.permutation(n_accounts)
    group_of = np.full(n_accounts, -1, dtype=np.int64)
    group_of[:n_planted] = np.repeat(np.arange(len(sizes)), sizes)
    width = max(5, len(str(n_accounts)))
    ids = np.array([f"u{k + 1:0{width}d}" for k in perm.tolist()], dtype=object)

    text = _Text(rng)
    rows = _Rows()
    pool = _Pools(rng, text, n_accounts)
    posts = _organic(rng, rows, text, pool, ids, n_accounts, days, horizon)
    _viral(rng, rows, posts, group_of, horizon)
    for g in range(len(sizes)):
        _pushes(rng, rows, text, pool, posts, ids, np.flatnonzero(group_of == g), g, horizon, window)
    actions, push_of = _assemble(rows, ids, perm, start)
    truth = pd.DataFrame({
        "account_id": pd.Series(ids, dtype=object),
        "group": pd.Series(group_of, dtype=np.int64),
        "role": pd.Series(np.where(group_of >= 0, "coordinated", "organic").astype(object),
                          dtype=object),
    })
    truth = truth.sort_values("account_id", kind="stable", ignore_index=True)[TRUTH_COLUMNS]
    log.debug("simulated %d actions by %d accounts (%d planted)", len(actions), n_accounts, n_planted)
    in_push = push_of >= 0
    by_push = (pd.Series(actions["action_id"].to_numpy()[in_push], dtype=object)
               .groupby(push_of[in_push]).agg(list))
    log_ = rows.pushes
    pushes = pd.DataFrame({
        "push_id": np.arange(len(log_), dtype=np.int64),
        "group": np.array([p[0] for p in log_], dtype=np.int64),
        "kind": pd.Series([p[1] for p in log_], dtype=object),
        "time": pd.Series((start.value + np.array([p[2] for p in log_], dtype=np.int64)
                           * 1_000_000_000).astype("datetime64[ns]")).dt.tz_localize("UTC"),
        "action_ids": pd.Series([by_push.get(i, []) for i in range(len(log_))], dtype=object),
    })
    return actions, truth, pushes


class _Pools:
    """Shared content: domains and URLs, hashtags (Zipf popularity)."""

    def __init__(self, rng: np.random.Generator, text: _Text, n_accounts: int) -> None:
        self.rng = rng
        self.text = text
        n_domains = int(np.clip(n_accounts // 50, 20, 2000))
        names = rng.choice(text.words[:2000], size=n_domains, replace=False)
        tlds = _TLDS[rng.integers(0, len(_TLDS), n_domains)]
        self.domains = [f"{a}{b}" for a, b in zip(names.tolist(), tlds.tolist())]
        n_urls = max(50, n_accounts // 4)
        dom = rng.choice(n_domains, size=n_urls, p=_zipf(n_domains, 1.1))
        w = text.words[text.draw_words(3 * n_urls)].reshape(n_urls, 3)
        num = rng.integers(1000, 99999, n_urls)
        self.urls = [f"{self.domains[d]}/{a}/{b}-{c}-{k}"
                     for d, (a, b, c), k in zip(dom.tolist(), w.tolist(), num.tolist())]
        self.url_p = _zipf(n_urls, 1.05)
        n_tags = max(50, n_accounts // 10)
        n_single = min(n_tags, len(text.words) // 2)
        single = rng.choice(len(text.words), size=n_single, replace=False)
        pairs = text.words[rng.integers(0, len(text.words), (n_tags - n_single, 2))].tolist()
        names = [text.words[i] for i in single.tolist()] + [a + b for a, b in pairs]
        self.tags = ["#" + w for w in dict.fromkeys(names)]
        self.tag_p = _zipf(len(self.tags), 1.0)

    def organic_urls(self, n: int) -> list[str]:
        """``n`` URLs by popularity, as organic users write them (tracking parameters, ``www.``)."""
        rng = self.rng
        idx = rng.choice(len(self.urls), size=n, p=self.url_p)
        u = rng.random((n, 3))
        out = []
        for i, (r_www, r_http, r_utm) in zip(idx.tolist(), u.tolist()):
            url = ("http://" if r_http < 0.05 else "https://") + ("www." if r_www < 0.1 else "")
            url += self.urls[i]
            if r_utm < 0.15:
                url += "?utm_source=" + _UTM_SOURCES[int(r_utm * 1000) % len(_UTM_SOURCES)]
            out.append(url)
        return out

    def organic_tags(self, n: int) -> list[list[str]]:
        k = self.rng.choice(3, size=n, p=[0.6, 0.3, 0.1]) + 1
        flat = self.rng.choice(len(self.tags), size=int(k.sum()), p=self.tag_p)
        names = [self.tags[i] for i in flat.tolist()]
        ends = np.cumsum(k).tolist()
        out, a = [], 0
        for b in ends:
            out.append(list(dict.fromkeys(names[a:b])))
            a = b
        return out


class _Posts:
    """The organic posts, sorted by time, with what the pushes need to pick popular ones."""

    def __init__(self, idx: np.ndarray, author: np.ndarray, time: np.ndarray,
                 weight: np.ndarray) -> None:
        self.idx, self.author, self.time, self.weight = idx, author, time, weight


def _organic(rng: np.random.Generator, rows: _Rows, text: _Text, pool: _Pools, ids: np.ndarray,
             n_accounts: int, days: float, horizon: int) -> _Posts:
    # Heavy-tailed activity; every account's own mix of reposting and posting.
    rate = rng.lognormal(np.log(_ACTIVITY_MEDIAN), _ACTIVITY_SIGMA, n_accounts) * days / 7
    n_act = 1 + rng.poisson(rate)
    influence = rng.lognormal(0.0, 1.0, n_accounts) * n_act ** 0.3
    repost_share = rng.beta(2.0, 2.0, n_accounts)
    acc = np.repeat(np.arange(n_accounts, dtype=np.int64), n_act)
    u = rng.random(len(acc))
    v = rng.random(len(acc))
    kind = np.where(u < repost_share[acc], _REPOST,
                    np.where(v < 0.7, _POST, np.where(v < 0.9, _REPLY, _QUOTE)))

    # Seed posts.
    p_acc = acc[kind == _POST]
    p_time = _diurnal_times(rng, len(p_acc), horizon)
    order = np.argsort(p_time, kind="stable")
    p_acc, p_time = p_acc[order], p_time[order]
    n_posts = len(p_acc)
    p_text = text.texts(n_posts)
    has_url = rng.random(n_posts) < _P_URL
    has_tag = rng.random(n_posts) < _P_TAGS
    has_mention = rng.random(n_posts) < _P_MENTION
    has_media = rng.random(n_posts) < _P_MEDIA
    urls: list[list[str]] = [[] for _ in range(n_posts)]
    tags: list[list[str]] = [[] for _ in range(n_posts)]
    mentions: list[list[str]] = [[] for _ in range(n_posts)]
    media: list[list[str]] = [[] for _ in range(n_posts)]
    for i, url in zip(np.flatnonzero(has_url).tolist(), pool.organic_urls(int(has_url.sum()))):
        urls[i] = [url]
        p_text[i] = f"{p_text[i]} {url}"
    for i, t in zip(np.flatnonzero(has_tag).tolist(), pool.organic_tags(int(has_tag.sum()))):
        tags[i] = t
        p_text[i] = p_text[i] + " " + " ".join(t)
    mentioned = _choice_p(rng, influence, int(has_mention.sum()))
    for i, a in zip(np.flatnonzero(has_mention).tolist(), mentioned.tolist()):
        name = "@" + ids[a]
        mentions[i] = [name]
        p_text[i] = f"{name} {p_text[i]}"
    hashes = rng.integers(0, 2 ** 63, size=int(has_media.sum()), dtype=np.int64)
    for i, h in zip(np.flatnonzero(has_media).tolist(), hashes.tolist()):
        media[i] = [f"{h:016x}"]
    p_idx = rows.add(p_acc, p_time, _POST, text=p_text, urls=urls, hashtags=tags,
                     mentions=mentions, media=media)
    weight = influence[p_acc] * (1.0 + rng.pareto(1.3, n_posts))
    posts = _Posts(p_idx, p_acc, p_time, weight)
    if n_posts == 0:
        return posts

    # Reposts, replies and quotes of posts picked by popularity, after a decaying delay.
    for k in (_REPOST, _REPLY, _QUOTE):
        c_acc = acc[kind == k]
        parent = _choice_p(rng, weight, len(c_acc))
        self_ = c_acc == p_acc[parent]
        parent[self_] = _choice_p(rng, weight, int(self_.sum()))
        delay = np.maximum(1, rng.lognormal(np.log(_DELAY_MEDIAN_S[k]), _DELAY_SIGMA,
                                            len(c_acc)).astype(np.int64))
        c_time = p_time[parent] + delay
        keep = (c_time < horizon) & (c_acc != p_acc[parent])
        c_acc, parent, c_time = c_acc[keep], parent[keep], c_time[keep]
        if k == _REPOST:
            rows.add(c_acc, c_time, k, parent=p_idx[parent])
            continue
        c_text = text.texts(len(c_acc), 3, 15)
        c_mentions: list[list[str]] = [[] for _ in range(len(c_acc))]
        if k == _REPLY:
            for i, a in enumerate(p_acc[parent].tolist()):
                name = "@" + ids[a]
                c_mentions[i] = [name]
                c_text[i] = f"{name} {c_text[i]}"
        rows.add(c_acc, c_time, k, parent=p_idx[parent], text=c_text, mentions=c_mentions)
    return posts


def _choice_p(rng: np.random.Generator, weight: np.ndarray, n: int) -> np.ndarray:
    cdf = np.cumsum(weight)
    return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"),
                      len(weight) - 1).astype(np.int64)


def _viral(rng: np.random.Generator, rows: _Rows, posts: _Posts, group_of: np.ndarray,
           horizon: int) -> None:
    """A few organic posts reposted by hundreds of organic accounts within about 30 minutes."""
    organic = np.flatnonzero(group_of < 0)
    n_accounts = len(group_of)
    n_viral = max(1, int(round(0.5 * horizon / _DAY * (1 + n_accounts / 20_000))))
    candidates = np.flatnonzero((posts.time < horizon - 3600) & (group_of[posts.author] < 0))
    if len(organic) < 3 or len(candidates) == 0:
        return
    chosen = candidates[_top_k_weighted(rng, posts.weight[candidates], n_viral)]
    activity = np.bincount(posts.author, minlength=n_accounts)[organic] + 1.0
    cap = max(2, int(0.6 * len(organic)))
    for p in np.sort(chosen).tolist():
        size = min(cap, int(rng.integers(_VIRAL_SIZE[0], _VIRAL_SIZE[1] + 1)))
        w = np.sqrt(activity)
        w[organic == posts.author[p]] = 0.0
        who = organic[_top_k_weighted(rng, w, size)]
        t = posts.time[p] + 1 + rng.exponential(_VIRAL_SCALE_S, len(who)).astype(np.int64)
        keep = t < horizon
        rows.add(who[keep], t[keep], _REPOST, parent=np.full(int(keep.sum()), posts.idx[p]))


def _pushes(rng: np.random.Generator, rows: _Rows, text: _Text, pool: _Pools, posts: _Posts,
            ids: np.ndarray, members: np.ndarray, g: int, horizon: int, window: float) -> None:
    """The coordinated actions of one planted group."""
    m = len(members)
    n_push = int(rng.integers(_PUSHES[0], _PUSHES[1] + 1))
    latest = max(1, horizon - int(np.ceil(4 * window)) - 1)
    t0s = np.sort(rng.integers(0, latest, n_push))
    kinds = rng.choice(len(_PUSH_KINDS), size=n_push, p=_PUSH_P)
    camp = f"c{int(rng.integers(0, 10 ** 6)):06d}"
    sites = [f"{a}-{b}{c}" for a, b, c in zip(text.words[text.draw_words(2)].tolist(),
                                              text.words[text.draw_words(2)].tolist(),
                                              _TLDS[rng.integers(0, len(_TLDS), 2)].tolist())]
    camp_tags = ["#" + "".join(w.capitalize() for w in text.words[text.draw_words(2)].tolist())
                 for _ in range(int(rng.integers(2, 5)))]
    tokens = [f"{_UTM_SOURCES[s]}&utm_content={t:x}" for s, t in
              zip(rng.integers(0, len(_UTM_SOURCES), m).tolist(),
                  rng.integers(16 ** 5, 16 ** 6, m).tolist())]
    token_of = dict(zip(members.tolist(), tokens))
    # Organic posts by accounts outside the group, for amplification (cumulative popularity).
    outside = ~np.isin(posts.author, members)
    o_pos = np.flatnonzero(outside)
    o_cum = np.cumsum(posts.weight[o_pos])
    amplified: set[int] = set()

    for t0, kind in zip(t0s.tolist(), kinds.tolist()):
        part = members[rng.random(m) < _PARTICIPATION]
        if len(part) < 2:
            part = rng.choice(members, size=2, replace=False)
        part = rng.permutation(part)
        n = len(part)
        delay = rng.uniform(0, window / 2, n)
        late = rng.random(n) < _STRAGGLERS
        delay[late] = rng.uniform(window, 4 * window, int(late.sum()))
        times = np.minimum(t0 + np.maximum(1, delay.astype(np.int64)), horizon - 1)
        name = _PUSH_KINDS[kind]
        k = int(np.searchsorted(posts.time[o_pos], t0))  # organic posts made before the push
        if name == "amplify" and k == 0:
            name = "own"
        push = len(rows.pushes)
        rows.pushes.append((g, name, t0))
        if name == "amplify":
            for _ in range(20):  # a post not amplified by this group before, if there is one
                pick = int(np.searchsorted(o_cum[:k], rng.random() * o_cum[k - 1], side="right"))
                target = int(o_pos[min(pick, k - 1)])
                if target not in amplified:
                    break
            amplified.add(target)
            times = np.maximum(times, posts.time[target] + 1)
            rows.add(part, times, _REPOST, parent=np.full(n, posts.idx[target]), push=push)
        elif name == "own":
            tag = [camp_tags[int(rng.integers(len(camp_tags)))]] if rng.random() < 0.5 else []
            body = " ".join([text.texts(1)[0], *tag])
            leader = rows.add(part[:1], [t0], _POST, push=push, text=[body], hashtags=[tag])
            rows.add(part[1:], times[1:], _REPOST, parent=np.full(n - 1, leader[0]), push=push)
        elif name == "url":
            if rng.random() < 0.7:
                words = text.words[text.draw_words(3)].tolist()
                base = f"https://{sites[int(rng.integers(2))]}/{words[0]}/{words[1]}-{words[2]}"
            else:
                base = "https://" + pool.urls[int(rng.choice(len(pool.urls), p=pool.url_p))]
            urls = [f"{base}?utm_source={token_of[a]}&utm_campaign={camp}" for a in part.tolist()]
            bodies = [f"{t} {u}" for t, u in zip(text.texts(n, 4, 14), urls)]
            rows.add(part, times, _POST, push=push, text=bodies, urls=[[u] for u in urls])
        elif name == "hashtag":
            tag = (camp_tags[int(rng.integers(len(camp_tags)))] if rng.random() < 0.6
                   else pool.tags[int(rng.integers(min(10, len(pool.tags))))])
            bodies = [f"{t} {tag}" for t in text.texts(n, 4, 14)]
            rows.add(part, times, _POST, push=push, text=bodies, hashtags=[[tag] for _ in range(n)])
        else:  # copypasta
            tag = [camp_tags[int(rng.integers(len(camp_tags)))]] if rng.random() < 0.5 else []
            body = " ".join([text.texts(1, 8, 25)[0], *tag])
            image = ([f"{int(rng.integers(0, 2 ** 63)):016x}"] if rng.random() < 0.5 else [])
            rows.add(part, times, _POST, push=push, text=[body] * n,
                     hashtags=[list(tag) for _ in range(n)], media=[list(image) for _ in range(n)])


def _objects(values: list) -> np.ndarray:
    """A 1-d object array holding ``values`` as they are (lists stay list objects)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _assemble(rows: _Rows, ids: np.ndarray, perm: np.ndarray,
              start: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray]:
    """The ACTIONS table, and the push id of each of its rows (-1: organic)."""
    num = {k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64)) for k, v in rows.num.items()}
    account, time, kind, parent = num["account"], num["time"], num["kind"], num["parent"]
    n = rows.n
    # One repost per (account, post): a coordinated repost wins over an organic one, then the earliest.
    keep = np.ones(n, dtype=bool)
    rep = np.flatnonzero(kind == _REPOST)
    if len(rep):
        pair = account[rep] * n + parent[rep]          # < n_accounts * n_rows: fits in int64
        when = (num["push"][rep] < 0) * (int(time.max()) + 1) + time[rep]
        r = rep[np.lexsort((when, pair))]
        dup = np.zeros(len(r), dtype=bool)
        dup[1:] = (account[r[1:]] == account[r[:-1]]) & (parent[r[1:]] == parent[r[:-1]])
        keep[r[dup]] = False
    kept = np.flatnonzero(keep)
    # Sort by (timestamp, account id, creation order); action ids follow that order.
    if (int(time.max(initial=0)) + 1) * len(perm) < 2 ** 62:
        key = time[kept] * len(perm) + perm[account[kept]]
        order = kept[np.argsort(key, kind="stable")]
    else:
        order = kept[np.lexsort((kept, perm[account[kept]], time[kept]))]
    m = len(order)
    position = np.full(n, -1, dtype=np.int64)
    position[order] = np.arange(m)
    width = max(6, len(str(m)))
    action_ids = np.array([f"a{i:0{width}d}" for i in range(1, m + 1)], dtype=object)
    par = parent[order]
    parent_ids = np.full(m, None, dtype=object)
    has = par >= 0
    parent_ids[has] = action_ids[position[par[has]]]
    ns = start.value + time[order] * 1_000_000_000
    timestamp = pd.Series(ns.astype("datetime64[ns]")).dt.tz_localize("UTC")
    data: dict[str, pd.Series] = {
        "action_id": pd.Series(action_ids, dtype=object),
        "account_id": pd.Series(ids[account[order]], dtype=object),
        "timestamp": timestamp,
        "action_type": pd.Series(pd.Categorical.from_codes(kind[order], categories=ACTION_TYPES)),
        "parent_id": pd.Series(parent_ids, dtype=object),
        "text": pd.Series(_objects(rows.obj["text"])[order], dtype=object),
    }
    for name in LIST_COLUMNS:
        data[name] = pd.Series(_objects(rows.obj[name])[order], dtype=object)
    data["platform"] = pd.Series(np.full(m, "sim", dtype=object), dtype=object)
    out = pd.DataFrame(data)[ACTION_COLUMNS]
    assert str(out["timestamp"].dtype) == UTC_NS
    return out, num["push"][order]


# ---------------------------------------------------------------------------------------------
# Writing


def write_simulation(out_dir: str | os.PathLike[str], actions: pd.DataFrame,
                     truth: pd.DataFrame) -> tuple[Path, Path]:
    """Write a simulation as ``actions.csv`` and ``truth.csv`` in ``out_dir``.

    List columns (``urls``, ``hashtags``, ``mentions``, ``media``) are written as space-separated
    strings and timestamps as ISO 8601 in UTC with a ``Z`` (``2024-01-01T00:00:05Z``; fractions of
    a second only when present). Each file is written to a temporary file in ``out_dir`` first and
    then renamed over the target, so a reader never sees a half-written file.

    Parameters
    ----------
    out_dir : str or path-like
        Output folder, created if missing.
    actions, truth : pandas.DataFrame
        As returned by :func:`simulate` or :func:`cib.scenarios.simulate_scenarios`; ``truth`` is
        written with all its columns (``scenario`` too).

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The paths of ``actions.csv`` and ``truth.csv``.

    Raises
    ------
    cib.errors.OutputError
        If the folder or a file cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> actions, truth = simulate(n_accounts=50, n_groups=1, group_size=3, days=1)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     a, t = write_simulation(d, actions, truth)
    ...     print(a.name, t.name, pd.read_csv(t).columns.tolist())
    actions.csv truth.csv ['account_id', 'group', 'role']
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot create the output folder: {e.strerror or e}") from e
    table = actions.copy()
    for name in LIST_COLUMNS:
        if name in table.columns:
            table[name] = [" ".join(v) if isinstance(v, (list, tuple, np.ndarray)) else v
                           for v in table[name].tolist()]
    if "timestamp" in table.columns:
        ts = pd.to_datetime(table["timestamp"], utc=True)
        whole = bool((ts.dropna().dt.microsecond == 0).all() and (ts.dropna().dt.nanosecond == 0).all())
        fmt = "%Y-%m-%dT%H:%M:%SZ" if whole else "%Y-%m-%dT%H:%M:%S.%fZ"
        table["timestamp"] = ts.dt.strftime(fmt)
    paths = (out / "actions.csv", out / "truth.csv")
    for frame, path in zip((table, truth), paths):
        _atomic_csv(frame, path)
    return paths


def _atomic_csv(frame: pd.DataFrame, path: Path) -> None:
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh, index=False, lineterminator="\n")
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise OutputError(f"{path}: cannot write: {e.strerror or e}") from e
