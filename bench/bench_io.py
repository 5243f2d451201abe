"""Benchmark of cib.io.read_actions on a large generic CSV (not part of the test suite).

Writes a CSV with ``--rows`` rows (default ten million) and a few columns (action_id,
account_id, timestamp as epoch seconds, parent_id on a third of the rows, hashtags on a tenth),
and its gzip-compressed copy, then reads each with :func:`cib.io.read_actions`, every case in a
fresh process, and prints the wall time, CPU time and peak resident memory of that process
(``resource.getrusage``: the reading process alone; the writer runs in another one). "base MB"
is the process's resident memory after the imports, before reading.

Usage::

    .venv/bin/python bench/bench_io.py                          # 10M rows, .csv and .csv.gz
    .venv/bin/python bench/bench_io.py --rows 1000000 --keep /tmp/bench1m.csv
    .venv/bin/python bench/bench_io.py --read /tmp/bench1m.csv  # read an existing file only
    # compare with another checkout of cib (e.g. before a change), in the same run:
    .venv/bin/python bench/bench_io.py --rows 1000000 --other /path/to/old/checkout
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
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


def _rss_mb() -> float:
    """Current resident memory of this process (Linux), in MiB."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # pragma: no cover - not Linux
        return float("nan")


def read_once(path: Path) -> dict:
    """Read ``path`` with read_actions in this process; return the figures."""
    import inspect

    import cib
    from cib.io import read_actions

    quiet = {"progress": False} if "progress" in inspect.signature(read_actions).parameters else {}
    base = _rss_mb()
    t0 = time.perf_counter()
    c0 = time.process_time()
    actions, _rejects, stats = read_actions(path, **quiet)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "cib": str(Path(cib.__file__).parent.parent),
        "rows": stats["rows_read"],
        "actions": len(actions),
        "rejected": stats["rows_rejected"],
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "rows_per_s": round(stats["rows_read"] / wall) if wall else None,
        "base_mb": round(base, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "result_mb": round(_rss_mb() - base, 1),
    }


def run_case(path: Path, other: Path | None = None) -> dict:
    """:func:`read_once` in a fresh process (``other``: with that checkout's cib first)."""
    env = dict(os.environ)
    if other is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(other), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--read", str(path)],
                         check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:  # pragma: no cover
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", type=Path, default=None,
                        help="Write the CSV here and keep it (default: a temporary file).")
    parser.add_argument("--read", type=Path, default=None,
                        help="Only read this file (in this process) and print the figures.")
    parser.add_argument("--no-gzip", action="store_true", help="Do not time the .csv.gz copy.")
    parser.add_argument("--other", type=Path, default=None,
                        help="Also read with the cib package of this checkout (a folder that "
                             "holds cib/), for a before/after comparison.")
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
        files = [path]
        if not args.no_gzip:
            gz = Path(tmp) / (path.name + ".gz")
            t0 = time.perf_counter()
            with open(path, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            print(f"wrote {gz.name} ({gz.stat().st_size / 2**20:.0f} MiB) in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
            files.append(gz)
        results = []
        for f in files:
            for label, other in [("this", None)] + ([("other", args.other)] if args.other else []):
                load = _load()
                fig = run_case(f, other)
                fig.update(file=f.name, version=label, load1=load)
                results.append(fig)
                print(json.dumps(fig), flush=True)
    print()
    print("| file | cib | rows | MiB | wall s | CPU s | rows/s | base MB | peak RSS MB | load1 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['file']} | {r['version']} | {r['rows']:,} | {r['file_mb']} | {r['wall_s']} | "
              f"{r['cpu_s']} | {r['rows_per_s']:,} | {r['base_mb']} | {r['peak_rss_mb']} | "
              f"{r['load1']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
