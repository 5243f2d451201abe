"""Codes of ids in an index of ids, without a Python object per looked-up id.

``pd.Index.get_indexer`` on strings hashes Python objects: a column of ten million Arrow
strings becomes ten million ``str`` first (~60 bytes each, and the memory stays with the
process after they go). :func:`codes_in` hashes the index once with Arrow and looks the column
up in Arrow's own storage, giving the same codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["codes_in", "find_sorted"]


def _arrow_strings(values):
    """``values`` as an Arrow (chunked) string array, or None when they are not all strings."""
    import pyarrow as pa

    arr = getattr(values, "array", values)
    if hasattr(arr, "__arrow_array__") and pd.api.types.is_string_dtype(
            getattr(values, "dtype", None)):
        try:
            out = arr.__arrow_array__()
        except (TypeError, pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        if pa.types.is_string(out.type) or pa.types.is_large_string(out.type):
            return out
        return None
    return None


def codes_in(index: pd.Index, values) -> np.ndarray:
    """Position of each of ``values`` in ``index`` (unique ids), -1 where absent, as int64:
    what ``index.get_indexer(values)`` gives.

    Arrow-backed string ``values`` (the columns of TRACES) are looked up with
    ``pyarrow.compute.index_in`` against the index's strings; anything else goes through
    ``get_indexer`` on Python objects.

    Parameters
    ----------
    index : pandas.Index
        Unique ids (the sorted account ids of a :class:`cib.coaction.CodedTraces`).
    values : array-like or pandas.Series
        The ids to look up.

    Returns
    -------
    numpy.ndarray of int64

    Examples
    --------
    >>> idx = pd.Index(["ann", "bob", "cy"])
    >>> codes_in(idx, pd.Series(["cy", "zed", "ann"], dtype="string[pyarrow]")).tolist()
    [2, -1, 0]
    >>> codes_in(idx, ["bob", "bob"]).tolist()
    [1, 1]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = _arrow_strings(values)
    if (arrow is not None and len(index)
            and pd.api.types.infer_dtype(index, skipna=False) == "string"):
        value_set = pa.array(np.asarray(index, dtype=object), type=arrow.type)
        found = pc.fill_null(pc.index_in(arrow, value_set=value_set), -1)
        if isinstance(found, pa.ChunkedArray):
            found = found.combine_chunks() if found.num_chunks != 1 else found.chunk(0)
        return found.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return np.asarray(index.get_indexer(pd.Index(np.asarray(values, dtype=object))),
                      dtype=np.int64)


def find_sorted(values: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``values`` (1-d) is in ``table`` (sorted): its position there and whether
    it is there (where it is not, the position is meaningless).

    The values are sorted first, so that the binary searches walk the table in order (numpy
    starts each search where the last ended when the keys ascend): 6-7x faster than searching
    hash keys in random order when the table is far larger than the CPU caches (8M keys in 30M:
    2.3 s against 15 s).

    Examples
    --------
    >>> pos, found = find_sorted(np.array([9, 1, 4]), np.array([1, 3, 4]))
    >>> pos[found].tolist(), found.tolist()
    ([0, 2], [False, True, True])
    """
    pos = np.zeros(len(values), dtype=np.int64)
    found = np.zeros(len(values), dtype=bool)
    if len(table) and len(values):
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        at = np.minimum(np.searchsorted(table, ordered), len(table) - 1)
        pos[order] = at
        found[order] = table[at] == ordered
    return pos, found
