"""The timing signal: every tested pair against the significant ones only, side by side.

``timing_edges(posts, pairs="all")`` finishes the test of every account pair with
``--min-common`` common minutes, as cib did before session 11 (the same rows and values);
``pairs="significant"`` (the default since) skips or drops the pairs that cannot be
significant nor link a timing group. Each run is a subprocess; the table gives its wall time,
peak RSS, the pairs tested and returned, and whether the significant rows of both are equal,
value for value.

The posts are the original posts of a chunked simulation (``cib simulate --actions N --format
parquet``: the first ``--chunks`` files), or any ACTIONS file with ``--posts``.

With ``--group-iterations 10,100`` it runs the default way with timing groups once per cap of
Leiden's iterations on the timing-group graph (``cib.timing.GROUP_LEIDEN_ITERATIONS``) instead,
and lists each run's groups (with ``--truth``, the planted group of their members).

Usage::

    .venv/bin/python bench/bench_timing.py --data /tmp/cib-bench-dask/sim100000000 --chunks 20
    .venv/bin/python bench/bench_timing.py --posts posts.parquet --groups
    .venv/bin/python bench/bench_timing.py --data /tmp/cib-bench-dask/sim100000000 --chunks 20 \
        --group-iterations 10,100 --truth /tmp/cib-bench-dask/sim100000000/truth.csv

Result (session 11, the first 20 chunks of the 100M simulation: 7.4M posts, 1.37M posting
accounts, timing groups off): 154 s / 4.4 GB for every tested pair, 35 s / 1.5 GB for the
significant ones, the same 2,583 significant rows; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one(posts: str, pairs: str, groups: bool, out: str, iterations: int | None = None) -> None:
    """Child: run timing_edges and write its figures (and significant rows) to ``out``."""
    import pandas as pd

    import cib.timing
    from cib.timing import timing_edges

    if iterations is not None:
        cib.timing.GROUP_LEIDEN_ITERATIONS = iterations
    a = pd.read_parquet(posts, columns=["account_id", "timestamp", "action_type"])
    t0 = time.perf_counter()
    e = timing_edges(a, pairs=pairs, groups=groups)
    wall = time.perf_counter() - t0
    sig = e[e["significant"].to_numpy()].reset_index(drop=True)
    sig.to_parquet(out + ".parquet")
    Path(out).write_text(json.dumps({
        "wall_s": round(wall, 1), "rows": len(e), "significant": len(sig),
        "tested": int(e.attrs["pairs_tested"]),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)}))


def gather_posts(data: Path, chunks: int, dest: Path) -> int:
    """The original posts (account, time, type) of the first ``chunks`` files of ``data``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = sorted((data / "actions").glob("part-*.parquet"))[:chunks]
    if not files:
        sys.exit(f"no part-*.parquet under {data / 'actions'}")
    tables = []
    for f in files:
        t = pq.read_table(f, columns=["account_id", "timestamp", "action_type"])
        tables.append(t.filter(pc.equal(t["action_type"].cast(pa.string()), "post")))
    t = pa.concat_tables(tables)
    pq.write_table(t, dest)
    return t.num_rows


def caps(posts: str, iterations: list[int], truth: str | None, tmp: Path) -> None:
    """Timing groups with each cap of Leiden's iterations: figures and groups side by side."""
    import pandas as pd

    planted = (pd.read_csv(truth, usecols=["account_id", "group"]).set_index("account_id")
               ["group"] if truth else None)
    rows, found = [], {}
    for cap in iterations:
        out = str(tmp / f"cap{cap}")
        subprocess.run([sys.executable, __file__, "--child", posts, "significant", "1", out,
                        str(cap)], check=True)
        r = json.loads(Path(out).read_text())
        sig = pd.read_parquet(out + ".parquet")
        g = sig[sig["timing_group"] >= 0]
        members = {k: sorted(set(d["account_u"]) | set(d["account_v"]))
                   for k, d in g.groupby("timing_group")}
        found[cap] = {tuple(m) for m in members.values()}
        desc = []
        for m in sorted(members.values(), key=len, reverse=True):
            if planted is None:
                desc.append(str(len(m)))
            else:
                p = planted.reindex(m).fillna(-1).astype(int).value_counts()
                who = [f"{n} of planted {k}" if k >= 0 else f"{n} organic" for k, n in p.items()]
                desc.append(f"{len(m)} ({', '.join(who)})")
        rows.append((cap, r, len(g), "; ".join(desc) or "none"))
        print(cap, r, flush=True)
    print("\n| Leiden iterations at most | wall s | peak RSS GB | significant pairs | pairs in "
          "timing groups | timing groups (accounts) |")
    print("|---|---|---|---|---|---|")
    for cap, r, n_in, desc in rows:
        print(f"| {cap} | {r['wall_s']} | {r['peak_rss_gb']} | {r['significant']:,} | {n_in:,} "
              f"| {desc} |")
    first = iterations[0]
    for cap in iterations[1:]:
        same = len(found[first] & found[cap])
        print(f"\n{first} against {cap}: {same} of {len(found[first])} / {len(found[cap])} "
              "groups with the same members")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, help="a chunked simulation folder (actions/part-*.parquet)")
    ap.add_argument("--chunks", type=int, default=20)
    ap.add_argument("--posts", help="an ACTIONS Parquet file instead of --data")
    ap.add_argument("--groups", action=argparse.BooleanOptionalAction, default=False,
                    help="timing groups too (their null runs repeat the scan 10 times)")
    ap.add_argument("--group-iterations", metavar="N,M,...",
                    help="timing groups with each of these caps of Leiden's iterations")
    ap.add_argument("--truth", help="truth.csv of the simulation (account_id, group)")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        posts, pairs, groups, out, iterations = args.child
        one(posts, pairs, groups == "1", out, int(iterations) if iterations != "-" else None)
        return
    with tempfile.TemporaryDirectory() as tmp:
        posts = args.posts
        if posts is None:
            if args.data is None:
                ap.error("give --data or --posts")
            posts = str(Path(tmp) / "posts.parquet")
            n = gather_posts(args.data, args.chunks, Path(posts))
            print(f"{n:,} original posts from {args.chunks} chunks of {args.data}", flush=True)
        if args.group_iterations:
            caps(posts, [int(x) for x in args.group_iterations.split(",")], args.truth,
                 Path(tmp))
            return
        res = {}
        for pairs in ("significant", "all"):
            out = str(Path(tmp) / pairs)
            subprocess.run([sys.executable, __file__, "--child", posts, pairs,
                            "1" if args.groups else "0", out, "-"], check=True)
            res[pairs] = json.loads(Path(out).read_text())
            print(pairs, res[pairs], flush=True)
        import pandas as pd

        same = pd.read_parquet(str(Path(tmp) / "all") + ".parquet").equals(
            pd.read_parquet(str(Path(tmp) / "significant") + ".parquet"))
    s, a = res["significant"], res["all"]
    print("\n| pairs | wall s | peak RSS GB | pairs tested | rows | significant |")
    print("|---|---|---|---|---|---|")
    for name, r in (("all (as before)", a), ("significant (default)", s)):
        print(f"| {name} | {r['wall_s']} | {r['peak_rss_gb']} | {r['tested']:,} | {r['rows']:,} "
              f"| {r['significant']:,} |")
    print(f"\nall / significant: {a['wall_s'] / max(s['wall_s'], 1e-9):.1f}x time, "
          f"{a['peak_rss_gb'] / max(s['peak_rss_gb'], 1e-9):.1f}x memory; significant rows "
          f"{'identical' if same else 'DIFFER'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
