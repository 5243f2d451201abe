"""Properties of the whole pipeline on small random inputs (hypothesis).

The inputs are ACTIONS tables with a few planted groups (accounts that repost, link or tag the same
objects within seconds of each other) among noise accounts acting at random. The properties:

- the order of the input rows changes no output (DESIGN section 3);
- renaming the accounts changes no cluster: the clusters, as sets of member sets, map back to the
  same ones;
- a larger window never loses a co-action (``cib.coactions`` on ``cib.build_traces``);
- exact duplicate input rows do not change any edge's weight (weight counts distinct objects);
- and two ``cib detect`` runs with the same input and seed write byte-identical folders (the
  manifest's stage timings aside).

Each property runs a dozen examples with a small null model, to stay within a few seconds.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cib
from cib.cli import main
from cib.datasets import simulate, write_simulation
from cib.schema import ACTION_COLUMNS, ACTION_TYPES

FAST = {"n_null": 5, "fdr_runs": 2, "seed": 0}
SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
START = pd.Timestamp("2024-01-01", tz="UTC")


def make_actions(rows: list[dict]) -> pd.DataFrame:
    """ACTIONS from dicts with account_id, t (seconds), action_type, parent_id, urls, hashtags."""
    n = len(rows)
    df = pd.DataFrame({
        "action_id": [f"a{i:04d}" for i in range(n)],
        "account_id": [r["account_id"] for r in rows],
        "timestamp": (START + pd.to_timedelta([r["t"] for r in rows], unit="s")).astype(
            "datetime64[ns, UTC]"),
        "action_type": pd.Categorical([r["action_type"] for r in rows], categories=ACTION_TYPES),
        "parent_id": pd.Series([r.get("parent_id") for r in rows], dtype=object),
        "text": pd.Series([None] * n, dtype=object),
        "urls": pd.Series([r.get("urls", []) for r in rows], dtype=object),
        "hashtags": pd.Series([r.get("hashtags", []) for r in rows], dtype=object),
        "mentions": pd.Series([[] for _ in rows], dtype=object),
        "media": pd.Series([[] for _ in rows], dtype=object),
        "platform": pd.Series([None] * n, dtype=object),
    })
    return df[ACTION_COLUMNS]


def _share(account: str, t: float, kind: str, obj: str) -> dict:
    row = {"account_id": account, "t": round(t, 3), "action_type": "post"}
    if kind == "repost":
        row.update(action_type="repost", parent_id=obj)
    elif kind == "url":
        row["urls"] = [f"https://example.org/{obj}"]
    else:
        row["hashtags"] = [obj]
    return row


@st.composite
def actions_tables(draw) -> pd.DataFrame:
    """Planted groups plus noise; noise also touches the groups' objects."""
    seed = draw(st.integers(0, 2**32 - 1))
    n_groups = draw(st.integers(1, 3))
    n_noise = draw(st.integers(0, 25))
    rng = np.random.default_rng(seed)
    rows, objects = [], []
    for g in range(n_groups):
        size = int(rng.integers(3, 6))
        members = [f"g{g}m{i}" for i in range(size)]
        for o in range(int(rng.integers(3, 7))):
            kind = ["repost", "url", "hashtag"][int(rng.integers(0, 3))]
            obj = f"o{g}x{o}"
            objects.append((kind, obj))
            t0 = float(rng.uniform(0, 3 * 86400))
            for m in members:
                if rng.random() < 0.9:
                    rows.append(_share(m, t0 + float(rng.uniform(0, 30)), kind, obj))
    for i in range(n_noise):
        for _ in range(int(rng.integers(1, 6))):
            if objects and rng.random() < 0.4:
                kind, obj = objects[int(rng.integers(0, len(objects)))]
            else:
                kind, obj = ["repost", "url", "hashtag"][int(rng.integers(0, 3))], f"n{rng.integers(0, 20)}"
            rows.append(_share(f"noise{i}", float(rng.uniform(0, 3 * 86400)), kind, obj))
    return make_actions(rows)


def member_sets(det, back: dict[str, str] | None = None) -> set[frozenset[str]]:
    m = det.members[det.members["cluster_id"] >= 0]
    ids = m["account_id"].map(back) if back else m["account_id"]
    return {frozenset(g) for _, g in ids.groupby(m["cluster_id"])}


def _canonical(df: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return df.sort_values(key, kind="stable").reset_index(drop=True)


@SETTINGS
@given(actions=actions_tables(), order_seed=st.integers(0, 2**32 - 1))
def test_row_order_changes_no_output(actions, order_seed):
    shuffled = actions.sample(frac=1.0, random_state=order_seed % 2**32).reset_index(drop=True)
    a, b = cib.detect(actions, **FAST), cib.detect(shuffled, **FAST)
    assert member_sets(a) == member_sets(b)
    pd.testing.assert_frame_equal(a.clusters, b.clusters)
    pd.testing.assert_frame_equal(a.members, b.members)
    pd.testing.assert_frame_equal(_canonical(a.edges, ["account_u", "account_v"]),
                                  _canonical(b.edges, ["account_u", "account_v"]))


@SETTINGS
@given(actions=actions_tables(), salt=st.text(min_size=1, max_size=8))
def test_account_relabelling_changes_no_cluster(actions, salt):
    ids = sorted(actions["account_id"].unique())
    new = {a: "acct_" + hashlib.sha256((salt + a).encode()).hexdigest()[:12] for a in ids}
    assert len(set(new.values())) == len(ids)
    back = {v: k for k, v in new.items()}
    renamed = actions.assign(account_id=actions["account_id"].map(new))
    a, b = cib.detect(actions, **FAST), cib.detect(renamed, **FAST)
    assert member_sets(a) == member_sets(b, back)
    weights = a.edges.set_index(["account_u", "account_v"])["weight"]
    renamed_back = b.edges.assign(u=b.edges["account_u"].map(back), v=b.edges["account_v"].map(back))
    pairs = renamed_back.apply(lambda r: tuple(sorted((r["u"], r["v"]))), axis=1)
    assert dict(zip(pairs, renamed_back["weight"])) == {tuple(k): w for k, w in weights.items()}


def _pair_set(pairs: pd.DataFrame) -> set:
    return {(k, o, frozenset((x, y))) for k, o, x, y in
            pairs[["kind", "object_id", "action_a", "action_b"]].itertuples(index=False)}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(actions=actions_tables(), small=st.integers(0, 600), extra=st.integers(0, 86400))
def test_a_larger_window_never_loses_a_coaction(actions, small, extra):
    traces = cib.build_traces(actions)
    narrow, wide = cib.coactions(traces, small), cib.coactions(traces, small + extra)
    assert _pair_set(narrow) <= _pair_set(wide)
    # and the wide join, cut at the narrow window, is the narrow join
    assert _pair_set(wide[wide["delay_s"] <= small]) == _pair_set(narrow)


@SETTINGS
@given(actions=actions_tables(), copies=st.integers(2, 3))
def test_exact_duplicate_rows_do_not_change_edge_weight(actions, copies):
    doubled = pd.concat([actions] * copies, ignore_index=True)
    a, b = cib.detect(actions, **FAST), cib.detect(doubled, **FAST)
    key = ["account_u", "account_v"]
    for x, y in ((a.edges, b.edges), (a.edges_by_kind, b.edges_by_kind)):
        k = key + (["kind"] if "kind" in x.columns else [])
        wx, wy = _canonical(x, k), _canonical(y, k)
        pd.testing.assert_frame_equal(wx[k + ["weight", "weighted"]], wy[k + ["weight", "weighted"]])
    assert member_sets(a) == member_sets(b)


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(actions=actions_tables())
def test_duplicate_rows_in_a_file_are_dropped_and_counted(tmp_path_factory, actions):
    path = tmp_path_factory.mktemp("dups") / "actions.csv"
    flat = actions.assign(timestamp=actions["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                          urls=actions["urls"].map(" ".join),
                          hashtags=actions["hashtags"].map(" ".join))
    flat = flat.drop(columns=["mentions", "media", "text", "platform"])
    pd.concat([flat, flat.iloc[::2]], ignore_index=True).to_csv(path, index=False)
    read, rejects, stats = cib.read_actions(path)
    assert len(rejects) == 0
    assert stats["duplicates_dropped"] == len(flat.iloc[::2])
    assert stats["rows_read"] == len(read) + stats["duplicates_dropped"]
    assert sorted(read["action_id"]) == sorted(actions["action_id"])


# ---------------------------------------------------------------------------------------------
# Determinism: the same input and seed give the same bytes
# ---------------------------------------------------------------------------------------------

def _folder_bytes(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _manifest_without_timings(data: bytes) -> dict:
    manifest = json.loads(data)
    manifest.pop("timings_s", None)
    manifest.get("outputs", {}).pop("manifest.json", None)
    return manifest


def test_two_runs_with_the_same_input_and_seed_are_byte_identical(tmp_path):
    actions, truth = simulate(n_accounts=400, n_groups=3, seed=9)
    write_simulation(tmp_path / "sim", actions, truth)
    hostile = Path(__file__).parent / "bad_inputs" / "html_js_formula_names.csv"
    for name, source in (("sim", tmp_path / "sim" / "actions.csv"), ("hostile", hostile)):
        runs = []
        for i in (1, 2):
            out = tmp_path / f"{name}{i}"
            res = CliRunner().invoke(main, ["detect", str(source), "-o", str(out), "--seed", "3",
                                            "--n-null", "19", "--fdr-runs", "3"])
            assert res.exit_code == 0, res.output
            runs.append(_folder_bytes(out))
        first, second = runs
        assert set(first) == set(second) and len(first) >= 15
        for file in first:
            if file == "manifest.json":
                assert _manifest_without_timings(first[file]) == _manifest_without_timings(second[file])
            else:
                assert first[file] == second[file], f"{name}: {file} differs between two runs"
        if name == "sim":  # the runs found something, so the files hold more than headers
            assert json.loads(first["manifest.json"])["counts"]["flagged"] >= 1
