"""Tests of cib.evaluate on hand-made cases with hand-computed figures."""

from __future__ import annotations

import pandas as pd
import pytest

from cib.datasets import simulate
from cib.errors import InputError
from cib.evaluate import evaluate, read_truth

KEYS = {"precision", "recall", "f1", "ari", "ari_all", "n_flagged", "n_planted", "tp", "fp", "fn",
        "groups_found", "n_groups"}


def _truth() -> pd.DataFrame:
    # Group 0: a b c; group 1: d e; organic: f g h i.
    return pd.DataFrame({"account_id": list("abcdefghi"),
                         "group": [0, 0, 0, 1, 1, -1, -1, -1, -1]})


def _clusters(flagged: dict[int, bool]) -> pd.DataFrame:
    return pd.DataFrame({"cluster_id": list(flagged), "flagged": list(flagged.values())})


def test_mixed_case_by_hand():
    # a b c in flagged cluster 1; d and organic f in flagged cluster 2; e in unflagged cluster 3;
    # g in unflagged 4; i in no cluster (-1); h absent from members.
    members = pd.DataFrame({"account_id": list("abcdefgi"),
                            "cluster_id": [1, 1, 1, 2, 3, 2, 4, -1]})
    m = evaluate(members, _clusters({1: True, 2: True, 3: False, 4: False}), _truth())
    assert set(m) == KEYS
    # Flagged: a b c d f. Planted: a b c d e.
    assert (m["n_flagged"], m["n_planted"], m["tp"], m["fp"], m["fn"]) == (5, 5, 4, 1, 1)
    assert m["precision"] == pytest.approx(4 / 5)
    assert m["recall"] == pytest.approx(4 / 5)
    assert m["f1"] == pytest.approx(4 / 5)
    # ARI over a b c d e: true (0 0 0 1 1), predicted (1 1 1 2 x_e).
    # Pairs together in both: C(3,2) = 3. Sum over true groups: 3 + 1 = 4; over predicted: 3.
    # Expected 4 * 3 / C(5,2) = 1.2; max (4 + 3) / 2 = 3.5; ARI = (3 - 1.2) / (3.5 - 1.2) = 18/23.
    assert m["ari"] == pytest.approx(18 / 23)
    # ARI over a..i: true (0 0 0 1 1 -1 -1 -1 -1), predicted (1 1 1 2 - 2 - - -), "-" shared.
    # Cells: (0,1)=3 -> 3 pairs; (-1,-)=3 (g h i) -> 3 pairs; total 6. True sums: 3 + 1 + 6 = 10;
    # predicted: 3 + 1 + 6 = 10. Expected 100/36; max 10; ARI = (6 - 25/9) / (10 - 25/9) = 29/65.
    assert m["ari_all"] == pytest.approx(29 / 65)
    # Group 0: 3/3 in cluster 1; group 1: 1/2 (exactly half counts) in cluster 2.
    assert (m["groups_found"], m["n_groups"]) == (2, 2)
    assert all(isinstance(m[k], float) for k in ("precision", "recall", "f1", "ari", "ari_all"))
    assert all(type(m[k]) is int for k in KEYS - {"precision", "recall", "f1", "ari", "ari_all"})


def test_perfect_recovery():
    members = pd.DataFrame({"account_id": list("abcdefghi"),
                            "cluster_id": [5, 5, 5, 9, 9, -1, -1, 7, -1]})
    m = evaluate(members, _clusters({5: True, 9: True, 7: False}), _truth())
    assert m["precision"] == m["recall"] == m["f1"] == 1.0
    assert m["ari"] == pytest.approx(1.0) and m["ari_all"] == pytest.approx(1.0)
    assert (m["tp"], m["fp"], m["fn"], m["groups_found"], m["n_groups"]) == (5, 0, 0, 2, 2)


def test_nothing_flagged():
    members = pd.DataFrame({"account_id": list("abcdefghi"),
                            "cluster_id": [5, 5, 5, 9, 9, -1, -1, 7, -1]})
    m = evaluate(members, _clusters({5: False, 9: False, 7: False}), _truth())
    # Precision is 0.0 by convention when nothing is flagged.
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)
    # Every planted account alone: no pair together, ARI 0. All accounts predicted in one
    # (unflagged) label: ARI 0.
    assert m["ari"] == pytest.approx(0.0) and m["ari_all"] == pytest.approx(0.0)
    assert (m["n_flagged"], m["tp"], m["fp"], m["fn"], m["groups_found"]) == (0, 0, 0, 5, 0)


def test_empty_members_and_clusters():
    members = pd.DataFrame({"account_id": pd.Series([], dtype=object),
                            "cluster_id": pd.Series([], dtype="int64")})
    clusters = pd.DataFrame({"cluster_id": pd.Series([], dtype="int64"),
                             "flagged": pd.Series([], dtype=bool)})
    m = evaluate(members, clusters, _truth())
    assert (m["precision"], m["recall"], m["f1"], m["ari"]) == (0.0, 0.0, 0.0, 0.0)
    assert (m["n_flagged"], m["n_planted"], m["fn"], m["n_groups"]) == (0, 5, 5, 2)


def test_nothing_planted():
    truth = pd.DataFrame({"account_id": ["x", "y", "z"], "group": [-1, -1, -1]})
    members = pd.DataFrame({"account_id": ["x", "y"], "cluster_id": [0, 0]})
    m = evaluate(members, _clusters({0: True}), truth)
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)
    assert (m["n_flagged"], m["fp"], m["n_planted"], m["n_groups"], m["groups_found"]) == (2, 2, 0, 0, 0)
    assert m["ari"] == 1.0  # scikit-learn's convention for fewer than two accounts


def test_split_group_and_unknown_accounts():
    truth = pd.DataFrame({"account_id": ["p1", "p2", "p3", "p4", "q1", "q2", "q3", "o1"],
                          "group": [0, 0, 0, 0, 1, 1, 1, -1]})
    # Group 0 split 2 + 2 over two flagged clusters (found: half in one); group 1 split 1+1+1
    # (not found); "zz" is not in truth: a flagged unknown counts as a false positive.
    members = pd.DataFrame({"account_id": ["p1", "p2", "p3", "p4", "q1", "q2", "q3", "zz"],
                            "cluster_id": [1, 1, 2, 2, 3, 4, 5, 1]})
    m = evaluate(members, _clusters({1: True, 2: True, 3: True, 4: True, 5: True}), truth)
    assert (m["tp"], m["fp"], m["fn"], m["n_flagged"]) == (7, 1, 0, 8)
    assert m["precision"] == pytest.approx(7 / 8) and m["recall"] == 1.0
    assert m["f1"] == pytest.approx(2 * (7 / 8) / (1 + 7 / 8))
    assert (m["groups_found"], m["n_groups"]) == (1, 2)


def test_cluster_minus_one_is_never_flagged_and_flags_from_csv_strings():
    truth = pd.DataFrame({"account_id": ["a", "b"], "group": [0, 0]})
    members = pd.DataFrame({"account_id": ["a", "b"], "cluster_id": [-1, -1]})
    m = evaluate(members, _clusters({-1: True}), truth)
    assert m["n_flagged"] == 0
    clusters = pd.DataFrame({"cluster_id": [0], "flagged": ["True"]}).astype(object)
    members = pd.DataFrame({"account_id": ["a", "b"], "cluster_id": [0, 0]})
    assert evaluate(members, clusters, truth)["tp"] == 2
    clusters = pd.DataFrame({"cluster_id": [0], "flagged": ["False"]}).astype(object)
    assert evaluate(members, clusters, truth)["tp"] == 0
    with pytest.raises(InputError, match="flagged"):
        evaluate(members, pd.DataFrame({"cluster_id": [0], "flagged": ["maybe"]}), truth)


def test_inputs_are_not_modified():
    truth = _truth()
    members = pd.DataFrame({"account_id": list("ab"), "cluster_id": [1, 1]})
    clusters = _clusters({1: True})
    before = (truth.copy(), members.copy(), clusters.copy())
    evaluate(members, clusters, truth)
    for got, want in zip((truth, members, clusters), before):
        pd.testing.assert_frame_equal(got, want)


def test_evaluate_missing_columns_and_duplicates():
    truth = _truth()
    ok_members = pd.DataFrame({"account_id": ["a"], "cluster_id": [1]})
    with pytest.raises(InputError, match="MEMBERS lacks required columns: cluster_id"):
        evaluate(pd.DataFrame({"account_id": ["a"]}), _clusters({1: True}), truth)
    with pytest.raises(InputError, match="CLUSTERS lacks required columns: cluster_id, flagged"):
        evaluate(ok_members, pd.DataFrame({"x": [1]}), truth)
    with pytest.raises(InputError, match="TRUTH lacks required columns: group"):
        evaluate(ok_members, _clusters({1: True}), truth[["account_id"]])
    with pytest.raises(InputError, match="TRUTH column 'group' must hold integers, got 0.5"):
        evaluate(ok_members, _clusters({1: True}), pd.DataFrame({"account_id": ["a"], "group": [0.5]}))
    with pytest.raises(InputError, match="MEMBERS column 'cluster_id' must hold integers, got 'x'"):
        evaluate(pd.DataFrame({"account_id": ["a"], "cluster_id": ["x"]}), _clusters({1: True}),
                 truth)
    with pytest.raises(InputError, match="'a' more than once"):
        evaluate(pd.DataFrame({"account_id": ["a", "a"], "cluster_id": [1, 2]}),
                 _clusters({1: True}), truth)


def test_evaluate_truth_as_planted_clusters_of_a_simulation():
    actions, truth = simulate(n_accounts=200, n_groups=3, group_size=(3, 5), days=1, seed=2)
    members = truth.rename(columns={"group": "cluster_id"})[["account_id", "cluster_id"]]
    clusters = _clusters({g: True for g in range(3)})
    m = evaluate(members, clusters, truth)
    assert (m["precision"], m["recall"], m["groups_found"], m["n_groups"]) == (1.0, 1.0, 3, 3)
    assert m["ari"] == pytest.approx(1.0) and m["ari_all"] == pytest.approx(1.0)


# --- read_truth ---------------------------------------------------------------------------------


def test_read_truth(tmp_path):
    path = tmp_path / "truth.csv"
    path.write_text("account_id,group,role\n007,0,coordinated\nNA,-1,organic\n 12 ,1,x\n")
    truth = read_truth(path)
    assert truth["account_id"].tolist() == ["007", "NA", "12"]
    assert truth["group"].tolist() == [0, -1, 1]
    assert truth["account_id"].dtype == object and truth["group"].dtype == "int64"
    assert truth["role"].tolist() == ["coordinated", "organic", "x"]


def test_read_truth_errors(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="nope.csv: no such file"):
        read_truth(missing)
    bad = tmp_path / "bad.csv"
    bad.write_text("user,role\nx,organic\n")
    with pytest.raises(InputError) as e:
        read_truth(bad)
    assert str(e.value) == f"{bad}: TRUTH lacks required columns: account_id, group"
    assert e.value.file == str(bad)
    bad.write_text("account_id,group\na,0\nb,zero\n")
    with pytest.raises(InputError, match=r"bad.csv, row 3, column 'group': group must be an integer"):
        read_truth(bad)
    bad.write_text("account_id,group\na,0\n,1\n")
    with pytest.raises(InputError, match=r"row 3, column 'account_id': empty account id"):
        read_truth(bad)
    bad.write_text("account_id,group\na,0\na,1\n")
    with pytest.raises(InputError, match=r"row 3, column 'account_id': account 'a' is listed"):
        read_truth(bad)
    bad.write_text("")
    with pytest.raises(InputError, match="bad.csv: the file is empty"):
        read_truth(bad)
