"""cib._frozen: ACTIONS partitions held as Arrow buffers give back the very same frame."""

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cib._frozen import FrozenFrame, freeze, thaw
from cib.datasets import simulate

words = st.text(alphabet="aé\u0000 #", max_size=3)
cells = st.one_of(st.none(), words, st.just(float("nan")), st.integers(0, 3),
                  st.lists(words, max_size=2), st.tuples(words))


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Exactly the same frame: dtypes, index, columns, and each cell of the same type."""
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.columns.dtype == b.columns.dtype
    assert a.index.equals(b.index) and type(a.index) is type(b.index)
    for c in a.columns:
        if a[c].dtype == object:
            x, y = a[c].tolist(), b[c].tolist()
            assert [type(v) for v in x] == [type(v) for v in y], c
            assert [v if v == v else "NaN" for v in x] == [v if v == v else "NaN" for v in y]


def test_actions_come_back_exactly():
    actions, _ = simulate(n_accounts=200, n_groups=2, seed=3)
    actions.loc[actions.index[::7], "text"] = None
    actions["urls"] = [["u%d" % i] * (i % 3) for i in range(len(actions))]
    frozen = freeze(actions)
    assert isinstance(frozen, FrozenFrame)
    assert {"action_id", "account_id", "text", "urls"} <= set(frozen.arrow)
    assert "timestamp" not in frozen.arrow and "action_type" not in frozen.arrow
    _same(actions, thaw(frozen))
    _same(actions, thaw(pickle.loads(pickle.dumps(frozen, protocol=5))))
    assert len(frozen) == len(actions)


def test_lists_of_equal_length_stay_lists():
    # numpy would make a 2-d array of equal-length lists if handed them as a sequence
    f = pd.DataFrame({"tags": [["a", "b"], ["c", "d"]]})
    back = thaw(freeze(f))
    assert back["tags"].tolist() == [["a", "b"], ["c", "d"]]
    assert all(type(v) is list for v in back["tags"])


def test_what_arrow_cannot_hold_exactly_stays_as_it_is():
    f = pd.DataFrame({
        "nan": pd.Series(["a", np.nan], dtype=object),            # NaN would come back None
        "surrogate": pd.Series(["a", "\ud800"], dtype=object),    # no UTF-8 for it
        "mixed": pd.Series(["a", 1], dtype=object),
        "subclass": pd.Series([np.str_("a"), "b"], dtype=object),
        "inner": pd.Series([["a"], [1]], dtype=object),
        "tuple": pd.Series([("a",), ()], dtype=object),
        "array": pd.Series([np.array(["a"]), np.array([], dtype=str)], dtype=object),
        "ok": pd.Series(["a", None], dtype=object),
    })
    frozen = freeze(f)
    assert list(frozen.arrow) == ["ok"]
    back = thaw(frozen)
    for c in f.columns:
        assert [type(v) for v in back[c]] == [type(v) for v in f[c]], c
    assert back["surrogate"].tolist() == ["a", "\ud800"]


def test_thaw_of_some_columns_keeps_the_frame_order():
    f = pd.DataFrame({"a": pd.Series(["x"], dtype=object), "b": [1], "c": [["y"]]})
    frozen = freeze(f)
    assert list(thaw(frozen, ["c", "a"]).columns) == ["a", "c"]
    assert list(thaw(frozen, ["b"]).columns) == ["b"]
    assert list(thaw(f, ["c", "a"]).columns) == ["a", "c"]  # a plain frame is cut the same way
    assert thaw(frozen, []).shape == (1, 0)


def test_empty_and_duplicate_columns():
    f = pd.DataFrame({"a": pd.Series([], dtype=object)}, index=pd.RangeIndex(0))
    _same(f, thaw(freeze(f)))
    dup = pd.DataFrame([["x", "y"]], columns=["a", "a"])
    assert freeze(dup) is dup
    # a DataFrame split by position keeps its labels, which may repeat
    f = pd.DataFrame({"a": pd.Series(["x", "y", "z"], dtype=object), "l": [[], ["q"], []]})
    f.index = [5, 5, 2]
    _same(f, thaw(freeze(f)))


def test_dask_counts_what_a_frozen_frame_holds():
    sizeof = pytest.importorskip("dask.sizeof").sizeof
    # one account and empty lists again and again: dask's sampling of the frame believes it
    # has seen every object after a hundred cells
    n = 20_000
    f = pd.DataFrame({"account_id": np.array(["acct"] * n, dtype=object),
                      "text": np.array([f"a text of some length {i:06d}" for i in range(n)],
                                       dtype=object),
                      "urls": np.fromiter(([] for _ in range(n)), dtype=object, count=n)})
    text_bytes = int(f["text"].str.len().sum())
    frozen = freeze(f)
    assert sizeof(frozen) == frozen.nbytes
    assert frozen.nbytes >= text_bytes + 4 * n      # the strings and their offsets
    assert frozen.nbytes < f.memory_usage(deep=True).sum()


@given(st.lists(st.tuples(cells, cells), max_size=8), st.sampled_from([0, 5]))
def test_any_object_columns_come_back_exactly(rows, start):
    f = pd.DataFrame({"x": pd.Series([r[0] for r in rows], dtype=object),
                      "y": pd.Series([r[1] for r in rows], dtype=object),
                      "n": np.arange(len(rows))},
                     index=pd.RangeIndex(start, start + len(rows)))
    _same(f, thaw(freeze(f)))


def test_object_arrays_in_a_task_result_wait_as_arrow():
    from cib._frozen import FrozenStrings, cold, freeze_tree, thaw_tree

    texts = np.array(["b", "a", None, "b"], dtype=object)
    odd = np.array(["a\ud800"], dtype=object)          # no UTF-8: stays an object array
    tree = freeze_tree([(texts, np.arange(3)), odd, "x"])
    assert isinstance(tree[0][0], FrozenStrings) and len(tree[0][0]) == 4
    assert tree[1] is odd and isinstance(tree[0], tuple)
    back = thaw_tree(tree)
    assert back[0][0].dtype == object and back[0][0].tolist() == texts.tolist()
    assert back[0][1].tolist() == [0, 1, 2] and back[2] == "x"
    # a task of frozen and unfrozen inputs gets object arrays, and its result is frozen
    got = cold(lambda a, b: np.concatenate([a, b]), tree[0][0], odd)
    assert isinstance(got, np.ndarray)                 # holds the surrogate: as it is
    got = cold(lambda a, *, b: np.concatenate([a, b]), tree[0][0], b=tree[0][0])
    assert isinstance(got, FrozenStrings) and thaw_tree(got).tolist() == texts.tolist() * 2
    sizeof = pytest.importorskip("dask.sizeof").sizeof
    assert sizeof(got) >= got.array.nbytes
