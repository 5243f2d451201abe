"""The co-action engine of ``cib.detect``: every stage that needs co-actions, without ever
materialising all of them.

Plain co-action counting materialises every pair of traces in the window; one object shared by
100,000 accounts within ten minutes makes about 10^9 such pairs, and the null model repeats the
join twenty times or more. The pipeline only needs:

* the account pairs with ``weight >= min_weight`` (the candidate edges) and, for the manifest,
  how many account pairs co-acted at all: :meth:`SortedTraces.edges`, the account-major numba
  kernel that filters by weight while it aggregates;
* per object, how many co-actions it holds (the chance model of the edge test) and, per trace,
  whether it co-acts with anyone (``coordination_ratio``): :meth:`SortedTraces.trace_partners`,
  a counting pass;
* the co-actions themselves only where they are evidence: between the two accounts of a
  candidate edge (medians, delays, the edge test's distinct events) and between members of the
  same cluster (EVIDENCE, ``coactions.csv``): :meth:`SortedTraces.select`, which counts them
  first and allocates them once.

So the memory is O(traces + accounts + candidate edges + selected co-actions), whatever the
popularity of an object; the time still grows with the number of window pairs (about two visits
per pair per pass). ``max_partners`` (off by default) bounds that too, and every pair it cuts is
counted (``dropped_pairs``) and reported.

Without numba the same functions run on numpy, materialising pairs in chunks of at most
``budget_pairs``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._lookup import codes_in
from ..errors import CibError
from ..schema import from_epoch_ns, to_epoch_ns
from . import _kernel as K
from ._edges import popularity_discount

__all__ = ["CodedTraces", "SortedTraces", "MemoryBudgetError", "coaction_frame",
           "parse_memory_budget", "repeated_object_rows", "BYTES_PER_SELECTED_PAIR"]

#: What one selected co-action costs once it is a COACTIONS row (object columns included).
BYTES_PER_SELECTED_PAIR = 400


class MemoryBudgetError(CibError):
    """The co-actions that must be materialised do not fit the memory budget."""


def parse_memory_budget(value: str | int | float | None, caller: str = "detect") -> int | None:
    """Bytes from ``"4G"``, ``"512M"``, ``"2GiB"``, ``"1.5GB"`` or a number of bytes; None stays None.

    Examples
    --------
    >>> parse_memory_budget("4G"), parse_memory_budget("512MiB"), parse_memory_budget(1000)
    (4294967296, 536870912, 1000)
    """
    from ..errors import ParameterError

    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise ParameterError("memory_budget", caller, "a positive size such as '4G'", value)
        return int(value)
    text = str(value).strip().upper().replace(" ", "")
    units = {"": 1, "B": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1024**2, "MB": 1024**2,
             "MIB": 1024**2, "G": 1024**3, "GB": 1024**3, "GIB": 1024**3, "T": 1024**4,
             "TB": 1024**4, "TIB": 1024**4}
    num = text.rstrip("KMGTIB")
    unit = text[len(num):]
    try:
        size = float(num) * units[unit]
    except (ValueError, KeyError):
        raise ParameterError("memory_budget", caller, "a size such as '4G', '512M' or bytes",
                             value) from None
    if not size > 0:
        raise ParameterError("memory_budget", caller, "a positive size such as '4G'", value)
    return int(size)


def object_run_starts(traces: pd.DataFrame) -> np.ndarray:
    """Per row, whether it starts a run of one (kind, object_id) (rows compared with the row
    before, no hashing: TRACES sorted by object hold each object in one run)."""
    kind = traces["kind"].array
    obj = traces["object_id"].array
    new = np.ones(len(traces), dtype=bool)
    if len(traces) > 1:
        new[1:] = np.asarray(kind[1:] != kind[:-1], dtype=bool) | \
            np.asarray(obj[1:] != obj[:-1], dtype=bool)
    return new


def _object_runs(traces: pd.DataFrame):
    """``(group, group_kind, group_object, kind_names)`` of :class:`CodedTraces` read off the
    runs of TRACES already sorted by (kind, object_id) (as :func:`cib.traces.build_traces` and
    the dask engine give them), without hashing a string; None when they are not so sorted
    (or hold missing values), and the codes come from sorted factorizations instead. The run
    keys are checked to increase strictly, in the order a sorted factorization uses, so the
    codes are the same."""
    n = len(traces)
    if n == 0:
        return None
    kind = traces["kind"].array
    obj = traces["object_id"].array
    try:
        if pd.isna(kind).any() or pd.isna(obj).any():
            return None
        new = object_run_starts(traces)
        starts = np.flatnonzero(new)
        rk, ro = kind.take(starts), obj.take(starts)
        if starts.size > 1:
            k1, k0, o1, o0 = rk[1:], rk[:-1], ro[1:], ro[:-1]
            up = np.asarray(k1 > k0, dtype=bool) | (np.asarray(k1 == k0, dtype=bool)
                                                     & np.asarray(o1 > o0, dtype=bool))
            if not up.all():
                return None
    except TypeError:  # ids of mixed types: no order to read off
        return None
    group = np.cumsum(new, dtype=np.int64) - 1
    kind_codes, kinds = pd.factorize(rk, sort=True)
    return (group, kind_codes.astype(np.int64), pd.Index(ro),
            np.asarray(kinds, dtype=object))


def repeated_object_rows(traces: pd.DataFrame) -> np.ndarray | None:
    """Rows of the traces whose (kind, object_id) has at least two traces, in order; None when
    every row has.

    An object acted on once pairs with nothing, in the data and in every null run (it is a
    popularity bin of its own), so the engine leaves those traces out of its coded arrays:
    about half of all traces (most original posts' texts are unique).

    Examples
    --------
    >>> tr = pd.DataFrame({"kind": ["url", "url", "url"], "object_id": ["a", "a", "b"]})
    >>> repeated_object_rows(tr).tolist()
    [0, 1]
    """
    n = len(traces)
    if n == 0:
        return None
    runs = _object_runs(traces)
    if runs is not None:  # sorted: the run lengths
        group = runs[0]
    else:
        group = traces.groupby(["kind", "object_id"], sort=False, dropna=False).ngroup() \
            .to_numpy(dtype=np.int64)
    size = np.bincount(group)
    keep = size[group] >= 2
    return None if keep.all() else np.flatnonzero(keep)


class CodedTraces:
    """TRACES coded once as integers (group = (kind, object), account, action, time in ns).

    Account codes follow the sorted account ids, group codes the sorted (kind, object_id), so
    every result is independent of the row order of the input. ``accounts`` (sorted ids, a
    superset of the traces' accounts) fixes the account codes when the traces are a part of
    all traces (those of :func:`repeated_object_rows`); ``account_codes`` gives the traces'
    codes in ``accounts`` when the caller already has them (not looked up again).
    """

    def __init__(self, traces: pd.DataFrame, accounts: pd.Index | None = None,
                 account_codes: np.ndarray | None = None) -> None:
        runs = _object_runs(traces)
        if runs is not None:  # sorted by (kind, object): the groups are the runs, in order
            self.group, self.group_kind, self.group_object, self.kind_names = runs
        else:
            kind_codes, kinds = pd.factorize(traces["kind"], sort=True)
            obj_codes, objects = pd.factorize(traces["object_id"], sort=True)
            gkey = kind_codes.astype(np.int64) * (len(objects) + 1) + obj_codes
            del kind_codes, obj_codes
            group, gvals = pd.factorize(gkey, sort=True)
            gvals = np.asarray(gvals, dtype=np.int64)
            self.group = group.astype(np.int64)
            self.group_kind = gvals // (len(objects) + 1)
            # an Index in the column's own storage (Arrow strings from build_traces: a fifth
            # of the memory of Python strings, one per object)
            self.group_object = pd.Index(objects)[gvals % (len(objects) + 1)]
            self.kind_names = np.asarray(kinds, dtype=object)
        if accounts is None:
            acc, accounts = pd.factorize(traces["account_id"], sort=True)
        elif account_codes is not None:
            acc = np.asarray(account_codes)
            if len(acc) != len(traces):
                raise ValueError("CodedTraces: one account code per trace")
        else:  # the accounts of all the traces, of which these are the repeated objects' ones
            accounts = pd.Index(np.asarray(accounts, dtype=object))
            acc = codes_in(accounts, traces["account_id"])
            if (acc < 0).any():
                raise ValueError("CodedTraces: an account of the traces is not in `accounts`")
        self.account = acc.astype(np.int64)
        self.accounts = pd.Index(np.asarray(accounts, dtype=object))
        # any one-to-one code does (actions are only ever compared for equality); unsorted
        # spares sorting ten million ids
        self.action = _compact(pd.factorize(traces["action_id"])[0])
        self.time = to_epoch_ns(traces["timestamp"])
        self._finish()

    @classmethod
    def from_codes(cls, *, group: np.ndarray, group_kind: np.ndarray, group_object: pd.Index,
                   kind_names: np.ndarray, account: np.ndarray, accounts: pd.Index,
                   action: np.ndarray, time: np.ndarray):
        """The coded traces from their codes, as the constructor would code the traces (the
        dask engine's workers send codes, not the traces' strings): ``group`` per trace (the
        runs of (kind, object) in sorted order), ``group_kind`` codes into the sorted
        ``kind_names`` and ``group_object`` per group, ``account`` codes into the sorted
        ``accounts``, ``action`` codes (one per distinct action id) and ``time`` in ns."""
        self = cls.__new__(cls)
        self.group = np.asarray(group, dtype=np.int64)
        self.group_kind = np.asarray(group_kind, dtype=np.int64)
        self.group_object = pd.Index(group_object)
        self.kind_names = np.asarray(kind_names, dtype=object)
        self.account = np.asarray(account, dtype=np.int64)
        self.accounts = pd.Index(np.asarray(accounts, dtype=object))
        self.action = _compact(np.asarray(action))
        self.time = np.asarray(time, dtype=np.int64)
        if not (len(self.group) == len(self.account) == len(self.action) == len(self.time)):
            raise ValueError("CodedTraces.from_codes: one group, account, action, time per trace")
        self._finish()
        return self

    def _finish(self) -> None:
        """What follows from the codes (subclasses add theirs)."""
        self.n_groups = len(self.group_kind)
        self.n = np.bincount(self.group, minlength=self.n_groups).astype(np.float64)
        self._n_obj: np.ndarray | None = None

    @property
    def n_accounts(self) -> int:
        return len(self.accounts)

    @property
    def object_accounts(self) -> np.ndarray:
        """Distinct accounts per group (the ``n`` of the popularity discount)."""
        if self._n_obj is None:
            # the numba scan when the groups are sorted (TRACES are), numpy otherwise
            self._n_obj = K.distinct_accounts(self.group, self.account, self.n_groups)
        return self._n_obj

    @property
    def object_weight(self) -> np.ndarray:
        """What one distinct object adds to ``weighted``: :func:`popularity_discount`."""
        return popularity_discount(self.object_accounts)

    def account_codes(self, ids) -> np.ndarray:
        """Codes of account ids (-1 for unknown ones)."""
        return codes_in(self.accounts, ids)

    def trace_rows(self, rows: np.ndarray | None, action_id: pd.Series,
                   dtypes: pd.Series) -> pd.DataFrame:
        """TRACES rows ``rows`` (None: all) rebuilt from the codes, with the ``action_id``
        column of the traces coded (the one column not in the codes) and the traces' column
        order and ``dtypes``: what ``traces.take(rows)`` gives, for a process that let the
        traces' other columns go once they were coded (the dask engine's central one)."""
        return pd.DataFrame({col: self.trace_column(col, rows, action_id, dtype)
                             for col, dtype in dtypes.items()})

    def trace_column(self, col: str, rows: np.ndarray | None, action_id: pd.Series,
                     dtype) -> pd.Series:
        """One column of :meth:`trace_rows`. Strings are taken from the distinct values in
        the column's own storage (Arrow strings: no Python string per row)."""
        if rows is None:
            rows = np.arange(len(self.group), dtype=np.int64)
        if col == "account_id":
            out = _take_strings(self.accounts, self.account[rows], dtype)
        elif col == "kind":
            out = _take_strings(self.kind_names, self.group_kind[self.group[rows]], dtype)
        elif col == "object_id":
            out = pd.Series(self.group_object.take(self.group[rows]))
        elif col == "timestamp":
            out = pd.Series(from_epoch_ns(self.time[rows]))
        elif col == "action_id":
            out = action_id.take(rows).reset_index(drop=True)
        else:
            raise KeyError(f"CodedTraces.trace_column: no column {col!r} in the codes")
        return out if out.dtype == dtype else out.astype(dtype)


def _compact(codes: np.ndarray) -> np.ndarray:
    """Non-negative integer codes in 32 bits when they fit (the action codes: only compared
    for equality and packed into 64-bit event keys by the kernels), else 64."""
    small = codes.size == 0 or int(codes.max()) < 2 ** 31
    return codes.astype(np.int32 if small else np.int64, copy=False)


def _take_strings(values, codes: np.ndarray, dtype) -> pd.Series:
    """``values[codes]`` as a Series of ``dtype``: taken in Arrow when ``dtype`` stores its
    strings there (the distinct values converted once), else through Python objects."""
    values = np.asarray(values, dtype=object)
    if isinstance(dtype, (pd.StringDtype, pd.ArrowDtype)):
        try:
            return pd.Series(pd.array(values, dtype=dtype)).take(codes).reset_index(drop=True)
        except (TypeError, ValueError):  # values the dtype cannot hold: as objects below
            pass
    return pd.Series(values[codes])


class SortedTraces:
    """The traces of a :class:`CodedTraces` in ``(group, time)`` order for one time array (the
    observed times, or one null run's), with the engine's passes over them.

    Parameters
    ----------
    coded : CodedTraces
    time : array of int64, optional
        Times in ns, one per trace row (default: the observed ones).
    window_ns : int
        The window, inclusive.
    max_partners : int, optional
        Pair each trace only with its next ``max_partners`` traces of the same object in the
        window (see :func:`cib.coaction._kernel.aggregate_edges`); off by default.
    budget_pairs : int, optional
        Most window pairs the numpy fallback materialises at once (its chunks).
    max_selected : int, optional
        Most co-actions :meth:`select` may return (:class:`MemoryBudgetError` beyond it, raised
        after counting and before allocating); default no limit.
    use_numba : bool, optional
        Default: numba when importable.
    """

    def __init__(self, coded: CodedTraces, time: np.ndarray | None = None, *, window_ns: int,
                 max_partners: int | None = None, budget_pairs: int | None = None,
                 max_selected: int | None = None, use_numba: bool | None = None) -> None:
        self.coded = coded
        time = coded.time if time is None else np.asarray(time, dtype=np.int64)
        self.numba = K.HAVE_NUMBA if use_numba is None else bool(use_numba) and K.HAVE_NUMBA
        self.window = int(window_ns)
        self.cap = K._cap(max_partners)
        self.max_partners = max_partners
        self.budget = K.DEFAULT_BUDGET_PAIRS if budget_pairs is None else int(budget_pairs)
        self.max_selected = max_selected
        if K.is_sorted(coded.group, time):
            # TRACES come sorted by (kind, object, time): the sorted arrays are the coded ones
            # themselves (no permutation and no copies: 32 bytes a trace less)
            self._order = None
            self.g = np.ascontiguousarray(coded.group)
            self.t = np.ascontiguousarray(time)
            self.a = np.ascontiguousarray(coded.account)
        else:
            self._order = K.sort_order(coded.group, time) if self.numba \
                else np.lexsort((time, coded.group))
            self.g = np.ascontiguousarray(coded.group[self._order])
            self.t = np.ascontiguousarray(time[self._order])
            self.a = np.ascontiguousarray(coded.account[self._order])
        self._numba_state: tuple | None = None
        self._counts: np.ndarray | None = None

    @property
    def order(self) -> np.ndarray:
        """The permutation from sorted positions to trace rows (input order)."""
        return np.arange(self.g.shape[0], dtype=np.int64) if self._order is None else self._order

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """Trace rows (input order) of sorted positions."""
        return positions if self._order is None else self._order[positions]

    def unsort(self, values: np.ndarray) -> np.ndarray:
        """``values`` per sorted position, in input order."""
        if self._order is None:
            return values
        out = np.empty_like(values)
        out[self._order] = values
        return out

    # -- numba structures, built on first use
    def _state(self) -> tuple:
        if self._numba_state is None:
            start, byacc = K._nb_by_account(self.a, self.coded.n_accounts)
            rec = K._nb_records(self.g, self.t, self.a)
            self._numba_state = (start, byacc, rec)
        return self._numba_state

    def release(self) -> None:
        """Let the numba structures go (24 bytes a trace), for work that does not need them
        beside its own (the edge stage's null runs); they are built again on next use."""
        self._numba_state = None

    def _partner_counts(self) -> np.ndarray:
        """Window partners (same account included, ``max_partners`` applied) per sorted trace."""
        if self._counts is None:
            self._counts = K._partner_counts_numpy(self.g, self.t, self.window, self.cap)[0]
        return self._counts

    def _chunks(self):
        """The numpy fallback's pairs, in chunks of at most ``budget`` (sorted positions)."""
        c = self._partner_counts()
        for i0, i1, _ in K._plan_numpy(self.g, c, self.budget):
            i, j = K._pairs_from_counts(c[i0:i1], i0)
            keep = self.a[i] != self.a[j]
            yield i[keep], j[keep]

    # -- passes
    def dropped_pairs(self) -> int:
        """Window pairs ``max_partners`` left out (0 without a cap)."""
        if self.cap < 0:
            return 0
        return int(K._nb_count_pairs(self.g, self.t, self.window, self.cap)[1]) if self.numba \
            else int(K._partner_counts_numpy(self.g, self.t, self.window, self.cap)[1])

    def edges(self, min_weight: float = 1, obj_weight: np.ndarray | None = None) -> dict:
        """Account pairs (codes ``u < v``) sharing at least ``min_weight`` distinct objects, with
        the arrays of :func:`cib.coaction._kernel.aggregate_edges` and ``n_edges_all`` (pairs
        with any co-action)."""
        return K._aggregate(self.g, self.t, self.a, self.window, obj_weight, self.budget,
                            self.max_partners, self.numba, min_weight)

    def trace_partners(self) -> tuple[np.ndarray, np.ndarray]:
        """Co-actions per group (float64, one per group code) and, per trace row (input
        order), whether the trace co-acts with another account."""
        n = self.g.shape[0]
        if n == 0:
            return np.zeros(self.coded.n_groups), np.zeros(0, dtype=bool)
        if self.numba:
            _, _, rec = self._state()
            blocks = np.unique(np.linspace(0, n, 64 * K.get_num_threads() + 1).astype(np.int64))
            fwd, has_sorted = K._run_parallel(K._nb_trace_partners, rec, self.window, self.cap,
                                              blocks)
        else:
            fwd = np.zeros(n, np.int64)
            has_sorted = np.zeros(n, dtype=bool)
            for i, j in self._chunks():
                fwd += np.bincount(i, minlength=n)
                has_sorted[i] = True
                has_sorted[j] = True
        per_group = np.bincount(self.g, weights=fwd, minlength=self.coded.n_groups)
        return per_group, self.unsort(has_sorted)

    def select(self, pairs: tuple[np.ndarray, np.ndarray] | None = None,
               labels: np.ndarray | None = None, what: str = "co-actions") -> tuple[np.ndarray, np.ndarray]:
        """The co-actions between the account pairs ``pairs`` (codes, any order), or between
        accounts with the same label ``>= 0`` (``labels``: one per account code).

        Returns trace row indices ``(i, j)`` (input order), ``i`` the earlier trace (on equal
        times, the one first in the sorted order), sorted by the sorted position of ``i`` then
        ``j``. Raises :class:`MemoryBudgetError` when there are more than ``max_selected``.
        """
        n_acc = self.coded.n_accounts
        if (pairs is None) == (labels is None):
            raise ValueError("give pairs or labels")
        if pairs is not None:
            u = np.asarray(pairs[0], dtype=np.int64)
            v = np.asarray(pairs[1], dtype=np.int64)
            lo, hi = np.minimum(u, v), np.maximum(u, v)
            key = np.unique(lo * max(n_acc, 1) + hi)
            mode = 0
            lab = np.empty(0, np.int64)
        else:
            lab = np.ascontiguousarray(labels, dtype=np.int64)
            key = np.empty(0, np.int64)
            mode = 1
        e = np.empty(0, np.int64)
        if self.g.shape[0] == 0 or (mode == 0 and key.size == 0):
            return e, e
        if self.numba:
            start, byacc, rec = self._state()
            if mode == 0:
                ku = key // n_acc
                adj_ptr = np.searchsorted(ku, np.arange(n_acc + 1)).astype(np.int64)
                adj_idx = (key % n_acc).astype(np.int64)
            else:
                adj_ptr = adj_idx = e
            rows = K._run_parallel(K._nb_select_count, rec, self.window, self.cap, start, byacc,
                                   K._blocks(start), adj_ptr, adj_idx, lab, mode)
            m = int(rows.sum())
            self._check_budget(m, what)
            out_start = np.concatenate(([0], np.cumsum(rows))).astype(np.int64)
            p, q = K._run_parallel(K._nb_select_fill, rec, self.window, self.cap, start, byacc,
                                   K._blocks(start + out_start), adj_ptr, adj_idx, lab, mode,
                                   out_start, m)
            order = np.lexsort((q, p))
            p, q = p[order], q[order]
        else:
            ps, qs = [], []
            total = 0
            for i, j in self._chunks():
                x, y = self.a[i], self.a[j]
                if mode == 0:
                    k = np.minimum(x, y) * n_acc + np.maximum(x, y)
                    pos = np.clip(np.searchsorted(key, k), 0, key.size - 1)
                    keep = key[pos] == k
                else:
                    keep = (lab[x] == lab[y]) & (lab[x] >= 0)
                total += int(keep.sum())
                self._check_budget(total, what)
                ps.append(i[keep])
                qs.append(j[keep])
            p = np.concatenate(ps) if ps else e
            q = np.concatenate(qs) if qs else e
        return self.rows(p), self.rows(q)

    def _check_budget(self, m: int, what: str) -> None:
        if self.max_selected is not None and m > self.max_selected:
            raise MemoryBudgetError(
                f"{m:,} {what} would have to be materialised, more than the memory budget allows "
                f"({self.max_selected:,} co-actions); raise --memory-budget, or bound the work "
                "with --max-partners or a larger --min-weight")


def coaction_frame(traces: pd.DataFrame, coded: CodedTraces, i: np.ndarray,
                   j: np.ndarray, actions: bool = True) -> pd.DataFrame:
    """COACTIONS rows for trace row pairs ``(i, j)`` (``i`` the earlier), in the order of
    :func:`cib.coaction.coactions`. Without ``actions``, no ``action_a``, ``action_b`` (for
    the edge tables, which never read them: ``traces`` is then not read at all, and rows that
    tie on every other key keep their trace order)."""
    from ._join import _empty

    if i.size == 0:
        return _empty() if actions else _empty().drop(columns=["action_a", "action_b"])
    acc = coded.accounts.to_numpy(dtype=object)
    tm = coded.time
    ai, aj = coded.account[i], coded.account[j]
    # on equal times the account with the smaller id comes first (as coactions() sorts)
    swap = (tm[i] == tm[j]) & (ai > aj)
    i2 = np.where(swap, j, i)
    j2 = np.where(swap, i, j)

    def ids(at: np.ndarray) -> np.ndarray:  # only the rows needed become objects
        return traces["action_id"].take(at).to_numpy(dtype=object)

    # kind and object from the codes: ``traces`` may hold the action ids only (dask engine)
    g = coded.group[i2]
    out = pd.DataFrame({
        "kind": coded.kind_names[coded.group_kind[g]],
        "object_id": coded.group_object[g].to_numpy(dtype=object),
        "account_a": acc[coded.account[i2]],
        "account_b": acc[coded.account[j2]],
        **({"action_a": ids(i2), "action_b": ids(j2)} if actions else {}),
        "time_a": from_epoch_ns(tm[i2]),
        "time_b": from_epoch_ns(tm[j2]),
        "delay_s": (tm[j2] - tm[i2]) / 1e9,
    })
    keys = ["kind", "object_id", "time_a", "account_a", "account_b"]
    return out.sort_values(keys + (["action_a", "action_b"] if actions else []),
                           kind="mergesort", ignore_index=True)
