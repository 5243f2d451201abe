"""Where the central process's memory goes: per-stage peak RSS of ``cib.detect`` and the code
running at each new high.

A thread samples the process's resident set every ``--interval`` seconds while ``cib.detect``
runs (the Dask engine on a local cluster, or the default engine); each stage's peak comes from
the stage timings in the manifest, and each time the RSS passes its previous high by
``--step`` MB the main thread's innermost ``cib`` frames are recorded. Only the central process
is measured (the Dask workers are other processes; ``bench_dask.py`` gives the whole tree).

Usage::

    .venv/bin/python bench/stage_memory.py /tmp/cib-bench-dask/sim100000000/actions --files 3
    .venv/bin/python bench/stage_memory.py data.parquet --engine pandas --options '{"n_null": 20}'

Session 13, the first 3 chunks of the 100M simulation (4.4M traces, dask, 2 workers of 6 GB,
``--max-partners 50 --n-null 20 --fdr-runs 5 --no-discover``): peak 1.21 GB in the edge stage's
null runs (``_null_fdr`` -> ``null_logp`` -> ``null_edges``), 1.03 GB in the merge of the gathered
partitions, 1.13 GB when the traces are coded; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path

LIGHT = {"n_null": 20, "fdr_runs": 5, "discover": False, "memory_budget": "8G",
         "max_partners": 50}


def rss_bytes() -> int:
    """The resident set of this process (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Sampler:
    """RSS every ``interval`` s, and the main thread's ``cib`` frames at each new high."""

    def __init__(self, interval: float, step_bytes: float) -> None:
        self.interval, self.step = interval, step_bytes
        self.samples: list[tuple[float, int]] = []
        self.highs: list[tuple[float, list[str]]] = []
        self._main = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        best = 0
        while not self._stop.is_set():
            r = rss_bytes()
            self.samples.append((time.perf_counter(), r))
            if r > best + self.step:
                best = r
                frame = sys._current_frames().get(self._main)
                stack = [f"{Path(f.filename).name}:{f.lineno} {f.name}"
                         for f in traceback.extract_stack(frame)
                         if f"{os.sep}cib{os.sep}" in f.filename]
                self.highs.append((r / 1e9, stack[-4:]))
            self._stop.wait(self.interval)

    def __enter__(self) -> "Sampler":
        self.start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def per_stage(self, timings: dict[str, float]) -> list[tuple[str, float, float | None]]:
        """(stage, seconds, peak GB) in the manifest's order of stages."""
        out, t = [], self.start
        for name, secs in timings.items():
            seen = [r for s, r in self.samples if t <= s < t + secs]
            out.append((name, secs, max(seen) / 1e9 if seen else None))
            t += secs
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="an input file, or a folder of part-*.parquet files")
    ap.add_argument("--files", type=int, default=None, help="the first N files of the folder")
    ap.add_argument("--engine", choices=["dask", "pandas"], default="dask")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="6G", help="per Dask worker")
    ap.add_argument("--options", default=json.dumps(LIGHT),
                    help="cib.detect keyword arguments as JSON (default: the light options "
                         "of bench_dask.py)")
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--step", type=float, default=20, help="MB above the last high to record")
    args = ap.parse_args()

    import cib

    src = Path(args.input)
    files = sorted(str(p) for p in src.glob("part-*.parquet")) if src.is_dir() else [str(src)]
    files = files[:args.files] if args.files else files
    if not files:
        sys.exit(f"no input under {src}")
    options = json.loads(args.options)
    sampler = Sampler(args.interval, args.step * 1e6)
    if args.engine == "dask":
        from cib.distributed import local_client

        with local_client(memory_limit=args.memory_limit, n_workers=args.workers) as client:
            with sampler:
                det = cib.detect(files, engine="dask", client=client, **options)
    else:
        actions = cib.read_actions(files)[0]
        with sampler:
            det = cib.detect(actions, **options)
    peak = max(r for _, r in sampler.samples) / 1e9
    counts = det.manifest.get("counts", {})
    print(f"{len(files)} file(s), {counts.get('actions', 0):,} actions, "
          f"{counts.get('traces', 0):,} traces, engine {args.engine}: "
          f"central peak {peak:.2f} GB")
    print("\n| stage | s | peak RSS GB |\n|---|---|---|")
    for name, secs, gb in sampler.per_stage(det.manifest.get("timings_s", {})):
        print(f"| {name} | {secs:.1f} | {'-' if gb is None else f'{gb:.2f}'} |")
    print("\nnew highs (GB, innermost cib frames):")
    for gb, stack in sampler.highs[-12:]:
        print(f"{gb:.3f}  {' <- '.join(reversed(stack)) or '(outside cib)'}")


if __name__ == "__main__":
    main()
