"""Shared fixtures: the real data under ../shared (tests that need it skip cleanly without it)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REAL = SHARED / "data" / "real"
REFERENCE = SHARED / "data" / "reference"


def shared_file(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test when it is absent."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path
