"""Near-duplicate text groups: copypasta with small edits, in any language.

Texts are compared as sets of *character* shingles (``shingle`` consecutive characters of the
normalised text, see :func:`cib.traces.normalize_text`), so Japanese, Chinese or Thai texts
without spaces work as well as English. Two texts are near-duplicates when the Jaccard similarity
of their shingle sets is at least ``threshold``; a group is a connected component of the
near-duplicate relation (so ``A ~ B`` and ``B ~ C`` puts ``A``, ``B`` and ``C`` in one group).

How (for ``U`` distinct normalised texts with ``C`` characters in all):

1. Work on the distinct normalised texts only, sorted (copypasta repeats a lot; sorting makes
   everything independent of input order).
2. MinHash signatures (``num_perm`` multiply-shift hashes of 64-bit shingle hashes), vectorised
   with numpy in chunks of bounded memory: ``O(C * num_perm)``.
3. LSH banding: ``b`` bands of ``r`` rows (``b * r <= num_perm``), ``r`` the largest value that
   still finds a pair *at* the threshold with probability >= 0.999. Texts whose band keys collide
   are candidates: ``O(U log U)`` per band (one sort).
4. Candidates are verified with the *exact* shingle Jaccard (no false merges) and joined with a
   union-find. Inside a bucket each text is paired with the bucket's first text and its next
   ``_WINDOW`` texts, and a pair whose texts are already in one group is not verified (it could
   not change the groups), so a bucket of ``m`` variants of one copypasta costs about ``m``
   verifications, not ``m^2 / 2``. The groups are exactly the connected components of the
   verified candidate pairs. Only texts that share a bucket with another text ever have their
   shingle sets built.

Total cost ``O(C * num_perm + b * U log U + V * L)`` (``V`` verifications of texts of ``L``
shingles): linear in the data apart from the sorts. See ``bench/bench_text.py`` for timings.

The group id is ``"nd:"`` plus :func:`cib.traces.text_fingerprint` of the group's smallest
(lexicographically) normalised text, so it does not depend on input order or index labels, and a
text with no near-duplicate gets ``"nd:" + text_fingerprint(text)``.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from .params import check_number
from .schema import TRACE_COLUMNS, UTC_NS, empty_traces, validate_actions
from .traces import normalize_text, text_fingerprint

try:
    from numba import njit, prange

    from ._numbacache import install as _install_cache_lock

    _install_cache_lock()  # before any cached kernel is loaded or saved
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    njit = None
    prange = range
    HAVE_NUMBA = False

__all__ = ["near_duplicate_groups", "text_traces", "shingle_jaccard", "lsh_params"]

#: Inside an LSH bucket, each text is verified against the bucket's first text and its next
#: ``_WINDOW`` texts (all pairs for buckets of up to ``_WINDOW + 1`` texts).
_WINDOW = 32
#: Characters per chunk in the MinHash step (its temporaries take ~16 bytes * num_perm per char).
_CHUNK_CHARS = 200_000
#: Probability that LSH proposes a pair whose similarity is exactly ``threshold``.
_RECALL = 0.999

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_POLY = np.uint64(0x100000001B3)


def _jit(func):
    if HAVE_NUMBA:
        return njit(cache=True, nogil=True)(func)
    return func  # pragma: no cover


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (uint64 arrays; wrap-around arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """LSH bands and rows ``(b, r)`` for a Jaccard ``threshold``: the largest ``r`` (fewest
    false candidates) with ``1 - (1 - threshold**r)**b >= 0.999``, ``b = num_perm // r``.

    Examples
    --------
    >>> lsh_params(0.8, 64)
    (16, 4)
    """
    best = (num_perm, 1)
    for r in range(1, num_perm + 1):
        b = num_perm // r
        if 1.0 - (1.0 - threshold ** r) ** b >= _RECALL:
            best = (b, r)
    return best


def _codepoints(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts' code points, concatenated (uint64), and the start offsets (len + 1)."""
    lens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    cp = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    return cp, offsets


def _shingle_hashes(texts: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every character ``k``-shingle of each text (every text has >= k chars).

    Returns ``(hashes, offsets)``: text ``i``'s shingles are ``hashes[offsets[i]:offsets[i+1]]``
    (in text order, possibly repeated).
    """
    cp, off = _codepoints(texts)
    if HAVE_NUMBA:
        return _nb_shingle_hashes(cp, off, k)
    n = len(cp)
    m = n - k + 1
    h = np.zeros(m, dtype=np.uint64)
    for j in range(k):
        h = h * _POLY + cp[j:j + m] + np.uint64(1)
    h = _mix64(h ^ _GOLD)
    lens = np.diff(off)
    counts = lens - k + 1
    # start positions of valid shingles: text i contributes off[i] .. off[i] + counts[i] - 1
    s_off = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=s_off[1:])
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
    pos = np.arange(s_off[-1], dtype=np.int64) - s_off[owner] + off[owner]
    return h[pos], s_off


@_jit
def _nb_shingle_hashes(cp, off, k):  # pragma: no cover - compiled
    """:func:`_shingle_hashes` in one pass (the same values)."""
    n = off.shape[0] - 1
    s_off = np.zeros(n + 1, np.int64)
    for t in range(n):
        s_off[t + 1] = s_off[t] + (off[t + 1] - off[t] - k + 1)
    out = np.empty(s_off[n], np.uint64)
    poly = np.uint64(0x100000001B3)
    one = np.uint64(1)
    gold = np.uint64(0x9E3779B97F4A7C15)
    m1 = np.uint64(0xBF58476D1CE4E5B9)
    m2 = np.uint64(0x94D049BB133111EB)
    for t in range(n):
        o = s_off[t]
        for p in range(off[t], off[t + 1] - k + 1):
            h = np.uint64(0)
            for j in range(k):
                h = h * poly + cp[p + j] + one
            x = h ^ gold
            x = x ^ (x >> np.uint64(30))
            x = x * m1
            x = x ^ (x >> np.uint64(27))
            x = x * m2
            out[o] = x ^ (x >> np.uint64(31))
            o += 1
    return out, s_off


def _minhash_kernel(h, s_off, a, c):
    """MinHash signatures: ``sig[t, p] = min over text t's shingles x of (a[p] * x + c[p]) >> 32``."""
    n = len(s_off) - 1
    m = len(a)
    sig = np.empty((n, m), dtype=np.uint64)
    for t in prange(n):
        for p in range(m):
            sig[t, p] = np.uint64(0xFFFFFFFFFFFFFFFF)
        for x in range(s_off[t], s_off[t + 1]):
            hx = h[x]
            for p in range(m):
                v = (hx * a[p] + c[p]) >> np.uint64(32)
                if v < sig[t, p]:
                    sig[t, p] = v
    return sig


if HAVE_NUMBA:
    _minhash_kernel = njit(cache=True, nogil=True, parallel=True)(_minhash_kernel)


def _minhash_band_keys(texts: list[str], k: int, num_perm: int, bands: int, rows: int,
                       seed: int) -> np.ndarray:
    """LSH band keys, shape ``(len(texts), bands)`` (uint64), computed in bounded-memory chunks."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    c = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    keys = np.empty((len(texts), bands), dtype=np.uint64)
    lens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    i = 0
    n = len(texts)
    cum = np.cumsum(lens)
    while i < n:
        base = cum[i - 1] if i else 0
        j = int(np.searchsorted(cum, base + _CHUNK_CHARS, side="right"))
        j = max(j, i + 1)
        h, s_off = _shingle_hashes(texts[i:j], k)
        if HAVE_NUMBA:
            sig = _minhash_kernel(h, s_off, a, c)
        else:  # pragma: no cover
            hv = h[:, None] * a[None, :]
            hv += c[None, :]
            hv >>= np.uint64(32)
            sig = np.minimum.reduceat(hv, s_off[:-1], axis=0)  # every text has >= 1 shingle
        for band in range(bands):
            key = np.full(j - i, band + 1, dtype=np.uint64) * _GOLD
            for col in range(band * rows, (band + 1) * rows):
                key = (key ^ sig[:, col]) * _POLY
            keys[i:j, band] = _mix64(key)
        i = j
    return keys


#: Characters per chunk when building shingle sets (bounds their temporaries, ~30 bytes a char).
_SET_CHUNK_CHARS = 4_000_000


def _shingle_sets(texts: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct shingle hashes per text, as ``(values, offsets)``: built in chunks of
    about ``_SET_CHUNK_CHARS`` characters, so that only the result (8 bytes a distinct shingle)
    is held whole."""
    n = len(texts)
    lens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    counts = np.maximum(lens - k + 1, 0)
    total = int(counts.sum())
    if total <= _SET_CHUNK_CHARS:
        h, s_off = _shingle_hashes(texts, k)
        return _segments_unique(np.ascontiguousarray(h), np.asarray(s_off, dtype=np.int64))
    vals = np.empty(total, np.uint64)
    off = np.zeros(n + 1, np.int64)
    cum = np.cumsum(lens)
    m = 0
    i = 0
    while i < n:
        base = cum[i - 1] if i else 0
        j = max(int(np.searchsorted(cum, base + _SET_CHUNK_CHARS, side="right")), i + 1)
        h, s_off = _shingle_hashes(texts[i:j], k)
        v, o = _segments_unique(np.ascontiguousarray(h), np.asarray(s_off, dtype=np.int64))
        del h, s_off
        vals[m:m + v.size] = v
        off[i + 1:j + 1] = o[1:] + m
        m += v.size
        i = j
    return vals[:m].copy() if m < 0.9 * total else vals[:m], off


@_jit
def _segments_unique(h, s_off):
    """Sort each segment ``h[s_off[t]:s_off[t + 1]]`` and drop repeats; the segments are
    packed, with new offsets."""
    n = s_off.shape[0] - 1
    vals = np.empty(h.shape[0], h.dtype)
    off = np.zeros(n + 1, np.int64)
    m = 0
    for t in range(n):
        seg = np.sort(h[s_off[t]:s_off[t + 1]])
        for x in range(seg.shape[0]):
            if x == 0 or seg[x] != seg[x - 1]:
                vals[m] = seg[x]
                m += 1
        off[t + 1] = m
    return vals[:m].copy(), off


@_jit
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@_jit
def _jaccard_ge(vals, off, x, y, threshold):
    """Whether the sorted sets x and y have Jaccard >= threshold (exact, with an early size test)."""
    a0, a1 = off[x], off[x + 1]
    b0, b1 = off[y], off[y + 1]
    la = a1 - a0
    lb = b1 - b0
    small = min(la, lb)
    big = max(la, lb)
    if small < threshold * big - 1e-9:  # J <= small / big
        return False
    inter = 0
    i = a0
    j = b0
    while i < a1 and j < b1:
        if vals[i] == vals[j]:
            inter += 1
            i += 1
            j += 1
            continue
        if vals[i] < vals[j]:
            i += 1
        else:
            j += 1
        # the most the intersection can still reach: when even that fails the test below
        # (which only gets easier as it grows), the answer is no; most candidate pairs of an
        # LSH bucket are far from the threshold and stop a few elements in
        best = inter + min(a1 - i, b1 - j)
        if best < threshold * (la + lb - best) - 1e-9:
            return False
    return inter >= threshold * (la + lb - inter) - 1e-9


@_jit
def _try_union(parent, vals, off, local, x, y, threshold):
    rx = _find(parent, x)
    ry = _find(parent, y)
    if rx == ry:
        return 0
    if not _jaccard_ge(vals, off, local[x], local[y], threshold):
        return 1
    if rx < ry:
        parent[ry] = rx
    else:
        parent[rx] = ry
    return 1


@_jit
def _band_union(sorted_keys, order, parent, vals, off, local, threshold, window):
    """Verify candidate pairs of one band's buckets; join the verified ones. Returns #verified."""
    n = len(order)
    done = 0
    i = 0
    while i < n:
        j = i + 1
        while j < n and sorted_keys[j] == sorted_keys[i]:
            j += 1
        if j - i > 1:
            for p in range(i, j):
                if p > i + window:
                    done += _try_union(parent, vals, off, local, order[i], order[p], threshold)
                stop = min(j, p + 1 + window)
                for q in range(p + 1, stop):
                    done += _try_union(parent, vals, off, local, order[p], order[q], threshold)
        i = j
    return done


@_jit
def _verify_windows(code, starts, ends, parent, vals, off, threshold, window, out):
    """:func:`_band_union`'s candidate pairs for buckets ``code[starts[b]:ends[b]]`` (text
    indices, sorted), verified against ``vals, off`` (shingle sets indexed like the codes); the
    pairs that joined two groups go to ``out``. Returns how many."""
    m = 0
    for b in range(starts.shape[0]):
        i = starts[b]
        j = ends[b]
        for p in range(i, j):
            if p > i + window:
                m = _union_pair(parent, vals, off, code[i], code[p], threshold, out, m)
            stop = min(j, p + 1 + window)
            for q in range(p + 1, stop):
                m = _union_pair(parent, vals, off, code[p], code[q], threshold, out, m)
    return m


@_jit
def _union_pair(parent, vals, off, x, y, threshold, out, m):
    rx = _find(parent, x)
    ry = _find(parent, y)
    if rx == ry or not _jaccard_ge(vals, off, x, y, threshold):
        return m
    if rx < ry:
        parent[ry] = rx
    else:
        parent[rx] = ry
    out[m, 0] = x
    out[m, 1] = y
    return m + 1


def _group_roots(texts: list[str], threshold: float, shingle: int, num_perm: int,
                 seed: int) -> np.ndarray:
    """For sorted distinct texts (each >= shingle chars): each text's group root index (the
    group's smallest index, i.e. its lexicographically smallest text)."""
    n = len(texts)
    parent = np.arange(n, dtype=np.int64)
    if n < 2:
        return parent
    bands, rows = lsh_params(threshold, num_perm)
    keys = _minhash_band_keys(texts, shingle, num_perm, bands, rows, seed)
    orders, sorted_keys = [], []
    involved = np.zeros(n, dtype=bool)
    for band in range(bands):
        order = np.argsort(keys[:, band], kind="stable")
        sk = keys[order, band]
        dup = np.zeros(n, dtype=bool)
        dup[1:] = sk[1:] == sk[:-1]
        dup[:-1] |= dup[1:]
        involved[order[dup]] = True
        keep = dup  # only texts in buckets of >= 2 matter
        orders.append(order[keep])
        sorted_keys.append(sk[keep])
    del keys
    inv = np.flatnonzero(involved)
    if len(inv) == 0:
        return parent
    local = np.full(n, -1, dtype=np.int64)
    local[inv] = np.arange(len(inv), dtype=np.int64)
    vals, off = _shingle_sets([texts[i] for i in inv], shingle)
    for band in range(bands):
        _band_union(sorted_keys[band], orders[band], parent, vals, off, local,
                    float(threshold), _WINDOW)
    return _all_roots(parent)


@_jit
def _all_roots(parent):
    out = np.empty(len(parent), dtype=np.int64)
    for x in range(len(parent)):
        out[x] = _find(parent, x)
    return out


def _check(threshold, shingle, num_perm, seed, caller):
    check_number(threshold, "threshold", caller, low=0, high=1, low_open=True)
    check_number(shingle, "shingle", caller, low=1, integer=True)
    check_number(num_perm, "num_perm", caller, low=1, integer=True)
    check_number(seed, "seed", caller, low=0, integer=True)


def _groups_of_normalized(norm: pd.Series, threshold: float, shingle: int, num_perm: int,
                          seed: int) -> pd.Series:
    """Group ids for already-normalised texts (same index); NA for texts shorter than shingle."""
    values = norm.to_numpy(dtype=object)
    ok = np.fromiter((isinstance(v, str) and len(v) >= shingle for v in values),
                     dtype=bool, count=len(values))
    out = pd.Series(pd.NA, index=norm.index, dtype="string")
    if not ok.any():
        return out
    uniq = sorted(set(values[ok].tolist()))
    roots = _group_roots(uniq, float(threshold), int(shingle), int(num_perm), int(seed))
    ids = {}
    for r in np.unique(roots).tolist():
        ids[r] = "nd:" + text_fingerprint(uniq[r])
    lookup = {t: ids[r] for t, r in zip(uniq, roots.tolist())}
    out[ok] = pd.Series(values[ok]).map(lookup).to_numpy(dtype=object)
    return out


def near_duplicate_groups(texts: pd.Series, threshold: float = 0.8, shingle: int = 5,
                          num_perm: int = 64, seed: int = 0) -> pd.Series:
    """Group near-duplicate texts (copypasta with small edits).

    Parameters
    ----------
    texts : Series of str
        Raw texts (any index); NA and non-strings are allowed.
    threshold : float, default 0.8
        Minimum Jaccard similarity of two texts' character-shingle sets to join them, in (0, 1].
    shingle : int, default 5
        Shingle size in characters (of the normalised text).
    num_perm : int, default 64
        MinHash permutations (more: fewer candidate pairs to verify, slower hashing).
    seed : int, default 0
        Seed of the MinHash functions. Groups are deterministic for a seed; the LSH may miss a
        pair whose similarity is right at the threshold with probability ~1e-3 (usually caught
        through the group's other members).

    Returns
    -------
    Series of string (same index)
        ``"nd:<16 hex>"`` group ids; NA where the normalised text is shorter than ``shingle``.
        Identical normalised texts always share a group; the id is the fingerprint of the
        group's smallest normalised text, so it does not depend on input order.

    Examples
    --------
    >>> g = near_duplicate_groups(pd.Series(["Vote NOW, the election is rigged! Share before they delete it",
    ...                                      "vote now: the election is rigged! share before they delete it",
    ...                                      "I had pasta for lunch today", "hi"]))
    >>> g[0] == g[1], g[0] == g[2], g.isna().tolist()
    (True, False, [False, False, False, True])
    """
    _check(threshold, shingle, num_perm, seed, "near_duplicate_groups")
    if not isinstance(texts, pd.Series):
        texts = pd.Series(texts)
    if texts.empty:
        return pd.Series(pd.NA, index=texts.index, dtype="string")
    raw = texts.to_numpy(dtype=object)
    uniq = pd.unique(raw)
    lookup = {v: normalize_text(v) for v in uniq if isinstance(v, str)}
    norm = pd.Series([lookup.get(v, "") if isinstance(v, str) else "" for v in raw],
                     index=texts.index, dtype=object)
    return _groups_of_normalized(norm, threshold, shingle, num_perm, seed)


def shingle_jaccard(a: str, b: str, shingle: int = 5) -> float:
    """Exact Jaccard similarity of the character-shingle sets of two normalised texts.

    Examples
    --------
    >>> shingle_jaccard("abcdef", "abcdeg", shingle=3)
    0.6
    """
    sa = {a[i:i + shingle] for i in range(len(a) - shingle + 1)}
    sb = {b[i:i + shingle] for i in range(len(b) - shingle + 1)}
    if not sa and not sb:
        return 1.0 if a == b else 0.0
    return len(sa & sb) / len(sa | sb)


def text_traces(actions: pd.DataFrame, threshold: float = 0.8, min_text_chars: int = 10,
                shingle: int = 5, num_perm: int = 64, seed: int = 0) -> pd.DataFrame:
    """TRACES of kind ``text`` whose object is the near-duplicate group of the action's text.

    A drop-in replacement for the exact-match ``text`` traces of :func:`cib.traces.build_traces`:
    non-repost actions whose normalised text has at least ``min_text_chars`` characters; the
    ``object_id`` is the group id of :func:`near_duplicate_groups` (texts shorter than
    ``shingle`` but long enough get ``"nd:" + fingerprint``, i.e. exact matching).

    Examples
    --------
    >>> from cib.datasets import simulate
    >>> actions, _ = simulate(n_accounts=50, n_groups=1, seed=1)
    >>> tr = text_traces(actions)
    >>> set(tr["kind"]) <= {"text"} and bool(tr["object_id"].str.startswith("nd:").all())
    True
    """
    validate_actions(actions)
    _check(threshold, shingle, num_perm, seed, "text_traces")
    check_number(min_text_chars, "min_text_chars", "text_traces", low=0, integer=True)
    if actions.empty:
        return empty_traces()
    mask = (actions["action_type"].astype(str).to_numpy() != "repost") & \
        actions["text"].notna().to_numpy()
    if not mask.any():
        return empty_traces()
    sub = actions.loc[mask]
    raw = sub["text"].to_numpy(dtype=object)
    lookup = {v: normalize_text(v) for v in pd.unique(raw)}
    norm = pd.Series([lookup[v] for v in raw], index=sub.index, dtype=object)
    keep = norm.map(len).to_numpy(dtype=np.int64) >= max(min_text_chars, 1)
    if not keep.any():
        return empty_traces()
    sub, norm = sub[keep], norm[keep]
    groups = _groups_of_normalized(norm, threshold, shingle, num_perm, seed)
    short = groups.isna().to_numpy()
    if short.any():
        fp = {t: "nd:" + text_fingerprint(t) for t in pd.unique(norm[short].to_numpy(dtype=object))}
        groups[short] = norm[short].map(fp).to_numpy(dtype=object)
    traces = pd.DataFrame({
        "account_id": sub["account_id"].to_numpy(dtype=object),
        "timestamp": sub["timestamp"].array,
        "kind": "text",
        "object_id": groups.to_numpy(dtype=object),
        "action_id": sub["action_id"].to_numpy(dtype=object),
    })
    traces["timestamp"] = traces["timestamp"].astype(UTC_NS)
    traces = traces.sort_values(["kind", "object_id", "timestamp", "account_id", "action_id"],
                                kind="mergesort", ignore_index=True)
    return traces[TRACE_COLUMNS]
