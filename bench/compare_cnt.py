"""cib's CNT compatibility mode against the real coordination-network-toolkit 1.5.2.

Two modes:

Benchmark (default). Simulate ``--actions`` actions with :func:`cib.datasets.simulate`, convert
them to CNT's CSV with :func:`cib.coaction.compat_cnt.cnt_input_from_actions`, and run on that one
file (1) CNT, ``compute_networks preprocess`` then ``compute`` from ``$CNT_VENV``, and (2) cib's
:func:`read_cnt_csv` + :func:`cnt_edges`. Check that the directed edges are identical and print the
seconds and the ratio::

    .venv/bin/python bench/compare_cnt.py --actions 100000
    .venv/bin/python bench/compare_cnt.py --actions 1000000 --networks co_retweet co_link

Fixtures (``--make-fixtures DIR``). Write the small synthetic CNT CSVs used by
``tests/test_compat_cnt.py``, run the real CNT on each of them, and save CNT's own exports (with
loops, gzipped) next to them, plus ``MANIFEST.json`` with the commands::

    .venv/bin/python bench/compare_cnt.py --make-fixtures tests/data/cnt

CNT runs from its own venv (``--cnt-venv``): when it is missing, the script creates it with
``python3 -m venv`` and installs ``coordination-network-toolkit==1.5.2`` from PyPI. Its
command-line CSV export crashes (peer notes, bug 1), so edges are exported with
``coordination_network_toolkit.output.output_gephi_csv``. Its CLI window defaults to 1 s, so
``--time_window`` is always passed.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cib.coaction.compat_cnt import (  # noqa: E402
    CNT_COLUMNS, CNT_NETWORKS, cnt_edges, cnt_input_from_actions, read_cnt_csv)

DEFAULT_VENV = os.environ.get("CNT_VENV", str(ROOT / ".cnt-venv"))
CNT_PACKAGE = "coordination-network-toolkit==1.5.2"


def ensure_cnt(venv: str) -> str:
    """CNT's venv: created, and CNT installed into it from PyPI, when ``bin/compute_networks`` is
    missing."""
    exe = Path(venv) / "bin" / "compute_networks"
    if exe.exists():
        return venv
    print(f"CNT not found in {venv}: python3 -m venv {venv} && pip install {CNT_PACKAGE}",
          flush=True)
    subprocess.run([shutil.which("python3") or sys.executable, "-m", "venv", venv], check=True)
    pip = [str(Path(venv) / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, CNT_PACKAGE], check=True)
    if not exe.exists():  # installed, but its console script is gone: put it back
        subprocess.run([*pip, "--force-reinstall", "--no-deps", CNT_PACKAGE], check=True)
    if not exe.exists():
        raise SystemExit(f"installing {CNT_PACKAGE} into {venv} gave no {exe}")
    return venv


# --------------------------------------------------------------------------------------------
# writing CNT's CSV


def _fmt_time(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def write_cnt_csv(messages: pd.DataFrame, path: Path) -> None:
    """Write ``messages`` as CNT's CSV: header, columns in CNT's positional order, ``urls`` last."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CNT_COLUMNS)
        cols = [messages[c].to_numpy(dtype=object) for c in CNT_COLUMNS]
        ti = CNT_COLUMNS.index("timestamp")
        for row in zip(*cols):
            row = list(row)
            if not isinstance(row[ti], str):
                row[ti] = _fmt_time(row[ti])
            w.writerow(row)


# --------------------------------------------------------------------------------------------
# data


def simulated(n_actions: int, seed: int, days: float = 30) -> pd.DataFrame:
    """About ``n_actions`` actions of :func:`cib.datasets.simulate` over ``days``, as CNT messages.

    The simulator's activity per account grows with ``days``, so the number of accounts is
    calibrated on a pilot run of 2,000 accounts. Groups: 2 sqrt(accounts / 100), 2 to 100.
    """
    from cib.datasets import simulate

    pilot, _ = simulate(n_accounts=2000, n_groups=2, days=days, seed=seed)
    n_accounts = max(20, int(round(n_actions / (len(pilot) / 2000))))
    n_groups = max(2, min(100, int(round(2 * np.sqrt(n_accounts / 100)))))
    actions, _ = simulate(n_accounts=n_accounts, n_groups=n_groups, days=days, seed=seed)
    return cnt_input_from_actions(actions)


def simulated_small() -> pd.DataFrame:
    from cib.datasets import simulate

    actions, _ = simulate(n_accounts=100, n_groups=3, days=3, seed=7)
    return cnt_input_from_actions(actions)


_BASE_TEXTS = ["Breaking news: the vote is rigged", "Share this before they delete it",
               "hello world", "Join us at the rally tonight", "nothing to see here"]


def _text_variant(rng: np.random.Generator, base: str) -> str:
    """A variant that CNT's message_preprocessor maps back to ``base`` lowercased (mostly)."""
    words = base.split(" ")
    r = rng.random()
    if r < 0.15:
        return base.upper()
    if r < 0.3:
        return "@" + str(rng.integers(100)) + " " + base
    if r < 0.4:
        return "  " + "\t".join(words) + " \n"
    if r < 0.5:
        return base.replace(" ", "\xa0") + " @tail"
    if r < 0.55:
        return base.replace(" ", "\r\n", 1)
    if r < 0.6:
        return "@ab\x1ccd " + base  # U+001C: str.isspace() but not regex's \s
    if r < 0.65:
        return base + " @x\x1fy"
    if r < 0.7:
        return base + "  @"
    return base


def tricky(n_rows: int, seed: int, fractional: bool) -> pd.DataFrame:
    """Small CNT input full of edge cases (see tests/data/cnt/MANIFEST.json)."""
    rng = np.random.default_rng(seed)
    users = [f"u{i:02d}" for i in range(28)] + ["007", "7", "Alice", "alice", "bob smith", "é"]
    p_user = 1.0 / np.arange(1, len(users) + 1) ** 0.8
    p_user /= p_user.sum()
    items = [f"r{i}" for i in range(14)] + ["100", "0100", "1e2"]
    parents = [f"p{i}" for i in range(10)] + ["100"]
    url_pool = ["http://a.org/1", "https://b.com/x?y=1", "c.net", "http://a.org/1/", "d.io/Z",
                "d.io/z", "e.org"]
    base = 1_600_000_000 if seed % 2 == 0 else 0
    rows = []
    for n in range(n_rows):
        user = users[rng.choice(len(users), p=p_user)]
        if fractional:
            off = round(float(rng.uniform(0, 900)), int(rng.integers(0, 4)))
            if rng.random() < 0.3:
                off = float(rng.integers(0, 90) * 10) + float(rng.choice([0.1, 0.2, 0.3, 0.7]))
            ts = repr(base + off) if not float(base + off).is_integer() else str(int(base + off))
        else:
            ts = str(base + int(rng.integers(0, 180)) * 5)
        kind = rng.random()
        repost = reply = ""
        message = ""
        if kind < 0.45:
            repost = items[int(rng.integers(len(items)))]
            if rng.random() < 0.1:
                reply = parents[int(rng.integers(len(parents)))]
            if rng.random() < 0.3:
                message = "RT " + _BASE_TEXTS[int(rng.integers(len(_BASE_TEXTS)))]
        else:
            if kind < 0.65:
                reply = parents[int(rng.integers(len(parents)))]
            r = rng.random()
            if r < 0.08:
                message = ""
            elif r < 0.14:
                message = "@" + users[int(rng.integers(len(users)))]
            else:
                message = _text_variant(rng, _BASE_TEXTS[int(rng.integers(len(_BASE_TEXTS)))])
        u = rng.random()
        pick = lambda: url_pool[int(rng.integers(len(url_pool)))]  # noqa: E731
        if u < 0.35:
            urls = ""
        elif u < 0.65:
            urls = pick()
        elif u < 0.78:
            urls = pick() + " " + pick()
        elif u < 0.83:
            urls = pick() + "  " + pick()
        elif u < 0.88:
            a = pick()
            urls = a + " " + a
        elif u < 0.93:
            urls = pick() + " "
        else:
            urls = " " + pick()
        mid = str(10_000 + n)
        if n > 10 and rng.random() < 0.06:
            mid = rows[int(rng.integers(len(rows)))][0]  # a repeated message_id
        rows.append([mid, user, "name " + user, repost, reply, message, ts, urls])
    return pd.DataFrame(rows, columns=CNT_COLUMNS)


def tiny() -> pd.DataFrame:
    """The peer notes' tiny cases: B, C, D repost one item at 100, 160, 161; A posts a URL twice
    (t=0 and 30) and E once (t=50); plus empty and mention-only texts."""
    rows = [
        ["1", "B", "B", "item", "", "", "100", ""],
        ["2", "C", "C", "item", "", "", "160", ""],
        ["3", "D", "D", "item", "", "", "161", ""],
        ["4", "A", "A", "", "", "look", "1000", "x.org"],
        ["5", "A", "A", "", "", "look again", "1030", "x.org"],
        ["6", "E", "E", "", "", "Look", "1050", "x.org"],
        ["7", "B", "B", "", "", "", "5000", ""],
        ["8", "C", "C", "", "", "", "5010", ""],
        ["9", "B", "B", "", "", "@x", "5020", ""],
        ["10", "C", "C", "", "", "@y", "5030", ""],
    ]
    return pd.DataFrame(rows, columns=CNT_COLUMNS)


# --------------------------------------------------------------------------------------------
# running CNT


def _cnt(venv: str, *args: str) -> float:
    exe = Path(venv) / "bin" / "compute_networks"
    t0 = time.perf_counter()
    subprocess.run([str(exe), *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def cnt_export(venv: str, db: Path, network: str, out: Path, loops: bool = False) -> float:
    code = ("import sys; from coordination_network_toolkit.output import output_gephi_csv as f; "
            "f(sys.argv[1], sys.argv[2], sys.argv[3], loops=sys.argv[4] == '1')")
    t0 = time.perf_counter()
    subprocess.run([str(Path(venv) / "bin" / "python"), "-c", code, str(db), network, str(out),
                    "1" if loops else "0"], check=True)
    return time.perf_counter() - t0


def cnt_preprocess(venv: str, db: Path, csv_path: Path) -> float:
    return _cnt(venv, str(db), "preprocess", "--format", "csv", str(csv_path))


def cnt_compute(venv: str, db: Path, network: str, window: int, min_weight: int,
                n_cpus: int) -> float:
    return _cnt(venv, str(db), "compute", network, "--time_window", str(window),
                "--min_edge_weight", str(min_weight), "--n_cpus", str(n_cpus))


def drop_empty_urls(db: Path) -> None:
    """The fix for CNT's empty-URL bug: delete the URL '' rows from its message_url table."""
    con = sqlite3.connect(db)
    with con:
        con.execute("delete from message_url where url = ''")
    con.close()


def read_export(path: Path) -> pd.DataFrame:
    e = pd.read_csv(path, dtype=object, keep_default_na=False, na_filter=False)
    return pd.DataFrame({"user_1": e["source"].to_numpy(dtype=object),
                         "user_2": e["target"].to_numpy(dtype=object),
                         "weight": e["weight"].astype(np.int64).to_numpy()})


def compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> dict:
    """Rows missing from ours, extra in ours, weight mismatches (directed rows)."""
    m = ours.merge(theirs, on=["user_1", "user_2"], how="outer", suffixes=("_cib", "_cnt"),
                   indicator=True)
    return {"rows_cib": len(ours), "rows_cnt": len(theirs),
            "missing": int((m["_merge"] == "right_only").sum()),
            "extra": int((m["_merge"] == "left_only").sum()),
            "weight_mismatch": int(((m["_merge"] == "both")
                                    & (m["weight_cib"] != m["weight_cnt"])).sum())}


# --------------------------------------------------------------------------------------------
# fixtures


FIXTURE_INPUTS = {
    # name: (maker, description)
    "tricky_int": (lambda: tricky(1500, 0, False),
                   "1,500 rows, integer times on a 5 s grid (many equal times and exact 60 s "
                   "gaps), "
                   "34 users (incl. '007' vs '7', 'Alice' vs 'alice'), reposts of 17 ids, replies "
                   "to 11 ids (some on reposts), URLs with empty cells, doubled/leading/trailing "
                   "spaces and repeats, about 6% repeated message_ids, texts differing by case, "
                   "mentions and white space (incl. U+00A0, U+001C/U+001F inside mentions, CRLF)"),
    "tricky_frac": (lambda: tricky(900, 1, True),
                    "900 rows like tricky_int but fractional times near 0 (0-3 decimals, many "
                    "k*10 + 0.1/0.2/0.3/0.7, so some 60 s gaps are not exact in float64)"),
    "sim": (simulated_small,
            "cib.datasets.simulate(n_accounts=100, n_groups=3, days=3, seed=7) through "
            "cnt_input_from_actions (URL-less posts, quotes and replies; whole-second times)"),
    "tiny": (tiny, "the peer notes' tiny cases"),
}


def _gzip_to(src: Path, dst: Path) -> None:
    with open(src, "rb") as f, gzip.GzipFile(dst, "wb", mtime=0) as g:
        shutil.copyfileobj(f, g)


def make_fixtures(out: Path, venv: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict = {
        "tool": "coordination-network-toolkit 1.5.2 (compute_networks CLI; edges exported with "
                "coordination_network_toolkit.output.output_gephi_csv(db, network, file, "
                "loops=True))",
        "generator": "bench/compare_cnt.py --make-fixtures",
        "inputs_note": "inputs are stored gzipped; CNT read the uncompressed file "
                       "(sha256_uncompressed)",
        "edges": "<input>.<network>.W<window>.w<min_edge_weight>.csv.gz; co_link_fixed = co_link "
                 "after `delete from message_url where url = ''`; co_link = CNT as is",
        "commands": [
            "compute_networks DB preprocess --format csv <input>.csv",
            "compute_networks DB compute <network> --time_window W --min_edge_weight w --n_cpus 1",
            "python -c 'from coordination_network_toolkit.output import output_gephi_csv as f; "
            "f(DB, <network>, OUT, loops=True)'",
        ],
        "inputs": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, (maker, desc) in FIXTURE_INPUTS.items():
            messages = maker()
            csv_path = Path(tmp) / f"{name}.csv"
            write_cnt_csv(messages, csv_path)
            _gzip_to(csv_path, out / f"{name}.csv.gz")
            runs = []
            for window in ([0, 1, 60] if name == "tricky_int" else [60]):
                for mw in (1, 2):
                    nets = CNT_NETWORKS if window == 60 else ("co_retweet",)
                    db = Path(tmp) / f"{name}.W{window}.w{mw}.db"
                    cnt_preprocess(venv, db, csv_path)
                    for net in nets:
                        cnt_compute(venv, db, net, window, mw, 1)
                        raw = Path(tmp) / "edges.csv"
                        cnt_export(venv, db, net, raw, loops=True)
                        f = f"{name}.{net}.W{window}.w{mw}.csv.gz"
                        _gzip_to(raw, out / f)
                        runs.append({"network": net, "time_window": window,
                                     "min_edge_weight": mw, "edges": f,
                                     "rows": sum(1 for _ in open(raw)) - 1})
                    if "co_link" in nets:
                        drop_empty_urls(db)
                        cnt_compute(venv, db, "co_link", window, mw, 1)
                        raw = Path(tmp) / "edges.csv"
                        cnt_export(venv, db, "co_link", raw, loops=True)
                        f = f"{name}.co_link_fixed.W{window}.w{mw}.csv.gz"
                        _gzip_to(raw, out / f)
                        runs.append({"network": "co_link_fixed", "time_window": window,
                                     "min_edge_weight": mw, "edges": f,
                                     "rows": sum(1 for _ in open(raw)) - 1})
            manifest["inputs"][name] = {
                "file": f"{name}.csv.gz", "rows": len(messages), "description": desc,
                "sha256_uncompressed": hashlib.sha256(csv_path.read_bytes()).hexdigest(),
                "runs": runs}
            print(f"{name}: {len(messages)} rows, {len(runs)} CNT exports")
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")


# --------------------------------------------------------------------------------------------
# benchmark


def bench(n_actions: int, networks: list[str], window: int, min_weight: int, n_cpus: int,
          venv: str, seed: int, keep: Path | None, days: float = 30) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="cnt_bench_"))
    try:
        messages = simulated(n_actions, seed, days)
        csv_path = tmp / "actions.csv"
        write_cnt_csv(messages, csv_path)
        load = os.getloadavg()[0]
        print(f"{len(messages):,} rows -> {csv_path} (load1 {load:.2f})", flush=True)

        db = tmp / "cnt.db"
        t_pre = cnt_preprocess(venv, db, csv_path)
        t0 = time.perf_counter()
        read = read_cnt_csv(csv_path)
        t_read = time.perf_counter() - t0
        results = []
        for net in networks:
            if net == "co_link":
                drop_empty_urls(db)  # compare the fixed co_link (cib's default)
            t_net = cnt_compute(venv, db, net, window, min_weight, n_cpus)
            out = tmp / f"{net}.csv"
            t_exp = cnt_export(venv, db, net, out)
            theirs = read_export(out)
            t0 = time.perf_counter()
            ours = cnt_edges(read, net, time_window=window, min_edge_weight=min_weight)
            t_cib = time.perf_counter() - t0
            cmp = compare(ours, theirs)
            identical = cmp["missing"] == cmp["extra"] == cmp["weight_mismatch"] == 0
            cnt_total = t_pre + t_net
            cib_total = t_read + t_cib
            results.append({"actions": len(messages), "network": net, "edges": cmp["rows_cnt"],
                            "identical": identical, **cmp,
                            "cnt_preprocess_s": t_pre, "cnt_compute_s": t_net,
                            "cnt_export_s": t_exp, "cib_read_s": t_read, "cib_edges_s": t_cib,
                            "cnt_s": cnt_total, "cib_s": cib_total,
                            "ratio": cnt_total / cib_total, "load1": load})
        if keep:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(csv_path, keep / "actions.csv")
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--actions", type=int, nargs="+", default=[100_000],
                   help="size(s) in simulated actions [100000]")
    p.add_argument("--networks", nargs="+", default=["co_retweet"], choices=list(CNT_NETWORKS))
    p.add_argument("--window", type=int, default=60)
    p.add_argument("--min-weight", type=int, default=2)
    p.add_argument("--n-cpus", type=int, default=2)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--days", type=float, default=30, help="time span of the simulation [30]")
    p.add_argument("--cnt-venv", default=DEFAULT_VENV,
                   help="CNT's venv, created when missing [$CNT_VENV or .cnt-venv]")
    p.add_argument("--keep", type=Path, default=None, help="copy the generated CSV here")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--make-fixtures", type=Path, default=None, metavar="DIR",
                   help="write the test fixtures into DIR instead of benchmarking")
    a = p.parse_args(argv)
    ensure_cnt(a.cnt_venv)
    if a.make_fixtures:
        make_fixtures(a.make_fixtures, a.cnt_venv)
        return 0
    rows = []
    for n in a.actions:
        rows += bench(n, a.networks, a.window, a.min_weight, a.n_cpus, a.cnt_venv, a.seed,
                      a.keep, a.days)
    print(f"\nW={a.window}, min_edge_weight={a.min_weight}, CNT n_cpus={a.n_cpus}; seconds wall")
    print(f"{'actions':>9} {'network':<11} {'edges':>7} {'same':>5} {'CNT prep':>8} "
          f"{'CNT net':>8} {'CNT':>7} {'cib read':>8} {'cib net':>8} {'cib':>7} {'ratio':>6} "
          f"{'load1':>5}")
    for r in rows:
        print(f"{r['actions']:>9,} {r['network']:<11} {r['edges']:>7,} "
              f"{'yes' if r['identical'] else 'NO':>5} {r['cnt_preprocess_s']:>8.2f} "
              f"{r['cnt_compute_s']:>8.2f} {r['cnt_s']:>7.2f} {r['cib_read_s']:>8.2f} "
              f"{r['cib_edges_s']:>8.2f} {r['cib_s']:>7.2f} {r['ratio']:>5.1f}x {r['load1']:>5.2f}")
        if not r["identical"]:
            print(f"    missing {r['missing']}, extra {r['extra']}, weight mismatches "
                  f"{r['weight_mismatch']}")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
