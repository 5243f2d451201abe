"""The Dask engine (issue 8): byte-identical outputs to the default engine, whatever the number of
partitions; the same errors; the chunked simulation behind the out-of-core benchmark.

Runs on an in-process 2-worker LocalCluster (a few seconds); skipped when dask is not installed
(the ``dev`` extra installs it, so CI runs it).
"""

from __future__ import annotations

import contextlib
import filecmp
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

distributed = pytest.importorskip("distributed")

from cib import distributed as cd  # noqa: E402
from cib.cli import main  # noqa: E402
from cib.datasets import simulate  # noqa: E402
from cib.errors import InputError, ParameterError  # noqa: E402
from cib.io import read_actions  # noqa: E402
from cib.pipeline import detect  # noqa: E402

FAST = dict(n_null=20, fdr_runs=5, discovery_runs=4)
#: manifest fields that say how the run was made (engine, stage timings), not what it found
RUN_FIELDS = ("timings_s", "engine")


@pytest.fixture(scope="module")
def client():
    with cd.local_client(n_workers=2, processes=False) as c:
        yield c


@pytest.fixture(scope="module")
def actions():
    return simulate(n_accounts=400, n_groups=3, seed=5)[0]


@pytest.fixture(scope="module")
def reference(actions, tmp_path_factory):
    det = detect(actions, **FAST)
    out = tmp_path_factory.mktemp("ref")
    det.write(out)
    return det, out


def _same_outputs(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        if name == "manifest.json":
            ma, mb = (json.loads((d / name).read_text()) for d in (a, b))
            for m in (ma, mb):
                for k in RUN_FIELDS:
                    m.pop(k, None)
                m.get("outputs", {}).pop("manifest.json", None)
            assert ma == mb
        else:
            assert filecmp.cmp(a / name, b / name, shallow=False), name


def _kept_traces(ref) -> pd.DataFrame:
    """The default engine's TRACES as the dask engine's ``Detection.traces`` holds them: every
    trace of the accounts in the graph and the clusters (the members' table)."""
    tr = ref.traces
    keep = tr["account_id"].isin(ref.members["account_id"]).to_numpy()
    return tr[keep].reset_index(drop=True)


@pytest.mark.parametrize("partitions", [1, 3, 8])
def test_identical_to_default_engine(client, actions, reference, partitions, tmp_path):
    det = detect(actions, engine="dask", client=client, partitions=partitions, **FAST)
    det.write(tmp_path)
    _same_outputs(reference[1], tmp_path)
    kept = _kept_traces(reference[0])
    assert det.traces.equals(kept)
    assert len(kept) < len(reference[0].traces)  # the other accounts' traces stay behind
    for c in reference[0].clusters["cluster_id"]:  # a cluster's view has all its traces
        assert det.cluster(int(c)).traces.equals(reference[0].cluster(int(c)).traces)
    eng = det.manifest["engine"]
    assert eng["name"] == "dask" and eng["partitions"] == partitions and eng["workers"] == 2
    assert {k: v for k, v in eng.items() if k in reference[0].manifest["engine"]} == \
        reference[0].manifest["engine"]


def test_input_order_and_partitions_do_not_matter(client, actions, reference):
    shuffled = actions.sample(frac=1.0, random_state=3).reset_index(drop=True)
    det = detect(shuffled, engine="dask", client=client, partitions=5, **FAST)
    for name in ("clusters", "members", "edges", "evidence"):
        pd.testing.assert_frame_equal(getattr(det, name), getattr(reference[0], name))


def test_pairs_in_small_blocks(client, actions, reference, monkeypatch):
    """The join tasks hold their pairs in blocks of PAIR_BLOCK: many small blocks give the
    same outputs and counts (edges_all included)."""
    monkeypatch.setattr(cd, "PAIR_BLOCK", 50)
    det = detect(actions, engine="dask", client=client, partitions=4, **FAST)
    for name in ("clusters", "members", "edges", "evidence"):
        pd.testing.assert_frame_equal(getattr(det, name), getattr(reference[0], name))
    assert det.manifest["counts"] == reference[0].manifest["counts"]


def test_min_weight_three(client, actions):
    """Pairs whose weight reaches min_weight only summed over partitions (weight 1 on one, 2 on
    another) are candidates, as on one machine."""
    ref = detect(actions, min_weight=3, **FAST)
    det = detect(actions, engine="dask", client=client, partitions=6, min_weight=3, **FAST)
    for name in ("clusters", "members", "edges", "evidence"):
        pd.testing.assert_frame_equal(getattr(det, name), getattr(ref, name))
    assert det.manifest["counts"] == ref.manifest["counts"]


def test_without_per_author_evidence(client, actions, tmp_path):
    """per_author=False: the workers keep no (action id, author) table, and the files are
    those of the default engine with the same option."""
    ref = detect(actions, per_author=False, **FAST)
    ref.write(tmp_path / "ref")
    det = detect(actions, engine="dask", client=client, partitions=3, per_author=False, **FAST)
    det.write(tmp_path / "dask")
    _same_outputs(tmp_path / "ref", tmp_path / "dask")


def test_near_duplicate_texts_across_partitions(client):
    base = "vote now, the election is rigged! share this before they delete it"
    texts = [base, base.replace("vote", "VOTE"), base + " !!", base.replace("rigged", "rigged!!"),
             "an unrelated text about lunch today", "another unrelated text about the weather"]
    n = 60
    rng = np.random.default_rng(0)
    ts = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 600, n), unit="s")
    acts = pd.DataFrame({
        "action_id": [f"a{i:03d}" for i in range(n)],
        "account_id": [f"u{i % 12:02d}" for i in range(n)],
        "timestamp": ts.astype("datetime64[ns, UTC]"),
        "action_type": pd.Categorical(["post"] * n, categories=["post", "repost", "reply", "quote"]),
        "parent_id": [None] * n,
        "text": [texts[i % len(texts)] for i in range(n)],
        "urls": [[] for _ in range(n)], "hashtags": [[] for _ in range(n)],
        "mentions": [[] for _ in range(n)], "media": [[] for _ in range(n)],
        "platform": ["x"] * n,
    })
    ref = detect(acts, kinds="text", **FAST)
    for p in (1, 4):
        det = detect(acts, kinds="text", engine="dask", client=client, partitions=p, **FAST)
        assert det.traces.equals(_kept_traces(ref))
    assert ref.traces["object_id"].nunique() == 3  # the four variants are one group


def _files(tmp_path: Path, actions: pd.DataFrame) -> list[str]:
    """The actions in three files, with a bad row, an exact duplicate across files and a
    reused action id with other content."""
    third = len(actions) // 3
    parts = [actions.iloc[:third].copy(), actions.iloc[third:2 * third].copy(),
             actions.iloc[2 * third:].copy()]
    parts[1] = pd.concat([parts[1], parts[0].iloc[:5]])            # exact duplicates
    clash = parts[0].iloc[[7]].copy()
    clash["account_id"] = "someone_else"
    parts[2] = pd.concat([parts[2], clash])                        # same id, other content
    paths = []
    for i, p in enumerate(parts):
        path = tmp_path / f"part{i}.csv"
        t = p.copy()
        for c in ("urls", "hashtags", "mentions", "media"):
            t[c] = [" ".join(v) for v in t[c]]
        t["timestamp"] = t["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        t.to_csv(path, index=False)
        paths.append(str(path))
    with open(paths[1], "a") as f:                                 # a row with a bad timestamp
        f.write("bad1,u1,yesterday,post,,hello,,,,,sim\n")
    return paths


@pytest.fixture
def in_process(client, monkeypatch):
    """The CLI's dask runs use the test cluster instead of starting their own."""

    @contextlib.contextmanager
    def fake(scheduler=None, memory_limit=None, n_workers=None, processes=True):
        yield client

    monkeypatch.setattr(cd, "local_client", fake)


def test_cli_files_identical(in_process, actions, tmp_path):
    paths = _files(tmp_path, actions)
    out0, out1 = tmp_path / "o0", tmp_path / "o1"
    args = ["--n-null", "20", "--fdr-runs", "5", "--discovery-runs", "4"]
    r0 = CliRunner().invoke(main, ["-q", "detect", *paths, "-o", str(out0), *args])
    assert r0.exit_code == 0, r0.output
    r1 = CliRunner().invoke(main, ["-q", "detect", *paths, "-o", str(out1), *args,
                                   "--engine", "dask", "--partitions", "3"])
    assert r1.exit_code == 0, r1.output
    _same_outputs(out0, out1)
    rejects = pd.read_csv(out1 / "rejects.csv")
    assert sorted(rejects["reason"]) == ["duplicate action_id with different content",
                                         "unparsable timestamp"]
    m = json.loads((out1 / "manifest.json").read_text())
    assert m["rows"]["duplicates_dropped"] == 5


def test_cli_scheduler_address(client, actions, tmp_path):
    """--scheduler connects to a running cluster (the test's, by its address: no fake) and
    gives the default engine's files; -v prints the dashboard and the distributed stages."""
    paths = _files(tmp_path, actions)
    out0, out1 = tmp_path / "o0", tmp_path / "o1"
    args = ["--n-null", "20", "--fdr-runs", "5", "--no-discover"]
    r0 = CliRunner().invoke(main, ["-q", "detect", *paths, "-o", str(out0), *args])
    assert r0.exit_code == 0, r0.output
    r1 = CliRunner().invoke(main, ["-v", "detect", *paths, "-o", str(out1), *args,
                                   "--engine", "dask", "--scheduler", client.scheduler.address])
    assert r1.exit_code == 0, r1.output
    _same_outputs(out0, out1)
    assert f"Dask scheduler {client.scheduler.address}, dashboard " in r1.stderr
    for stage in ("dask_read", "dask_text_groups", "dask_join", "dask_gather", "scoring"):
        assert f" {stage} done in " in r1.stderr
    assert client.status == "running"  # cib's own client closed, the cluster left as it was
    bad = CliRunner().invoke(main, ["detect", *paths, "-o", str(tmp_path / "o2"), "--engine",
                                    "dask", "--scheduler", client.scheduler.address,
                                    "--memory-limit", "2G"])
    assert bad.exit_code == 2 and "--memory-limit" in bad.output


def test_local_cluster_logs_its_dashboard(caplog, monkeypatch):
    import importlib.util
    import logging

    with caplog.at_level(logging.INFO, logger="cib"):
        with cd.local_client(n_workers=1, processes=False):
            pass
    board = [r.getMessage() for r in caplog.records if "dashboard" in r.getMessage()]
    if importlib.util.find_spec("bokeh"):  # cib[dask] installs it
        assert len(board) == 1 and "dashboard http://" in board[0]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "bokeh" else real(name, *a))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cib"):
        with cd.local_client(n_workers=1, processes=False):
            pass
    assert any("install bokeh" in r.getMessage() for r in caplog.records)


def test_fan_out_pieces_by_source_and_destination(client):
    """pieces[source][destination] is fn(source)[destination], each piece its own future."""
    def cut(x, n, scale):
        return [(x, d, scale) for d in range(n)]

    pieces = cd._fan_out(client, cut, ["a", "b", "c"], 4, 4, scale=2)
    assert [len(p) for p in pieces] == [4, 4, 4]
    got = [[f.result() for f in p] for p in pieces]
    assert got == [[(x, d, 2) for d in range(4)] for x in "abc"]
    assert len({f.key for p in pieces for f in p}) == 12


def test_fan_in_reduces_each_destination_and_lets_the_pieces_go(client):
    """Reducer r gets piece r of every source, in source order; the caller's pieces are gone,
    so the scheduler frees each piece once its reducer has run."""
    def cut(x, n):
        return [f"{x}{d}" for d in range(n)]

    def join(*parts, sep):
        return sep.join(parts)

    pieces = cd._fan_out(client, cut, ["a", "b", "c"], 2, 2)
    keys = {f.key for p in pieces for f in p}
    out = cd._fan_in(client, join, pieces, 2, sep="+")
    assert pieces == []
    assert [f.result() for f in out] == ["a0+b0+c0", "a1+b1+c1"]

    def held(dask_scheduler):
        return [k for k in keys
                if k in dask_scheduler.tasks and dask_scheduler.tasks[k].who_wants]

    for _ in range(50):  # the client tells the scheduler in batches
        if not client.run_on_scheduler(held):
            break
        time.sleep(0.1)
    assert client.run_on_scheduler(held) == []

def test_read_partitioned_matches_read_actions(client, actions, tmp_path):
    paths = _files(tmp_path, actions)
    a0, r0, s0 = read_actions(paths, progress=False)
    parts, r1, s1 = cd.read_partitioned(paths, client=client)
    pd.testing.assert_frame_equal(r0, r1)
    assert s0 == s1
    got = pd.concat([parts.partition(i) for i in range(len(parts.parts))], ignore_index=True)
    got = got.sort_values(["timestamp", "account_id", "action_id"], kind="mergesort",
                          ignore_index=True)
    pd.testing.assert_frame_equal(a0, got)


def test_same_errors(client, actions, tmp_path):
    paths = _files(tmp_path, actions)
    with pytest.raises(InputError) as e0:
        read_actions(paths, on_error="fail", progress=False)
    with pytest.raises(InputError) as e1:
        cd.read_partitioned(paths, on_error="fail", client=client)
    assert str(e0.value) == str(e1.value)
    missing = tmp_path / "nocols.csv"
    missing.write_text("user,when\nx,2024-01-01\n")
    with pytest.raises(InputError) as e0:
        read_actions([paths[0], str(missing)], progress=False)
    with pytest.raises(InputError) as e1:
        cd.read_partitioned([paths[0], str(missing)], client=client)
    assert str(e0.value) == str(e1.value) and "nocols.csv" in str(e1.value)
    for bad in (dict(window="-1s"), dict(min_weight=0), dict(method="nope"),
                dict(kinds="nope")):
        with pytest.raises(ParameterError) as e0:
            detect(actions, **bad)
        with pytest.raises(ParameterError) as e1:
            detect(actions, engine="dask", client=client, **bad)
        assert str(e0.value) == str(e1.value)
    with pytest.raises(ParameterError, match="engine"):
        detect(actions, engine="spark")


def test_cli_errors(in_process, tmp_path):
    bad = tmp_path / "nocols.csv"
    bad.write_text("user,when\nx,2024-01-01\n")
    r0 = CliRunner().invoke(main, ["detect", str(bad), "-o", str(tmp_path / "o0")])
    r1 = CliRunner().invoke(main, ["detect", str(bad), "-o", str(tmp_path / "o1"),
                                   "--engine", "dask"])
    assert r0.exit_code == r1.exit_code == 2
    assert r0.output == r1.output and "Traceback" not in r1.output
    r = CliRunner().invoke(main, ["detect", str(bad), "-o", str(tmp_path / "o2"),
                                  "--partitions", "3"])
    assert r.exit_code == 2 and "--engine dask" in r.output


def test_missing_dask_is_a_clear_error(monkeypatch, actions, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ParameterError, match=r"cib\[dask\]"):
        detect(actions, engine="dask")
    r = CliRunner().invoke(main, ["detect", "x.csv", "-o", str(tmp_path / "o"), "--engine",
                                  "dask"])
    assert r.exit_code == 2 and "cib[dask]" in r.output


def test_chunked_simulation(tmp_path):
    from cib.chunked import simulate_chunks

    chunks = list(simulate_chunks(6_000, chunk_actions=2_000, groups_per_chunk=2, seed=4))
    again = list(simulate_chunks(6_000, chunk_actions=2_000, groups_per_chunk=2, seed=4))
    assert len(chunks) == 3
    for (a, t), (b, u) in zip(chunks, again):
        pd.testing.assert_frame_equal(a, b)
    acts = pd.concat([a for a, _ in chunks], ignore_index=True)
    truth = pd.concat([t for _, t in chunks], ignore_index=True)
    assert acts["action_id"].is_unique and truth["account_id"].is_unique
    assert set(acts["account_id"]) <= set(truth["account_id"])
    parents = acts["parent_id"].dropna()
    assert (parents.str[:6] == acts.loc[parents.index, "account_id"].str[:6]).all()
    assert sorted(truth.loc[truth["group"] >= 0, "group"].unique()) == list(range(6))
    r = CliRunner().invoke(main, ["simulate", "--actions", "3000", "--chunk-actions", "1000",
                                  "--format", "parquet", "-o", str(tmp_path / "sim")])
    assert r.exit_code == 0, r.output
    files = sorted((tmp_path / "sim" / "actions").glob("*.parquet"))
    assert [f.name for f in files] == [f"part-0000{i}.parquet" for i in range(3)]
    back, rejects, _ = read_actions([str(f) for f in files], progress=False)
    assert len(rejects) == 0 and len(back) > 2500


@pytest.mark.parametrize("n_buckets", [1, 3, 7])
def test_merge_buckets_is_the_sorted_concatenation(actions, n_buckets):
    """The central merge of the (kind, object) partitions equals concatenating them and sorting
    by the five TRACES keys (objects are whole in a partition, partitions are sorted), with
    ties on time between accounts and objects whose ids differ only late in the string."""
    from cib.traces import build_traces

    tr = build_traces(actions)
    extra = tr.iloc[:40].copy()
    extra["object_id"] = extra["object_id"].astype(str) + "~"  # sorts after its prefix
    extra["timestamp"] = extra["timestamp"].iloc[0]  # all at one time
    tr = pd.concat([tr, extra], ignore_index=True)
    buckets = [cd._bucket(p) for p in cd._split(tr.sample(frac=1, random_state=n_buckets),
                                                n_buckets)]
    want = pd.concat(buckets, ignore_index=True).sort_values(
        ["kind", "object_id", "timestamp", "account_id", "action_id"], kind="mergesort",
        ignore_index=True)
    accounts = pd.Index(np.sort(tr["account_id"].unique().astype(object)))
    # the workers' action codes: any one-to-one code of the ids (rows of ACTIONS)
    ids = pd.Index(pd.unique(tr["action_id"]))
    coded_buckets = [b.assign(_action=3 * ids.get_indexer(b["action_id"]) + 5) for b in buckets]
    pieces = [cd._bucket_coded(b, accounts) for b in coded_buckets]
    frames = [b for b in buckets if len(b)]
    got = cd._merge_buckets(frames)
    assert frames == []
    pd.testing.assert_frame_equal(got, want)
    assert cd._merge_buckets([]).empty
    # coded on the workers and merged as codes: the codes of the merged frame, and its rows
    from cib.nullmodel import _Coded

    codes = cd._merge_coded([p for p in pieces if p["n"]])
    dtypes = codes.pop("dtypes")
    assert list(dtypes.index) == list(want.columns)
    c = _Coded.from_codes(accounts=accounts, **codes)
    ref = _Coded(want, accounts)
    for name in ("group", "group_kind", "kind_names", "account", "time", "n", "bins",
                 "bin_code"):
        np.testing.assert_array_equal(getattr(c, name), getattr(ref, name), err_msg=name)
    # the workers' action codes, in the merged order: one code per id, as the ids compare
    np.testing.assert_array_equal(c.action, 3 * ids.get_indexer(want["action_id"]) + 5)
    assert c.group_object.equals(ref.group_object)
    assert c.group_object.dtype == ref.group_object.dtype
    assert list(c.accounts) == list(ref.accounts)
    assert c.trace_rows(None, want["action_id"], dtypes).equals(want)
    assert cd._merge_coded([]) is None


def test_authors_looked_up_on_the_workers(client, actions):
    """The posts' authors from the workers' ``action_id, account_id`` partitions: the default
    engine's lookup (first row of an id), with an id in two partitions answered by the first
    and ids not in the data left None."""
    from cib.nullmodel import authors_of

    frames = cd._split_frame(actions, 3)
    dup = frames[2].iloc[:1].assign(action_id=frames[0]["action_id"].iloc[0], account_id="late")
    frames[2] = pd.concat([frames[2], dup], ignore_index=True)
    store = [client.submit(cd._ids_part, f, pure=False) for f in client.scatter(frames)]
    ids = np.array([*actions["action_id"].iloc[::97], "nope", frames[0]["action_id"].iloc[0]],
                   dtype=object)
    got = cd._lookup_authors(client, store, ids)
    want = authors_of(pd.concat(frames, ignore_index=True), ids)
    assert list(got) == list(want)
    assert got[-2] is None and got[-1] == frames[0]["account_id"].iloc[0] != "late"


def test_counts_and_warnings_from_the_workers(in_process, actions, tmp_path):
    """The dask engine gathers only the original posts: the manifest's counts of actions and
    accounts and the input warnings (timestamps before 2000 or in the future) come from the
    workers, the same as the default engine's."""
    paths = _files(tmp_path, actions)
    with open(paths[2], "a") as f:
        f.write("old1,u1,1990-01-01T00:00:00Z,post,,hello,,,,,sim\n"
                "new1,u2,2199-01-01T00:00:00Z,post,,hello,,,,,sim\n"
                "new2,zz_only_here,2199-01-01T00:00:01Z,repost,a000001,,,,,,sim\n")
    outs = []
    for k, extra in enumerate([[], ["--engine", "dask", "--partitions", "2"]]):
        out = tmp_path / f"o{k}"
        r = CliRunner().invoke(main, ["detect", *paths, "-o", str(out), "--n-null", "20",
                                      "--fdr-runs", "5", "--no-discover", *extra])
        assert r.exit_code == 0, r.output
        assert "1 timestamp is before 2000" in r.output and "2 timestamps are in the future" \
            in r.output
        outs.append(json.loads((out / "manifest.json").read_text()))
    for key in ("counts", "rows", "warnings"):
        assert outs[0][key] == outs[1][key]
    assert outs[1]["counts"]["actions"] == len(actions) + 3  # _files' duplicates dropped
    assert outs[1]["counts"]["accounts"] == actions["account_id"].nunique() + 3  # u1 u2 zz_


def test_action_codes_and_ids_on_the_workers(client, actions):
    """The workers' action codes are the actions' rows over all partitions (ids are unique),
    so they compare as the ids do, and the central lookup by code gives the ids back."""
    frames = cd._split_frame(actions, 3)
    sizes = [len(f) for f in frames]
    offsets = np.cumsum([0, *sizes])
    row_of = {a: i for i, a in enumerate(actions["action_id"])}
    for f, o in zip(frames, offsets):
        ids = f["action_id"].sample(frac=1, random_state=1)
        assert cd._trace_actions(f, ids, int(o)).tolist() == [row_of[a] for a in ids]
    stores = [client.submit(cd._action_store, p, pure=False) for p in client.scatter(frames)]
    trace_codes = np.arange(len(actions), dtype=np.int64)[::-1].copy()
    col = cd._ActionIds(client, stores, sizes, trace_codes, np.dtype(object))
    rows = np.array([5, 0, len(actions) - 1, 5, sizes[0] + 2], dtype=np.int64)
    got = col["action_id"].take(rows)
    assert got.tolist() == actions["action_id"].iloc[::-1].iloc[rows].tolist()
    assert got.dtype == object and len(col) == len(actions) and not col.empty
    assert col.take(np.zeros(0, np.int64)).empty
    with pytest.raises(KeyError):
        col["account_id"]


def test_repeated_action_ids_are_an_input_error(client, actions):
    """The engine codes actions by row: a DataFrame that repeats an action id is refused with
    the id and its position (the readers drop or reject such rows)."""
    from cib.errors import InputError

    acts = pd.concat([actions, actions.iloc[[7]]], ignore_index=True)
    with pytest.raises(InputError, match=r"1 row\(s\) repeat .*position %d" % len(actions)):
        detect(acts, engine="dask", client=client, partitions=2, **FAST)


def test_hashed_account_lookup_is_the_index_lookup():
    accounts = pd.Index(sorted({f"user{i % 997}" for i in range(3000)} | {"", "é", "a b"}))
    look = cd._HashedAccounts.of(accounts)
    assert look is not None and len(look) == len(accounts)
    some = pd.Index(["é", "user5", "", "user996", "a b"])
    np.testing.assert_array_equal(look.get_indexer(some), accounts.get_indexer(some))
    np.testing.assert_array_equal(look.get_indexer(accounts), np.arange(len(accounts)))
    empty = cd._HashedAccounts.of(pd.Index([], dtype=object))
    assert len(empty) == 0 and empty.get_indexer(pd.Index(["x"])).tolist() == [-1]


def test_account_hash_collision_falls_back_to_the_index(client, actions, reference,
                                                        monkeypatch):
    """Two accounts with one hash: the workers are sent the Index itself, and the results
    are unchanged."""
    assert cd._HashedAccounts.of(pd.Index(["a", "b"])) is not None
    monkeypatch.setattr(cd, "_account_hashes",
                        lambda values: np.zeros(len(values), dtype=np.uint64))
    assert cd._HashedAccounts.of(pd.Index(["a", "b"])) is None
    det = detect(actions, engine="dask", client=client, partitions=3, **FAST)
    for name in ("clusters", "members", "edges", "evidence"):
        pd.testing.assert_frame_equal(getattr(det, name), getattr(reference[0], name))
