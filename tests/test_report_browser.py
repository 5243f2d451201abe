"""report.html in a real headless Chromium: it renders, runs no injected code, loads nothing, and
its filter and pages work.

Needs the ``playwright`` Python package and Debian's Chromium at ``/usr/bin/chromium`` (Playwright's
own browser download is not used); skipped when either is missing, unless ``CIB_REQUIRE_BROWSER``
is set (CI), which turns the skip into a failure. When ``CIB_ARTIFACTS`` is set, the screenshots are
copied into that folder.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from test_report import HOSTILE_ACCOUNTS, hostile_report_inputs, synthetic_tables

from cib.report import render_report

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def _unavailable(why: str) -> None:
    if os.environ.get("CIB_REQUIRE_BROWSER"):
        pytest.fail(f"{why}, but CIB_REQUIRE_BROWSER is set")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


class Watch:
    """What a page did: console errors, uncaught exceptions, dialogs and requests."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"exception: {e}"))
        page.on("dialog", self._dialog)
        page.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def check(self, url: str) -> None:
        assert self.dialogs == [], f"injected code ran: {self.dialogs}"
        assert self.errors == [], self.errors
        assert self.requests == [url], f"the page made requests: {self.requests}"


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page)
    url = path.resolve().as_uri()
    page.goto(url)
    page.wait_for_selector("body[data-ready]", timeout=15_000)
    return page, watch, url


def _save(page, tmp_path: Path, name: str, full_page: bool) -> Path:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=full_page)
    assert shot.stat().st_size > 10_000
    artifacts = os.environ.get("CIB_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / name)
    return shot


def _cards(page) -> int:
    return page.locator("article.card").count()


def test_hostile_report_renders_safely(browser, tmp_path):
    html = render_report(**hostile_report_inputs())
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    page, watch, url = _open(browser, path)
    try:
        assert _cards(page) > 0
        for button in page.locator("article.card button.more:visible").all():  # every row
            button.click()
        text = page.inner_text("body")
        for account in HOSTILE_ACCOUNTS:
            # invisible and direction-changing characters are shown as <U+XXXX>
            shown = account.replace("\u202e", "\u27e8U+202E\u27e9")
            assert shown in text, f"account {account!r} is not shown as text"
        for s in ("<script>alert(1)</script> vote now!", '"><img src=x onerror=alert(1)> share this',
                  "<svg onload=alert(1)> ' \" & < > `backticks`", "</script><img src=x onerror=alert(2)>",
                  "<b>confirmed</b>", "</script><script>alert(1)</script>"):
            assert s in text, f"{s!r} is not shown as text"
        # nothing from the data became markup
        found = page.evaluate("""() => ({
            injected: document.querySelectorAll('img, iframe, object, embed, svg script, base, form, link').length,
            scripts: document.querySelectorAll('script').length,
            handlers: Array.from(document.querySelectorAll('*')).flatMap(
                e => Array.from(e.attributes).map(a => a.name)).filter(n => n.startsWith('on')),
        })""")
        assert found == {"injected": 0, "scripts": 2, "handlers": []}
        # the evidence table filter shows the URL rows; only http(s) URLs are links
        card = page.locator("article.card").first
        card.locator("input.tbl-filter").first.fill("evil.example")
        page.wait_for_function("() => document.querySelector('article.card td.t-object a') !== null")
        card.locator("input.tbl-filter").first.fill(":")
        page.wait_for_function("() => Array.from(document.querySelectorAll('article.card td.t-object'))"
                               ".some(td => td.textContent === 'javascript:alert(1)')")
        links = page.evaluate("""() => Array.from(document.querySelectorAll('a')).map(
            a => ({href: a.getAttribute('href'), protocol: a.protocol, rel: a.rel, text: a.textContent}))""")
        assert links, "the http(s) evidence URLs should be links"
        for a in links:
            assert a["protocol"] in ("http:", "https:"), a
            assert "noopener" in a["rel"] and "noreferrer" in a["rel"], a
        assert "http://ok.example/page?a=1&b=2" in {a["text"] for a in links}
        texts = page.evaluate("() => Array.from(document.querySelectorAll('td.t-object')).map(td => td.textContent)")
        for s in ("javascript:alert(1)", "JaVaScRiPt:alert(document.domain)", "vbscript:msgbox(1)"):
            assert s in texts and s not in {a["text"] for a in links}
        card.locator("input.tbl-filter").first.fill("")
        # the cluster filter
        n = _cards(page)
        page.fill("#q", "no-such-account-zzz")
        page.wait_for_function("() => document.querySelectorAll('article.card').length === 0")
        assert page.is_visible("#empty")
        page.fill("#q", "</script><script>alert(1)</script>")
        page.wait_for_function("() => document.querySelectorAll('article.card').length > 0")
        assert _cards(page) == n
        page.wait_for_timeout(100)  # let the network layout and timeline settle
        _save(page, tmp_path, "report-hostile.png", full_page=True)
        watch.check(url)
    finally:
        page.close()


def test_thousand_clusters_page_and_filter(browser, tmp_path):
    tables = synthetic_tables(1000, seed=5)
    path = tmp_path / "report.html"
    path.write_text(render_report(**tables), encoding="utf-8")
    start = time.perf_counter()
    page, watch, url = _open(browser, path)
    took = time.perf_counter() - start
    try:
        assert took < 10, f"the 1,000-cluster page took {took:.1f} s to draw"
        clusters = tables["clusters"]
        n_flagged = int(clusters["flagged"].sum())
        assert _cards(page) == 25
        assert page.inner_text("#count") == f"Showing 1\u201325 of {n_flagged:,} (1,000 in total)"
        # pages
        page.click("#next")
        page.wait_for_function("() => document.querySelector('article.card .rank').textContent === '#26'")
        assert page.inner_text("#page") == f"Page 2 of {-(-n_flagged // 25)}"
        # flagged only off: every cluster
        page.uncheck("#flagged-only")
        page.wait_for_function("() => document.getElementById('count').textContent.includes('of 1,000 clusters')")
        assert page.inner_text("#page") == "Page 1 of 40"
        # the filter: one cluster by its stable id, then by a member account
        target = clusters.iloc[700]
        page.fill("#q", target["stable_id"])
        page.wait_for_function("() => document.querySelectorAll('article.card').length === 1")
        assert page.inner_text("article.card .card-title") == f"Cluster {target['cluster_id']}"
        account = tables["members"].loc[tables["members"]["cluster_id"] == 3, "account_id"].iloc[0]
        page.fill("#q", account)
        page.wait_for_function("() => document.querySelector('article.card .card-title')?.textContent === 'Cluster 3'")
        assert _cards(page) == 1
        # sorting a members table by strength (descending first)
        table = page.locator("article.card details.sec").nth(1)
        table.locator("th", has_text="Strength").click()
        strengths = [float(s.replace(",", "")) for s in
                     table.locator("tbody tr td:nth-child(3)").all_inner_texts()]
        assert strengths == sorted(strengths, reverse=True) and len(strengths) > 2
        page.fill("#q", "")
        page.wait_for_function("() => document.querySelectorAll('article.card').length === 25")
        page.evaluate("() => window.scrollTo(0, 0)")
        _save(page, tmp_path, "report-1000-clusters.png", full_page=False)
        watch.check(url)
    finally:
        page.close()
