"""bench/stage_memory.py runs end to end on a small file and reports every stage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cib.datasets import simulate

ROOT = Path(__file__).resolve().parents[1]


def test_stage_memory_reports_each_stage_and_the_highs(tmp_path):
    actions, _ = simulate(n_accounts=300, n_groups=2, seed=3)
    path = tmp_path / "a.parquet"
    actions.to_parquet(path)
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "stage_memory.py"), str(path),
                          "--engine", "pandas", "--options", json.dumps({"n_null": 10}),
                          "--step", "1"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"{len(actions):,} actions" in res.stdout and "central peak" in res.stdout
    for stage in ("| traces |", "| coaction |", "| edges |", "| nullmodel |"):
        assert stage in res.stdout
    assert "new highs" in res.stdout
