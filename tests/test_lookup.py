"""cib._lookup.codes_in: the codes of pd.Index.get_indexer, without Python strings."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cib._lookup import codes_in

ids = st.text(alphabet="abcé\u0000 ", max_size=4)


def _expected(index, values):
    return index.get_indexer(pd.Index(np.asarray(values, dtype=object))).astype(np.int64)


@given(st.lists(ids, unique=True, max_size=12), st.lists(st.one_of(ids, st.none()), max_size=30),
       st.sampled_from(["string[pyarrow]", "large", "object"]))
def test_agrees_with_get_indexer(index_ids, values, dtype):
    index = pd.Index(sorted(index_ids), dtype=object)
    if dtype == "large":
        col = pd.Series(pd.array(values, dtype=pd.ArrowDtype(pa.large_string())))
    else:
        col = pd.Series(values, dtype=dtype)
    got = codes_in(index, col)
    assert got.dtype == np.int64
    exp = _expected(index, [None if v is None else v for v in values])
    assert got.tolist() == exp.tolist()


def test_chunked_column_and_absent_ids():
    index = pd.Index(["ann", "bob", "cy"], dtype=object)
    arr = pa.chunked_array([pa.array(["cy", "dan"]), pa.array(["ann"]), pa.array([], pa.string())])
    col = pd.Series(pd.arrays.ArrowStringArray(arr))
    assert codes_in(index, col).tolist() == [2, -1, 0]


@pytest.mark.parametrize("index, values, expected", [
    (pd.Index([1, 5, 9]), pd.Series([9, 4, 1]), [2, -1, 0]),          # integer ids
    (pd.Index(["1", "5"], dtype=object), pd.Series([5, 1]), [-1, -1]),  # ints are not strings
    (pd.Index([], dtype=object), pd.Series(["a"], dtype="string[pyarrow]"), [-1]),
    (pd.Index(["a", 3], dtype=object), pd.Series(["a"], dtype="string[pyarrow]"), [0]),
])
def test_other_ids_fall_back(index, values, expected):
    assert codes_in(index, values).tolist() == expected
