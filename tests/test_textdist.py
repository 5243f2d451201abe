"""Near-duplicate text groups in partitions (issue 8): the Dask engine's workers find exactly the
groups the single-machine grouping finds on all distinct texts at once, however the texts are
split into input partitions, text buckets and reducers."""

from __future__ import annotations

import numpy as np
import pytest

from cib import _textdist as T
from cib.distributed import _text_groups
from cib.text import _WINDOW


def _families(seed: int, n_fam: int = 120, max_variants: int = 90, singles: int = 1500):
    """Sorted distinct texts: copypasta families (some larger than the verification window,
    variants one to four characters apart) and unrelated texts from the same words."""
    rng = np.random.default_rng(seed)
    words = ["".join(rng.choice(list("abcdefghij"), 5)) for _ in range(300)]
    texts: set[str] = set()
    sizes = []
    for _ in range(n_fam):
        base = " ".join(rng.choice(words, rng.integers(6, 15)))
        before = len(texts)
        for _ in range(rng.integers(1, max_variants)):
            t = list(base)
            for _ in range(rng.integers(0, 4)):
                t[rng.integers(len(t))] = rng.choice(list("xyz!? "))
            texts.add("".join(t))
        sizes.append(len(texts) - before)
    for _ in range(singles):
        texts.add(" ".join(rng.choice(words, rng.integers(2, 12))))
    texts.add("abc")  # shorter than a shingle: never grouped
    return sorted(texts), max(sizes)


def _partitioned(parts: list[np.ndarray], threshold: float, n_text: int, n_red: int) -> dict:
    """The worker steps run in this process, in the order the engine runs them."""
    split = [T.split_texts(p, n_text) for p in parts]
    buckets = [T.band_keys(*[s[i] for s in split], threshold=threshold) for i in range(n_text)]
    keys = [T.key_split(b, n_red) for b in buckets]
    shared = np.unique(np.concatenate([T.shared_keys(*[k[r] for k in keys])
                                       for r in range(n_red)]))
    recs = [T.bucket_records(b, shared, n_red) for b in buckets]
    pairs = [T.verify_buckets(*[r[i] for r in recs], threshold=threshold) for i in range(n_red)]
    return T.remap_from_pairs(np.concatenate([p[0] for p in pairs]),
                              np.concatenate([p[1] for p in pairs]))


def _input_parts(texts: list[str], k: int, seed: int) -> list[np.ndarray]:
    """``texts`` spread over ``k`` input partitions, with overlaps (one text in several)."""
    rng = np.random.default_rng(seed)
    arr = np.array(texts, dtype=object)
    where = rng.integers(0, k, arr.size)
    also = rng.integers(0, k, arr.size)
    return [np.array(sorted(set(arr[(where == i) | (also == i)].tolist())), dtype=object)
            for i in range(k)]


@pytest.mark.parametrize("threshold", [0.8, 0.5])
@pytest.mark.parametrize("n_text,n_red", [(1, 1), (3, 2), (7, 5)])
def test_same_groups_as_one_machine(threshold, n_text, n_red):
    texts, biggest = _families(1)
    assert biggest > _WINDOW + 1  # some buckets need the window rule
    parts = _input_parts(texts, 3, seed=2)
    reference = _text_groups(parts, threshold)
    assert len(reference) > 500  # many texts joined a group
    assert _partitioned(parts, threshold, n_text, n_red) == reference


def test_split_and_reducers_do_not_matter_on_other_data():
    texts, _ = _families(7, n_fam=40, max_variants=200, singles=300)
    parts = _input_parts(texts, 4, seed=3)
    reference = _text_groups(parts, 0.8)
    for n_text, n_red in [(2, 9), (5, 1), (11, 3)]:
        assert _partitioned(parts, 0.8, n_text, n_red) == reference


@pytest.mark.parametrize("seed", range(6))
def test_in_sorted_is_membership(seed):
    """Exactly the plain binary search of every value (what bucket_records did before), on
    repeats, values past both ends of the table, an empty table and empty values."""
    rng = np.random.default_rng(seed)
    table = np.unique(rng.integers(0, 50, rng.integers(0, 30), dtype=np.uint64))
    values = rng.integers(0, 60, (rng.integers(0, 40), 16), dtype=np.uint64)
    values[:, 0] = np.iinfo(np.uint64).max
    got = T.in_sorted(values, table)
    want = np.isin(values, table)
    assert got.shape == values.shape and got.dtype == bool
    np.testing.assert_array_equal(got, want)
    if table.size:
        pos = np.searchsorted(table, values)
        np.testing.assert_array_equal(got, table[np.minimum(pos, table.size - 1)] == values)


def test_shared_keys_and_records():
    assert T.shared_keys(np.array([3, 1], np.uint64), np.array([3, 5], np.uint64)).tolist() == [3]
    assert T.shared_keys().size == 0
    texts = np.array(["hello world again", "hello world again!"], dtype=object)
    bucket = T.band_keys(texts, threshold=0.5)
    assert bucket[0].tolist() == sorted(texts.tolist())
    shared = T.shared_keys(*T.key_split(bucket, 1))
    assert shared.size >= 1  # these two share at least one band at a low threshold
    key, band, txt = T.bucket_records(bucket, shared, 1)[0]
    assert set(txt.tolist()) == set(texts.tolist()) and set(key.tolist()) <= set(shared.tolist())
    a, b = T.verify_buckets((key, band, txt), threshold=0.5)
    assert sorted([a[0], b[0]]) == sorted(texts.tolist())
    assert T.verify_buckets((key, band, txt), threshold=1.0)[0].size == 0
    remap = T.remap_from_pairs(a, b)
    assert list(remap) == ["hello world again!"]  # the smaller text is the root
    assert remap_root_name(remap) == "hello world again"


def remap_root_name(remap: dict) -> str:
    from cib.traces import text_fingerprint

    (gid,) = set(remap.values())
    assert gid == "nd:" + text_fingerprint("hello world again")
    return "hello world again"


def test_empty_and_short_inputs():
    empty = np.zeros(0, dtype=object)
    assert _partitioned([empty], 0.8, 2, 2) == {}
    assert _partitioned([np.array(["abc", "abd"], dtype=object)], 0.8, 1, 1) == {}
    assert T.remap_from_pairs(empty, empty) == {}


def test_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")  # noqa: F841
    from cib import distributed as cd
    from cib.distributed import _text_groups_partitioned

    texts, _ = _families(3, n_fam=30, max_variants=60, singles=200)
    parts = _input_parts(texts, 3, seed=4)
    import pandas as pd

    frames = [pd.DataFrame({"text": p, "action_type": "post"}) for p in parts]
    with cd.local_client(n_workers=2, processes=False) as client:
        futs = client.scatter(frames)
        got = _text_groups_partitioned(client, futs, 10, 0.8)
    assert got == _text_groups([cd._norm_texts(f, 10) for f in frames], 0.8)
    assert len(got) > 100


@pytest.mark.parametrize("n", [1, 2, 7, 100, 40_000])
def test_split_by_is_the_mask_split(n):
    """split_by gives, per destination, what a boolean mask gives (same elements, same order),
    with the int16 radix path and without it."""
    rng = np.random.default_rng(n)
    dest = rng.integers(0, n, 5000)
    a = rng.integers(0, 10**12, 5000).astype(np.uint64)
    b = np.array([f"t{i}" for i in range(5000)], dtype=object)
    got = T.split_by(dest, n, a, b)
    assert len(got) == n
    for i in range(n):
        assert np.array_equal(got[i][0], a[dest == i]) and got[i][0].dtype == a.dtype
        assert got[i][1].tolist() == b[dest == i].tolist()
