"""bench/bench_dask.py runs end to end on a small chunked simulation: both engines, their files
compared, and the sizes and ``cib evaluate`` figures of each run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("distributed")


def test_bench_dask_runs_both_engines_and_evaluates(tmp_path):
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_dask.py"), "--actions",
                          "20000", "--data", str(tmp_path), "--memory-limit", "1G",
                          "--simulate-options", "--chunk-actions 10000 --groups 2"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "20000 outputs: identical" in out
    rows = [line for line in out.splitlines() if line.startswith("| 20,000 |")]
    assert [r.split("|")[2].strip() for r in rows] == ["simulate", "pandas", "dask", "pandas",
                                                       "dask"]
    assert all(" ok " in r for r in rows[:3])
    sizes = [r.split("|") for r in rows[3:]]
    assert sizes[0][3:] == sizes[1][3:]  # the same sizes and figures from both engines
    assert sizes[0][8].strip() == "4 of 4"  # 2 planted groups per chunk of 10,000
    assert float(sizes[0][9]) == 1.0  # precision
    log = (tmp_path / "detect20000-dask.log").read_text()  # a line per stage as it ends
    assert " dask_text_groups done in " in log and " scoring done in " in log
