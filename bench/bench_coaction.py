"""Benchmark of the windowed co-action join + edge aggregation, engine against engine.

One run generates synthetic traces at each ``--actions`` size and times, side by side on the same
data (each engine in its own subprocess, so that peak RSS is its own):

``numba``
    ``sort_order`` + ``distinct_accounts`` (popularity discount) + ``aggregate_edges``: the kernel
    in ``cib/coaction/_kernel.py``.
``count``
    ``count_pairs`` alone on the sorted arrays (the pre-check before any allocation).
``numpy``
    the pure-numpy path of ``cib.coaction.coactions`` + ``edges_per_kind`` on integer codes:
    ``np.lexsort`` + the numpy ``pair_indices`` (``pair_indices_shifted`` since ``pair_indices``
    dispatches to the kernel when numba is installed) + a pandas groupby aggregation (with string
    ids, as the DataFrame path has them, it is slower still).
``fallback``
    ``aggregate_edges_numpy``: the kernel's pure-numpy fallback (chunks of at most 10M pairs).
``pandas-merge``
    a pandas self-merge on the object, then the ``0 <= dt <= W`` filter, then the same
    aggregation; skipped when the merge would produce more than ``--max-merge-rows`` rows
    (the sum over objects of k^2).
``cnt`` (with ``--peers``)
    coordination-network-toolkit 1.5.2 from ``$CNT_VENV`` (default ``/work/main/.cnt-venv``):
    ``compute_networks DB preprocess --format csv`` on the same traces written as its 8-column CSV
    (every trace a repost of its object), then ``compute co_retweet --time_window W
    --min_edge_weight 1 --n_cpus 2``, each under ``/usr/bin/time -v``; edges exported with
    ``output_gephi_csv`` (its CLI CSV export crashes).

Every engine's edges are checked against the numba kernel's: all eight aggregates for the
in-process engines, the directed weights for CNT (each account acts on an object at most once in
this data, so CNT's ``count(distinct message)`` equals the number of distinct objects in both
directions).

Synthetic data: ``N / 10`` accounts with log-normal activity; objects with Pareto(1.3) sizes
(``3 * (1 + X)``, capped at ``N / 1000``); each object is born at a uniform time in 30 days and
its shares follow after a log-normal delay (median 30 min, sigma 1.8), at whole seconds; repeated
(account, object) rows are dropped. At 10M actions this gives about 68M window pairs at W = 60 s
(DESIGN §8 measured 62M on its data).

Usage::

    .venv/bin/python bench/bench_coaction.py --actions 100000,1000000,10000000 --window 60 --peers

Times are wall seconds; the machine is shared, so the load average is printed with every row.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NS = 1_000_000_000
SPAN_S = 30 * 86_400
ENGINES = ("numba", "detect-stage", "count", "numpy", "fallback", "pandas-merge")
FIELDS = ("u", "v", "weight", "n_pairs", "min_delay_ns", "first_time", "last_time", "weighted")


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------


def generate(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic traces in random row order: object code, time (ns), account code (int64)."""
    rng = np.random.default_rng(seed)
    n_acc = max(2, n // 10)
    cap = max(10, n // 1000)
    sizes = np.minimum(np.floor(3 * (rng.pareto(1.3, n // 5 + 1) + 1)).astype(np.int64), cap)
    cum = np.cumsum(sizes)
    n_obj = int(np.searchsorted(cum, n)) + 1
    sizes = sizes[:n_obj].copy()
    sizes[-1] -= cum[n_obj - 1] - n
    obj = np.repeat(np.arange(n_obj, dtype=np.int64), sizes)
    activity = np.cumsum(rng.lognormal(0.0, 1.0, n_acc))
    acc = np.searchsorted(activity / activity[-1], rng.random(n)).astype(np.int64)
    birth = rng.integers(0, SPAN_S, n_obj)
    sec = birth[obj] + rng.lognormal(np.log(1800.0), 1.8, n).astype(np.int64)
    _, first = np.unique(obj * n_acc + acc, return_index=True)  # one row per (object, account)
    rng.shuffle(first)
    return obj[first], sec[first] * NS, acc[first]


def merge_rows(obj: np.ndarray) -> int:
    sizes = np.bincount(obj).astype(np.float64)
    return int((sizes ** 2).sum())


# ------------------------------------------------------------------------------------------
# engines (run inside a worker subprocess)
# ------------------------------------------------------------------------------------------


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _cpu_s() -> float:
    """User + system CPU seconds of this process, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _aggregate_pairs_pandas(i, j, obj, time_ns, acc, n_acc, ow):
    """edges_per_kind's aggregation on integer codes: groupby (u, v)."""
    import pandas as pd

    a, b = acc[i], acc[j]
    df = pd.DataFrame({"u": np.minimum(a, b), "v": np.maximum(a, b), "g": obj[i],
                       "d": time_ns[j] - time_ns[i], "ti": time_ns[i], "tj": time_ns[j]})
    del a, b
    keys = ["u", "v"]
    out = df.groupby(keys, sort=True).agg(n_pairs=("d", "size"), min_delay_ns=("d", "min"),
                                          first_time=("ti", "min"), last_time=("tj", "max"))
    objs = df.drop_duplicates(keys + ["g"])[keys + ["g"]]
    del df
    objs["w"] = ow[objs["g"].to_numpy()]
    per = objs.groupby(keys, sort=True).agg(weight=("g", "size"), weighted=("w", "sum"))
    out = out.join(per).reset_index()
    return {k: out[k].to_numpy() for k in FIELDS}


def run_engine(engine: str, data: Path, window_ns: int) -> dict:
    from cib.coaction._edges import popularity_discount
    from cib.coaction._kernel import (aggregate_edges, aggregate_edges_numpy, count_pairs,
                                      distinct_accounts, sort_order)

    obj = np.load(data / "obj.npy")
    time_ns = np.load(data / "time.npy")
    acc = np.load(data / "acc.npy")
    # warm numba's on-disk cache outside the timing (a cached load, no compile)
    g0 = np.array([0, 0, 1]); t0 = np.array([0, 1, 2]); a0 = np.array([0, 1, 0])
    count_pairs(g0, t0, 1); aggregate_edges(g0, t0, a0, 1, None)
    sort_order(g0, t0); distinct_accounts(g0, a0)
    base = _rss_now()
    cpu0 = _cpu_s()
    res: dict = {"engine": engine}
    edges = None
    t_start = time.perf_counter()
    if engine == "detect-stage":
        # what cib.detect runs on the traces: the candidate edges (weight >= 2, filtered inside
        # the kernel, so the 1-object pairs are counted but never stored) and the per-object /
        # per-trace co-action counts, from unsorted integer codes
        from cib.coaction._kernel import (_blocks, _nb_by_account, _nb_records,
                                          _nb_trace_partners, _run_parallel, get_num_threads)

        order = sort_order(obj, time_ns)
        g, t, a = obj[order], time_ns[order], acc[order]
        del order
        ow = popularity_discount(distinct_accounts(g, a))
        t_prep = time.perf_counter()
        edges = aggregate_edges(g, t, a, window_ns, ow, min_weight=2)
        rec = _nb_records(g, t, a)
        blocks = np.unique(np.linspace(0, g.size, 64 * get_num_threads() + 1).astype(np.int64))
        fwd, _ = _run_parallel(_nb_trace_partners, rec, window_ns, -1, blocks)
        res["coactions"] = int(fwd.sum())
        res["edges_all"] = int(edges["n_edges_all"])
    elif engine in ("numba", "count", "fallback"):
        order = sort_order(obj, time_ns)
        g, t, a = obj[order], time_ns[order], acc[order]
        del order
        ow = popularity_discount(distinct_accounts(g, a))
        t_prep = time.perf_counter()
        if engine == "count":
            res["pairs"] = count_pairs(g, t, window_ns)
        elif engine == "numba":
            edges = aggregate_edges(g, t, a, window_ns, ow)
        else:
            edges = aggregate_edges_numpy(g, t, a, window_ns, ow)
    elif engine == "numpy":
        try:  # the pure-numpy join (``pair_indices`` itself now uses the kernel under numba)
            from cib.coaction._join import pair_indices_shifted as pair_indices
        except ImportError:
            from cib.coaction._join import pair_indices

        order = np.lexsort((acc, time_ns, obj))  # as sorted_codes: (group, time, account)
        g, t, a = obj[order], time_ns[order], acc[order]
        del order
        ow = popularity_discount(distinct_accounts(g, a))
        t_prep = time.perf_counter()
        i, j = pair_indices(g, t, window_ns)
        keep = a[i] != a[j]
        i, j = i[keep], j[keep]
        del keep
        edges = _aggregate_pairs_pandas(i, j, g, t, a, int(acc.max()) + 1, ow)
    elif engine == "pandas-merge":
        import pandas as pd

        g, t, a = obj, time_ns, acc
        ow = popularity_discount(distinct_accounts(g, a))
        df = pd.DataFrame({"g": g, "t": t, "a": a, "row": np.arange(g.size)})
        t_prep = time.perf_counter()
        m = df.merge(df, on="g", suffixes=("_x", "_y"))
        dt = m["t_y"].to_numpy() - m["t_x"].to_numpy()
        keep = ((dt > 0) | ((dt == 0) & (m["row_y"].to_numpy() > m["row_x"].to_numpy()))) & (
            dt <= window_ns) & (m["a_x"].to_numpy() != m["a_y"].to_numpy())
        res["merge_rows"] = len(m)
        m = m[keep]
        i = m["row_x"].to_numpy()
        j = m["row_y"].to_numpy()
        del m, dt, keep
        edges = _aggregate_pairs_pandas(i, j, g, t, a, int(acc.max()) + 1, ow)
    else:
        raise SystemExit(f"unknown engine {engine}")
    t_end = time.perf_counter()
    res.update(prep_s=t_prep - t_start, core_s=t_end - t_prep, total_s=t_end - t_start,
               cpu_s=_cpu_s() - cpu0, peak_rss=_peak_rss(), base_rss=base)
    if edges is not None:
        np.savez(data / f"edges-{engine}.npz", **{k: np.asarray(edges[k]) for k in FIELDS})
        res["edges"] = int(len(edges["u"]))
    return res


# ------------------------------------------------------------------------------------------
# CNT
# ------------------------------------------------------------------------------------------


def write_cnt_csv(path: Path, obj, time_ns, acc) -> None:
    """CNT's 8-column CSV: message_id, user_id, username, repost_id, reply_id, message,
    timestamp, urls (urls last; every row a repost, so its urls are ignored)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["message_id", "user_id", "username", "repost_id", "reply_id", "message",
                    "timestamp", "urls"])
        sec = (time_ns // NS).tolist()
        for k, (o, s, a) in enumerate(zip(obj.tolist(), sec, acc.tolist())):
            w.writerow([k, f"u{a}", f"u{a}", f"o{o}", "", "", s, ""])


def _timed(cmd: list[str], timeout: float, env: dict | None = None) -> dict:
    time_bin = shutil.which("time") or "/usr/bin/time"
    use_time = Path(time_bin).exists()
    full = ([time_bin, "-v"] if use_time else []) + cmd
    t0 = time.perf_counter()
    try:
        p = subprocess.run(full, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "wall_s": time.perf_counter() - t0}
    out = {"status": "ok" if p.returncode == 0 else f"exit {p.returncode}",
           "wall_s": time.perf_counter() - t0, "stderr": p.stderr[-2000:]}
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    if m:
        out["max_rss"] = int(m.group(1)) * 1024
    cpu = [float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", p.stderr)]
    if cpu:
        out["cpu_s"] = sum(cpu)
    return out


def run_cnt(venv: Path, data: Path, window_s: int, obj, time_ns, acc, timeout: float) -> dict:
    work = data / "cnt"
    work.mkdir(exist_ok=True)
    csv_path = work / "actions.csv"
    db = work / "cnt.db"
    write_cnt_csv(csv_path, obj, time_ns, acc)
    exe = str(venv / "bin" / "compute_networks")
    res: dict = {"engine": "cnt"}
    pre = _timed([exe, str(db), "preprocess", "--format", "csv", str(csv_path)], timeout)
    res["preprocess_s"] = pre["wall_s"]
    if pre["status"] != "ok":
        res["status"] = f"preprocess {pre['status']}"
        return res
    comp = _timed([exe, str(db), "compute", "co_retweet", "--time_window", str(window_s),
                   "--min_edge_weight", "1", "--n_cpus", "2"], max(1.0, timeout - pre["wall_s"]))
    res["co_retweet_s"] = comp["wall_s"]
    res["max_rss"] = max(pre.get("max_rss", 0), comp.get("max_rss", 0))
    res["cpu_s"] = pre.get("cpu_s", 0.0) + comp.get("cpu_s", 0.0)
    if comp["status"] != "ok":
        res["status"] = f"co_retweet {comp['status']}"
        return res
    edges_csv = work / "edges.csv"
    t0 = time.perf_counter()
    exp = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import sys; from coordination_network_toolkit.output import "
                          "output_gephi_csv as f; f(sys.argv[1], 'co_retweet', sys.argv[2])",
                          str(db), str(edges_csv)], capture_output=True, text=True, timeout=timeout)
    res["export_s"] = time.perf_counter() - t0
    if exp.returncode != 0:
        res["status"] = "export failed: " + exp.stderr[-300:]
        return res
    res["status"] = "ok"
    res["total_s"] = res["preprocess_s"] + res["co_retweet_s"]
    res["edges_csv"] = str(edges_csv)
    return res


def check_cnt(edges_csv: str, ref: dict) -> tuple[bool, str]:
    import pandas as pd

    e = pd.read_csv(edges_csv, dtype={"source": str, "target": str})
    got = set(zip(e["source"].str[1:].astype(np.int64), e["target"].str[1:].astype(np.int64),
                  e["weight"].astype(np.int64)))
    u = ref["u"].astype(np.int64)
    v = ref["v"].astype(np.int64)
    w = ref["weight"].astype(np.int64)
    want = set(zip(u.tolist(), v.tolist(), w.tolist())) | set(zip(v.tolist(), u.tolist(),
                                                                  w.tolist()))
    if got == want:
        return True, f"{len(got):,} directed rows identical"
    return False, f"{len(got - want):,} extra, {len(want - got):,} missing of {len(want):,}"


# ------------------------------------------------------------------------------------------
# driver
# ------------------------------------------------------------------------------------------


def compare(data: Path, engine: str) -> tuple[bool, str]:
    ref = np.load(data / "edges-numba.npz")
    got = np.load(data / f"edges-{engine}.npz")
    keep = ref["weight"] >= 2 if engine == "detect-stage" else slice(None)
    for k in FIELDS:
        a, b = ref[k][keep], got[k]
        if a.shape != b.shape:
            return False, f"{k}: {b.shape[0]:,} rows vs {a.shape[0]:,}"
        ok = np.allclose(a, b, rtol=1e-9, atol=0) if k == "weighted" else np.array_equal(
            a.astype(np.int64), b.astype(np.int64))
        if not ok:
            return False, f"{k} differs"
    return True, "identical"


def load1() -> float:
    return os.getloadavg()[0]


def delta_rss(row: dict) -> int | None:
    """Peak RSS above the worker's RSS just before the timed part (inputs loaded)."""
    if row.get("peak_rss") and row.get("base_rss"):
        return max(0, row["peak_rss"] - row["base_rss"])
    return None


def fmt_s(x) -> str:
    return "–" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}")


def fmt_gb(x) -> str:
    return "–" if not x else f"{x / 1e9:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--actions", default="100000,1000000,10000000",
                    help="comma-separated sizes (actions before de-duplication)")
    ap.add_argument("--window", type=int, default=60, help="seconds (default 60)")
    ap.add_argument("--peers", action="store_true", help="also run coordination-network-toolkit")
    ap.add_argument("--engines", default=",".join(ENGINES), help="subset of " + ",".join(ENGINES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300, help="seconds per engine run")
    ap.add_argument("--max-numpy", type=int, default=10_000_000,
                    help="largest size for the numpy pair_indices path")
    ap.add_argument("--max-fallback", type=int, default=10_000_000,
                    help="largest size for the kernel's numpy fallback")
    ap.add_argument("--max-merge-rows", type=float, default=5e7,
                    help="skip the pandas merge when it would produce more rows")
    ap.add_argument("--max-peers", type=int, default=1_000_000, help="largest size for CNT")
    ap.add_argument("--markdown", type=Path, help="also write the table (markdown) to this file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    window_ns = args.window * NS
    if args.worker:
        print(json.dumps(run_engine(args.worker, args.data, window_ns)))
        return 0

    sizes = [int(float(x)) for x in args.actions.split(",") if x]
    engines = [e for e in args.engines.split(",") if e]
    venv = Path(os.environ.get("CNT_VENV", "/work/main/.cnt-venv"))
    if args.peers and not (venv / "bin" / "compute_networks").exists():
        print(f"--peers: no coordination-network-toolkit at {venv}; create it with\n"
              f"  python3 -m venv {venv} && {venv}/bin/pip install "
              "coordination-network-toolkit==1.5.2", file=sys.stderr)
        return 2
    from cib.coaction._kernel import HAVE_NUMBA, count_pairs, sort_order  # compiles/caches numba

    rows: list[dict] = []
    started = time.perf_counter()
    print(f"# python {platform.python_version()}, numba kernel: {HAVE_NUMBA}, "
          f"cpus {os.cpu_count()}, load1 {load1():.2f}", flush=True)
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="bench_coaction_") as tmp:
            data = Path(tmp)
            t0 = time.perf_counter()
            obj, time_ns, acc = generate(n, args.seed)
            gen_s = time.perf_counter() - t0
            order = sort_order(obj, time_ns)
            pairs = count_pairs(obj[order], time_ns[order], window_ns)
            del order
            np.save(data / "obj.npy", obj)
            np.save(data / "time.npy", time_ns)
            np.save(data / "acc.npy", acc)
            biggest = int(np.bincount(obj).max())
            print(f"\n## {n:,} actions -> {obj.size:,} traces, {acc.max() + 1:,} accounts, "
                  f"{obj.max() + 1:,} objects (largest {biggest:,}), {pairs:,} window pairs at "
                  f"W={args.window}s; generated in {gen_s:.1f}s", flush=True)
            numba_total = None
            for engine in engines + (["cnt"] if args.peers else []):
                row = {"actions": n, "traces": int(obj.size), "pairs": pairs, "engine": engine,
                       "load1": load1()}
                skip = None
                if engine == "numpy" and n > args.max_numpy:
                    skip = f"skipped (> --max-numpy {args.max_numpy:,})"
                if engine == "fallback" and n > args.max_fallback:
                    skip = f"skipped (> --max-fallback {args.max_fallback:,})"
                if engine == "pandas-merge" and merge_rows(obj) > args.max_merge_rows:
                    skip = f"skipped (merge = {merge_rows(obj):,} rows)"
                if engine == "cnt" and n > args.max_peers:
                    skip = f"skipped (> --max-peers {args.max_peers:,})"
                if skip:
                    row["status"] = skip
                    rows.append(row)
                    print(f"  {engine:13s} {skip}", flush=True)
                    continue
                if engine == "cnt":
                    res = run_cnt(venv, data, args.window, obj, time_ns, acc, args.timeout)
                    row.update(total_s=res.get("total_s"), peak_rss=res.get("max_rss"),
                               cpu_s=res.get("cpu_s"),
                               prep_s=res.get("preprocess_s"), core_s=res.get("co_retweet_s"),
                               status=res["status"])
                    if res["status"] == "ok" and (data / "edges-numba.npz").exists():
                        ref = dict(np.load(data / "edges-numba.npz"))
                        ok, msg = check_cnt(res["edges_csv"], ref)
                        row["check"] = ("OK " if ok else "MISMATCH ") + msg
                        row["status"] = f"ok (export {res['export_s']:.1f}s)"
                else:
                    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", engine,
                           "--data", str(data), "--window", str(args.window)]
                    try:
                        p = subprocess.run(cmd, capture_output=True, text=True,
                                           timeout=args.timeout, cwd=ROOT)
                    except subprocess.TimeoutExpired:
                        row["status"] = f"timeout (> {args.timeout:.0f}s)"
                        rows.append(row)
                        print(f"  {engine:13s} {row['status']}", flush=True)
                        continue
                    if p.returncode != 0:
                        row["status"] = f"failed: {p.stderr.strip().splitlines()[-1][:120]}"
                        rows.append(row)
                        print(f"  {engine:13s} {row['status']}", flush=True)
                        continue
                    res = json.loads(p.stdout.strip().splitlines()[-1])
                    row.update({k: res.get(k) for k in ("prep_s", "core_s", "total_s", "cpu_s",
                                                        "peak_rss", "base_rss", "edges")})
                    row["status"] = "ok"
                    if engine == "count":
                        row["check"] = ("OK " if res["pairs"] == pairs else "MISMATCH ") + \
                            f"{res['pairs']:,} pairs"
                    elif engine != "numba" and (data / "edges-numba.npz").exists():
                        ok, msg = compare(data, engine)
                        if engine == "detect-stage":
                            # the generator drops repeated (account, object) rows: every window
                            # pair is a co-action
                            ok = ok and res["coactions"] == pairs
                            msg = (f"{msg} (weight >= 2 of {res['edges_all']:,}); "
                                   f"{res['coactions']:,} co-actions counted")
                        row["check"] = ("OK " if ok else "MISMATCH ") + msg
                    if engine == "numba":
                        numba_total = row["total_s"]
                if numba_total and row.get("total_s"):
                    row["ratio"] = row["total_s"] / numba_total
                rows.append(row)
                print(f"  {engine:13s} total {fmt_s(row.get('total_s')):>7s}s  "
                      f"cpu {fmt_s(row.get('cpu_s'))}s  "
                      f"(prep {fmt_s(row.get('prep_s'))}, core {fmt_s(row.get('core_s'))})  "
                      f"peak RSS {fmt_gb(row.get('peak_rss'))} GB "
                      f"(+{fmt_gb(delta_rss(row))})  "
                      f"x{row.get('ratio', float('nan')):.1f}  {row.get('check', '')}  "
                      f"load1 {row['load1']:.1f}", flush=True)
    table = markdown(rows, args)
    print("\n" + table)
    print(f"\n# whole run {time.perf_counter() - started:.0f}s")
    if args.markdown:
        args.markdown.write_text(table + "\n")
    return 0 if all("MISMATCH" not in r.get("check", "") for r in rows) else 1


def markdown(rows: list[dict], args) -> str:
    head = ("| actions | traces | window pairs | engine | prep s | join+agg s | total s | "
            "CPU s | peak RSS GB | Δ RSS GB | × numba | edges | check | load1 |")
    out = [head, "|" + "---|" * 14]
    for r in rows:
        status = r.get("status", "")
        check = r.get("check", "") if status.startswith("ok") else status
        if status.startswith("ok (export"):
            check = f"{check}; {status[3:]}"
        ratio = f"{r['ratio']:.1f}" if r.get("ratio") else "–"
        out.append(
            f"| {r['actions']:,} | {r['traces']:,} | {r['pairs']:,} | {r['engine']} | "
            f"{fmt_s(r.get('prep_s'))} | {fmt_s(r.get('core_s'))} | {fmt_s(r.get('total_s'))} | "
            f"{fmt_s(r.get('cpu_s'))} | "
            f"{fmt_gb(r.get('peak_rss'))} | {fmt_gb(delta_rss(r))} | {ratio} | "
            f"{format(r['edges'], ',') if r.get('edges') else '–'} | {check} | "
            f"{r['load1']:.1f} |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
