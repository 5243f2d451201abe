"""The co-action engine of ``detect`` (cib.coaction._engine): every pass equals the same figure
computed from the fully materialised reference join, on random inputs, with numba and with the
numpy fallback; the memory budget, the max_partners cap and their reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cib
from cib.cli import main
from cib.coaction import combine_edges, edges_per_kind, reference_coactions
from cib.coaction._engine import (CodedTraces, MemoryBudgetError, SortedTraces, coaction_frame,
                                  parse_memory_budget, repeated_object_rows)
from cib.coaction._kernel import HAVE_NUMBA
from cib.errors import CibError, ParameterError
from cib.graph import threshold_edges
from cib.nullmodel import _Coded

from _helpers import make_traces

ENGINES = [True, False] if HAVE_NUMBA else [False]

rows_strategy = st.lists(
    st.tuples(st.sampled_from(list("abcdef")), st.integers(0, 300),
              st.sampled_from(["repost", "url", "hashtag"]), st.sampled_from(list("pqrs"))),
    min_size=0, max_size=50)

QUICK = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _combined_reference(tr, window, min_weight):
    ref = reference_coactions(tr, window)
    comb = combine_edges(edges_per_kind(ref, tr), ref)
    return ref, threshold_edges(comb, min_weight)


@QUICK
@given(rows=rows_strategy, window=st.integers(0, 120), min_weight=st.integers(1, 3),
       budget=st.sampled_from([None, 1, 7]))
def test_engine_passes_equal_the_materialised_reference(rows, window, min_weight, budget):
    # duplicate rows, one-account objects, equal timestamps and dt == window all occur here
    tr = make_traces(rows)
    ref, want = _combined_reference(tr, window, min_weight)
    if ref.empty:
        ref = coaction_frame(tr, CodedTraces(tr), np.empty(0, int), np.empty(0, int))
    coded = CodedTraces(tr)
    acc = coded.accounts
    for use_numba in ENGINES:
        s = SortedTraces(coded, window_ns=window * 10**9, budget_pairs=budget or 10**6,
                         use_numba=use_numba)
        # candidate edges: weight filtered while aggregating
        e = s.edges(min_weight)
        got = pd.DataFrame({"account_u": acc[e["u"]], "account_v": acc[e["v"]],
                            "weight": e["weight"], "n_pairs": e["n_pairs"]})
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True),
            want[["account_u", "account_v", "weight", "n_pairs"]].reset_index(drop=True),
            check_dtype=False, check_index_type=False)
        all_pairs = ref[["account_a", "account_b"]].apply(lambda r: tuple(sorted(r)), axis=1)
        assert e["n_edges_all"] == all_pairs.nunique()
        # co-actions per object and co-acting traces
        per_group, has = s.trace_partners()
        assert per_group.sum() == len(ref)
        want_per = ref.groupby(["kind", "object_id"]).size()
        got_per = pd.Series(per_group, index=pd.MultiIndex.from_arrays(
            [coded.kind_names[coded.group_kind], coded.group_object]))
        assert got_per[got_per > 0].sort_index().astype(int).to_dict() == want_per.sort_index().to_dict()
        in_pairs = set(ref["action_a"]) | set(ref["action_b"])
        assert set(tr.loc[has, "action_id"]) == in_pairs
        # the co-actions of the candidate pairs, and of accounts with equal labels
        i, j = s.select(pairs=(e["u"], e["v"]))
        s.release()  # the structures let go are built again, the same, on next use
        i2, j2 = s.select(pairs=(e["u"], e["v"]))
        np.testing.assert_array_equal(i, i2)
        np.testing.assert_array_equal(j, j2)
        frame = coaction_frame(tr, coded, i, j)
        # without the action ids (the edge tables): the same rows, on every other key's order
        thin = coaction_frame(tr, coded, i, j, actions=False)
        assert "action_a" not in thin.columns and len(thin) == len(frame)
        cols = list(thin.columns)
        pd.testing.assert_frame_equal(
            thin.sort_values(cols, kind="mergesort", ignore_index=True),
            frame[cols].sort_values(cols, kind="mergesort", ignore_index=True))
        keep = ["kind", "object_id", "time_a", "account_a", "account_b"]
        pd.testing.assert_frame_equal(thin[keep], frame[keep])  # the same order on these keys
        keys = set(zip(want["account_u"], want["account_v"]))
        mask = [tuple(sorted(p)) in keys for p in zip(ref["account_a"], ref["account_b"])]
        pd.testing.assert_frame_equal(frame, ref[np.array(mask, dtype=bool)].reset_index(drop=True),
                                      check_dtype=False)
        labels = np.arange(coded.n_accounts) % 2
        i, j = s.select(labels=labels)
        frame = coaction_frame(tr, coded, i, j)
        lab = dict(zip(acc, labels))
        same = [lab[a] == lab[b] for a, b in zip(ref["account_a"], ref["account_b"])]
        pd.testing.assert_frame_equal(frame, ref[np.array(same, dtype=bool)].reset_index(drop=True),
                                      check_dtype=False)


def test_min_weight_filters_while_aggregating_a_burst():
    # 300 accounts share one post within a minute: 44,850 co-acting pairs, none of weight 2
    rows = [(f"u{k:03d}", k % 60, "repost", "p") for k in range(300)]
    rows += [("u000", 500, "repost", "q"), ("u001", 501, "repost", "q")]
    coded = CodedTraces(make_traces(rows))
    for use_numba in ENGINES:
        e = SortedTraces(coded, window_ns=60 * 10**9, use_numba=use_numba).edges(2)
        assert e["n_edges_all"] == 300 * 299 // 2
        assert e["u"].tolist() == [0] and e["v"].tolist() == [1] and e["weight"].tolist() == [2]


def test_select_stops_at_the_memory_budget():
    rows = [(f"u{k}", k, "repost", "p") for k in range(20)]
    coded = CodedTraces(make_traces(rows))
    for use_numba in ENGINES:
        s = SortedTraces(coded, window_ns=60 * 10**9, max_selected=10, use_numba=use_numba)
        with pytest.raises(MemoryBudgetError, match="--memory-budget"):
            s.select(labels=np.zeros(coded.n_accounts, dtype=np.int64))


def test_parse_memory_budget():
    assert parse_memory_budget("1.5G") == int(1.5 * 2**30)
    assert parse_memory_budget("200 MB") == 200 * 2**20
    for bad in ("lots", "-1G", 0, "G"):
        with pytest.raises(ParameterError):
            parse_memory_budget(bad)


def _lockstep(seed=1):
    from cib.datasets import simulate

    return simulate(n_accounts=300, n_groups=2, seed=seed)[0]


def test_detect_equals_the_fully_materialised_pipeline():
    actions = _lockstep()
    det = cib.detect(actions, n_null=10, fdr_runs=3, timing=False)
    ref, want = _combined_reference(det.traces, 60, 2)
    cols = ["account_u", "account_v", "weight", "weighted", "n_pairs", "min_delay_s",
            "median_delay_s", "first_time", "last_time", "kinds"]
    pd.testing.assert_frame_equal(det.edges[cols], want[cols].reset_index(drop=True))
    assert det.manifest["counts"]["coactions"] == len(ref)
    labels = det.members.set_index("account_id")["cluster_id"]
    from cib.scoring import intra_cluster

    pd.testing.assert_frame_equal(det.cluster_coactions,
                                  intra_cluster(ref, labels).reset_index(drop=True))


def test_max_partners_is_reported_never_silent():
    actions = _lockstep()
    det = cib.detect(actions, n_null=5, fdr_runs=2, max_partners=2)
    eng = det.manifest["engine"]
    assert eng["max_partners"] == 2 and eng["dropped_pairs"] > 0
    assert "max_partners" in det.summary() and f"{eng['dropped_pairs']:,}" in det.summary()
    exact = cib.detect(actions, n_null=5, fdr_runs=2)
    assert exact.manifest["engine"]["dropped_pairs"] == 0
    assert "max_partners" not in exact.summary()
    assert det.manifest["counts"]["coactions"] < exact.manifest["counts"]["coactions"]


def test_memory_budget_error_from_api_and_cli(tmp_path):
    actions = _lockstep()
    with pytest.raises(CibError, match="memory budget"):
        cib.detect(actions, n_null=5, fdr_runs=2, memory_budget=1000)
    path = tmp_path / "a.csv"
    actions.to_csv(path, index=False)
    res = CliRunner().invoke(main, ["detect", str(path), "-o", str(tmp_path / "out"),
                                    "--memory-budget", "1K", "--n-null", "5"])
    assert res.exit_code == 2, res.output
    assert "memory budget" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "out").exists()
    res = CliRunner().invoke(main, ["detect", str(path), "-o", str(tmp_path / "out"),
                                    "--memory-budget", "lots"])
    assert res.exit_code == 2 and "memory" in res.output


def test_cli_max_partners_lands_in_manifest(tmp_path):
    import json

    path = tmp_path / "a.csv"
    _lockstep().to_csv(path, index=False)
    res = CliRunner().invoke(main, ["detect", str(path), "-o", str(tmp_path / "out"),
                                    "--max-partners", "3", "--n-null", "5", "--fdr-runs", "2"])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["engine"]["max_partners"] == 3 and m["parameters"]["max_partners"] == 3
    assert "left out" in res.output


@pytest.mark.parametrize("numba", ENGINES)
@QUICK
@given(rows=rows_strategy, window=st.sampled_from([0, 10, 60]), seed=st.integers(0, 99))
def test_sorted_traces_share_the_coded_arrays_and_answer_as_a_shuffle(numba, rows, window, seed):
    """TRACES in (kind, object, time) order (as build_traces and the dask engine give them) are
    not permuted or copied; every pass answers as for the same traces in another row order."""
    tr = make_traces(rows).sort_values(["kind", "object_id", "timestamp", "account_id",
                                        "action_id"], kind="mergesort", ignore_index=True)
    perm = np.random.default_rng(seed).permutation(len(tr))
    shuffled = tr.iloc[perm].reset_index(drop=True)
    c, cs = CodedTraces(tr), CodedTraces(shuffled)
    a = SortedTraces(c, window_ns=window * 10**9, use_numba=numba)
    b = SortedTraces(cs, window_ns=window * 10**9, use_numba=numba)
    if len(tr):
        assert np.shares_memory(a.g, c.group) and np.shares_memory(a.t, c.time)
    assert np.array_equal(a.order, np.arange(len(tr)))
    pa, ha = a.trace_partners()
    pb, hb = b.trace_partners()
    assert np.array_equal(pa, pb)
    assert np.array_equal(ha[perm], hb)  # row k of shuffled is row perm[k] of tr
    lab = np.arange(c.n_accounts) % 2
    ia, ja = a.select(labels=lab)
    ib, jb = b.select(labels=lab)
    # the same co-actions (which trace is "earlier" on equal times follows the row order)
    assert sorted(zip(np.minimum(ia, ja).tolist(), np.maximum(ia, ja).tolist())) == \
        sorted(zip(np.minimum(perm[ib], perm[jb]).tolist(), np.maximum(perm[ib], perm[jb]).tolist()))
    assert np.array_equal(a.unsort(a.t), c.time)
    assert np.array_equal(b.unsort(b.t), cs.time)


def test_time_swap_null_on_sorted_traces_draws_what_the_general_path_draws():
    """The null sampler's shortcut for traces already in (group, time) order gives the times
    of its general path, draw for draw."""
    from cib.datasets import simulate
    from cib.nullmodel import TimeSwapNull, _Coded
    from cib.traces import build_traces

    actions, _ = simulate(n_accounts=200, n_groups=2, seed=4)
    c = _Coded(build_traces(actions))
    fast = TimeSwapNull.from_coded(c)
    assert fast._sorted
    slow = TimeSwapNull.from_coded(c)
    slow._sorted, slow._plans = False, {}
    for seed in range(3):
        t1 = fast.sample(np.random.default_rng(seed))
        t2 = slow.sample(np.random.default_rng(seed))
        assert np.array_equal(t1, t2)
    assert not np.array_equal(t1, c.time)


@QUICK
@given(rows=rows_strategy, seed=st.integers(0, 5), window=st.integers(0, 120))
def test_repeated_objects_code_what_all_traces_code(rows, seed, window):
    """The rows of objects acted on at least twice (sorted TRACES read off their runs, any
    other order grouped): the same traces either way, and every one of them; coded on their
    own with the accounts of all traces, they give the account codes and the co-action edges
    of all traces."""
    rows = [(a, t, k, o[: 1 + (t % 2)]) for a, t, k, o in rows]  # objects acted on once too
    tr = make_traces(rows)
    srt = tr.sort_values(["kind", "object_id", "timestamp", "account_id", "action_id"],
                         kind="mergesort", ignore_index=True)
    shuf = tr.sample(frac=1, random_state=seed).reset_index(drop=True)
    size = tr.groupby(["kind", "object_id"])["account_id"].transform("size").to_numpy() \
        if len(tr) else np.zeros(0, int)
    for frame in (srt, shuf):
        got = repeated_object_rows(frame)
        fsize = frame.groupby(["kind", "object_id"])["account_id"].transform("size").to_numpy() \
            if len(frame) else np.zeros(0, int)
        want = np.flatnonzero(fsize >= 2)
        if want.size == len(frame):
            assert got is None
        else:
            np.testing.assert_array_equal(got, want)
    keep = repeated_object_rows(srt)
    if keep is None or keep.size == 0:
        assert keep is None or (size < 2).all()
        return
    full = CodedTraces(srt)
    part_tr = srt.take(keep).reset_index(drop=True)
    part = CodedTraces(part_tr, full.accounts)
    np.testing.assert_array_equal(part.account, full.account[keep])
    assert list(part.accounts) == list(full.accounts)
    given_codes = CodedTraces(part_tr, full.accounts, full.account[keep])
    np.testing.assert_array_equal(given_codes.account, part.account)
    rep, rep_tr, rep_rows = _Coded.repeated(shuf)
    np.testing.assert_array_equal(rep_rows, repeated_object_rows(shuf))
    np.testing.assert_array_equal(rep.accounts[rep.account], rep_tr["account_id"].to_numpy())
    assert list(rep.accounts) == list(full.accounts)
    w = window * 10**9
    e_full = SortedTraces(full, window_ns=w).edges(1)
    e_part = SortedTraces(part, window_ns=w).edges(1)
    for key in ("u", "v", "weight"):
        np.testing.assert_array_equal(e_part[key], e_full[key])


def test_coded_traces_refuse_accounts_that_miss_one():
    tr = make_traces([("a", 0, "url", "x"), ("b", 5, "url", "x")])
    with pytest.raises(ValueError, match="not in `accounts`"):
        CodedTraces(tr, pd.Index(["a"]))
    with pytest.raises(ValueError, match="one account code per trace"):
        CodedTraces(tr, pd.Index(["a", "b"]), np.array([0]))


@QUICK
@given(rows=rows_strategy, seed=st.integers(0, 5))
def test_trace_rows_rebuild_what_take_gives(rows, seed):
    """The dask engine's central process keeps only the action ids of the traces it coded:
    any rows rebuilt from the codes are the frame's own rows, values and dtypes, whether the
    traces came sorted (codes read off the runs) or not (sorted factorizations)."""
    from cib.datasets import simulate
    from cib.traces import build_traces

    frames = [make_traces(rows)]
    frames.append(frames[0].sample(frac=1, random_state=seed).reset_index(drop=True))
    if seed == 0:  # Arrow strings, as build_traces gives them
        frames.append(build_traces(simulate(n_accounts=60, n_groups=2, seed=1)[0]))
    for tr in frames:
        c = CodedTraces(tr)
        pick = np.random.default_rng(seed).integers(0, max(len(tr), 1), size=min(len(tr), 7))
        for r in (pick, None):
            got = c.trace_rows(r, tr["action_id"], tr.dtypes)
            want = tr if r is None else tr.take(r).reset_index(drop=True)
            pd.testing.assert_frame_equal(got, want)
            assert got.equals(want)


@QUICK
@given(rows=rows_strategy, seed=st.integers(0, 5))
def test_shared_incidence_from_the_codes_is_the_csr_one(rows, seed):
    """The edge tests' incidence (built from the codes, no scipy matrix) holds what the
    canonical CSR account x object incidence holds, less the objects of one account."""
    tr = make_traces(rows).sample(frac=1, random_state=seed).reset_index(drop=True)
    c = _Coded(tr)
    ptr, cols, data = c._shared_incidence()
    inc = c.incidence
    keep = np.bincount(inc.indices, minlength=c.n_groups)[inc.indices] >= 2
    r = np.repeat(np.arange(inc.shape[0]), np.diff(inc.indptr))[keep]
    want_ptr = np.concatenate(([0], np.cumsum(np.bincount(r, minlength=inc.shape[0]))))
    np.testing.assert_array_equal(ptr, want_ptr)
    np.testing.assert_array_equal(cols, inc.indices[keep])
    np.testing.assert_array_equal(data, inc.data[keep])
    # 32-bit object codes and counts (8 bytes a cell)
    assert ptr.dtype == np.int64 and cols.dtype == data.dtype == np.int32
