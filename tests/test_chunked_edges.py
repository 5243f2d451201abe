"""The candidate edges of :func:`cib.detect` aggregated in chunks of accounts (bounded memory)
equal one pass, to the last bit; the compensated group sums behind ``weighted`` do not depend on
the rest of the frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cib import pipeline as PL
from cib.coaction._edges import _kahan_group_sum, _kahan_group_sum_py
from cib.coaction._engine import SortedTraces
from cib.datasets import simulate
from cib.nullmodel import _Coded
from cib.traces import build_traces


@pytest.fixture(scope="module")
def selected():
    actions, _ = simulate(n_accounts=1500, n_groups=4, seed=3)
    traces = build_traces(actions)
    coded = _Coded(traces)
    coded.set_authors(actions)
    st = SortedTraces(coded, window_ns=60_000_000_000)
    cand = st.edges(1)
    i, j = st.select(pairs=(cand["u"].astype(np.int64), cand["v"].astype(np.int64)), what="x")
    return traces, coded, i, j


@pytest.mark.parametrize("chunk", [400, 2500])
def test_chunks_equal_one_pass(selected, chunk):
    traces, coded, i, j = selected
    by_kind, combined = PL._candidate_edges(traces, coded, i, j, chunk=10**12)
    assert i.size > 4000 and len(combined) > 100
    bk, cb = PL._candidate_edges(traces, coded, i, j, chunk=chunk)
    pd.testing.assert_frame_equal(by_kind, bk, check_exact=True)
    pd.testing.assert_frame_equal(combined, cb, check_exact=True)


def test_kahan_group_sum_is_pandas_cython_sum():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 50, 5000)
    values = rng.random(5000) / rng.integers(1, 1000, 5000)
    values[::97] = np.nan
    want = pd.Series(values).groupby(codes).sum()  # unsorted ids: pandas' Kahan kernel
    got = _kahan_group_sum(codes.astype(np.int64), values, 50)
    np.testing.assert_array_equal(got, want.to_numpy())
    np.testing.assert_array_equal(_kahan_group_sum_py(codes, values, 50), got)


def test_weighted_does_not_depend_on_the_other_rows():
    """One group's sum is the same alone and in a large frame; pandas' own group sum is not
    (``np.add.reduceat`` when the group ids happen to be sorted, Kahan otherwise)."""
    ws = [0.2890648263178879, 0.11186208836303264, 0.27023815442731974,
          0.13119826835175236, 0.15366188628986424]
    alone = _kahan_group_sum(np.zeros(5, np.int64), np.array(ws), 1)[0]
    codes = np.concatenate([np.zeros(5, np.int64), np.arange(100, 0, -1)])
    values = np.array(ws + [0.1] * 100)
    mixed = _kahan_group_sum(codes, values, 101)[0]
    assert alone == mixed == pd.Series(values).groupby(codes).sum().iloc[0]
    assert pd.Series(ws).groupby(np.zeros(5, np.int64)).sum().iloc[0] in (alone, sum(ws))
