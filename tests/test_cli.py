"""The command line, through click's CliRunner: every command, help, errors and exit codes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cib.cli import main
from cib.datasets import simulate, write_simulation

COMMANDS = ["detect", "demo", "simulate", "evaluate", "formats", "report", "inspect"]


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("sim")
    actions, truth = simulate(n_accounts=800, n_groups=3, seed=21)
    write_simulation(d, actions, truth)
    return d


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_everywhere(command, flag):
    res = run(command, flag)
    assert "Usage:" in res.output


def test_main_help_and_version():
    assert "Find coordinated" in run("-h").output
    assert "cib" in run("--version").output


def test_simulate_detect_evaluate(tmp_path, sim_dir):
    out = tmp_path / "out"
    res = run("detect", str(sim_dir / "actions.csv"), "-o", str(out), "--window", "1m",
              "--n-null", "30")
    assert "flagged as coordinated" in res.output
    assert "rank" in res.output
    for name in ("clusters.csv", "members.csv", "edges.csv", "evidence.csv", "graph.gexf",
                 "graph.graphml", "manifest.json", "rejects.csv"):
        assert (out / name).exists(), name
    ev = run("evaluate", str(out), str(sim_dir / "truth.csv"), "--json")
    scores = json.loads(ev.output)
    assert scores["f1"] >= 0.9
    # the report is written with the outputs and can be re-rendered from them
    assert "<html" in (out / "report.html").read_text(encoding="utf-8").lower()
    (out / "report.html").unlink()
    assert "Wrote" in run("report", str(out)).output
    assert (out / "report.html").exists()


def test_simulate_writes_files(tmp_path):
    res = run("simulate", "-o", str(tmp_path / "s"), "--accounts", "300", "--groups", "2",
              "--seed", "3")
    assert (tmp_path / "s" / "actions.csv").exists() and (tmp_path / "s" / "truth.csv").exists()
    assert "planted groups" in res.output


def test_formats_lists_presets():
    out = run("formats").output
    assert "generic" in out and "coortweet" in out


@pytest.mark.parametrize("args, message", [
    (["detect", "missing.csv", "-o", "x"], "missing.csv"),
    (["detect", "{sim}/actions.csv", "-o", "{tmp}/o", "--window", "soon"], "'window' parameter"),
    (["detect", "{sim}/actions.csv", "-o", "{tmp}/o", "--map", "account_id"], "'map' parameter"),
    (["detect", "{sim}/actions.csv", "-o", "{tmp}/o", "--map", "account_id=nope"], "nope"),
    (["detect", "{sim}/actions.csv", "-o", "{tmp}/o", "--kinds", "likes"], "'kinds' parameter"),
    (["evaluate", "{tmp}", "{sim}/truth.csv"], "not a cib output folder"),
])
def test_bad_input_one_line_error_exit_2(tmp_path, sim_dir, args, message):
    args = [a.format(sim=sim_dir, tmp=tmp_path) for a in args]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("Error")]
    assert len(lines) == 1


def test_refuses_to_replace_a_folder_that_is_not_a_cib_output(tmp_path, sim_dir):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    res = CliRunner().invoke(main, ["detect", str(sim_dir / "actions.csv"), "-o", str(precious)])
    assert res.exit_code == 2
    assert (precious / "thesis.txt").read_text() == "do not delete"


def test_debug_shows_traceback(sim_dir, tmp_path):
    res = CliRunner().invoke(main, ["--debug", "detect", str(sim_dir / "actions.csv"), "-o",
                                    str(tmp_path / "o"), "--window", "soon"])
    assert res.exit_code != 0 and res.exception is not None


def test_verbose_prints_each_stage_on_stderr(tmp_path, sim_dir):
    import logging

    args = ["detect", str(sim_dir / "actions.csv"), "-o", str(tmp_path / "o"), "--n-null", "20",
            "--no-discover"]
    res = run("-v", *args)
    stages = [line.split()[2] for line in res.stderr.splitlines()
              if line.startswith("cib ") and " done in " in line]
    # every stage of the manifest (which sorts them), once, as it ends, on stderr only
    timings = json.loads((tmp_path / "o" / "manifest.json").read_text())["timings_s"]
    assert sorted(stages) == sorted(timings) and len(stages) == len(set(stages))
    assert stages[0] == "read" and stages[-1] == "scoring"
    assert "done in" not in res.stdout
    assert logging.getLogger("cib").handlers == []  # undone when the command ends
    assert logging.getLogger("cib").propagate
    quiet = run("detect", str(sim_dir / "actions.csv"), "-o", str(tmp_path / "o2"),
                "--n-null", "20", "--no-discover")
    assert "done in" not in quiet.stderr  # stage lines only with -v
    both = CliRunner().invoke(main, ["-q", "-v", *args])
    assert both.exit_code == 2 and "contradict" in both.output


def test_demo_runs_on_bundled_sample(tmp_path):
    res = run("demo", "-o", str(tmp_path / "demo"))
    assert "russian_coord_tweets" in res.output
    assert "Against the planted groups" in res.output
    assert (tmp_path / "demo" / "simulated" / "clusters.csv").exists()


def test_python_dash_m_cib():
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "cib", "--help"], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0 and "Usage: cib" in res.stdout


@pytest.mark.shared
@pytest.mark.parametrize("window, vertices, edges", [(60, 2110, 3721), (10, 525, 442)])
def test_compat_coortweet_reproduces_published_network(tmp_path, window, vertices, edges):
    import pandas as pd

    from conftest import shared_file

    data = shared_file("real", "coortweet", "russian_coord_tweets.csv.gz")
    ref = shared_file("reference", "coortweet", f"network_tw{window}_full_edges.csv.gz")
    out = tmp_path / "cc"
    res = run("detect", str(data), "-o", str(out), "--compat", "coortweet", "--window", str(window))
    assert f"{vertices} vertices, {edges} edges" in res.output
    got = pd.read_csv(out / "edges.csv", dtype={"from": str, "to": str})
    want = pd.read_csv(ref, dtype={"from": str, "to": str})
    cols = ["from", "to", "weight", "n_content_id", "n_content_id_y", "weight_threshold"]
    pd.testing.assert_frame_equal(got[cols], want[cols], check_dtype=False)


def test_compat_coortweet_on_generic_input(tmp_path, sim_dir):
    res = run("detect", str(sim_dir / "actions.csv"), "-o", str(tmp_path / "cc"), "--compat",
              "coortweet", "--kinds", "repost,url")
    assert "CooRTweet-compatible run" in res.output
    assert (tmp_path / "cc" / "result.csv").exists()


@pytest.mark.parametrize("network", ["co_retweet", "co_link", "co_reply", "co_tweet"])
def test_compat_cnt_matches_the_real_tool(tmp_path, network):
    import pandas as pd

    from conftest import ROOT

    fixtures = ROOT / "tests" / "data" / "cnt"
    out = tmp_path / "cnt"
    res = run("detect", str(fixtures / "tricky_int.csv.gz"), "-o", str(out), "--compat", "cnt",
              "--networks", network, "--window", "60")
    assert "coordination-network-toolkit-compatible run" in res.output
    got = pd.read_csv(out / "edges.csv", dtype={"source": str, "target": str})
    name = "co_link_fixed" if network == "co_link" else network
    want = pd.read_csv(fixtures / f"tricky_int.{name}.W60.w1.csv.gz", dtype={"source": str, "target": str})
    want = want[want["source"] != want["target"]]
    key = ["source", "target"]
    got = got.sort_values(key, ignore_index=True)[key + ["weight"]]
    want = want.sort_values(key, ignore_index=True)[key + ["weight"]]
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_inspect_reports_without_detecting(sim_dir):
    out = run("inspect", str(sim_dir / "actions.csv"), "--window", "60").output
    assert "generic" in out and "account_id" in out
    data = json.loads(run("inspect", str(sim_dir / "actions.csv"), "--json").output)
    assert data
