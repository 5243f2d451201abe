"""CooRTweet 2.1 compatibility mode against the real package's output and hand-made cases."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cib.coaction.compat_coortweet import (
    RESULT_COLUMNS,
    account_stats,
    coortweet_graph,
    coortweet_input,
    detect_groups,
    detect_groups_multi,
    flag_speed_share,
    generate_coordinated_network,
    group_stats,
    r_quantile_type7,
)
from cib.errors import InputError, ParameterError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REF = SHARED / "data" / "reference" / "coortweet"
RUSSIAN = SHARED / "data" / "real" / "coortweet" / "russian_coord_tweets.csv.gz"
KEY_ACCOUNT = "9fa51ef17278c01d13d313741eddfc0b"


def _ref(name: str) -> Path:
    path = REF / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture(scope="module")
def russian() -> pd.DataFrame:
    if not RUSSIAN.exists():
        pytest.skip(f"{RUSSIAN} not available")
    return pd.read_csv(RUSSIAN)


@pytest.fixture(scope="module")
def results(russian: pd.DataFrame) -> dict[int, pd.DataFrame]:
    return {tw: detect_groups(russian, time_window=tw, min_participation=2) for tw in (10, 60)}


def _frame(rows: list[tuple], columns: tuple[str, ...] = ("object_id", "account_id",
                                                          "content_id", "timestamp_share")
           ) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def _as_str(df: pd.DataFrame) -> np.ndarray:
    return df.astype(str).to_numpy()


# ------------------------------------------------------------------------------------------
# against CooRTweet 2.1.3's own output


@pytest.mark.shared
@pytest.mark.parametrize("tw", [10, 60])
def test_detect_groups_equals_reference_rows_and_order(results, tw):
    ref = pd.read_csv(_ref(f"detect_groups_tw{tw}_mp2.csv.gz"))
    got = results[tw]
    assert list(got.columns) == RESULT_COLUMNS == list(ref.columns)
    assert len(got) == len(ref) == {10: 447, 60: 3791}[tw]
    # the exact rows in the exact order
    assert (_as_str(got) == _as_str(ref)).all()
    assert got["time_delta"].between(0, tw).all()


@pytest.mark.shared
@pytest.mark.parametrize("tw, n_vertices, n_edges", [(10, 525, 442), (60, 2110, 3721)])
def test_network_equals_reference(results, tw, n_vertices, n_edges):
    ref = pd.read_csv(_ref(f"network_tw{tw}_full_edges.csv.gz"))
    edges = generate_coordinated_network(results[tw], edge_weight=0.5, objects=True)
    assert list(edges.columns) == list(ref.columns)
    graph = coortweet_graph(edges)
    assert (graph.vcount(), graph.ecount()) == (n_vertices, n_edges)
    assert len(ref) == n_edges
    floats = ["avg_time_delta", "edge_symmetry_score"]
    # exact rows, in order, with from/to oriented as in CooRTweet (vertex order, not string order)
    assert (_as_str(edges.drop(columns=floats)) == _as_str(ref.drop(columns=floats))).all()
    np.testing.assert_allclose(edges[floats].to_numpy(), ref[floats].to_numpy(), rtol=1e-12)
    # and as a set of rows, order aside
    key = ["from", "to", "weight", "n_content_id", "n_content_id_y", "object_ids",
           "weight_threshold"]
    merged = edges.merge(ref, on=key, how="outer", indicator=True, suffixes=("", "_ref"))
    assert (merged["_merge"] == "both").all()
    assert (edges["from"] > edges["to"]).any()  # orientation is not alphabetical


@pytest.mark.shared
def test_flag_speed_share_equals_reference(russian, results):
    ref = pd.read_csv(_ref("flag_speed_share_tw60_fast10.csv.gz"))
    got = flag_speed_share(results[60], russian, min_participation=2, time_window=10)
    assert list(got.columns) == list(ref.columns)
    assert (_as_str(got) == _as_str(ref)).all()
    # CooRTweet's own argument order (x = data, result) is understood too
    assert flag_speed_share(russian, results[60], 2, 10).equals(got)
    assert len(results[60]) == 3791 and "time_window_10" not in results[60]  # input untouched


@pytest.mark.shared
@pytest.mark.parametrize("remove_loops", [True, False])
def test_account_stats_equals_reference(russian, remove_loops):
    ref = pd.read_csv(_ref("test_account_stats_tw10_mp5_remove_loops_"
                           f"{str(remove_loops).upper()}.csv.gz"))
    result = detect_groups(russian, time_window=10, min_participation=5,
                           remove_loops=remove_loops)
    got = account_stats(result, generate_coordinated_network(result), weight_threshold="none")
    assert list(got.columns) == list(ref.columns)
    assert got["account_id"].tolist() == ref["account_id"].tolist()
    np.testing.assert_allclose(got.iloc[:, 1:].to_numpy(float), ref.iloc[:, 1:].to_numpy(float))
    assert (KEY_ACCOUNT in set(got["account_id"])) is (not remove_loops)


@pytest.mark.shared
def test_summary_figures(russian, results):
    summary = pd.read_csv(_ref("summary_russian.csv.gz")).set_index("time_window")
    for tw, result in results.items():
        want = summary.loc[tw]
        edges = generate_coordinated_network(result, objects=True)
        sub1 = coortweet_graph(generate_coordinated_network(result, subgraph=1))
        full = coortweet_graph(edges)
        got = {
            "detect_rows": len(result),
            "detect_objects": result["object_id"].nunique(),
            "full_vertices": full.vcount(),
            "full_edges": full.ecount(),
            "weight_median_threshold": r_quantile_type7(edges["weight"], 0.5),
            "weight_max": edges["weight"].max(),
            "edges_above_threshold": int(edges["weight_threshold"].sum()),
            "sub1_vertices": sub1.vcount(),
            "sub1_edges": sub1.ecount(),
            "full_components": len(full.connected_components()),
            "sub1_components": len(sub1.connected_components()),
            "sub1_largest_component": max(sub1.connected_components().sizes()),
            "group_stats_none_rows": len(group_stats(edges, "none")),
            "group_stats_full_rows": len(group_stats(edges, "full")),
            "account_stats_none_rows": len(account_stats(result, edges, "none")),
            "account_stats_full_rows": len(account_stats(result, edges, "full")),
        }
        assert got == {k: want[k] for k in got}


@pytest.mark.shared
def test_simulate_data_round_trip():
    data = pd.read_csv(_ref("simulate_seed123_input.csv.gz"))
    expected = pd.read_csv(_ref("simulate_seed123_expected_all.csv.gz"))
    planted = expected[expected["coordinated"]].drop(columns="coordinated")
    decoys = expected[~expected["coordinated"]]
    # the simulation's parameters, read off its output: planted delays are 0..time_window,
    # decoy delays time_window+2..2*time_window+1; each planted account pair repeats
    # rpois() + min_participation times.
    time_window = int(planted["time_delta"].max())
    assert decoys["time_delta"].min() == time_window + 2
    assert decoys["time_delta"].max() == 2 * time_window + 1
    min_participation = int(planted.groupby(["account_id", "account_id_y"]).size().min())
    assert (time_window, min_participation) == (10, 2)

    got = detect_groups(data, time_window=time_window, min_participation=min_participation)
    rows = lambda df: Counter(map(tuple, _as_str(df[RESULT_COLUMNS])))  # noqa: E731
    assert rows(got) == rows(planted)
    assert not set(rows(got)) & set(rows(decoys.drop(columns="coordinated")))


# ------------------------------------------------------------------------------------------
# hand-made cases


def _brute_force(data: pd.DataFrame, tw: float, mp: float, remove_loops: bool) -> pd.DataFrame:
    """CooRTweet's detect_groups written out literally (loops; for small inputs only)."""
    rows = list(data.itertuples(index=False))
    counts = Counter(r.account_id for r in rows)
    accounts = list(dict.fromkeys(r.account_id for r in rows))
    x = [r for a in accounts if counts[a] >= mp for r in rows if r.account_id == a]
    res = []
    for o in dict.fromkeys(r.object_id for r in x):
        g = [r for r in x if r.object_id == o]
        for j in range(len(g)):
            for i in range(j):
                td = g[i].timestamp_share - g[j].timestamp_share
                if abs(td) <= tw:
                    res.append([o, g[i].content_id, g[j].content_id, td, g[i].account_id,
                                g[j].account_id])
    if remove_loops:
        res = [r for r in res if r[0] != r[1] and r[0] != r[2] and r[1] != r[2] and r[4] != r[5]]
    if mp >= 1:
        cids = {c for r in res for c in (r[1], r[2])}
        cnt = Counter(r.account_id for r in x if r.content_id in cids)
        ok = {r.content_id for r in x if r.content_id in cids and cnt[r.account_id] >= mp}
        res = [r for r in res if r[1] in ok or r[2] in ok]
    out = []
    for o, c, cy, td, a, ay in res:
        out.append([o, cy, c, td, ay, a] if td > 0 else [o, c, cy, abs(td), a, ay])
    return pd.DataFrame(out, columns=RESULT_COLUMNS)


@pytest.mark.parametrize("seed", range(6))
def test_matches_literal_implementation_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n = 300
    data = pd.DataFrame({
        "object_id": rng.choice([f"o{i}" for i in range(12)], n),
        "account_id": rng.choice([f"a{i}" for i in range(25)], n),
        "content_id": rng.choice([f"c{i}" for i in range(280)] + ["o1", "o2"], n),
        "timestamp_share": rng.integers(0, 400, n),
    })
    for tw, mp, rl in [(10, 2, True), (30, 3, False), (0, 1, True), (60, 0, False)]:
        got = detect_groups(data, time_window=tw, min_participation=mp, remove_loops=rl)
        want = _brute_force(data, tw, mp, rl)
        assert (_as_str(got) == _as_str(want)).all() and len(got) == len(want)


def test_window_is_inclusive():
    d = _frame([("o", "a", "c1", 100), ("o", "b", "c2", 110), ("o", "c", "c3", 121),
                ("o", "a", "c4", 500), ("o", "b", "c5", 510), ("o", "c", "c6", 521)])
    got = detect_groups(d, time_window=10, min_participation=1)
    assert sorted(got["time_delta"].tolist()) == [10, 10]
    assert set(zip(got["content_id"], got["content_id_y"])) == {("c1", "c2"), ("c4", "c5")}
    assert len(detect_groups(d, time_window=11, min_participation=1)) == 4
    assert len(detect_groups(d, time_window=9, min_participation=1)) == 0


def test_min_participation_pre_filter():
    d = _frame([("o1", "a", "a1", 0), ("o2", "a", "a2", 100),
                ("o1", "b", "b1", 5), ("o2", "b", "b2", 105),
                ("o1", "c", "c1", 3)])  # c has one row only
    with_c = detect_groups(d, time_window=10, min_participation=1)
    without_c = detect_groups(d, time_window=10, min_participation=2)
    assert "c" in set(with_c["account_id"]) | set(with_c["account_id_y"])
    assert "c" not in set(without_c["account_id"]) | set(without_c["account_id_y"])
    assert len(without_c) == 2


def test_min_participation_post_filter_keeps_pair_if_either_side_participates():
    d = _frame([("o1", "a", "a1", 0), ("o2", "a", "a2", 100),      # a: 2 rows in pairs
                ("o1", "b", "b1", 5), ("o3", "b", "b2", 500),      # b: 1 row in pairs
                ("o2", "c", "c1", 103), ("o4", "c", "c2", 900),    # c: 1 row in pairs
                ("o5", "d", "d1", 1000), ("o6", "d", "d2", 2000),  # d: 1 row in pairs
                ("o5", "e", "e1", 1002), ("o7", "e", "e2", 3000)])  # e: 1 row in pairs
    got = detect_groups(d, time_window=10, min_participation=2)
    # (a, b) and (a, c) survive through a; (d, e) has no participating side
    assert got["object_id"].tolist() == ["o1", "o2"]
    assert len(detect_groups(d, time_window=10, min_participation=1)) == 3
    assert len(detect_groups(d, time_window=10, min_participation=0)) == 3


def test_loops_removal():
    d = _frame([("p", "a", "x1", 0), ("p", "a", "x2", 3),     # same account
                ("q", "b", "q", 0), ("q", "c", "y1", 2),      # content id == object id
                ("r", "d", "dup", 0), ("r", "e", "dup", 1),   # same content id
                ("s", "f", "z1", 0), ("s", "g", "z2", 4)])    # a real pair
    kept = detect_groups(d, time_window=10, min_participation=1, remove_loops=True)
    assert kept["object_id"].tolist() == ["s"]
    loops = detect_groups(d, time_window=10, min_participation=1, remove_loops=False)
    assert sorted(loops["object_id"]) == ["p", "q", "r", "s"]
    same = loops[loops["object_id"] == "p"].iloc[0]
    assert same["account_id"] == same["account_id_y"] == "a"
    # a loop becomes a self-loop edge in the network, as in CooRTweet
    edges = generate_coordinated_network(loops)
    assert ((edges["from"] == "a") & (edges["to"] == "a")).sum() == 1


def test_older_share_left_and_ties_follow_coortweet_regrouped_order():
    # CooRTweet regroups rows by account (first appearance) before pairing, so on equal times
    # account a (first seen in row 0) is the "older" share although b's row comes first on o.
    d = _frame([("o2", "a", "a0", 0), ("o", "b", "b1", 100), ("o", "a", "a1", 100),
                ("o2", "b", "b0", 50), ("o3", "b", "b3", 9), ("o3", "a", "a3", 7)])
    got = detect_groups(d, time_window=10, min_participation=1)
    tie = got[got["object_id"] == "o"].iloc[0]
    assert (tie["account_id"], tie["account_id_y"], tie["time_delta"]) == ("a", "b", 0)
    late = got[got["object_id"] == "o3"].iloc[0]
    assert (late["content_id"], late["content_id_y"], late["time_delta"]) == ("a3", "b3", 2)


@pytest.mark.parametrize("x, p, want", [
    ([1, 2, 3, 4], 0.5, 2.5),
    ([1, 1, 1, 2], 0.5, 1.0),
    (list(range(1, 11)), 0.9, 9.1),
    ([5, 1, 3], 0.0, 1.0),
    ([5, 1, 3], 1.0, 5.0),
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], 0.99, 91.81),
    ([7], 0.3, 7.0),
    ([1.0, np.nan, 3.0], 0.5, 2.0),
])
def test_r_quantile_type7(x, p, want):
    assert r_quantile_type7(x, p) == pytest.approx(want, rel=1e-12)


def test_r_quantile_type7_edge_cases():
    assert np.isnan(r_quantile_type7([], 0.5))
    with pytest.raises(ParameterError):
        r_quantile_type7([1, 2], 1.5)


def _toy_result() -> pd.DataFrame:
    pairs = [("a", "b")] * 3 + [("b", "c"), ("c", "d")] + [("e", "d")] * 2
    rows = [(f"o{i}", f"k{i}", f"m{i}", i, u, v) for i, (u, v) in enumerate(pairs)]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def test_network_weights_and_subgraph_1():
    result = _toy_result()
    edges = generate_coordinated_network(result, edge_weight=0.5)
    assert edges["weight"].tolist() == [3, 1, 1, 2]  # pair rows, not distinct objects
    assert edges["weight_threshold"].tolist() == [1, 0, 0, 1]  # weights > 1.5
    assert edges[["from", "to"]].values.tolist()[3] == ["d", "e"]
    sub = generate_coordinated_network(result, edge_weight=0.5, subgraph=1)
    assert sub[["from", "to"]].values.tolist() == [["a", "b"], ["d", "e"]]
    g = coortweet_graph(sub)
    assert g.vs["name"] == ["a", "b", "d", "e"]  # CooRTweet's vertex order, subset
    assert g.es["weight"] == [3, 2]
    # from/to follow the vertex order (first appearance in pmin column, then pmax column)
    twisted = pd.DataFrame([("o1", "k1", "m1", 1, "c", "b"), ("o2", "k2", "m2", 1, "a", "b")],
                           columns=RESULT_COLUMNS)
    e2 = generate_coordinated_network(twisted)
    assert e2[["from", "to"]].values.tolist() == [["b", "c"], ["b", "a"]]
    assert coortweet_graph(e2).vs["name"] == ["b", "a", "c"]
    # account_stats takes the edge list or the igraph object alike
    assert account_stats(result, g, "none").equals(account_stats(result, sub, "none"))


def test_fast_net_and_subgraphs_2_3():
    result = _toy_result()
    result["time_window_2"] = [1, 1, 0, 0, 1, 0, 0]  # (a,b) twice, (c,d) once
    full = generate_coordinated_network(result, fast_net=True)
    assert full["weight_full"].tolist() == [3, 1, 1, 2]
    assert full["weight_fast"].tolist() == [2, pd.NA, 1, pd.NA]
    assert full["weight_threshold_fast"].tolist() == [1, pd.NA, 0, pd.NA]
    sub2 = generate_coordinated_network(result, fast_net=True, subgraph=2)
    assert sub2[["from", "to"]].values.tolist() == [["a", "b"]]
    sub3 = generate_coordinated_network(result, fast_net=True, subgraph=3)
    assert sub3[["from", "to"]].values.tolist() == [["a", "b"], ["b", "c"]]
    g = coortweet_graph(sub3)
    assert dict(zip(g.vs["name"], g.vs["color_v"])) == {"a": 1, "b": 1, "c": 0}
    with pytest.raises(ParameterError):
        generate_coordinated_network(result, fast_net=True, subgraph=1)
    with pytest.raises(ParameterError):
        generate_coordinated_network(result, subgraph=2)
    with pytest.raises(InputError):
        generate_coordinated_network(_toy_result(), fast_net=True)
    with pytest.raises(ParameterError):
        generate_coordinated_network(result, edge_weight=1.5)


def test_missing_columns_are_all_listed():
    with pytest.raises(InputError, match="account_id, timestamp_share"):
        detect_groups(pd.DataFrame({"object_id": [], "content_id": []}))
    with pytest.raises(InputError, match="timestamp, kind, object_id, action_id"):
        coortweet_input(pd.DataFrame({"account_id": []}))
    with pytest.raises(InputError, match="time_delta"):
        generate_coordinated_network(pd.DataFrame({"account_id": [], "account_id_y": [],
                                                   "content_id": [], "content_id_y": []}))


def test_detect_groups_multi_keeps_kinds_apart():
    urls = _frame([("x", "a", "p1", 0), ("x", "b", "p2", 4), ("y", "a", "p3", 50),
                   ("y", "b", "p4", 51)])
    tags = _frame([("x", "a", "p1", 0), ("x", "b", "p2", 30)])
    got = detect_groups_multi({"url": urls, "hashtag": tags}, time_window={"url": 10,
                                                                           "hashtag": 60},
                              min_participation=1)
    assert got["object_id"].tolist() == ["url:x", "url:y", "hashtag:x"]
    edges = generate_coordinated_network(got, objects=True)
    assert edges[["weight", "object_ids"]].values.tolist() == [[3, "url:x,url:y,hashtag:x"]]


def test_coortweet_input_from_traces():
    ts = pd.to_datetime([10.7, 12, 20], unit="s", utc=True)
    traces = pd.DataFrame({"account_id": ["a", "b", "a"], "timestamp": ts,
                           "kind": ["url", "url", "hashtag"], "object_id": ["u", "u", "#h"],
                           "action_id": ["1", "2", "3"]})
    got = coortweet_input(traces)
    assert got.columns.tolist() == ["object_id", "account_id", "content_id", "timestamp_share"]
    assert got["object_id"].tolist() == ["url:u", "url:u", "hashtag:#h"]
    assert got["timestamp_share"].tolist() == [10, 12, 20]
    single = coortweet_input(traces[traces["kind"] == "url"])
    assert single["object_id"].tolist() == ["u", "u"]
    assert detect_groups(got, time_window=2, min_participation=1)["content_id"].tolist() == ["1"]
