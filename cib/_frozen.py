"""ACTIONS partitions held as Arrow buffers while they wait on a Dask worker.

An ACTIONS frame keeps its strings as Python objects and its ``urls``, ``hashtags``,
``mentions`` and ``media`` as a Python list per row: a read partition of a million actions
takes ~0.66 GB that way, of which Dask's ``sizeof`` sees ~0.09 GB (it samples a hundred
cells of all object columns together and, finding the same account and empty lists again and
again, assumes it has seen them all). A worker that believes it holds a tenth of what it holds
spills too late and is killed at 95 % of its memory limit; what it does spill is pickled object
by object.

:func:`freeze` holds the object columns as Arrow arrays: about a quarter of the memory, a size
that Dask knows exactly (registered below), and spilled as a few buffers. :func:`thaw` gives
back the very frame that was frozen: same columns, dtypes, index and values (``None`` stays
``None``, a list stays a ``list``). A column that Arrow cannot hold exactly (a ``NaN`` among
strings, a lone surrogate, a cell of another type) stays as it is.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FrozenFrame", "FrozenStrings", "freeze", "thaw", "freeze_tree", "thaw_tree", "cold"]


class FrozenFrame:
    """A DataFrame whose object columns of strings, and of lists of strings, are Arrow arrays.

    Made by :func:`freeze`; :func:`thaw` (or :meth:`thaw`) gives the frame back.

    Attributes
    ----------
    columns : Index
        The frame's columns.
    plain : DataFrame
        The columns kept as pandas columns, with the frame's index.
    arrow : dict
        Column name -> ``("str" | "list", pyarrow.Array)``.
    nbytes : int
        Bytes held (what Dask's ``sizeof`` reports).
    """

    __slots__ = ("columns", "plain", "arrow", "nbytes")

    def __init__(self, columns: pd.Index, plain: pd.DataFrame, arrow: dict[Any, tuple[str, Any]]
                 ) -> None:
        self.columns = columns
        self.plain = plain
        self.arrow = arrow
        self.nbytes = int(plain.memory_usage(index=True, deep=True).sum()) + \
            sum(int(a.nbytes) for _, a in arrow.values()) + 1000

    def __len__(self) -> int:
        return len(self.plain.index)

    def __getstate__(self) -> tuple:
        return self.columns, self.plain, self.arrow, self.nbytes

    def __setstate__(self, state: tuple) -> None:
        self.columns, self.plain, self.arrow, self.nbytes = state

    def thaw(self, columns: list | None = None) -> pd.DataFrame:
        """The frozen frame (only ``columns``, in the frame's order, when given)."""
        want = self.columns if columns is None else [c for c in self.columns if c in columns]
        out = {}
        for c in want:
            if c in self.arrow:
                kind, arr = self.arrow[c]
                values = arr.to_numpy(zero_copy_only=False) if kind == "str" else \
                    _lists(arr)
                out[c] = pd.Series(values, index=self.plain.index, dtype=object, copy=False)
            else:
                out[c] = self.plain[c]
        frame = pd.concat(out, axis=1) if out else pd.DataFrame(index=self.plain.index)
        frame.columns = self.columns[[c in out for c in self.columns]]
        return frame


def _lists(arr) -> np.ndarray:
    """An Arrow list array as an object array of Python lists (None where null)."""
    return np.fromiter(arr.to_pylist(), dtype=object, count=len(arr))


def _strings(values: np.ndarray):
    """``values`` (object) as an Arrow string array when it holds exactly: str or None."""
    import pyarrow as pa

    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None
    nulls = pd.isna(values)
    if nulls.any() and any(v is not None for v in values[nulls]):
        return None  # NaN would come back as None
    if any(type(v) is not str for v in values[~nulls]):
        return None  # a str subclass would come back as str
    try:
        return pa.array(values, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError, ValueError, TypeError):
        return None  # e.g. a lone surrogate, which UTF-8 cannot hold


def _string_lists(values: np.ndarray):
    """``values`` (object) as an Arrow array of lists of strings when every cell is a list of
    str (or None)."""
    import pyarrow as pa

    if not all(type(v) is list or v is None for v in values):
        return None
    items = list(chain.from_iterable(v for v in values if v is not None))
    if any(type(v) is not str for v in items):
        return None
    try:
        return pa.array(values, type=pa.large_list(pa.large_string()))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError, ValueError, TypeError):
        return None


def freeze(frame: pd.DataFrame) -> FrozenFrame | pd.DataFrame:
    """``frame`` with its object columns as Arrow arrays (a :class:`FrozenFrame`), or
    ``frame`` itself when it has duplicate column names.

    Examples
    --------
    >>> f = pd.DataFrame({"a": pd.Series(["x", None], dtype=object), "b": [["u"], []],
    ...                   "n": [1, 2]})
    >>> z = freeze(f)
    >>> sorted(z.arrow)
    ['a', 'b']
    >>> back = thaw(z)
    >>> back.equals(f), back["b"].tolist(), back.dtypes.tolist() == f.dtypes.tolist()
    (True, [['u'], []], True)
    """
    if not frame.columns.is_unique:
        return frame
    arrow: dict[Any, tuple[str, Any]] = {}
    for c in frame.columns:
        col = frame[c]
        if col.dtype != object:
            continue
        values = col.to_numpy()
        arr = _strings(values)
        kind = "str"
        if arr is None:
            arr, kind = _string_lists(values), "list"
        if arr is not None:
            arrow[c] = (kind, arr)
    plain = frame[[c for c in frame.columns if c not in arrow]]
    return FrozenFrame(frame.columns, plain, arrow)


def thaw(part: Any, columns: list | None = None) -> Any:
    """The frame of a :class:`FrozenFrame`; anything else as it is (a frame cut to
    ``columns``, when given)."""
    if isinstance(part, FrozenFrame):
        return part.thaw(columns)
    if columns is not None and isinstance(part, pd.DataFrame):
        return part[[c for c in part.columns if c in columns]]
    return part


class FrozenStrings:
    """A 1-d object array of strings (or None) held as an Arrow array: Dask counts an object
    array at 8 bytes an element, a tenth to a twentieth of what its texts take.

    Attributes
    ----------
    array : pyarrow.LargeStringArray
    """

    __slots__ = ("array",)

    def __init__(self, array) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getstate__(self) -> tuple:
        return (self.array,)

    def __setstate__(self, state: tuple) -> None:
        (self.array,) = state

    def thaw(self) -> np.ndarray:
        """The object array that was frozen."""
        return self.array.to_numpy(zero_copy_only=False)


def freeze_tree(x: Any) -> Any:
    """``x`` with every 1-d object array of strings in it (within lists and tuples) held as
    :class:`FrozenStrings`; an array that Arrow cannot hold exactly stays as it is."""
    if isinstance(x, np.ndarray):
        if x.dtype == object and x.ndim == 1:
            arr = _strings(x)
            return x if arr is None else FrozenStrings(arr)
        return x
    if isinstance(x, (list, tuple)):
        return type(x)(freeze_tree(v) for v in x)
    return x


def thaw_tree(x: Any) -> Any:
    """The inverse of :func:`freeze_tree` (a :class:`FrozenFrame` stays frozen: thaw the
    columns a task needs with :func:`thaw`)."""
    if isinstance(x, FrozenStrings):
        return x.thaw()
    if isinstance(x, (list, tuple)):
        return type(x)(thaw_tree(v) for v in x)
    return x


def cold(fn, *args, **kwargs) -> Any:
    """``fn`` of the thawed ``args`` and ``kwargs``, its result frozen (:func:`freeze_tree`):
    for a task whose inputs and result wait on a Dask worker as object arrays of strings.

    Examples
    --------
    >>> got = cold(np.unique, freeze_tree(np.array(["b", "a", "b"], dtype=object)))
    >>> type(got).__name__, thaw_tree(got).tolist()
    ('FrozenStrings', ['a', 'b'])
    """
    args = thaw_tree(args)
    kwargs = {k: thaw_tree(v) for k, v in kwargs.items()}
    return freeze_tree(fn(*args, **kwargs))


def _register_sizeof() -> None:
    try:
        from dask.sizeof import sizeof
    except ImportError:  # pragma: no cover - dask is an optional extra
        return
    sizeof.register(FrozenFrame)(lambda x: x.nbytes)
    sizeof.register(FrozenStrings)(lambda x: int(x.array.nbytes) + 100)


_register_sizeof()
