"""CNT (coordination-network-toolkit 1.5.2) compatibility mode.

The fixtures under tests/data/cnt/ are CNT's own exports. They were made by running the real tool
on the synthetic inputs stored next to them (``bench/compare_cnt.py --make-fixtures``; commands
in MANIFEST.json). These tests compare against the saved files and do not need CNT installed.
"""

from __future__ import annotations

import io
import json
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cib.coaction.compat_cnt as cc
from cib.coaction._kernel import HAVE_NUMBA
from cib.coaction.compat_cnt import (
    CNT_COLUMNS,
    EDGE_COLUMNS,
    cnt_edges,
    cnt_input_from_actions,
    cnt_message_preprocessor,
    read_cnt_csv,
)
from cib.errors import InputError, ParameterError

DATA = Path(__file__).resolve().parent / "data" / "cnt"
MANIFEST = json.loads((DATA / "MANIFEST.json").read_text())
RUNS = [(name, run) for name, info in MANIFEST["inputs"].items() for run in info["runs"]]


@lru_cache(maxsize=None)
def _input(name: str) -> pd.DataFrame:
    return read_cnt_csv(DATA / MANIFEST["inputs"][name]["file"])


def _export(file: str) -> pd.DataFrame:
    """CNT's gephi CSV (source, target, weight, edge_type) as user_1, user_2, weight."""
    e = pd.read_csv(DATA / file, dtype=object, keep_default_na=False, na_filter=False)
    return pd.DataFrame({"user_1": e["source"].to_numpy(dtype=object),
                         "user_2": e["target"].to_numpy(dtype=object),
                         "weight": e["weight"].astype(np.int64).to_numpy()})


def _rows(edges: pd.DataFrame) -> list[tuple[str, str, int]]:
    return sorted(zip(edges["user_1"], edges["user_2"], edges["weight"].astype(int)))


def _msgs(rows: list[tuple]) -> pd.DataFrame:
    """CNT messages from (message_id, user, repost_id, reply_id, message, t, urls) tuples."""
    df = pd.DataFrame(rows, columns=["message_id", "user_id", "repost_id", "reply_id", "message",
                                     "timestamp", "urls"])
    df.insert(2, "username", df["user_id"])
    return df[CNT_COLUMNS]


# --------------------------------------------------------------------------------------------
# exactness against the real tool


def test_fixtures_cover_every_case() -> None:
    nets = {(r["network"], r["min_edge_weight"]) for _, r in RUNS}
    for net in ["co_retweet", "co_link", "co_link_fixed", "co_reply", "co_tweet"]:
        assert {(net, 1), (net, 2)} <= nets
    assert sum(i["rows"] for i in MANIFEST["inputs"].values()) > 3000
    assert sum(p.stat().st_size for p in DATA.iterdir()) < 200_000


@pytest.mark.parametrize("name,run", RUNS,
                         ids=[f"{n}-{r['network']}-W{r['time_window']}-w{r['min_edge_weight']}"
                              for n, r in RUNS])
def test_equals_cnt_export(name: str, run: dict) -> None:
    """Same directed rows and weights as CNT, with loops (CNT's table) and without (its export
    default). ``co_link`` is CNT as is (keep_empty_urls=True), ``co_link_fixed`` is CNT after the
    empty URLs are deleted (cib's default)."""
    net = run["network"]
    theirs = _export(run["edges"])
    assert len(theirs) == run["rows"]
    kwargs = dict(time_window=run["time_window"], min_edge_weight=run["min_edge_weight"])
    if net.startswith("co_link"):
        kwargs["keep_empty_urls"] = net == "co_link"
    base = "co_link" if net == "co_link_fixed" else net
    ours = cnt_edges(_input(name), base, loops=True, **kwargs)
    assert list(ours.columns) == EDGE_COLUMNS
    assert _rows(ours) == _rows(theirs)
    no_loops = cnt_edges(_input(name), base, **kwargs)
    assert _rows(no_loops) == _rows(theirs[theirs["user_1"] != theirs["user_2"]])


@pytest.mark.parametrize("name", ["tricky_frac", "tricky_int"])
def test_wide_code_path(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The numpy engine's fallback used when (user, user, message) codes would not fit in one
    int64."""
    import cib.coaction.compat_cnt as mod

    runs = [r for n, r in RUNS if n == name and r["time_window"] == 60]
    monkeypatch.setattr(mod, "HAVE_NUMBA", False)  # the numpy engine has the wide path
    monkeypatch.setattr(mod, "_MAX_CODE", 0)
    for run in runs:
        net = run["network"]
        ours = cnt_edges(_input(name), "co_link" if net == "co_link_fixed" else net,
                         min_edge_weight=run["min_edge_weight"], keep_empty_urls=net == "co_link",
                         loops=True)
        assert _rows(ours) == _rows(_export(run["edges"]))


def test_fixtures_exercise_the_bugs() -> None:
    """The saved exports really show bug 2 (empty URLs co-link), asymmetric weights and one-way
    edges; otherwise the comparison above would prove little."""
    asis = _export("tricky_int.co_link.W60.w1.csv.gz")
    fixed = _export("tricky_int.co_link_fixed.W60.w1.csv.gz")
    assert len(asis) > len(fixed)
    both = asis.merge(asis, left_on=["user_1", "user_2"], right_on=["user_2", "user_1"],
                      how="left")
    assert (both["weight_x"] != both["weight_y"]).any()
    w2 = _export("tricky_int.co_retweet.W60.w2.csv.gz")
    pairs = set(zip(w2["user_1"], w2["user_2"]))
    assert any((b, a) not in pairs for a, b in pairs)


# --------------------------------------------------------------------------------------------
# the peer notes' tiny cases


def test_window_is_pairwise_and_inclusive() -> None:
    m = _msgs([("1", "B", "i", "", "", 100, ""), ("2", "C", "i", "", "", 160, ""),
               ("3", "D", "i", "", "", 161, "")])
    assert _rows(cnt_edges(m, "co_retweet", time_window=60)) == [
        ("B", "C", 1), ("C", "B", 1), ("C", "D", 1), ("D", "C", 1)]
    assert _rows(cnt_edges(m, "co_retweet", time_window=61)) == [
        ("B", "C", 1), ("B", "D", 1), ("C", "B", 1), ("C", "D", 1), ("D", "B", 1), ("D", "C", 1)]


def test_weight_is_distinct_messages_of_user_1() -> None:
    m = _msgs([("1", "A", "", "", "", 0, "x.org"), ("2", "A", "", "", "", 30, "x.org"),
               ("3", "E", "", "", "", 50, "x.org")])
    assert _rows(cnt_edges(m, "co_link")) == [("A", "E", 2), ("E", "A", 1)]
    # min_edge_weight is applied to each direction on its own: a one-way edge
    assert _rows(cnt_edges(m, "co_link", min_edge_weight=2)) == [("A", "E", 2)]
    # CNT's table holds the self-loops (message count), its export drops them
    assert _rows(cnt_edges(m, "co_link", loops=True)) == [
        ("A", "A", 2), ("A", "E", 2), ("E", "A", 1), ("E", "E", 1)]
    assert _rows(cnt_edges(m, "co_link", min_edge_weight=2, loops=True)) == [
        ("A", "A", 2), ("A", "E", 2)]


def test_tiny_fixture_by_hand() -> None:
    m = _input("tiny")
    assert _rows(cnt_edges(m, "co_retweet")) == [
        ("B", "C", 1), ("C", "B", 1), ("C", "D", 1), ("D", "C", 1)]
    assert _rows(cnt_edges(m, "co_link")) == [("A", "E", 2), ("E", "A", 1)]
    # bug 4: "" / "" and "@x" / "@y" are the same normalised text, so B-C co-tweet twice
    assert _rows(cnt_edges(m, "co_tweet")) == [
        ("A", "E", 1), ("B", "C", 2), ("C", "B", 2), ("E", "A", 1)]


# --------------------------------------------------------------------------------------------
# semantics details


def test_empty_url_bug_is_optional() -> None:
    m = _msgs([("1", "a", "", "", "", 0, ""), ("2", "b", "", "", "", 10, ""),
               ("3", "c", "", "", "", 20, "u  v"), ("4", "d", "r", "", "", 20, "u")])
    assert _rows(cnt_edges(m, "co_link")) == []
    # as is: the empty cells and the doubled space give URL '' for a, b and c
    assert _rows(cnt_edges(m, "co_link", keep_empty_urls=True)) == [
        ("a", "b", 1), ("a", "c", 1), ("b", "a", 1), ("b", "c", 1), ("c", "a", 1),
        ("c", "b", 1)]


def test_urls_of_reposts_are_ignored_and_lists_accepted() -> None:
    m = _msgs([("1", "a", "", "", "", 0, "u"), ("2", "b", "r", "", "", 10, "u"),
               ("3", "c", "", "", "", 20, "u v")])
    assert _rows(cnt_edges(m, "co_link")) == [("a", "c", 1), ("c", "a", 1)]
    m["urls"] = pd.Series([["u"], ["u"], []], dtype=object)
    assert _rows(cnt_edges(m, "co_link")) == []
    assert _rows(cnt_edges(m, "co_link", keep_empty_urls=True)) == []  # a list has no ''


def test_repeated_message_ids() -> None:
    # row 2 repeats id 1: dropped from the message table (first wins) ...
    m = _msgs([("1", "a", "r", "", "", 0, ""), ("1", "b", "", "", "", 5, "x.org"),
               ("2", "c", "r", "", "", 10, ""), ("3", "d", "", "", "", 12, "x.org")])
    assert _rows(cnt_edges(m, "co_retweet")) == [("a", "c", 1), ("c", "a", 1)]
    # ... but CNT still stores its URLs, with its own user and time
    assert _rows(cnt_edges(m, "co_link")) == [("b", "d", 1), ("d", "b", 1)]


def test_co_reply_ignores_reposts_and_co_tweet_normalises() -> None:
    m = _msgs([("1", "a", "", "p", "Hi", 0, ""), ("2", "b", "", "p", "x", 5, ""),
               ("3", "c", "r", "p", "HI", 5, ""), ("4", "d", "", "", "  hi @Bob\t", 30, ""),
               ("5", "e", "", "", "@ab\x1ccd hi", 40, "")])
    assert _rows(cnt_edges(m, "co_reply")) == [("a", "b", 1), ("b", "a", 1)]
    assert _rows(cnt_edges(m, "co_tweet")) == [
        ("a", "d", 1), ("a", "e", 1), ("d", "a", 1), ("d", "e", 1), ("e", "a", 1),
        ("e", "d", 1)]


def test_message_preprocessor() -> None:
    assert cnt_message_preprocessor("Hello  @Bob WORLD\n") == "hello world"
    assert cnt_message_preprocessor("@x") == ""
    # CNT's regex \s is Unicode White_Space: U+00A0 ends a mention, U+001C does not
    assert cnt_message_preprocessor("@a\xa0b") == "b"
    assert cnt_message_preprocessor("@a\x1cb c") == "c"
    assert cnt_message_preprocessor("a\x1cb") == "a b"  # but str.split() splits on U+001C
    out = cnt_message_preprocessor(pd.Series(["A", None, "a"]))
    assert out.tolist() == ["a", "", "a"]


def test_float_bounds_as_sqlite() -> None:
    """fl(0.1 + 60) >= 60.1 but fl(60.1 - 60) > 0.1: CNT (checked) keeps P -> Q only."""
    m = _msgs([("1", "P", "x", "", "", 0.1, ""), ("2", "Q", "x", "", "", 60.1, "")])
    assert _rows(cnt_edges(m, "co_retweet")) == [("P", "Q", 1)]


def test_nan_time_and_window_zero() -> None:
    m = _msgs([("1", "a", "x", "", "", 5, ""), ("2", "b", "x", "", "", 5, ""),
               ("3", "c", "x", "", "", np.nan, "")])
    assert _rows(cnt_edges(m, "co_retweet", time_window=0, loops=True)) == [
        ("a", "a", 1), ("a", "b", 1), ("b", "a", 1), ("b", "b", 1)]
    assert _rows(cnt_edges(m, "co_retweet", time_window="2m")) == [("a", "b", 1), ("b", "a", 1)]


def test_ids_are_strings_and_sorted() -> None:
    m = _msgs([("1", "7", "10", "", "", 0, ""), ("2", "007", "10", "", "", 1, ""),
               ("3", "z", "010", "", "", 1, "")])
    e = cnt_edges(m, "co_retweet")
    assert e.to_dict("list") == {"user_1": ["007", "7"], "user_2": ["7", "007"], "weight": [1, 1]}
    assert e["weight"].dtype == np.int64 and e["user_1"].dtype == object


def test_datetime_timestamps() -> None:
    m = _msgs([("1", "a", "x", "", "", 0, ""), ("2", "b", "x", "", "", 60, ""),
               ("3", "c", "x", "", "", 61, "")])
    expected = _rows(cnt_edges(m, "co_retweet"))
    for ts in [pd.to_datetime(m["timestamp"], unit="s", utc=True),
               pd.to_datetime(m["timestamp"], unit="s", utc=True).dt.tz_convert("Europe/Paris"),
               pd.to_datetime(m["timestamp"], unit="s")]:
        assert _rows(cnt_edges(m.assign(timestamp=ts), "co_retweet")) == expected


def test_empty_and_bad_parameters() -> None:
    m = _msgs([])
    for net in ["co_retweet", "co_link", "co_reply", "co_tweet"]:
        e = cnt_edges(m, net)
        assert list(e.columns) == EDGE_COLUMNS and len(e) == 0
    one = _msgs([("1", "a", "x", "", "", 0, "")])
    with pytest.raises(ParameterError):
        cnt_edges(one, "co_similar_tweet")
    with pytest.raises(ParameterError):
        cnt_edges(one, time_window=-1)
    with pytest.raises(InputError, match="message"):
        cnt_edges(one.drop(columns=["message"]))
    with pytest.raises(InputError, match="user_id"):
        cnt_edges(one.assign(user_id=[None]))


# --------------------------------------------------------------------------------------------
# input


def test_read_cnt_csv_by_name_and_position(tmp_path: Path) -> None:
    m = _input("tricky_int")
    assert list(m.columns) == CNT_COLUMNS and m["timestamp"].dtype == np.float64
    assert (m["user_id"] == "007").any() and (m["user_id"] == "7").any()
    assert (m["urls"] == "").any() and not m.drop(columns="timestamp").isna().any().any()
    shuffled = m[CNT_COLUMNS[::-1]].copy()
    shuffled["extra"] = "x"
    path = tmp_path / "shuffled.csv"
    shuffled.to_csv(path, index=False)
    back = read_cnt_csv(path)
    pd.testing.assert_frame_equal(back, m)
    # CNT's positional reading of a file with other header names
    renamed = tmp_path / "renamed.csv"
    m.set_axis([f"c{i}" for i in range(8)], axis=1).to_csv(renamed, index=False)
    with pytest.raises(InputError, match="lacks required columns: message_id"):
        read_cnt_csv(renamed)
    pd.testing.assert_frame_equal(read_cnt_csv(renamed, by_position=True), m)


def test_read_cnt_csv_timestamps_like_python_float() -> None:
    csv = ("message_id,user_id,username,repost_id,reply_id,message,timestamp,urls\n"
           "1,a,a,,,,1_000,\n2,a,a,,,, 12 ,\n3,a,a,,,,1e3,\n")
    assert read_cnt_csv(io.StringIO(csv))["timestamp"].tolist() == [1000.0, 12.0, 1000.0]
    with pytest.raises(InputError, match="row 3"):
        read_cnt_csv(io.StringIO(csv.replace(" 12 ", "noon")))


def _actions() -> pd.DataFrame:
    t = pd.to_datetime([100, 110, 120, 130, 140, 150], unit="s", utc=True)
    return pd.DataFrame({
        "action_id": ["p1", "r1", "r2", "q1", "y1", "bad"],
        "account_id": ["a", "b", "c", "d", "e", "f"],
        "timestamp": t,
        "action_type": pd.Categorical(["post", "repost", "repost", "quote", "reply", "repost"],
                                      categories=["post", "repost", "reply", "quote"]),
        "parent_id": [None, "p1", "p1", "p1", "p1", None],
        "text": ["Hello @x", None, None, "hello", "hi", None],
        "urls": [["u.org", "v.org"], [], [], ["u.org"], [], []],
        "hashtags": [[]] * 6, "mentions": [[]] * 6, "media": [[]] * 6, "platform": "x",
    })


def test_cnt_input_from_actions() -> None:
    m = cnt_input_from_actions(_actions())
    assert list(m.columns) == CNT_COLUMNS
    assert m["message_id"].tolist() == ["p1", "r1", "r2", "q1", "y1"]  # parentless repost dropped
    assert m["repost_id"].tolist() == ["", "p1", "p1", "", ""]
    assert m["reply_id"].tolist() == ["", "", "", "", "p1"]
    assert m["message"].tolist() == ["Hello @x", "", "", "hello", "hi"]
    assert m["urls"].tolist() == ["u.org v.org", "", "", "u.org", ""]
    assert m["timestamp"].tolist() == [100.0, 110.0, 120.0, 130.0, 140.0]
    assert _rows(cnt_edges(m, "co_retweet")) == [("b", "c", 1), ("c", "b", 1)]
    assert _rows(cnt_edges(m, "co_link")) == [("a", "d", 1), ("d", "a", 1)]
    assert _rows(cnt_edges(m, "co_tweet")) == [("a", "d", 1), ("d", "a", 1)]
    with pytest.raises(InputError):
        cnt_input_from_actions(_actions().drop(columns=["urls"]))


def test_actions_round_trip_through_cnt_csv(tmp_path: Path) -> None:
    """What cib computes from ACTIONS equals what it computes from the CSV a user would give CNT
    (the sim fixture was made this way and checked against CNT above)."""
    from cib.datasets import simulate

    actions, _ = simulate(n_accounts=60, n_groups=2, days=2, seed=3)
    m = cnt_input_from_actions(actions)
    path = tmp_path / "m.csv"
    m.to_csv(path, index=False)
    back = read_cnt_csv(path)
    pd.testing.assert_frame_equal(back, m)
    for net in ["co_retweet", "co_link", "co_reply", "co_tweet"]:
        pd.testing.assert_frame_equal(cnt_edges(back, net, keep_empty_urls=True),
                                      cnt_edges(m, net, keep_empty_urls=True))


# --------------------------------------------------------------------------------------------
# engines: the numba kernel, the numpy fallback and a literal reference agree

_PROPS = settings(max_examples=100, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _reference_weights(key, t, user, msg, w, loops):
    """CNT's query taken literally: e_1 joins e_2 on the same object when
    ``e_1.t - w <= e_2.t <= e_1.t + w`` (float64 bounds, NaN never between anything);
    ``count(distinct e_1.message)`` per (e_1.user, e_2.user), where a message is a (message,
    user) entity."""
    hits: dict[tuple[int, int], set] = {}
    for i in range(len(key)):
        lo, hi = t[i] - w, t[i] + w
        for j in range(len(key)):
            if key[j] != key[i] or not (lo <= t[j] <= hi):
                continue
            if user[i] == user[j] and not loops:
                continue
            hits.setdefault((int(user[i]), int(user[j])), set()).add((int(msg[i]), int(user[i])))
    return {k: len(v) for k, v in hits.items()}


@st.composite
def _traces(draw):
    n = draw(st.integers(0, 40))
    n_users = draw(st.integers(1, 8))
    wide = draw(st.booleans())  # sparse user codes: the kernel's sort path
    codes = st.integers(0, 700) if wide else st.integers(0, n_users - 1)
    user = np.array(draw(st.lists(codes, min_size=n, max_size=n)), dtype=np.int64)
    key = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64)
    # equal times, gaps of exactly the window, fractions, NaN
    times = st.one_of(st.integers(0, 12).map(lambda k: 5.0 * k),
                      st.sampled_from([0.1, 60.1, 60.2, 0.3, 120.3]), st.just(np.nan))
    t = np.array(draw(st.lists(times, min_size=n, max_size=n)), dtype=np.float64)
    # repeated messages (one message on several objects / of several users, as in co_link)
    msg = np.array(draw(st.lists(st.integers(0, max(n // 2, 1)), min_size=n, max_size=n)),
                   dtype=np.int64)
    w = draw(st.sampled_from([0.0, 1.0, 5.0, 60.0]))
    return key, t, user, msg, int(user.max()) + 1 if n else 1, w


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not importable")
@_PROPS
@given(_traces(), st.booleans(), st.sampled_from([1, 2, 1.5]))
def test_kernel_equals_numpy_and_reference(traces, loops, mw) -> None:
    key, t, user, msg, n_users, w = traces
    ref = {k: v for k, v in _reference_weights(key, t, user, msg, w, loops).items() if v >= mw}
    got = cc._weights(key, t, user, msg, n_users, w, mw, loops)
    old = cc._directed_weights(key, t, user, msg, n_users, w, loops)
    keep = old[2] >= mw
    for src, dst, weight in [got, (old[0][keep], old[1][keep], old[2][keep])]:
        pairs = list(zip(src.tolist(), dst.tolist()))
        assert pairs == sorted(pairs)  # sorted by (src, dst)
        assert dict(zip(pairs, weight.tolist())) == ref
        assert weight.dtype == np.int64


@st.composite
def _messages(draw):
    """A small CNT message table with repeated ids, empty cells, shared objects, URLs with
    doubled spaces, texts differing by case and mentions, equal and NaN times."""
    n = draw(st.integers(0, 30))
    users = ["a", "B", "b", "007", "7", "é", "x y", "=z"]
    rows = []
    for k in range(n):
        mid = str(draw(st.integers(0, n + 3))) if draw(st.booleans()) else f"m{k}"
        rows.append((mid, draw(st.sampled_from(users)),
                     draw(st.sampled_from(["", "", "r1", "r2", "10"])),
                     draw(st.sampled_from(["", "p1", "p2"])),
                     draw(st.sampled_from(["", "Hi", "hi @x", "@y", "HI  "])),
                     draw(st.sampled_from([0.0, 5.0, 30.0, 60.0, 60.5, 61.0, np.nan])),
                     draw(st.sampled_from(["", "u.org", "u.org v.org", "v.org  u.org", " u.org"]))))
    return _msgs(rows)


@pytest.mark.parametrize("network", ["co_retweet", "co_link", "co_reply", "co_tweet"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=_messages(), loops=st.booleans(), keep_empty=st.booleans())
def test_input_paths_and_engines_agree(network, m, loops, keep_empty) -> None:
    """pyarrow-backed string columns (read_cnt_csv) and object columns give the same edges, with
    the numba kernel and with the numpy fallback."""
    kw = {"time_window": 60, "loops": loops, "keep_empty_urls": keep_empty}
    objects = m.astype({c: object for c in CNT_COLUMNS if c != "timestamp"})
    arrow = m.astype({c: cc._STR for c in CNT_COLUMNS if c != "timestamp"})
    want = cnt_edges(objects, network, **kw)
    pd.testing.assert_frame_equal(cnt_edges(arrow, network, **kw), want)
    saved = cc.HAVE_NUMBA
    try:
        cc.HAVE_NUMBA = False
        pd.testing.assert_frame_equal(cnt_edges(arrow, network, **kw), want)
        pd.testing.assert_frame_equal(cnt_edges(objects, network, **kw), want)
    finally:
        cc.HAVE_NUMBA = saved


def test_engines_agree_on_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in MANIFEST["inputs"]:
        m = _input(name)
        for net in ["co_retweet", "co_link", "co_reply", "co_tweet"]:
            fast = cnt_edges(m, net, loops=True, keep_empty_urls=True)
            with monkeypatch.context() as mp:
                mp.setattr(cc, "HAVE_NUMBA", False)
                slow = cnt_edges(m, net, loops=True, keep_empty_urls=True)
            pd.testing.assert_frame_equal(fast, slow)


# --------------------------------------------------------------------------------------------
# the pyarrow CSV path reads what pandas reads

_CSV_CELL = st.lists(st.sampled_from(list('ab1,"\r\n é\t') + ["\ufeff", "7.5", "-1e3", "1_0"]),
                     max_size=4).map("".join)


@settings(max_examples=int(os.environ.get("CIB_CSV_EXAMPLES", "200")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(st.lists(_CSV_CELL, min_size=8, max_size=9),
                      max_size=5),
       header=st.permutations(CNT_COLUMNS), times=st.lists(
           st.sampled_from(["0", "12", "1.5", "-3", "1e3", ".5", "5.", "+7", " 8", "1_000",
                            "inf", "nan", "", "x", "0x10", "1e400", "00012"]), min_size=5,
           max_size=5), newline=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans())
def test_arrow_reader_equals_pandas_reader(tmp_path_factory, cells, header, times, newline,
                                           bom) -> None:
    ti = header.index("timestamp")
    lines = [",".join(header)]
    for row, t in zip(cells, times):
        row = list(row)
        row[ti] = t
        lines.append(",".join(row))
    text = ("\ufeff" if bom else "") + newline.join(lines) + newline
    path = tmp_path_factory.mktemp("csv") / "m.csv"
    path.write_bytes(text.encode("utf-8"))
    try:
        want = read_cnt_csv(io.BytesIO(path.read_bytes()))  # a file object: pandas
    except InputError:
        with pytest.raises(InputError):
            read_cnt_csv(path)
        return
    got = read_cnt_csv(path)
    pd.testing.assert_frame_equal(got, want)


@settings(max_examples=100, deadline=None)
@given(text=st.lists(st.sampled_from(['a', ',', '"', '\r', '\n', '\r\n']), max_size=12).map("".join),
       block=st.integers(1, 5))
def test_plain_csv_scan_is_blockwise(tmp_path_factory, text, block) -> None:
    path = tmp_path_factory.mktemp("scan") / "t.csv"
    path.write_bytes(text.encode())
    assert cc._plain_csv(path, block=block) == cc._plain_csv(path)
    plain, newlines = cc._plain_csv(path)
    if plain and not newlines:  # no line break inside quotes: pyarrow splits lines alone
        assert '"' not in re.sub(r'"[^"\r\n]*"', "", text)


def test_read_cnt_csv_falls_back_to_pandas(tmp_path: Path) -> None:
    """What pyarrow rejects (a row with too few cells, a blank-looking line) pandas reads."""
    csv = ("message_id,user_id,username,repost_id,reply_id,message,timestamp,urls\n"
           "1,a,a,r,,hi,5\n   \n2,b,b,r,,,6,u\n")
    path = tmp_path / "ragged.csv"
    path.write_text(csv)
    with pytest.raises(Exception):  # noqa: B017
        cc._read_arrow(path)
    pd.testing.assert_frame_equal(read_cnt_csv(path), read_cnt_csv(io.StringIO(csv)))
    assert read_cnt_csv(path)["user_id"].dtype == cc._STR


# --------------------------------------------------------------------------------------------
# run_cnt's files, rendered from the codes, are the files of the table and the graph


def _folder(path: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for f in sorted(path.iterdir()):
        data = f.read_bytes()
        if f.name == "manifest.json":
            man = json.loads(data)
            man.pop("timings_s")
            out[f.name] = man
        else:
            out[f.name] = data
    return out


def _write_both(tmp: Path, m: pd.DataFrame, **kw) -> tuple[dict, dict]:
    from cib.compat import run_cnt

    fast = run_cnt(m, **kw)
    assert fast._edges.files(True, fast.manifest) is not None or fast._edges.n == 0
    slow = run_cnt(m, **kw)
    slow.tables  # noqa: B018 - used: write() then writes the table and the graph objects
    return _folder(fast.write(tmp / "fast")), _folder(slow.write(tmp / "slow"))


@pytest.mark.parametrize("name", list(MANIFEST["inputs"]))
def test_rendered_files_equal_written_objects(tmp_path: Path, name: str) -> None:
    m = _input(name)
    for nets in ["co_retweet", "co_retweet,co_link,co_reply,co_tweet", "co_tweet,co_link,co_link"]:
        fast, slow = _write_both(tmp_path / nets.replace(",", "-"), m, networks=nets,
                                 keep_empty_urls=True)
        assert list(fast) == ["edges.csv", "edges.parquet", "graph.gexf", "graph.graphml",
                              "manifest.json"]
        assert fast == slow


_ODD_IDS = ["plain", "=SUM(A1)", "-1", "+x", "@me", "\tt", "a,b", 'q"uote', "line\nbreak",
            "cr\rx", "<&>", "'single'", "é", "日本", "ctl\x01x", "", " lead", "trail ", "a b"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ids=st.lists(st.sampled_from(_ODD_IDS), min_size=2, max_size=8, unique=True),
       data=st.data())
def test_rendered_files_with_odd_account_ids(tmp_path_factory, ids, data) -> None:
    """Account ids that need CSV quoting, formula neutralising, XML escaping or replacing."""
    n = data.draw(st.integers(2, 25))
    rows = [(f"m{k}", data.draw(st.sampled_from(ids)), data.draw(st.sampled_from(["r", "s"])),
             "", "", float(data.draw(st.integers(0, 4)) * 20), "") for k in range(n)]
    m = _msgs(rows)
    fast, slow = _write_both(tmp_path_factory.mktemp("odd"), m, networks="co_retweet,co_retweet")
    assert fast == slow


def test_graph_files_left_out_above_the_limit(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from cib import compat

    monkeypatch.setattr(compat, "_CNT_GRAPH_MAX_EDGES", 10)
    res = compat.run_cnt(_input("tricky_int"), networks="co_retweet")
    assert "graph_files" in res.manifest and "graph files not written" in res.summary()
    files = _folder(res.write(tmp_path / "out"))
    assert list(files) == ["edges.csv", "edges.parquet", "manifest.json"]
    again = compat.run_cnt(_input("tricky_int"), networks="co_retweet")
    again.tables  # noqa: B018
    assert _folder(again.write(tmp_path / "out2")) == files
    assert len(res.graph.edges) == res.manifest["counts"]["edges"]  # still built on demand


def test_result_objects_are_built_on_first_use() -> None:
    from cib.compat import run_cnt

    res = run_cnt(_input("tiny"), networks="co_retweet,co_link")
    assert res._tables is None and not res._graph_built and "edges=6" in repr(res)
    edges = res.tables["edges"]
    assert edges.to_dict("list") == {
        "source": ["B", "C", "C", "D", "A", "E"], "target": ["C", "B", "D", "C", "E", "A"],
        "weight": [1, 1, 1, 1, 2, 1], "edge_type": ["co_retweet"] * 4 + ["co_link"] * 2}
    assert sorted(res.graph.edges(keys=True)) == [("A", "E", 0), ("B", "C", 0), ("C", "B", 0),
                                                  ("C", "D", 0), ("D", "C", 0), ("E", "A", 0)]


@pytest.mark.slow  # a fresh interpreter importing pandas and cib: a few seconds
def test_cnt_mode_works_without_numba(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['numba'] = None\n"
        "from cib.coaction import compat_cnt as cc\n"
        "from cib.compat import run_cnt\n"
        "assert not cc.HAVE_NUMBA\n"
        f"m = cc.read_cnt_csv({str(DATA / 'tiny.csv.gz')!r})\n"
        "e = cc.cnt_edges(m, 'co_retweet')\n"
        "assert e['user_1'].tolist() == ['B', 'C', 'C', 'D'], e\n"
        f"run_cnt(m).write({str(tmp_path / 'out')!r})\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert (tmp_path / "out" / "graph.gexf").exists()


@settings(max_examples=50, deadline=None)
@given(chunks=st.lists(st.lists(st.sampled_from(["", "a", "b", "é", "007", "7"]), max_size=6),
                       min_size=1, max_size=4), data=st.data())
def test_factorize_chunked_strings_like_pandas(chunks, data) -> None:
    import pyarrow as pa

    values = pd.Series(pa.chunked_array([pa.array(c, pa.large_string()) for c in chunks]),
                       dtype=cc._STR)
    n = len(values)
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=n)))
                    if n else [], dtype=np.int64)
    for sub in [None, rows]:
        codes, uniques = cc._factorize(values, sub)
        want_codes, want_uniques = pd.factorize(np.asarray(values, dtype=object)[
            slice(None) if sub is None else sub])
        assert codes.tolist() == want_codes.tolist()
        assert cc._objects(uniques).tolist() == list(want_uniques)
