"""Input CSV to results, side by side: coordination-network-toolkit, ``cib detect --compat cnt``,
the whole ``cib detect``, and CooRTweet when R has it.

One run generates synthetic actions (``compare_cnt.simulated``: :func:`cib.datasets.simulate`
with planted groups, 30 days) at each ``--actions`` size, writes them once as CNT's 8-column CSV,
and times on that one file, each engine in its own process under ``/usr/bin/time -v`` (wall
seconds, CPU seconds of the process tree, peak RSS of its largest process):

``cnt``
    coordination-network-toolkit 1.5.2 from its own venv (``--cnt-venv``; created with ``pip
    install coordination-network-toolkit==1.5.2`` when it is missing): ``compute_networks DB
    preprocess --format csv`` then ``compute co_retweet --time_window W --min_edge_weight M
    --n_cpus 2``. Its edges are then exported with ``output_gephi_csv`` (its CLI CSV export
    crashes), which is not timed.
``cib-cnt``
    ``cib detect FILE --compat cnt --networks co_retweet --window W --min-edge-weight M -o OUT``:
    the same directed edges from the same CSV, written as ``edges.csv`` / ``edges.parquet`` (and
    the graph files up to 1M edges). Interpreter start and imports included. Its ``edges.csv`` is
    compared with CNT's export, row for row ("same edges").
``cib-detect``
    the whole ``cib detect FILE -o OUT`` with default options (the file is read by cib's ``cnt``
    format reader): traces of every kind, co-actions, edges, null model, communities, scoring,
    timing signal, exports and report.
``coortweet``
    CooRTweet's ``detect_groups`` (``time_window = W``, ``min_participation = 2``) on the reposts
    of the same data, when ``Rscript -e 'library(CooRTweet)'`` works; skipped (and said so)
    otherwise.
``cib-cnt-core``
    the engine of ``cib-cnt`` alone, in one process: ``read_cnt_csv`` + the co_retweet edge
    codes, timed inside the process (no interpreter start, no imports, no output files).
``cib-import``
    ``python -c "import cib.cli"`` alone: the fixed start-up cost inside both cib rows.

Ratios are CNT's time (preprocess + co_retweet) over the engine's. Before timing, cib's numba
kernels are compiled into their on-disk cache by one untimed run on the first 10,000 rows. CNT is
skipped above ``--max-cnt-actions`` (its co_retweet did not finish in 10 minutes at 10M actions in
the peer notes) and stopped after ``--cnt-timeout`` seconds; the whole ``cib detect`` is stopped
after ``--detect-timeout``. The load average is printed with every row: the machine is shared.

Usage::

    .venv/bin/python bench/bench_detect.py --actions 1000000 --readme
    .venv/bin/python bench/bench_detect.py --actions 1000000 10000000 --skip-detect-above 1000000

``--readme`` replaces the result block of the ``bench_detect.py`` section of bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from compare_cnt import DEFAULT_VENV, cnt_export, ensure_cnt, simulated, write_cnt_csv

README = BENCH / "README.md"
START, END = "<!-- bench_detect:start -->", "<!-- bench_detect:end -->"
TIME = "/usr/bin/time"


# --------------------------------------------------------------------------------------------
# running things


def timed(cmd: list[str], timeout: float | None = None, cwd: Path | None = None) -> dict:
    """Run ``cmd`` under ``/usr/bin/time -v``: wall s, CPU s (user + sys of the process tree),
    peak RSS GB (largest process), return code, whether it timed out."""
    use_time = Path(TIME).exists()
    full = [TIME, "-v", *cmd] if use_time else cmd
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(full, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                           check=False)
    except subprocess.TimeoutExpired as exc:
        return {"wall": time.perf_counter() - t0, "cpu": None, "rss_gb": None, "rc": None,
                "timed_out": True, "load1": load, "stderr": str(exc)[-500:]}
    wall = time.perf_counter() - t0
    out = {"wall": wall, "cpu": None, "rss_gb": None, "rc": p.returncode, "timed_out": False,
           "load1": load, "stdout": p.stdout, "stderr": p.stderr[-2000:]}
    if use_time:
        user = re.search(r"User time \(seconds\): ([\d.]+)", p.stderr)
        sys_ = re.search(r"System time \(seconds\): ([\d.]+)", p.stderr)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
        wall_v = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", p.stderr)
        if user and sys_:
            out["cpu"] = float(user.group(1)) + float(sys_.group(1))
        if rss:
            out["rss_gb"] = int(rss.group(1)) / 1024 ** 2
        if wall_v:  # the process's own wall time, without this script's overhead
            parts = [float(x) for x in wall_v.group(1).split(":")]
            out["wall"] = sum(x * 60 ** k for k, x in enumerate(reversed(parts)))
    return out


def _check(run: dict, what: str) -> None:
    if run["rc"] not in (0, None):
        raise SystemExit(f"{what} failed (exit {run['rc']}):\n{run.get('stderr', '')}")


def cib_exe() -> str:
    exe = Path(sys.executable).parent / "cib"
    return str(exe) if exe.exists() else "cib"


# --------------------------------------------------------------------------------------------
# data and checks


def write_csv(n_actions: int, seed: int, days: float, path: Path) -> int:
    messages = simulated(n_actions, seed, days)
    write_cnt_csv(messages, path)
    return len(messages)


def head_csv(src: Path, dst: Path, lines: int) -> None:
    with open(src, "rb") as f, open(dst, "wb") as g:
        for k, line in enumerate(f):
            if k > lines:
                break
            g.write(line)


def _edge_table(path: Path, neutralised: bool = False):
    """source, target, weight sorted by (source, target); ``neutralised``: cib's CSV, whose cells
    that start with a formula character have a "'" in front (undone here)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    t = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={"source": pa.large_string(), "target": pa.large_string(),
                      "weight": pa.int64()}, include_columns=["source", "target", "weight"],
        strings_can_be_null=False, quoted_strings_can_be_null=False))
    if neutralised:
        for c in ["source", "target"]:
            col = t.column(c)
            hit = pc.match_substring_regex(col, "^'[=+\\-@\t\r]")
            t = t.set_column(t.schema.get_field_index(c), c,
                             pc.if_else(hit, pc.utf8_slice_codeunits(col, 1), col))
    return t.sort_by([("source", "ascending"), ("target", "ascending")])


def same_edges(cib_csv: Path, cnt_csv: Path) -> tuple[bool, int, int]:
    """Whether cib's ``edges.csv`` and CNT's export hold the same directed weighted rows."""
    a, b = _edge_table(cib_csv, neutralised=True), _edge_table(cnt_csv)
    same = a.num_rows == b.num_rows and all(a.column(c).equals(b.column(c))
                                            for c in ["source", "target", "weight"])
    return same, a.num_rows, b.num_rows


def coortweet_available() -> tuple[bool, str]:
    if shutil.which("Rscript") is None:
        return False, "Rscript not found"
    p = subprocess.run(["Rscript", "-e", "library(CooRTweet)"], capture_output=True, text=True,
                       check=False)
    if p.returncode != 0:
        return False, "R has no CooRTweet package"
    return True, ""


def write_coortweet_csv(cnt_csv: Path, path: Path) -> None:
    """The reposts of the CNT CSV in CooRTweet's columns (object = the reposted id)."""
    import pandas as pd

    m = pd.read_csv(cnt_csv, dtype=str, keep_default_na=False)
    r = m[m["repost_id"] != ""]
    pd.DataFrame({"object_id": r["repost_id"], "account_id": r["user_id"],
                  "content_id": r["message_id"],
                  "timestamp_share": r["timestamp"].astype(float).astype("int64")}
                 ).to_csv(path, index=False)


# --------------------------------------------------------------------------------------------
# one size


def run_size(n: int, a: argparse.Namespace, work: Path) -> list[dict]:
    rows: list[dict] = []
    csv_path = work / f"actions_{n}.csv"
    t0 = time.perf_counter()
    n_rows = write_csv(n, a.seed, a.days, csv_path)
    print(f"\n{n_rows:,} messages -> {csv_path} ({csv_path.stat().st_size / 1e6:.0f} MB, "
          f"{time.perf_counter() - t0:.0f} s)", flush=True)

    # numba's on-disk cache: compile once, untimed
    head = work / "warmup.csv"
    head_csv(csv_path, head, 10_000)
    warm = timed([cib_exe(), "detect", str(head), "-o", str(work / "warmup_out"), "--compat",
                  "cnt", "--networks", "co_retweet", "--window", str(a.window)])
    _check(warm, "cib warm-up")

    def row(engine: str, what: str, run: dict | None, **extra) -> dict:
        r = {"actions": n_rows, "engine": engine, "what": what, **(run or {}), **extra}
        r.pop("stdout", None)
        r.pop("stderr", None)
        rows.append(r)
        shown = "skipped" if run is None else (
            "timed out" if run.get("timed_out") else f"{run['wall']:.1f} s")
        print(f"  {engine:<11} {shown:>10}  {extra.get('note', '')}", flush=True)
        return r

    # CNT
    cnt_edges_csv = None
    cnt_total = None
    if n_rows > a.max_cnt_actions:
        row("cnt", "preprocess + compute co_retweet", None,
            note=f"skipped: > --max-cnt-actions {a.max_cnt_actions:,}")
    else:
        venv = ensure_cnt(a.cnt_venv)
        exe = str(Path(venv) / "bin" / "compute_networks")
        db = work / f"cnt_{n}.db"
        pre = timed([exe, str(db), "preprocess", "--format", "csv", str(csv_path)],
                    timeout=a.cnt_timeout)
        if pre["timed_out"]:
            row("cnt", "preprocess", pre, note=f"stopped after --cnt-timeout {a.cnt_timeout} s")
        else:
            _check(pre, "CNT preprocess")
            left = None if a.cnt_timeout is None else max(1.0, a.cnt_timeout - pre["wall"])
            comp = timed([exe, str(db), "compute", "co_retweet", "--time_window", str(a.window),
                          "--min_edge_weight", str(a.min_edge_weight), "--n_cpus", str(a.n_cpus)],
                         timeout=left)
            if comp["timed_out"]:
                row("cnt", "preprocess + compute co_retweet", comp,
                    note=f"co_retweet stopped after --cnt-timeout {a.cnt_timeout} s")
            else:
                _check(comp, "CNT compute")
                cnt_edges_csv = work / f"cnt_{n}_edges.csv"
                t_exp = cnt_export(venv, db, "co_retweet", cnt_edges_csv)
                cnt_total = pre["wall"] + comp["wall"]
                both = {"wall": cnt_total, "cpu": (pre["cpu"] or 0) + (comp["cpu"] or 0),
                        "rss_gb": max(pre["rss_gb"] or 0, comp["rss_gb"] or 0),
                        "load1": pre["load1"], "rc": 0, "timed_out": False}
                row("cnt", "preprocess + compute co_retweet", both,
                    note=f"preprocess {pre['wall']:.1f} s + co_retweet {comp['wall']:.1f} s; "
                         f"export {t_exp:.1f} s not counted",
                    parts={"preprocess": pre["wall"], "compute": comp["wall"], "export": t_exp})
        for f in work.glob(f"cnt_{n}.db*"):
            f.unlink()

    # cib, CNT mode
    out = work / f"cib_cnt_{n}"
    run = timed([cib_exe(), "detect", str(csv_path), "-o", str(out), "--compat", "cnt",
                 "--networks", "co_retweet", "--window", str(a.window), "--min-edge-weight",
                 str(a.min_edge_weight)])
    _check(run, "cib detect --compat cnt")
    man = json.loads((out / "manifest.json").read_text())
    extra: dict = {"edges": man["counts"]["edges"], "inner": man.get("timings_s", {})}
    note = f"co_retweet {man['timings_s'].get('co_retweet', float('nan')):.2f} s inside"
    if "graph_files" in man:
        note += "; graph files not written (> 1M edges)"
    if cnt_edges_csv is not None:
        same, n_cib, n_cnt = same_edges(out / "edges.csv", cnt_edges_csv)
        extra["same"] = same
        note += f"; {n_cib:,} vs CNT {n_cnt:,} rows"
    row("cib-cnt", "cib detect --compat cnt (CSV -> edges.csv/.parquet)", run, note=note, **extra)
    shutil.rmtree(out, ignore_errors=True)

    # the same, in one process without start-up and files: the engine itself
    code = ("import json, sys, time\n"
            "from cib.coaction.compat_cnt import _cnt_edge_codes, read_cnt_csv\n"
            "t0 = time.perf_counter(); m = read_cnt_csv(sys.argv[1]); t1 = time.perf_counter()\n"
            "u, s, d, w = _cnt_edge_codes(m, 'co_retweet', float(sys.argv[2]), "
            "int(sys.argv[3]))\n"
            "t2 = time.perf_counter()\n"
            "print(json.dumps({'read': t1 - t0, 'edges': t2 - t1, 'n': len(s)}))\n")
    run = timed([sys.executable, "-c", code, str(csv_path), str(a.window),
                 str(a.min_edge_weight)])
    _check(run, "cib in-process run")
    inner = json.loads(run["stdout"].strip().splitlines()[-1])
    core = {**run, "wall": inner["read"] + inner["edges"], "cpu": None}
    row("cib-cnt-core", "read_cnt_csv + co_retweet edges, in process (no start-up, no files)",
        core, edges=inner["n"],
        note=f"read {inner['read']:.2f} s + edges {inner['edges']:.2f} s (numba cache load "
             "included)")

    # whole cib detect
    if n_rows > a.skip_detect_above:
        row("cib-detect", "cib detect (default options, all outputs)", None,
            note=f"skipped: > --skip-detect-above {a.skip_detect_above:,}")
    else:
        out = work / f"cib_detect_{n}"
        run = timed([cib_exe(), "detect", str(csv_path), "-o", str(out)], timeout=a.detect_timeout)
        if run["timed_out"]:
            row("cib-detect", "cib detect (default options, all outputs)", run,
                note=f"stopped after --detect-timeout {a.detect_timeout} s")
        else:
            _check(run, "cib detect")
            man = json.loads((out / "manifest.json").read_text())
            inner = man.get("timings_s", {})
            slow = sorted(inner.items(), key=lambda kv: -kv[1])[:3]
            row("cib-detect", "cib detect (default options, all outputs)", run,
                edges=man.get("counts", {}).get("graph_edges"), inner=inner,
                note="slowest stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in slow))
        shutil.rmtree(out, ignore_errors=True)

    # CooRTweet
    ok, why = coortweet_available()
    if not ok:
        row("coortweet", "detect_groups on the reposts", None, note=f"skipped: {why}")
    else:
        ct_csv = work / f"coortweet_{n}.csv"
        write_coortweet_csv(csv_path, ct_csv)
        script = (f"library(CooRTweet); library(data.table); d <- fread('{ct_csv}', "
                  "colClasses = list(character = c('object_id', 'account_id', 'content_id'))); "
                  f"r <- detect_groups(d, time_window = {a.window}, min_participation = 2); "
                  "cat(nrow(r), '\\n')")
        run = timed(["Rscript", "-e", script], timeout=a.cnt_timeout)
        row("coortweet", "detect_groups on the reposts", run,
            note="timed out" if run["timed_out"] else "")

    # the fixed start-up cost of the cib rows
    run = timed([sys.executable, "-c", "import cib.cli"])
    row("cib-import", 'python -c "import cib.cli" (inside both cib rows)', run)

    for r in rows:
        if (cnt_total and r.get("wall") and not r.get("timed_out")
                and r["engine"] not in ("cnt", "cib-import")):
            r["ratio"] = cnt_total / r["wall"]
    csv_path.unlink()
    return rows


# --------------------------------------------------------------------------------------------
# report


def _f(x, fmt: str) -> str:
    return "–" if x is None else format(x, fmt)


def markdown(rows: list[dict], a: argparse.Namespace) -> str:
    lines = [
        (f"W = {a.window} s, min edge weight {a.min_edge_weight}, CNT `--n_cpus {a.n_cpus}`; "
         "wall and CPU in "
         "seconds; × = CNT's time (preprocess + co_retweet) / the row's wall time."),
        "",
        ("| actions | engine | what is timed | wall s | CPU s | peak RSS GB | × vs CNT | edges "
         "| same edges as CNT | load1 | notes |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        wall = None if r.get("timed_out") else r.get("wall")
        same = {True: "yes", False: "NO"}.get(r.get("same"), "–")
        edges = r.get("edges")
        lines.append(
            f"| {r['actions']:,} | {r['engine']} | {r['what']} | {_f(wall, '.2f')} | "
            f"{_f(r.get('cpu'), '.1f')} | {_f(r.get('rss_gb'), '.2f')} | "
            f"{_f(r.get('ratio'), '.1f')} | {'–' if edges is None else f'{edges:,}'} | {same} | "
            f"{_f(r.get('load1'), '.1f')} | {r.get('note', '')} |")
    return "\n".join(lines)


def update_readme(block: str, command: str, started: str, key: str) -> None:
    """Put this run's block into the bench_detect section of bench/README.md: between the
    section's markers, one block per ``key`` (sizes and minimum weight), replaced on a re-run."""
    text = README.read_text()
    body = (f"<!-- run {key} -->\nRun {started} on {os.cpu_count()} vCPUs:\n\n```bash\n{command}\n"
            f"```\n\n{block}\n<!-- /run {key} -->")
    if START not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    inside, tail = rest.split(END, 1)
    runs = re.findall(r"(<!-- run (\S+) -->.*?<!-- /run \2 -->)", inside, flags=re.DOTALL)
    blocks = {k: b for b, k in runs}
    blocks[key] = body
    inside = "\n" + "\n\n".join(blocks[k] for k in sorted(blocks, key=_run_order)) + "\n"
    README.write_text(head + START + inside + END + tail)


def _run_order(key: str) -> tuple:
    sizes, _, weight = key.partition("-w")
    return tuple(int(x) for x in sizes.split("+")), weight


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--actions", type=int, nargs="+", default=[1_000_000],
                   help="size(s) in simulated actions [1000000]; add 10000000 for the big run")
    p.add_argument("--window", type=int, default=60)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--days", type=float, default=30)
    p.add_argument("--n-cpus", type=int, default=2, help="CNT's --n_cpus [2]")
    p.add_argument("--cnt-venv", default=DEFAULT_VENV,
                   help="CNT's venv, created when missing [$CNT_VENV or .cnt-venv]")
    p.add_argument("--max-cnt-actions", type=int, default=2_000_000,
                   help="skip CNT above this many actions [2000000]")
    p.add_argument("--cnt-timeout", type=float, default=1800,
                   help="stop CNT (preprocess + compute) after this many seconds [1800]")
    p.add_argument("--skip-detect-above", type=int, default=2_000_000,
                   help="skip the whole cib detect above this many actions [2000000]")
    p.add_argument("--detect-timeout", type=float, default=1800,
                   help="stop the whole cib detect after this many seconds [1800]")
    p.add_argument("--workdir", type=Path, default=None, help="[a temporary folder]")
    p.add_argument("--min-edge-weight", type=int, default=1,
                   help="CNT's --min_edge_weight, and cib's (per direction) [1]")
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    p.add_argument("--from-json", type=Path, default=None,
                   help="print (and with --readme write) the table of an earlier --json run")
    p.add_argument("--readme", action="store_true",
                   help="write the table into bench/README.md (bench_detect section)")
    a = p.parse_args(argv)
    args = list(argv if argv is not None else sys.argv[1:])
    if a.from_json:
        saved = json.loads(a.from_json.read_text())
        if isinstance(saved, list):  # rows only: the run's options are the ones given now
            k = args.index("--from-json")
            args = args[:k] + args[k + 2:]
            saved = {"rows": saved, "args": args, "started": time.strftime(
                "%Y-%m-%d %H:%M", time.localtime(a.from_json.stat().st_mtime))}
        rows, started, args = saved["rows"], saved["started"], saved["args"]
        readme = a.readme
        a = p.parse_args(args)
        a.readme = readme
    else:
        started = time.strftime("%Y-%m-%d %H:%M")
        work = a.workdir or Path(tempfile.mkdtemp(prefix="bench_detect_"))
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        try:
            for n in a.actions:
                rows += run_size(n, a, work)
        finally:
            if a.workdir is None:
                shutil.rmtree(work, ignore_errors=True)
        if a.json:
            a.json.write_text(json.dumps({"started": started, "args": args, "rows": rows},
                                         indent=1, default=str) + "\n")
    block = markdown(rows, a)
    print("\n" + block)
    if a.readme:
        shown = [x for x in args if x != "--readme"]
        for opt in ("--json", "--workdir", "--cnt-venv"):  # local paths
            while opt in shown:
                k = shown.index(opt)
                del shown[k:k + 2]
        command = " ".join([".venv/bin/python bench/bench_detect.py", *shown, "--readme"])
        key = "+".join(str(n) for n in a.actions) + f"-w{a.min_edge_weight}"
        update_readme(block, command, started, key)
    return 0 if all(r.get("same", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
