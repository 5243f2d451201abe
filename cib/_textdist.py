"""Near-duplicate text groups in partitions: the steps the Dask engine runs on its workers, with
exactly the groups of :func:`cib.text._group_roots` on all distinct texts at once.

The single-machine grouping (:mod:`cib.text`) sorts every distinct normalised text, computes
MinHash LSH band keys, and verifies candidate pairs inside each band's buckets: each text is
paired with the bucket's first text and its next ``_WINDOW`` texts, buckets ordered by the texts
themselves; the groups are the connected components of the verified pairs, named after their
lexicographically smallest text. Every piece of that depends only on the texts of one bucket, so
it splits:

1. :func:`split_texts`: each input partition's distinct normalised texts go to a text bucket
   chosen by a stable hash of the text (every text ends on one bucket, once).
2. :func:`band_keys`: per text bucket, the sorted distinct texts and their band keys (the same
   MinHash functions, so the same keys as on one machine); :func:`key_split` sends the keys to
   reducers by value.
3. :func:`shared_keys`: per reducer, the keys two or more texts have. Keys are counted without
   their band: a key two bands share marks a superset of the buckets, which step 5 drops again
   (a bucket needs two texts *in one band*).
4. :func:`bucket_records`: per text bucket, one record ``(key, band, text)`` for each of its
   texts' band keys that is shared; records go to reducers by key. Only texts that share a key
   ever travel.
5. :func:`verify_buckets`: per reducer, each bucket ``(band, key)`` with its texts in sorted
   order, the same window of candidate pairs, the same exact shingle Jaccard test; it returns
   the pairs that pass (a pair already joined through this reducer's verified pairs is skipped:
   it could not change the components).
6. :func:`remap_from_pairs`: centrally, the connected components of all verified pairs (only
   near-duplicates come here), each text that is not its component's smallest mapped to the
   group id ``"nd:" + fingerprint(smallest)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["split_texts", "band_keys", "key_split", "shared_keys", "in_sorted", "bucket_records",
           "verify_buckets", "remap_from_pairs", "split_by", "SHINGLE", "NUM_PERM",
           "MINHASH_SEED"]

#: The grouping's fixed parameters (those of :func:`cib.text.text_traces`'s defaults).
SHINGLE = 5
NUM_PERM = 64
MINHASH_SEED = 0


def _hash(texts: np.ndarray) -> np.ndarray:
    """A stable 64-bit hash of each text (the same in every process)."""
    return pd.util.hash_array(np.asarray(texts, dtype=object))


def split_by(dest: np.ndarray, n: int, *arrays: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """Per destination ``0 .. n-1``, the elements of each of ``arrays`` sent there, in their
    order: what ``a[dest == i]`` gives for every ``i``, in one stable sort of the destinations
    (a radix sort for up to 32,767 destinations) instead of ``n`` passes over the arrays.

    Examples
    --------
    >>> split_by(np.array([1, 0, 1, 0]), 2, np.array([10, 20, 30, 40]))
    [(array([20, 40]),), (array([10, 30]),)]
    """
    dest = np.asarray(dest)
    small = dest.astype(np.int16) if n <= np.iinfo(np.int16).max else dest
    order = np.argsort(small, kind="stable")
    cuts = np.searchsorted(small[order], np.arange(n + 1))
    moved = [np.asarray(a)[order] for a in arrays]
    return [tuple(m[cuts[i]:cuts[i + 1]] for m in moved) for i in range(n)]


def split_texts(texts: np.ndarray, n: int) -> list[np.ndarray]:
    """``texts`` (distinct, any order) split into ``n`` text buckets by a stable hash.

    Examples
    --------
    >>> parts = split_texts(np.array(["a", "b", "c"], dtype=object), 2)
    >>> sorted(t for p in parts for t in p)
    ['a', 'b', 'c']
    """
    texts = np.asarray(texts, dtype=object)
    if n <= 1 or texts.size == 0:
        return [texts] + [texts[:0]] * (n - 1)
    dest = (_hash(texts) % np.uint64(n)).astype(np.int64)
    return [p[0] for p in split_by(dest, n, texts)]


def band_keys(*pieces: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct texts of one text bucket (at least :data:`SHINGLE` characters) and
    their LSH band keys, shape ``(n, bands)``."""
    from .text import _minhash_band_keys, lsh_params

    allt: set = set()
    for p in pieces:
        allt.update(p.tolist())
    texts = np.array(sorted(t for t in allt if len(t) >= SHINGLE), dtype=object)
    bands, rows = lsh_params(float(threshold), NUM_PERM)
    if texts.size == 0:
        return texts, np.zeros((0, bands), dtype=np.uint64)
    keys = _minhash_band_keys(texts.tolist(), SHINGLE, NUM_PERM, bands, rows, MINHASH_SEED)
    return texts, keys


def key_split(bucket: tuple[np.ndarray, np.ndarray], n: int) -> list[np.ndarray]:
    """A text bucket's band keys (flattened, repeats inside the bucket kept) split into ``n``
    reducers by value."""
    flat = bucket[1].ravel()
    if n <= 1:
        return [flat]
    dest = (flat % np.uint64(n)).astype(np.int64)
    return [p[0] for p in split_by(dest, n, flat)]


def shared_keys(*pieces: np.ndarray) -> np.ndarray:
    """The keys that occur at least twice among ``pieces`` (sorted, distinct)."""
    if not pieces:
        return np.zeros(0, dtype=np.uint64)
    allk = np.sort(np.concatenate(pieces))
    if allk.size < 2:
        return np.zeros(0, dtype=np.uint64)
    same = allk[1:] == allk[:-1]
    return np.unique(allk[1:][same])


def in_sorted(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Whether each of ``values`` (any shape) is in ``table`` (sorted), as a boolean array of
    ``values``' shape (:func:`cib._lookup.find_sorted`, which searches in sorted order).

    Examples
    --------
    >>> in_sorted(np.array([[5, 1], [9, 3]], dtype=np.uint64), np.array([1, 3, 4], dtype=np.uint64))
    array([[False,  True],
           [False,  True]])
    """
    from ._lookup import find_sorted

    return find_sorted(np.ravel(values), table)[1].reshape(np.shape(values))


def bucket_records(bucket: tuple[np.ndarray, np.ndarray], shared: np.ndarray,
                   n: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Records ``(key, band, text)`` for every band key of the bucket's texts that is in
    ``shared`` (sorted), split into ``n`` reducers by key."""
    texts, keys = bucket
    empty = (np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, dtype=object))
    if texts.size == 0 or shared.size == 0:
        return [empty] * max(n, 1)
    hit = in_sorted(keys, shared)
    t_idx, band = np.nonzero(hit)
    key = keys[t_idx, band]
    txt = texts[t_idx]
    if n <= 1:
        return [(key, band.astype(np.int64), txt)]
    dest = (key % np.uint64(n)).astype(np.int64)
    return split_by(dest, n, key, band.astype(np.int64), txt)


def verify_buckets(*pieces: tuple[np.ndarray, np.ndarray, np.ndarray],
                   threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The verified near-duplicate pairs ``(text_a, text_b)`` of one reducer's buckets, with
    the candidate pairs of :func:`cib.text._band_union` (window ``_WINDOW``, texts in sorted
    order inside a bucket) and its exact Jaccard test."""
    from .text import _WINDOW, _shingle_sets

    pieces = [p for p in pieces if p[0].size]
    none = (np.zeros(0, dtype=object), np.zeros(0, dtype=object))
    if not pieces:
        return none
    key = np.concatenate([p[0] for p in pieces])
    band = np.concatenate([p[1] for p in pieces])
    txt = np.concatenate([p[2] for p in pieces])
    # each distinct text's index in the sorted distinct texts (a hash table, then a sort of
    # the distinct ones: a quarter of the time of a lookup of every record in the sorted texts)
    codes, first = pd.factorize(txt)
    first = np.asarray(first, dtype=object)
    if first.size < 2:
        return none
    order = np.argsort(first, kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size, dtype=np.int64)
    uniq = first[order]
    code = rank[codes]
    del codes, first, order, rank
    # buckets (band, key), members in text order (= their index in the sorted texts)
    order = np.lexsort((code, key, band))
    key, band, code = key[order], band[order], code[order]
    new = np.ones(code.size, dtype=bool)
    new[1:] = (key[1:] != key[:-1]) | (band[1:] != band[:-1])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], code.size)
    big = ends - starts >= 2
    vals, off = _shingle_sets(uniq.tolist(), SHINGLE)
    a, b = _verify(code, starts[big], ends[big], vals, off, float(threshold), _WINDOW,
                   uniq.size)
    return uniq[a], uniq[b]


def _verify(code, starts, ends, vals, off, threshold, window, n):
    from .text import _verify_windows

    parent = np.arange(n, dtype=np.int64)
    out = np.zeros((max(n - 1, 1), 2), dtype=np.int64)  # one row per union: at most n - 1
    m = _verify_windows(code, starts.astype(np.int64), ends.astype(np.int64), parent, vals,
                        off, threshold, window, out)
    return out[:m, 0], out[:m, 1]


def remap_from_pairs(a: np.ndarray, b: np.ndarray) -> dict[str, str]:
    """Each text of a verified pair that is not the smallest of its connected component, mapped
    to the group id of that smallest text.

    Examples
    --------
    >>> r = remap_from_pairs(np.array(["b", "c"], dtype=object), np.array(["a", "b"], dtype=object))
    >>> sorted(r) == ["b", "c"] and r["b"] == r["c"]
    True
    """
    from .traces import text_fingerprint

    if len(a) == 0:
        return {}
    uniq, inv = np.unique(np.concatenate([np.asarray(a, dtype=object),
                                          np.asarray(b, dtype=object)]), return_inverse=True)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    k = len(a)
    g = coo_matrix((np.ones(k), (inv[:k], inv[k:])), shape=(uniq.size, uniq.size))
    _, comp = connected_components(g, directed=False)
    # the smallest text of each component (uniq is sorted: the first index per component)
    first = np.full(comp.max() + 1, uniq.size, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(uniq.size))
    root = first[comp]
    idx = np.flatnonzero(root != np.arange(uniq.size))
    names = {r: "nd:" + text_fingerprint(uniq[r]) for r in np.unique(root[idx]).tolist()}
    return {uniq[i]: names[root[i]] for i in idx.tolist()}
