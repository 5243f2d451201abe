"""Benchmark of cib.io.read_actions on a large generic CSV (not part of the test suite).

Writes a CSV with ``--rows`` rows (default ten million) and a few columns (action_id,
account_id, timestamp as epoch seconds, parent_id on a third of the rows, hashtags on a tenth),
then reads it with :func:`cib.io.read_actions` in a fresh process and prints the wall time,
CPU time and peak resident memory (``resource.getrusage``: the reading process alone, the
writer runs in another one).

Usage::

    .venv/bin/python bench/bench_io.py                     # 10M rows in a temporary folder
    .venv/bin/python bench/bench_io.py --rows 1000000 --keep /tmp/bench1m.csv
    .venv/bin/python bench/bench_io.py --read /tmp/bench1m.csv   # read an existing file only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_csv(path: Path, rows: int, seed: int = 0, chunk: int = 1_000_000) -> None:
    """A generic CSV of ``rows`` rows, written in chunks (bounded memory)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_accounts = max(rows // 50, 10)
    t0 = 1_600_000_000
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("action_id,account_id,timestamp,parent_id,hashtags\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            ids = np.arange(start, start + n)
            account = rng.integers(0, n_accounts, n)
            ts = t0 + rng.integers(0, 30 * 86400, n)
            has_parent = rng.random(n) < 1 / 3
            parent = np.where(has_parent, rng.integers(0, max(rows // 20, 1), n), -1)
            has_tag = rng.random(n) < 0.1
            tag = rng.integers(0, 5000, n)
            frame = pd.DataFrame({
                "action_id": pd.Series(ids).map("t{}".format),
                "account_id": pd.Series(account).map("u{}".format),
                "timestamp": ts,
                "parent_id": pd.Series(parent).map(lambda p: f"t{p}" if p >= 0 else ""),
                "hashtags": pd.Series(np.where(has_tag, tag, -1)).map(
                    lambda t: f"#tag{t} #all" if t >= 0 else ""),
            })
            frame.to_csv(f, header=False, index=False)


def read_once(path: Path) -> dict:
    """Read ``path`` with read_actions in this process; return the figures."""
    from cib.io import read_actions

    t0 = time.perf_counter()
    c0 = time.process_time()
    actions, rejects, stats = read_actions(path)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "rows": stats["rows_read"],
        "actions": len(actions),
        "rejected": stats["rows_rejected"],
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "rows_per_s": round(stats["rows_read"] / wall) if wall else None,
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "actions_mb": round(actions.memory_usage(deep=True).sum() / 2**20, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", type=Path, default=None,
                        help="Write the CSV here and keep it (default: a temporary file).")
    parser.add_argument("--read", type=Path, default=None,
                        help="Only read this file (in this process) and print the figures.")
    args = parser.parse_args(argv)

    if args.read is not None:
        print(json.dumps(read_once(args.read)))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.csv"
        t0 = time.perf_counter()
        write_csv(path, args.rows)
        print(f"wrote {args.rows:,} rows ({path.stat().st_size / 2**20:.0f} MiB) to {path} "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        # A fresh process, so that the peak RSS is the reader's alone.
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--read", str(path)],
                             check=True, capture_output=True, text=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    for key, value in figures.items():
        print(f"{key:>12}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
