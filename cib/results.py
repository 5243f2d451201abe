"""Read back what ``cib detect`` wrote (for ``cib evaluate``, ``cib report`` and notebooks)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import InputError

__all__ = ["load_table"]


def load_table(out_dir: str | Path, name: str) -> pd.DataFrame:
    """Load table ``name`` (``clusters``, ``members``, ``edges``, ``evidence``, ``rejects``) from a
    cib output folder, from its Parquet file (raw values) or else its CSV file.

    Account ids are always read as strings.
    """
    out_dir = Path(out_dir)
    pq = out_dir / f"{name}.parquet"
    csv = out_dir / f"{name}.csv"
    try:
        if pq.exists():
            return pd.read_parquet(pq)
        if csv.exists():
            return pd.read_csv(csv, dtype={"account_id": str, "account_u": str, "account_v": str,
                                           "stable_id": str})
    except Exception as exc:  # a damaged file: say which
        raise InputError(f"cannot read {name} table: {exc}", file=str(pq if pq.exists() else csv)) from exc
    raise InputError(f"not a cib output folder (no {name}.parquet or {name}.csv)", file=str(out_dir))
