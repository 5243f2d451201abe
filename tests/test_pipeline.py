"""cib.detect end to end: recovery of planted groups, determinism, invariants, real data."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import cib
from cib.datasets import simulate
from cib.errors import InputError, ParameterError
from cib.evaluate import evaluate
from cib.schema import CLUSTER_COLUMNS, EVIDENCE_COLUMNS, MEMBER_COLUMNS

from conftest import REAL, shared_file


@pytest.fixture(scope="module")
def sim():
    return simulate(n_accounts=3000, n_groups=6, seed=11)


@pytest.fixture(scope="module")
def det(sim):
    actions, _ = sim
    return cib.detect(actions, window="60s", seed=0)


def test_planted_groups_recovered(sim, det):
    _, truth = sim
    scores = evaluate(det.members, det.clusters, truth)
    assert scores["f1"] >= 0.9, scores
    assert scores["ari"] >= 0.9, scores
    assert scores["groups_found"] == scores["n_groups"]


def test_each_stage_logged_as_it_ends(caplog):
    import logging

    actions, _ = simulate(n_accounts=300, n_groups=2, seed=2)
    with caplog.at_level(logging.INFO, logger="cib.stages"):
        det = cib.detect(actions, window="60s", n_null=20)
    lines = [r.getMessage() for r in caplog.records if r.name == "cib.stages"]
    timings = det.manifest["timings_s"]
    assert [line.split()[0] for line in lines] == list(timings)  # in the order they ran
    for line, (stage, sec) in zip(lines, timings.items()):
        assert line == f"{stage} done in {sec:.1f} s"


def test_output_tables_follow_the_contract(det):
    assert list(det.clusters.columns) == CLUSTER_COLUMNS
    assert list(det.members.columns) == MEMBER_COLUMNS
    assert list(det.evidence.columns) == EVIDENCE_COLUMNS
    assert det.clusters["rank"].tolist() == list(range(1, len(det.clusters) + 1))
    assert det.clusters["score"].is_monotonic_decreasing
    assert (det.clusters["n_accounts"] >= 2).all()
    assert det.clusters["stable_id"].is_unique
    # every member of a cluster is in members with that cluster id
    sizes = det.members[det.members["cluster_id"] >= 0].groupby("cluster_id").size()
    assert sizes.sort_index().tolist() == det.clusters.set_index("cluster_id")["n_accounts"].sort_index().tolist()
    # evidence only cites objects co-acted on by members of the cluster
    assert (det.evidence["n_accounts"] >= 2).all()
    assert set(det.evidence["cluster_id"]) <= set(det.clusters["cluster_id"])
    # edges of the graph are significant; both ends' clusters are given
    assert det.graph_edges["significant"].all()
    assert (det.edges["account_u"] < det.edges["account_v"]).all()


def test_same_seed_same_clusters_and_row_order_irrelevant(sim, det):
    actions, _ = sim
    shuffled = actions.sample(frac=1, random_state=5).reset_index(drop=True)
    again = cib.detect(shuffled, window="60s", seed=0)
    for name in ("clusters", "members", "edges", "evidence"):
        pd.testing.assert_frame_equal(getattr(det, name), getattr(again, name), check_dtype=False)


def test_relabelled_ids_give_the_same_partition(sim, det):
    actions, _ = sim
    mapping = {a: f"zz{i:06d}" for i, a in enumerate(sorted(actions["account_id"].unique(), reverse=True))}
    relab = actions.assign(account_id=actions["account_id"].map(mapping))
    other = cib.detect(relab, window="60s", seed=0)
    groups_a = {frozenset(mapping[m] for m in g) for g in
                det.members[det.members.cluster_id >= 0].groupby("cluster_id")["account_id"]
                .apply(frozenset)}
    groups_b = set(other.members[other.members.cluster_id >= 0].groupby("cluster_id")["account_id"]
                   .apply(frozenset))
    assert groups_a == groups_b


def test_outputs_written_and_byte_identical(tmp_path, det, sim):
    actions, _ = sim
    a = det.write(tmp_path / "a")
    b = cib.detect(actions, window="60s", seed=0).write(tmp_path / "b")
    names = sorted(p.name for p in a.iterdir())
    for expected in ("clusters.csv", "clusters.parquet", "members.csv", "edges.csv",
                     "evidence.csv", "graph.gexf", "graph.graphml", "manifest.json", "rejects.csv"):
        assert expected in names
    for name in names:
        if name == "manifest.json":
            continue
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # Gephi files open in networkx and igraph with the node and edge attributes
    import igraph as ig
    import networkx as nx

    gexf = nx.read_gexf(a / "graph.gexf")
    assert b'version="1.3"' in (a / "graph.gexf").read_bytes()
    node = next(iter(gexf.nodes(data=True)))[1]
    assert {"cluster_id", "score", "degree", "strength"} <= set(node)
    assert "weight" in next(iter(gexf.edges(data=True)))[2]
    g = ig.Graph.Read_GraphML(str(a / "graph.graphml"))
    assert g.vcount() == len(det.members) and "cluster_id" in g.vs.attributes()
    assert {"weight", "kinds", "median_delay_s"} <= set(g.es.attributes())
    man = json.loads((a / "manifest.json").read_text())
    assert man["parameters"]["window_s"] == 60.0
    assert man["counts"]["clusters"] == len(det.clusters)
    assert set(man["timings_s"]) >= {"traces", "coaction", "edges", "communities", "nullmodel"}


def test_methods(sim):
    actions, truth = sim
    for method in ("louvain", "components"):
        d = cib.detect(actions, method=method, n_null=20, fdr_runs=5)
        assert evaluate(d.members, d.clusters, truth)["recall"] >= 0.9


def test_parameter_errors_name_the_parameter(sim):
    actions, _ = sim
    with pytest.raises(ParameterError, match="'window' parameter of detect"):
        cib.detect(actions, window="soon")
    with pytest.raises(ParameterError, match="'method'"):
        cib.detect(actions, method="kmeans")
    with pytest.raises(ParameterError, match="'min_weight'"):
        cib.detect(actions, min_weight=0)
    with pytest.raises(InputError, match="lacks required columns"):
        cib.detect(actions.drop(columns=["account_id"]))


def test_no_coordination_gives_empty_tables():
    actions, _ = simulate(n_accounts=200, n_groups=0, seed=4)
    d = cib.detect(actions.head(50), n_null=10, fdr_runs=2)
    assert d.clusters.empty or not d.clusters["flagged"].any()
    assert list(d.clusters.columns) == CLUSTER_COLUMNS


@pytest.mark.shared
def test_russian_coord_tweets_end_to_end(tmp_path):
    path = shared_file("real", "coortweet", "russian_coord_tweets.csv.gz")
    actions, rejects, stats = cib.read_actions(path)
    assert stats["rows_read"] == 35125
    d = cib.detect(actions, window=60, rejects=rejects, input_stats=stats)
    assert d.manifest["counts"]["coactions"] > 6000
    # weight >= 2 distinct co-retweeted posts: a few dozen pairs; at most a handful beyond chance
    assert 10 <= len(d.edges) <= 100
    assert d.edges["significant"].sum() <= 5
    assert len(d.clusters) <= 5
    top = d.edges.sort_values("p_value").iloc[0]
    assert top["weight"] >= 3 and top["p_value"] < 1e-5
    out = d.write(tmp_path / "ru")
    assert (out / "rejects.csv").exists() and (out / "graph.gexf").exists()


@pytest.mark.shared
def test_ira_slice_end_to_end():
    path = shared_file("real", "ira538-election2016", "ira_actions_long.csv.gz")
    actions, rejects, stats = cib.read_actions(
        path, mapping="account_id=account_id,timestamp=timestamp,parent_id=object_id")
    assert len(actions) + len(rejects) + stats["duplicates_dropped"] == 281698
    d = cib.detect(actions, window=60, n_null=50)
    flagged = d.members[d.members["in_flagged"]]
    assert len(d.flagged) >= 2
    assert len(flagged) >= 4
    # every account in the data is a troll, so every flagged account is one too; the labels
    # should make the clusters fairly pure by role (LeftTroll vs RightTroll vs NonEnglish ...)
    authors = pd.read_csv(REAL / "ira538-election2016" / "ira_tweets_2016-10-01_2016-11-15.csv.gz",
                          usecols=["author_id", "account_category"]).drop_duplicates("author_id")
    lab = flagged.merge(authors, left_on="account_id", right_on="author_id", how="left")
    purity = lab.groupby("cluster_id")["account_category"].agg(
        lambda s: s.value_counts(normalize=True).iloc[0])
    sizes = lab.groupby("cluster_id").size()
    assert (purity * sizes).sum() / sizes.sum() >= 0.8


def test_scoring_tables_from_the_members_traces_equal_those_from_all(det):
    """detect builds MEMBERS and CLUSTERS from the traces of the graph's and the clusters'
    accounts only; the tables are those all TRACES give."""
    import numpy as np

    from cib.coaction import self_repeats
    from cib.coaction._engine import SortedTraces
    from cib.nullmodel import _Coded
    from cib.scoring import cluster_table, intra_cluster, member_table

    c = _Coded(det.traces)
    _, coacting = SortedTraces(c, window_ns=60 * 10**9).trace_partners()
    labels = det.members.set_index("account_id")["cluster_id"]
    flagged = set(det.clusters.loc[det.clusters["flagged"], "cluster_id"])
    members = member_table(det.graph_edges, labels, det.traces, coacting,
                           self_repeats(det.traces), flagged)
    pd.testing.assert_frame_equal(members, det.members)
    assert members["n_traces"].sum() < len(det.traces)  # the subset is a real subset
    # the members' traces of objects acted on once (left out of the engine's coded arrays)
    # count in n_traces, as none of them co-acts
    from cib.coaction._engine import repeated_object_rows

    single = np.ones(len(det.traces), dtype=bool)
    single[repeated_object_rows(det.traces)] = False
    in_graph = det.traces["account_id"].isin(det.members["account_id"]).to_numpy()
    assert (single & in_graph).sum() > 100
    pv = det.clusters[["cluster_id", "p_value", "q_value"]]
    clusters = cluster_table(labels, det.graph_edges, intra_cluster(det.coactions, labels),
                             det.traces, pv, window=60.0, alpha=0.05)
    cols = ["cluster_id", "n_accounts", "coordination_ratio", "timing_similarity",
            "text_similarity"]
    pd.testing.assert_frame_equal(clusters[cols], det.clusters[cols])
    assert np.isfinite(det.clusters["timing_similarity"]).all()


def test_edge_tests_are_those_of_all_traces(sim):
    """The engine codes only the traces of objects acted on at least twice; the co-action
    edges' tests (events, common objects, expected weight, p-value; the q-value from the same
    null draws) are float for float what :func:`cib.nullmodel.edge_significance` gives on all
    TRACES (which knows no authors: ``per_author=False``), and so are the counts."""
    import numpy as np

    from cib.coaction._engine import repeated_object_rows
    from cib.nullmodel import edge_significance

    det = cib.detect(sim[0], window="60s", seed=0, per_author=False, n_null=10, fdr_runs=2,
                     discover=False, timing=False, edge_groups=False)
    rows = repeated_object_rows(det.traces)
    assert rows is not None and rows.size < 0.8 * len(det.traces)  # many objects acted on once
    cand = det.edges[det.edges["weight"] >= 2][["account_u", "account_v", "weight"]] \
        .reset_index(drop=True)
    ref = edge_significance(cand, det.traces, window=60, fdr_runs=2, seed=0)
    got = det.edges[det.edges["weight"] >= 2].reset_index(drop=True)
    for col in ["n_events", "n_common", "expected", "p_value", "q_value"]:
        np.testing.assert_array_equal(got[col].to_numpy(), ref[col].to_numpy(), err_msg=col)
    assert det.manifest["counts"]["traces"] == len(det.traces)
    assert det.manifest["counts"]["traces_by_kind"] == \
        det.traces["kind"].value_counts().sort_index().to_dict()
