"""Tests of cib.scenarios: the scenario suite's contracts, determinism, scenarios and traps, the CLI,
and the per-scenario figures of cib.evaluate."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cib.cli import main
from cib.datasets import write_simulation
from cib.errors import ParameterError
from cib.evaluate import evaluate, read_truth
from cib.scenarios import (
    SCENARIOS,
    TRAPS,
    _simulate_scenarios_with_log,
    parse_scenarios,
    simulate_scenarios,
)
from cib.schema import (
    ACTION_COLUMNS,
    ACTION_TYPES,
    LIST_COLUMNS,
    SCENARIO_TRUTH_COLUMNS,
    TRUTH_COLUMNS,
    validate_actions,
)
from cib.traces import normalize_url

SMALL = {"n_accounts": 1200, "days": 1, "seed": 5}


@pytest.fixture(scope="module")
def small():
    return _simulate_scenarios_with_log("all", **SMALL)


@pytest.fixture(scope="module")
def full():
    """The defaults' scale (5,000 accounts, 3 groups per scenario) over 2 days."""
    return _simulate_scenarios_with_log("all", n_accounts=5000, days=2, seed=3)


def _seconds(ts: pd.Series) -> np.ndarray:
    return ts.astype("int64").to_numpy() // 1_000_000_000


def _rows_of(actions: pd.DataFrame, pushes: pd.DataFrame, scenario: str) -> list[pd.DataFrame]:
    """The actions of each push (or trap event) of ``scenario``."""
    by_id = actions.set_index("action_id", drop=False)
    return [by_id.loc[ids] for ids in pushes.loc[pushes["scenario"] == scenario, "action_ids"]
            if len(ids)]


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_gives_identical_tables(tmp_path):
    a1, t1 = simulate_scenarios("all", n_accounts=800, days=1, seed=11)
    a2, t2 = simulate_scenarios("all", n_accounts=800, days=1, seed=11)
    pd.testing.assert_frame_equal(a1, a2)
    pd.testing.assert_frame_equal(t1, t2)
    write_simulation(tmp_path / "one", a1, t1)
    write_simulation(tmp_path / "two", a2, t2)
    for name in ("actions.csv", "truth.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    a3, t3 = simulate_scenarios("all", n_accounts=800, days=1, seed=12)
    assert not a1.equals(a3) and not t1.equals(t3)


def test_order_of_names_does_not_matter():
    a1, t1 = simulate_scenarios("fan_club,lockstep", n_accounts=500, days=1, seed=2)
    a2, t2 = simulate_scenarios(["lockstep", "fan_club"], n_accounts=500, days=1, seed=2)
    pd.testing.assert_frame_equal(a1, a2)
    pd.testing.assert_frame_equal(t1, t2)


# --- contracts ----------------------------------------------------------------------------------


def test_actions_contract(small):
    actions, truth, _ = small
    validate_actions(actions)
    assert list(actions.columns) == ACTION_COLUMNS
    assert str(actions["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(actions["action_type"].dtype, pd.CategoricalDtype)
    assert list(actions["action_type"].cat.categories) == ACTION_TYPES
    for col in ["action_id", "account_id", "parent_id", "text", "platform", *LIST_COLUMNS]:
        assert actions[col].dtype == object, col
    assert (actions["timestamp"].astype("int64") % 1_000_000_000 == 0).all()
    assert actions["action_id"].is_unique
    assert actions["action_id"].str.fullmatch(r"a\d{6,}").all()
    assert actions["account_id"].str.fullmatch(r"u\d{5,}").all()
    assert (actions["platform"] == "sim").all()
    for col in ("parent_id", "text"):
        assert actions[col].map(lambda v: v is None or isinstance(v, str)).all(), col
    for col in LIST_COLUMNS:
        assert actions[col].map(lambda v: isinstance(v, list)
                                and all(isinstance(x, str) for x in v)).all(), col
    assert len({id(v) for v in actions["hashtags"]}) == len(actions)
    is_post = actions["action_type"] == "post"
    assert actions.loc[is_post, "parent_id"].isna().all()
    assert actions.loc[~is_post, "parent_id"].notna().all()
    assert actions.loc[actions["action_type"] == "repost", "text"].isna().all()
    assert actions.loc[actions["action_type"] != "repost", "text"].notna().all()
    key = actions[["timestamp", "account_id", "action_id"]]
    assert key.equals(key.sort_values(["timestamp", "account_id", "action_id"]))
    start = pd.Timestamp("2024-01-01", tz="UTC")
    assert actions["timestamp"].min() >= start
    assert actions["timestamp"].max() < start + pd.Timedelta(days=1)
    by_id = actions.set_index("action_id")
    children = actions[~is_post]
    parents = by_id.loc[children["parent_id"]]
    assert (parents["action_type"] == "post").all()
    assert (parents["timestamp"].to_numpy() < children["timestamp"].to_numpy()).all()
    # One repost per account and post, as on a platform.
    reposts = actions[actions["action_type"] == "repost"]
    assert not reposts.duplicated(["account_id", "parent_id"]).any()
    assert set(actions["account_id"]) <= set(truth["account_id"])
    # Every URL and hashtag is in the text, as on a platform.
    posts = actions[is_post]
    assert all(u in t for us, t in zip(posts["urls"], posts["text"]) for u in us)
    assert all(h in t for hs, t in zip(posts["hashtags"], posts["text"]) for h in hs)


def test_truth_contract(small):
    actions, truth, _ = small
    assert SCENARIO_TRUTH_COLUMNS == [*TRUTH_COLUMNS, "scenario"]
    assert list(truth.columns) == SCENARIO_TRUTH_COLUMNS
    assert len(truth) == SMALL["n_accounts"] and truth["account_id"].is_unique
    assert truth["account_id"].is_monotonic_increasing
    assert truth["group"].dtype == np.int64
    for col in ("account_id", "role", "scenario"):
        assert truth[col].dtype == object, col
    coordinated = truth["role"] == "coordinated"
    assert ((truth["group"] >= 0) == coordinated).all()
    assert truth.loc[coordinated, "scenario"].isin(SCENARIOS).all()
    assert truth.loc[truth["role"] == "trap", "scenario"].isin(TRAPS).all()
    assert (truth.loc[truth["role"] == "organic", "scenario"] == "organic").all()
    assert set(truth["role"]) == {"organic", "coordinated", "trap"}
    # Every scenario and trap is there, and each group belongs to one scenario.
    assert set(truth["scenario"]) == {*SCENARIOS, *TRAPS, "organic"}
    assert (truth[coordinated].groupby("group")["scenario"].nunique() == 1).all()
    # Groups are numbered 0.. in the order of SCENARIOS.
    first = truth[coordinated].groupby("group")["scenario"].first()
    assert list(first.index) == list(range(len(first)))
    assert list(first.map(SCENARIOS.index)) == sorted(first.map(SCENARIOS.index))
    # Planted and trap accounts all act.
    assert set(truth.loc[truth["role"] != "organic", "account_id"]) <= set(actions["account_id"])


def test_group_sizes_and_counts(full):
    _, truth, _ = full
    planted = truth[truth["role"] == "coordinated"]
    sizes = planted.groupby("group").size()
    scen = planted.groupby("group")["scenario"].first()
    per = scen.value_counts()
    assert (per.drop("rotating") == 3).all() and per["rotating"] == 1
    assert sizes[scen != "rotating"].between(5, 30).all()
    assert sizes[scen == "rotating"].between(50, 150).all()
    traps = truth[truth["role"] == "trap"]["scenario"].value_counts()
    assert traps["breaking_news"] >= 1000
    assert 2 * 51 <= traps["fan_club"] <= 2 * 201
    assert 8 <= traps["brand_schedulers"] <= 60
    assert (truth["scenario"] == "organic").mean() > 0.2


def test_every_member_has_organic_background(small):
    actions, truth, pushes = small
    in_push = set(pushes["action_ids"].explode().dropna())
    organic = set(actions.loc[~actions["action_id"].isin(in_push), "account_id"])
    planted = truth.loc[truth["role"] == "coordinated", "account_id"]
    # Everyone draws organic actions from the same heavy-tailed law (a few drop out: reposts that
    # would fall after the end of the period).
    assert planted.isin(organic).mean() >= 0.9
    rows = actions[~actions["action_id"].isin(in_push)]
    counts = rows["account_id"].value_counts()
    plain = truth.loc[truth["role"] == "organic", "account_id"]
    usual = truth.loc[(truth["role"] == "coordinated") & (truth["scenario"] != "camouflage"),
                      "account_id"]  # camouflage members have more organic activity, by design
    ratio = (counts.reindex(usual, fill_value=0).mean()
             / counts.reindex(plain, fill_value=0).mean())
    assert 0.5 < ratio < 2


def test_ids_do_not_reveal_roles(full):
    actions, truth, _ = full
    rank = pd.Series(np.arange(len(truth)), index=truth["account_id"])
    n = len(truth)
    for role, rows in truth.groupby("role"):
        pos = rank.loc[rows["account_id"]].to_numpy()
        # Spread over the whole id range, with a mean rank like that of a random sample.
        assert pos.min() < 0.1 * n and pos.max() > 0.9 * n, role
        assert abs(pos.mean() / n - 0.5) < 0.1, role
    for _, members in truth[truth["group"] >= 0].groupby("group")["account_id"]:
        assert np.any(np.diff(np.sort(rank.loc[members].to_numpy())) > 1)
    # Action ids follow time only: the first actions of the table are no one's in particular.
    first = actions.head(200).merge(truth, on="account_id")["role"].value_counts(normalize=True)
    assert first.get("organic", 0) > 0.2


# --- names and parameters -----------------------------------------------------------------------


def test_parse_scenarios():
    assert parse_scenarios("all") == [*SCENARIOS, *TRAPS]
    assert parse_scenarios(" Slow ") == ["slow"]
    assert parse_scenarios("trending,lockstep") == ["lockstep", "trending"]
    assert parse_scenarios(["schedule", "links,hashtag"]) == ["links", "hashtag", "schedule"]
    assert parse_scenarios(["all", "slow"]) == [*SCENARIOS, *TRAPS]
    for bad, shown in (("bots", "'bots'"), ("lockstep,nope,zzz", "'nope,zzz'")):
        with pytest.raises(ParameterError, match="lockstep, copypasta.*brand_schedulers") as e:
            parse_scenarios(bad)
        assert shown in str(e.value)
    for bad in ("", " , ", [], 3, [1]):
        with pytest.raises(ParameterError, match="'scenarios' parameter"):
            parse_scenarios(bad)


def test_subset_has_only_its_scenarios():
    _, truth = simulate_scenarios("links", n_accounts=300, days=1, seed=1)
    assert set(truth["scenario"]) == {"links", "organic"}
    _, truth = simulate_scenarios("trending", n_accounts=300, days=1, seed=1)
    assert set(truth["scenario"]) == {"trending", "organic"} and (truth["group"] == -1).all()


@pytest.mark.parametrize("kwargs, name", [
    ({"scenarios": "nope"}, "scenarios"),
    ({"n_accounts": 5}, "n_accounts"),
    ({"n_accounts": 300}, "n_accounts"),  # too few for every scenario and trap
    ({"days": 0}, "days"),
    ({"seed": -1}, "seed"),
    ({"window": 0}, "window"),
    ({"window": "soon"}, "window"),
    ({"start": "not a date"}, "start"),
])
def test_parameter_errors(kwargs, name):
    with pytest.raises(ParameterError, match=rf"The '{name}' parameter of simulate_scenarios"):
        simulate_scenarios(**kwargs)


# --- coordinated scenarios ----------------------------------------------------------------------


def test_schedule_groups_share_no_object(full):
    actions, truth, pushes = full
    member_group = truth.set_index("account_id")["group"]
    rows = pd.concat(_rows_of(actions, pushes, "schedule"))
    assert (rows["action_type"] == "post").all() and rows["parent_id"].isna().all()
    for col in LIST_COLUMNS:
        assert (rows[col].str.len() == 0).all(), col
    norm = rows["text"].map(lambda t: " ".join(unicodedata.normalize("NFKC", t).casefold().split()))
    assert norm.is_unique
    # ... nor with anything else in the table.
    other = actions.loc[~actions["action_id"].isin(rows["action_id"]), "text"].dropna()
    assert not set(rows["text"]) & set(other)
    # But members post in the same clock minutes, several times a day, over both days.
    rows = rows.assign(group=member_group.loc[rows["account_id"]].to_numpy(),
                       minute=_seconds(rows["timestamp"]) // 60)
    for g, d in rows.groupby("group"):
        per_minute = d.groupby("minute")["account_id"].nunique()
        assert (per_minute >= 2).all()
        minute_of_day = pd.Series(per_minute.index % 1440)
        assert minute_of_day.nunique() >= 3
        assert (minute_of_day.value_counts() == 2).any()  # the same minute on both days


def test_lockstep_reposts_within_seconds(small):
    actions, _, pushes = small
    for rows in _rows_of(actions, pushes, "lockstep"):
        t = _seconds(rows["timestamp"])
        reposts = rows[rows["action_type"] == "repost"]
        assert reposts["parent_id"].nunique() == 1 and len(reposts) >= 1
        assert t.max() - t.min() <= 60


def test_copypasta_near_identical_with_small_edits_and_japanese():
    actions, _, pushes = _simulate_scenarios_with_log("copypasta", n_accounts=2000, days=1,
                                                      seed=4)
    texts = [r["text"].tolist() for r in _rows_of(actions, pushes, "copypasta")]
    japanese = [ts for ts in texts if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", ts[0])]
    assert japanese and len(japanese) < len(texts)
    edited = 0
    for ts in texts:
        base = [re.sub(r"https?://\S+", "", t) for t in ts]
        # Copies differ, but each stays close to the others (same words, mostly same order).
        edited += len(set(ts)) > 1
        for t in base[1:]:
            a, b = set(base[0]), set(t)
            assert len(a & b) / len(a | b) > 0.6
    assert edited >= 0.8 * len(texts)
    rows = pd.concat(_rows_of(actions, pushes, "copypasta"))
    t = rows.groupby(rows["action_id"].map(
        dict(pushes[["push_id", "action_ids"]].explode("action_ids")
             .set_index("action_ids")["push_id"])))["timestamp"]
    assert ((t.max() - t.min()).dt.total_seconds() <= 120).all()


def test_slow_groups_spread_beyond_the_window(small):
    actions, _, pushes = small
    spans = [np.ptp(_seconds(r["timestamp"])) for r in _rows_of(actions, pushes, "slow")]
    assert max(spans) <= 600 and np.median(spans) > 120


def test_camouflage_is_about_ten_percent_of_activity(full):
    actions, truth, pushes = full
    in_push = set(pushes.loc[pushes["scenario"] == "camouflage", "action_ids"].explode())
    members = truth.loc[truth["scenario"] == "camouflage", "account_id"]
    mine = actions[actions["account_id"].isin(set(members))]
    share = mine["action_id"].isin(in_push).groupby(mine["account_id"]).mean()
    assert 0.05 < share.median() < 0.2


def test_links_differ_only_by_tracking_and_host_variants(small):
    actions, _, pushes = small
    for rows in _rows_of(actions, pushes, "links"):
        urls = rows["urls"].str[0]
        bare = urls.str.replace(r"^https?://(www\.)?", "", regex=True).str.split("?").str[0]
        assert bare.nunique() == 1
        assert {normalize_url(u) for u in urls}.__len__() == 1
        queries = urls.str.split("?").str[1].dropna()
        keys = {kv.split("=")[0] for q in queries for kv in q.split("&")}
        assert keys <= {"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
                        "fbclid"}
        assert rows["text"].nunique() == len(rows)  # own texts


def test_hashtag_pushes_share_a_tag_with_own_texts(small):
    actions, _, pushes = small
    for rows in _rows_of(actions, pushes, "hashtag"):
        common = set.intersection(*(set(h) for h in rows["hashtags"]))
        assert len(common) >= 1
        assert rows["text"].nunique() == len(rows)
        assert np.ptp(_seconds(rows["timestamp"])) <= 180


def test_rotating_pushes_use_small_subsets_of_a_large_group(full):
    actions, truth, pushes = full
    group = truth.loc[truth["scenario"] == "rotating", "account_id"]
    rows = _rows_of(actions, pushes, "rotating")
    sizes = [r["account_id"].nunique() for r in rows]
    assert 5 <= min(sizes) and max(sizes) <= 10
    used = set(pd.concat(rows)["account_id"])
    assert used <= set(group) and len(used) > 0.8 * len(group)


# --- traps ----------------------------------------------------------------------------------------


def test_breaking_news_reposted_by_thousands_within_minutes():
    actions, truth, pushes = _simulate_scenarios_with_log("breaking_news", n_accounts=5000,
                                                          days=1, seed=0)
    t = pd.Series(_seconds(actions["timestamp"]), index=actions["action_id"])
    best = 0
    for rows in _rows_of(actions, pushes, "breaking_news"):
        news = rows[rows["action_type"] == "post"].index[0]
        rep = rows[rows["parent_id"] == news]
        best = max(best, int((t.loc[rep.index] - t.loc[news] <= 600).sum()))
    assert best >= 1000
    assert (truth.loc[truth["scenario"] == "breaking_news", "group"] == -1).all()


def test_fan_club_fans_repost_a_share_of_the_idols_posts(small):
    actions, truth, pushes = small
    rows = _rows_of(actions, pushes, "fan_club")
    posts = [r[r["action_type"] == "post"] for r in rows]
    idol = {p["account_id"].iloc[0] for p in posts}
    assert len(idol) == 1
    reposts = pd.concat([r[r["action_type"] == "repost"] for r in rows])
    fans = truth.loc[(truth["scenario"] == "fan_club") & ~truth["account_id"].isin(idol),
                     "account_id"]
    share = reposts.groupby("account_id").size().reindex(fans, fill_value=0) / len(posts)
    assert 0.25 < share.mean() < 0.65
    t = pd.Series(_seconds(actions["timestamp"]), index=actions["action_id"])
    delay = t.loc[reposts["action_id"]].to_numpy() - t.loc[reposts["parent_id"]].to_numpy()
    assert 20 < np.median(delay) < 120 and np.quantile(delay, 0.95) > 120  # heavy-tailed


def test_trending_tags_used_by_many_over_hours(small):
    actions, _, pushes = small
    for rows in _rows_of(actions, pushes, "trending"):
        assert rows["account_id"].nunique() >= 20
        assert np.ptp(_seconds(rows["timestamp"])) > 3 * 3600


def test_brand_schedulers_post_on_the_hour_their_own_content():
    actions, _, pushes = _simulate_scenarios_with_log(
        "brand_schedulers", n_accounts=1500, days=2, seed=1, start="2024-03-01T10:20:30Z")
    rows = pd.concat(_rows_of(actions, pushes, "brand_schedulers"))
    assert (rows["timestamp"].dt.minute == 0).all() and (rows["timestamp"].dt.second == 0).all()
    assert (rows["action_type"] == "post").all()
    hosts = rows["urls"].explode().dropna().map(lambda u: u.split("/")[2])
    assert (hosts.groupby(rows.loc[hosts.index, "account_id"]).nunique() == 1).all()
    assert hosts.groupby(hosts).apply(lambda h: rows.loc[h.index, "account_id"].nunique()).max() == 1


def test_window_scales_coordinated_delays():
    spans = {}
    for window in (30, 120):
        actions, _, pushes = _simulate_scenarios_with_log("lockstep", n_accounts=400, days=1,
                                                          seed=3, window=window)
        spans[window] = np.mean([np.ptp(_seconds(r["timestamp"]))
                                 for r in _rows_of(actions, pushes, "lockstep")])
    assert spans[120] > 2 * spans[30]


# --- evaluate -----------------------------------------------------------------------------------


def test_evaluate_per_scenario_keys(small):
    _, truth, _ = small
    # Flag exactly the planted groups, plus the first 10 fan_club accounts in a cluster of their own.
    fans = truth.loc[truth["scenario"] == "fan_club", "account_id"].head(10)
    members = pd.DataFrame({"account_id": truth["account_id"],
                            "cluster_id": np.where(truth["account_id"].isin(fans), 999,
                                                   truth["group"])})
    clusters = pd.DataFrame({"cluster_id": [*range(int(truth["group"].max()) + 1), 999],
                             "flagged": True})
    m = evaluate(members, clusters, truth)
    assert list(m["scenario_recall"]) == list(SCENARIOS)
    assert list(m["trap_flagged"]) == list(TRAPS)
    assert all(v == 1.0 for v in m["scenario_recall"].values())
    n_fan = int((truth["scenario"] == "fan_club").sum())
    assert m["trap_flagged"]["fan_club"] == pytest.approx(10 / n_fan)
    assert m["trap_flagged"]["breaking_news"] == 0.0 and m["organic_flagged"] == 0.0
    assert m["fp"] == 10 and m["recall"] == 1.0  # traps are negatives
    assert m["scenario_accounts"]["fan_club"] == n_fan
    assert sum(m["scenario_accounts"].values()) == int((truth["scenario"] != "organic").sum())
    # Without a scenario column, the keys are the old ones.
    assert "scenario_recall" not in evaluate(members, clusters, truth[TRUTH_COLUMNS])


def test_evaluate_by_hand_with_organic_and_unknown_names():
    truth = pd.DataFrame({"account_id": list("abcdefgh"),
                          "group": [0, 0, 1, -1, -1, -1, -1, -1],
                          "scenario": ["lockstep", "lockstep", "custom", "trending", "trending",
                                       "organic", "", None]})
    members = pd.DataFrame({"account_id": list("abcdfg"), "cluster_id": [1, 1, 2, 1, 1, 3]})
    clusters = pd.DataFrame({"cluster_id": [1, 2, 3], "flagged": [True, False, True]})
    m = evaluate(members, clusters, truth)
    assert m["scenario_recall"] == {"lockstep": 1.0, "custom": 0.0}
    assert m["trap_flagged"] == {"trending": 0.5}
    assert m["organic_flagged"] == pytest.approx(2 / 3)  # f, g, h: "", None count as organic
    assert m["scenario_accounts"] == {"lockstep": 2, "custom": 1, "trending": 2}


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_simulate_scenarios(tmp_path):
    out = tmp_path / "s"
    res = CliRunner().invoke(main, ["simulate", "--scenario", "all", "-o", str(out),
                                    "--accounts", "1000", "--days", "1", "--seed", "2"])
    assert res.exit_code == 0, res.output
    assert len(res.output.strip().splitlines()) == 1 and "planted groups" in res.output
    truth = read_truth(out / "truth.csv")
    assert list(truth.columns) == SCENARIO_TRUTH_COLUMNS
    assert set(truth["scenario"]) == {*SCENARIOS, *TRAPS, "organic"}
    actions, expected = simulate_scenarios("all", n_accounts=1000, days=1, seed=2)
    pd.testing.assert_frame_equal(truth, expected)
    assert len(pd.read_csv(out / "actions.csv")) == len(actions)


def test_cli_simulate_scenario_subset_and_defaults_unchanged(tmp_path):
    res = CliRunner().invoke(main, ["simulate", "--scenario", "slow,fan_club", "-o",
                                    str(tmp_path / "a"), "--accounts", "600", "--days", "1"])
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(tmp_path / "a" / "truth.csv")["scenario"]) == {"slow", "fan_club",
                                                                          "organic"}
    res = CliRunner().invoke(main, ["simulate", "-o", str(tmp_path / "b"), "--accounts", "200",
                                    "--groups", "2", "--days", "1"])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(tmp_path / "b" / "truth.csv").columns.tolist() == TRUTH_COLUMNS


@pytest.mark.parametrize("args, message", [
    (["--scenario", "lockstep,bots"], "Got 'bots' instead"),
    (["--scenario", "all", "--groups", "3"], "'groups' parameter"),
    (["--scenario", "all", "--accounts", "100"], "'n_accounts' parameter"),
])
def test_cli_simulate_bad_scenario_exit_2(tmp_path, args, message):
    res = CliRunner().invoke(main, ["simulate", "-o", str(tmp_path / "x"), *args])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]
    assert "Traceback" not in res.output
    assert not (tmp_path / "x").exists()


def test_cli_evaluate_prints_recall_per_scenario_and_traps(tmp_path):
    sim = tmp_path / "sim"
    r = CliRunner().invoke(main, ["simulate", "--scenario", "lockstep,schedule,fan_club", "-o",
                                  str(sim), "--accounts", "1500", "--days", "2", "--seed", "5"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["-q", "detect", str(sim / "actions.csv"), "-o", str(tmp_path / "o"),
                                  "--n-null", "20", "--fdr-runs", "3"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["evaluate", str(tmp_path / "o"), str(sim / "truth.csv")])
    assert r.exit_code == 0, r.output
    assert "recall per scenario" in r.output
    lines = dict(ln.split(":", 1) for ln in r.output.splitlines() if ln.strip().startswith(
        ("lockstep", "schedule", "fan_club")))
    assert set(lines) >= {"        lockstep", "        schedule", "        fan_club"}
    assert float(lines["        lockstep"]) == 1.0
