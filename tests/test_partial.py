"""The per-partition pair weights and the two-pass reduction of the Dask engine
(:mod:`cib.coaction._partial`): exactly the single-pass sums, whatever the partitions, reducers
and fingerprint collisions."""

from __future__ import annotations

import numpy as np
import pytest

from cib.coaction import _kernel as K
from cib.coaction import _partial as P


def _random_parts(rng, n_parts: int, n_keys: int, max_w: int):
    """Parts with distinct keys each; many keys in several parts with small weights."""
    parts = []
    for _ in range(n_parts):
        k = np.unique(rng.integers(0, n_keys, rng.integers(0, 3 * n_keys // 2 + 1)))
        w = rng.integers(1, max_w + 1, k.size).astype(np.int64)
        parts.append((k.astype(np.int64), w))
    return parts


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fp_bits", [32, 3])
def test_two_pass_equals_single_pass(seed, fp_bits):
    rng = np.random.default_rng(seed)
    for min_weight in (1, 2, 3, 5):
        parts = _random_parts(rng, int(rng.integers(1, 9)), int(rng.integers(1, 400)),
                              int(rng.integers(1, 4)))
        n_red = int(rng.integers(1, 6))
        want = P.reduce_single_pass(parts, min_weight)
        got = P.reduce_two_pass(parts, min_weight, n_red, fp_bits=fp_bits)
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1] == want[1]


def test_weight_one_parts_reach_min_weight_only_in_the_sum():
    """A pair with weight 1 on each of two partitions is a candidate at min_weight 2; one with
    weight 1 on one partition only is not; a pair heavy on one partition is, alone."""
    k = np.int64
    parts = [(np.array([10, 20, 30], k), np.array([1, 1, 2], k)),
             (np.array([10, 40], k), np.array([1, 1], k)),
             (np.array([50], k), np.array([1], k))]
    for n_red in (1, 2, 7):
        for fp_bits in (32, 1):
            cand, n_all = P.reduce_two_pass(parts, 2, n_red, fp_bits=fp_bits)
            assert cand.tolist() == [10, 30] and n_all == 5
    cand, n_all = P.reduce_two_pass(parts, 3, 3)
    assert cand.tolist() == [] and n_all == 5
    cand, n_all = P.reduce_two_pass([], 2, 3)
    assert cand.size == 0 and n_all == 0


def test_only_shared_fingerprints_travel():
    """Pass 2 sends the keys of fingerprints seen in two partitions, nothing else."""
    rng = np.random.default_rng(3)
    a = np.unique(rng.integers(0, 10**12, 5000)).astype(np.int64)
    b = np.unique(rng.integers(0, 10**12, 5000)).astype(np.int64)
    common = a[:100]
    b = np.unique(np.concatenate([b, common]))
    parts = [(a, np.ones(a.size, np.int64)), (b, np.ones(b.size, np.int64))]
    fps = [P.pass1_fingerprints(x, 4) for x, _ in parts]
    table = P.shared_table([P.shared_fingerprints(*[f[r] for f in fps]) for r in range(4)])
    sent = 0
    for x, w in parts:
        cand, n_alone, out = P.pass2_split(x, w, 2, 4, table)
        sent += sum(o[0].size for o in out)
        assert cand.size == 0 and n_alone + sum(o[0].size for o in out) == x.size
    assert 200 <= sent < 260  # the common keys from both sides, and rare collisions
    cand, n_all = P.reduce_two_pass(parts, 2, 4)
    np.testing.assert_array_equal(cand, common)
    assert n_all == np.union1d(a, b).size


@pytest.mark.parametrize("use_numba", [True, False])
def test_pair_weights_equal_the_kernel(use_numba):
    rng = np.random.default_rng(7)
    for trial in range(20):
        n = int(rng.integers(1, 2000))
        g = np.sort(rng.integers(0, int(rng.integers(1, 150)), n))
        t = rng.integers(0, 1000, n)
        o = np.lexsort((t, g))
        g, t = g[o], t[o]
        a = rng.integers(0, int(rng.integers(1, 80)), n)
        cap = None if trial % 3 else int(rng.integers(1, 5))
        u, v, w = P.pair_weights(g, t, a, 50, cap, use_numba=use_numba)
        ref = K._aggregate(g, t, a, 50, None, None, cap, K.HAVE_NUMBA, 1)
        np.testing.assert_array_equal(u, ref["u"])
        np.testing.assert_array_equal(v, ref["v"])
        np.testing.assert_array_equal(w, ref["weight"])


def test_partitioned_pairs_sum_to_the_whole():
    """Objects split over partitions (each object on one): the two-pass sums of the
    partitions' pair weights are the whole data's candidate edges and pair count."""
    rng = np.random.default_rng(11)
    n = 6000
    g = np.sort(rng.integers(0, 700, n))
    t = rng.integers(0, 3000, n)
    o = np.lexsort((t, g))
    g, t = g[o], t[o]
    a = rng.integers(0, 120, n)
    n_acc = 120
    for min_weight in (1, 2, 3):
        whole = K._aggregate(g, t, a, 60, None, None, None, K.HAVE_NUMBA, min_weight)
        want = whole["u"].astype(np.int64) * n_acc + whole["v"]
        for n_parts in (1, 3, 8):
            dest = (g * 2654435761) % n_parts
            parts = []
            for p in range(n_parts):
                m = dest == p
                u, v, w = P.pair_weights(g[m], t[m], a[m], 60)
                parts.append((u * n_acc + v, w))
            cand, n_all = P.reduce_two_pass(parts, min_weight, max(1, n_parts - 1))
            np.testing.assert_array_equal(cand, np.sort(want))
            assert n_all == whole["n_edges_all"]
