"""The fast co-action kernel (cib.coaction._kernel): exact agreement with the numpy join, the
reference join and edges_per_kind; budgets, the max_partners cap, and the numpy fallback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cib.coaction import edges_per_kind, reference_coactions
from cib.coaction._join import pair_indices_shifted as pair_indices  # the numpy path, independent of the kernel
from cib.coaction import _kernel as K
from cib.coaction._kernel import (HAVE_NUMBA, aggregate_edges, aggregate_edges_numpy, count_edges,
                                  count_edges_numpy, count_pairs, count_pairs_numpy,
                                  distinct_accounts, distinct_accounts_numpy, kernel_edges,
                                  pair_indices_fast, pair_indices_numpy, sort_order)

from _helpers import make_traces

ROOT = Path(__file__).resolve().parents[1]
ARRAYS = K.EDGE_ARRAYS


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def _sorted(group, time, account=None):
    group = np.asarray(group, dtype=np.int64)
    time = np.asarray(time, dtype=np.int64)
    order = np.lexsort((time, group))
    out = [group[order], time[order]]
    if account is not None:
        out.append(np.asarray(account, dtype=np.int64)[order])
    return out


def _brute_edges(group, time, account, window, obj_weight, max_partners=None):
    """Edges from the numpy pair_indices by pandas groupby: an independent reference."""
    i, j = pair_indices(group, time, window)
    if max_partners is not None:
        keep = (j - i) <= max_partners
        i, j = i[keep], j[keep]
    diff = account[i] != account[j]
    i, j = i[diff], j[diff]
    df = pd.DataFrame({"u": np.minimum(account[i], account[j]),
                       "v": np.maximum(account[i], account[j]),
                       "g": group[i], "d": time[j] - time[i], "ti": time[i], "tj": time[j]})
    out = df.groupby(["u", "v"], sort=True).agg(n_pairs=("d", "size"), min_delay_ns=("d", "min"),
                                                first_time=("ti", "min"), last_time=("tj", "max"))
    objs = df.drop_duplicates(["u", "v", "g"])
    objs = objs.assign(w=np.asarray(obj_weight, dtype=float)[objs["g"].to_numpy()])
    per = objs.groupby(["u", "v"], sort=True).agg(weight=("g", "size"), weighted=("w", "sum"))
    out = out.join(per).reset_index()
    return {k: out[k].to_numpy() for k in ARRAYS} if len(out) else {
        k: np.empty(0, np.float64 if k == "weighted" else np.int64) for k in ARRAYS}


def _assert_edges_equal(got, want):
    for k in ARRAYS:
        if k == "weighted":
            np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=0, err_msg=k)
        else:
            np.testing.assert_array_equal(np.asarray(got[k], dtype=np.int64),
                                          np.asarray(want[k], dtype=np.int64), err_msg=k)


def _random_arrays(rng, n, n_groups, n_accounts, span):
    g = rng.integers(0, n_groups, n)
    t = rng.integers(0, span, n)
    a = rng.integers(0, n_accounts, n)
    return _sorted(g, t, a)


def _canon_edges(e: pd.DataFrame) -> pd.DataFrame:
    e = e.drop(columns="median_delay_s").reset_index(drop=True)
    return e.astype({"kind": object, "account_u": object, "account_v": object,
                     "weight": "int64", "n_pairs": "int64"})


# ------------------------------------------------------------------------------------------
# count_pairs and pair_indices_fast
# ------------------------------------------------------------------------------------------

arrays_strategy = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 60), st.integers(0, 5)),
                           min_size=0, max_size=60)


_QUICK = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_MANY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_QUICK
@given(rows=arrays_strategy, window=st.integers(0, 40))
def test_pairs_equal_numpy_join(rows, window):
    _check_pairs(rows, window)


@pytest.mark.slow
@_MANY
@given(rows=arrays_strategy, window=st.integers(0, 40))
def test_pairs_equal_numpy_join_many(rows, window):
    _check_pairs(rows, window)


def _check_pairs(rows, window):
    # equal times, dt == window, window 0, one-trace groups all occur here
    g, t, a = _sorted(*(zip(*rows) if rows else ([], [], [])))
    want_i, want_j = pair_indices(g, t, window)
    assert count_pairs(g, t, window) == len(want_i) == count_pairs_numpy(g, t, window)
    for fn in (pair_indices_fast, pair_indices_numpy):
        i, j = fn(g, t, window)
        np.testing.assert_array_equal(i, want_i)
        np.testing.assert_array_equal(j, want_j)
        i, j = fn(g, t, window, account=a)
        keep = a[want_i] != a[want_j]
        np.testing.assert_array_equal(i, want_i[keep])
        np.testing.assert_array_equal(j, want_j[keep])


def test_pairs_boundaries():
    g = np.array([0, 0, 0, 1, 1])
    t = np.array([100, 160, 161, 5, 5])
    assert count_pairs(g, t, 60) == 3           # dt == window counts, B-D (61) does not
    assert count_pairs(g, t, 0) == 1            # window 0: equal times only
    e = np.empty(0, np.int64)
    assert count_pairs(e, e, 10) == 0
    assert [x.size for x in pair_indices_fast(e, e, 10)] == [0, 0]
    assert [x.size for x in pair_indices_fast(e, e, 10, account=e)] == [0, 0]


def test_pair_indices_fast_is_exactly_sized_and_int64():
    rng = np.random.default_rng(3)
    g, t, _ = _random_arrays(rng, 5000, 40, 50, 2000)
    i, j = pair_indices_fast(g, t, 30)
    assert i.dtype == j.dtype == np.int64
    assert i.size == count_pairs(g, t, 30)
    wi, wj = pair_indices(g, t, 30)
    np.testing.assert_array_equal(i, wi)
    np.testing.assert_array_equal(j, wj)


def test_unsorted_or_bad_input_is_rejected():
    with pytest.raises(ValueError, match="sorted by \\(group, time\\)"):
        count_pairs(np.array([1, 0]), np.array([0, 0]), 5)
    with pytest.raises(ValueError, match="sorted"):
        count_pairs_numpy(np.array([0, 0]), np.array([5, 1]), 5)
    with pytest.raises(ValueError, match="window"):
        count_pairs(np.array([0]), np.array([0]), -1)
    with pytest.raises(ValueError, match="max_partners"):
        aggregate_edges(np.array([0]), np.array([0]), np.array([0]), 5, None, max_partners=0)
    with pytest.raises(ValueError, match="obj_weight"):
        aggregate_edges(np.array([0, 3]), np.array([0, 0]), np.array([0, 1]), 5, np.ones(2))
    with pytest.raises(ValueError, match="non-negative"):
        aggregate_edges(np.array([0, 0]), np.array([0, 0]), np.array([0, -1]), 5, None)


def test_sort_order_equals_lexsort():
    rng = np.random.default_rng(0)
    g = rng.integers(0, 50, 3000)
    t = rng.integers(0, 100, 3000)
    np.testing.assert_array_equal(sort_order(g, t), np.lexsort((t, g)))


# ------------------------------------------------------------------------------------------
# aggregate_edges
# ------------------------------------------------------------------------------------------


_AGG_ARGS = dict(rows=arrays_strategy, window=st.integers(0, 40),
                 budget=st.sampled_from([None, 1, 2, 7]), cap=st.sampled_from([None, None, 1, 3]))


@_QUICK
@given(**_AGG_ARGS)
def test_aggregate_equals_brute_force(rows, window, budget, cap):
    _check_aggregate(rows, window, budget, cap)


@pytest.mark.slow
@_MANY
@given(**_AGG_ARGS)
def test_aggregate_equals_brute_force_many(rows, window, budget, cap):
    _check_aggregate(rows, window, budget, cap)


def _check_aggregate(rows, window, budget, cap):
    g, t, a = _sorted(*(zip(*rows) if rows else ([], [], [])))
    ow = 1.0 / np.arange(2, 7, dtype=float)
    want = _brute_edges(g, t, a, window, ow, max_partners=cap)
    for fn in (aggregate_edges, aggregate_edges_numpy):
        got = fn(g, t, a, window, ow, budget_pairs=budget, max_partners=cap)
        _assert_edges_equal(got, want)
        assert got["u"].dtype == got["v"].dtype == np.int32
    assert count_edges(g, t, a, window, cap) == len(want["u"]) == count_edges_numpy(g, t, a,
                                                                                      window, cap)


traces_strategy = st.lists(
    st.tuples(st.sampled_from(list("abcde")), st.integers(0, 300),
              st.sampled_from(["repost", "url"]), st.sampled_from(list("pqr"))),
    min_size=0, max_size=40)


_TRACE_ARGS = dict(rows=traces_strategy, window=st.integers(0, 120),
                   budget=st.sampled_from([None, 1, 5]))


@_QUICK
@given(**_TRACE_ARGS)
def test_kernel_edges_equal_reference_edges(rows, window, budget):
    _check_kernel_edges(rows, window, budget)


@pytest.mark.slow
@_MANY
@given(**_TRACE_ARGS)
def test_kernel_edges_equal_reference_edges_many(rows, window, budget):
    _check_kernel_edges(rows, window, budget)


def _check_kernel_edges(rows, window, budget):
    # duplicate rows, one-account objects, equal timestamps and dt == window all occur here
    tr = make_traces(rows)
    want = _canon_edges(edges_per_kind(reference_coactions(tr, window), tr))
    engines = [True, False] if HAVE_NUMBA else [False]
    for use_numba in engines:
        got = kernel_edges(tr, window, budget_pairs=budget, use_numba=use_numba)
        assert got.attrs["dropped_pairs"] == 0
        assert got["median_delay_s"].isna().all()
        pd.testing.assert_frame_equal(_canon_edges(got), want, check_dtype=False, rtol=1e-12)


def test_kernel_edges_ignore_row_order_and_duplicates_do_not_add_weight():
    rows = [("a", 0, "repost", "p"), ("b", 5, "repost", "p"), ("a", 100, "url", "u"),
            ("b", 130, "url", "u"), ("c", 131, "url", "u"), ("c", 131, "url", "u")]
    tr = make_traces(rows)
    e = kernel_edges(tr, 60)
    shuffled = kernel_edges(tr.sample(frac=1, random_state=1).reset_index(drop=True), 60)
    pd.testing.assert_frame_equal(e, shuffled)
    bc = e[(e["account_u"] == "b") & (e["account_v"] == "c")].iloc[0]
    assert (bc["weight"], bc["n_pairs"]) == (1, 2)


def test_kernel_edges_on_empty_traces():
    tr = make_traces([])
    e = kernel_edges(tr, 60)
    assert e.empty and list(e.columns) == list(edges_per_kind(reference_coactions(tr, 60), tr))


def test_numba_and_numpy_fallback_agree_on_a_larger_random_input():
    rng = np.random.default_rng(7)
    g, t, a = _random_arrays(rng, 20_000, 300, 400, 5_000)
    ow = rng.random(300)
    np.testing.assert_array_equal(distinct_accounts(g, a), distinct_accounts_numpy(g, a))
    assert count_pairs(g, t, 50) == count_pairs_numpy(g, t, 50)
    for cap in (None, 5):
        fast = aggregate_edges(g, t, a, 50, ow, max_partners=cap)
        slow = aggregate_edges_numpy(g, t, a, 50, ow, budget_pairs=1_000, max_partners=cap)
        _assert_edges_equal(fast, slow)
        assert fast["dropped_pairs"] == slow["dropped_pairs"]
        _assert_edges_equal(fast, _brute_edges(g, t, a, 50, ow, max_partners=cap))


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not importable")
def test_numba_result_does_not_depend_on_the_number_of_threads():
    import numba

    rng = np.random.default_rng(8)
    g, t, a = _random_arrays(rng, 20_000, 200, 500, 3_000)
    ow = rng.random(200)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = aggregate_edges(g, t, a, 40, ow)
    finally:
        numba.set_num_threads(before)
    many = aggregate_edges(g, t, a, 40, ow)
    for k in ARRAYS:
        np.testing.assert_array_equal(one[k], many[k], err_msg=k)  # bit-identical, floats too


def test_distinct_accounts_any_order():
    g = np.array([2, 0, 2, 0, 0])
    a = np.array([1, 1, 1, 2, 1])
    assert distinct_accounts(g, a).tolist() == [2, 0, 1]
    assert distinct_accounts(g, a, n_groups=4).tolist() == [2, 0, 1, 0]


# ------------------------------------------------------------------------------------------
# budgets and very popular objects
# ------------------------------------------------------------------------------------------


def _burst(rng, k=300, others=200):
    """One viral object (k traces in 2 minutes) among small ones."""
    g = np.concatenate([np.zeros(k, np.int64), rng.integers(1, 40, others)])
    t = np.concatenate([rng.integers(0, 120, k), rng.integers(0, 2_000, others)])
    a = rng.integers(0, 150, k + others)
    return _sorted(g, t, a)


def test_budget_smaller_than_one_object_gives_the_same_edges():
    rng = np.random.default_rng(11)
    g, t, a = _burst(rng)
    ow = np.linspace(0.1, 1.0, 40)
    c, _ = K._partner_counts_numpy(g, t, 60, -1)
    viral_pairs = int(c[g == 0].sum())
    budget = viral_pairs // 10
    plan = K._plan_numpy(g, c, budget)
    parts = [p for p in plan if p[2] == 0]
    assert len(parts) >= 10  # the viral object really is split by ranges of i
    assert all(int(c[i0:i1].sum()) <= budget for i0, i1, _ in plan)
    unlimited = aggregate_edges_numpy(g, t, a, 60, ow, budget_pairs=10**12)
    for b in (budget, 1, 37):
        _assert_edges_equal(aggregate_edges_numpy(g, t, a, 60, ow, budget_pairs=b), unlimited)
    _assert_edges_equal(aggregate_edges(g, t, a, 60, ow, budget_pairs=budget), unlimited)
    _assert_edges_equal(unlimited, _brute_edges(g, t, a, 60, ow))


def test_max_partners_reports_dropped_pairs_and_never_adds_pairs():
    rng = np.random.default_rng(5)
    g, t, a = _burst(rng)
    ow = np.ones(40)
    full = aggregate_edges(g, t, a, 60, ow)
    assert full["dropped_pairs"] == 0
    i, j = pair_indices(g, t, 60)
    for cap in (1, 10, 50):
        capped = aggregate_edges(g, t, a, 60, ow, max_partners=cap)
        assert capped["dropped_pairs"] == int(((j - i) > cap).sum()) > 0
        assert capped["dropped_pairs"] == aggregate_edges_numpy(
            g, t, a, 60, ow, max_partners=cap)["dropped_pairs"]
        kept = (j - i) <= cap
        assert capped["n_pairs"].sum() == int((a[i[kept]] != a[j[kept]]).sum())
        # every capped edge is an uncapped edge with no more pairs, objects or weight
        fk = full["u"].astype(np.int64) * 1000 + full["v"]
        ck = capped["u"].astype(np.int64) * 1000 + capped["v"]
        pos = np.searchsorted(fk, ck)
        assert np.array_equal(fk[pos], ck)
        assert np.all(capped["n_pairs"] <= full["n_pairs"][pos])
        assert np.all(capped["weight"] <= full["weight"][pos])
        assert np.all(capped["min_delay_ns"] >= full["min_delay_ns"][pos])
        assert np.all(capped["weighted"] <= full["weighted"][pos] + 1e-12)
    # a cap at least as large as any window changes nothing
    big = aggregate_edges(g, t, a, 60, ow, max_partners=len(g))
    assert big["dropped_pairs"] == 0
    _assert_edges_equal(big, full)


def test_kernel_edges_reports_dropped_pairs():
    rows = [(f"x{k}", k, "repost", "p") for k in range(6)]
    tr = make_traces(rows)
    assert kernel_edges(tr, 60).attrs["dropped_pairs"] == 0
    e = kernel_edges(tr, 60, max_partners=2)
    assert e.attrs["dropped_pairs"] == 15 - (5 + 4)
    assert e["n_pairs"].sum() == 9


# ------------------------------------------------------------------------------------------
# the fallback when numba is not importable
# ------------------------------------------------------------------------------------------


@pytest.mark.slow  # a fresh interpreter importing pandas and cib: a few seconds
def test_module_works_without_numba():
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import numpy as np\n"
        "from cib.coaction import _kernel as K\n"
        "assert not K.HAVE_NUMBA\n"
        "g = np.array([0, 0, 0, 1, 1]); t = np.array([0, 5, 9, 100, 130])\n"
        "a = np.array([0, 1, 1, 0, 1])\n"
        "assert K.count_pairs(g, t, 60) == 4\n"
        "e = K.aggregate_edges(g, t, a, 60, None, budget_pairs=1)\n"
        "assert e['weight'].tolist() == [2] and e['n_pairs'].tolist() == [3]\n"
        "assert K.count_edges(g, t, a, 60) == 1\n"
        "assert K.sort_order(g, t).tolist() == [0, 1, 2, 3, 4]\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ------------------------------------------------------------------------------------------
# slow: bigger inputs
# ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_large_heavy_tailed_input_agrees_across_engines():
    rng = np.random.default_rng(2024)
    n = 400_000
    sizes = np.minimum((rng.pareto(1.2, n // 8) + 1).astype(np.int64) * 2, 5_000)
    g = np.repeat(np.arange(sizes.size), sizes)[:n]
    t = rng.integers(0, 86_400, g.size) // np.maximum(1, 50 // np.maximum(1, sizes[g] // 100))
    a = rng.integers(0, 40_000, g.size)
    g, t, a = _sorted(g, t, a)
    ow = K.popularity_discount(distinct_accounts(g, a))
    fast = aggregate_edges(g, t, a, 60, ow)
    slow = aggregate_edges_numpy(g, t, a, 60, ow, budget_pairs=200_000)
    _assert_edges_equal(fast, slow)
    assert count_edges(g, t, a, 60) == fast["u"].size
    assert fast["n_pairs"].sum() == pair_indices_fast(g, t, 60, account=a)[0].size
