"""The workbench in a real Chromium: every page renders without a Streamlit exception.

Drives Debian's Chromium with Playwright against ``hooklake dashboard`` on 127.0.0.1 (a demo lake
built through capture, ingest and learn), clicks into a trace and a pattern, saves screenshots to
tests/artifacts/screenshots/ and records timings in benchmarks/results/dashboard_timings.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "tests" / "artifacts" / "screenshots"
TIMINGS = REPO / "benchmarks" / "results" / "dashboard_timings.json"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
PAGES = [
    ("overview", "", "Overview"),
    ("traces", "traces", "Traces"),
    ("agents", "agents", "Agents"),
    ("hooks_tools", "hooks_tools", "Hooks & tools"),
    ("endpoints", "endpoints", "Endpoints"),
    ("errors", "errors", "Errors"),
    ("patterns", "patterns", "Patterns"),
    ("health", "health", "Health"),
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SHOT_PAGES = {"traces", "hooks_tools", "errors", "health"}
WATERFALL = '[data-testid="stVegaLiteChart"][aria-label^="Waterfall of trace "]'
"""The open trace's waterfall chart (the Traces page also charts the listed traces)."""


def wait_idle(page, timeout_ms: int = 180_000) -> None:
    """Wait until the script run finished and nothing is pending (spinners gone)."""
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if page.locator('[data-testid="stSpinner"]').count() == 0 and page.locator(IDLE).count() == 1:
            page.wait_for_timeout(250)
            if page.locator(IDLE).count() == 1 and page.locator('[data-testid="stSpinner"]').count() == 0:
                return
        page.wait_for_timeout(100)
    raise AssertionError("the app kept running")


def assert_no_exception(page, where: str) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{where}: Streamlit exception shown: {errors.first.inner_text()[:2000]}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_every_page_in_chromium(dashboard_server) -> None:
    from playwright.sync_api import sync_playwright

    timings: dict[str, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            # Tall enough that a page's main content fits one screenshot (Streamlit scrolls inside the app).
            context = browser.new_context(viewport={"width": 1440, "height": 1800}, device_scale_factor=1)
            page = context.new_page()

            # First paint of the Overview: navigation start -> headline metrics visible. The first
            # session of a freshly started server also pays the Python imports of the app.
            started = time.perf_counter()
            page.goto(dashboard_server.url + "/", wait_until="domcontentloaded")
            page.wait_for_selector('[data-testid="stMetricValue"]', timeout=180_000)
            timings["overview_first_paint_s"] = round(time.perf_counter() - started, 3)
            # the trends and rankings follow the headline numbers (a second run on a session's first visit)
            page.wait_for_function("document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]').length >= 4",
                                   timeout=180_000)
            wait_idle(page)
            timings["overview_complete_s"] = round(time.perf_counter() - started, 3)
            assert_no_exception(page, "overview")
            assert page.get_by_text("Worst right now").count() == 1
            shot(page, "overview")
            # A second visitor (new browser session) on the running server: imports are done and
            # query results cached until the lake changes.
            other = context.new_page()
            started = time.perf_counter()
            other.goto(dashboard_server.url + "/", wait_until="domcontentloaded")
            other.wait_for_selector('[data-testid="stMetricValue"]', timeout=180_000)
            timings["overview_first_paint_second_visit_s"] = round(time.perf_counter() - started, 3)
            other.close()

            for name, path, title in PAGES[1:]:
                # through the sidebar navigation, as a user does (same session, no reload)
                page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
                page.wait_for_selector(f"h1:has-text('{title}')", timeout=180_000)
                page.wait_for_url(f"**/{path}*", timeout=120_000)
                wait_idle(page)
                assert_no_exception(page, name)
                # the sidebar filters and freshness indicator are on every page
                assert page.locator("section[data-testid='stSidebar']").get_by_text("Last ingested").count() == 1
                if name in SHOT_PAGES:
                    shot(page, name)

            # Open a trace with the first row's Open button (the column after the row-selection one).
            page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Traces").first.click()
            page.wait_for_selector("h1:has-text('Traces')", timeout=180_000)
            wait_idle(page)
            grid = page.locator('[data-testid="stDataFrame"]').first
            box = grid.bounding_box()
            assert box is not None
            started = time.perf_counter()
            page.mouse.click(box["x"] + 68, box["y"] + 35 + 17)  # Open button of the first data row
            page.wait_for_selector("h3:has-text('Trace ')", timeout=120_000)
            page.wait_for_selector(WATERFALL, timeout=120_000)
            timings["open_trace_s"] = round(time.perf_counter() - started, 3)
            wait_idle(page)
            assert_no_exception(page, "trace detail")
            assert "trace=" in page.url
            first = page.evaluate("() => new URL(location.href).searchParams.get('trace')")
            assert page.get_by_text(first).count() >= 1  # the panel names the whole id
            # Selecting another row (the row-selection column) opens that trace instead.
            started = time.perf_counter()
            page.mouse.click(box["x"] + 14, box["y"] + 35 + 17 + 35)  # selection cell of the second row
            page.wait_for_function("(prev) => new URL(location.href).searchParams.get('trace') !== prev", arg=first,
                                   timeout=120_000)
            second = page.evaluate("() => new URL(location.href).searchParams.get('trace')")
            page.get_by_text(second).first.wait_for(timeout=120_000)
            timings["open_trace_by_selection_s"] = round(time.perf_counter() - started, 3)
            wait_idle(page)
            assert_no_exception(page, "trace detail (selected row)")
            assert page.locator(WATERFALL).count() == 1
            assert page.locator(f'[data-testid="stVegaLiteChart"][aria-label="Waterfall of trace {second}"]').count() == 1
            shot(page, "trace")
            # the other tabs of the trace render too, each when opened
            assert page.get_by_text("payloads are redacted at ingest").count() == 0
            for tab, shows in (("Success criteria", "This trace "), ("Routing", None),
                               ("Raw events", "payloads are redacted at ingest"), ("Similar traces", None)):
                page.get_by_role("tab", name=tab).click()
                wait_idle(page)
                assert_no_exception(page, f"trace tab {tab}")
                if shows:
                    assert page.get_by_text(shows).count() >= 1, tab
            page.get_by_role("button", name="Find similar traces").click()
            # the answer (matches, or why there are none); waiting for a "running" state instead
            # races a fast run
            page.wait_for_function("() => /confidence \\d|No learned pattern is similar|no prompt text|need the learned/"
                                   ".test(document.body.innerText)", timeout=60_000)
            wait_idle(page)
            assert_no_exception(page, "similar traces")

            # Pattern search, then open the best pattern.
            if not dashboard_server.learned:
                pytest.fail(f"learning did not run on the browser lake: {dashboard_server.learn_error}")
            page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Patterns").first.click()
            page.wait_for_selector("h1:has-text('Patterns')", timeout=180_000)
            wait_idle(page)
            box = page.get_by_label("Describe a request")
            box.fill("write unit tests for the invoice service")
            started = time.perf_counter()
            box.press("Enter")
            page.wait_for_selector("text=Router decision", timeout=180_000)
            timings["pattern_search_first_s"] = round(time.perf_counter() - started, 3)
            wait_idle(page)
            assert_no_exception(page, "pattern search")
            # a second search is warm (model loaded): this is the interactive latency
            box.fill("fix the flaky tests of the retry queue")
            started = time.perf_counter()
            box.press("Enter")
            # only the search panel reruns (a fragment): wait for this request's answer
            page.wait_for_function("document.body.innerText.includes('matches for \u201cfix the flaky tests of the "
                                   "retry queue\u201d')", timeout=60_000)
            timings["pattern_search_warm_s"] = round(time.perf_counter() - started, 3)
            wait_idle(page)
            assert_no_exception(page, "pattern search (warm)")
            page.get_by_role("button", name="Open pattern").click()
            page.wait_for_selector("h4:has-text('Pattern')", timeout=120_000)
            wait_idle(page)
            assert_no_exception(page, "pattern detail")
            assert "pattern=" in page.url
            shot(page, "patterns_search")
        finally:
            browser.close()

    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(json.dumps({"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                   "lake": "demo, 8 days (test fixture)", **timings}, indent=2) + "\n", encoding="utf-8")
