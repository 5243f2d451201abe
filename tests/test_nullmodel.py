"""Significance: lockstep groups pass, organic crowds (bursts on viral posts) do not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cib.coaction import coactions, combine_edges, edges_per_kind
from cib.graph import threshold_edges
from cib.nullmodel import benjamini_hochberg, cluster_pvalues, edge_significance, pair_chance

from _helpers import make_traces


def scenario(seed: int = 0) -> pd.DataFrame:
    """200 organic accounts, slow organic sharing of 300 posts, 4 viral posts with bursts, and a
    lockstep group g0..g3 that co-reposts 12 ordinary posts within seconds."""
    rng = np.random.default_rng(seed)
    rows = []
    organic = [f"o{i:03d}" for i in range(200)]
    for p in range(300):
        t0 = p * 3000
        for acc in rng.choice(organic, size=rng.integers(3, 9), replace=False):
            rows.append((acc, int(t0 + rng.exponential(5000)), "repost", f"p{p}"))
    for v in range(4):  # viral: 150 accounts within 5 minutes
        t0 = 2_000_000 + v * 50_000
        for acc in rng.choice(organic, size=150, replace=False):
            rows.append((acc, int(t0 + rng.uniform(0, 300)), "repost", f"viral{v}"))
    group = ["g0", "g1", "g2", "g3"]
    for k, p in enumerate(rng.choice(300, size=12, replace=False)):
        t0 = int(p) * 3000 + 1000
        for acc in group:
            rows.append((acc, t0 + int(rng.integers(0, 10)), "repost", f"p{p}"))
    return make_traces(rows)


def test_lockstep_edges_significant_and_viral_pairs_not():
    tr = scenario()
    pairs = coactions(tr, 60)
    cand = threshold_edges(combine_edges(edges_per_kind(pairs, tr), pairs), 2)
    sig = edge_significance(cand, tr, window=60, min_weight=2, fdr_runs=10)
    is_group = sig["account_u"].str.startswith("g") & sig["account_v"].str.startswith("g")
    assert is_group.sum() == 6
    assert (sig.loc[is_group, "p_value"] < 1e-4).all()
    assert (sig.loc[is_group, "q_value"] <= 1 / 11).all()
    # organic pairs co-reposting the viral posts within the window are not significant
    assert (sig.loc[~is_group, "q_value"] > 0.05).all()
    assert (~is_group).sum() > 100


def test_pair_chance_is_high_for_viral_low_for_slow_posts():
    tr = scenario()
    pairs = coactions(tr, 60)
    cand = threshold_edges(combine_edges(edges_per_kind(pairs, tr), pairs), 2)
    chance = pair_chance(tr, 60, exclude=cand[cand["account_u"].str.startswith("g")])
    assert chance.loc[("repost", "viral0")] > 0.2
    slow = chance[[k for k in chance.index if k[1].startswith("p")]]
    assert slow.median() < 0.05
    # without leaving the group's pairs out, its lockstep objects inflate the chance
    assert pair_chance(tr, 60)[slow.index].mean() > slow.mean()


def test_cluster_pvalues_group_significant_random_sets_calibrated():
    tr = scenario()
    rng = np.random.default_rng(5)
    labels = {"g0": 0, "g1": 0, "g2": 0, "g3": 0, "o199": -1}
    organic = [f"o{i:03d}" for i in range(199)]
    for c in range(1, 41):  # 40 random sets of 4 organic accounts
        for acc in rng.choice(organic, 4, replace=False):
            labels.setdefault(str(acc), c)
    labels = pd.Series(labels)
    res = cluster_pvalues(tr, labels, window=60, n_null=40, seed=1)
    assert res["cluster_id"].tolist() == list(range(41))
    assert res.loc[0, "p_value"] == pytest.approx(1 / 41)
    # random sets: p-values roughly uniform, few below 0.05
    assert (res.loc[1:, "p_value"] <= 0.05).mean() <= 0.1
    assert res.loc[1:, "p_value"].median() > 0.3
    again = cluster_pvalues(tr, labels, window=60, n_null=40, seed=1)
    pd.testing.assert_frame_equal(res, again)


def test_benjamini_hochberg():
    q = benjamini_hochberg(np.array([0.001, 0.01, 0.02, 0.9]))
    assert q.tolist() == pytest.approx([0.004, 0.02, 0.02 * 4 / 3, 0.9])
    assert benjamini_hochberg(np.array([0.01]), m=100)[0] == pytest.approx(1.0)


def test_group_with_its_own_popularity_class_is_still_found():
    # 6 bots push 15 posts that only they share (6 shares each, within seconds); no organic post
    # has exactly 6 shares. Popularity bins too thin to hold other objects must be pooled with
    # their neighbours, or the null model would only swap the group's lockstep with itself.
    rng = np.random.default_rng(3)
    rows = []
    organic = [f"o{i:03d}" for i in range(150)]
    for p in range(400):
        size = int(rng.choice([3, 4, 5, 7, 8, 9]))
        t0 = p * 2000
        for acc in rng.choice(organic, size=size, replace=False):
            rows.append((acc, int(t0 + rng.exponential(4000)), "repost", f"p{p}"))
    bots = [f"b{i}" for i in range(6)]
    for k in range(15):
        t0 = 5_000 + k * 40_000
        for acc in bots:
            rows.append((acc, t0 + int(rng.integers(0, 15)), "repost", f"push{k}"))
    tr = make_traces(rows)
    pairs = coactions(tr, 60)
    cand = threshold_edges(combine_edges(edges_per_kind(pairs, tr), pairs), 2)
    sig = edge_significance(cand, tr, window=60, min_weight=2, fdr_runs=10)
    bot = sig["account_u"].str.startswith("b") & sig["account_v"].str.startswith("b")
    assert bot.sum() == 15
    assert (sig.loc[bot, "q_value"] <= 0.01).all()


def test_pairs_far_beyond_expectation_do_not_tie_at_p_zero():
    from cib.nullmodel import _Coded

    from _helpers import make_traces

    # two pairs: one co-acting 40 times, one 80 times, on objects nobody else shares in time
    rows = []
    for k in range(80):
        rows += [("a", 1000 * k, "repost", f"p{k}"), ("b", 1000 * k + 1, "repost", f"p{k}")]
    for k in range(40):
        rows += [("c", 1000 * k + 500, "repost", f"q{k}"), ("d", 1000 * k + 501, "repost", f"q{k}")]
    rng = np.random.default_rng(0)
    for k in range(600):  # background: objects of the same popularity, shared far apart
        x, y = rng.choice(60, 2, replace=False)
        t = int(rng.integers(0, 80_000))
        rows += [(f"o{x}", t, "repost", f"r{k}"), (f"o{y}", t + int(rng.integers(600, 5000)), "repost", f"r{k}")]
    tr = make_traces(rows)
    edges = pd.DataFrame({"account_u": ["a", "c"], "account_v": ["b", "d"], "weight": [80, 40]})
    out = edge_significance(edges, tr, 60, fdr_runs=3, seed=1)
    lp = out["log10_p"].tolist()
    assert lp[0] < lp[1] < -20
    assert (out["q_value"] < 0.01).all()


def test_lone_pairs_that_barely_pass_the_edge_test_are_not_flagged():
    """A false edge makes a whole false cluster: on a small data set with few true edges, the
    edge FDR lets a handful of organic pairs through (each a 2- or 3-account cluster beyond
    every fixed-membership null run). Tree-shaped clusters get a cluster-level false discovery
    rate (q_value) and are not flagged on one weak edge; dense planted clusters are. (Whether
    organic pairs pass the edge FDR at all depends on the null's draw: none at detect seeds
    0 and 1, four at seed 3, used here.)"""
    import cib
    from cib.scenarios import simulate_scenarios

    actions, truth = simulate_scenarios("slow", n_accounts=1500, seed=7)
    det = cib.detect(actions, n_null=50, discovery_runs=5, seed=3)
    cl = det.clusters
    planted = set(truth.loc[truth["group"] >= 0, "account_id"])
    flagged = set(det.members.loc[det.members["cluster_id"].isin(
        cl.loc[cl["flagged"], "cluster_id"]), "account_id"])
    assert flagged <= planted
    assert len(flagged) >= 0.9 * len(planted)
    tree = cl["n_edges"] == cl["n_accounts"] - 1
    assert (tree & (cl["q_value"] > 0.05) & ~cl["flagged"]).any()
    # the lone pairs would pass the fixed-membership test alone
    assert (cl.loc[tree & ~cl["flagged"], "p_value"] <= 0.05).all()
    # dense clusters have no tree-shaped selection to correct (NaN)
    assert cl.loc[~tree & (cl["found_by"] == "edges"), "q_value"].isna().all()


def test_null_donors_can_be_restricted():
    """TimeSwapNull(donors=...): objects that may not donate never lend their times."""
    from cib.nullmodel import TimeSwapNull, _Coded

    rows = []
    # 30 objects of 3 shares each (one popularity bin): object 0 in a burst at t = 0..2,
    # the others spread over the day from t = 10,000 on
    for k in range(30):
        for j in range(3):
            t = j if k == 0 else 10_000 + 1000 * k + 300 * j
            rows.append((f"a{(k * 3 + j) % 40}", t, "repost", f"p{k}"))
    c = _Coded(make_traces(rows))
    null = TimeSwapNull.from_coded(c)
    burst = c.group_object == "p0"
    assert burst.sum() == 1
    donors = ~burst
    early = 10_000 * 10**9
    for seed in range(20):
        t = null.sample(np.random.default_rng(seed), donors=donors)
        plain = null.sample(np.random.default_rng(seed))
        assert (t >= early).all()
        # without the restriction, the burst's profile always goes to some object
        assert (plain < early).sum() == 3


def test_pair_events_in_chunks_equal_one_pass(monkeypatch):
    """Distinct events per pair, counted in pieces cut between ranges of the smaller account
    (bounded memory at scale), equal those of one pass over all co-actions."""
    import cib.nullmodel as nm
    from cib.coaction._engine import SortedTraces
    from cib.datasets import simulate
    from cib.traces import build_traces

    actions, _ = simulate(n_accounts=300, n_groups=3, seed=4)
    coded = nm._Coded(build_traces(actions))
    coded.set_authors(actions)
    st = SortedTraces(coded, window_ns=60 * 10**9)
    e = st.edges(1)
    tu, tv = e["u"].astype(np.int64), e["v"].astype(np.int64)
    i, j = st.select(pairs=(tu, tv))
    assert i.size > 1000
    # a pair with no co-action in the selection gets 0
    tu2, tv2 = np.append(tu, 0), np.append(tv, coded.n_accounts - 1)
    one = coded.pair_events(i, j, tu2, tv2)
    eu, ev, en = coded.coaction_events(i, j)
    n = coded.n_accounts
    reference = pd.Series(en, index=eu * n + ev).reindex(tu2 * n + tv2).fillna(0)
    np.testing.assert_array_equal(one, reference.to_numpy(dtype=np.int64))
    assert (one[:-1] >= 1).all() and one[-1] == 0
    for chunk in (1, 37, 500):
        monkeypatch.setattr(nm, "EVENT_CHUNK_COACTIONS", chunk)
        pieces = list(nm._pair_chunks(coded.account, i, j, coded.n_accounts, chunk))
        assert len(pieces) > 1 and sum(p.size for p in pieces) == i.size
        np.testing.assert_array_equal(coded.pair_events(i, j, tu2, tv2), one)


def test_set_authors_takes_the_first_row_of_an_action_id():
    """The authors of reposted / quoted / replied-to posts, looked up among the actions, are
    those of a lookup in the actions without repeated ids (first row kept), row for row."""
    from cib.datasets import simulate
    from cib.nullmodel import _Coded
    from cib.traces import build_traces

    actions, _ = simulate(n_accounts=500, n_groups=3, seed=5)
    c = _Coded(build_traces(actions))
    # the first 50 actions again, by another account: the first rows must win
    dup = pd.concat([actions, actions.iloc[:50].assign(account_id="zzz")], ignore_index=True)
    for acts in (actions, dup, actions.iloc[::-1]):
        c.set_authors(acts)
        rk = np.isin(c.kind_names[c.group_kind], ["repost", "quote", "reply"])
        posts = acts[["action_id", "account_id"]].drop_duplicates("action_id")
        pos = pd.Index(posts["action_id"].astype(str)).get_indexer(
            pd.Index(c.group_object[rk]).astype(str))
        want = np.full(int(rk.sum()), -1, dtype=np.int64)
        hit = pos >= 0
        want[hit] = pd.factorize(posts["account_id"].to_numpy(dtype=object)[pos[hit]],
                                 sort=True)[0]
        assert np.array_equal(c.group_author[rk], want)
        assert hit.sum() > 100 and (c.group_author[~rk] == -1).all()
