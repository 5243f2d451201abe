"""Simulated data sets larger than memory: :func:`cib.datasets.simulate`, chunk by chunk.

A chunk is one complete, independent simulation (:func:`cib.datasets.simulate`: organic
background, viral posts, planted groups with their pushes) of about ``chunk_actions`` actions,
with its own seed. Chunks cover the same period, so their organic hashtags, URLs and texts
(drawn from the same vocabularies) overlap in time as in one large population, but a chunk's
accounts, posts and planted groups are its own:

* ids are prefixed with the chunk: account ``c0003-u00042``, action ``c0003-a000117`` (and
  ``parent_id`` likewise), so ids never collide across chunks;
* planted group ``g`` of chunk ``c`` is group ``c * groups_per_chunk + g`` of the data set, so
  the planted-group semantics (pushes, participation 0.8, jitter within ``window / 2``,
  stragglers) are exactly those of :func:`cib.datasets.simulate`;
* chunk ``c``'s seed is drawn from ``numpy.random.SeedSequence(seed).spawn(n_chunks)[c]``: the
  same ``seed`` and ``chunk_actions`` give the same files, whatever the machine.

Memory is that of one chunk (a few hundred MB for a million actions), whatever the total.

Examples
--------
>>> chunks = list(simulate_chunks(20_000, chunk_actions=10_000, groups_per_chunk=1, seed=1))
>>> len(chunks), bool(chunks[1][0]["account_id"].str.startswith("c0001-").all())
(2, True)
>>> sorted(pd.concat([t for _, t in chunks]).query("group >= 0")["group"].unique().tolist())
[0, 1]
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import OutputError
from .params import check_choice, check_number

__all__ = ["simulate_chunks", "write_chunked_simulation", "ACTIONS_PER_ACCOUNT"]

#: Actions per account of :func:`cib.datasets.simulate` (about 11 at its defaults).
ACTIONS_PER_ACCOUNT = 11.0
_CALLER = "simulate_chunks"


def _prefix(values: pd.Series, prefix: str) -> pd.Series:
    v = values.to_numpy(dtype=object)
    out = np.array([None if x is None else prefix + x for x in v], dtype=object)
    return pd.Series(out, index=values.index, dtype=object)


def simulate_chunks(n_actions: int, *, chunk_actions: int = 1_000_000,
                    groups_per_chunk: int = 5, days: float = 7, seed: int = 0
                    ) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Simulate about ``n_actions`` actions as independent chunks (see the module docstring).

    Parameters
    ----------
    n_actions : int
        About how many actions in all (each chunk's count varies by a few percent).
    chunk_actions : int, default 1,000,000
        About how many actions per chunk (the last one takes the remainder).
    groups_per_chunk : int, default 5
        Planted groups per chunk.
    days : float, default 7
        The period every chunk covers.
    seed : int, default 0

    Yields
    ------
    (actions, truth)
        One chunk's ACTIONS and TRUTH (ids prefixed, groups numbered for the whole data set).
    """
    from .datasets import simulate

    check_number(n_actions, "n_actions", _CALLER, low=1, integer=True)
    check_number(chunk_actions, "chunk_actions", _CALLER, low=100, integer=True)
    check_number(groups_per_chunk, "groups_per_chunk", _CALLER, low=0, integer=True)
    check_number(seed, "seed", _CALLER, low=0, integer=True)
    n_chunks = max(1, math.ceil(n_actions / chunk_actions))
    seeds = np.random.SeedSequence(seed).spawn(n_chunks)
    for c in range(n_chunks):
        size = min(chunk_actions, n_actions - c * chunk_actions)
        n_accounts = max(int(round(size / ACTIONS_PER_ACCOUNT)), 2 + 15 * groups_per_chunk)
        actions, truth = simulate(n_accounts=n_accounts, n_groups=groups_per_chunk, days=days,
                                  seed=int(seeds[c].generate_state(1)[0]))
        p = f"c{c:04d}-"
        for col in ("action_id", "account_id", "parent_id"):
            actions[col] = _prefix(actions[col], p)
        truth["account_id"] = _prefix(truth["account_id"], p)
        truth["group"] = np.where(truth["group"] >= 0, truth["group"] + c * groups_per_chunk, -1)
        yield actions, truth


def write_chunked_simulation(out_dir: str | os.PathLike[str], n_actions: int, *,
                             format: str = "parquet", chunk_actions: int = 1_000_000,
                             groups_per_chunk: int = 5, days: float = 7, seed: int = 0,
                             progress=None) -> tuple[Path, Path, int, int]:
    """Write :func:`simulate_chunks` as a data set of files, one chunk at a time:
    ``out_dir/actions/part-00000.parquet`` (or ``.csv``), ... and ``out_dir/truth.csv``.

    Each file is written to a temporary name first and renamed, so a reader never sees half a
    file. Read it back with ``cib detect 'OUT/actions/*.parquet' --engine dask``.

    Returns
    -------
    (actions folder, truth path, actions written, accounts)

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> folder, truth, n, _ = write_chunked_simulation(d, 5_000, chunk_actions=2_500,
    ...                                                groups_per_chunk=1)
    >>> sorted(p.name for p in folder.iterdir())
    ['part-00000.parquet', 'part-00001.parquet']
    """
    from .datasets import _atomic_csv, write_simulation

    fmt = check_choice(format, ["parquet", "csv"], "format", "write_chunked_simulation")
    out = Path(out_dir)
    folder = out / "actions"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{folder}: cannot create the output folder: {e.strerror or e}") from e
    truths = []
    total = 0
    for c, (actions, truth) in enumerate(simulate_chunks(
            n_actions, chunk_actions=chunk_actions, groups_per_chunk=groups_per_chunk,
            days=days, seed=seed)):
        path = folder / f"part-{c:05d}.{fmt}"
        tmp = folder / f".part-{c:05d}.{fmt}.tmp"
        try:
            if fmt == "parquet":
                actions.to_parquet(tmp, index=False)
                os.replace(tmp, path)
            else:
                write_simulation(folder / f".chunk-{c:05d}", actions, truth.iloc[:0])
                os.replace(folder / f".chunk-{c:05d}" / "actions.csv", path)
                for f in (folder / f".chunk-{c:05d}").iterdir():
                    f.unlink()
                (folder / f".chunk-{c:05d}").rmdir()
        except OSError as e:
            raise OutputError(f"{path}: cannot write: {e.strerror or e}") from e
        total += len(actions)
        truths.append(truth)
        del actions
        if progress is not None:
            progress(c, total)
    truth = pd.concat(truths, ignore_index=True)
    _atomic_csv(truth, out / "truth.csv")
    return folder, out / "truth.csv", total, len(truth)
