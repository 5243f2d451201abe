"""Column names and dtypes of every data contract (DESIGN §2), and their validators.

The column names are the contract between stages: each stage reads its input by name and
returns a new DataFrame with exactly the columns listed here (a stage never mutates its input).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = [
    "ACTION_COLUMNS",
    "ACTION_TYPES",
    "LIST_COLUMNS",
    "REJECT_COLUMNS",
    "TRACE_COLUMNS",
    "COACTION_COLUMNS",
    "EDGE_COLUMNS",
    "COMBINED_EDGE_COLUMNS",
    "MEMBER_COLUMNS",
    "CLUSTER_COLUMNS",
    "EVIDENCE_COLUMNS",
    "TRUTH_COLUMNS",
    "SCENARIO_TRUTH_COLUMNS",
    "UTC_NS",
    "is_utc_datetime",
    "to_epoch_ns",
    "from_epoch_ns",
    "empty_actions",
    "empty_rejects",
    "empty_traces",
    "validate_actions",
    "validate_traces",
]

UTC_NS = "datetime64[ns, UTC]"

#: ACTIONS: one row per post / repost / reply / quote.
ACTION_COLUMNS = [
    "action_id", "account_id", "timestamp", "action_type", "parent_id",
    "text", "urls", "hashtags", "mentions", "media", "platform",
]
ACTION_TYPES = ["post", "repost", "reply", "quote"]
LIST_COLUMNS = ["urls", "hashtags", "mentions", "media"]

#: REJECTS: one row per input row that could not be used (row is 1-based; see InputError).
REJECT_COLUMNS = ["source", "row", "column", "value", "reason"]

#: TRACES: account acted on object (of a kind) at a time.
TRACE_COLUMNS = ["account_id", "timestamp", "kind", "object_id", "action_id"]

#: COACTIONS: one row per pair of traces of different accounts on the same object within the window.
COACTION_COLUMNS = ["kind", "object_id", "account_a", "account_b", "action_a", "action_b",
                    "time_a", "time_b", "delay_s"]

#: EDGES per kind (undirected, account_u < account_v).
EDGE_COLUMNS = ["kind", "account_u", "account_v", "weight", "n_pairs", "min_delay_s",
                "median_delay_s", "first_time", "last_time", "weighted"]

#: Combined multi-kind EDGES (plus one ``w_<kind>`` column per kind present).
COMBINED_EDGE_COLUMNS = ["account_u", "account_v", "weight", "weighted", "n_pairs", "min_delay_s",
                         "median_delay_s", "first_time", "last_time", "kinds"]

MEMBER_COLUMNS = ["account_id", "cluster_id", "degree", "strength", "n_traces", "n_coacting_traces",
                  "coordination_ratio", "self_repeats", "in_flagged"]

CLUSTER_COLUMNS = ["cluster_id", "rank", "score", "p_value", "q_value", "flagged", "n_accounts", "n_edges",
                   "density", "total_weight", "weighted", "median_delay_s", "kinds", "n_objects",
                   "first_time", "last_time", "timing_similarity", "text_similarity",
                   "coordination_ratio", "stable_id", "found_by"]

EVIDENCE_COLUMNS = ["cluster_id", "kind", "object_id", "n_accounts", "n_pairs", "first_time",
                    "last_time", "median_delay_s", "example_text"]

#: Ground truth of simulated data: ``group`` is -1 for organic accounts.
TRUTH_COLUMNS = ["account_id", "group", "role"]

#: Ground truth of :func:`cib.scenarios.simulate_scenarios`: also the ``scenario`` of each account
#: (its scenario or trap name, ``"organic"`` for the background); ``role`` may then be ``"trap"``
#: (an organic account in a trap: ``group`` -1, a negative for precision).
SCENARIO_TRUTH_COLUMNS = [*TRUTH_COLUMNS, "scenario"]


def is_utc_datetime(series: pd.Series) -> bool:
    """True when ``series`` holds timezone-aware datetimes in UTC (any resolution).

    Examples
    --------
    >>> is_utc_datetime(pd.Series(pd.to_datetime([0], unit="s", utc=True)))
    True
    >>> is_utc_datetime(pd.Series(pd.to_datetime([0], unit="s")))
    False
    """
    dtype = series.dtype
    return isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) in ("UTC", "utc")


def to_epoch_ns(series: pd.Series) -> np.ndarray:
    """Nanoseconds since the Unix epoch (int64) of a UTC datetime column, whatever its resolution.

    Examples
    --------
    >>> to_epoch_ns(pd.Series(pd.to_datetime([1, 2], unit="s", utc=True))).tolist()
    [1000000000, 2000000000]
    """
    naive = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return naive.to_numpy(dtype="datetime64[ns]").view(np.int64)


def from_epoch_ns(values: np.ndarray) -> pd.DatetimeIndex:
    """UTC datetimes (ns resolution) from int64 nanoseconds since the epoch."""
    return pd.DatetimeIndex(np.asarray(values, dtype=np.int64).view("datetime64[ns]")).tz_localize("UTC")


def _empty(columns: list[str], dtypes: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=dtypes.get(c, "object")) for c in columns})


def empty_actions() -> pd.DataFrame:
    """An ACTIONS table with no rows and the contract's dtypes."""
    return _empty(ACTION_COLUMNS, {"timestamp": UTC_NS,
                                   "action_type": pd.CategoricalDtype(ACTION_TYPES)})


def empty_rejects() -> pd.DataFrame:
    """A REJECTS table with no rows."""
    return _empty(REJECT_COLUMNS, {"row": "int64"})


def empty_traces() -> pd.DataFrame:
    """A TRACES table with no rows."""
    return _empty(TRACE_COLUMNS, {"timestamp": UTC_NS})


def _missing(df: pd.DataFrame, columns: list[str], what: str, source: str | None) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{what} lacks required columns: {', '.join(missing)}", file=source)


def validate_actions(actions: pd.DataFrame, source: str | None = None) -> None:
    """Check that ``actions`` follows the ACTIONS contract; raise :class:`InputError` if not.

    Examples
    --------
    >>> validate_actions(empty_actions())
    >>> validate_actions(pd.DataFrame({"account_id": []}))
    Traceback (most recent call last):
    ...
    cib.errors.InputError: ACTIONS lacks required columns: action_id, timestamp, action_type, parent_id, text, urls, hashtags, mentions, media, platform
    """
    if not isinstance(actions, pd.DataFrame):
        raise InputError(f"ACTIONS must be a pandas DataFrame, got {type(actions).__name__}",
                         file=source)
    _missing(actions, ACTION_COLUMNS, "ACTIONS", source)
    if not is_utc_datetime(actions["timestamp"]):
        raise InputError(f"ACTIONS column 'timestamp' must be datetimes in UTC ({UTC_NS}), "
                         f"got {actions['timestamp'].dtype}", file=source, column="timestamp")


def validate_traces(traces: pd.DataFrame, source: str | None = None) -> None:
    """Check that ``traces`` follows the TRACES contract; raise :class:`InputError` if not."""
    if not isinstance(traces, pd.DataFrame):
        raise InputError(f"TRACES must be a pandas DataFrame, got {type(traces).__name__}",
                         file=source)
    _missing(traces, TRACE_COLUMNS, "TRACES", source)
    if not is_utc_datetime(traces["timestamp"]):
        raise InputError(f"TRACES column 'timestamp' must be datetimes in UTC ({UTC_NS}), "
                         f"got {traces['timestamp'].dtype}", file=source, column="timestamp")
