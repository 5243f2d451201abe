"""Tests of cib.datasets: the simulator's contract, determinism and realism."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

from cib.datasets import _simulate_with_pushes, simulate, write_simulation
from cib.errors import ParameterError
from cib.evaluate import read_truth
from cib.schema import ACTION_COLUMNS, ACTION_TYPES, LIST_COLUMNS, TRUTH_COLUMNS, validate_actions

DEFAULT = {}  # the documented defaults: 1000 accounts, 5 groups of 5-15, 7 days, window 60 s


@pytest.fixture(scope="module")
def sim():
    return _simulate_with_pushes(**DEFAULT)


@pytest.fixture(scope="module")
def small():
    return simulate(n_accounts=300, n_groups=3, group_size=(3, 6), days=2, seed=3)


def _seconds(ts: pd.Series) -> np.ndarray:
    return ts.astype("int64").to_numpy() // 1_000_000_000


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_tables(tmp_path):
    a1, t1 = simulate(n_accounts=300, n_groups=2, seed=11)
    a2, t2 = simulate(n_accounts=300, n_groups=2, seed=11)
    pd.testing.assert_frame_equal(a1, a2)
    pd.testing.assert_frame_equal(t1, t2)
    write_simulation(tmp_path / "one", a1, t1)
    write_simulation(tmp_path / "two", a2, t2)
    for name in ("actions.csv", "truth.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_different_seeds_differ():
    a1, t1 = simulate(n_accounts=300, n_groups=2, seed=1)
    a2, t2 = simulate(n_accounts=300, n_groups=2, seed=2)
    assert not a1.equals(a2)
    assert not t1["group"].equals(t2["group"])


# --- the ACTIONS and TRUTH contracts ----------------------------------------------------------


def test_actions_contract(small):
    actions, truth = small
    validate_actions(actions)
    assert list(actions.columns) == ACTION_COLUMNS
    assert str(actions["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(actions["action_type"].dtype, pd.CategoricalDtype)
    assert list(actions["action_type"].cat.categories) == ACTION_TYPES
    for col in ["action_id", "account_id", "parent_id", "text", "platform", *LIST_COLUMNS]:
        assert actions[col].dtype == object, col
    assert (actions["timestamp"].astype("int64") % 1_000_000_000 == 0).all()  # whole seconds
    assert actions["action_id"].is_unique
    assert actions["action_id"].str.fullmatch(r"a\d{6,}").all()
    assert actions["account_id"].str.fullmatch(r"u\d{5,}").all()
    assert (actions["platform"] == "sim").all()
    for col in ("parent_id", "text"):
        assert actions[col].map(lambda v: v is None or isinstance(v, str)).all(), col
    for col in LIST_COLUMNS:
        assert actions[col].map(lambda v: isinstance(v, list)
                                and all(isinstance(x, str) for x in v)).all(), col
    # Distinct list objects: changing one row never changes another.
    assert len({id(v) for v in actions["urls"]}) == len(actions)
    # Types and their fields.
    is_post = actions["action_type"] == "post"
    assert actions.loc[is_post, "parent_id"].isna().all()
    assert actions.loc[~is_post, "parent_id"].notna().all()
    assert actions.loc[actions["action_type"] == "repost", "text"].isna().all()
    assert actions.loc[actions["action_type"] != "repost", "text"].notna().all()
    assert set(actions["action_type"].unique()) == set(ACTION_TYPES)
    # Sorted by (timestamp, account_id, action_id).
    key = actions[["timestamp", "account_id", "action_id"]]
    assert key.equals(key.sort_values(["timestamp", "account_id", "action_id"]))
    # Inside the period; every parent is an earlier post of the table.
    start = pd.Timestamp("2024-01-01", tz="UTC")
    assert actions["timestamp"].min() >= start
    assert actions["timestamp"].max() < start + pd.Timedelta(days=2)
    by_id = actions.set_index("action_id")
    children = actions[~is_post]
    parents = by_id.loc[children["parent_id"]]
    assert (parents["action_type"] == "post").all()
    assert (parents["timestamp"].to_numpy() < children["timestamp"].to_numpy()).all()
    assert set(actions["account_id"]) <= set(truth["account_id"])


def test_truth_contract(small):
    actions, truth = small
    assert list(truth.columns) == TRUTH_COLUMNS
    assert len(truth) == 300 and truth["account_id"].is_unique
    assert truth["account_id"].dtype == object and truth["role"].dtype == object
    assert truth["group"].dtype == np.int64
    assert truth["account_id"].is_monotonic_increasing
    assert ((truth["group"] >= 0) == (truth["role"] == "coordinated")).all()
    assert ((truth["group"] == -1) == (truth["role"] == "organic")).all()
    assert set(truth["group"]) == {-1, 0, 1, 2}


def test_platform_and_text_content(small):
    actions, _ = small
    replies = actions[actions["action_type"] == "reply"]
    # A reply mentions the author of its parent.
    authors = actions.set_index("action_id")["account_id"]
    assert (replies["mentions"].str[0] == "@" + authors.loc[replies["parent_id"]].to_numpy()).all()
    posts = actions[actions["action_type"] == "post"]
    tagged = posts[posts["hashtags"].str.len() > 0]
    assert len(tagged) and tagged["hashtags"].map(lambda v: all(t.startswith("#") for t in v)).all()
    linked = posts[posts["urls"].str.len() > 0]
    assert len(linked) and linked["urls"].map(lambda v: all(u.startswith("http") for u in v)).all()
    # The URL is in the text, as on a real platform.
    assert all(u[0] in t for u, t in zip(linked["urls"], linked["text"]))


def test_start_with_time_zone_and_short_period():
    actions, truth = simulate(n_accounts=50, n_groups=1, group_size=3, days=0.25, seed=0,
                              start="2024-03-01T12:00:00+02:00", window="30s")
    start = pd.Timestamp("2024-03-01T10:00:00Z")
    assert actions["timestamp"].min() >= start
    assert actions["timestamp"].max() < start + pd.Timedelta(hours=6)
    assert (truth["group"] == 0).sum() == 3


# --- planted groups -----------------------------------------------------------------------------


def test_planted_group_sizes_and_presence():
    actions, truth = simulate(n_accounts=500, n_groups=4, group_size=(3, 6), seed=5)
    sizes = truth.loc[truth["group"] >= 0].groupby("group").size()
    assert list(sizes.index) == [0, 1, 2, 3]
    assert sizes.between(3, 6).all()
    planted = set(truth.loc[truth["group"] >= 0, "account_id"])
    assert planted <= set(actions["account_id"])
    actions, truth = simulate(n_accounts=100, n_groups=3, group_size=4, seed=5)
    assert truth.loc[truth["group"] >= 0].groupby("group").size().tolist() == [4, 4, 4]


def test_no_groups_and_all_planted():
    _, truth = simulate(n_accounts=40, n_groups=0, seed=0)
    assert (truth["group"] == -1).all() and (truth["role"] == "organic").all()
    actions, truth = simulate(n_accounts=4, n_groups=2, group_size=2, days=1, seed=0)
    assert (truth["group"] >= 0).all()
    assert set(actions["account_id"]) == set(truth["account_id"])


def test_planted_ids_are_not_sorted_blocks(sim):
    _, truth, _ = sim
    position = pd.Series(np.arange(len(truth)), index=truth["account_id"])
    planted = truth.loc[truth["group"] >= 0]
    pos = np.sort(position.loc[planted["account_id"]].to_numpy())
    assert pos[-1] - pos[0] > 2 * len(pos)            # spread over the id range
    assert pos[0] > 0 or pos[-1] < len(truth) - 1
    for _, members in planted.groupby("group")["account_id"]:
        p = np.sort(position.loc[members].to_numpy())
        assert np.any(np.diff(p) > 1)                  # not a block of consecutive ids


def test_planted_members_have_organic_background(sim):
    actions, truth, pushes = sim
    in_push = set(pushes["action_ids"].explode().dropna())
    organic_rows = actions[~actions["action_id"].isin(in_push)]
    planted = truth.loc[truth["group"] >= 0, "account_id"]
    share = planted.isin(set(organic_rows["account_id"])).mean()
    assert share >= 0.9
    # Their organic volume looks like everyone else's (same distribution).
    counts = organic_rows["account_id"].value_counts()
    organic = truth.loc[truth["group"] == -1, "account_id"]
    ratio = counts.reindex(planted, fill_value=0).median() / counts.reindex(organic, fill_value=0).median()
    assert 0.3 < ratio < 3


def _push_objects(actions: pd.DataFrame) -> pd.DataFrame:
    """(action_id, account_id, t, object) rows: a post is an object itself; reposts, replies and
    quotes act on their parent; URLs (without query), hashtags and post texts are objects too."""
    t = _seconds(actions["timestamp"])
    base = pd.DataFrame({"action_id": actions["action_id"], "account_id": actions["account_id"],
                         "t": t})
    own = np.where(actions["parent_id"].isna(), actions["action_id"], actions["parent_id"])
    parts = [base.assign(obj="id:" + pd.Series(own, index=actions.index, dtype=object))]
    for col, prefix in (("urls", "url:"), ("hashtags", "tag:")):
        ex = base.assign(v=actions[col]).explode("v").dropna(subset=["v"])
        if col == "urls":
            ex["v"] = ex["v"].str.split("?").str[0]
        parts.append(ex.assign(obj=prefix + ex["v"]).drop(columns="v"))
    posts = actions["action_type"] == "post"
    parts.append(base[posts].assign(obj="text:" + actions.loc[posts, "text"]))
    return pd.concat(parts, ignore_index=True)


def _co_acted_within(rows: pd.DataFrame, window: float) -> set[str]:
    """Objects on which two different accounts of ``rows`` acted within ``window`` seconds."""
    found = set()
    for obj, d in rows.groupby("obj"):
        if d["account_id"].nunique() < 2:
            continue
        d = d.sort_values("t")
        t, a = d["t"].to_numpy(), d["account_id"].to_numpy()
        for i in range(len(t)):
            j = i + 1
            while j < len(t) and t[j] - t[i] <= window:
                if a[j] != a[i]:
                    found.add(obj)
                    break
                j += 1
            if obj in found:
                break
    return found


@pytest.mark.parametrize("window", [60.0, 20.0])
def test_most_pushes_have_members_co_acting_within_window(window):
    actions, truth, pushes = _simulate_with_pushes(n_accounts=600, window=window, seed=4)
    objects = _push_objects(actions)
    assert set(pushes["kind"]) == {"own", "amplify", "url", "hashtag", "copypasta"}
    for g, group_pushes in pushes.groupby("group"):
        assert 15 <= len(group_pushes) <= 40
        ok = []
        for ids in group_pushes["action_ids"]:
            rows = objects[objects["action_id"].isin(set(ids))]
            ok.append(bool(_co_acted_within(rows, window)))
        assert np.mean(ok) >= 0.8, (g, np.mean(ok))
        # The push's actions are all by members of the group.
        members = set(truth.loc[truth["group"] == g, "account_id"])
        acted = actions.loc[actions["action_id"].isin(set(group_pushes["action_ids"].explode())),
                            "account_id"]
        assert set(acted) <= members


def test_group_co_actions_within_window_dominate(sim):
    """Without the push log: a group's members meet within the window on many objects, several
    times more than a random set of as many organic accounts does."""
    actions, truth, _ = sim
    objects = _push_objects(actions)
    organic = truth.loc[truth["group"] == -1, "account_id"].to_numpy()
    rng = np.random.default_rng(0)
    for g, members in truth.loc[truth["group"] >= 0].groupby("group")["account_id"]:
        within = _co_acted_within(objects[objects["account_id"].isin(set(members))], 60.0)
        baseline = max(
            len(_co_acted_within(objects[objects["account_id"].isin(
                set(rng.choice(organic, len(members), replace=False)))], 60.0))
            for _ in range(5))
        assert len(within) >= 10, g
        assert len(within) >= 2 * baseline, (g, len(within), baseline)


def test_url_pushes_use_member_specific_tracking_parameters(sim):
    actions, _, pushes = sim
    url_pushes = pushes[pushes["kind"] == "url"]
    assert len(url_pushes)
    for ids in url_pushes["action_ids"]:
        urls = actions.loc[actions["action_id"].isin(set(ids)), "urls"].str[0]
        assert urls.str.split("?").str[0].nunique() == 1     # the same page
        assert urls.str.contains("utm_source=").all()
        assert urls.nunique() == len(urls)                   # one tracking variant per member


def test_copypasta_pushes_share_text(sim):
    actions, _, pushes = sim
    for ids in pushes.loc[pushes["kind"] == "copypasta", "action_ids"]:
        rows = actions[actions["action_id"].isin(set(ids))]
        assert rows["text"].nunique() == 1 and rows["account_id"].nunique() == len(rows)


# --- organic realism ----------------------------------------------------------------------------


def test_organic_activity_is_heavy_tailed(sim):
    actions, truth, _ = sim
    organic = truth.loc[truth["group"] == -1, "account_id"]
    counts = actions["account_id"].value_counts().reindex(organic, fill_value=0)
    assert 3 <= counts.median() <= 10
    assert counts.max() >= 100
    assert counts.max() >= 10 * counts.median()
    assert (counts >= 50).sum() >= 5                        # a few very active accounts


def test_viral_posts_are_an_organic_trap(sim):
    actions, truth, _ = sim
    organic = set(truth.loc[truth["group"] == -1, "account_id"])
    t = pd.Series(_seconds(actions["timestamp"]), index=actions["action_id"])
    reposts = actions[(actions["action_type"] == "repost") & actions["account_id"].isin(organic)]
    delay = _seconds(reposts["timestamp"]) - t.loc[reposts["parent_id"]].to_numpy()
    fast = reposts.loc[delay <= 1800, "parent_id"].value_counts()
    assert fast.max() >= 100


def test_popular_posts_attract_organic_bursts(sim):
    actions, truth, _ = sim
    organic = set(truth.loc[truth["group"] == -1, "account_id"])
    reposts = actions[(actions["action_type"] == "repost") & actions["account_id"].isin(organic)]
    per_post = reposts["parent_id"].value_counts()
    assert per_post.iloc[0] >= 20 * per_post.median()       # preferential popularity
    # Unrelated organic accounts repost the same post within a minute of each other, often.
    rows = pd.DataFrame({"obj": reposts["parent_id"], "account_id": reposts["account_id"],
                         "t": _seconds(reposts["timestamp"])})
    assert len(_co_acted_within(rows, 60.0)) >= 20
    # Organic posts share popular URLs and hashtags.
    posts = actions[(actions["action_type"] == "post") & actions["account_id"].isin(organic)]
    assert posts["urls"].explode().dropna().str.split("?").str[0].value_counts().iloc[0] >= 20
    assert posts["hashtags"].explode().dropna().value_counts().iloc[0] >= 20


# --- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, name", [
    ({"n_accounts": 1}, "n_accounts"),
    ({"n_accounts": 10.5}, "n_accounts"),
    ({"n_accounts": "many"}, "n_accounts"),
    ({"n_groups": -1}, "n_groups"),
    ({"group_size": (1, 5)}, "group_size"),
    ({"group_size": 1}, "group_size"),
    ({"group_size": (6, 5)}, "group_size"),
    ({"group_size": (2, 3, 4)}, "group_size"),
    ({"days": 0}, "days"),
    ({"days": -1}, "days"),
    ({"seed": -1}, "seed"),
    ({"window": 0}, "window"),
    ({"window": "soon"}, "window"),
    ({"start": "not a date"}, "start"),
    ({"n_accounts": 10, "n_groups": 3, "group_size": 5}, "n_accounts"),
])
def test_parameter_errors(kwargs, name):
    with pytest.raises(ParameterError, match=rf"The '{name}' parameter of simulate must be"):
        simulate(**kwargs)


def test_planted_accounts_may_fill_all_accounts():
    _, truth = simulate(n_accounts=10, n_groups=2, group_size=5, days=1)
    assert (truth["group"] >= 0).sum() == 10


# --- writing ------------------------------------------------------------------------------------


def test_write_simulation(tmp_path, small):
    actions, truth = small
    out = tmp_path / "new" / "dir"
    a_path, t_path = write_simulation(out, actions, truth)
    assert (a_path, t_path) == (out / "actions.csv", out / "truth.csv")
    assert sorted(p.name for p in out.iterdir()) == ["actions.csv", "truth.csv"]  # no temp files
    back = pd.read_csv(a_path, dtype=str, keep_default_na=False)
    assert list(back.columns) == ACTION_COLUMNS and len(back) == len(actions)
    assert back["timestamp"].map(lambda s: bool(re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s))).all()
    assert (pd.to_datetime(back["timestamp"], utc=True) == actions["timestamp"]).all()
    for col in LIST_COLUMNS:
        assert back[col].tolist() == [" ".join(v) for v in actions[col]]
    assert back["action_id"].tolist() == actions["action_id"].tolist()
    got = read_truth(t_path)
    pd.testing.assert_frame_equal(got[["account_id", "group"]], truth[["account_id", "group"]])
    # Writing again replaces the files.
    write_simulation(out, actions.head(3), truth)
    assert len(pd.read_csv(a_path)) == 3


@pytest.mark.slow
def test_simulate_100k_accounts_is_fast():
    t = time.perf_counter()
    actions, truth = simulate(n_accounts=100_000)
    assert time.perf_counter() - t < 30
    assert len(truth) == 100_000 and len(actions) > 500_000
