"""Near-duplicate text groups (cib.text)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from cib.errors import ParameterError
from cib.schema import TRACE_COLUMNS, validate_traces
from cib.text import lsh_params, near_duplicate_groups, shingle_jaccard, text_traces
from cib.traces import build_traces, normalize_text, text_fingerprint

EN = "Vote NOW, the election is rigged! Share this before they delete it, everyone must know"
JA_LONG = ("選挙は不正だった。開票所で大量の票が捨てられているのを見たという証言がある。"
           "メディアは報じないので今すぐ拡散してください")
JA_SHORT = "選挙は不正だ！今すぐ拡散してください"


def _brute_force(texts: list[str], threshold: float, shingle: int) -> list[int]:
    """Reference: connected components over all pairs with exact shingle Jaccard >= threshold."""
    norm = [normalize_text(t) for t in texts]
    n = len(norm)
    rows, cols = [], []
    for i in range(n):
        for j in range(i + 1, n):
            if len(norm[i]) >= shingle and len(norm[j]) >= shingle and (
                    norm[i] == norm[j] or shingle_jaccard(norm[i], norm[j], shingle) >= threshold - 1e-9):
                rows.append(i)
                cols.append(j)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1].tolist()


def _same_partition(groups: pd.Series, labels: list[int], valid: list[bool]) -> bool:
    g = groups.tolist()
    for i in range(len(g)):
        for j in range(len(g)):
            if valid[i] and valid[j] and (g[i] == g[j]) != (labels[i] == labels[j]):
                return False
    return True


def _mutate(text: str, rng: random.Random, n_edits: int) -> str:
    words = text.split()
    for _ in range(n_edits):
        k = rng.randrange(len(words))
        op = rng.random()
        if op < 0.4:
            words[k] = rng.choice(["now", "pls", "!!", "fr", "omg", "truth"])
        elif op < 0.7:
            words.insert(k, rng.choice(["really", "#rt", "wow"]))
        elif len(words) > 3:
            del words[k]
    return " ".join(words)


def test_english_copypasta_with_small_edits_is_one_group():
    texts = pd.Series([
        EN,
        EN.replace("NOW", "now!!"),
        EN.replace("everyone", "every one"),
        EN + " @someone https://t.co/abc",          # mentions / URLs are stripped
        EN.upper(),                                  # case-folded
        "I had a lovely pasta lunch with my grandmother in the park today",
        "Weather is nice in Lisbon this week, going to the beach tomorrow",
    ])
    g = near_duplicate_groups(texts)
    assert g.iloc[:5].nunique() == 1
    assert g.nunique() == 3
    assert g.str.startswith("nd:").all()


def test_japanese_copypasta_one_character_changed():
    texts = pd.Series([
        JA_LONG,
        JA_LONG.replace("大量", "多量"),          # one character changed, mid-text
        JA_LONG.replace("。", "！", 1),
        JA_SHORT,
        JA_SHORT.replace("！", "!"),              # full-width -> ASCII: identical after NFKC
        JA_SHORT[:-1] + "！",                     # last character changed
        "今日は天気がいいので公園で散歩しました。桜がとてもきれいでした",
    ])
    g = near_duplicate_groups(texts)
    assert g.iloc[0] == g.iloc[1] == g.iloc[2]
    assert g.iloc[3] == g.iloc[4] == g.iloc[5]
    assert g.iloc[0] != g.iloc[3]
    assert g.iloc[6] not in set(g.iloc[:6])


def test_short_japanese_mid_edit_needs_smaller_shingles():
    # 19 characters, one changed in the middle: 5-shingle Jaccard 0.59, 2-shingle Jaccard 0.74
    a, b = JA_SHORT, JA_SHORT.replace("ください", "下さい")
    assert near_duplicate_groups(pd.Series([a, b])).nunique() == 2
    assert near_duplicate_groups(pd.Series([a, b]), threshold=0.7, shingle=2).nunique() == 1


def test_unrelated_texts_are_not_grouped():
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(500)]
    texts = pd.Series([" ".join(rng.choice(vocab) for _ in range(15)) for _ in range(300)])
    g = near_duplicate_groups(texts)
    assert g.nunique() == texts.nunique()


@pytest.mark.parametrize("shingle", [3, 5])
def test_threshold_boundary(shingle):
    base = "abcdefghijklmnopqrstuvwxyz0123456789"
    near = base[:-1] + "#"                  # last char changed: loses exactly one shingle
    j = shingle_jaccard(base, near, shingle)
    assert near_duplicate_groups(pd.Series([base, near]), threshold=j, shingle=shingle).nunique() == 1
    assert near_duplicate_groups(pd.Series([base, near]), threshold=j - 0.01, shingle=shingle).nunique() == 1
    assert near_duplicate_groups(pd.Series([base, near]), threshold=j + 0.01, shingle=shingle).nunique() == 2


def test_boundary_pair_just_above_and_below_default_threshold():
    base = "the quick brown fox jumps over the lazy dog and runs away"
    above = base[:-2] + "xy"    # tail edit: J = 0.87
    below = base.replace("jumps over", "leaps past")  # J well below 0.8
    assert shingle_jaccard(normalize_text(base), normalize_text(above)) >= 0.8
    assert shingle_jaccard(normalize_text(base), normalize_text(below)) < 0.8
    g = near_duplicate_groups(pd.Series([base, above, below]))
    assert g[0] == g[1] != g[2]


def test_identical_texts_always_grouped_even_short():
    texts = pd.Series(["hello", "HELLO", " hello  ", "hellp", "hi", "", None, np.nan, pd.NA, 42])
    g = near_duplicate_groups(texts)
    assert g[0] == g[1] == g[2]
    assert g[0] != g[3]                       # 5 chars, one changed: Jaccard 0
    assert g[0] == "nd:" + text_fingerprint("hello")
    assert g.iloc[4:].isna().all()            # shorter than shingle, empty, NA, non-string
    assert g.dtype == "string"


def test_matches_brute_force_reference():
    rng = random.Random(7)
    templates = [
        "breaking: the mayor lied about the budget, thousands of jobs will be cut next month",
        "they do not want you to know the truth about the vaccine, share before it is deleted",
        "選挙は不正だった。開票所で大量の票が捨てられているのを見たという証言がある。拡散希望",
    ]
    texts = []
    for t in templates:
        for _ in range(12):
            texts.append(_mutate(t, rng, rng.randint(0, 3)) if " " in t
                         else t.replace(rng.choice("選挙不正開票大量"), rng.choice("あいうえお")))
    texts += [f"organic post number {i} about my cat and the garden {i * 7}" for i in range(20)]
    for threshold in (0.6, 0.8, 0.9):
        g = near_duplicate_groups(pd.Series(texts), threshold=threshold)
        labels = _brute_force(texts, threshold, 5)
        assert _same_partition(g, labels, [True] * len(texts)), threshold


def test_order_and_index_do_not_change_ids_and_deterministic():
    rng = random.Random(1)
    texts = [_mutate(EN, rng, rng.randint(0, 3)) for _ in range(30)] + [JA_LONG, JA_SHORT, "x"]
    s = pd.Series(texts)
    g1 = near_duplicate_groups(s)
    g2 = near_duplicate_groups(s)
    pd.testing.assert_series_equal(g1, g2)
    perm = list(range(len(texts)))
    rng.shuffle(perm)
    shuffled = pd.Series([texts[i] for i in perm], index=[f"row{i}" for i in perm])
    g3 = near_duplicate_groups(shuffled)
    assert list(g3.index) == [f"row{i}" for i in perm]
    assert [g3[f"row{i}"] for i in range(len(texts))] == g1.tolist()


def test_empty_and_parameters():
    assert near_duplicate_groups(pd.Series([], dtype=object)).empty
    assert near_duplicate_groups(pd.Series([None, ""])).isna().all()
    with pytest.raises(ParameterError):
        near_duplicate_groups(pd.Series(["abc"]), threshold=0)
    with pytest.raises(ParameterError):
        near_duplicate_groups(pd.Series(["abc"]), shingle=0)
    assert lsh_params(0.8, 64) == (16, 4)
    b, r = lsh_params(0.9, 128)
    assert 1 - (1 - 0.9 ** r) ** b >= 0.999 and b * r <= 128


def _actions(rows):
    ts = pd.Timestamp("2024-05-01", tz="UTC")
    return pd.DataFrame({
        "action_id": [f"a{i}" for i in range(len(rows))],
        "account_id": [r[0] for r in rows],
        "timestamp": [ts + pd.Timedelta(seconds=10 * i) for i in range(len(rows))],
        "action_type": pd.Categorical([r[1] for r in rows], categories=["post", "repost", "reply", "quote"]),
        "parent_id": pd.Series([None if r[1] == "post" else "p0" for r in rows], dtype="string"),
        "text": pd.Series([r[2] for r in rows], dtype="string"),
        "urls": [[] for _ in rows], "hashtags": [[] for _ in rows], "mentions": [[] for _ in rows],
        "media": [[] for _ in rows], "platform": pd.Series(["x"] * len(rows), dtype="string"),
    })


def test_text_traces_drop_in():
    actions = _actions([
        ("u1", "post", EN),
        ("u2", "post", EN.replace("NOW", "now!!")),
        ("u3", "repost", EN),                     # reposts carry no text trace
        ("u4", "reply", EN + " @x"),
        ("u5", "post", "short one"),              # < min_text_chars
        ("u6", "post", None),
        ("u7", "post", "exactly10c"),             # >= min_text_chars, own group
        ("u8", "post", "Exactly10C"),
    ])
    tr = text_traces(actions)
    validate_traces(tr)
    assert list(tr.columns) == TRACE_COLUMNS
    assert (tr["kind"] == "text").all()
    by_action = dict(zip(tr["action_id"], tr["object_id"]))
    assert set(by_action) == {"a0", "a1", "a3", "a6", "a7"}
    assert by_action["a0"] == by_action["a1"] == by_action["a3"]
    assert by_action["a6"] == by_action["a7"] != by_action["a0"]
    # same actions as the exact-match traces, coarser objects
    exact = build_traces(actions, kinds="text", text_match="exact")
    assert set(exact["action_id"]) == set(tr["action_id"])
    assert tr["object_id"].nunique() < exact["object_id"].nunique()
    # short texts under the shingle size still match exactly
    tr2 = text_traces(actions, shingle=12)
    by2 = dict(zip(tr2["action_id"], tr2["object_id"]))
    assert by2["a6"] == by2["a7"] == "nd:" + text_fingerprint("exactly10c")
    assert text_traces(actions.iloc[:0]).empty


@pytest.mark.shared
def test_real_troll_tweets_copypasta():
    """IRA tweets (English and Russian): identical texts always share a group, near-duplicates
    with small edits join them, and groups stay much smaller than the corpus."""
    from conftest import shared_file

    from cib.io import read_actions

    path = shared_file("real", "ira538-election2016", "ira_tweets_2016-10-01_2016-11-15.csv.gz")
    actions, _, _ = read_actions(path, mapping="account_id=author_id,timestamp=timestamp,text=content")
    texts = actions["text"].dropna().head(20000)
    groups = near_duplicate_groups(texts)
    norm = texts.map(normalize_text)
    ok = groups.notna()
    # identical normalised texts -> one group
    assert (pd.DataFrame({"n": norm[ok], "g": groups[ok]}).groupby("n")["g"].nunique() == 1).all()
    # near-duplicates merge distinct texts, but nothing collapses into a giant group
    per_group = pd.DataFrame({"n": norm[ok], "g": groups[ok]}).drop_duplicates().groupby("g").size()
    assert (per_group > 1).sum() >= 10
    assert per_group.max() < 0.01 * len(texts)


@settings(deadline=None)
@given(a=st.sets(st.integers(0, 60), max_size=40), b=st.sets(st.integers(0, 60), max_size=40),
       which=st.sampled_from(["exact", "above", "below", "fixed"]),
       fixed=st.sampled_from([0.5, 0.8, 0.9, 1.0]))
def test_jaccard_test_agrees_with_python_sets(a, b, which, fixed):
    """The verification's Jaccard test (with its early exits) says what Python's sets say,
    at the threshold itself too: the early stop must never turn a pass into a fail."""
    from cib.text import _jaccard_ge

    union = len(a | b)
    exact = len(a & b) / union if union else 1.0
    t = {"exact": exact, "above": min(exact + 1e-6, 1.0), "below": max(exact - 1e-6, 0.01),
         "fixed": fixed}[which]
    vals = np.array(sorted(a) + sorted(b), dtype=np.uint64)
    off = np.array([0, len(a), len(a) + len(b)], dtype=np.int64)
    inter = len(a & b)
    want = inter >= t * (len(a) + len(b) - inter) - 1e-9
    assert _jaccard_ge(vals, off, 0, 1, t) == want
    assert _jaccard_ge(vals, off, 1, 0, t) == want
    if which == "exact" and union:
        assert want
