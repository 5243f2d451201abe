"""Shared fixtures: the real data under ../shared (tests that need it skip cleanly without it).

Hypothesis: ``CIB_HYPOTHESIS_PROFILE=ci`` (set by ``.ci/run``) draws the same examples on every
run of the same code (``derandomize``), so the gate passes or fails as a run on a fresh clone
did; without it each run explores new examples (how the Leiden see-saw of
``tests/test_graph_communities.py`` was found).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("CIB_HYPOTHESIS_PROFILE", "explore"))

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
