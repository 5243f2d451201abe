"""A failed or interrupted run leaves the earlier output folder as it was, and no half-written files.

``cib detect -o OUT`` writes into a temporary sibling folder (``OUT.tmp-XXXXXXXX``) and swaps it in
only when complete (cib.export.write_outputs). Here each way a run can end early is injected after a
first, successful run: an exception while exporting, a full disk, Ctrl-C during detection and
during the export, a failure of the final swap, and a failure while rendering the report. After
each, OUT must hold byte for byte what it held before (the user's own file in it included), and
no ``.tmp-`` or ``.old-`` sibling may remain.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import cib.export
import cib.pipeline
import cib.report
from cib.cli import main
from cib.datasets import simulate, write_simulation

FAST = ["--n-null", "5", "--fdr-runs", "2"]


@pytest.fixture(scope="module")
def sim_input(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sim")
    actions, truth = simulate(n_accounts=300, n_groups=2, seed=4)
    write_simulation(d, actions, truth)
    return d / "actions.csv"


def _detect(inputs: Path, out: Path):
    return CliRunner().invoke(main, ["detect", str(inputs), "-o", str(out), *FAST])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def earlier(tmp_path, sim_input):
    """An output folder from a successful run, plus a file of the user's own in it."""
    out = tmp_path / "results" / "out"
    res = _detect(sim_input, out)
    assert res.exit_code == 0, res.output
    (out / "notes.txt").write_text("the analyst's notes: keep me")
    return out, _snapshot(out), set(os.listdir(out.parent))


def _assert_untouched(out: Path, before: dict[str, bytes], siblings: set[str]) -> None:
    assert _snapshot(out) == before
    assert set(os.listdir(out.parent)) == siblings, "a temporary or old folder was left behind"
    assert not [p for p in out.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def _one_line(res, start: str) -> str:
    assert "Traceback" not in res.output
    lines = res.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(start), res.output
    return lines[0]


def _half_write(path: Path) -> None:
    """Leave a half-written file behind, as a writer that fails midway does."""
    with open(path, "xb") as fh:
        fh.write(b"account_id,cluster_id\r\nu1,")


def test_exception_mid_export(monkeypatch, earlier, sim_input):
    out, before, siblings = earlier
    real = cib.export._write_csv

    def failing(path, df):
        if path.name == "members.csv":  # after clusters.csv and coactions.csv were written
            _half_write(path)
            raise RuntimeError("a writer failed")
        return real(path, df)

    monkeypatch.setattr(cib.export, "_write_csv", failing)
    res = _detect(sim_input, out)
    assert res.exit_code == 1
    assert "a writer failed" in _one_line(res, "Error: unexpected RuntimeError")
    _assert_untouched(out, before, siblings)


def test_graph_writer_failure(monkeypatch, earlier, sim_input):
    out, before, siblings = earlier

    def failing(path, graph):
        raise ValueError("cannot write the graph")

    monkeypatch.setattr(cib.export, "_write_graphml", failing)
    res = _detect(sim_input, out)
    assert res.exit_code == 1
    _one_line(res, "Error: unexpected ValueError")
    _assert_untouched(out, before, siblings)


def test_disk_full(monkeypatch, earlier, sim_input):
    out, before, siblings = earlier
    real = cib.export._write_bytes

    def full(path, data):
        if path.name == "report.html":
            with open(path, "xb") as fh:
                fh.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data)

    monkeypatch.setattr(cib.export, "_write_bytes", full)
    res = _detect(sim_input, out)
    assert res.exit_code == 2
    line = _one_line(res, "Error: cannot write the output folder")
    assert os.strerror(errno.ENOSPC) in line and str(out) in line
    _assert_untouched(out, before, siblings)


def test_disk_full_on_fsync(monkeypatch, earlier, sim_input):
    out, before, siblings = earlier
    calls = {"n": 0}
    real = os.fsync

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(cib.export.os, "fsync", fsync)
    res = _detect(sim_input, out)
    assert res.exit_code == 2
    assert os.strerror(errno.ENOSPC) in _one_line(res, "Error: cannot write the output folder")
    _assert_untouched(out, before, siblings)


def test_ctrl_c_during_detection(monkeypatch, earlier, sim_input):
    out, before, siblings = earlier

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cib.pipeline, "cluster_pvalues", interrupted)
    res = _detect(sim_input, out)
    assert res.exit_code == 130
    _one_line(res, "Interrupted")
    _assert_untouched(out, before, siblings)


def test_ctrl_c_during_export(monkeypatch, earlier, sim_input):
    out, before, siblings = earlier
    real = cib.export._write_parquet

    def interrupted(path, df):
        if path.name == "evidence.parquet":
            _half_write(path)
            raise KeyboardInterrupt
        return real(path, df)

    monkeypatch.setattr(cib.export, "_write_parquet", interrupted)
    res = _detect(sim_input, out)
    assert res.exit_code == 130
    _one_line(res, "Interrupted")
    _assert_untouched(out, before, siblings)


def test_failure_of_the_final_swap_puts_the_old_folder_back(monkeypatch, earlier, sim_input):
    out, before, siblings = earlier
    real = os.rename

    def rename(src, dst, *args, **kwargs):
        if ".tmp-" in os.fspath(src):
            raise OSError(errno.EIO, os.strerror(errno.EIO), os.fspath(src))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(cib.export.os, "rename", rename)
    res = _detect(sim_input, out)
    assert res.exit_code == 2
    assert os.strerror(errno.EIO) in _one_line(res, "Error: cannot write the output folder")
    _assert_untouched(out, before, siblings)


def test_failure_while_rendering_the_report(monkeypatch, earlier, sim_input):
    out, before, siblings = earlier

    def broken(*args, **kwargs):
        raise RuntimeError("template error")

    monkeypatch.setattr(cib.report, "render_report", broken)
    res = _detect(sim_input, out)
    assert res.exit_code == 1
    _one_line(res, "Error: unexpected RuntimeError")
    _assert_untouched(out, before, siblings)


def test_a_later_successful_run_replaces_the_folder_and_keeps_the_users_file(earlier, sim_input,
                                                                            monkeypatch):
    out, before, siblings = earlier
    monkeypatch.setattr(cib.pipeline, "cluster_pvalues",
                        lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    assert _detect(sim_input, out).exit_code == 130
    monkeypatch.undo()
    res = _detect(sim_input, out)
    assert res.exit_code == 0, res.output
    after = _snapshot(out)
    assert after["notes.txt"] == before["notes.txt"]
    assert set(after) == set(before)
    assert set(os.listdir(out.parent)) == siblings
