"""bench/bench_timing.py runs end to end on a small file: both ways of the timing signal, side
by side, with the significant rows compared."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cib.datasets import simulate

ROOT = Path(__file__).resolve().parents[1]


def test_bench_timing_runs_both_ways_and_compares(tmp_path):
    actions, _ = simulate(n_accounts=400, n_groups=3, seed=4)
    path = tmp_path / "a.parquet"
    actions.to_parquet(path)
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_timing.py"), "--posts",
                          str(path)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "| all (as before) |" in res.stdout and "| significant (default) |" in res.stdout
    assert "significant rows identical" in res.stdout


def test_bench_timing_compares_caps_of_leiden_iterations(tmp_path):
    actions, truth = simulate(n_accounts=400, n_groups=3, seed=4)
    path = tmp_path / "a.parquet"
    actions.to_parquet(path)
    truth_path = tmp_path / "truth.csv"
    truth.to_csv(truth_path, index=False)
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_timing.py"), "--posts",
                          str(path), "--group-iterations", "1,100", "--truth", str(truth_path)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "| Leiden iterations at most |" in res.stdout
    assert "| 1 |" in res.stdout and "| 100 |" in res.stdout
    assert "1 against 100:" in res.stdout
