"""`report` in a real browser (issue 18): headless Chromium opens the HTML file from disk.

It checks that the page rendered: no console error, no request for anything (the file is
self-contained), each chart drawn with a non-zero size, the headline figures' text on the page, user
text shown as text; and that it prints on A4 with a page break between sections (Chromium's own
print to PDF). The same code writes the README's screenshot: `NIS2_REPORT_SCREENSHOT=docs/report.png
python -m pytest tests/test_report_browser.py`.

Chromium comes from the system's packages (`.ci/run` installs Debian's `chromium` when it is missing);
Playwright drives it (`executable_path`), since its own browser download cannot work offline. Outside
CI, a machine without Chromium skips these tests with the reason; in CI (`CI` set) that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import run_both_ways

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ledger.jsonl"
EXAMPLE_NOW = "2026-03-30T20:00"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str | None:
    for name in (os.environ.get("NIS2_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = chromium()
    if executable is None:
        message = "no Chromium on this machine (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=executable, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1100, "height": 1500}, locale="fr-FR")
        try:
            yield context
        finally:
            context.close()


def report_file(ledger: Path, now: str, period: str, target: Path, capsys, *extra: str) -> tuple[Path, dict]:
    base = ["--ledger", str(ledger), "--now", now, "report", "--period", period, *extra]
    code, _, err = run_both_ways("main", [*base, "--output", str(target)], capsys)
    assert code == 0, err
    code, out, err = run_both_ways("main", [*base, "--format", "json"], capsys)
    assert code == 0, err
    return target, json.loads(out)


def open_page(browser, path: Path):
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("request", lambda req: problems.append(f"request: {req.url}") if req.url != path.as_uri() else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems


def test_the_example_report_renders_in_chromium(browser, tmp_path, capsys):
    path, data = report_file(EXAMPLE, EXAMPLE_NOW, "2026-Q1", tmp_path / "report.html", capsys)
    page, problems = open_page(browser, path)
    try:
        assert problems == []
        boxes = [page.locator(f"#{c} svg").bounding_box() for c in ("chart-months", "chart-times", "chart-rate",
                                                                     "chart-open")]
        assert all(b is not None and b["width"] > 100 and b["height"] > 50 for b in boxes), boxes
        h = data["headline"]
        shown = {card: page.locator(f"#{card} .n").inner_text() for card in
                 ("fig-incidents", "fig-significant", "fig-reported", "fig-due", "fig-rate", "fig-open")}
        assert shown == {"fig-incidents": str(h["incidents_opened"]), "fig-significant": str(h["significant"]),
                         "fig-reported": str(h["reported"]), "fig-due": str(h["obligations_due"]),
                         "fig-rate": f"{h['on_time_rate'] * 100:.0f} %", "fig-open": str(h["open_obligations"])}
        text = page.inner_text("body")
        assert "Rapport des incidents cyber" in text and data["evidence"]["head"] in text
        assert h["longest_delay"]["incident"] in page.locator("#fig-longest").inner_text()
        target = os.environ.get("NIS2_REPORT_SCREENSHOT")
        if target:  # the README's screenshot (docs/report.png): the top of the page
            page.screenshot(path=str(ROOT / target), clip={"x": 0, "y": 0, "width": 1100, "height": 1500})
        shot = page.screenshot(full_page=True)
        assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000
        # printed: A4, each section from a new page
        page.emulate_media(media="print")
        breaks = page.eval_on_selector_all("section", "els => els.map(e => getComputedStyle(e).breakBefore)")
        assert breaks[0] == "auto" and set(breaks[1:]) == {"page"} and len(breaks) >= 5
        pdf = page.pdf(format="A4", prefer_css_page_size=True)
        pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
        assert pages >= len(breaks)
        boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]", pdf)
        assert len(boxes) == pages and all(abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1
                                           for w, h in boxes), boxes  # A4: 210 x 297 mm in points
    finally:
        page.close()


def test_hostile_text_is_shown_as_text_in_chromium(browser, tmp_path, capsys):
    from test_report import HOSTILE_REASON, HOSTILE_TITLE, NOW, build

    ledger = build(tmp_path / "ledger.jsonl")
    path, data = report_file(ledger, NOW, "2026-Q3", tmp_path / "report.html", capsys, "--lang", "en")
    page, problems = open_page(browser, path)
    try:
        assert problems == []  # no alert, no image request from the title or the reason
        assert page.locator("script, img, iframe, link").count() == 0
        text = page.inner_text("#late-filings")
        assert HOSTILE_TITLE in text and HOSTILE_REASON in text
        assert page.locator("#fig-due .n").inner_text() == str(data["headline"]["obligations_due"]) == "7"
    finally:
        page.close()
