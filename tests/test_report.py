"""report.html: content, escaping of hostile data, size and speed (cib.report).

The builders here (:func:`hostile_report_inputs`, :func:`synthetic_tables`) are shared with
``test_report_browser.py``, which opens the pages in a real browser.
"""

from __future__ import annotations

import functools
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cib.report import (EVIDENCE_BUDGET, MAX_EVIDENCE_ROWS, MAX_TIMELINE_POINTS, PRIORITY_CLUSTERS,
                        REPORT_NAME, TIMELINE_BUDGET, render_report, safe_href, script_json,
                        write_report)
from cib.schema import CLUSTER_COLUMNS, EVIDENCE_COLUMNS, MEMBER_COLUMNS

HOSTILE_DIR = Path(__file__).parent / "data" / "hostile"

#: Account ids of the coordinated group in tests/data/hostile/actions.csv.
HOSTILE_ACCOUNTS = [
    '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', 'javascript:alert(1)',
    '</script><script>alert(1)</script>', "'-alert(1)-'", '{{7*7}}<!--', '&lt;b&gt;&amp;',
    'ünïcödé_бот_\u202eevil',
]
#: Strings that must never reach the page's markup as they are.
HOSTILE_MARKUP = [
    '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>',
    '</script><script>alert(1)</script>', '<svg onload=alert(1)>', '{{7*7}}<!--',
    '</script><img src=x onerror=alert(2)>', '<b>confirmed</b>', '<iframe src=x>',
]
#: Object ids that look like links; only the http(s) ones may become links.
HOSTILE_URLS = ['javascript:alert(1)', 'JaVaScRiPt:alert(document.domain)',
                'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)',
                'https://evil.example/"><img src=x onerror=alert(1)>',
                'https://evil.example/?q="><svg/onload=alert(1)>', 'http://ok.example/page?a=1&b=2']


# ---------------------------------------------------------------------------------------------
# Builders (shared with test_report_browser.py)
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _hostile_detection():
    import cib
    from cib.io import read_actions

    actions, rejects, stats = read_actions(HOSTILE_DIR / "actions.csv")
    return cib.detect(actions, rejects=rejects, input_stats=stats, n_null=50)


def hostile_report_inputs() -> dict:
    """Keyword arguments of :func:`render_report` for a run over hostile data.

    The tables come from running cib on ``tests/data/hostile/actions.csv`` (account ids, texts,
    URLs and reposted ids are injection strings), with evidence rows whose object ids are
    hostile URLs, a manifest naming a hostile input file and review verdicts with hostile notes.
    """
    det = _hostile_detection()
    assert det.clusters["flagged"].any(), "the hostile fixture should give a flagged cluster"
    cid = int(det.clusters["cluster_id"].iloc[0])
    t = pd.Timestamp("2024-03-02 12:00:00", tz="UTC")
    extra = pd.DataFrame({
        "cluster_id": cid, "kind": "url", "object_id": HOSTILE_URLS, "n_accounts": 2, "n_pairs": 1,
        "first_time": t, "last_time": t + pd.Timedelta(seconds=30), "median_delay_s": 30.0,
        "example_text": ['<iframe src=x></iframe> "quoted" & done'] * len(HOSTILE_URLS),
    })
    evidence = pd.concat([det.evidence, extra.astype({"first_time": det.evidence["first_time"].dtype,
                                                      "last_time": det.evidence["last_time"].dtype})],
                         ignore_index=True)
    manifest = json.loads(json.dumps(det.manifest, default=str))
    manifest["inputs"] = [dict(manifest["inputs"][0], path='data/<script>alert("file")</script>.csv')]
    manifest["parameters"]["kinds"] = manifest["parameters"]["kinds"] + ['<img src=x onerror=alert(3)>']
    review = pd.DataFrame({
        "stable_id": [det.clusters["stable_id"].iloc[0], det.clusters["stable_id"].iloc[0]],
        "status": ["dismissed", "<b>confirmed</b>"],
        "note": ["old note", 'Looks coordinated </script><script>alert(1)</script> "><img src=x onerror=alert(1)>'],
        "reviewer": ["a", "<iframe src=x>"],
        "time": ["2024-04-01T10:00:00Z", "2024-04-02T10:00:00Z"],
    })
    return {"clusters": det.clusters, "members": det.members, "edges": det.edges,
            "evidence": evidence, "manifest": manifest, "coactions": det.coactions, "review": review}


def synthetic_tables(n_clusters: int, seed: int = 0, coactions_per_cluster: int = 600) -> dict:
    """Tables of a large run built directly: ``n_clusters`` clusters of 3-40 accounts, every pair of
    members an edge, 20-300 evidence objects and about ``coactions_per_cluster`` co-actions each
    (a few clusters ten times more, to exceed the caps)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 41, n_clusters)
    base = pd.Timestamp("2024-01-01", tz="UTC").value // 10**9
    kinds = np.array(["repost", "url", "hashtag", "text", "media"])
    cids = np.arange(n_clusters)
    acc_start = np.r_[0, np.cumsum(sizes)[:-1]]
    account_ids = np.array([f"acct{i:07d}" for i in range(int(sizes.sum()))], dtype=object)
    member_cluster = np.repeat(cids, sizes)
    n_m = len(account_ids)
    members = pd.DataFrame({
        "account_id": account_ids, "cluster_id": member_cluster,
        "degree": sizes[member_cluster] - 1, "strength": rng.gamma(2.0, 10.0, n_m),
        "n_traces": rng.integers(10, 500, n_m), "n_coacting_traces": rng.integers(1, 10, n_m),
        "coordination_ratio": rng.random(n_m), "self_repeats": rng.integers(0, 5, n_m),
        "in_flagged": True,
    })
    us, vs, cs = [], [], []
    for c in cids:
        iu, iv = np.triu_indices(int(sizes[c]), 1)
        us.append(acc_start[c] + iu)
        vs.append(acc_start[c] + iv)
        cs.append(np.full(len(iu), c))
    u, v, ec = np.concatenate(us), np.concatenate(vs), np.concatenate(cs)
    edges = pd.DataFrame({"account_u": account_ids[u], "account_v": account_ids[v],
                          "weight": rng.integers(2, 50, len(u)), "significant": True,
                          "cluster_u": ec, "cluster_v": ec})
    n_ev = rng.integers(20, 301, n_clusters)
    ev_cluster = np.repeat(cids, n_ev)
    ev_first = base + rng.integers(0, 30 * 86400, len(ev_cluster))
    evidence = pd.DataFrame({
        "cluster_id": ev_cluster, "kind": kinds[rng.integers(0, len(kinds), len(ev_cluster))],
        "object_id": [f"news{i % 997}.example/story/{i}" for i in range(len(ev_cluster))],
        "n_accounts": rng.integers(2, 40, len(ev_cluster)), "n_pairs": rng.integers(1, 400, len(ev_cluster)),
        "first_time": pd.to_datetime(ev_first, unit="s", utc=True),
        "last_time": pd.to_datetime(ev_first + rng.integers(0, 3600, len(ev_cluster)), unit="s", utc=True),
        "median_delay_s": rng.random(len(ev_cluster)) * 60,
        "example_text": [f"example post text number {i} " + "lorem ipsum dolor sit amet " * 4
                         for i in range(len(ev_cluster))],
    })
    n_co = np.full(n_clusters, coactions_per_cluster)
    n_co[::97] *= 10
    co_cluster = np.repeat(cids, n_co)
    pick_a = acc_start[co_cluster] + (rng.random(len(co_cluster)) * sizes[co_cluster]).astype(int)
    pick_b = acc_start[co_cluster] + (rng.random(len(co_cluster)) * sizes[co_cluster]).astype(int)
    t_a = base + rng.integers(0, 30 * 86400, len(co_cluster))
    delay = rng.integers(0, 60, len(co_cluster))
    coactions = pd.DataFrame({
        "kind": kinds[rng.integers(0, len(kinds), len(co_cluster))],
        "object_id": [f"o{i}" for i in range(len(co_cluster))],
        "account_a": account_ids[pick_a], "account_b": account_ids[pick_b],
        "action_a": [f"a{i}" for i in range(len(co_cluster))],
        "action_b": [f"b{i}" for i in range(len(co_cluster))],
        "time_a": pd.to_datetime(t_a, unit="s", utc=True),
        "time_b": pd.to_datetime(t_a + delay, unit="s", utc=True),
        "delay_s": delay.astype(float),
    })
    score = np.sort(rng.gamma(2.0, 5.0, n_clusters))[::-1]
    p = np.sort(rng.random(n_clusters) * 0.2)
    first = evidence.groupby("cluster_id")["first_time"].min()
    last = evidence.groupby("cluster_id")["last_time"].max()
    clusters = pd.DataFrame({
        "cluster_id": cids, "rank": cids + 1, "score": score, "p_value": p, "flagged": p <= 0.05,
        "n_accounts": sizes, "n_edges": sizes * (sizes - 1) // 2, "density": 1.0,
        "total_weight": rng.integers(10, 1000, n_clusters), "weighted": rng.random(n_clusters) * 100,
        "median_delay_s": rng.random(n_clusters) * 30, "kinds": "hashtag,repost,text,url",
        "n_objects": n_ev, "first_time": first.to_numpy(), "last_time": last.to_numpy(),
        "timing_similarity": rng.random(n_clusters), "text_similarity": rng.random(n_clusters),
        "coordination_ratio": rng.random(n_clusters),
        "stable_id": [f"{i:016x}" for i in rng.integers(0, 2**62, n_clusters)],
    })
    manifest = {"cib_version": "test", "parameters": {"window_s": 60.0, "kinds": list(kinds)},
                "counts": {"actions": 10**7, "accounts": n_m, "coactions": len(coactions),
                           "clusters": n_clusters, "flagged": int(clusters["flagged"].sum())}}
    return {"clusters": clusters, "members": members, "edges": edges, "evidence": evidence,
            "manifest": manifest, "coactions": coactions}


# ---------------------------------------------------------------------------------------------
# Page helpers
# ---------------------------------------------------------------------------------------------

_DATA_BLOCK = re.compile(r'<script type="application/json" id="cib-data">(.*?)</script>', re.S)


def split_page(html: str) -> tuple[str, dict, str]:
    """(the page without the JSON block, the parsed JSON, the raw JSON text)."""
    blocks = _DATA_BLOCK.findall(html)
    assert len(blocks) == 1
    raw = blocks[0]
    return _DATA_BLOCK.sub("", html), json.loads(raw), raw


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})


@pytest.fixture(scope="module")
def simulated():
    from cib.datasets import simulate
    from cib.pipeline import detect

    actions, _ = simulate(n_accounts=600, n_groups=3, seed=1)
    return detect(actions, n_null=30, fdr_runs=20)


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------

def test_every_flagged_cluster_is_on_the_page(simulated):
    det = simulated
    assert det.clusters["flagged"].any()
    html = render_report(det.clusters, det.members, det.edges, det.evidence, det.manifest,
                         coactions=det.coactions)
    rest, data, _ = split_page(html)
    cards = {c["sid"]: c for c in data["clusters"]}
    for row in det.flagged.itertuples():
        card = cards[row.stable_id]
        assert card["flagged"] and card["id"] == row.cluster_id and card["rank"] == row.rank
        assert card["n_accounts"] == row.n_accounts
        want = set(det.members.loc[det.members["cluster_id"] == row.cluster_id, "account_id"])
        assert {m[0] for m in card["members"]} == want
        assert card["n_evidence"] == int((det.evidence["cluster_id"] == row.cluster_id).sum())
        assert card["net"], "members of a flagged cluster are joined by edges"
        tl = card["tl"]
        assert tl["a"] and len(tl["a"]) == len(tl["dt"]) == len(tl["k"]) == card["n_tl"]
        assert min(tl["dt"][1:]) >= 0  # in time order
        assert max(tl["a"]) < len(card["members"]) and min(tl["k"]) >= 0
        assert row.stable_id in rest  # in the no-script summary too
    assert [c["rank"] for c in data["clusters"]] == sorted(c["rank"] for c in data["clusters"])
    counts = det.manifest["counts"]
    assert f"{counts['actions']:,}" in rest and "co-actions" in rest


def test_page_is_self_contained(simulated):
    det = simulated
    html = render_report(det.clusters, det.members, det.edges, det.evidence, det.manifest,
                         coactions=det.coactions)
    rest, _, _ = split_page(html)
    markup = re.sub(r"<script>.*?</script>|<style>.*?</style>", "", rest, flags=re.S)
    assert not re.search(r"""\b(src|href|action|poster|srcset|background|formaction)\s*=""", markup, re.I)
    assert not re.search(r"<link\b|<iframe|<img\b|<object|<embed|<base\b|<form\b", markup, re.I)
    css = re.search(r"<style>(.*?)</style>", rest, re.S).group(1)
    assert not re.search(r"url\s*\(|@import|@font-face", css, re.I)  # the CSS loads nothing either
    assert "default-src &#39;none&#39;" in rest  # the Content-Security-Policy (escaped attribute)
    # the two inline elements are allowed by hash, nothing else
    assert len(re.findall(r"<script\b", rest)) == 1 and len(re.findall(r"<style\b", rest)) == 1


def test_hostile_strings_are_escaped():
    inputs = hostile_report_inputs()
    html = render_report(**inputs)
    rest, data, raw = split_page(html)
    for s in HOSTILE_MARKUP + HOSTILE_ACCOUNTS:
        if any(ch in s for ch in "<>&\""):
            assert s not in rest, f"{s!r} appears unescaped outside the data block"
            assert s not in raw, f"{s!r} appears unescaped in the data block"
    # the JSON block holds no markup characters, so nothing can close it early
    assert "<" not in raw and ">" not in raw and "&" not in raw
    assert html.count("</script>") == 2  # the data block and the page's script, nothing more
    # ... and it gives back the exact strings
    card = data["clusters"][0]
    accounts = {m[0] for m in card["members"]}
    assert set(HOSTILE_ACCOUNTS) <= accounts
    objects = {r[1] for r in card["evidence"]}
    assert set(HOSTILE_URLS) <= objects
    assert "</script><img src=x onerror=alert(2)>" in objects
    texts = {r[7] for r in card["evidence"]}
    assert any("<script>alert(1)</script>" in (t or "") for t in texts)
    # the Jinja parts: escaped, not dropped
    assert 'data/&lt;script&gt;alert(&#34;file&#34;)&lt;/script&gt;.csv' in rest
    assert "&lt;img src=x onerror=alert(3)&gt;" in rest
    assert "&lt;b&gt;confirmed&lt;/b&gt;" in rest  # the latest verdict, in the no-script table
    # only http(s) URLs get a link target, and never in the markup itself
    hrefs = {r[1]: r[-1] for r in card["evidence"]}
    assert hrefs["http://ok.example/page?a=1&b=2"] == "http://ok.example/page?a=1&b=2"
    assert hrefs['https://evil.example/?q="><svg/onload=alert(1)>'] is not None
    assert hrefs['https://evil.example/"><img src=x onerror=alert(1)>'] is None  # white space
    for bad in ("javascript:alert(1)", "JaVaScRiPt:alert(document.domain)",
                "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)"):
        assert hrefs[bad] is None
    assert not re.search(r"href\s*=\s*[\"']?\s*(javascript|data|vbscript):", html, re.I)
    # the latest verdict per stable id wins
    assert card["review"]["status"] == "<b>confirmed</b>" and card["review"]["status_class"] == "other"
    assert card["review"]["reviewer"] == "<iframe src=x>"


def test_javascript_builds_elements_without_html_parsing():
    from importlib import resources

    js = (resources.files("cib") / "templates" / "report.js").read_text(encoding="utf-8")
    for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                "new Function", "setAttribute(\"on", "srcdoc"):
        assert bad not in js


def test_safe_href():
    assert safe_href("https://a.example/x") == "https://a.example/x"
    assert safe_href("HTTP://A.example") == "HTTP://A.example"
    for bad in ("javascript:alert(1)", " javascript:alert(1)", "java\nscript:alert(1)",
                "data:text/html,x", "//evil.example", "evil.example/x", "https://", "http:/x",
                "https://a.example/ x", "ftp://a.example", None, 3):
        assert safe_href(bad) is None, bad


def test_script_json_round_trips_anything():
    values = ["</script>", "<!--", "]]>", "&amp;", "\u2028\u2029", "\x00", "'\"`", "\\u003c"]
    text = script_json(values)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == values


def test_zero_clusters_render():
    html = render_report(_empty(CLUSTER_COLUMNS), _empty(MEMBER_COLUMNS), None,
                         _empty(EVIDENCE_COLUMNS), {})
    _, data, _ = split_page(html)
    assert data["clusters"] == []
    assert "<title>cib report: 0 clusters, 0 flagged</title>" in html


def test_zero_clusters_from_a_run():
    from cib.datasets import simulate
    from cib.pipeline import detect

    actions, _ = simulate(n_accounts=200, n_groups=0, seed=3)
    det = detect(actions, n_null=5, min_weight=50)
    assert len(det.clusters) == 0
    html = render_report(det.clusters, det.members, det.edges, det.evidence, det.manifest,
                         coactions=det.coactions)
    _, data, _ = split_page(html)
    assert data["clusters"] == []


def test_review_verdicts(simulated):
    det = simulated
    sids = det.clusters["stable_id"].tolist()
    review = pd.DataFrame({"stable_id": [sids[0], sids[0], "not-a-cluster"],
                           "status": ["confirmed", "dismissed", "confirmed"],
                           "note": ["first look", "organic fan club", None],
                           "reviewer": ["ana", "ben", "ana"],
                           "time": pd.to_datetime(["2024-05-02", "2024-05-01", "2024-05-03"], utc=True)})
    html = render_report(det.clusters, det.members, det.edges, det.evidence, det.manifest,
                         review=review)
    _, data, _ = split_page(html)
    assert data["has_review"]
    card = data["clusters"][0]
    assert card["review"]["status"] == "confirmed" and card["review"]["note"] == "first look"
    assert all("review" not in c for c in data["clusters"][1:])


def test_max_clusters_and_determinism(simulated):
    det = simulated
    args = (det.clusters, det.members, det.edges, det.evidence, det.manifest)
    html = render_report(*args, coactions=det.coactions, max_clusters=1)
    _, data, _ = split_page(html)
    assert [c["rank"] for c in data["clusters"]] == [1]
    assert f"holds 1 of {len(det.clusters)} clusters" in html
    assert render_report(*args) == render_report(*args)


def test_thousand_clusters_fast_and_small():
    t = synthetic_tables(1000, seed=5)
    start = time.perf_counter()
    html = render_report(**t)
    took = time.perf_counter() - start
    size = len(html.encode("utf-8"))
    print(f"\n1,000 clusters: {took:.2f} s, {size / 1e6:.2f} MB "
          f"({len(t['members'])} members, {len(t['edges'])} edges, {len(t['evidence'])} evidence rows, "
          f"{len(t['coactions'])} co-actions)")
    assert took < 15, f"rendering 1,000 clusters took {took:.1f} s"
    assert size < 10e6, f"the page is {size / 1e6:.1f} MB"
    _, data, _ = split_page(html)
    cards = data["clusters"]
    assert len(cards) == 1000
    n_ev = t["evidence"].groupby("cluster_id").size()
    for i, c in enumerate(cards):
        assert c["rank"] == i + 1
        need = n_ev[c["id"]]
        assert c["n_evidence"] == need
        if i < PRIORITY_CLUSTERS:  # the first page: everything up to the per-cluster caps
            assert len(c["evidence"]) == min(MAX_EVIDENCE_ROWS, need)
            assert len(c["tl"]["a"]) == min(MAX_TIMELINE_POINTS, c["n_tl"])
        else:
            assert min(need, EVIDENCE_BUDGET[1]) <= len(c["evidence"]) <= min(MAX_EVIDENCE_ROWS, need)
            assert min(c["n_tl"], TIMELINE_BUDGET[1]) <= len(c["tl"]["a"]) <= c["n_tl"]
    rest = cards[PRIORITY_CLUSTERS:]
    assert sum(len(c["evidence"]) for c in rest) <= max(EVIDENCE_BUDGET[0], EVIDENCE_BUDGET[1] * len(rest))
    assert sum(len(c["tl"]["a"]) for c in rest) <= max(TIMELINE_BUDGET[0], TIMELINE_BUDGET[1] * len(rest))
    assert any(c["n_tl"] > len(c["tl"]["a"]) for c in cards)  # capped: the page says so


def test_write_report_replaces_the_file(simulated, tmp_path):
    det = simulated
    out = det.write(tmp_path / "out")
    (out / REPORT_NAME).write_text("old", encoding="utf-8")
    path = write_report(out)
    assert path == out / REPORT_NAME
    html = path.read_text(encoding="utf-8")
    _, data, _ = split_page(html)
    assert {c["sid"] for c in data["clusters"]} == set(det.clusters["stable_id"])
    assert sorted(p.name for p in out.iterdir() if "tmp" in p.name) == []
    # CSV only (no Parquet twins): times come back as text, and it still renders
    for p in out.glob("*.parquet"):
        p.unlink()
    review = tmp_path / "review.csv"
    pd.DataFrame({"stable_id": [det.clusters["stable_id"].iloc[0]], "status": ["confirmed"],
                  "note": ["=cmd|' /C calc'!A0"], "reviewer": ["ana"],
                  "time": ["2024-05-01T00:00:00Z"]}).to_csv(review, index=False)
    _, data2, _ = split_page(write_report(out, review=review).read_text(encoding="utf-8"))
    assert [c["sid"] for c in data2["clusters"]] == [c["sid"] for c in data["clusters"]]
    assert [c["flagged"] for c in data2["clusters"]] == det.clusters["flagged"].tolist()
    assert [c["net"] for c in data2["clusters"]] == [c["net"] for c in data["clusters"]]
    assert data2["clusters"][0]["first"] == data["clusters"][0]["first"]
    assert data2["clusters"][0]["review"]["status"] == "confirmed"


def test_write_report_needs_an_output_folder(tmp_path):
    from cib.errors import InputError

    with pytest.raises(InputError):
        write_report(tmp_path)
