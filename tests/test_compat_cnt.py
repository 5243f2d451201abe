"""CNT (coordination-network-toolkit 1.5.2) compatibility mode.

The fixtures under tests/data/cnt/ are CNT's own exports. They were made by running the real tool
on the synthetic inputs stored next to them (``bench/compare_cnt.py --make-fixtures``; commands
in MANIFEST.json). These tests compare against the saved files and do not need CNT installed.
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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
    """The fallback used when (user, user, message) codes would not fit in one int64."""
    import cib.coaction.compat_cnt as mod

    runs = [r for n, r in RUNS if n == name and r["time_window"] == 60]
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
