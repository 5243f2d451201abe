"""A slow, obviously correct co-action join: the definition of DESIGN §3, written as loops.

It exists to check the fast implementations against (tests compare them on random inputs).
"""

from __future__ import annotations

from itertools import combinations

import pandas as pd

from ..params import parse_duration
from ..schema import UTC_NS
from ._join import _empty

__all__ = ["reference_coactions"]


def reference_coactions(traces: pd.DataFrame, window: float | str = 60) -> pd.DataFrame:
    """The co-action join by brute force over every pair of traces of every object.

    Same output as :func:`cib.coaction.coactions`.

    Examples
    --------
    >>> t = pd.to_datetime([0, 60], unit="s", utc=True)
    >>> tr = pd.DataFrame({"account_id": ["x", "y"], "timestamp": t, "kind": "url",
    ...                    "object_id": "u", "action_id": ["1", "2"]})
    >>> len(reference_coactions(tr, 60)), len(reference_coactions(tr, 59))
    (1, 0)
    """
    w = parse_duration(window, "window", "reference_coactions")
    rows = []
    records = traces.to_dict("records")
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["kind"], r["object_id"]), []).append(r)
    for (kind, obj), rs in groups.items():
        for p, q in combinations(rs, 2):
            if p["account_id"] == q["account_id"]:
                continue
            dt = abs((q["timestamp"] - p["timestamp"]).total_seconds())
            if dt > w:
                continue
            first, second = sorted([p, q], key=lambda r: (r["timestamp"], r["account_id"],
                                                          r["action_id"]))
            rows.append({"kind": kind, "object_id": obj,
                         "account_a": first["account_id"], "account_b": second["account_id"],
                         "action_a": first["action_id"], "action_b": second["action_id"],
                         "time_a": first["timestamp"], "time_b": second["timestamp"],
                         "delay_s": dt})
    if not rows:
        return _empty()
    out = pd.DataFrame(rows)
    out["time_a"] = out["time_a"].astype(UTC_NS)
    out["time_b"] = out["time_b"].astype(UTC_NS)
    return out.sort_values(["kind", "object_id", "time_a", "account_a", "account_b",
                            "action_a", "action_b"], kind="mergesort", ignore_index=True)
