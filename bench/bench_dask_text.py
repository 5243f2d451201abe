"""The dask engine's near-duplicate text grouping alone, on the first files of a chunked
simulation, under a worker memory limit: its time, and a digest of its answer.

The grouping (``cib.distributed._text_groups_partitioned``) has three all-to-all steps (texts
to text buckets, LSH keys to reducers, records to verifying reducers); under a tight memory
limit the workers spill what waits between them. Run it with the code to compare on
``PYTHONPATH`` (a worktree of another commit) to see what a change does there; the digest
(of the sorted text -> group mapping) must be the same.

Usage::

    .venv/bin/python bench/bench_dask_text.py /tmp/cib-bench-dask/sim100000000/actions \\
        --files 10 --memory-limit 2G
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import cib
from cib import distributed as cd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", help="a folder of part-*.parquet files")
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--memory-limit", default="2G", help="per worker (2 workers)")
    args = ap.parse_args()
    files = sorted(str(p) for p in Path(args.folder).glob("part-*.parquet"))[:args.files]
    with cd.local_client(memory_limit=args.memory_limit, n_workers=2) as client:
        t0 = time.perf_counter()
        parts, _, _ = cd.read_partitioned(files, client=client)
        cd.distributed_wait(parts.parts)
        t1 = time.perf_counter()
        groups = cd._text_groups_partitioned(client, parts.parts, 10, 0.8)
        t2 = time.perf_counter()
    digest = hashlib.sha256("\n".join(f"{k}\t{v}" for k, v in sorted(groups.items()))
                            .encode("utf-8", "surrogatepass")).hexdigest()[:16]
    print(f"| {cib.__file__.rsplit('/cib/', 1)[0]} | {len(files)} | {args.memory_limit} | "
          f"{t1 - t0:.0f} | {t2 - t1:.0f} | {len(groups):,} | {digest} |")


if __name__ == "__main__":
    main()
