"""The windowed co-action join: boundaries, invariants, and exact agreement with the reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cib.coaction import (coactions, combine_edges, edges_per_kind, pair_indices,
                          popularity_discount, reference_coactions, self_repeats)
from cib.errors import ParameterError

from _helpers import make_traces


def _canon(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype({"kind": object, "object_id": object, "account_a": object,
                      "account_b": object, "action_a": object, "action_b": object}).reset_index(drop=True)


def test_pair_exactly_window_apart_is_a_coaction():
    tr = make_traces([("a", 100, "repost", "p"), ("b", 160, "repost", "p")])
    assert len(coactions(tr, 60)) == 1
    assert coactions(tr, 60)["delay_s"].tolist() == [60.0]


def test_pair_one_second_beyond_window_is_not():
    tr = make_traces([("a", 100, "repost", "p"), ("b", 161, "repost", "p")])
    assert coactions(tr, 60).empty


def test_window_is_pairwise_not_anchored_to_first_share():
    # B-C at 60 s and C-D at 1 s are co-actions; B-D at 61 s is not (CNT's tiny test)
    tr = make_traces([("B", 100, "url", "u"), ("C", 160, "url", "u"), ("D", 161, "url", "u")])
    pairs = coactions(tr, 60)
    assert sorted(zip(pairs["account_a"], pairs["account_b"])) == [("B", "C"), ("C", "D")]


def test_same_account_repeating_is_no_pair_but_counted():
    tr = make_traces([("a", 0, "repost", "p"), ("a", 10, "repost", "p"), ("b", 20, "repost", "p")])
    pairs = coactions(tr, 60)
    assert set(zip(pairs["account_a"], pairs["account_b"])) == {("a", "b")}
    assert len(pairs) == 2
    assert self_repeats(tr).to_dict() == {"a": 1, "b": 0}


def test_equal_times_order_by_account_id():
    tr = make_traces([("z", 5, "repost", "p"), ("a", 5, "repost", "p")])
    pairs = coactions(tr, 0)
    assert (pairs["account_a"].iloc[0], pairs["account_b"].iloc[0]) == ("a", "z")


def test_different_kinds_and_objects_never_pair():
    tr = make_traces([("a", 0, "repost", "p"), ("b", 0, "url", "p"), ("c", 0, "repost", "q")])
    assert coactions(tr, 60).empty


def test_window_accepts_durations_and_rejects_nonsense():
    tr = make_traces([("a", 0, "repost", "p"), ("b", 120, "repost", "p")])
    assert len(coactions(tr, "2m")) == 1 and coactions(tr, "1m").empty
    with pytest.raises(ParameterError, match="'window' parameter of coactions"):
        coactions(tr, "-5s")


def test_pair_indices_on_empty_and_single():
    e = np.array([], dtype=np.int64)
    assert [a.size for a in pair_indices(e, e, 10)] == [0, 0]
    one = np.array([0])
    assert [a.size for a in pair_indices(one, one, 10)] == [0, 0]


traces_strategy = st.lists(
    st.tuples(st.sampled_from(list("abcde")), st.integers(0, 300),
              st.sampled_from(["repost", "url"]), st.sampled_from(list("pqr"))),
    min_size=0, max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=traces_strategy, window=st.integers(0, 120))
def test_equals_reference_on_random_inputs(rows, window):
    # equal timestamps, duplicate rows, one-account objects and dt == window all occur here
    tr = make_traces(rows)
    fast = coactions(tr, window)
    slow = reference_coactions(tr, window)
    pd.testing.assert_frame_equal(_canon(fast), _canon(slow), check_dtype=False)


@settings(max_examples=60, deadline=None)
@given(rows=traces_strategy, window=st.integers(0, 100), extra=st.integers(1, 100),
       seed=st.integers(0, 2**16))
def test_larger_window_never_loses_a_coaction_and_order_does_not_matter(rows, window, extra, seed):
    tr = make_traces(rows)
    small = coactions(tr, window)
    big = coactions(tr, window + extra)
    key = ["action_a", "action_b"]
    assert set(map(tuple, small[key].to_numpy())) <= set(map(tuple, big[key].to_numpy()))
    shuffled = tr.sample(frac=1, random_state=seed).reset_index(drop=True)
    pd.testing.assert_frame_equal(coactions(shuffled, window), small)


def test_edges_count_distinct_objects_not_pairs():
    # a spams p three times next to b: weight 1 (one object), 3 pair rows
    tr = make_traces([("a", 0, "repost", "p"), ("a", 1, "repost", "p"), ("a", 2, "repost", "p"),
                      ("b", 3, "repost", "p")])
    e = edges_per_kind(coactions(tr, 60), tr)
    assert e[["weight", "n_pairs"]].values.tolist() == [[1, 3]]


def test_duplicating_input_does_not_change_weight():
    rows = [("a", 0, "repost", "p"), ("b", 5, "repost", "p"), ("a", 100, "url", "u"),
            ("b", 130, "url", "u"), ("c", 131, "url", "u")]
    tr = make_traces(rows)
    tr2 = make_traces(rows + [r + (f"dup{n}",) for n, r in enumerate(rows)])
    e1 = combine_edges(edges_per_kind(coactions(tr, 60), tr))
    e2 = combine_edges(edges_per_kind(coactions(tr2, 60), tr2))
    assert e1["weight"].tolist() == e2["weight"].tolist()


def test_popularity_discount_weighs_crowds_less():
    # object p: only a and b; object q: a, b and 14 others -> q counts 1/log2(16) = 0.25
    rows = [("a", 0, "repost", "p"), ("b", 1, "repost", "p"), ("a", 100, "repost", "q"),
            ("b", 101, "repost", "q")] + [(f"o{i}", 102 + i, "repost", "q") for i in range(14)]
    tr = make_traces(rows)
    e = edges_per_kind(coactions(tr, 60), tr)
    ab = e[(e["account_u"] == "a") & (e["account_v"] == "b")].iloc[0]
    assert ab["weight"] == 2
    assert ab["weighted"] == pytest.approx(1.0 + 0.25)
    assert popularity_discount(np.array([2]))[0] == 1.0


def test_combined_edges_keep_one_column_per_kind():
    tr = make_traces([("a", 0, "repost", "p"), ("b", 1, "repost", "p"), ("a", 50, "url", "u"),
                      ("b", 52, "url", "u"), ("a", 80, "url", "v"), ("b", 81, "url", "v")])
    pairs = coactions(tr, 60)
    comb = combine_edges(edges_per_kind(pairs, tr), pairs)
    row = comb.iloc[0]
    assert (row["weight"], row["w_repost"], row["w_url"], row["kinds"]) == (3, 1, 2, "repost,url")
    assert row["median_delay_s"] == 1.0
    assert row["min_delay_s"] == 1.0
