"""A suite of named scenarios: coordinated groups of several kinds and organic traps, with truth.

:func:`simulate_scenarios` returns an ACTIONS table (the contract of :mod:`cib.schema`, exactly as
:func:`cib.datasets.simulate` makes it) and a TRUTH table that also names the *scenario* of each
account, so that a detector can be scored scenario by scenario (see :func:`cib.evaluate.evaluate`,
which reports per-scenario recall and per-trap flagged shares when TRUTH has a ``scenario`` column).

Every account, planted or not, has the organic background activity of :func:`cib.datasets.simulate`
(heavy-tailed volume, a daily rhythm, reposts of popular posts after a decaying delay, popular URLs
and hashtags). Account ids are assigned at random, so a planted account cannot be told by its id.

Coordinated scenarios (:data:`SCENARIOS`; role ``"coordinated"``, ``group`` >= 0). Each runs one to
three groups of 5 to 30 accounts (``rotating``: one group of 50 to 150), three groups from 4,000
accounts, two from 2,000. The delays below are for ``window=60``; they scale with ``window``.

``lockstep``
    Members repost the same posts (one member's own post, or a popular organic post) within seconds
    (1 s plus a gamma-distributed delay, mean 6 s).
``copypasta``
    Members post near-identical texts within two minutes: each copy gets zero to two small edits (a
    word replaced or two words swapped, punctuation, an emoji, a different trailing short link).
    Some groups write in Japanese.
``slow``
    Members act on the same objects (a post, a URL, a hashtag) with delays spread uniformly over
    3 to 10 minutes: many pairs are more than 60 s apart, but the group is consistent over many
    objects.
``camouflage``
    Quick pushes (within 30 s) that make only about 10% of the members' activity: the members also
    post and repost organically about nine times as much.
``links``
    Members post their own texts with the same pages, each copy of the URL with its own tracking
    parameters (``utm_*``, ``fbclid``), ``www.`` or not, ``http`` or ``https``, within 90 s.
``hashtag``
    Hashtag pushes: members post their own texts with the same campaign hashtag (sometimes a
    trending one, hijacked) within three minutes.
``rotating``
    A large group where each push (a repost or a URL) is done by a random subset of 5 to 10 members
    within 40 s: two given members rarely meet.
``schedule``
    Synchronised schedules with no shared object: each member posts its own original texts (no
    URL, hashtag, mention or media) in the same clock minutes, three to eight times a day, every
    day. Not scaled by ``window``.

Organic traps (:data:`TRAPS`; role ``"trap"``, ``group`` -1): synchronous but genuine behaviour
that a detector must NOT flag.

``breaking_news``
    One to three posts of a news account reposted by 60% to 95% of a population of 30% of all
    accounts (about a thousand from 5,000 accounts) within minutes (log-normal delays, median 1 to 2.5
    minutes); a few quote or reply, some post the article's URL themselves.
``fan_club``
    One or two idols (two from 4,000 accounts) with 50 to 200 fans each. An idol posts three to eight
    times a day; each fan reposts its own random 30% to 60% of the posts, with heavy-tailed delays
    (log-normal, a fan's median around 45 s), and sometimes replies.
``trending``
    Three to six trending hashtags used independently by a population of 8% of all accounts over
    hours (a bell-shaped trend, standard deviation 1 to 3 hours); some uses are reposts.
``brand_schedulers``
    Brand accounts (one per 150 accounts, 8 to 60) posting their own content exactly on the hour
    (``xx:00:00``, through scheduling tools) at two to six business hours a day.

See Also
--------
cib.datasets.simulate : the simpler mixed simulation (one kind of planted group).
cib.evaluate.evaluate : score a detection against the TRUTH table.

Examples
--------
>>> actions, truth = simulate_scenarios("lockstep,fan_club", n_accounts=600, days=1, seed=1)
>>> sorted(truth["scenario"].unique().tolist())
['fan_club', 'lockstep', 'organic']
>>> truth.groupby("role")["group"].max().to_dict()
{'coordinated': 0, 'organic': -1, 'trap': -1}
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .datasets import (
    _check_period,
    _DAY,
    _POST,
    _QUOTE,
    _REPLY,
    _REPOST,
    _TLDS,
    _assemble,
    _choice_p,
    _diurnal_times,
    _organic,
    _Pools,
    _Posts,
    _Rows,
    _Text,
)
from .errors import ParameterError
from .params import check_number
from .schema import SCENARIO_TRUTH_COLUMNS

__all__ = ["SCENARIOS", "TRAPS", "simulate_scenarios", "parse_scenarios"]

log = logging.getLogger(__name__)

#: The coordinated scenarios, in the order their groups are numbered.
SCENARIOS: tuple[str, ...] = ("lockstep", "copypasta", "slow", "camouflage", "links", "hashtag",
                              "rotating", "schedule")
#: The organic traps (accounts that act in sync without being coordinated).
TRAPS: tuple[str, ...] = ("breaking_news", "fan_club", "trending", "brand_schedulers")

_CALLER = "simulate_scenarios"
_HOUR = 3600
_EMOJI = ("🔥", "👍", "🙏", "‼️", "😡", "💯", "👇", "❤️", "😂", "🚨", "✅", "👀")
_SHORTENERS = ("bit.ly", "tinyurl.com", "ow.ly", "buff.ly", "is.gd", "shorturl.at")
_ALNUM = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
_UTM = {"utm_source": ("twitter", "facebook", "telegram", "whatsapp", "share", "ig", "newsletter",
                       "copy", "tw", "fb"),
        "utm_medium": ("social", "post", "share", "referral", "organic", "paid"),
        "utm_campaign": ("spring", "launch", "vote", "truth", "daily", "breaking", "promo"),
        "utm_content": ("btn", "link", "top", "bottom", "img", "v2"),
        "utm_term": ("news", "politics", "economy", "now")}
_SCHEDULERS = ("buffer", "hootsuite", "later", "sproutsocial", "dlvrit", "hubspot")
# Business hours are preferred by brands (local to their audience: the whole table is in UTC).
_BRAND_HOURS = np.array([0.2] * 7 + [1, 2, 2, 2, 2, 3, 2, 2, 2, 2, 2, 2, 1.5, 1, 0.5] + [0.2] * 2)

_JA_NOUNS = (
    "選挙", "政府", "国民", "日本", "未来", "真実", "報道", "経済", "税金", "増税", "物価", "年金",
    "子供", "教育", "医療", "ワクチン", "マスコミ", "政治家", "首相", "野党", "与党", "国会", "憲法",
    "自由", "平和", "安全", "地域", "社会", "問題", "情報", "皆さん", "私たち", "今日", "明日",
    "今回", "結果", "投票", "候補者", "支持", "反対", "計画", "改革", "対策", "責任", "説明",
    "発表", "証拠", "事実", "声", "希望", "生活", "仕事", "会社", "企業", "外国", "ニュース",
    "動画", "写真", "記事", "番組", "テレビ", "ネット", "エネルギー", "電気代", "ガソリン", "食料",
    "農家", "若者", "高齢者", "家族", "地方", "東京", "大阪", "自衛隊", "移民", "規制", "補助金",
)
_JA_PARTICLES = ("は", "が", "を", "に", "で", "と", "の", "も", "から", "まで", "について")
_JA_ENDINGS = ("です", "でした", "が必要です", "を許さない", "は本当です", "を知ってください",
               "に反対します", "を守ろう", "が大切です", "はおかしい", "について考えよう",
               "を拡散してください", "はもう限界です", "に騙されるな")


def parse_scenarios(scenarios: str | Sequence[str] = "all") -> list[str]:
    """The scenario and trap names that ``scenarios`` selects, in canonical order.

    Parameters
    ----------
    scenarios : str or sequence of str, default "all"
        ``"all"``, one name, a comma-separated list of names, or a list of names (any may be
        ``"all"``). Names are those of :data:`SCENARIOS` and :data:`TRAPS`; case and surrounding
        spaces are ignored.

    Returns
    -------
    list of str
        The selected names, :data:`SCENARIOS` first then :data:`TRAPS`, each once.

    Raises
    ------
    cib.errors.ParameterError
        If a name is unknown (the message lists the valid ones) or nothing is selected.

    Examples
    --------
    >>> parse_scenarios("fan_club, lockstep")
    ['lockstep', 'fan_club']
    >>> len(parse_scenarios("all")) == len(SCENARIOS) + len(TRAPS)
    True
    >>> parse_scenarios("lockstep,bots")
    Traceback (most recent call last):
    ...
    cib.errors.ParameterError: The 'scenarios' parameter of simulate_scenarios must be 'all' or a comma-separated list of lockstep, copypasta, slow, camouflage, links, hashtag, rotating, schedule, breaking_news, fan_club, trending, brand_schedulers. Got 'bots' instead.
    """
    allowed = ("'all' or a comma-separated list of " + ", ".join((*SCENARIOS, *TRAPS)))
    if isinstance(scenarios, str):
        items = scenarios.split(",")
    elif isinstance(scenarios, Sequence) and all(isinstance(s, str) for s in scenarios):
        items = [part for s in scenarios for part in s.split(",")]
    else:
        raise ParameterError("scenarios", _CALLER, allowed, scenarios)
    names = [s.strip().lower() for s in items if s.strip()]
    if not names:
        raise ParameterError("scenarios", _CALLER, allowed, scenarios)
    known = set(SCENARIOS) | set(TRAPS)
    unknown = [n for n in names if n != "all" and n not in known]
    if unknown:
        raise ParameterError("scenarios", _CALLER, allowed, ",".join(unknown))
    chosen = known if "all" in names else set(names)
    return [n for n in (*SCENARIOS, *TRAPS) if n in chosen]


def simulate_scenarios(scenarios: str | Sequence[str] = "all", n_accounts: int = 5000,
                       days: float = 3, seed: int = 0, window: float | str = 60, *,
                       start: str | pd.Timestamp = "2024-01-01"
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate organic activity with the chosen coordinated scenarios and organic traps.

    The module docstring describes each scenario and trap.

    Parameters
    ----------
    scenarios : str or sequence of str, default "all"
        ``"all"``, a name, a comma-separated list of names or a list of names among
        :data:`SCENARIOS` and :data:`TRAPS` (see :func:`parse_scenarios`).
    n_accounts : int, default 5000
        Number of accounts in all. The planted and trap accounts may take at most 80% of them.
    days : float, default 3
        Length of the period in days (> 0). Organic activity, pushes and daily schedules scale
        with it.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`; the same seed gives identical tables.
    window : float or str, default 60
        The co-action window the scenarios are written for (seconds or a duration such as
        ``"2m"``): the coordinated delays are given for 60 s and scale with it. Traps and
        ``schedule`` do not scale.
    start : str or pandas.Timestamp, default "2024-01-01"
        Start of the period (UTC if no time zone is given; floored to whole seconds).

    Returns
    -------
    actions : pandas.DataFrame
        The ACTIONS contract, exactly as :func:`cib.datasets.simulate` returns it.
    truth : pandas.DataFrame
        One row per account, sorted by ``account_id``: ``account_id``, ``group`` (int: -1 for
        organic and trap accounts, 0, 1, ... for the planted groups, numbered in the order of
        :data:`SCENARIOS`), ``role`` (``"organic"``, ``"coordinated"`` or ``"trap"``) and
        ``scenario`` (the scenario or trap name; ``"organic"`` for the background).

    Raises
    ------
    cib.errors.ParameterError
        If a parameter is out of range, a scenario name is unknown, or ``n_accounts`` is too small
        for the chosen scenarios.

    See Also
    --------
    cib.datasets.write_simulation : write both tables as CSV files.
    cib.evaluate.evaluate : score a detection, scenario by scenario.

    Examples
    --------
    >>> actions, truth = simulate_scenarios("schedule,brand_schedulers", n_accounts=400, days=1)
    >>> list(truth.columns)
    ['account_id', 'group', 'role', 'scenario']
    >>> truth.groupby("scenario")["role"].first().to_dict()
    {'brand_schedulers': 'trap', 'organic': 'organic', 'schedule': 'coordinated'}
    """
    actions, truth, _ = _simulate_scenarios_with_log(scenarios, n_accounts, days, seed, window,
                                                     start=start)
    return actions, truth


# ---------------------------------------------------------------------------------------------
# Parameters and the plan of accounts


def _simulate_scenarios_with_log(scenarios: str | Sequence[str] = "all", n_accounts: int = 5000,
                                 days: float = 3, seed: int = 0, window: float | str = 60, *,
                                 start: str | pd.Timestamp = "2024-01-01"
                                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`simulate_scenarios`, plus a log with one row per push or trap event.

    The log has ``push_id``, ``scenario``, ``role``, ``group`` (-1 for traps), ``time`` and
    ``action_ids`` (the event's actions).
    """
    names = parse_scenarios(scenarios)
    n_accounts, seed = (int(v) if isinstance(v, np.integer) else v for v in (n_accounts, seed))
    n_accounts = check_number(n_accounts, "n_accounts", _CALLER, low=10, integer=True)
    days, seed, window_s, start_ts = _check_period(days, seed, window, start, _CALLER)

    rng = np.random.default_rng(seed)
    plan = _plan(rng, names, n_accounts)
    needed = sum(size for _, size in plan)
    if needed > n_accounts - n_accounts // 5:
        raise ParameterError(
            "n_accounts", _CALLER,
            f"large enough for {needed} planted and trap accounts to be at most 80% of all (at "
            f"least {int(np.ceil(needed / 0.8))} for these scenarios and this seed)", n_accounts)
    gc_enabled = gc.isenabled()
    gc.disable()  # millions of small lists: see cib.datasets
    try:
        return _simulate(rng, plan, n_accounts, days, start_ts, window_s)
    finally:
        if gc_enabled:
            gc.enable()


def _plan(rng: np.random.Generator, names: list[str], n: int) -> list[tuple[str, int]]:
    """(scenario, size) of every planted group and trap population, in canonical order."""
    k = 3 if n >= 4000 else 2 if n >= 2000 else 1
    plan: list[tuple[str, int]] = []
    for name in names:
        if name == "rotating":
            plan.append((name, int(rng.integers(50, min(150, max(50, n // 30)) + 1))))
        elif name in SCENARIOS:
            plan.extend((name, int(s)) for s in rng.integers(5, 31, size=k))
        elif name == "breaking_news":
            plan.append((name, max(30, int(round(0.3 * n)))))
        elif name == "fan_club":
            clubs = 2 if n >= 4000 else 1
            plan.extend((name, 1 + int(s)) for s in
                        rng.integers(50, min(200, max(50, n // 25)) + 1, size=clubs))
        elif name == "trending":
            plan.append((name, max(30, int(round(0.08 * n)))))
        else:  # brand_schedulers
            plan.append((name, int(np.clip(n // 150, 8, 60))))
    return plan


# ---------------------------------------------------------------------------------------------
# The simulation proper


@dataclass
class _Ctx:
    rng: np.random.Generator
    rows: _Rows
    text: _Text
    ja: _Japanese
    pool: _Pools
    posts: _Posts
    ids: np.ndarray
    horizon: int
    scale: float          # window / 60: the coordinated delays scale with it
    start_s: int          # the start in epoch seconds (to align schedules to the clock)
    n_days: int

    def push(self, group: int, scenario: str, t0: int) -> int:
        self.rows.pushes.append((group, scenario, int(t0)))
        return len(self.rows.pushes) - 1

    def n_pushes(self, per_day: tuple[float, float], minimum: int) -> int:
        days = self.horizon / _DAY
        return max(minimum, int(round(self.rng.uniform(*per_day) * days)))

    def push_times(self, n: int, max_delay: float) -> np.ndarray:
        latest = max(2, self.horizon - int(np.ceil(max_delay)) - 2)
        return np.sort(self.rng.integers(0, latest, n))


def _simulate(rng: np.random.Generator, plan: list[tuple[str, int]], n_accounts: int,
              days: float, start: pd.Timestamp, window: float
              ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    horizon = max(1, int(round(days * _DAY)))
    # Internal account index i has id number perm[i] + 1; planted and trap accounts come first.
    perm = rng.permutation(n_accounts)
    width = max(5, len(str(n_accounts)))
    ids = np.array([f"u{k + 1:0{width}d}" for k in perm.tolist()], dtype=object)
    group_of = np.full(n_accounts, -1, dtype=np.int64)
    role = np.full(n_accounts, "organic", dtype=object)
    scenario = np.full(n_accounts, "organic", dtype=object)
    units = []
    at, g = 0, 0
    for name, size in plan:
        members = np.arange(at, at + size, dtype=np.int64)
        at += size
        scenario[members] = name
        if name in SCENARIOS:
            group_of[members] = g
            role[members] = "coordinated"
            units.append((name, g, members))
            g += 1
        else:
            role[members] = "trap"
            units.append((name, -1, members))

    text = _Text(rng)
    rows = _Rows()
    pool = _Pools(rng, text, n_accounts)
    posts = _organic(rng, rows, text, pool, ids, n_accounts, days, horizon)
    ctx = _Ctx(rng, rows, text, _Japanese(rng), pool, posts, ids, horizon, window / 60.0,
               int(start.value // 1_000_000_000), max(1, int(np.ceil(horizon / _DAY))))
    local: dict[str, int] = {}
    for name, g, members in units:
        i = local.get(name, 0)
        local[name] = i + 1
        _GENERATORS[name](ctx, members, g, i)
    actions, push_of = _assemble(rows, ids, perm, start)

    truth = pd.DataFrame({
        "account_id": pd.Series(ids, dtype=object),
        "group": pd.Series(group_of, dtype=np.int64),
        "role": pd.Series(role, dtype=object),
        "scenario": pd.Series(scenario, dtype=object),
    })
    truth = truth.sort_values("account_id", kind="stable", ignore_index=True)[SCENARIO_TRUTH_COLUMNS]
    log.debug("simulated %d actions by %d accounts (%d planted or trap)", len(actions), n_accounts,
              at)
    in_push = push_of >= 0
    by_push = (pd.Series(actions["action_id"].to_numpy()[in_push], dtype=object)
               .groupby(push_of[in_push]).agg(list))
    entries = rows.pushes
    names = [p[1] for p in entries]
    pushes = pd.DataFrame({
        "push_id": np.arange(len(entries), dtype=np.int64),
        "scenario": pd.Series(names, dtype=object),
        "role": pd.Series(["coordinated" if n in SCENARIOS else "trap" for n in names], dtype=object),
        "group": np.array([p[0] for p in entries], dtype=np.int64),
        "time": pd.Series((start.value + np.array([p[2] for p in entries], dtype=np.int64)
                           * 1_000_000_000).astype("datetime64[ns]")).dt.tz_localize("UTC"),
        "action_ids": pd.Series([by_push.get(i, []) for i in range(len(entries))], dtype=object),
    })
    return actions, truth, pushes


# ---------------------------------------------------------------------------------------------
# Content helpers


def _tokens(rng: np.random.Generator, n: int, length: int) -> list[str]:
    """``n`` random alphanumeric strings of ``length`` characters."""
    chars = _ALNUM[rng.integers(0, len(_ALNUM), (n, length))]
    return ["".join(row) for row in chars.tolist()]


def _short_links(rng: np.random.Generator, n: int) -> list[str]:
    hosts = rng.integers(0, len(_SHORTENERS), n).tolist()
    return [f"https://{_SHORTENERS[h]}/{t}" for h, t in zip(hosts, _tokens(rng, n, 7))]


def _camel_tag(text: _Text, n_words: int = 2) -> str:
    return "#" + "".join(w.capitalize() for w in text.words[text.draw_words(n_words)].tolist())


def _site(ctx: _Ctx) -> str:
    """A campaign domain such as ``truth-dailyvoice.news``."""
    a, b = ctx.text.words[ctx.text.draw_words(2)].tolist()
    return f"{a}-{b}{_TLDS[int(ctx.rng.integers(0, len(_TLDS)))]}"


def _page(ctx: _Ctx, domain: str) -> str:
    """A page of ``domain`` (no scheme, no query)."""
    a, b, c = ctx.text.words[ctx.text.draw_words(3)].tolist()
    return f"{domain}/{a}/{b}-{c}-{int(ctx.rng.integers(1000, 99999))}"


class _Japanese:
    """Japanese-like texts as chunks (noun + particle), joined without spaces."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def chunk(self, last: bool = False) -> str:
        rng = self.rng
        noun = _JA_NOUNS[int(rng.integers(len(_JA_NOUNS)))]
        if last:
            return noun + _JA_ENDINGS[int(rng.integers(len(_JA_ENDINGS)))]
        return noun + _JA_PARTICLES[int(rng.integers(len(_JA_PARTICLES)))]

    def chunks(self, low: int = 5, high: int = 12) -> list[str]:
        n = int(self.rng.integers(low, high + 1))
        out = [self.chunk() for _ in range(n - 1)] + [self.chunk(last=True)]
        for i in range(len(out) - 1):
            if self.rng.random() < 0.2:
                out[i] += "、"
        return out

    def tag(self) -> str:
        a, b = self.rng.choice(len(_JA_NOUNS), 2, replace=False).tolist()
        suffix = ("", "反対", "拡散希望", "を守れ")[int(self.rng.integers(4))]
        return "#" + _JA_NOUNS[a] + (_JA_NOUNS[b] if not suffix else suffix)


@dataclass
class _Message:
    """A copypasta message in parts, so that copies can be edited."""

    tokens: list[str]
    joiner: str             # " " or "" (Japanese)
    end: str                # final punctuation
    tags: list[str]
    url: str | None
    prefix: str = ""        # an emoji in front
    suffix: str = ""        # an emoji at the end

    def render(self) -> str:
        body = self.prefix + self.joiner.join(self.tokens) + self.end + self.suffix
        return " ".join([body, *self.tags, *([self.url] if self.url else [])])

    def copy(self) -> _Message:
        return _Message(list(self.tokens), self.joiner, self.end, list(self.tags), self.url,
                        self.prefix, self.suffix)


def _edit(ctx: _Ctx, m: _Message) -> _Message:
    """A copy of ``m`` with zero to two small edits, as people and scripts make them."""
    rng = ctx.rng
    out = m.copy()
    japanese = m.joiner == ""
    n_edits = int(rng.choice(3, p=[0.2, 0.5, 0.3]))
    for op in rng.choice(4, size=n_edits, replace=False).tolist():
        if op == 0 and len(out.tokens) >= 2:  # a word replaced, or two words swapped
            i = int(rng.integers(0, len(out.tokens) - 1))
            if rng.random() < 0.5:
                out.tokens[i], out.tokens[i + 1] = out.tokens[i + 1], out.tokens[i]
            else:
                out.tokens[i] = (ctx.ja.chunk() if japanese
                                 else str(ctx.text.words[ctx.text.draw_words(1)[0]]))
        elif op == 1:  # punctuation
            if rng.random() < 0.6:
                ends = ("！", "!!", "…", "。", "!?") if japanese else ("!", "!!", ".", "...", "?!", "")
                out.end = ends[int(rng.integers(len(ends)))]
            else:
                i = int(rng.integers(0, len(out.tokens)))
                out.tokens[i] += "、" if japanese else ","
            if out.tags and japanese and rng.random() < 0.3:  # a full-width hash sign
                out.tags = ["＃" + t[1:] for t in out.tags]
        elif op == 2:  # an emoji
            e = _EMOJI[int(rng.integers(len(_EMOJI)))]
            if rng.random() < 0.3:
                out.prefix = e + " " * int(not japanese)
            else:
                out.suffix = (" " if rng.random() < 0.5 else "") + e
        else:  # a different trailing link
            out.url = _short_links(rng, 1)[0]
    return out


def _participants(rng: np.random.Generator, members: np.ndarray, p: float,
                  at_least: int = 2) -> np.ndarray:
    part = members[rng.random(len(members)) < p]
    if len(part) < at_least:
        part = rng.choice(members, size=min(at_least, len(members)), replace=False)
    return rng.permutation(part)


def _times(ctx: _Ctx, t0: int, delays: np.ndarray) -> np.ndarray:
    return np.minimum(t0 + np.maximum(1, np.asarray(delays).astype(np.int64)), ctx.horizon - 1)


class _Popular:
    """Organic posts by accounts outside a group, picked by popularity among those before a time."""

    def __init__(self, ctx: _Ctx, members: np.ndarray) -> None:
        posts = ctx.posts
        self.ctx = ctx
        self.pos = np.flatnonzero(~np.isin(posts.author, members))
        self.cum = np.cumsum(posts.weight[self.pos])
        self.time = posts.time[self.pos]
        self.used: set[int] = set()

    def pick(self, t0: int) -> int | None:
        """A post made before ``t0`` not picked before (if there is one): its index in posts."""
        k = int(np.searchsorted(self.time, t0))
        if k == 0:
            return None
        rng = self.ctx.rng
        target = -1
        for _ in range(20):
            i = int(np.searchsorted(self.cum[:k], rng.random() * self.cum[k - 1], side="right"))
            target = int(self.pos[min(i, k - 1)])
            if target not in self.used:
                break
        self.used.add(target)
        return target


def _own_post_push(ctx: _Ctx, part: np.ndarray, t0: int, times: np.ndarray, push: int,
                   tags: list[str]) -> None:
    """One member posts at ``t0``; the others repost it at ``times[1:]``."""
    body = " ".join([ctx.text.texts(1)[0], *tags])
    leader = ctx.rows.add(part[:1], [t0], _POST, push=push, text=[body], hashtags=[list(tags)])
    if len(part) > 1:
        ctx.rows.add(part[1:], np.maximum(times[1:], t0 + 1), _REPOST,
                     parent=np.full(len(part) - 1, leader[0]), push=push)


def _amplify_push(ctx: _Ctx, popular: _Popular, part: np.ndarray, t0: int, times: np.ndarray,
                  push: int) -> bool:
    target = popular.pick(t0)
    if target is None:
        return False
    times = np.maximum(times, ctx.posts.time[target] + 1)
    ctx.rows.add(part, times, _REPOST, parent=np.full(len(part), ctx.posts.idx[target]), push=push)
    return True


def _url_push(ctx: _Ctx, part: np.ndarray, times: np.ndarray, push: int,
              urls: list[str]) -> None:
    bodies = [f"{t} {u}" for t, u in zip(ctx.text.texts(len(part), 4, 14), urls)]
    ctx.rows.add(part, times, _POST, push=push, text=bodies, urls=[[u] for u in urls])


def _tag_push(ctx: _Ctx, part: np.ndarray, times: np.ndarray, push: int,
              tags: list[list[str]]) -> None:
    bodies = [" ".join([t, *tg]) for t, tg in zip(ctx.text.texts(len(part), 4, 14), tags)]
    ctx.rows.add(part, times, _POST, push=push, text=bodies, hashtags=[list(t) for t in tags])


# ---------------------------------------------------------------------------------------------
# Coordinated scenarios: each gets (ctx, members, group, index of the group in its scenario)


def _lockstep(ctx: _Ctx, members: np.ndarray, g: int, i: int) -> None:
    rng = ctx.rng
    popular = _Popular(ctx, members)
    p = rng.uniform(0.75, 0.95)
    camp_tags = [_camel_tag(ctx.text) for _ in range(2)]
    for t0 in ctx.push_times(ctx.n_pushes((5, 9), 8), 40 * ctx.scale).tolist():
        part = _participants(rng, members, p)
        times = _times(ctx, t0, (1 + rng.gamma(2.0, 2.5, len(part))) * ctx.scale)
        push = ctx.push(g, "lockstep", t0)
        if rng.random() < 0.4 or not _amplify_push(ctx, popular, part, t0, times, push):
            tags = [camp_tags[int(rng.integers(2))]] if rng.random() < 0.4 else []
            _own_post_push(ctx, part, t0, times, push, tags)


def _copypasta(ctx: _Ctx, members: np.ndarray, g: int, i: int) -> None:
    rng = ctx.rng
    japanese = bool(i % 2 == 1 or rng.random() < 0.3)
    p = rng.uniform(0.7, 0.9)
    camp_tags = [ctx.ja.tag() if japanese else _camel_tag(ctx.text) for _ in range(2)]
    for t0 in ctx.push_times(ctx.n_pushes((3, 6), 6), 120 * ctx.scale).tolist():
        part = _participants(rng, members, p)
        times = _times(ctx, t0, rng.uniform(0, 120, len(part)) * ctx.scale)
        push = ctx.push(g, "copypasta", t0)
        tags = [camp_tags[int(rng.integers(2))]] if rng.random() < 0.4 else []
        url = _short_links(rng, 1)[0] if rng.random() < 0.5 else None
        if japanese:
            base = _Message(ctx.ja.chunks(6, 14), "", "。", tags, url)
        else:
            base = _Message(ctx.text.texts(1, 10, 25)[0].split(" "), " ",
                            "" if rng.random() < 0.5 else ".", tags, url)
        copies = [_edit(ctx, base) for _ in range(len(part))]
        ctx.rows.add(part, times, _POST, push=push, text=[c.render() for c in copies],
                     urls=[[c.url] if c.url else [] for c in copies],
                     hashtags=[list(c.tags) for c in copies])


def _slow(ctx: _Ctx, members: np.ndarray, g: int, i: int) -> None:
    rng = ctx.rng
    popular = _Popular(ctx, members)
    p = rng.uniform(0.7, 0.9)
    site = _site(ctx)
    camp_tags = [_camel_tag(ctx.text) for _ in range(3)]
    for t0 in ctx.push_times(ctx.n_pushes((5, 9), 8), 600 * ctx.scale).tolist():
        part = _participants(rng, members, p)
        spread = rng.uniform(180, 600) * ctx.scale
        times = _times(ctx, t0, rng.uniform(0, spread, len(part)))
        push = ctx.push(g, "slow", t0)
        u = rng.random()
        if u < 0.5:
            if rng.random() < 0.5 or not _amplify_push(ctx, popular, part, t0, times, push):
                _own_post_push(ctx, part, t0, times, push, [])
        elif u < 0.75:
            url = "https://" + _page(ctx, site)
            _url_push(ctx, part, times, push, [url] * len(part))
        else:
            tag = camp_tags[int(rng.integers(len(camp_tags)))]
            _tag_push(ctx, part, times, push, [[tag]] * len(part))


def _camouflage(ctx: _Ctx, members: np.ndarray, g: int, i: int) -> None:
    rng = ctx.rng
    popular = _Popular(ctx, members)
    p = rng.uniform(0.75, 0.95)
    site = _site(ctx)
    camp_tags = [_camel_tag(ctx.text) for _ in range(2)]
    before = ctx.rows.n
    for t0 in ctx.push_times(ctx.n_pushes((2, 4), 5), 30 * ctx.scale).tolist():
        part = _participants(rng, members, p)
        times = _times(ctx, t0, rng.uniform(1, 30, len(part)) * ctx.scale)
        push = ctx.push(g, "camouflage", t0)
        u = rng.random()
        if u < 0.4 and _amplify_push(ctx, popular, part, t0, times, push):
            continue
        if u < 0.7:
            _own_post_push(ctx, part, t0, times, push, [])
        elif u < 0.85:
            page = _page(ctx, site)
            urls = [f"https://{page}?utm_source={s}" for s in _tokens(rng, len(part), 5)]
            _url_push(ctx, part, times, push, urls)
        else:
            _tag_push(ctx, part, times, push, [[camp_tags[int(rng.integers(2))]]] * len(part))
    # Organic cover: about nine organic actions for each coordinated one.
    acc = np.concatenate(ctx.rows.num["account"])
    n = len(ctx.ids)
    coordinated = np.bincount(acc[before:], minlength=n)[members]
    organic = np.bincount(acc[:before], minlength=n)[members]
    extra = np.maximum(0, np.round(9 * coordinated * rng.uniform(0.8, 1.25, len(members)))
                       - organic).astype(np.int64)
    _extra_organic(ctx, np.repeat(members, extra))


def _links(ctx: _Ctx, members: np.ndarray, g: int, i: int) -> None:
    rng = ctx.rng
    p = rng.uniform(0.7, 0.9)
    sites = [_site(ctx) for _ in range(int(rng.integers(1, 4)))]
    for t0 in ctx.push_times(ctx.n_pushes((3, 6), 6), 90 * ctx.scale).tolist():
        part = _participants(rng, members, p)
        times = _times(ctx, t0, rng.uniform(0, 90, len(part)) * ctx.scale)
        push = ctx.push(g, "links", t0)
        page = _page(ctx, sites[int(rng.integers(len(sites)))])
        _url_push(ctx, part, times, push, [_url_variant(rng, page) for _ in range(len(part))])


def _url_variant(rng: np.random.Generator, page: str) -> str:
    """``page`` as one person shares it: scheme, ``www.`` and tracking parameters of its own."""
    url = ("http://" if rng.random() < 0.25 else "https://") + ("www." if rng.random() < 0.4 else "")
    params = [f"{k}={v[int(rng.integers(len(v)))]}" for k, v in _UTM.items() if rng.random() < 0.5]
    if rng.random() < 0.3:
        params.append("fbclid=IwAR" + _tokens(rng, 1, 24)[0])
    params = [params[j] for j in rng.permutation(len(params)).tolist()]
    return url + page + ("?" + "&".join(params) if params else "")


def _hashtag(ctx: _Ctx, members: np.ndarray, g: int, i: int) -> None:
    rng = ctx.rng
    p = rng.uniform(0.7, 0.9)
    camp_tags = [_camel_tag(ctx.text, int(rng.integers(1, 4))) for _ in range(int(rng.integers(2, 5)))]
    trending = ctx.pool.tags[:10]
    for t0 in ctx.push_times(ctx.n_pushes((3, 6), 6), 180 * ctx.scale).tolist():
        part = _participants(rng, members, p)
        times = _times(ctx, t0, rng.uniform(0, 180, len(part)) * ctx.scale)
        push = ctx.push(g, "hashtag", t0)
        tag = (trending[int(rng.integers(len(trending)))] if rng.random() < 0.2
               else camp_tags[int(rng.integers(len(camp_tags)))])
        tags = []
        for _ in range(len(part)):
            extra = camp_tags[int(rng.integers(len(camp_tags)))]
            tags.append([tag, extra] if rng.random() < 0.3 and extra != tag else [tag])
        _tag_push(ctx, part, times, push, tags)


def _rotating(ctx: _Ctx, members: np.ndarray, g: int, i: int) -> None:
    rng = ctx.rng
    popular = _Popular(ctx, members)
    site = _site(ctx)
    for t0 in ctx.push_times(ctx.n_pushes((12, 20), 20), 40 * ctx.scale).tolist():
        part = rng.choice(members, size=min(len(members), int(rng.integers(5, 11))), replace=False)
        times = _times(ctx, t0, rng.uniform(1, 40, len(part)) * ctx.scale)
        push = ctx.push(g, "rotating", t0)
        u = rng.random()
        if u < 0.5 and _amplify_push(ctx, popular, part, t0, times, push):
            continue
        if u < 0.75:
            _own_post_push(ctx, part, t0, times, push, [])
        else:
            _url_push(ctx, part, times, push, ["https://" + _page(ctx, site)] * len(part))


def _schedule(ctx: _Ctx, members: np.ndarray, g: int, i: int) -> None:
    """Own original posts in the same clock minutes; nothing shared."""
    rng = ctx.rng
    p = rng.uniform(0.75, 0.95)
    slots = np.sort(rng.choice(24 * 60, size=int(rng.integers(3, 9)), replace=False))
    offset = ctx.start_s % 60  # sim second of the first whole clock minute is (60 - offset) % 60
    seen: set[str] = set()
    for day in range(ctx.n_days):
        for m in slots.tolist():
            t_min = day * _DAY + m * 60 + (60 - offset) % 60
            if t_min + 60 > ctx.horizon or rng.random() < 0.1:  # the operator paused this slot
                continue
            part = _participants(rng, members, p)
            times = t_min + rng.integers(0, 60, len(part))
            texts = []
            while len(texts) < len(part):
                for t in ctx.text.texts(len(part) - len(texts), 8, 20):
                    if t not in seen:
                        seen.add(t)
                        texts.append(t)
            push = ctx.push(g, "schedule", t_min)
            ctx.rows.add(part, times, _POST, push=push, text=texts)


# ---------------------------------------------------------------------------------------------
# Organic traps: each gets (ctx, accounts, -1, index of the population in its trap)


def _breaking_news(ctx: _Ctx, accounts: np.ndarray, g: int, i: int) -> None:
    rng = ctx.rng
    n_outlets = 2 if len(accounts) >= 200 else 1
    outlets, crowd = accounts[:n_outlets], accounts[n_outlets:]
    domains = [f"{w}news{_TLDS[int(rng.integers(len(_TLDS)))]}"
               for w in ctx.text.words[ctx.text.draw_words(n_outlets)].tolist()]
    n_news = int(rng.integers(1, 4))
    latest = max(2, ctx.horizon - 2 * _HOUR)
    for t0 in np.sort(rng.integers(0, latest, n_news)).tolist():
        o = int(rng.integers(n_outlets))
        page = _page(ctx, domains[o])
        tag = _camel_tag(ctx.text, 2) if rng.random() < 0.5 else None
        body = " ".join(["BREAKING:", ctx.text.texts(1, 8, 16)[0], *([tag] if tag else []),
                         "https://" + page])
        push = ctx.push(g, "breaking_news", t0)
        news = ctx.rows.add(outlets[o:o + 1], [t0], _POST, push=push, text=[body],
                            urls=[["https://" + page]], hashtags=[[tag] if tag else []])[0]
        who = crowd[rng.random(len(crowd)) < rng.uniform(0.6, 0.95)]
        median = rng.uniform(60, 150)
        t = t0 + 1 + rng.lognormal(np.log(median), 0.9, len(who)).astype(np.int64)
        keep = t < ctx.horizon
        who, t = who[keep], t[keep]
        u = rng.random(len(who))
        rep, quo, rpl, own = u < 0.85, (u >= 0.85) & (u < 0.9), (u >= 0.9) & (u < 0.93), u >= 0.93
        ctx.rows.add(who[rep], t[rep], _REPOST, parent=np.full(int(rep.sum()), news), push=push)
        ctx.rows.add(who[quo], t[quo], _QUOTE, parent=np.full(int(quo.sum()), news), push=push,
                     text=ctx.text.texts(int(quo.sum()), 3, 12))
        at = "@" + str(ctx.ids[outlets[o]])
        k = int(rpl.sum())
        ctx.rows.add(who[rpl], t[rpl], _REPLY, parent=np.full(k, news), push=push,
                     text=[f"{at} {x}" for x in ctx.text.texts(k, 3, 12)],
                     mentions=[[at] for _ in range(k)])
        k = int(own.sum())
        urls = [_url_variant(rng, page) if rng.random() < 0.3 else "https://" + page
                for _ in range(k)]
        _url_push(ctx, who[own], t[own], push, urls)


def _fan_club(ctx: _Ctx, accounts: np.ndarray, g: int, i: int) -> None:
    rng = ctx.rng
    idol, fans = int(accounts[0]), accounts[1:]
    tag = _camel_tag(ctx.text, 1)
    n_posts = max(2, int(round(rng.uniform(3, 8) * ctx.horizon / _DAY)))
    t_posts = np.sort(_diurnal_times(rng, n_posts, max(2, ctx.horizon - 600)))
    share = rng.uniform(0.3, 0.6, len(fans))                 # each fan's share of the posts
    fan_median = rng.lognormal(np.log(45), 0.5, len(fans))   # each fan's typical delay
    at = "@" + str(ctx.ids[idol])
    for t0 in t_posts.tolist():
        tags = [tag] if rng.random() < 0.5 else []
        media = [f"{int(rng.integers(0, 2 ** 63)):016x}"] if rng.random() < 0.6 else []
        push = ctx.push(g, "fan_club", t0)
        post = ctx.rows.add([idol], [t0], _POST, push=push,
                            text=[" ".join([ctx.text.texts(1, 4, 16)[0], *tags])],
                            hashtags=[tags], media=[media])[0]
        who = rng.random(len(fans)) < share
        t = t0 + 1 + rng.lognormal(np.log(fan_median[who]), 1.0).astype(np.int64)
        keep = t < ctx.horizon
        f, t = fans[who][keep], t[keep]
        ctx.rows.add(f, t, _REPOST, parent=np.full(len(f), post), push=push)
        reply = rng.random(len(f)) < 0.05
        k = int(reply.sum())
        t_r = np.minimum(t[reply] + rng.integers(5, 600, k), ctx.horizon - 1)
        ctx.rows.add(f[reply], t_r, _REPLY, parent=np.full(k, post), push=push,
                     text=[f"{at} {x} {_EMOJI[int(rng.integers(len(_EMOJI)))]}"
                           for x in ctx.text.texts(k, 2, 8)],
                     mentions=[[at] for _ in range(k)])


def _trending(ctx: _Ctx, accounts: np.ndarray, g: int, i: int) -> None:
    rng = ctx.rng
    for _ in range(int(rng.integers(3, 7))):
        tag = _camel_tag(ctx.text, int(rng.integers(1, 3)))
        peak = rng.uniform(0, ctx.horizon)
        sd = rng.uniform(1, 3) * _HOUR
        users = accounts[rng.random(len(accounts)) < rng.uniform(0.3, 0.7)]
        uses = np.repeat(users, rng.choice([1, 2, 3], size=len(users), p=[0.7, 0.2, 0.1]))
        t = np.round(peak + rng.normal(0, sd, len(uses))).astype(np.int64)
        keep = (t >= 0) & (t < ctx.horizon)
        uses, t = uses[keep], t[keep]
        order = np.argsort(t, kind="stable")
        uses, t = uses[order], t[order]
        push = ctx.push(g, "trending", int(peak))
        repost = rng.random(len(uses)) < 0.2
        repost[0:1] = False
        posts = ~repost
        extra = ctx.pool.organic_tags(int(posts.sum()))
        tags = [[tag] + [x for x in e if x != tag] if rng.random() < 0.3 else [tag] for e in extra]
        idx = ctx.rows.add(uses[posts], t[posts], _POST, push=push,
                           text=[" ".join([x, *tg]) for x, tg in
                                 zip(ctx.text.texts(int(posts.sum()), 3, 16), tags)],
                           hashtags=tags)
        # A repost picks one of the tag's earlier posts (not its own), the more recent the likelier.
        p_time, p_acc = t[posts], uses[posts]
        r_acc, r_time, r_par = [], [], []
        for a, tr in zip(uses[repost].tolist(), t[repost].tolist()):
            k = int(np.searchsorted(p_time, tr))  # the posts strictly before tr
            if k == 0:
                continue
            j = k - 1 - min(k - 1, int(rng.geometric(0.05)) - 1)
            if p_acc[j] == a:
                continue
            r_acc.append(a)
            r_time.append(tr)
            r_par.append(idx[j])
        ctx.rows.add(np.array(r_acc, dtype=np.int64), np.array(r_time, dtype=np.int64), _REPOST,
                     parent=np.array(r_par, dtype=np.int64), push=push)


def _brand_schedulers(ctx: _Ctx, accounts: np.ndarray, g: int, i: int) -> None:
    rng = ctx.rng
    offset = (_HOUR - ctx.start_s % _HOUR) % _HOUR  # sim second of the first whole clock hour
    w = _BRAND_HOURS / _BRAND_HOURS.sum()
    trending = ctx.pool.tags[:20]
    for a in accounts.tolist():
        name = str(ctx.text.words[ctx.text.draw_words(1)[0]])
        domain = f"{name}{'shop' if rng.random() < 0.5 else ''}{_TLDS[int(rng.integers(3))]}"
        tag = "#" + name.capitalize()
        tool = _SCHEDULERS[int(rng.integers(len(_SCHEDULERS)))]
        hours = np.sort(rng.choice(24, size=int(rng.integers(2, 7)), replace=False, p=w))
        t = np.array([d * _DAY + h * _HOUR + offset for d in range(ctx.n_days + 1)
                      for h in hours.tolist()], dtype=np.int64)
        t = t[(t < ctx.horizon) & (rng.random(len(t)) < 0.9)]
        if not len(t):
            continue
        push = ctx.push(g, "brand_schedulers", int(t[0]))
        texts, urls, tags, media = [], [], [], []
        for body in ctx.text.texts(len(t), 5, 18):
            u = ([f"https://{_page(ctx, domain)}?utm_source={tool}&utm_medium=social"]
                 if rng.random() < 0.6 else [])
            tg = ([tag] if rng.random() < 0.5 else []) + (
                [trending[int(rng.integers(len(trending)))]] if rng.random() < 0.15 else [])
            texts.append(" ".join([body, *tg, *u]))
            urls.append(u)
            tags.append(tg)
            media.append([f"{int(rng.integers(0, 2 ** 63)):016x}"] if rng.random() < 0.3 else [])
        ctx.rows.add(np.full(len(t), a), t, _POST, push=push, text=texts, urls=urls,
                     hashtags=tags, media=media)


def _extra_organic(ctx: _Ctx, acc: np.ndarray) -> None:
    """More organic activity for the accounts in ``acc`` (one entry per action): own posts at
    daily-rhythm times and reposts of popular organic posts after a decaying delay."""
    rng, posts = ctx.rng, ctx.posts
    repost = rng.random(len(acc)) < 0.55
    if len(posts.idx) == 0:
        repost[:] = False
    p_acc = acc[~repost]
    n = len(p_acc)
    bodies = ctx.text.texts(n)
    has_url = rng.random(n) < 0.25
    has_tag = rng.random(n) < 0.2
    urls: list[list[str]] = [[] for _ in range(n)]
    tags: list[list[str]] = [[] for _ in range(n)]
    for j, u in zip(np.flatnonzero(has_url).tolist(), ctx.pool.organic_urls(int(has_url.sum()))):
        urls[j] = [u]
        bodies[j] = f"{bodies[j]} {u}"
    for j, t in zip(np.flatnonzero(has_tag).tolist(), ctx.pool.organic_tags(int(has_tag.sum()))):
        tags[j] = t
        bodies[j] = bodies[j] + " " + " ".join(t)
    ctx.rows.add(p_acc, _diurnal_times(rng, n, ctx.horizon), _POST, text=bodies, urls=urls,
                 hashtags=tags)
    r_acc = acc[repost]
    if len(r_acc):
        parent = _choice_p(rng, posts.weight, len(r_acc))
        t = posts.time[parent] + np.maximum(1, rng.lognormal(np.log(1200), 1.6, len(r_acc))
                                            .astype(np.int64))
        keep = (t < ctx.horizon) & (posts.author[parent] != r_acc)
        ctx.rows.add(r_acc[keep], t[keep], _REPOST, parent=posts.idx[parent[keep]])


_GENERATORS = {
    "lockstep": _lockstep, "copypasta": _copypasta, "slow": _slow, "camouflage": _camouflage,
    "links": _links, "hashtag": _hashtag, "rotating": _rotating, "schedule": _schedule,
    "breaking_news": _breaking_news, "fan_club": _fan_club, "trending": _trending,
    "brand_schedulers": _brand_schedulers,
}
