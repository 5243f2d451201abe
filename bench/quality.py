"""Detection quality on the scenario suite: cib against the peers' compatibility modes.

For each seed, simulate every scenario and trap of :mod:`cib.scenarios`
(:func:`cib.scenarios.simulate_scenarios`), then run and score, against the truth
(:func:`cib.evaluate.evaluate`):

``cib``
    ``cib.detect(actions)`` with its defaults. Flagged: the members of flagged clusters.
``coortweet``
    ``cib.run_coortweet(coortweet_frames(actions))``: CooRTweet 2.1 ``detect_groups`` (one per
    trace kind, as ``cib detect --compat coortweet``) + ``generate_coordinated_network`` with its
    defaults (60 s, ``min_participation`` 2, ``subgraph`` 0). Flagged: every account of the output
    network.
``coortweet-sub``
    The same run, but flagged: the accounts of the edges over CooRTweet's weight threshold
    (``weight_threshold == 1``, the 0.5 quantile of the edge weights): what ``subgraph = 1`` keeps.
``cnt``
    ``cib.run_cnt(cnt_input_from_actions(actions))``: coordination-network-toolkit's co_retweet,
    co_link, co_reply and co_tweet networks (60 s, ``min_edge_weight`` 1, as ``cib detect
    --compat cnt``). Flagged: every account with an edge.
``cnt-w2``
    The same run, edges of weight >= 2 only (``min_edge_weight`` 2).

The peers output networks, not clusters: their "clusters" (for the ARI) are the connected
components of the flagged accounts' network. The ``-sub`` and ``-w2`` variants are derived from
the same run and show its time.

Printed (and written to ``--out`` as markdown): one row per tool and seed with precision, recall,
F1, ARI (over the planted accounts), the share of plain organic accounts flagged and the seconds;
then per coordinated scenario the recall, and per trap the share of its accounts flagged (means
over the seeds, with the range when there are several seeds)::

    .venv/bin/python bench/quality.py --seeds 101,102,103 --accounts 5000 --out quality.md
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cib  # noqa: E402
from cib.coaction.compat_cnt import cnt_input_from_actions  # noqa: E402
from cib.compat import coortweet_frames  # noqa: E402
from cib.evaluate import evaluate  # noqa: E402
from cib.scenarios import SCENARIOS, TRAPS, _simulate_scenarios_with_log  # noqa: E402

TOOLS = ("cib", "coortweet", "coortweet-sub", "cnt", "cnt-w2")


def _components(edges: pd.DataFrame, u: str, v: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MEMBERS and CLUSTERS (all flagged) from an edge list: one cluster per connected component."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if edges.empty:
        return (pd.DataFrame({"account_id": pd.Series([], dtype=object),
                              "cluster_id": pd.Series([], dtype=np.int64)}),
                pd.DataFrame({"cluster_id": pd.Series([], dtype=np.int64),
                              "flagged": pd.Series([], dtype=bool)}))
    codes, names = pd.factorize(pd.concat([edges[u], edges[v]], ignore_index=True).astype(str))
    m = len(edges)
    n = len(names)
    graph = coo_matrix((np.ones(m), (codes[:m], codes[m:])), shape=(n, n))
    k, labels = connected_components(graph, directed=False)
    members = pd.DataFrame({"account_id": pd.Series(names.to_numpy(dtype=object), dtype=object),
                            "cluster_id": labels.astype(np.int64)})
    clusters = pd.DataFrame({"cluster_id": np.arange(k, dtype=np.int64), "flagged": True})
    return members, clusters


def run_cib(actions: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, float]]:
    t = time.perf_counter()
    det = cib.detect(actions)
    return {"cib": (det.members, det.clusters, time.perf_counter() - t)}


def run_coortweet(actions: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, float]]:
    t = time.perf_counter()
    res = cib.run_coortweet(coortweet_frames(actions), window=60)
    seconds = time.perf_counter() - t
    edges = res.tables["edges"]
    # Every vertex of CooRTweet's network (isolated ones too, though it has none by construction).
    full = _components(edges, "from", "to")
    isolated = sorted(set(map(str, res.graph.nodes)) - set(full[0]["account_id"]))
    if isolated:
        start = len(full[1])
        extra = pd.DataFrame({"account_id": isolated,
                              "cluster_id": np.arange(start, start + len(isolated))})
        full = (pd.concat([full[0], extra], ignore_index=True),
                pd.DataFrame({"cluster_id": np.arange(start + len(isolated)), "flagged": True}))
    over = edges[edges["weight_threshold"].astype(int) == 1] if len(edges) else edges
    return {"coortweet": (*full, seconds),
            "coortweet-sub": (*_components(over, "from", "to"), seconds)}


def run_cnt(actions: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, float]]:
    t = time.perf_counter()
    res = cib.run_cnt(cnt_input_from_actions(actions), window=60)
    seconds = time.perf_counter() - t
    edges = res.tables["edges"]
    return {"cnt": (*_components(edges, "source", "target"), seconds),
            "cnt-w2": (*_components(edges[edges["weight"] >= 2], "source", "target"), seconds)}


def _fmt(values: list[float], digits: int = 2) -> str:
    """Mean, with the range over seeds when there are several."""
    if not values:
        return "–"
    mean = float(np.mean(values))
    if len(values) == 1 or max(values) - min(values) < 10 ** -digits / 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def ceiling(actions: pd.DataFrame, truth: pd.DataFrame, log: pd.DataFrame) -> dict:
    """What a perfect detector scores: every planted account that took part in at least one
    of its group's pushes, in its group, and nothing else. A member that never did (a rotating
    network's member left out of every random subset) acts like an organic account."""
    pushes = log[log["group"] >= 0]
    ids = np.concatenate(pushes["action_ids"].to_numpy()) if len(pushes) else np.empty(0)
    active = set(actions.loc[actions["action_id"].isin(ids), "account_id"])
    planted = truth[truth["group"] >= 0]
    found = planted[planted["account_id"].isin(active)]
    members = pd.DataFrame({"account_id": found["account_id"], "cluster_id": found["group"]})
    clusters = pd.DataFrame({"cluster_id": np.sort(found["group"].unique()), "flagged": True})
    m = evaluate(members, clusters, truth)
    return {"never": len(planted) - len(found), "recall": m["recall"], "ari": m["ari"]}


def markdown(rows: list[dict], tools: list[str], args: argparse.Namespace,
             sim_seconds: list[float], n_actions: list[int],
             ceilings: list[tuple[int, dict]] | None = None) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        f"Scenario suite: {args.accounts:,} accounts, {args.days:g} days, seeds "
        f"{', '.join(map(str, args.seeds))}; {int(np.mean(n_actions)):,} actions on average, "
        f"simulated in {np.mean(sim_seconds):.1f} s. cib {cib.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load1 {load:.1f} at the end.",
        "",
        "| tool | seed | flagged | precision | recall | F1 | ARI | groups found | organic flagged "
        "| seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for tool in tools:
        mine = [r for r in rows if r["tool"] == tool]
        for r in mine:
            m = r["metrics"]
            lines.append(
                f"| {tool} | {r['seed']} | {m['n_flagged']:,} | {m['precision']:.3f} | "
                f"{m['recall']:.3f} | {m['f1']:.3f} | {m['ari']:.3f} | "
                f"{m['groups_found']}/{m['n_groups']} | {m['organic_flagged']:.4f} | "
                f"{r['seconds']:.1f} |")
        if len(mine) > 1:
            avg = {k: float(np.mean([r["metrics"][k] for r in mine]))
                   for k in ("n_flagged", "precision", "recall", "f1", "ari", "organic_flagged")}
            lines.append(
                f"| **{tool}** | mean | {avg['n_flagged']:,.0f} | {avg['precision']:.3f} | "
                f"{avg['recall']:.3f} | {avg['f1']:.3f} | {avg['ari']:.3f} | | "
                f"{avg['organic_flagged']:.4f} | {np.mean([r['seconds'] for r in mine]):.1f} |")
    if ceilings:
        lines += ["", "Ceiling: a perfect detector, finding every planted account that took part in "
                  "at least one push of its group (and nothing else); accounts that never did "
                  "cannot be told from organic ones.", "",
                  "| seed | planted accounts in no push | recall | ARI |", "|---|---|---|---|"]
        lines += [f"| {seed} | {c['never']} | {c['recall']:.3f} | {c['ari']:.3f} |"
                  for seed, c in ceilings]
        if len(ceilings) > 1:
            lines.append(f"| mean | {np.mean([c['never'] for _, c in ceilings]):.1f} | "
                         f"{np.mean([c['recall'] for _, c in ceilings]):.3f} | "
                         f"{np.mean([c['ari'] for _, c in ceilings]):.3f} |")
    for title, key, names in (("Recall per coordinated scenario (share of its planted accounts "
                               "flagged; mean over seeds, range in brackets)", "scenario_recall",
                               SCENARIOS),
                              ("Share of trap accounts flagged (lower is better; mean over "
                               "seeds)", "trap_flagged", TRAPS)):
        lines += ["", title, "",
                  "| scenario | accounts | " + " | ".join(tools) + " |",
                  "|---|---|" + "---|" * len(tools)]
        for name in names:
            counts = [r["metrics"]["scenario_accounts"].get(name, 0) for r in rows
                      if r["tool"] == tools[0]]
            cells = [_fmt([r["metrics"][key][name] for r in rows
                           if r["tool"] == tool and name in r["metrics"][key]]) for tool in tools]
            lines.append(f"| {name} | {np.mean(counts):,.0f} | " + " | ".join(cells) + " |")
        if key == "trap_flagged":
            n_org = [r["n_organic"] for r in rows if r["tool"] == tools[0]]
            cells = [_fmt([r["metrics"]["organic_flagged"] for r in rows if r["tool"] == tool], 4)
                     for tool in tools]
            lines.append(f"| plain organic | {np.mean(n_org):,.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="101,102,103",
                        type=lambda s: [int(x) for x in s.split(",") if x.strip()],
                        help="comma-separated simulation seeds (default: 101,102,103)")
    parser.add_argument("--accounts", type=int, default=5000, help="accounts (default: 5000)")
    parser.add_argument("--days", type=float, default=3.0, help="days (default: 3)")
    parser.add_argument("--tools", default="cib,coortweet,cnt",
                        help="comma-separated among cib, coortweet, cnt (default: all three; "
                             "coortweet and cnt each bring their derived variant)")
    parser.add_argument("--out", type=Path, default=None, help="also write the tables to this "
                        "markdown file")
    args = parser.parse_args(argv)
    wanted = [t.strip() for t in args.tools.split(",") if t.strip()]
    runners = {"cib": run_cib, "coortweet": run_coortweet, "cnt": run_cnt}
    unknown = [t for t in wanted if t not in runners]
    if unknown or not wanted or not args.seeds:
        parser.error(f"--tools must be among {', '.join(runners)}; --seeds must not be empty")

    rows: list[dict] = []
    sim_seconds, n_actions = [], []
    ceilings: list[tuple[int, dict]] = []
    tools: list[str] = []
    for seed in args.seeds:
        t = time.perf_counter()
        actions, truth, log = _simulate_scenarios_with_log("all", n_accounts=args.accounts,
                                                           days=args.days, seed=seed)
        ceilings.append((seed, ceiling(actions, truth, log)))
        sim_seconds.append(time.perf_counter() - t)
        n_actions.append(len(actions))
        n_organic = int((truth["scenario"] == "organic").sum())
        print(f"seed {seed}: {len(actions):,} actions, simulated in {sim_seconds[-1]:.1f} s",
              file=sys.stderr)
        for name in wanted:
            try:
                results = runners[name](actions)
            except Exception as e:  # a peer that cannot run is reported, not fatal
                print(f"  {name}: failed: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            for tool, (members, clusters, seconds) in results.items():
                m = evaluate(members, clusters, truth)
                rows.append({"tool": tool, "seed": seed, "metrics": m, "seconds": seconds,
                             "n_organic": n_organic})
                if tool not in tools:
                    tools.append(tool)
                print(f"  {tool}: F1 {m['f1']:.3f}, precision {m['precision']:.3f}, recall "
                      f"{m['recall']:.3f}, {seconds:.1f} s", file=sys.stderr)
    tools = [t for t in TOOLS if t in tools]
    if not rows:
        print("nothing ran", file=sys.stderr)
        return 1
    text = markdown(rows, tools, args, sim_seconds, n_actions, ceilings)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
