"""Tests of cib.export: CSV neutralising, tables, graphs, manifest, atomic folder replacement."""

from __future__ import annotations

import json
import os
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from cib import export
from cib.errors import OutputError, ParameterError
from cib.export import (
    file_sha256,
    neutralize_csv_cell,
    neutralize_frame,
    write_json,
    write_outputs,
    write_table,
)

HOSTILE = '=HYPERLINK("http://x","y")'


def _tables() -> dict[str, pd.DataFrame]:
    clusters = pd.DataFrame({
        "cluster_id": [0, 1],
        "score": [0.9, -1.25],
        "p_value": [0.001, np.nan],
        "flagged": [True, False],
        "kinds": [["repost", "url"], []],
        "first_time": pd.to_datetime(["2021-01-17T07:56:33Z", "2021-01-18T00:00:00Z"], utc=True),
        "stable_id": ["00ab", "-12"],
    })
    members = pd.DataFrame({
        "account_id": ["007", "=evil", "+1", "@bob", "\tx", "\rcr", "plain"],
        "cluster_id": [0, 0, 1, 1, -1, -1, 0],
        "coordination_ratio": [0.5, 1.0, -0.0, 0.25, 0.0, 0.1, 0.3],
    })
    evidence = pd.DataFrame({
        "cluster_id": [0],
        "kind": ["url"],
        "object_id": ["https://example.org/a"],
        "example_text": [HOSTILE],
    })
    return {"clusters": clusters, "members": members, "evidence": evidence}


def _graph() -> nx.Graph:
    g = nx.Graph(name="accounts")
    g.add_node("007", cluster=np.int64(0), score=np.float64(0.9), flagged=np.bool_(True),
               first_time=pd.Timestamp("2021-01-17 07:56:33", tz="UTC"), kinds=["repost", "url"],
               note=None, missing=np.nan)
    g.add_node("=evil", cluster=0, score=1, flagged=False, first_time=pd.NaT, kinds=[])
    g.add_node("bob", cluster=-1, score=0.1, flagged=False)
    g.add_edge("007", "=evil", weight=np.float32(3.0), n_pairs=np.int64(4),
               kinds=("repost",), first_time=pd.Timestamp("2021-01-17 07:56:33.250", tz="UTC"))
    g.add_edge("=evil", "bob", weight=1.5, n_pairs=1, kinds=["url"], median_delay_s=np.nan)
    return g


def _manifest() -> dict:
    return {
        "created": "2024-05-01T10:00:00Z",
        "params": {"window": np.int64(60), "min_weight": np.float64(2.0), "ratio": float("nan")},
        "inputs": [{"file": Path("data/x.csv"), "rows": np.int32(7)}],
        "started": pd.Timestamp("2024-05-01 10:00:00", tz="UTC"),
    }


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name != folder.name)


# --- CSV injection ---------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tcmd", "\rcmd", HOSTILE])
def test_neutralize_dangerous_cells(cell):
    assert neutralize_csv_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["plain", "", "1-1", " =1", "'=already", "a=b", "#tag", "007"])
def test_neutralize_leaves_safe_cells(cell):
    assert neutralize_csv_cell(cell) == cell


@pytest.mark.parametrize("value", [-1, -1.5, np.float64(-2.0), None, np.nan, True, ["=x"]])
def test_neutralize_leaves_non_strings(value):
    assert neutralize_csv_cell(value) is value


def test_neutralize_frame_touches_only_text_and_does_not_mutate():
    df = pd.DataFrame({
        "obj": pd.Series(["=a", 5, None, "ok"], dtype=object),
        "txt": pd.Series(["-x", "y", None, "@z"], dtype="str"),
        "cat": pd.Categorical(["+c", "d", "d", "+c"]),
        "neg": [-1.0, -2.5, np.nan, 3.0],
        "ints": [-1, -2, 0, 4],
    })
    before = df.copy()
    out = neutralize_frame(df)
    pd.testing.assert_frame_equal(df, before)
    assert out is not df
    assert out["obj"].tolist()[:2] == ["'=a", 5] and out["obj"].tolist()[3] == "ok"
    assert out["txt"].tolist()[0] == "'-x" and out["txt"].tolist()[3] == "'@z"
    assert out["cat"].tolist() == ["'+c", "d", "d", "'+c"]
    assert out["neg"].dtype == np.float64 and out["ints"].dtype == np.int64
    pd.testing.assert_series_equal(out["neg"], df["neg"])
    pd.testing.assert_series_equal(out["ints"], df["ints"])


def test_csv_is_neutralised_and_parquet_raw(tmp_path):
    out = write_outputs(tmp_path / "out", _tables(), None, _manifest())
    members_csv = pd.read_csv(out / "members.csv", dtype={"account_id": str},
                              keep_default_na=False)
    assert members_csv["account_id"].tolist() == [
        "007", "'=evil", "'+1", "'@bob", "'\tx", "'\rcr", "plain"]
    # numbers are never prefixed: negative values stay numeric in the CSV
    assert members_csv["cluster_id"].dtype == np.int64
    assert members_csv["cluster_id"].tolist() == [0, 0, 1, 1, -1, -1, 0]
    evidence_csv = pd.read_csv(out / "evidence.csv")
    assert evidence_csv["example_text"].tolist() == ["'" + HOSTILE]
    clusters_csv = pd.read_csv(out / "clusters.csv", dtype={"stable_id": str})
    assert clusters_csv["score"].tolist() == [0.9, -1.25]
    assert clusters_csv["stable_id"].tolist() == ["00ab", "'-12"]

    members_pq = pd.read_parquet(out / "members.parquet")
    assert members_pq["account_id"].tolist() == _tables()["members"]["account_id"].tolist()
    evidence_pq = pd.read_parquet(out / "evidence.parquet")
    assert evidence_pq["example_text"].tolist() == [HOSTILE]


def test_csv_lists_and_datetimes(tmp_path):
    out = write_outputs(tmp_path / "out", _tables(), None, _manifest())
    data = (out / "clusters.csv").read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")  # UTF-8 without BOM
    lines = data.decode("utf-8").split("\r\n")
    assert lines[0] == "cluster_id,score,p_value,flagged,kinds,first_time,stable_id"
    assert lines[1] == "0,0.9,0.001,True,repost url,2021-01-17T07:56:33Z,00ab"
    assert lines[2] == "1,-1.25,,False,,2021-01-18T00:00:00Z,'-12"
    assert lines[3:] == [""]


def test_csv_line_breaks_inside_cells_are_quoted(tmp_path):
    df = pd.DataFrame({"text": ["a\rb", "c\nd", "e\r\nf", "\rg"], "n": [1, 2, 3, 4]})
    path = write_table(tmp_path / "t.csv", df)
    assert path.read_bytes().startswith(b'text,n\r\n"a\rb",1\r\n"c\nd",2\r\n')
    back = pd.read_csv(path)
    assert back["text"].tolist() == ["a\rb", "c\nd", "e\r\nf", "'\rg"]
    assert back["n"].tolist() == [1, 2, 3, 4]


def test_csv_datetime_precision_and_missing(tmp_path):
    df = pd.DataFrame({
        "t": pd.to_datetime(["2021-01-17T07:56:33.250Z", None], utc=True, format="ISO8601"),
        "naive": pd.to_datetime(["2021-01-17 07:56:33", "2021-01-17 08:00:00"]),
        "berlin": pd.to_datetime(["2021-01-17 08:56:33"]).tz_localize("Europe/Berlin").repeat(2),
    })
    path = write_table(tmp_path / "t.csv", df)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1] == "2021-01-17T07:56:33.250Z,2021-01-17T07:56:33Z,2021-01-17T07:56:33Z"
    assert lines[2] == ",2021-01-17T08:00:00Z,2021-01-17T07:56:33Z"


def test_round_trip_csv_and_parquet(tmp_path):
    df = pd.DataFrame({
        "account_id": ["007", "0042", "x"],
        "n": [1, -2, 3],
        "w": [0.5, -0.25, np.nan],
        "hashtags": [["#a", "#b"], [], ["#c"]],
        "timestamp": pd.to_datetime(["2021-01-17T07:56:33Z"] * 3, utc=True),
    })
    write_table(tmp_path / "t.csv", df)
    write_table(tmp_path / "t.parquet", df)
    back_pq = pd.read_parquet(tmp_path / "t.parquet")
    assert back_pq["account_id"].tolist() == ["007", "0042", "x"]
    assert [list(x) for x in back_pq["hashtags"]] == [["#a", "#b"], [], ["#c"]]
    pd.testing.assert_series_equal(back_pq["n"], df["n"])
    pd.testing.assert_series_equal(back_pq["w"], df["w"])
    pd.testing.assert_series_equal(back_pq["timestamp"], df["timestamp"])

    back_csv = pd.read_csv(tmp_path / "t.csv", dtype={"account_id": str, "hashtags": str},
                           keep_default_na=False)
    assert back_csv["account_id"].tolist() == ["007", "0042", "x"]
    assert back_csv["n"].tolist() == [1, -2, 3]
    assert back_csv["hashtags"].tolist() == ["#a #b", "", "#c"]
    ts = pd.to_datetime(back_csv["timestamp"], utc=True)
    assert (ts == df["timestamp"]).all()
    assert list(tmp_path.iterdir()) and not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_write_table_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ParameterError, match="'path' parameter of write_table"):
        write_table(tmp_path / "t.xlsx", pd.DataFrame({"a": [1]}))


def test_write_table_replaces_atomically_on_failure(tmp_path, monkeypatch):
    path = write_table(tmp_path / "rejects.csv", pd.DataFrame({"a": [1]}))
    before = path.read_bytes()

    def boom(p, df):
        Path(p).write_text("half")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(export, "_write_csv", boom)
    with pytest.raises(RuntimeError):
        write_table(path, pd.DataFrame({"a": [2]}))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["rejects.csv"]


def test_write_json(tmp_path):
    path = write_json(tmp_path / "sub" / "x.json",
                      {"b": np.int64(1), "a": [np.float32(0.5), float("nan"), float("inf")],
                       "t": pd.Timestamp("2021-01-17 07:56:33", tz="UTC"), "é": pd.NA})
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.index('"a"') < text.index('"b"')
    assert json.loads(text) == {"a": [0.5, None, None], "b": 1, "t": "2021-01-17T07:56:33Z",
                                "é": None}
    assert "é" in text  # ensure_ascii=False
    with pytest.raises(TypeError):
        write_json(tmp_path / "bad.json", {"x": object()})
    assert not (tmp_path / "bad.json").exists()


# --- graphs ----------------------------------------------------------------------------------

def test_graph_files_open_in_networkx(tmp_path):
    out = write_outputs(tmp_path / "out", {}, _graph(), _manifest())
    for g in (nx.read_gexf(out / "graph.gexf"), nx.read_graphml(out / "graph.graphml")):
        assert set(g.nodes) == {"007", "=evil", "bob"}
        a = g.nodes["007"]
        assert a["cluster"] == 0 and a["score"] == 0.9 and a["flagged"] is True
        assert a["first_time"] == "2021-01-17T07:56:33Z"
        assert a["kinds"] == "repost url"
        assert "note" not in a and "missing" not in a
        assert "first_time" not in g.nodes["=evil"]
        # int and float mixed in one attribute: written as float
        assert g.nodes["=evil"]["score"] == 1.0
        e = g.edges["007", "=evil"]
        assert e["weight"] == 3.0 and e["n_pairs"] == 4 and e["kinds"] == "repost"
        assert e["first_time"] == "2021-01-17T07:56:33.250Z"
        assert "median_delay_s" not in g.edges["=evil", "bob"]


def test_graphml_opens_in_igraph(tmp_path):
    igraph = pytest.importorskip("igraph")
    out = write_outputs(tmp_path / "out", {}, _graph(), _manifest())
    g = igraph.Graph.Read_GraphML(str(out / "graph.graphml"))
    assert g.vcount() == 3 and g.ecount() == 2
    assert {"cluster", "score", "flagged", "first_time", "kinds"} <= set(g.vs.attributes())
    assert {"weight", "n_pairs", "kinds", "first_time"} <= set(g.es.attributes())
    v = g.vs.find(id="007")
    assert v["cluster"] == 0 and v["kinds"] == "repost url"
    assert sorted(g.es["weight"]) == [1.5, 3.0]


def test_gexf_date_comes_from_manifest(tmp_path):
    out = write_outputs(tmp_path / "a", {}, _graph(), _manifest())
    assert b'lastmodifieddate="2024-05-01"' in (out / "graph.gexf").read_bytes()
    out = write_outputs(tmp_path / "b", {}, _graph(), {"x": 1})
    assert b"lastmodifieddate" not in (out / "graph.gexf").read_bytes()
    nx.read_gexf(out / "graph.gexf")


def test_graph_is_not_modified(tmp_path):
    g = _graph()
    before = (dict(g.nodes(data=True)), list(g.edges(data=True)))
    write_outputs(tmp_path / "out", {}, g, _manifest())
    # NaN != NaN, so compare by repr
    assert repr(dict(g.nodes(data=True))) == repr(before[0])
    assert repr(list(g.edges(data=True))) == repr(before[1])


# --- folder writing --------------------------------------------------------------------------

def test_outputs_and_manifest(tmp_path):
    manifest = _manifest()
    manifest_before = repr(manifest)
    out = write_outputs(tmp_path / "out", _tables(), _graph(), manifest,
                        files={"report.html": "<html>é</html>"})
    assert out == tmp_path / "out"
    assert repr(manifest) == manifest_before
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["clusters.csv", "clusters.parquet", "members.csv", "members.parquet",
                            "evidence.csv", "evidence.parquet", "graph.gexf", "graph.graphml",
                            "report.html", "manifest.json"])
    text = (out / "manifest.json").read_text(encoding="utf-8")
    assert text.startswith('{\n  "created"')
    m = json.loads(text)
    assert m["params"] == {"window": 60, "min_weight": 2.0, "ratio": None}
    assert m["inputs"] == [{"file": "data/x.csv", "rows": 7}]
    assert m["started"] == "2024-05-01T10:00:00Z"
    assert set(m["outputs"]) == set(names) - {"manifest.json"}
    for name, info in m["outputs"].items():
        assert info["bytes"] == (out / name).stat().st_size
        assert info["sha256"] == file_sha256(out / name)
    assert _siblings(out) == []


def test_formats(tmp_path):
    out = write_outputs(tmp_path / "out", _tables(), None, {}, formats=("parquet",))
    assert sorted(p.name for p in out.iterdir()) == [
        "clusters.parquet", "evidence.parquet", "manifest.json", "members.parquet"]
    with pytest.raises(ParameterError, match="formats"):
        write_outputs(tmp_path / "out2", _tables(), None, {}, formats=("xlsx",))
    assert not (tmp_path / "out2").exists()


def test_byte_identical_across_runs(tmp_path):
    a = write_outputs(tmp_path / "a", _tables(), _graph(), _manifest())
    b = write_outputs(tmp_path / "b", _tables(), _graph(), _manifest())
    snap_a = _snapshot(a)
    assert snap_a == _snapshot(b)
    # and when replacing the folder itself
    write_outputs(tmp_path / "a", _tables(), _graph(), _manifest())
    assert _snapshot(a) == snap_a
    assert len(snap_a) == 9


def test_failure_leaves_old_folder_intact(tmp_path, monkeypatch):
    out = write_outputs(tmp_path / "out", _tables(), _graph(), _manifest())
    (out / "review.csv").write_text("cluster_id,verdict\n0,confirmed\n")
    before = _snapshot(out)
    calls = []
    real = export._write_parquet

    def flaky(path, df):
        calls.append(path)
        if len(calls) == 2:
            raise RuntimeError("injected failure")
        real(path, df)

    monkeypatch.setattr(export, "_write_parquet", flaky)
    new_tables = {k: v.head(1) for k, v in _tables().items()}
    with pytest.raises(RuntimeError, match="injected failure"):
        write_outputs(out, new_tables, None, {"created": "2030-01-01"})
    assert len(calls) == 2
    assert _snapshot(out) == before
    assert _siblings(out) == []


def test_os_error_becomes_output_error(tmp_path, monkeypatch):
    out = write_outputs(tmp_path / "out", _tables(), None, _manifest())
    before = _snapshot(out)

    def full(path, graph, date):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(export, "_write_gexf", full)
    with pytest.raises(OutputError, match="No space left on device"):
        write_outputs(out, _tables(), _graph(), _manifest())
    assert _snapshot(out) == before
    assert _siblings(out) == []


def test_failed_swap_restores_old_folder(tmp_path, monkeypatch):
    out = write_outputs(tmp_path / "out", _tables(), None, _manifest())
    before = _snapshot(out)
    real_rename = os.rename

    def rename(src, dst):
        if ".tmp-" in os.fspath(src):
            raise OSError(5, "Input/output error")
        return real_rename(src, dst)

    monkeypatch.setattr(export.os, "rename", rename)
    with pytest.raises(OutputError):
        write_outputs(out, {"other": pd.DataFrame({"a": [1]})}, None, {})
    monkeypatch.undo()
    assert _snapshot(out) == before
    assert _siblings(out) == []


def test_refuses_non_cib_folder(tmp_path):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.docx").write_bytes(b"precious")
    with pytest.raises(OutputError, match="refusing to replace .*not a cib output folder"):
        write_outputs(folder, _tables(), None, _manifest())
    assert [p.name for p in folder.iterdir()] == ["chapter1.docx"]
    assert (folder / "chapter1.docx").read_bytes() == b"precious"
    assert _siblings(folder) == []


def test_empty_existing_folder_is_used(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    write_outputs(folder, _tables(), None, _manifest())
    assert (folder / "manifest.json").is_file()


def test_out_dir_is_a_file(tmp_path):
    path = tmp_path / "out"
    path.write_text("not a folder")
    with pytest.raises(OutputError, match="not a folder"):
        write_outputs(path, _tables(), None, _manifest())
    assert path.read_text() == "not a folder"


def test_parent_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=str(blocker)):
        write_outputs(blocker / "out", _tables(), None, _manifest())
    with pytest.raises(OutputError, match=str(blocker)):
        write_table(blocker / "rejects.csv", pd.DataFrame({"a": [1]}))


def test_missing_parents_are_created(tmp_path):
    out = write_outputs(tmp_path / "a" / "b" / "out", _tables(), None, _manifest())
    assert (out / "manifest.json").is_file()


def test_user_files_carried_over(tmp_path):
    out = write_outputs(tmp_path / "out", _tables(), _graph(), _manifest())
    (out / "review.csv").write_text("cluster_id,verdict\n0,confirmed\n")
    (out / "notes").mkdir()
    (out / "notes" / "a.txt").write_text("remember")
    (out / "members.csv").write_text("edited by hand")  # an output: overwritten by the new run
    # second run: fewer outputs (no graph, no evidence)
    tables = {k: v for k, v in _tables().items() if k != "evidence"}
    write_outputs(out, tables, None, _manifest())
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["clusters.csv", "clusters.parquet", "members.csv", "members.parquet",
                            "manifest.json", "review.csv", "notes"])
    assert (out / "review.csv").read_text() == "cluster_id,verdict\n0,confirmed\n"
    assert (out / "notes" / "a.txt").read_text() == "remember"
    assert (out / "members.csv").read_text() != "edited by hand"
    m = json.loads((out / "manifest.json").read_text())
    assert "review.csv" not in m["outputs"] and "members.csv" in m["outputs"]
    assert _siblings(out) == []


def test_user_file_overwritten_by_output(tmp_path):
    out = write_outputs(tmp_path / "out", {}, None, {})
    (out / "extra.csv").write_text("mine")
    write_outputs(out, {"extra": pd.DataFrame({"a": [1]})}, None, {})
    assert (out / "extra.csv").read_bytes() == b"a\r\n1\r\n"


def test_file_sha256(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"abc")
    assert file_sha256(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_bad_table_name(tmp_path):
    with pytest.raises(ValueError):
        write_outputs(tmp_path / "out", {"../x": pd.DataFrame()}, None, {})
    assert not (tmp_path / "out").exists()
