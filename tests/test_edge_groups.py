"""Co-action edges tested as groups (cib.nullmodel._edge_groups): groups that hide their pushes
in organic activity, whose pairs are each only moderately significant."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import cib
from cib.nullmodel import _edge_groups
from cib.scenarios import simulate_scenarios


def _clique(accounts):
    u, v = np.triu_indices(len(accounts), 1)
    a = np.asarray(accounts)
    return a[u], a[v]


def test_weak_pairs_of_one_group_are_a_group_and_strong_groups_stay_out_of_the_null():
    """Observed: group A (accounts 0-9) with every pair significant on its own, group B (10-29)
    with every pair at p = 1e-4 but q = 0.1. Every null run re-makes A at full strength (its
    pushes exchange time profiles with each other) and scatters weak pairs elsewhere. B is a
    group (its pairs get its group index and a rate <= fdr); A's accounts are left out (already
    found), in the observed data and the null runs alike, so A's re-making hides nothing."""
    rng = np.random.default_rng(0)
    n = 400
    au, av = _clique(range(10))
    bu, bv = _clique(range(10, 30))
    tu = np.r_[au, bu]
    tv = np.r_[av, bv]
    p = np.r_[np.full(au.size, 1e-12), np.full(bu.size, 1e-4)]
    q = np.r_[np.full(au.size, 1e-6), np.full(bu.size, 0.1)]
    null_pairs = []
    for _ in range(20):
        ru = rng.integers(30, n, 40)
        rv = rng.integers(30, n, 40)
        ok = ru != rv
        nu = np.r_[au, np.minimum(ru, rv)[ok]]
        nv = np.r_[av, np.maximum(ru, rv)[ok]]
        nlp = np.log(np.r_[np.full(au.size, 1e-12), np.full(int(ok.sum()), 5e-4)])
        null_pairs.append((nu, nv, nlp))
    group, gq = _edge_groups(n, tu, tv, p, q, null_pairs, seed=0, fdr=0.01)
    assert gq.size == 1 and gq[0] <= 0.01
    assert (group[au.size:] == 0).all()
    assert (group[:au.size] == -1).all()
    # without A's accounts left out, its re-making in every null run would hide B: the same
    # pairs with A's q above fdr
    group2, gq2 = _edge_groups(n, tu, tv, p, np.full(q.size, 0.1), null_pairs, seed=0,
                               fdr=0.01)
    assert not (group2 >= 0).any()


def test_no_group_from_scattered_pairs():
    """Pairs at p <= 1e-3 scattered over many accounts, as in the null runs: no group."""
    rng = np.random.default_rng(1)
    n = 2000

    def scattered(k):
        u, v = rng.integers(0, n, k), rng.integers(0, n, k)
        ok = u != v
        return np.minimum(u, v)[ok], np.maximum(u, v)[ok]

    tu, tv = scattered(300)
    p = np.full(tu.size, 5e-4)
    null_pairs = []
    for _ in range(20):
        nu, nv = scattered(300)
        null_pairs.append((nu, nv, np.log(np.full(nu.size, 5e-4))))
    group, gq = _edge_groups(n, tu, tv, p, np.full(tu.size, 0.5), null_pairs, seed=0, fdr=0.01)
    assert not (group >= 0).any() and gq.size == 0


@pytest.fixture(scope="module")
def seed602():
    return simulate_scenarios("all", n_accounts=5000, seed=602)


def test_camouflaged_groups_are_found_by_edge_groups(seed602):
    """Scenario seed 602 (5,000 accounts): three camouflaged groups (5, 20 and 22 accounts,
    pushes a tenth of their activity, many of them on posts hundreds of others reshare) are
    missed by every other test, their pairs at p ~ 1e-4 but q ~ 0.1. Edge groups find them,
    every flagged account is planted and no trap or organic account is flagged;
    ``edge_groups=False`` (the CLI's ``--no-edge-groups``) loses them."""
    actions, truth = seed602
    cam = set(truth.loc[truth["scenario"] == "camouflage", "account_id"])
    planted = set(truth.loc[truth["group"] >= 0, "account_id"])
    det = cib.detect(actions)
    assert det.manifest["parameters"]["edge_groups"] is True
    flagged_ids = det.clusters.loc[det.clusters["flagged"], "cluster_id"]
    flagged = set(det.members.loc[det.members["cluster_id"].isin(flagged_ids), "account_id"])
    assert flagged <= planted
    assert len(flagged & cam) >= 40
    e = det.edges
    grouped = e[e["edge_group"] >= 0]
    assert len(grouped) >= 300
    assert (grouped["q_value"] <= 0.01).all() and (grouped["p_value"] <= 1e-3).all()
    assert set(grouped["account_u"]) | set(grouped["account_v"]) <= planted
    off = cib.detect(actions, edge_groups=False)
    assert (off.edges["edge_group"] == -1).all()
    fids = off.clusters.loc[off.clusters["flagged"], "cluster_id"]
    off_flagged = set(off.members.loc[off.members["cluster_id"].isin(fids), "account_id"])
    assert len(off_flagged & cam) <= 5


def test_cli_edge_groups_option(tmp_path):
    """``--no-edge-groups`` reaches detect (manifest) and edges.csv keeps its ``edge_group``
    column, all -1; by default the column is there and the parameter on."""
    from click.testing import CliRunner

    from cib.cli import main

    actions, _ = simulate_scenarios("camouflage,lockstep", n_accounts=1500, seed=3)
    src = tmp_path / "in.parquet"
    actions.to_parquet(src)
    runner = CliRunner()
    for flag, on in (("--edge-groups", True), ("--no-edge-groups", False)):
        out = tmp_path / flag
        res = runner.invoke(main, ["-q", "detect", str(src), "-o", str(out), flag,
                                   "--n-null", "20"])
        assert res.exit_code == 0, res.output
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["parameters"]["edge_groups"] is on
        edges = pd.read_csv(out / "edges.csv")
        assert "edge_group" in edges.columns
        if not on:
            assert (edges["edge_group"] == -1).all()


def test_communities_the_tested_pairs_do_not_tell_apart_are_merged():
    """_merge_split: a group cut in two by Leiden (its strong pairs in one community, the rest
    in another) is one again when its pairs across the cut are as far beyond chance as those
    inside; two groups with a few strong pairs between them stay apart; labels are renumbered
    by decreasing size and unclustered accounts keep -1."""
    from cib.pipeline import MERGE_DENSITY, _merge_split

    a = [f"a{i}" for i in range(8)]
    b = [f"b{i}" for i in range(6)]
    c = [f"c{i}" for i in range(5)]
    rows = []

    def pairs(xs, ys=None, p=1e-5):
        out = []
        if ys is None:
            for i in range(len(xs)):
                for j in range(i + 1, len(xs)):
                    out.append((xs[i], xs[j], p))
        else:
            out = [(x, y, p) for x in xs for y in ys]
        return out

    rows += pairs(a) + pairs(b) + pairs(c)
    rows += pairs(a, b, p=1e-4)                           # a and b: one group, cut in two
    rows += pairs(a[:1], c[:3], p=1e-4)                   # a and c: three strong pairs only
    rows += pairs(a[1:3], c[3:], p=0.2)                   # weak pairs never count
    cand = pd.DataFrame(rows, columns=["account_u", "account_v", "p_value"])
    labels = pd.Series({**{x: 2 for x in a}, **{x: 0 for x in b}, **{x: 1 for x in c},
                        "lone": -1})
    assert MERGE_DENSITY == 0.5
    out = _merge_split(labels, cand)
    assert out["lone"] == -1
    assert out[a + b].nunique() == 1 and out[a[0]] == 0    # 14 accounts: the largest
    assert out[c].nunique() == 1 and out[c[0]] == 1
    # without the cross pairs, nothing changes
    same = _merge_split(labels, cand[~cand["account_u"].str[0].ne(cand["account_v"].str[0])])
    assert same.equals(labels)


def test_an_account_hanging_on_one_timing_pair_leaves_a_coaction_group():
    """_drop_timing_pendants: in a co-action community of 4 or more, an account whose only edge
    inside it is one timing pair (weight 0: no shared object) leaves it; one co-action edge, or
    two timing pairs, keep an account in; communities of 3, and groups found by timing alone,
    are left alone."""
    from cib.pipeline import _drop_timing_pendants

    g = ["g0", "g1", "g2", "g3", "g4"]
    rows = [(u, v, 3) for i, u in enumerate(g) for v in g[i + 1:]]
    rows += [("g0", "t", 0), ("g1", "s", 2), ("g2", "w", 0), ("g3", "w", 0)]
    rows += [("h0", "h1", 4), ("h1", "x", 0)]                  # a community of 3
    edges = pd.DataFrame(rows, columns=["account_u", "account_v", "weight"])
    labels = pd.Series({**{a: 0 for a in g}, "t": 0, "s": 0, "w": 0,
                        "h0": 1, "h1": 1, "x": 1, "lone": -1})
    out = _drop_timing_pendants(labels, edges)
    assert out["t"] == -1
    assert (out[g + ["s", "w"]] == 0).all()
    assert (out[["h0", "h1", "x"]] == 1).all() and out["lone"] == -1
    # a group found by posting times alone (a star of timing pairs): left as it is
    star = pd.DataFrame([("c", f"l{i}", 0) for i in range(4)],
                        columns=["account_u", "account_v", "weight"])
    labels = pd.Series({"c": 0, **{f"l{i}": 0 for i in range(4)}})
    assert _drop_timing_pendants(labels, star).equals(labels)
