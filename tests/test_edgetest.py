"""The edge test's numba fast path (cib._edgetest) gives exactly what the reference path gives:
the same floats, bit for bit, so the q-values, edges and clusters of a seed do not change."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from cib.coaction import _kernel as K
from cib.coaction._engine import SortedTraces
from cib.datasets import simulate
from cib.nullmodel import TimeSwapNull, _Coded, _null_fdr
from cib.traces import build_traces

pytestmark = pytest.mark.skipif(not K.HAVE_NUMBA, reason="the fast path needs numba")

WINDOW_NS = 60 * 10**9


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.fixture(scope="module")
def coded():
    actions, _ = simulate(n_accounts=400, n_groups=3, days=2, seed=5)
    c = _Coded(build_traces(actions))
    c.set_authors(actions)
    return c


def _reference_logp(c: _Coded, time: np.ndarray, min_weight: float, max_partners: int | None):
    sn = SortedTraces(c, time, window_ns=WINDOW_NS, max_partners=max_partners)
    e = sn.edges(min_weight)
    if e["u"].size == 0:
        return np.empty(0)
    return c.test(sn, e["u"].astype(np.int64), e["v"].astype(np.int64), e["weight"],
                  fast=False)["log_p"]


@pytest.mark.parametrize("min_weight, max_partners", [(2, None), (1, None), (3, 4), (2, 2)])
def test_null_logp_equals_the_reference_path(coded, min_weight, max_partners):
    null = TimeSwapNull.from_coded(coded)
    rng = np.random.default_rng(7)
    for _ in range(3):
        time = null.sample(rng)
        fast = coded.null_logp(null, time, WINDOW_NS, K._cap(max_partners), min_weight)
        ref = _reference_logp(coded, time, min_weight, max_partners)
        assert fast.size > 0 or min_weight > 2
        assert _same(fast, ref)


def test_null_logp_without_authors_and_on_observed_times():
    actions, _ = simulate(n_accounts=300, n_groups=2, days=1, seed=11)
    c = _Coded(build_traces(actions))  # no set_authors: every event is an action pair
    null = TimeSwapNull.from_coded(c)
    for time in (c.time, null.sample(np.random.default_rng(0))):
        assert _same(c.null_logp(null, time, WINDOW_NS, -1, 2), _reference_logp(c, time, 2, None))


def test_null_fdr_fast_equals_reference(coded):
    st = SortedTraces(coded, window_ns=WINDOW_NS)
    e = st.edges(2)
    u, v = e["u"].astype(np.int64), e["v"].astype(np.int64)
    obs = coded.test(st, u, v, e["weight"], fast=False)
    assert _same(coded.test(st, u, v, e["weight"])["log_p"], obs["log_p"])
    q_fast = _null_fdr(coded, st, obs["log_p"], 2, 4, seed=3)
    q_ref = _null_fdr(coded, st, obs["log_p"], 2, 4, seed=3, fast=False)
    assert _same(q_fast, q_ref)


def test_pvalues_fast_equals_scipy(coded):
    rng = np.random.default_rng(1)
    n = coded.n_accounts
    u = rng.integers(0, n, 3000)
    v = rng.integers(0, n, 3000)
    u, v = np.minimum(u, v), np.maximum(u, v)
    keep = u < v
    u, v = u[keep], v[keep]
    chance = rng.uniform(0, 0.3, coded.n_groups)
    weight = rng.integers(1, 6, u.size)
    fast = coded.pvalues(u, v, weight, chance)
    ref = coded.pvalues(u, v, weight, chance, fast=False)
    for a, b in zip(fast, ref):
        assert _same(np.asarray(a, np.float64), np.asarray(b, np.float64))


def test_common_objects_and_row_sums_equal_scipy():
    from cib._edgetest import common_objects, row_sums

    rng = np.random.default_rng(2)
    rows, cols = 60, 400
    r = rng.integers(0, rows, 5000)
    c = np.minimum(rng.zipf(1.6, 5000), cols) - 1  # a few very common columns
    vals = rng.choice([1.0, 1.0, 2.0, 3.0, 300.0, 1000.0], 5000)
    a = sparse.csr_matrix((vals, (r, c)), shape=(rows, cols))
    a.sum_duplicates()
    u = rng.integers(0, rows, 2000)
    v = rng.integers(0, rows, 2000)
    ptr, col, prod = common_objects(a.indptr, a.indices, a.data, u, v)
    ref = a[u].multiply(a[v]).tocsr()
    assert _same(ptr, ref.indptr.astype(np.int64))
    assert _same(col, ref.indices.astype(np.int64))
    assert _same(prod, ref.data)
    # the 32-bit columns and counts of the edge tests' incidence, and 64-bit ones: the same
    for idx, val in [(a.indices.astype(np.int32), a.data.astype(np.int32)),
                     (a.indices.astype(np.int64), a.data)]:
        got = common_objects(a.indptr, idx, val, u, v)
        assert _same(got[0], ptr) and _same(got[1], col) and _same(got[2], prod)
        assert got[2].dtype == np.float64
    data = -np.expm1(prod * rng.uniform(-0.5, 0, cols)[col])
    ref.data = data.copy()
    assert _same(row_sums(data, ptr), np.asarray(ref.sum(axis=1)).ravel())
    e = np.empty(0, np.int64)
    ptr, col, prod = common_objects(a.indptr, a.indices, a.data, e, e)
    assert ptr.tolist() == [0] and col.size == 0 and prod.size == 0


def test_group_time_order_equals_sort_order():
    from cib._edgetest import group_time_order

    rng = np.random.default_rng(3)
    for n, groups in [(5000, 40), (3000, 2000), (1, 1)]:
        g = rng.integers(0, groups, n)
        t = rng.integers(0, 50, n)  # many equal times: ties go by row
        order = np.argsort(g, kind="stable")
        gstart = np.concatenate(([0], np.cumsum(np.bincount(g, minlength=groups))))
        assert _same(group_time_order(order, gstart, t), K.sort_order(g, t))


def test_internal_weight_fast_equals_aggregate_edges(coded):
    from cib.nullmodel import _InternalWeight

    rng = np.random.default_rng(4)
    n = coded.n_accounts
    label = rng.integers(-1, 6, n)  # six clusters, some accounts in none
    rows = np.flatnonzero(label[coded.account] >= 0)
    _, account = np.unique(coded.account[rows], return_inverse=True)
    weigh = _InternalWeight(coded.group[rows], label[coded.account[rows]], account, 6, WINDOW_NS)
    null = TimeSwapNull.from_coded(coded)
    for time in (coded.time[rows], null.sample(rng)[rows], np.zeros(rows.size, np.int64)):
        fast = weigh(time)
        assert _same(fast, weigh(time, fast=False))
    assert fast.sum() > 0


def test_records_of_a_permutation():
    """The null runs' records straight from the permutation: what the records of the
    gathered copies give."""
    rng = np.random.default_rng(5)
    n, n_acc = 5000, 97
    group = rng.integers(0, 400, n).astype(np.int64)
    time = rng.integers(-10**12, 10**12, n).astype(np.int64)
    account = rng.integers(0, n_acc, n).astype(np.int64)
    at = rng.permutation(n).astype(np.int64)
    rec = K._nb_records_at(group, time, account, at)
    np.testing.assert_array_equal(rec, K._nb_records(group[at], time[at], account[at]))
