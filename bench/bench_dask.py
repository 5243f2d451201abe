"""The Dask engine against the default one: time and peak memory of the whole process tree.

Each run is ``cib -v detect DATA -o OUT [--engine dask ...] OPTIONS`` in a subprocess (its
log, ``DATA/detectN-ENGINE.log``, has a time-stamped line per stage as it ends); a sampler
adds up the RSS of that process and all its children (the Dask scheduler runs in the cib
process, the workers are children) every 0.2 s and keeps the peak. The data is a chunked
simulation (``cib simulate --actions N --format parquet``), written first when missing.

When both engines finish, their outputs are compared file by file (manifest without
``timings_s`` / ``engine``): "identical" in the table. A second table gives, for every run that
finished, the sizes from its manifest (actions, traces, accounts, candidate edges, flagged
clusters) and ``cib evaluate OUT TRUTH`` against the simulation's planted groups.

Usage::

    .venv/bin/python bench/bench_dask.py --actions 10000000 --engines pandas,dask
    .venv/bin/python bench/bench_dask.py --actions 100000000 --engines dask --timeout 3600 \\
        --memory-limit 6G --max-rss 20
    # follow a run already going (its peak from now on, its wall time from its start)
    .venv/bin/python bench/bench_dask.py --actions 100000000 --engines dask --attach PID

Options passed to every ``cib detect`` run: ``--detect-options`` (default: a lighter null
model, ``--n-null 20 --fdr-runs 5 --no-discover --memory-budget 8G``, so that a run fits the
time of a benchmark; both engines get the same ones).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CIB = [sys.executable, "-m", "cib"]


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def kill_tree(ps: psutil.Process) -> None:
    for p in [*ps.children(recursive=True), ps]:
        try:
            p.kill()
        except psutil.Error:
            pass


def run(cmd: list[str], timeout: float, log: Path, max_rss: float | None = None) -> dict:
    """Run ``cmd``; its wall time, the peak RSS of its process tree and of the process alone
    (the central process of the dask engine). Beyond ``max_rss`` bytes for the tree the run
    is stopped (a shared machine without swap)."""
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        ps = psutil.Process(proc.pid)
        peak = [0]
        peak_main = [0]
        over = threading.Event()
        done = threading.Event()

        def sample():
            while not done.is_set():
                try:
                    rss = tree_rss(ps)
                    peak[0] = max(peak[0], rss)
                    peak_main[0] = max(peak_main[0], ps.memory_info().rss)
                    if max_rss and rss > max_rss and not over.is_set():
                        over.set()
                        kill_tree(ps)
                except psutil.Error:
                    pass
                done.wait(0.2)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        try:
            rc = proc.wait(timeout=timeout)
            status = "ok" if rc == 0 else f"exit {rc}"
        except subprocess.TimeoutExpired:
            kill_tree(ps)
            proc.wait()
            status = f"stopped after {timeout:.0f} s"
        if over.is_set():
            status = f"stopped at the RSS limit ({max_rss / 1e9:.0f} GB)"
        done.set()
        th.join()
    return {"wall_s": time.perf_counter() - t0, "peak_gb": peak[0] / 1e9,
            "peak_main_gb": peak_main[0] / 1e9, "status": status,
            "load1": os.getloadavg()[0]}


def attach(pid: int, out: Path, max_rss: float | None = None) -> dict:
    """Sample a ``cib detect`` already running as ``pid`` (started by hand, or by a run of this
    script that had to be let go) as :func:`run` samples its own, until it ends: the peak RSS
    from now on, the wall time from the process's start. Its exit status is not ours to see:
    "ok" when it wrote ``out/manifest.json`` after it started."""
    ps = psutil.Process(pid)
    start = ps.create_time()
    peak = peak_main = 0
    status = "ended without writing its manifest"
    while True:
        try:
            if ps.status() == psutil.STATUS_ZOMBIE:
                break
            rss = tree_rss(ps)
            peak, peak_main = max(peak, rss), max(peak_main, ps.memory_info().rss)
            if max_rss and rss > max_rss:
                kill_tree(ps)
                status = f"stopped at the RSS limit ({max_rss / 1e9:.0f} GB)"
                break
        except psutil.NoSuchProcess:
            break
        except psutil.Error:
            pass
        time.sleep(0.2)
    end = time.time()
    manifest = out / "manifest.json"
    if not status.startswith("stopped") and manifest.exists() and \
            manifest.stat().st_mtime > start:
        status = "ok"
    return {"wall_s": end - start, "peak_gb": peak / 1e9, "peak_main_gb": peak_main / 1e9,
            "status": status, "load1": os.getloadavg()[0]}


def same_outputs(a: Path, b: Path) -> str:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return "different files"
    bad = []
    for n in names:
        if n == "manifest.json":
            ma, mb = (json.loads((d / n).read_text()) for d in (a, b))
            for m in (ma, mb):
                m.pop("timings_s", None), m.pop("engine", None)
                m.get("outputs", {}).pop("manifest.json", None)
            if ma != mb:
                bad.append(n)
        elif not filecmp.cmp(a / n, b / n, shallow=False):
            bad.append(n)
    return "identical" if not bad else "differ: " + ", ".join(bad)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--actions", default="10000000")
    ap.add_argument("--engines", default="pandas,dask")
    ap.add_argument("--data", default="/tmp/cib-bench-dask")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--memory-limit", default=None, help="per worker, for --engine dask")
    ap.add_argument("--partition-size", default=None)
    ap.add_argument("--max-rss", type=float, default=None, metavar="GB",
                    help="stop a run whose process tree passes this many GB (no swap)")
    ap.add_argument("--simulate-options", default="",
                    help="extra options of `cib simulate` when the data is written")
    ap.add_argument("--detect-options",
                    default="--n-null 20 --fdr-runs 5 --no-discover --memory-budget 8G")
    ap.add_argument("--attach", type=int, default=None, metavar="PID",
                    help="sample the running `cib detect` PID (its output folder is "
                         "DATA/outN-ENGINE for --actions N, --engines ENGINE) instead of "
                         "starting one: peak RSS from now on, wall time from its start")
    args = ap.parse_args()
    rows, found = [], []
    max_rss = args.max_rss * 1e9 if args.max_rss else None
    if args.attach is not None:
        n, engine = int(args.actions), args.engines
        out = Path(args.data) / f"out{n}-{engine}"
        r = attach(args.attach, out, max_rss)
        stages = ""
        if r["status"] == "ok":
            t = json.loads((out / "manifest.json").read_text()).get("timings_s", {})
            stages = ", ".join(f"{k} {v:.0f}s" for k, v in sorted(t.items(),
                                                                   key=lambda kv: -kv[1])[:4])
            found.append((n, engine, sizes(out, Path(args.data) / f"sim{n}" / "truth.csv")))
        rows.append((n, f"{engine} (attached)", r, stages))
        print(rows[-1], flush=True)
    for n in [int(x) for x in args.actions.split(",")] if args.attach is None else []:
        data = Path(args.data) / f"sim{n}"
        if not (data / "truth.csv").exists():
            r = run([*CIB, "simulate", "--actions", str(n), "--format", "parquet", "-o",
                     str(data), *shlex.split(args.simulate_options)], args.timeout,
                    Path(args.data) / f"simulate{n}.log", max_rss)
            rows.append((n, "simulate", r, ""))
            print(rows[-1], flush=True)
        outs = {}
        for engine in args.engines.split(","):
            out = Path(args.data) / f"out{n}-{engine}"
            cmd = [*CIB, "-v", "detect", str(data / "actions" / "*.parquet"), "-o", str(out),
                   *shlex.split(args.detect_options)]
            if engine == "dask":
                cmd += ["--engine", "dask"]
                if args.memory_limit:
                    cmd += ["--memory-limit", args.memory_limit]
                if args.partition_size:
                    cmd += ["--partition-size", args.partition_size]
            r = run(cmd, args.timeout, Path(args.data) / f"detect{n}-{engine}.log", max_rss)
            stages = ""
            if r["status"] == "ok":
                outs[engine] = out
                m = json.loads((out / "manifest.json").read_text())
                t = m.get("timings_s", {})
                top = sorted(t.items(), key=lambda kv: -kv[1])[:4]
                stages = ", ".join(f"{k} {v:.0f}s" for k, v in top)
            rows.append((n, engine, r, stages))
            print(rows[-1], flush=True)
            if r["status"] == "ok":
                found.append((n, engine, sizes(out, data / "truth.csv")))
        if len(outs) == 2:
            print(n, "outputs:", same_outputs(*outs.values()), flush=True)
    print("\n| actions | run | wall s | peak RSS of the tree GB | of the main process GB | "
          "status | load1 | slowest stages |")
    print("|---|---|---|---|---|---|---|---|")
    for n, what, r, stages in rows:
        print(f"| {n:,} | {what} | {r['wall_s']:.0f} | {r['peak_gb']:.2f} | "
              f"{r['peak_main_gb']:.2f} | {r['status']} | {r['load1']:.1f} | {stages} |")
    if found:
        print("\n| actions | run | actions read | traces | accounts | candidate edges | "
              "flagged clusters | planted groups found | precision | recall | ARI |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for n, what, z in found:
            print(f"| {n:,} | {what} | {z['actions']:,} | {z['traces']:,} | {z['accounts']:,} | "
                  f"{z['candidate_edges']:,} | {z['flagged']:,} | {z['groups']} | "
                  f"{z['precision']} | {z['recall']} | {z['ari']} |")


def sizes(out: Path, truth: Path) -> dict:
    """The run's sizes from its manifest, and ``cib evaluate`` against the planted groups."""
    c = json.loads((out / "manifest.json").read_text())["counts"]
    z = {k: c[k] for k in ("actions", "traces", "accounts", "candidate_edges", "flagged")}
    z.update(groups="–", precision="–", recall="–", ari="–")
    if truth.exists():
        res = subprocess.run([*CIB, "evaluate", str(out), str(truth), "--json"],
                             capture_output=True, text=True, check=True)
        e = json.loads(res.stdout)
        z.update(groups=f"{e['groups_found']} of {e['n_groups']}",
                 precision=f"{e['precision']:.4f}", recall=f"{e['recall']:.4f}",
                 ari=f"{e['ari']:.4f}")
    return z


if __name__ == "__main__":
    main()
