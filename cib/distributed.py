"""The Dask engine of :func:`cib.detect` (``engine="dask"``): the same answer, byte for byte, with
the heavy early stages spread over a Dask cluster.

What runs where
---------------

==========================================  =====================================================
on the workers, partitioned                 centrally (the process that calls ``detect``)
==========================================  =====================================================
reading: one task per input file (checks,   duplicate ``action_id`` across files: only the rows
REJECTS, conversion), ACTIONS stay on the   whose id hash repeats (8 bytes per row) come here
workers
near-duplicate text groups (MinHash LSH):   the LSH keys two texts share (8 bytes
distinct normalised texts spread over text  each), the verified near-duplicate pairs
buckets by a hash, band keys per bucket,    and their union: the texts that are not
the keys two texts share found per          their group's root, sent back as a
reducer, and only texts with a shared key   remapping (:mod:`cib._textdist`)
sent on to verify their buckets' candidate
pairs
TRACES per partition (every kind)
shuffle of TRACES by a hash of              the sorted distinct account ids (global account
``(kind, object_id)``: every object lives   codes, equal to the single-machine codes)
on exactly one partition
the windowed co-action join per partition   the candidate pairs (``weight >= min_weight``) and
(the numba kernel, exact for each object),  the number of co-acting pairs; weights add up
account-pair weights reduced across         exactly because an object lives on one partition
partitions in two passes: 4-byte
fingerprints of every pair first, then
only the pairs whose fingerprint two
partitions share (:mod:`cib.coaction.
_partial`); pairs are made in blocks and
never held whole
the example texts of the evidence           the account graph: significance, null model,
(looked up by action id at the end), the    timing, communities, scoring (on TRACES, the
authors of reposted posts (looked up by     original posts' ``account_id, timestamp``, and the
post id), counts of actions and accounts    candidate pairs)
==========================================  =====================================================

Raw rows, texts, URL/hashtag lists and media never come to the central process; TRACES of
objects acted on at least twice do (the null model moves share times across objects of similar
popularity, which is global), as do the original posts' account and time (timing similarity;
account ids as Arrow strings). So the central process needs about the memory of those TRACES
plus their integer codes and the candidate edges (see the README's section on Dask) and the
workers hold the rest; with ``--memory-limit`` they spill to disk. The workers drop the full
ACTIONS once their traces, texts and ``action_id, account_id`` pairs (for the authors' lookup,
dropped after it) are made, and the traces are held once (the shuffled partitions).

Determinism: the outputs do not depend on the number of partitions, of workers, or on the order
of the files (beyond what the default engine does with it): every per-partition result is either
exact integer sums or sorted again centrally.

Examples
--------
>>> from cib.datasets import simulate
>>> from cib.pipeline import detect
>>> actions, _ = simulate(n_accounts=300, n_groups=2, seed=2)
>>> with local_client(processes=False) as client:   # doctest: +SKIP
...     det = detect(actions, engine="dask", client=client, partitions=3, n_null=20)
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import math
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._frozen import cold, freeze, freeze_tree, thaw, thaw_tree
from .errors import CibError, ParameterError

__all__ = ["detect_dask", "read_partitioned", "PartitionedActions", "local_client",
           "require_dask", "DaskClusterError", "DEFAULT_PARTITION_TRACES"]

_log = logging.getLogger(__name__)

#: Traces per (kind, object) partition when neither ``partitions`` nor ``partition_size`` is given.
DEFAULT_PARTITION_TRACES = 2_000_000
#: Rows per input partition when a DataFrame is split (files are one partition each).
DEFAULT_INPUT_ROWS = 1_000_000


def require_dask(caller: str = "detect") -> tuple[Any, Any]:
    """Import dask and distributed, or raise :class:`~cib.errors.ParameterError` saying how to
    install them.

    Examples
    --------
    >>> try:
    ...     dask, distributed = require_dask()
    ... except ParameterError as e:
    ...     print("install cib[dask]" in str(e))
    ... else:
    ...     print(hasattr(distributed, "Client"))
    True
    """
    try:
        import dask
        import distributed
    except ImportError:
        raise ParameterError("engine", caller, "'pandas' unless dask is installed "
                             "(pip install 'cib[dask]' to install cib[dask])", "dask") from None
    return dask, distributed


@contextlib.contextmanager
def local_client(scheduler: str | None = None, memory_limit: str | int | None = None,
                 n_workers: int | None = None, processes: bool = True) -> Iterator[Any]:
    """A ``distributed.Client``: connected to ``scheduler`` (an address such as
    ``tcp://10.0.0.5:8786``), or to a new ``LocalCluster`` (one thread per worker, as many
    workers as cores, each limited to ``memory_limit`` such as ``"6GiB"``), closed on exit.

    Examples
    --------
    >>> with local_client(n_workers=1, processes=False) as client:   # doctest: +SKIP
    ...     print(len(client.scheduler_info()["workers"]))
    1
    """
    _, distributed = require_dask("local_client")
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ParameterError("scheduler", "cib detect", "the address of a running Dask "
                                 f"scheduler ({exc})", scheduler) from None
        _log.info("Dask scheduler %s, dashboard %s", scheduler, client.dashboard_link)
        try:
            yield client
        finally:
            client.close()
        return
    import os

    from .coaction._engine import parse_memory_budget

    limit = "auto" if memory_limit is None else parse_memory_budget(memory_limit, "memory_limit")
    n = n_workers or max(1, min(os.cpu_count() or 1, 8))
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # the scheduler runs here: no INFO lines on stderr
    try:
        with distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                                      memory_limit=limit, dashboard_address=":0",
                                      silence_logs=logging.WARNING) as cluster, \
                distributed.Client(cluster) as client:
            client.wait_for_workers(n, timeout="60s")  # work starts on every worker
            board = (client.dashboard_link if importlib.util.find_spec("bokeh") else
                     "none (install bokeh to have one)")
            _log.info("local Dask cluster of %d workers, dashboard %s", n, board)
            yield client
    finally:
        quiet.setLevel(level)


# ---------------------------------------------------------------------------------------------
# errors travel back from the workers as values (some cib errors cannot be unpickled as such)


@dataclass
class _Failure:
    cls: type
    state: dict
    text: str


def _safe(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except CibError as exc:
        return _Failure(type(exc), dict(exc.__dict__), str(exc))


def _raise_failure(value: Any) -> Any:
    if isinstance(value, _Failure):
        exc = value.cls.__new__(value.cls)
        exc.__dict__.update(value.state)
        Exception.__init__(exc, value.text)
        raise exc
    return value


def _gather(client, futures: list) -> list:
    """Results of ``futures`` in order; the first cib error (in that order) is raised."""
    out = client.gather(futures)
    return [_raise_failure(v) for v in out]


# ---------------------------------------------------------------------------------------------
# reading


@dataclass
class PartitionedActions:
    """ACTIONS held by the workers of a Dask cluster, one pandas DataFrame per partition (see
    :func:`read_partitioned`).

    Attributes
    ----------
    client : distributed.Client
    parts : list of Future
        The partitions, in input order: ACTIONS frames held as Arrow buffers
        (:class:`cib._frozen.FrozenFrame`, a size that Dask counts right and spills as
        buffers); :meth:`partition` gives one as a DataFrame.
    sizes : list of int
        Rows per partition.
    """

    client: Any
    parts: list
    sizes: list[int]

    def __len__(self) -> int:
        return int(sum(self.sizes))

    def partition(self, i: int) -> pd.DataFrame:
        """Partition ``i`` as an ACTIONS DataFrame, gathered to this process."""
        return thaw(self.parts[i].result())

    def posts(self) -> pd.DataFrame:
        """What timing similarity needs of ACTIONS, gathered: the original posts'
        ``account_id``, ``timestamp`` and ``action_type`` (``"post"``), in input order (about
        a fifth of the bytes of all actions' ids and times)."""
        return _gather_posts(self.client, [
            self.client.submit(_safe, _thawed, _posts_part, p, _POSTS_COLUMNS, pure=False)
            for p in self.parts])

    def summary(self) -> dict[str, Any]:
        """Rows, and the timestamps' range with the counts before 2000 and more than a day in
        the future (what ``cib detect`` warns about), computed on the workers."""
        from .io import combine_summaries, timestamp_summary

        now = pd.Timestamp.now(tz="UTC")
        parts = _gather(self.client, [
            self.client.submit(_safe, _thawed, timestamp_summary, p, ["timestamp"], now,
                               pure=False) for p in self.parts])
        return combine_summaries(parts)

    def n_accounts(self) -> int:
        """Distinct ``account_id`` over all partitions (a union tree on the workers)."""
        level = [self.client.submit(cold, _thawed, _distinct_accounts, p, ["account_id"],
                                    pure=False) for p in self.parts]
        root = _union_tree(self.client, level)
        return int(self.client.submit(len, root, pure=False).result()) if root else 0


def _thawed(fn, part, columns: list[str], *args):
    """``fn`` of the ``columns`` of the partition ``part`` (thawed, see :mod:`cib._frozen`)."""
    return fn(thaw(part, columns), *args)


_POSTS_COLUMNS = ["account_id", "timestamp", "action_type"]


def _empty_actions() -> pd.DataFrame:
    from .schema import empty_actions

    return empty_actions()


def _gather_posts(client, futures: list) -> pd.DataFrame:
    """The partitions' posts (futures of :func:`_posts_part`) as one frame, in input order."""
    frames = [f for f in _gather(client, futures) if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else _posts_part(_empty_actions())


def _arrow_strings(x):
    """A Series or frame of strings held as Arrow strings (a quarter to a third of the memory
    of Python strings), or as it is when Arrow cannot hold them (e.g. a lone surrogate from a
    JSON escape)."""
    try:
        return x.astype("str")
    except (UnicodeError, ValueError, TypeError):
        return x


def _posts_part(part: pd.DataFrame) -> pd.DataFrame:
    posts = part[np.asarray(part["action_type"].astype(str) == "post", dtype=bool)]
    out = pd.DataFrame({"account_id": posts["account_id"].to_numpy(dtype=object),
                        "timestamp": posts["timestamp"].reset_index(drop=True)})
    out["account_id"] = _arrow_strings(out["account_id"])
    out["action_type"] = pd.Categorical.from_codes(np.zeros(len(out), dtype=np.int8), ["post"])
    return out


def _ids_part(part: pd.DataFrame) -> pd.DataFrame:
    """What the authors' lookup needs of a partition (kept on the worker until then)."""
    return _arrow_strings(part[["action_id", "account_id"]].reset_index(drop=True))


def _authors_part(ids_part: pd.DataFrame, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``ids`` found among the partition's action ids, and their authors."""
    from .nullmodel import authors_of

    got = authors_of(ids_part, ids)
    pos = np.flatnonzero(pd.notna(got))
    return pos, got[pos]


def _lookup_authors(client, id_store: list, ids: np.ndarray) -> np.ndarray:
    """:func:`cib.nullmodel.authors_of` over the partitions ``id_store`` (futures of
    ``action_id, account_id`` frames): an id's first partition, in input order, answers."""
    out = np.full(len(ids), None, dtype=object)
    if len(ids) and id_store:
        ids_f = client.scatter([np.asarray(ids, dtype=object)], broadcast=True)[0]
        for f in [client.submit(_safe, _authors_part, p, ids_f, pure=False) for p in id_store]:
            pos, who = _raise_failure(f.result())  # one partition's answer in transfer at once
            first = pd.isna(out[pos])
            out[pos[first]] = who[first]
    return out


def _distinct_accounts(part: pd.DataFrame) -> np.ndarray:
    return np.asarray(pd.unique(part["account_id"].to_numpy(dtype=object)), dtype=object)


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(pd.unique(np.concatenate([a, b])), dtype=object)


def _union_tree(client, level: list):
    """The future of the distinct values of the futures ``level`` (arrays of distinct values),
    unioned pairwise on the workers; None when ``level`` is empty. Only the root's values are
    ever whole, and on a worker: the central process receives one array of distinct values,
    not one per partition (at 100M actions, ~10 partitions per account)."""
    while len(level) > 1:
        level = [client.submit(cold, _union, *level[i:i + 2], pure=False)
                 if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return level[0] if level else None


def _read_one(path: str, display: str, index: int, stem: str, fmt_name: str,
              mapping: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """One input file, read by one worker: its valid rows (the reader's internal form), its
    rejects and statistics."""
    from .io._progress import Progress
    from .io._read import _concat_good, _read_file

    part = _read_file(Path(path), display, index, stem, fmt_name, mapping, Progress(0, False))
    good = _concat_good(part.good)
    part.good = []
    return good, part.rejects, part.stats


def _read_products(path: str, display: str, index: int, stem: str, fmt_name: str,
                   mapping: dict[str, str]) -> list:
    """:func:`_read_one` as ``[good, (rows, rejects, stats), hashes]``, so that the rows'
    number and id hashes need no second read of a spilled file; a cib error comes in the middle
    item (the others are None)."""
    got = _safe(_read_one, path, display, index, stem, fmt_name, mapping)
    if isinstance(got, _Failure):
        return [None, got, None]
    good, rejects, stats = got
    return [freeze(good), (len(good), rejects, stats), _good_hashes(good)]


def _good_hashes(good: pd.DataFrame) -> np.ndarray:
    return good["_hash"].to_numpy() if len(good) else np.zeros(0, np.uint64)


def _good_repeated(good, repeated: np.ndarray) -> pd.DataFrame:
    good = thaw(good)
    if not len(good) or not repeated.size:
        return good.iloc[:0]
    return good.iloc[np.flatnonzero(np.isin(good["_hash"].to_numpy(), repeated))]


def _good_finish(good, drop_at: np.ndarray) -> tuple[Any, float | None, int]:
    """ACTIONS of one file (the rows at ``drop_at`` left out; frozen), the timestamp
    resolution of the rows kept when some were left out (else None) and the number of rows
    kept."""
    from .io._read import _finish
    from .io._values import timestamp_resolution

    good = thaw(good)
    drop = None
    res = None
    if drop_at.size:
        drop = np.zeros(len(good), dtype=bool)
        drop[drop_at] = True
        ts = good["timestamp"].to_numpy(dtype=np.int64)[~drop]
        res = timestamp_resolution(ts) if ts.size else None
    part = _finish(good.copy(), drop)
    return freeze(part), res, len(part)


def read_partitioned(paths, format: str = "auto", mapping=None, on_error: str = "skip", *,
                     client) -> tuple[PartitionedActions, pd.DataFrame, dict[str, Any]]:
    """:func:`cib.read_actions` on a Dask cluster: each input file is read by one task, and the
    ACTIONS stay on the workers.

    The result is that of :func:`cib.read_actions` (the same REJECTS, statistics and errors,
    duplicates across files included), except that ACTIONS come as partitions, one per file,
    each sorted like ``read_actions`` sorts. A large input should therefore come as many files
    (``cib simulate --format parquet`` writes a dataset of many files).

    Examples
    --------
    >>> from cib.datasets import simulate
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); actions, _ = simulate(n_accounts=50, n_groups=1, seed=1)
    >>> actions.to_parquet(os.path.join(d, "a.parquet"))
    >>> with local_client(n_workers=1, processes=False) as client:   # doctest: +SKIP
    ...     parts, rejects, stats = read_partitioned(os.path.join(d, "*.parquet"), client=client)
    ...     print(len(parts) == len(actions))
    True
    """
    from .io._formats import FORMATS
    from .io._read import (_CALLER, _check_mapping_keys, _deduplicate, _expand, _finish_rejects,
                           _merge_rejects, _stems)
    from .io._values import timestamp_resolution
    from .params import check_choice, parse_mapping

    fmt_name = check_choice(format, ["auto", *FORMATS], "format", _CALLER)
    on_error = check_choice(on_error, ["skip", "fail"], "on_error", _CALLER)
    mapping_dict = parse_mapping(mapping, caller=_CALLER)
    _check_mapping_keys(mapping_dict, fmt_name, mapping)
    files = _expand(paths)
    displays = [d for _, d in files]
    stems = _stems(displays)
    # each file's products taken out of its task at once: a spilled file is read back only by
    # the tasks that need its rows
    reads = [_taken(client, client.submit(_read_products, str(p), d, i, stems[d], fmt_name,
                                          mapping_dict, pure=False), 3)
             for i, (p, d) in enumerate(files)]
    goods, hash_f = [r[0] for r in reads], [r[2] for r in reads]
    # the first failing file (in input order) raises, as the default reader does
    metas = _gather(client, [r[1] for r in reads])
    del reads
    n_files = len(files)
    if on_error == "fail":  # the default reader stops after the first file with a bad row
        bad = [i for i, m in enumerate(metas) if len(m[1])]
        if bad:
            n_files = bad[0] + 1
            for g in goods[n_files:]:
                g.cancel()
            goods, metas = goods[:n_files], metas[:n_files]
    # duplicates across all files: only the rows whose action id hash repeats come here
    hashes = client.gather(hash_f[:n_files])
    del hash_f
    allh = np.sort(np.concatenate(hashes)) if hashes else np.zeros(0, np.uint64)
    same = allh[1:] == allh[:-1]
    repeated = np.unique(allh[1:][same]) if same.any() else np.zeros(0, np.uint64)
    del allh, same
    drops: list[np.ndarray] = [np.zeros(0, np.int64)] * len(goods)
    from .schema import empty_rejects

    dup_rejects = empty_rejects().assign(_file=pd.Series([], dtype=np.int64))
    exact_dups = np.zeros(0, np.int64)
    if repeated.size:
        subs = client.gather([client.submit(_good_repeated, g, repeated, pure=False)
                              for g in goods])
        positions = [np.flatnonzero(np.isin(h, repeated)) for h in hashes]
        sub = pd.concat(subs, ignore_index=True)
        drop, dup_rejects, exact_dups = _deduplicate(sub, displays)
        if drop is not None:
            cuts = np.cumsum([0] + [len(s) for s in subs])
            drops = [positions[i][drop[cuts[i]:cuts[i + 1]]] for i in range(len(goods))]
    del hashes
    finished = [_taken(client, client.submit(_good_finish, g, d, pure=False), 3)
                for g, d in zip(goods, drops)]
    del goods
    parts = [f[0] for f in finished]
    rejects, file_stats = _merge_rejects([m[1] for m in metas], dup_rejects, exact_dups,
                                         [m[2] for m in metas], on_error)
    rejects = _finish_rejects(rejects)
    results = client.gather([f[1] for f in finished])
    sizes = client.gather([f[2] for f in finished])
    del finished
    if not any(d.size for d in drops):
        kept = [s for s, m in zip(file_stats, metas) if s["rows"] > s["rejected"]]
        resolution = min(s["timestamp_resolution_s"] for s in kept) if kept and sum(sizes) \
            else timestamp_resolution(np.zeros(0, np.int64))
    else:
        per = [r if d.size else (s["timestamp_resolution_s"] if n else None)
               for r, d, s, n in zip(results, drops, file_stats, sizes)]
        per = [r for r in per if r is not None]
        resolution = min(per) if per else timestamp_resolution(np.zeros(0, np.int64))
    warnings = [w for s in file_stats for w in s.pop("warnings", [])]
    stats = {
        "files": file_stats,
        "rows_read": int(sum(s["rows"] for s in file_stats)),
        "rows_rejected": int(len(rejects)),
        "duplicates_dropped": int(len(exact_dups)),
        "timestamp_resolution_s": resolution,
        "format": ",".join(dict.fromkeys(s["format"] for s in file_stats)),
        "warnings": warnings,
    }
    return PartitionedActions(client, parts, [int(s) for s in sizes]), rejects, stats


# ---------------------------------------------------------------------------------------------
# traces


def _norm_texts(part: pd.DataFrame, min_text_chars: int) -> np.ndarray:
    """The distinct normalised texts of a partition's ``text`` traces (see
    :func:`cib.text.text_traces`)."""
    from .traces import normalize_text

    part = thaw(part, ["action_type", "text"])
    if part.empty:
        return np.zeros(0, dtype=object)
    mask = (part["action_type"].astype(str).to_numpy() != "repost") & \
        part["text"].notna().to_numpy()
    raw = pd.unique(part.loc[mask, "text"].to_numpy(dtype=object))
    norm = {normalize_text(v) for v in raw}
    low = max(min_text_chars, 1)
    return np.array(sorted(t for t in norm if len(t) >= low), dtype=object)


def _text_groups(texts: list[np.ndarray], threshold: float) -> dict[str, str]:
    """Near-duplicate groups of all distinct normalised texts: the object id of every text that
    is not the root of its group (the others are ``"nd:" + fingerprint``), exactly as
    :func:`cib.text.text_traces` names them (shingle 5, 64 permutations, seed 0). All texts in
    one process: the reference that :func:`_text_groups_partitioned` (what the engine runs)
    is tested against."""
    from .text import _group_roots
    from .traces import text_fingerprint

    allt = set()
    for t in texts:
        allt.update(t.tolist())
    uniq = sorted(t for t in allt if len(t) >= 5)
    if len(uniq) < 2:
        return {}
    roots = _group_roots(uniq, float(threshold), 5, 64, 0)
    idx = np.flatnonzero(roots != np.arange(len(uniq)))
    return {uniq[i]: "nd:" + text_fingerprint(uniq[roots[i]]) for i in idx.tolist()}


def _text_groups_partitioned(client, parts: list, min_text_chars: int,
                             threshold: float) -> dict[str, str]:
    """:func:`_text_groups` run on the workers (:mod:`cib._textdist`): only the verified
    near-duplicate pairs and the shared LSH keys come to this process, never the texts."""
    from . import _textdist as T

    n = max(len(parts), 1)
    # the texts wait on the workers as Arrow arrays (cib._frozen.cold): Dask counts an object
    # array at 8 bytes a text and would spill them too late
    norm = [client.submit(cold, _norm_texts, p, min_text_chars, pure=False) for p in parts]
    splits = _fan_out(client, functools.partial(cold, T.split_texts), norm, n, n)
    del norm
    buckets = _fan_in(client, functools.partial(cold, T.band_keys), splits, n,
                      threshold=threshold)
    # key_split reads only the buckets' band keys (numbers): its texts need no thawing
    shared_parts = client.gather(_fan_in(client, T.shared_keys,
                                         _fan_out(client, T.key_split, buckets, n, n), n))
    shared = np.unique(np.concatenate(shared_parts)) if shared_parts else \
        np.zeros(0, np.uint64)
    if shared.size == 0:
        return {}
    shared_f = client.scatter([shared], broadcast=True)[0]
    recs = _fan_out(client, functools.partial(cold, T.bucket_records), buckets, n, shared_f, n)
    del buckets
    pairs = client.gather(_fan_in(client, functools.partial(cold, T.verify_buckets), recs, n,
                                  threshold=threshold))
    pairs = thaw_tree(pairs)
    a = np.concatenate([p[0] for p in pairs])
    b = np.concatenate([p[1] for p in pairs])
    return T.remap_from_pairs(a, b)


def _trace_actions(part: pd.DataFrame, trace_ids: pd.Series, offset: int) -> np.ndarray:
    """The action codes of traces with action ids ``trace_ids`` made from the ACTIONS
    partition ``part`` (rows ``offset`` on of all ACTIONS): the action's row, counted over
    all partitions in order. Action ids are unique over all ACTIONS (the readers drop
    duplicates, a DataFrame must have none), so the codes compare as the ids do and the
    central process never hashes the id strings."""
    from ._lookup import codes_in

    at = codes_in(pd.Index(part["action_id"]), trace_ids)
    if (at < 0).any():  # pragma: no cover - a bug, never bad input
        raise RuntimeError("dask engine: a trace's action id is not among its partition's")
    return at.astype(np.int64) + offset


def _action_store(part: pd.DataFrame) -> pd.Series:
    """A partition's ``action_id`` column, kept on its worker to look ids up by action code."""
    return _arrow_strings(part["action_id"].reset_index(drop=True))


def _ids_at(store: pd.Series, pos: np.ndarray) -> np.ndarray:
    return store.take(pos).to_numpy(dtype=object)


class _ActionIds:
    """The ``action_id`` column of the repeated objects' traces without their strings in this
    process: ``take(rows)`` looks the rows' action codes up in the workers' ACTIONS
    partitions (:func:`_action_store`); a stand-in for the traces frame where only that column
    is read (``traces["action_id"].take(rows)``, ``len``, ``empty``)."""

    def __init__(self, client, stores: list, sizes: list[int], codes: np.ndarray, dtype) -> None:
        self.client, self.stores, self.codes, self.dtype = client, stores, codes, dtype
        self.offsets = np.cumsum([0, *sizes]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def empty(self) -> bool:
        return len(self) == 0

    def __getitem__(self, col: str) -> "_ActionIds":
        if col != "action_id":
            raise KeyError(f"{col!r}: only the action ids of the traces are kept here")
        return self

    def take(self, rows: np.ndarray) -> pd.Series:
        """The action ids of trace rows ``rows``, as a Series of the traces' dtype."""
        code = self.codes[np.asarray(rows, dtype=np.int64)]
        out = np.empty(len(code), dtype=object)
        part = np.searchsorted(self.offsets, code, side="right") - 1
        order = np.argsort(part, kind="stable")
        cuts = np.flatnonzero(np.diff(part[order])) + 1
        asked = []
        for at in np.split(order, cuts) if len(order) else []:
            p = int(part[at[0]])
            asked.append((at, self.client.submit(_ids_at, self.stores[p],
                                                 code[at] - self.offsets[p], pure=False)))
        for at, f in asked:
            out[at] = f.result()
        s = pd.Series(out)
        return s if s.dtype == self.dtype else s.astype(self.dtype)


def _part_traces(part: pd.DataFrame, kinds: list[str], min_text_chars: int, text_match: str,
                 text_threshold: float, remap: dict[str, str], offset: int = 0
                 ) -> pd.DataFrame:
    """TRACES of one ACTIONS partition (unsorted); near-duplicate text objects from ``remap``;
    with their action codes (:func:`_trace_actions`) in an ``_action`` column."""
    from .schema import TRACE_COLUMNS, UTC_NS, empty_traces
    from .traces import build_traces, normalize_text, text_fingerprint

    near = "text" in kinds and text_match == "near"
    other = [k for k in kinds if not (near and k == "text")]
    pieces = []
    if other:
        pieces.append(build_traces(part, kinds=other, min_text_chars=min_text_chars,
                                   text_match=text_match, text_threshold=text_threshold))
    if near and len(part):
        mask = (part["action_type"].astype(str).to_numpy() != "repost") & \
            part["text"].notna().to_numpy()
        sub = part.loc[mask]
        raw = sub["text"].to_numpy(dtype=object)
        lookup = {v: normalize_text(v) for v in pd.unique(raw)}
        norm = np.array([lookup[v] for v in raw], dtype=object)
        keep = np.fromiter((len(t) >= max(min_text_chars, 1) for t in norm), dtype=bool,
                           count=len(norm))
        if keep.any():
            sub, norm = sub[keep], norm[keep]
            ids = {t: remap.get(t) or "nd:" + text_fingerprint(t) for t in pd.unique(norm)}
            tr = pd.DataFrame({
                "account_id": sub["account_id"].to_numpy(dtype=object),
                "timestamp": sub["timestamp"].array,
                "kind": "text",
                "object_id": np.array([ids[t] for t in norm], dtype=object),
                "action_id": sub["action_id"].to_numpy(dtype=object),
            })
            tr["timestamp"] = tr["timestamp"].astype(UTC_NS)
            pieces.append(tr[TRACE_COLUMNS])
    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return empty_traces().assign(_action=np.zeros(0, dtype=np.int64))
    out = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
    out["_action"] = _trace_actions(part, out["action_id"], offset)
    return out


def _part_products(part, kinds: list[str], min_text_chars: int, text_match: str,
                   text_threshold: float, remap: dict[str, str], offset: int,
                   per_author: bool) -> list:
    """All that the run keeps of an ACTIONS partition, made from one read of it: its traces
    (:func:`_part_traces`) and their number, action ids (:func:`_action_store`), original
    posts (:func:`_posts_part`), texts (:func:`_text_store`), distinct accounts and, with
    ``per_author``, ``action_id, account_id`` (:func:`_ids_part`; else None). A cib error in
    the traces or the posts is returned in its place (and in the number's)."""
    part = thaw(part)
    traces = _safe(_part_traces, part, kinds, min_text_chars, text_match, text_threshold,
                   remap, offset)
    return [traces, traces if isinstance(traces, _Failure) else len(traces),
            _action_store(part), _safe(_posts_part, part), _text_store(part),
            freeze_tree(_distinct_accounts(part)), _ids_part(part) if per_author else None]


def _split(traces: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    """``traces`` cut into ``n`` pieces by a hash of (kind, object_id) (stable across processes
    and runs: :func:`pandas.util.hash_pandas_object`)."""
    if traces.empty:
        return [traces] * n
    h = pd.util.hash_pandas_object(traces[["kind", "object_id"]], index=False).to_numpy()
    dest = (h % np.uint64(n)).astype(np.int64)
    order = np.argsort(dest, kind="stable")
    cuts = np.searchsorted(dest[order], np.arange(n + 1))
    return [traces.iloc[order[cuts[i]:cuts[i + 1]]].reset_index(drop=True) for i in range(n)]


def _bucket(*pieces: pd.DataFrame) -> pd.DataFrame:
    """One (kind, object) partition, sorted as :func:`cib.traces.build_traces` sorts."""
    from .schema import empty_traces

    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return empty_traces()
    out = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
    return out.sort_values(["kind", "object_id", "timestamp", "account_id", "action_id"],
                           kind="mergesort", ignore_index=True)


def _runs_in_order(keys: pd.DataFrame, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For object runs one after the other (``keys``: their ``kind`` and ``object_id``;
    ``length``: their rows), the rows in the order of the runs sorted by (kind, object id),
    each run as it is (``take``), and that order of the runs."""
    first = np.cumsum(length) - length
    order = keys.sort_values(["kind", "object_id"], kind="mergesort").index.to_numpy()
    first, length = first[order], length[order]
    # row k of the result: the run it falls in, and its place in that run
    take = np.repeat(first - (np.cumsum(length) - length), length) + np.arange(int(length.sum()))
    return take, order


def _merge_buckets(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The sorted (kind, object) partitions as one TRACES frame in the order of
    :func:`cib.traces.build_traces` (``kind``, ``object_id``, ``timestamp``, ``account_id``,
    ``action_id``), emptying ``frames`` as it goes.

    Each partition is sorted and holds whole objects, so the order is the partitions' object
    runs sorted by (kind, object id), each run as it is: only the runs' keys are sorted, and
    the columns are moved one at a time (the frames' column goes as soon as it is placed), so
    the peak is about one copy of the traces, not the three of a concatenation and a sort.
    Every frame has the same columns (TRACES', and any the caller carries along)."""
    from .schema import empty_traces

    if not frames:
        return empty_traces()
    from .coaction._engine import object_run_starts

    keys, lengths = [], []
    for f in frames:
        st = np.flatnonzero(object_run_starts(f))
        keys.append(f[["kind", "object_id"]].iloc[st].reset_index(drop=True))
        lengths.append(np.diff(np.append(st, len(f))))
    take = _runs_in_order(pd.concat(keys, ignore_index=True), np.concatenate(lengths))[0]
    del keys, lengths
    columns = {}
    for col in list(frames[0].columns):
        whole = pd.concat([f[col] for f in frames], ignore_index=True)
        for f in frames:
            del f[col]
        columns[col] = whole.take(take).reset_index(drop=True)
        del whole
    frames.clear()
    return pd.DataFrame(columns)


def _bucket_coded(bucket: pd.DataFrame, accounts: Accounts) -> dict[str, Any]:
    """A (kind, object) partition (sorted as TRACES are) as codes: its object runs' ``kind``,
    ``object_id`` and lengths, per trace the account code in ``accounts`` (all accounts,
    sorted), the time in ns and the action code (its ``_action`` column); ``dtypes``: the
    TRACES columns' dtypes."""
    from .coaction._engine import object_run_starts
    from .schema import to_epoch_ns

    n = len(bucket)
    out: dict[str, Any] = {"n": n, "dtypes": bucket.dtypes.drop("_action", errors="ignore")}
    if n == 0:
        return out
    starts = np.flatnonzero(object_run_starts(bucket))
    local, glob = _account_codes(bucket, accounts)
    out.update(run_kind=bucket["kind"].array.take(starts),
               run_object=bucket["object_id"].array.take(starts),
               run_len=np.diff(np.append(starts, n)).astype(np.int64),
               account=glob[local], time=to_epoch_ns(bucket["timestamp"]),
               action=bucket["_action"].to_numpy(dtype=np.int64))
    return out


def _merge_coded(pieces: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The coded partitions of :func:`_bucket_coded` as the codes of one TRACES frame in the
    order of :func:`_merge_buckets` (the object runs sorted by (kind, object id), each run as
    it is): ``group``, ``group_kind``, ``group_object``, ``kind_names``, ``account``,
    ``action`` and ``time`` for :meth:`cib.coaction.CodedTraces.from_codes` (the codes the
    constructor reads off the merged frame's runs, the action codes those of the workers),
    with ``dtypes``. ``pieces`` is emptied on the way. None when there are no traces."""
    if not pieces:
        return None
    keys = pd.DataFrame({
        "kind": pd.concat([pd.Series(p.pop("run_kind")) for p in pieces], ignore_index=True),
        "object_id": pd.concat([pd.Series(p.pop("run_object")) for p in pieces],
                               ignore_index=True)})
    length = np.concatenate([p.pop("run_len") for p in pieces])
    take, order = _runs_in_order(keys, length)
    length = length[order]
    kind_codes, kinds = pd.factorize(keys["kind"].array.take(order), sort=True)
    group_object = pd.Index(keys["object_id"].array.take(order))
    del keys, order
    codes: dict[str, Any] = {"dtypes": pieces[0]["dtypes"]}
    for col in ("account", "time", "action"):
        whole = np.concatenate([p.pop(col) for p in pieces])
        codes[col] = whole[take]
        del whole
    pieces.clear()
    del take
    codes.update(group=np.repeat(np.arange(len(length), dtype=np.int64), length),
                 group_kind=kind_codes.astype(np.int64), group_object=group_object,
                 kind_names=np.asarray(kinds, dtype=object))
    return codes


def _bucket_repeated(bucket: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """A partition cut into the traces of objects acted on at least twice (what the central
    process codes: :func:`cib.coaction._engine.repeated_object_rows`) and the others (which
    stay here), with its traces per kind."""
    from .coaction._engine import repeated_object_rows

    counts = bucket["kind"].value_counts()
    rows = repeated_object_rows(bucket)
    own = [c for c in bucket.columns if c != "_action"]  # the singles as TRACES
    if rows is None:
        return bucket, bucket.iloc[:0][own], counts
    single = np.ones(len(bucket), dtype=bool)
    single[rows] = False
    return (bucket.take(rows).reset_index(drop=True),
            bucket.iloc[np.flatnonzero(single)][own].reset_index(drop=True), counts)


def _singles_of(singles: pd.DataFrame, ids: pd.Index | None) -> pd.DataFrame:
    """The rows of accounts ``ids`` (all rows: None)."""
    if ids is None:
        return singles
    return singles[np.asarray(singles["account_id"].isin(ids), dtype=bool)].reset_index(drop=True)


#: Most account pairs a join task holds at once (its pairs come in blocks of accounts).
PAIR_BLOCK = 10_000_000


def _bucket_codes(bucket: pd.DataFrame, accounts: Accounts
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group codes (per (kind, object), in the partition's order), times, the partition's own
    account codes (sorted like the ids) and their global codes."""
    from .schema import to_epoch_ns

    from .coaction._engine import object_run_starts

    g = np.cumsum(object_run_starts(bucket), dtype=np.int64) - 1
    t = to_epoch_ns(bucket["timestamp"])
    local, glob = _account_codes(bucket, accounts)
    return g, t, local, glob


class _HashedAccounts:
    """All accounts (sorted) as the workers look their codes up: each account's 64-bit hash
    (:func:`pandas.util.hash_array`, the same in every process), sorted, with its code (its
    position in the sorted accounts). 16 bytes an account instead of the strings and the hash
    table of a :class:`pandas.Index` on every worker (at 100M actions, 9.1M accounts: 0.15 GB
    against ~1 GB, and a lookup of a partition's accounts in a second, not tens).

    Exact when no two accounts share a hash (:meth:`of` checks, and gives None otherwise) and
    only accounts among them are looked up, which holds for the join partitions: their
    accounts are those the index is made of.
    """

    def __init__(self, hashes: np.ndarray, codes: np.ndarray) -> None:
        self.hashes, self.codes = hashes, codes

    @classmethod
    def of(cls, accounts: pd.Index) -> _HashedAccounts | None:
        """The lookup of ``accounts`` (sorted, distinct), or None when two of them share a hash
        or one cannot be hashed (a lone surrogate): then the Index itself is used."""
        try:
            h = _account_hashes(accounts)
        except (UnicodeError, TypeError, ValueError):
            return None
        order = np.argsort(h, kind="stable")
        h = h[order]
        if len(h) > 1 and bool((h[1:] == h[:-1]).any()):
            return None
        return cls(h, order.astype(np.int64))

    def __len__(self) -> int:
        return len(self.codes)

    def get_indexer(self, values: pd.Index) -> np.ndarray:
        """The codes of ``values`` (all among the accounts; as :meth:`pandas.Index.get_indexer`
        for those, -1 where a hash is not found)."""
        from ._lookup import find_sorted

        pos, found = find_sorted(_account_hashes(values), self.hashes)
        return np.where(found, self.codes[pos] if len(self.codes) else -1, -1)


#: How the workers code accounts: the sorted Index of all accounts, or its hashed lookup.
Accounts = pd.Index | _HashedAccounts


def _account_hashes(values) -> np.ndarray:
    return pd.util.hash_array(np.asarray(values, dtype=object), categorize=False)


def _account_codes(bucket: pd.DataFrame, accounts: Accounts) -> tuple[np.ndarray, np.ndarray]:
    """The partition's own account codes (sorted like the ids) and their codes in
    ``accounts`` (all accounts, sorted): only the partition's distinct ids are looked up."""
    local, uniq = pd.factorize(bucket["account_id"], sort=True)
    glob = accounts.get_indexer(pd.Index(np.asarray(uniq, dtype=object))).astype(np.int64)
    if (glob < 0).any():  # pragma: no cover - a bug, never bad input
        raise RuntimeError("dask engine: an account of a partition is not in the account index")
    return local.astype(np.int64), glob


def _bucket_pair_blocks(bucket: pd.DataFrame, accounts: Accounts, window_ns: int,
                        max_partners: int | None, max_pairs: int | None):
    """The co-acting account pairs of one (kind, object) partition, in blocks of at most
    ``max_pairs``: keys ``u * n_accounts + v`` (global account codes ``u < v``, sorted) and
    weights (distinct objects of the partition), from
    :func:`cib.coaction._partial.pair_weight_blocks`."""
    from .coaction._partial import pair_weight_blocks

    if len(bucket) < 2:
        return
    g, t, local, glob = _bucket_codes(bucket, accounts)
    n_acc = max(len(accounts), 1)
    for u, v, w in pair_weight_blocks(g, t, local, window_ns, max_partners, max_pairs):
        yield glob[u] * n_acc + glob[v], w


def _pairs_pass1(bucket: pd.DataFrame, accounts: Accounts, window_ns: int,
                 max_partners: int | None, n_reducers: int,
                 max_pairs: int | None = PAIR_BLOCK) -> list[np.ndarray]:
    """Pass 1 of a partition: per reducer, the distinct fingerprints of its pairs' keys
    (:func:`cib.coaction._partial.pass1_fingerprints`), computed block by block."""
    from .coaction._partial import pass1_fingerprints, sorted_unique

    per: list[list[np.ndarray]] = [[] for _ in range(n_reducers)]
    for keys, _ in _bucket_pair_blocks(bucket, accounts, window_ns, max_partners, max_pairs):
        for r, f in enumerate(pass1_fingerprints(keys, n_reducers)):
            per[r].append(f)
        del keys
    out = []
    for r in range(n_reducers):
        parts, per[r] = per[r], []
        out.append(parts[0] if len(parts) == 1 else
                   sorted_unique(np.concatenate(parts)) if parts else np.zeros(0, np.uint32))
        del parts
    return out


def _pairs_pass2(bucket: pd.DataFrame, accounts: Accounts, window_ns: int,
                 max_partners: int | None, min_weight: int, n_reducers: int,
                 max_pairs: int | None, *shared: np.ndarray) -> list:
    """Pass 2 of a partition, block by block: per reducer the ``(keys, weights)`` with a shared
    fingerprint (:func:`cib.coaction._partial.pass2_split`), then, last, the candidates it
    decides alone and how many pairs it decides alone (one list, for :func:`_fan_out`)."""
    from .coaction._partial import merge_splits, pass2_split, shared_table

    table = shared_table(list(shared))
    splits = [pass2_split(k, w, min_weight, n_reducers, table)
              for k, w in _bucket_pair_blocks(bucket, accounts, window_ns, max_partners,
                                              max_pairs)]
    cand, n_alone, pieces = merge_splits(splits, n_reducers)
    return [*pieces, (cand, n_alone)]


def _reduce_pairs(client, buckets: list, accounts, window_ns: int, max_partners: int | None,
                  min_weight: int, n_reducers: int) -> tuple[np.ndarray, int]:
    """The candidate pair keys (sorted) and the number of co-acting pairs of the partitions
    ``buckets``: the two-pass reduction of :mod:`cib.coaction._partial` (fingerprints first,
    then only the pairs whose fingerprint two partitions share). The pairs are computed twice,
    block by block, and never held whole."""
    from .coaction._partial import reduce_exact, shared_fingerprints

    fps = _fan_out(client, _pairs_pass1, buckets, n_reducers, accounts, window_ns,
                   max_partners, n_reducers, PAIR_BLOCK)
    shared = _fan_in(client, shared_fingerprints, fps, n_reducers)
    distributed_wait(shared)
    # per partition: one piece per reducer, then what it decided alone (last)
    sent = _fan_out(client, _pairs_pass2, buckets, n_reducers + 1, accounts, window_ns,
                    max_partners, min_weight, n_reducers, PAIR_BLOCK, *shared)
    alone_f = [x.pop() for x in sent]
    reduced = _fan_in(client, functools.partial(reduce_exact, min_weight), sent, n_reducers)
    alone = client.gather(alone_f)
    del alone_f
    red = client.gather(reduced)
    keys = [a[0] for a in alone] + [r[0] for r in red]
    cand = np.sort(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
    return cand, int(sum(a[1] for a in alone) + sum(r[1] for r in red))


def _fan_out(client, fn, inputs: list, n: int, *args, **kwargs) -> list[list]:
    """``fn(x, *args, **kwargs)`` (a list of ``n`` pieces) for every ``x`` of ``inputs``, as
    ``pieces[source][destination]`` futures: each piece its own key, taken out of its list
    right after the list is made.

    The ``n`` getitems of a list are submitted with it, so they outrank the next inputs' lists
    (Dask runs ready tasks by submission order) and each list is let go as soon as it is cut.
    Submitting all the lists first, then the getitems, let the lists pile up and be spilled to
    disk whole under a memory limit; each getitem then read its whole list back: ``n`` times
    the data from disk (at 100M actions, 100 text reducers: two verifications a minute).
    """
    return [_taken(client, client.submit(fn, x, *args, pure=False, **kwargs), n)
            for x in inputs]


def _taken(client, whole, n: int) -> list:
    """The ``n`` items of the future ``whole`` (a list or tuple), each its own future; with
    ``whole`` no longer held here, it is let go on its worker once they are all taken."""
    return [client.submit(operator.getitem, whole, i, pure=False) for i in range(n)]


def _fan_in(client, fn, pieces: list[list], n: int, **kwargs) -> list:
    """``fn(*pieces[:][r], **kwargs)`` for every destination ``r < n``: the futures of the
    reducers of :func:`_fan_out`'s ``pieces``, which is emptied, so that each piece is let go
    as soon as its reducer has run (not when the last reducer has: at 100M actions the text
    records, 10,000 pieces, stayed spilled until the end of the verification)."""
    out = [client.submit(fn, *[p[r] for p in pieces], pure=False, **kwargs) for r in range(n)]
    pieces.clear()
    return out


def distributed_wait(futures: list) -> None:
    """Wait until ``futures`` are done (``distributed.wait``)."""
    import distributed

    distributed.wait(futures)


def _texts_of(part: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    sub = part[part["action_id"].isin(ids)]
    return sub[["action_id", "text"]].astype(object)


def _text_store(part: pd.DataFrame) -> pd.DataFrame:
    """What the end of the run still needs of a partition: its texts, by action id."""
    return _arrow_strings(part[part["text"].notna()][["action_id", "text"]]
                          .reset_index(drop=True))


@dataclass
class _Prepared:
    """What the distributed stages hand to the central finish of :func:`cib.pipeline.detect`."""

    traces: Any
    accounts: pd.Index
    cand_keys: np.ndarray
    n_edges_all: int
    client: Any
    texts_parts: list
    singles: list
    n_traces: int
    traces_by_kind: pd.Series
    id_store: list
    n_actions: int
    n_accounts: int
    #: the dtypes of the traces' columns when ``traces`` holds only their ``action_id``
    trace_dtypes: pd.Series | None = None
    #: the codes of the traces from the workers (see :meth:`code`)
    codes: dict[str, Any] | None = None
    #: the ACTIONS partitions' ``action_id`` columns on the workers, and their rows
    action_stores: list | None = None
    sizes: list | None = None
    #: the partitions' original posts on the workers (see :meth:`posts`)
    posts_store: list | None = None
    _posts: pd.DataFrame | None = None

    def code(self, cls) -> tuple[Any, Any]:
        """The repeated objects' traces coded (``cls``: :class:`cib.nullmodel._Coded`) from
        the codes the workers sent, and their ``action_id`` column (:class:`_ActionIds`: the
        ids stay on the workers): the accounts, times, kinds, objects and action ids (~90
        bytes a trace of the central process's memory) are only ever codes here, and
        :meth:`rows` rebuilds any rows from them."""
        if self.codes is None:  # no traces: the (empty) frame coded as it is
            return cls(self.traces, self.accounts), self.traces
        coded = cls.from_codes(accounts=self.accounts, **self.codes)
        self.codes = None
        self.traces = _ActionIds(self.client, self.action_stores, self.sizes, coded.action,
                                 self.trace_dtypes["action_id"])
        return coded, self.traces

    def rows(self, coded, rows: np.ndarray | None) -> pd.DataFrame:
        """TRACES rows ``rows`` (None: all) of the repeated objects' traces, in full."""
        if self.trace_dtypes is None:
            return self.traces if rows is None else \
                self.traces.take(rows).reset_index(drop=True)
        return coded.trace_rows(rows, self.traces, self.trace_dtypes)

    def posts(self) -> pd.DataFrame:
        """The original posts (:meth:`PartitionedActions.posts`), gathered from the workers
        when the timing stage needs them (not beside the edge stage's null runs: ~27 bytes a
        post), once."""
        if self._posts is None:
            self._posts = _gather_posts(self.client, self.posts_store or [])
            self.posts_store = None
        return self._posts

    def author_of(self, ids: np.ndarray) -> np.ndarray:
        """The account ids of the authors of the posts ``ids`` (None: not in the data), looked
        up on the workers (the first partition that has an id, as in input order)."""
        return _lookup_authors(self.client, self.id_store, ids)

    def _singles(self, ids: pd.Index | None) -> list[pd.DataFrame]:
        ids_f = self.client.scatter([ids], broadcast=True)[0] if ids is not None else None
        frames = []
        for f in [self.client.submit(_safe, _singles_of, p, ids_f, pure=False)
                  for p in self.singles]:
            part = _raise_failure(f.result())
            if len(part):
                frames.append(part)
        return frames

    def own_traces(self, own: pd.DataFrame, coacting: np.ndarray, ids: pd.Index
                   ) -> tuple[pd.DataFrame, np.ndarray]:
        """``own`` (the repeated objects' traces of the accounts ``ids``, with their co-acting
        flags) joined by those accounts' traces of objects acted on once (on the workers; they
        co-act with nothing), in TRACES order."""
        frames = self._singles(pd.Index(np.asarray(ids, dtype=object)))
        if not frames:
            return own, coacting
        own = own.assign(_coacting=coacting)
        for f in frames:
            f["_coacting"] = np.zeros(len(f), dtype=coacting.dtype)
        out = _merge_buckets([own, *frames])
        flag = out.pop("_coacting").to_numpy(dtype=coacting.dtype)
        return out, flag

    def candidates(self, coded, min_weight: float) -> dict[str, Any]:
        """The candidate edges in the central account codes (``SortedTraces.edges`` keys that
        the pipeline uses)."""
        n_acc = max(len(self.accounts), 1)
        u = coded.account_codes(self.accounts[self.cand_keys // n_acc])
        v = coded.account_codes(self.accounts[self.cand_keys % n_acc])
        if (u < 0).any() or (v < 0).any():  # pragma: no cover - a bug, never bad input
            raise RuntimeError("dask engine: account codes disagree with the central ones")
        return {"u": np.minimum(u, v), "v": np.maximum(u, v), "n_edges_all": self.n_edges_all}

    def texts(self, intra: pd.DataFrame) -> pd.DataFrame:
        """``action_id``, ``text`` of the actions behind the evidence (looked up on the workers)."""
        if intra.empty:
            return pd.DataFrame({"action_id": pd.Series([], dtype=object),
                                 "text": pd.Series([], dtype=object)})
        ids = np.unique(np.concatenate([intra["action_a"].to_numpy(dtype=object),
                                        intra["action_b"].to_numpy(dtype=object)]).astype(str))
        ids_f = self.client.scatter([ids], broadcast=True)[0]
        frames = self.client.gather([self.client.submit(_texts_of, p, ids_f, pure=False)
                                     for p in self.texts_parts])
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame({"action_id": pd.Series([], dtype=object),
                                 "text": pd.Series([], dtype=object)})
        return pd.concat(frames, ignore_index=True)


def _split_frame(actions: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    cuts = np.linspace(0, len(actions), n + 1).astype(np.int64)
    return [actions.iloc[cuts[i]:cuts[i + 1]] for i in range(n)]


def detect_dask(actions, *, client=None, partitions: int | None = None,
                partition_size: int | None = None, **params) -> Any:
    """:func:`cib.detect` with ``engine="dask"``: the same :class:`~cib.pipeline.Detection`,
    byte for byte, with reading, traces and the co-action join partitioned on a Dask cluster.

    Parameters
    ----------
    actions : DataFrame, PartitionedActions, path or list of paths
        ACTIONS in memory (split into partitions of about a million rows), ACTIONS already on
        the workers (:func:`read_partitioned`), or input files (read with
        :func:`read_partitioned`, default options).
    client : distributed.Client, optional
        Default: a temporary :func:`local_client`.
    partitions : int, optional
        Partitions of the (kind, object) shuffle and join. Default: one per
        ``partition_size`` traces.
    partition_size : int, optional
        Traces per (kind, object) partition when ``partitions`` is not given (default
        :data:`DEFAULT_PARTITION_TRACES`).
    **params
        The parameters of :func:`cib.detect`.

    Returns
    -------
    Detection
        ``manifest["engine"]`` also records ``name`` ("dask"), the partition counts, workers
        and dask version; ``manifest["timings_s"]`` the distributed stages.

    Examples
    --------
    >>> from cib.datasets import simulate
    >>> actions, _ = simulate(n_accounts=300, n_groups=2, seed=2)
    >>> with local_client(n_workers=2, processes=False) as client:   # doctest: +SKIP
    ...     det = detect_dask(actions, client=client, partitions=3, n_null=20)
    ...     print(det.manifest["engine"]["name"])
    dask
    """
    from .coaction._engine import parse_memory_budget
    from .params import check_number, parse_duration, parse_kinds
    from .schema import validate_actions
    from .traces import DEFAULT_KINDS, KINDS

    require_dask()
    # the parameters' errors before any work, as the default engine gives them
    w = parse_duration(params.get("window", 60), "window", "detect")
    kinds = parse_kinds(params.get("kinds"), KINDS, DEFAULT_KINDS, caller="detect")
    parse_memory_budget(params.get("memory_budget"))
    check_number(params.get("min_weight", 2), "min_weight", "detect", low=1)
    if partitions is not None:
        check_number(partitions, "partitions", "detect", low=1, integer=True)
    if partition_size is not None:
        check_number(partition_size, "partition_size", "detect", low=1, integer=True)
    if isinstance(actions, pd.DataFrame):
        validate_actions(actions)
        _check_unique_ids(actions)
    if client is None:
        with local_client() as c:
            return detect_dask(actions, client=c, partitions=partitions,
                               partition_size=partition_size, **params)
    try:
        return _detect_dask(actions, client, partitions, partition_size, params, w, kinds)
    except CibError:
        raise
    except Exception as exc:
        if type(exc).__module__.split(".")[0] not in ("distributed", "dask", "concurrent"):
            raise
        raise DaskClusterError(
            f"the Dask cluster could not finish ({type(exc).__name__}: {exc}); a worker "
            "probably ran out of memory: give workers more memory (--memory-limit), or use "
            "more, smaller partitions (--partitions)") from exc


def _check_unique_ids(actions: pd.DataFrame) -> None:
    """The dask engine codes each action by its row (one code per id, the id strings never
    hashed centrally), so the action ids of a DataFrame must be unique, as the readers make
    them (exact duplicates dropped, reuses of an id with other content rejected)."""
    dup = actions["action_id"].duplicated()
    if dup.any():
        from .errors import InputError

        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(
            f"engine='dask' needs unique action ids, and {int(dup.sum())} row(s) repeat an "
            f"earlier row's ({actions['action_id'].iloc[row]!r} first, at position {row}); "
            "read the data with cib.read_actions (which drops exact duplicates and rejects "
            "reuses of an id), or drop them", column="action_id")


class DaskClusterError(CibError):
    """The Dask cluster lost the work (a worker killed for memory, a lost connection)."""


def _detect_dask(actions, client, partitions, partition_size, params, w, kinds):
    from ._stopwatch import stopwatch
    from .params import check_number

    timings, lap = stopwatch()

    if isinstance(actions, PartitionedActions):
        pa_ = actions
    elif isinstance(actions, pd.DataFrame):
        n_in = partitions or max(1, math.ceil(len(actions) / DEFAULT_INPUT_ROWS))
        frames = _split_frame(actions, max(1, min(n_in, max(len(actions), 1))))
        futs = client.scatter([freeze(f) for f in frames])
        pa_ = PartitionedActions(client, futs, [len(f) for f in frames])
        del frames
    else:
        pa_, rej, stats = read_partitioned(actions, client=client)
        if params.get("rejects") is None:
            params["rejects"] = rej
        if params.get("input_stats") is None:
            params["input_stats"] = stats
    lap("dask_read")
    min_text_chars = params.get("min_text_chars", 10)
    text_match = params.get("text_match", "near")
    text_threshold = params.get("text_threshold", 0.8)
    check_number(min_text_chars, "min_text_chars", "detect", low=0, integer=True)
    check_number(text_threshold, "text_threshold", "detect", low=0, high=1, low_open=True)
    from .params import check_choice

    check_choice(text_match, ["near", "exact"], "text_match", "detect")
    remap: dict[str, str] = {}
    if "text" in kinds and text_match == "near":
        remap = _text_groups_partitioned(client, pa_.parts, min_text_chars, text_threshold)
    lap("dask_text_groups")
    remap_f = client.scatter([remap], broadcast=True)[0]
    offsets = np.cumsum([0, *pa_.sizes]).astype(np.int64)
    per_author = params.get("per_author", True)
    # one task per partition makes all that is kept of it (each partition read once, not once
    # per product, when the partitions have been spilled to disk); each product is taken out
    # as soon as it is made (see _fan_out)
    n_made = 7 if per_author else 6
    made = [_taken(client, client.submit(_part_products, p, kinds, min_text_chars, text_match,
                                         text_threshold, remap_f, int(o), per_author,
                                         pure=False), n_made)
            for p, o in zip(pa_.parts, offsets)]
    cols = [list(c) for c in zip(*made)] or [[] for _ in range(n_made)]
    del made
    part_traces, part_sizes, action_stores, posts_store, store, acc_parts = cols[:6]
    id_store = cols[6] if per_author else []
    del cols
    root = _union_tree(client, acc_parts)
    n_accounts = int(client.submit(len, root, pure=False).result()) if root else 0
    del acc_parts, root
    n_traces = sum(_gather(client, part_sizes))
    del part_sizes
    distributed_wait(store + id_store + action_stores + posts_store)
    # the full ACTIONS are no longer needed on the workers: their traces, texts and action ids'
    # authors are all that is used from here on
    pa_.parts = []
    n_parts = partitions or max(1, math.ceil(n_traces / (partition_size
                                                         or DEFAULT_PARTITION_TRACES)))
    lap("dask_traces")
    splits = _fan_out(client, _split, part_traces, n_parts, n_parts)
    buckets = _fan_in(client, _bucket, splits, n_parts)
    acc = _union_tree(client, [client.submit(cold, _distinct_accounts, b, pure=False)
                               for b in buckets])
    del part_traces  # one copy of the traces (the buckets) from here on
    # the objects acted on once stay on the workers (about half of all traces: they pair with
    # nothing); the rest is what the join and the central process see
    cut = _fan_out(client, _bucket_repeated, buckets, 3)  # (repeated, singles, per kind)
    buckets = [c[0] for c in cut]
    singles = [c[1] for c in cut]
    per_kind = _gather(client, [c[2] for c in cut])
    del cut
    by_kind = pd.concat(per_kind).groupby(level=0).sum() if per_kind else \
        pd.Series([], dtype=np.int64)
    by_kind = by_kind[by_kind > 0].astype(np.int64)
    accounts = pd.Index(np.sort(thaw_tree(acc.result()) if acc is not None else
                                np.zeros(0, dtype=object)).astype(object))
    del acc
    lap("dask_shuffle")
    # the workers look account codes up by hash (the Index itself if two accounts share one)
    lookup = _HashedAccounts.of(accounts)
    acc_f = client.scatter([accounts if lookup is None else lookup], broadcast=True)[0]
    del lookup
    n_red = n_parts
    window_ns = int(round(w * 1e9))
    from .coaction._kernel import _min_weight

    mw = _min_weight(params.get("min_weight", 2))
    cand_keys, n_all = _reduce_pairs(client, buckets, acc_f, window_ns,
                                     params.get("max_partners"), mw, n_red)
    lap("dask_join")
    # the workers code their partitions (account codes, times, the runs of objects): only
    # the action ids travel as strings, and the central process never holds the full frame
    coded_f = [client.submit(_safe, _bucket_coded, b, acc_f, pure=False) for b in buckets]
    del buckets
    pieces = []
    while coded_f:  # one partition in transfer at a time, each let go on the workers at once
        piece = _raise_failure(coded_f.pop(0).result())
        if piece["n"]:
            pieces.append(piece)
        del piece
    codes = _merge_coded(pieces)
    from ._memory import release_memory
    from .schema import empty_traces

    release_memory()  # the pieces' memory, before the central stages come on top of it
    lap("dask_gather")
    prep = _Prepared(empty_traces(), accounts, cand_keys, n_all, client, store, singles,
                     n_traces, by_kind, id_store, len(pa_), n_accounts,
                     action_stores=action_stores, sizes=list(pa_.sizes),
                     posts_store=posts_store)
    if codes is not None:
        prep.codes, prep.trace_dtypes = codes, codes.pop("dtypes")
    del id_store, codes, action_stores, posts_store
    from .pipeline import detect

    det = detect(_posts_part(_empty_actions()), _prepared=prep, **params)
    engine = det.manifest.setdefault("engine", {})
    import dask

    # asked of the scheduler now (scheduler_info() is the client's copy from when it connected,
    # which can predate the workers' registration)
    workers = client.nthreads()
    engine.update({"name": "dask", "dask": dask.__version__, "workers": len(workers),
                   "input_partitions": len(pa_.sizes), "partitions": int(n_parts)})
    det.manifest["timings_s"] = {**timings, **det.manifest.get("timings_s", {})}
    return det
