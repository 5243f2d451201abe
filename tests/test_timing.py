"""Timing similarity (cib.timing): synchronised schedules without a shared object are found,
organic accounts and brand schedulers posting on the hour are not; the merge into EDGES and the
combined cluster test."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import cib
from cib.cli import main
from cib.timing import merge_timing, post_bins, timing_edges, timing_pvalues

START = pd.Timestamp("2024-03-01", tz="UTC")
_WORDS = np.random.default_rng(99)
_VOCAB = np.array(["".join(_WORDS.choice(list("abcdefghijklmnopqrstuvwxyz"), 6)) for _ in range(3000)])
DAYS = 4


def _posts(rows):
    df = pd.DataFrame(rows, columns=["account_id", "timestamp"])
    n = len(df)
    return pd.DataFrame({
        "action_id": [f"x{k}" for k in range(n)], "account_id": df["account_id"],
        "timestamp": pd.to_datetime(df["timestamp"], utc=True).astype("datetime64[ns, UTC]"),
        "action_type": pd.Categorical(["post"] * n, categories=["post", "repost", "reply", "quote"]),
        "parent_id": None, "text": [" ".join(_WORDS.choice(_VOCAB, 8)) for _ in range(n)],
        "urls": [[] for _ in range(n)], "hashtags": [[] for _ in range(n)],
        "mentions": [[] for _ in range(n)], "media": [[] for _ in range(n)], "platform": "test"})


def _world(seed=0, n_organic=300, n_brands=30, schedule_size=6):
    rng = np.random.default_rng(seed)
    rows = []
    # organic: heavy-tailed activity, daytime rhythm
    for k in range(n_organic):
        n = int(rng.lognormal(2.0, 1.0)) + 1
        day = rng.integers(0, DAYS, n)
        sec = (rng.normal(14, 3.5, n).clip(0, 23.99) * 3600).astype(int)
        rows += [(f"o{k:04d}", START + pd.Timedelta(days=int(d), seconds=int(s)))
                 for d, s in zip(day, sec)]
    # brand schedulers: each its own hours, always at hh:00:00
    for k in range(n_brands):
        hours = rng.choice(np.arange(7, 22), size=rng.integers(3, 8), replace=False)
        rows += [(f"b{k:03d}", START + pd.Timedelta(days=d, hours=int(h)))
                 for d in range(DAYS) for h in hours]
    # a schedule group: own posts at the same idiosyncratic moments, a few times a day
    slots = [START + pd.Timedelta(days=d, seconds=int(s)) for d in range(DAYS)
             for s in rng.integers(6 * 3600, 23 * 3600, 3)]
    for k in range(schedule_size):
        rows += [(f"s{k}", t + pd.Timedelta(seconds=int(rng.integers(0, 40)))) for t in slots]
    return _posts(rows)


def test_schedule_group_found_organic_and_brands_not():
    a = _world()
    e = timing_edges(a)
    sig = e[e["significant"]]
    pairs = set(zip(sig["account_u"], sig["account_v"]))
    group = {(f"s{i}", f"s{j}") for i in range(6) for j in range(i + 1, 6)}
    assert group <= pairs
    assert pairs == group  # no organic account, no brand posting on the hour


def test_brands_share_many_bins_yet_the_hour_shift_explains_them():
    a = _world()
    e = timing_edges(a, pairs="all")
    brands = e[e["account_u"].str.startswith("b") & e["account_v"].str.startswith("b")]
    assert len(brands) and brands["weight"].max() >= 3
    assert not brands["significant"].any()


@pytest.mark.parametrize("pairs", ["significant", "all"])
def test_timing_edges_invariant_to_row_order(pairs):
    a = _world(seed=3)
    e1 = timing_edges(a, pairs=pairs)
    e2 = timing_edges(a.sample(frac=1, random_state=2).reset_index(drop=True), pairs=pairs)
    pd.testing.assert_frame_equal(e1, e2)
    assert len(e1) and e1.attrs == e2.attrs


def test_reposts_are_not_timing_evidence():
    a = _world()
    a.loc[a["account_id"].str.startswith("s"), "action_type"] = "repost"
    assert not timing_edges(a)["significant"].any()
    assert not post_bins(a)["account_id"].str.startswith("s").any()


def test_bin_boundaries():
    # 59 s apart in the same minute bin: common; across a minute boundary: not
    t = [START + pd.Timedelta(hours=h) for h in (1, 5, 9)]
    rows = [("a", x) for x in t] + [("b", x + pd.Timedelta(seconds=59)) for x in t]
    e = timing_edges(_posts(rows), min_common=3, pairs="all")
    assert e["weight"].tolist() == [3]
    rows = [("a", x) for x in t] + [("b", x + pd.Timedelta(seconds=60)) for x in t]
    e = timing_edges(_posts(rows), min_common=1, pairs="all")
    assert e.empty and e.attrs["pairs_tested"] == 0


def test_timing_pvalues_and_min_p_combination():
    a = _world()
    labels = pd.Series({**{f"s{k}": 0 for k in range(6)}, **{f"o{k:04d}": 1 for k in range(8)}})
    r = timing_pvalues(a, labels, n_null=50)
    assert r.loc[0, "p_value"] <= 1 / 51 + 1e-12
    assert r.loc[1, "p_value"] > 0.05


def test_merge_timing_adds_rows_and_kinds():
    e = pd.DataFrame({"account_u": ["a"], "account_v": ["b"], "weight": [3], "weighted": [2.0],
                      "kinds": ["repost"], "w_repost": [3], "significant": [False]})
    t = pd.DataFrame({"account_u": ["a", "c"], "account_v": ["b", "d"], "weight": [5, 4],
                      "weighted": [1.0, 0.5], "p_value": [1e-9, 1e-8], "q_value": [1e-5, 1e-4],
                      "significant": [True, True]})
    m = merge_timing(e, t)
    assert m["kinds"].tolist() == ["repost,timing", "timing"]
    assert m["significant"].tolist() == [True, True]
    assert m["weighted"].tolist() == [3.0, 0.5]
    assert m["w_timing"].tolist() == [5, 4] and m["weight"].tolist() == [3, 0]
    assert "w_timing" not in e  # the input is left as it was


def test_merge_timing_only_matches_both_accounts_of_a_pair():
    """Rows are matched on the pair, not on either account alone (the pre-filter by accounts
    keeps rows whose accounts are in different timing pairs), and ``copy=False`` gives the
    same table, built on the input."""
    e = pd.DataFrame({"account_u": ["a", "a", "c", "x"], "account_v": ["b", "d", "b", "y"],
                      "weight": [3, 2, 2, 2], "weighted": [2.0, 1.0, 1.0, 1.0],
                      "kinds": ["repost"] * 4, "w_repost": [3, 2, 2, 2],
                      "significant": [False] * 4})
    t = pd.DataFrame({"account_u": ["a", "c"], "account_v": ["b", "d"], "weight": [5, 4],
                      "weighted": [1.0, 0.5], "p_value": [1e-9, 1e-8], "q_value": [1e-5, 1e-4],
                      "significant": [True, True]})
    m = merge_timing(e, t)
    assert m["account_u"].tolist() == ["a", "a", "c", "c", "x"]  # sorted by pair
    assert m["account_v"].tolist() == ["b", "d", "b", "d", "y"]
    assert m["kinds"].tolist() == ["repost,timing", "repost", "repost", "timing", "repost"]
    assert m["w_timing"].tolist() == [5, 0, 0, 4, 0]
    inplace = merge_timing(e.copy(), t, copy=False)
    pd.testing.assert_frame_equal(inplace, m)


def test_detect_flags_a_schedule_group_with_no_shared_object():
    a = _world()
    det = cib.detect(a, n_null=30, fdr_runs=3)
    flagged = det.members[det.members["in_flagged"]]["account_id"]
    assert set(flagged) == {f"s{k}" for k in range(6)}
    c = det.flagged.iloc[0]
    assert c["n_objects"] == 0 and c["score"] > 0
    off = cib.detect(a, n_null=30, fdr_runs=3, timing=False)
    assert off.flagged.empty and off.timing_edges.empty


def test_cli_no_timing_and_timing_table(tmp_path):
    a = _world()
    path = tmp_path / "a.parquet"
    a.to_parquet(path)
    res = CliRunner().invoke(main, ["detect", str(path), "-o", str(tmp_path / "o"),
                                    "--n-null", "20", "--fdr-runs", "2"])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "o" / "timing_edges.csv")
    assert t["significant"].sum() == 15 == len(t)
    # every tested pair on demand; the significant rows and the rest of the run unchanged
    res = CliRunner().invoke(main, ["detect", str(path), "-o", str(tmp_path / "all"),
                                    "--n-null", "20", "--fdr-runs", "2", "--timing-pairs", "all"])
    assert res.exit_code == 0, res.output
    every = pd.read_csv(tmp_path / "all" / "timing_edges.csv")
    assert len(every) > 100
    pd.testing.assert_frame_equal(every[every["significant"]].reset_index(drop=True), t)
    m1, m2 = (json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("o", "all"))
    assert m1["counts"] == m2["counts"] and m1["counts"]["timing_pairs_tested"] == len(every)
    assert (m1["parameters"]["timing_pairs"], m2["parameters"]["timing_pairs"]) == (
        "significant", "all")
    for f in ("clusters.csv", "members.csv", "edges.csv"):
        assert (tmp_path / "o" / f).read_bytes() == (tmp_path / "all" / f).read_bytes()
    res = CliRunner().invoke(main, ["detect", str(path), "-o", str(tmp_path / "o2"),
                                    "--no-timing", "--n-null", "20", "--fdr-runs", "2"])
    assert res.exit_code == 0, res.output
    assert "0 flagged" in res.output


@pytest.mark.parametrize("bad", ["7s", "0"])
def test_timing_bin_must_divide_an_hour(bad):
    with pytest.raises((ValueError, cib.errors.CibError)):
        timing_edges(_world(), bin_s=bad)


def test_timing_cluster_says_timing_in_kinds_and_scores_above_zero():
    det = cib.detect(_world(), n_null=30, fdr_runs=3)
    c = det.flagged.iloc[0]
    assert c["kinds"] == "timing" and c["score"] > 0
    assert "pairs with synchronised posting times" in det.summary()


def test_empty_members_table_keeps_its_dtypes():
    det = cib.detect(_world(), n_null=5, fdr_runs=2, timing=False)
    assert det.members.empty and det.members["in_flagged"].dtype == bool
    assert det.members[det.members["in_flagged"]].empty


def test_graph_files_keep_the_strongest_edges_when_the_graph_is_huge(tmp_path, monkeypatch):
    import json

    import networkx as nx

    import cib.pipeline as P

    det = cib.detect(_world(), n_null=10, fdr_runs=2)
    n = len(det.graph_edges)
    monkeypatch.setattr(P, "MAX_GRAPH_FILE_EDGES", 5)
    det.write(tmp_path / "o")
    g = nx.read_graphml(tmp_path / "o" / "graph.graphml")
    assert g.number_of_edges() == 5 < n
    assert len(pd.read_csv(tmp_path / "o" / "edges.csv")) == len(det.edges)
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["graph_files"] == {"edges_written": 5, "edges_total": n}
    assert any("strongest" in w for w in m["warnings"])


def _crowd_with_group(seed=1, n_background=2000, group=15, posts=20):
    """Background accounts posting at random minutes over 3 days; a group whose members share
    three idiosyncratic minutes and post at random otherwise (pairs ~3e-4 each)."""
    rng = np.random.default_rng(seed)
    span = 3 * 86400
    rows = []
    for k in range(n_background):
        rows += [(f"o{k:04d}", START + pd.Timedelta(seconds=int(s)))
                 for s in rng.integers(0, span, posts)]
    slots = rng.integers(0, span // 60, 3) * 60  # minute starts: the jitter stays in the bin
    for k in range(group):
        own = np.r_[slots + rng.integers(0, 30, 3), rng.integers(0, span, posts)]
        rows += [(f"g{k:02d}", START + pd.Timedelta(seconds=int(s))) for s in own]
    return _posts(rows)


def test_a_group_is_found_where_its_pairs_are_lost_among_all_pairs():
    """Each pair of the group is ~1e-4 to 1e-3 on its own, far from significant once every
    pair of 2,015 posting accounts could have been tested; the group of 15 holds 105 of
    them, which random whole-hour shifts of the schedules never give. Its pairs get the group's
    q-value and ``timing_group``; no background account joins it."""
    a = _crowd_with_group()
    plain = timing_edges(a, groups=False, pairs="all")
    g = plain[plain["account_u"].str.startswith("g") & plain["account_v"].str.startswith("g")]
    assert len(g) >= 90 and not plain["significant"].any()
    assert (plain["timing_group"] == -1).all()
    e = timing_edges(a, pairs="all")
    sig = e[e["significant"]]
    members = set(sig["account_u"]) | set(sig["account_v"])
    assert members == {f"g{k:02d}" for k in range(15)}
    assert (sig["timing_group"] == 0).all() and (sig["q_value"] < 1e-4).all()
    # a background pair keeps its own q-value
    bg = e[e["account_u"].str.startswith("o")]
    assert len(bg) > 50 and (bg["timing_group"] == -1).all()
    pd.testing.assert_series_equal(bg["q_value"], plain.loc[bg.index, "q_value"])
    # the same seed gives the same table; no null runs, no groups
    pd.testing.assert_frame_equal(e, timing_edges(a, pairs="all"))
    assert timing_edges(a, null_runs=0).empty


def test_an_account_with_few_ties_to_a_large_group_does_not_join_it():
    """Two weak pairs with members of a 15-account group: more than 1 % of the posting accounts
    would have two such pairs with it by chance, so the account is not a member."""
    a = _crowd_with_group()
    rng = np.random.default_rng(5)
    base = a[a["account_id"].isin(["g00", "g01"])]["timestamp"].iloc[[3, 4, 5, 26, 27, 28]]
    extra = [("x0", t + pd.Timedelta(seconds=5)) for t in base]
    extra += [("x0", START + pd.Timedelta(seconds=int(s)))
              for s in rng.integers(0, 3 * 86400, 14)]
    e = timing_edges(pd.concat([a, _posts(extra)], ignore_index=True))
    sig = e[e["significant"]]
    assert "x0" not in set(sig["account_u"]) | set(sig["account_v"])
    assert len(set(sig["account_u"]) | set(sig["account_v"])) == 15


def test_an_account_in_a_few_of_a_groups_minutes_does_not_join_it(monkeypatch):
    """A group of 16 posts in 20 shared minutes (each member in 12 of them); an outsider that
    posts in 3 of those minutes gets pairs with the few members who posted in all three, all at
    once, which the binomial member rule takes as independent. It needs such pairs with a third
    of the other members (TIMING_MEMBER_SHARE) and does not join; without that rule it does."""
    from cib import timing

    rng = np.random.default_rng(7)
    span = 3 * 86400
    rows = []
    for k in range(1500):
        rows += [(f"o{k:04d}", START + pd.Timedelta(seconds=int(s)))
                 for s in rng.integers(0, span, 20)]
    slots = np.sort(rng.choice(span // 60, 20, replace=False)) * 60
    for k in range(16):
        mine = rng.choice(slots, 12, replace=False) + rng.integers(0, 30, 12)
        rows += [(f"g{k:02d}", START + pd.Timedelta(seconds=int(s)))
                 for s in np.r_[mine, rng.integers(0, span, 10)]]
    outsider = rng.choice(slots, 3, replace=False) + 40
    rows += [("x0", START + pd.Timedelta(seconds=int(s)))
             for s in np.r_[outsider, rng.integers(0, span, 28)]]
    a = _posts(rows)

    def members(e):
        g = e[e["significant"] & (e["timing_group"] >= 0)]
        return set(g["account_u"]) | set(g["account_v"])

    got = members(timing_edges(a))
    assert got == {f"g{k:02d}" for k in range(16)}
    monkeypatch.setattr(timing, "TIMING_MEMBER_SHARE", 0.0)
    assert "x0" in members(timing_edges(a))


def _reference_pairs(a, bin_s=60, min_common=3, max_shift_h=3):
    """The timing pair test, one pair at a time with Python sets: every pair with at least
    ``min_common`` common bins."""
    from itertools import combinations

    from scipy.stats import poisson

    from cib.coaction._edges import popularity_discount

    pb = post_bins(a, bin_s)
    per_day = 86400 // bin_s
    by = {acc: g["bin"].tolist() for acc, g in pb.groupby("account_id", sort=True)}
    posters = pb["bin"].value_counts()
    span = int(pb["bin"].max() - pb["bin"].min() + 1)
    shifts = [h * 3600 // bin_s for h in range(-max_shift_h, max_shift_h + 1) if h]
    rows = []
    for u, v in combinations(sorted(by), 2):
        common = sorted(set(by[u]) & set(by[v]))
        if len(common) < min_common:
            continue
        weighted = 0.0
        for b in common:  # in ascending order, as the kernel adds them
            weighted += float(popularity_discount(np.array([posters[b]]))[0])
        times = len({b % per_day for b in common})
        total = sum(len({b % per_day for b in set(by[u]) & {x + s for x in by[v]}})
                    for s in shifts)
        expected = max(total / len(shifts), len(by[u]) * len(by[v]) / span)
        rows.append((u, v, len(common), times, weighted, len(by[u]), len(by[v]), expected,
                     float(poisson.sf(times - 1, max(expected, 1e-12)))))
    return pd.DataFrame(rows, columns=["account_u", "account_v", "weight", "times_of_day",
                                       "weighted", "n_posts_u", "n_posts_v", "expected",
                                       "p_value"])


@pytest.mark.parametrize("seed,min_common", [(0, 3), (1, 2), (2, 4), (3, 1)])
def test_pair_test_equals_a_pair_by_pair_reference(seed, min_common):
    """Every tested pair's figures equal those of a pair-by-pair reference with Python sets,
    exactly: accounts with fewer posts than min_common, schedules repeated on several days
    (one time of day), busy and quiet minutes, brands on the hour."""
    a = _world(seed, n_organic=120, n_brands=12)
    e = timing_edges(a, min_common=min_common, pairs="all", groups=False)
    ref = _reference_pairs(a, min_common=min_common)
    assert len(ref) > 50 and e.attrs["pairs_tested"] == len(ref)
    pd.testing.assert_frame_equal(e[ref.columns], ref.astype({"account_u": str, "account_v": str}),
                                  check_exact=True)


def test_skipped_pairs_are_exactly_those_beyond_the_bound():
    """With a bound, the pair test returns exactly the rows of all pairs whose p-value is
    within it (the floor-based skip never drops one that is), counts all as tested, and does
    not depend on how the accounts are split into blocks."""
    from cib.timing import _pair_tests, _prepare, _shifts

    a = _world(4, n_organic=400, n_brands=30)
    pb = post_bins(a)
    acc, _ = pd.factorize(pb["account_id"], sort=True)
    acc = acc.astype(np.int64)
    bins = pb["bin"].to_numpy(np.int64)
    posts = _prepare(acc, bins, int(acc.max()) + 1, 3)
    shifts = _shifts(60, 3)
    full = _pair_tests(posts, shifts, 1440, 3)
    assert posts.blocks.size > 3
    one = _pair_tests(posts._replace(blocks=np.array([0, acc.max() + 1])), shifts, 1440, 3)
    for x, y in zip(full, one):
        assert np.array_equal(x, y)
    p = full[6]
    for bound in (0.0, 1e-12, 1e-6, float(np.median(p)), 0.5, 1.0):
        got = _pair_tests(posts, shifts, 1440, 3, bound)
        keep = p <= bound
        assert got[-1] == full[-1] == p.size
        for x, y in zip(got[:-1], full[:-1]):
            assert np.array_equal(x, y[keep])


@pytest.mark.parametrize("groups", [False, True])
def test_significant_pairs_are_those_of_all_pairs_bit_for_bit(groups):
    """pairs="significant" skips most pairs, yet its rows are the significant rows of
    pairs="all", every value equal (q-values of Benjamini-Hochberg over all tested pairs,
    timing groups and their q-values)."""
    got = []
    for a in (_world(5), _crowd_with_group(2, n_background=800)):
        every = timing_edges(a, groups=groups, pairs="all")
        sig = timing_edges(a, groups=groups)
        assert sig["significant"].all() and sig.attrs == every.attrs == {
            "pairs_tested": len(every)}
        pd.testing.assert_frame_equal(sig, every[every["significant"]].reset_index(drop=True),
                                      check_exact=True)
        assert len(every) > len(sig)
        got.append(sig)
    both = pd.concat(got)
    assert len(both) and (both["timing_group"] >= 0).any() == groups


def _post_bins_reference(actions: pd.DataFrame, bin_s: float = 60) -> pd.DataFrame:
    """post_bins as a frame of strings: drop the duplicate (account, bin), sort by both."""
    from cib.schema import to_epoch_ns

    posts = actions[actions["action_type"].astype(str) == "post"]
    b = to_epoch_ns(posts["timestamp"]) // int(round(bin_s * 1e9))
    out = pd.DataFrame({"account_id": posts["account_id"].to_numpy(dtype=object), "bin": b})
    return out.drop_duplicates().sort_values(["account_id", "bin"], kind="mergesort",
                                             ignore_index=True)


@pytest.mark.parametrize("dtype", [object, "str"])
@pytest.mark.parametrize("n", [0, 1, 60, 3000])
def test_post_bins_against_the_frame_of_strings(dtype, n):
    """The integer coding of post_bins (Arrow strings never made Python strings) gives the
    frame of strings' rows and order: ids that sort differently by case, accents, astral
    characters and composed forms, times before 1970, every action type."""
    rng = np.random.default_rng(n)
    pool = np.array(["ä", "a", "B", "b", "\U0001F600x", "zz", "a\u0301", "Z"], dtype=object)
    acts = pd.DataFrame({
        "account_id": pd.Series(pool[rng.integers(0, len(pool), n)], dtype=dtype),
        "timestamp": pd.to_datetime(rng.integers(-10**11, 10**11, n) * 10**6, utc=True),
        "action_type": pd.Categorical(np.array(["post", "repost", "reply"])[
            rng.integers(0, 3, n)], categories=["post", "repost", "reply", "quote"])})
    for bin_s in (1, 60, 3600):
        got = post_bins(acts, bin_s)
        pd.testing.assert_frame_equal(got, _post_bins_reference(acts, bin_s))  # dtypes too
