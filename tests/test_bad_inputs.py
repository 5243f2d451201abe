"""The broken and hostile input corpus (tests/bad_inputs/, EXPECTED.toml), through the command line.

Analysts feed cib exports of adversaries' accounts, so every input is hostile. Each case of
``EXPECTED.toml`` is run as ``cib detect FILE -o OUT --n-null 5 --fdr-runs 2`` with click's
CliRunner and must end in one of two ways:

- a one-line ``Error: ...`` naming the file (and the row and column where they apply), exit
  status 2, no traceback and no output folder (``--debug`` shows the traceback instead);
- a run whose every input row is accounted for: rows read = actions + rejects + exact duplicates
  dropped (+ records skipped), rejects listed with their row, column and reason.
"""

from __future__ import annotations

import builtins
import csv
import errno
import json
import os
import random
import resource
import subprocess
import sys
import time
import tomllib
import traceback
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

import cib
from cib.cli import main
from cib.errors import CibError

CORPUS = Path(__file__).parent / "bad_inputs"
EXPECTED: dict[str, dict] = tomllib.loads((CORPUS / "EXPECTED.toml").read_text(encoding="utf-8"))
FAST = ["--n-null", "5", "--fdr-runs", "2"]
T = "2021-01-17T07:56:33Z"
#: Cases with a test of their own (big inputs run in a subprocess under a memory limit).
OWN_TEST = {"viral_object_spread", "viral_object_burst", "million_accounts"}


# ---------------------------------------------------------------------------------------------
# Inputs written at test time
# ---------------------------------------------------------------------------------------------

def _big_text_cell(tmp_path, monkeypatch):
    path = tmp_path / "big_cell.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(f"account_id,timestamp,parent_id,text\nu1,{T},p1,short\n")
        fh.write(f'u2,{T},p1,"' + "x" * 10_000_000 + '"\n')
        fh.write(f"u3,{T},p1,short\n")
    return str(path)


def _missing_file(tmp_path, monkeypatch):
    return str(tmp_path / "nowhere.csv")


def _glob_matches_nothing(tmp_path, monkeypatch):
    return str(tmp_path / "exports" / "*.csv")


def _directory(tmp_path, monkeypatch):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    (folder / "inside.csv").write_text(f"account_id,timestamp\nu1,{T}\n")
    return str(folder)


def _unreadable(tmp_path, monkeypatch):
    """Opening the file fails with EACCES, whichever way cib opens it."""
    path = tmp_path / "secret.csv"
    path.write_text(f"account_id,timestamp\nu1,{T}\n")
    target = str(path)

    def denied():
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), target)

    real_open, real_osfile = builtins.open, pa.OSFile

    def guarded_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.fspath(file) == target:
            raise denied()
        return real_open(file, *args, **kwargs)

    def guarded_osfile(file, *args, **kwargs):
        if os.fspath(file) == target:
            raise denied()
        return real_osfile(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(pa, "OSFile", guarded_osfile)
    return target


def _unreadable_chmod_000(tmp_path, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not block reading (see 'unreadable')")
    path = tmp_path / "locked.csv"
    path.write_text(f"account_id,timestamp\nu1,{T}\n")
    path.chmod(0)
    return str(path)


def _device_file(tmp_path, monkeypatch):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    return "/dev/zero"


GENERATED = {
    "big_text_cell": _big_text_cell,
    "missing_file": _missing_file,
    "glob_matches_nothing": _glob_matches_nothing,
    "directory": _directory,
    "unreadable": _unreadable,
    "unreadable_chmod_000": _unreadable_chmod_000,
    "device_file": _device_file,
}


def _input(name: str, tmp_path: Path, monkeypatch) -> str:
    case = EXPECTED[name]
    if case.get("generated"):
        return GENERATED[name](tmp_path, monkeypatch)
    return str(CORPUS / case["file"])


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------

def _detect(path: str, out: Path, args=(), debug: bool = False):
    argv = (["--debug"] if debug else []) + ["detect", path, "-o", str(out), *FAST, *args]
    return CliRunner().invoke(main, argv)


def _printable(line: str) -> bool:
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in line)


def check_error(case: dict, path: str, res, out: Path) -> str:
    """The run ended in exactly one safe ``Error:`` line with exit status 2; return the line."""
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    lines = res.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.output
    line = lines[0]
    assert _printable(line) and len(line) < 2200
    assert path in line, f"the message does not name {path}: {line}"
    if "row" in case:
        assert f", row {case['row']}" in line, line
    if "column" in case:
        assert f"column {case['column']!r}" in line, line
    for fragment in case.get("message", []):
        assert fragment in line, f"{fragment!r} not in {line!r}"
    assert not out.exists(), "a failed run must not write outputs"
    return line


def check_ok(case: dict, path: str, res, out: Path) -> dict:
    """The run succeeded and accounted for every input row; return the manifest."""
    assert res.exit_code == 0, res.output
    assert res.exception is None, repr(res.exception)
    assert "Traceback" not in res.output and "Error" not in res.output
    assert all(_printable(line) for line in res.output.splitlines())
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows, counts = manifest["rows"], manifest["counts"]
    skipped = sum(f.get("skipped", 0) for f in manifest["inputs"])
    # never a silent drop
    assert rows["read"] == counts["actions"] + rows["rejected"] + rows["duplicates_dropped"]
    assert rows["read"] + skipped == case["rows_read"]
    assert counts["actions"] == case["actions"]
    assert rows["duplicates_dropped"] == case.get("duplicates", 0)
    rejects = pd.read_parquet(out / "rejects.parquet")
    assert rows["rejected"] == len(rejects) == len(case.get("rejects", []))
    got = [[int(r), c, why] for r, c, why in rejects[["row", "column", "reason"]].itertuples(index=False)]
    assert got == case.get("rejects", [])
    assert (rejects["source"] == path).all()
    warnings = [ln for ln in res.output.splitlines() if ln.startswith("Warning: ")]
    for fragment in case.get("warnings", []):
        assert any(fragment in w for w in warnings), f"no warning with {fragment!r}: {warnings}"
    return manifest


def _cases(outcome: str | None = None):
    for name, case in EXPECTED.items():
        if name in OWN_TEST or (outcome and case["outcome"] != outcome):
            continue
        yield pytest.param(name, id=name, marks=[pytest.mark.slow] if case.get("slow") else [])


def test_corpus_is_big_enough_and_every_file_has_a_case():
    assert len(EXPECTED) >= 40
    listed = {c["file"] for c in EXPECTED.values() if "file" in c}
    present = {p.name for p in CORPUS.iterdir() if p.name not in ("EXPECTED.toml", "README.md")}
    assert present == listed, (present - listed, listed - present)
    for name, case in EXPECTED.items():
        assert case["outcome"] in ("ok", "error"), name
        assert case.get("generated") or "file" in case, name
        assert not case.get("generated") or name in GENERATED or name in OWN_TEST, name


@pytest.mark.parametrize("name", list(_cases()))
def test_bad_input(name, tmp_path, monkeypatch):
    case = EXPECTED[name]
    path = _input(name, tmp_path, monkeypatch)
    out = tmp_path / "out"
    res = _detect(path, out, case.get("args", []))
    if case["outcome"] == "error":
        check_error(case, path, res, out)
    else:
        check_ok(case, path, res, out)


@pytest.mark.parametrize("name", list(_cases("error")))
def test_debug_shows_the_traceback(name, tmp_path, monkeypatch):
    case = EXPECTED[name]
    path = _input(name, tmp_path, monkeypatch)
    res = _detect(path, tmp_path / "out", case.get("args", []), debug=True)
    assert res.exit_code != 0
    assert isinstance(res.exception, CibError), repr(res.exception)
    text = "".join(traceback.format_exception(*res.exc_info))
    assert text.startswith("Traceback") and path in text


def test_debug_traceback_reaches_the_terminal(tmp_path):
    path = str(CORPUS / "ragged_long_row.csv")
    args = [sys.executable, "-m", "cib", "--debug", "detect", path, "-o", str(tmp_path / "o")]
    res = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    assert "Traceback (most recent call last)" in res.stderr
    assert "cib.errors.InputError" in res.stderr and "row 3" in res.stderr
    plain = subprocess.run(args[:3] + args[4:], capture_output=True, text=True, timeout=120)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert plain.stderr.count("\n") == 1 and plain.stderr.startswith("Error: ")


def test_several_inputs_the_bad_one_is_named(tmp_path):
    good, ragged = (str(CORPUS / f) for f in ("reordered_extra_columns.csv", "ragged_long_row.csv"))
    res = _detect(good, tmp_path / "out", [ragged])
    line = check_error({"row": 3}, ragged, res, tmp_path / "out")
    assert good not in line
    first, second = (str(CORPUS / f) for f in ("timestamps_missing.csv", "blank_lines_between_rows.csv"))
    res = _detect(first, tmp_path / "ok", [second])
    assert res.exit_code == 0, res.output
    rejects = pd.read_parquet(tmp_path / "ok" / "rejects.parquet")
    assert list(zip(rejects["source"], rejects["row"])) == [(first, 3), (first, 4), (second, 4),
                                                            (second, 7)]


def _terminal_safe(text: str) -> bool:
    return all(_printable(line) and not any(c in line for c in "\u202a\u202b\u202c\u202d\u202e"
                                                "\u2066\u2067\u2068\u2069\u200b\u200e\u200f")
               for line in text.splitlines())


@pytest.mark.parametrize("name", sorted(c["file"] for c in EXPECTED.values() if "file" in c))
def test_inspect_survives_the_corpus(name):
    res = CliRunner().invoke(main, ["inspect", str(CORPUS / name)])
    assert res.exit_code in (0, 2), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output
    assert _terminal_safe(res.output), res.output


# ---------------------------------------------------------------------------------------------
# Values survive as written
# ---------------------------------------------------------------------------------------------

def _read(name: str):
    return cib.read_actions(CORPUS / EXPECTED[name]["file"])


def test_ids_that_look_like_numbers_keep_their_text():
    actions, _, _ = _read("ids_look_like_numbers")
    by_id = actions.set_index("action_id")
    assert sorted(by_id.index) == ["007", "1000000000000000001", "1e+18"]
    assert by_id.loc["007", "account_id"] == "0042" and by_id.loc["007", "parent_id"] == "0001"
    assert by_id.loc["1e+18", "account_id"] == "1.5E+10" and by_id.loc["1e+18", "parent_id"] == "1e+18"
    assert by_id.loc["1000000000000000001", "account_id"] == "-0"
    assert by_id.loc["1000000000000000001", "parent_id"] == "00"


def test_json_number_ids_keep_their_digits():
    actions, _, _ = _read("jsonl_number_ids")
    assert set(actions["action_id"]) == {"1e+18", "007"}
    assert set(actions["account_id"]) == {"1000000000000000001", "0042"}
    assert set(actions["parent_id"]) == {"0.10"}


def test_mixed_zones_are_one_instant_and_milliseconds_survive():
    actions, _, _ = _read("timestamps_mixed_zones")
    assert set(actions["timestamp"]) == {pd.Timestamp(T)}
    actions, _, stats = _read("timestamps_milliseconds")
    assert actions["timestamp"].dt.strftime("%S.%f").tolist() == ["33.123000", "33.456000",
                                                                   "34.001000"]
    assert stats["timestamp_resolution_s"] == 0.001
    _, _, stats = _read("timestamps_minutes")
    assert stats["timestamp_resolution_s"] == 60.0


def test_invisible_direction_and_nul_characters_in_texts_are_kept():
    actions, _, _ = _read("rtl_and_zero_width")
    assert "\u202euser1" in set(actions["account_id"]) and "user\u200b2" in set(actions["account_id"])
    assert "\u202ereversed\u202c" in set(actions["text"])
    actions, _, _ = _read("nul_in_text")
    assert "a\x00b" in set(actions["text"])


def test_lone_surrogates_become_replacement_characters():
    actions, _, stats = _read("jsonl_lone_surrogates")
    assert set(actions["account_id"]) == {"u1\ufffd", "u2"}
    texts = set(actions["text"])
    assert "cut emoji \ufffd" in texts and "\ufffd low and pair \U0001F600" in texts
    assert any("surrogate" in w for w in stats["warnings"])


def test_the_10_mb_cell_arrives_whole(tmp_path, monkeypatch):
    actions, _, _ = cib.read_actions(_big_text_cell(tmp_path, monkeypatch))
    assert sorted(actions["text"].str.len()) == [5, 5, 10_000_000]


# ---------------------------------------------------------------------------------------------
# Hostile names and texts in the outputs
# ---------------------------------------------------------------------------------------------

FORMULA = ("=", "+", "-", "@", "\t", "\r")
HOSTILE_BOTS = ["=cmd|' /C calc'!A0", "+SUM(1+1)*cmd", "-2+3+cmd|' /C calc'!A0", "@SUM(1,1)",
                "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>",
                "\u202eevil\u202c-rtl", "zero\u200bwidth\u200d"]


@pytest.fixture(scope="module")
def hostile_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile") / "out"
    res = _detect(str(CORPUS / "html_js_formula_names.csv"), out)
    assert res.exit_code == 0, res.output
    return out


def test_hostile_group_is_found(hostile_out):
    members = pd.read_parquet(hostile_out / "members.parquet")
    clustered = members[members["cluster_id"] >= 0]
    assert sorted(clustered["account_id"]) == sorted(HOSTILE_BOTS)  # raw in Parquet


def test_csv_outputs_neutralise_formulas(hostile_out):
    checked = 0
    for path in sorted(hostile_out.glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            for row in list(csv.reader(fh))[1:]:
                for cell in row:
                    if any(m in cell for m in ("cmd|", "SUM(", "HYPERLINK", "=1+1", "-2+3")):
                        checked += 1
                        assert not cell.startswith(FORMULA), (path.name, cell)
    assert checked > 50
    members = pd.read_csv(hostile_out / "members.csv", dtype=str, keep_default_na=False)
    ids = set(members["account_id"])
    assert {"'=cmd|' /C calc'!A0", "'+SUM(1+1)*cmd", "'-2+3+cmd|' /C calc'!A0", "'@SUM(1,1)",
            "<script>alert(1)</script>", "\u202eevil\u202c-rtl"} <= ids
    evidence = pd.read_csv(hostile_out / "evidence.csv", dtype=str, keep_default_na=False)
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in set(evidence["object_id"])


def test_report_escapes_html(hostile_out):
    html = (hostile_out / "report.html").read_text(encoding="utf-8")
    for raw in ("<script>alert", "<img src=x", "\"><img", "<b>camp", "</b>", "onerror=alert(1)>"):
        assert raw not in html, raw
    scripts = [html[i:i + 40] for i in range(len(html)) if html.startswith("<script", i)]
    assert all(s.startswith(("<script>", '<script type="application/json"')) for s in scripts)


def test_graph_files_are_valid_xml_with_the_real_ids(hostile_out):
    for name, read in (("graph.graphml", nx.read_graphml), ("graph.gexf", nx.read_gexf)):
        graph = read(hostile_out / name)
        assert set(HOSTILE_BOTS) <= set(graph.nodes), name


def test_graph_files_stay_valid_xml_with_control_characters_from_the_python_api(tmp_path):
    # the readers reject such ids; a DataFrame built by hand can still hold them
    actions, _, _ = cib.read_actions(CORPUS / "html_js_formula_names.csv")
    renamed = {"@SUM(1,1)": "nul\x00id", "+SUM(1+1)*cmd": "esc\x1b[31mid"}
    actions["account_id"] = actions["account_id"].replace(renamed)
    det = cib.detect(actions, n_null=5, fdr_runs=2)
    det.write(tmp_path / "out")
    for name, read in (("graph.graphml", nx.read_graphml), ("graph.gexf", nx.read_gexf)):
        nodes = set(read(tmp_path / "out" / name).nodes)
        assert {"nul\ufffdid", "esc\ufffd[31mid", "<script>alert(1)</script>"} <= nodes, name
    members = pd.read_parquet(tmp_path / "out" / "members.parquet")
    assert set(renamed.values()) <= set(members["account_id"])  # the tables keep the real ids


def _coordinated_csv(path: Path, bots: list[str], seed: int = 5) -> None:
    """A generic CSV: 60 organic accounts reposting news, and ``bots`` reposting 16 posts in
    lockstep (a group cib finds even with --n-null 5 --fdr-runs 2)."""
    rng = random.Random(seed)
    rows = []
    organic = [f"user{i:02d}" for i in range(60)]
    for i in range(150):
        t = rng.uniform(0, 2 * 86400)
        for acc in rng.sample(organic, 8):
            rows.append((acc, t + rng.uniform(0, 4 * 3600), f"news{i}"))
    for k in range(16):
        t0 = rng.uniform(0, 2 * 86400)
        for j, b in enumerate(bots):
            rows.append((b, t0 + j * 2 + rng.uniform(0, 1), f"camp{k}"))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["action_id", "account_id", "timestamp", "parent_id"])
        for n, (acc, t, parent) in enumerate(sorted(rows, key=lambda r: r[1])):
            w.writerow([f"x{n}", acc, 1610870193 + int(t), parent])


def test_numeric_looking_account_ids_survive_to_the_outputs(tmp_path):
    bots = ["007", "0042", "1e+18", "1.5E+10", "-0", "00", "1000000000000000001", "+1"]
    _coordinated_csv(tmp_path / "ids.csv", bots)
    res = _detect(str(tmp_path / "ids.csv"), tmp_path / "out")
    assert res.exit_code == 0, res.output
    members = pd.read_parquet(tmp_path / "out" / "members.parquet")
    assert sorted(members.loc[members["cluster_id"] >= 0, "account_id"]) == sorted(bots)
    shown = pd.read_csv(tmp_path / "out" / "members.csv", dtype=str, keep_default_na=False)
    assert {"007", "0042", "1e+18", "1.5E+10", "'-0", "00", "1000000000000000001", "'+1"} <= set(
        shown["account_id"])


# ---------------------------------------------------------------------------------------------
# Size: one viral object, a million accounts (slow; each in a subprocess under a memory limit)
# ---------------------------------------------------------------------------------------------

MEMORY_LIMIT = 6 * 2**30  # address space of the child; the machine has more, cib must not need it
RSS_BUDGET = 4 * 2**30


def _write_shares(path: Path, accounts: np.ndarray, times: np.ndarray, parents: np.ndarray) -> None:
    pd.DataFrame({"account_id": accounts, "timestamp": times, "parent_id": parents}).to_csv(
        path, index=False)


def _run_limited(path: Path, out: Path) -> tuple[subprocess.CompletedProcess, float, int]:
    """``cib detect`` in a child process limited to MEMORY_LIMIT bytes; its result, wall time and
    peak resident memory (bytes)."""
    def limit():  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    code = ("import resource, sys\nfrom cib.cli import main\n"
            "try:\n    main(sys.argv[1:])\nfinally:\n"
            "    print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
            "file=sys.stderr)\n")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code, "detect", str(path), "-o", str(out), *FAST],
                         capture_output=True, text=True, preexec_fn=limit, timeout=1800)
    seconds = time.perf_counter() - t0
    peak = [int(ln.split()[1]) * 1024 for ln in res.stderr.splitlines() if ln.startswith("PEAK_RSS_KB")]
    return res, seconds, (peak[0] if peak else -1)


def _check_big(name: str, path: Path, out: Path) -> None:
    res, seconds, peak = _run_limited(path, out)
    print(f"{name}: {seconds:.1f} s, peak RSS {peak / 2**20:.0f} MiB")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    assert 0 < peak < RSS_BUDGET
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    case = EXPECTED[name]
    assert manifest["rows"]["read"] == case["rows_read"]
    assert manifest["counts"]["actions"] == case["actions"]


@pytest.mark.slow
def test_viral_object_spread_over_a_week(tmp_path):
    n = 100_000
    rng = np.random.default_rng(1)
    times = 1610870193 + np.sort(rng.integers(0, 7 * 86400, n))
    path = tmp_path / "viral_week.csv"
    _write_shares(path, np.char.add("u", np.arange(n).astype(str)), times, np.full(n, "p"))
    _check_big("viral_object_spread", path, tmp_path / "out")


@pytest.mark.slow
def test_viral_object_burst_finishes_in_bounded_memory(tmp_path):
    n = 100_000
    rng = np.random.default_rng(2)
    times = 1610870193 + np.sort(rng.integers(0, 600, n))
    path = tmp_path / "viral_burst.csv"
    _write_shares(path, np.char.add("u", np.arange(n).astype(str)), times, np.full(n, "p"))
    _check_big("viral_object_burst", path, tmp_path / "out")


@pytest.mark.slow
def test_a_million_accounts_with_one_action_each(tmp_path):
    n = 1_000_000
    idx = np.arange(n)
    path = tmp_path / "million.csv"
    _write_shares(path, np.char.add("u", idx.astype(str)), 1610870193 + idx // 10,
                  np.char.add("p", (idx // 3).astype(str)))
    _check_big("million_accounts", path, tmp_path / "out")


def test_console_entry_ends_at_once_on_an_error(monkeypatch, capsys):
    """``cib`` (the console script) ends an errored run with ``os._exit`` and the same status,
    after flushing: no interpreter teardown in which a pyarrow read-ahead thread could abort
    the process (status 134); a successful run ends normally."""
    import os

    from cib import cli

    class Exited(Exception):
        pass

    def fake_exit(code):
        raise Exited(code)

    monkeypatch.setattr(os, "_exit", fake_exit)
    monkeypatch.setattr(sys, "argv", ["cib", "detect", str(CORPUS / "ragged_long_row.csv"),
                                      "-o", "/nonexistent/never-written"])
    with pytest.raises(Exited) as info:
        cli.run()
    assert info.value.args == (2,)
    assert "row 3" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["cib", "--version"])
    with pytest.raises(SystemExit) as ok:
        cli.run()
    assert ok.value.code in (0, None)
