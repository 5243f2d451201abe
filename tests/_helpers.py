"""Helpers for the tests (import as ``from _helpers import ...``)."""

from __future__ import annotations

import pandas as pd


def make_traces(rows: list[tuple]) -> pd.DataFrame:
    """TRACES from (account, seconds, kind, object[, action]) tuples."""
    recs = []
    for n, r in enumerate(rows):
        acc, sec, kind, obj = r[:4]
        act = r[4] if len(r) > 4 else f"x{n}"
        recs.append({"account_id": acc, "timestamp": pd.Timestamp(sec, unit="s", tz="UTC"),
                     "kind": kind, "object_id": obj, "action_id": act})
    df = pd.DataFrame(recs, columns=["account_id", "timestamp", "kind", "object_id", "action_id"])
    df["timestamp"] = df["timestamp"].astype("datetime64[ns, UTC]")
    return df
