"""The dashboard in headless Chromium, served as a user serves it (``simcity-kids dashboard``), with no CDN.

A cabinet's path through every panel: the first comparison on screen, a programme switched on, a run with the gap
change read off the page and checked against the same comparison made in Python, the map, a child followed, a
run stepped month by month, and the exports (the TOML loads back to the hash the page shows). Then ten sessions at
once, each with its own scenario, must each see only their own. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from conftest import DASHBOARD_COMMAND
from playwright.sync_api import expect

import simcity_kids as sk

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TIMEOUT_MS = 120_000
MANY_SESSIONS_TIMEOUT_MS = 300_000  # ten pages and their Chromium renderers share two cores
HEADLINE = re.compile(r"(\S+): reading_mean_gap/Q5-Q1 changes by ([+-]\d+\.\d+) SD")


def open_tab(page, title: str, settle: bool = True) -> None:
    """Open a tab and (``settle``) wait for its slide-in to end, so a screenshot shows that tab; a page that is
    not in front may not animate at all, so the ten sessions do not wait for it."""
    tab = page.get_by_role("tab", name=title)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    if settle:
        page.wait_for_function(SETTLED, arg=title)


# The selected tab's panel is the one shown, in place: not sliding in, and the one before it gone.
SETTLED = """title => {
    const tabs = [...document.querySelectorAll('[role=tab]')];
    const index = tabs.findIndex(tab => tab.innerText.trim().toLowerCase() === title.toLowerCase());
    const items = [...document.querySelectorAll('.v-window-item')];
    const shown = items.filter(item => item.offsetParent !== null);
    if (shown.length !== 1 || items.indexOf(shown[0]) !== index) return false;
    return Math.abs(shown[0].getBoundingClientRect().left - shown[0].parentElement.getBoundingClientRect().left) < 1;
}"""


def commit(page, label: str, text: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(text)
    field.press("Enter")


def switch_on(page, programme: str):
    """Switch a programme's card on; its coverage field (which appears then)."""
    page.locator(f".simcity-card-{programme}").get_by_text(programme, exact=True).click()  # the switch's label
    coverage = page.locator(f".simcity-card-{programme}").get_by_label("coverage", exact=True)
    coverage.wait_for(timeout=TIMEOUT_MS)
    return coverage


def shown_change(page, scenario: str, timeout_ms: int = TIMEOUT_MS) -> float:
    """The gap change the page shows for ``scenario``."""
    line = page.get_by_text(f"{scenario}: reading_mean_gap/Q5-Q1 changes by").first
    line.wait_for(timeout=timeout_ms)
    return float(HEADLINE.search(line.inner_text()).group(2))


def no_error_boxes(page) -> None:
    assert page.locator(".v-alert.error--text, .v-alert.error").count() == 0, page.locator(".v-alert").all_inner_texts()


def test_a_cabinet_goes_through_every_panel(serve_solara, page, save_screenshot, tmp_path):
    url, log = serve_solara(DASHBOARD_COMMAND)
    page.set_viewport_size({"width": 1400, "height": 1400})
    plotly_fetched = []
    page.on("request", lambda request: plotly_fetched.append(request.url) if "widgetbundle" in request.url else None)
    page.goto(url)
    first = shown_change(page, "by_all_means")  # the first comparison: Salem, By All Means against the baseline
    assert first < 0
    expect(page.locator(".js-plotly-plot:visible")).to_have_count(4, timeout=TIMEOUT_MS)
    assert len(plotly_fetched) == 1, plotly_fetched  # plotly's bundle: once for the page, not once per figure
    no_error_boxes(page)
    save_screenshot(page, "1-run-and-compare")

    open_tab(page, "City")
    page.get_by_text("pupils (K-12)").wait_for()
    save_screenshot(page, "2-city")

    open_tab(page, "Scenario")
    page.get_by_text("Total: $").wait_for(timeout=TIMEOUT_MS)
    switch_on(page, "mentoring")
    page.get_by_text("Total: $").wait_for(timeout=TIMEOUT_MS)
    no_error_boxes(page)
    save_screenshot(page, "3-scenario")

    open_tab(page, "Run and compare")
    commit(page, "seeds", "2")
    commit(page, "years", "3")
    page.get_by_role("button", name="Run").click()
    change = shown_change(page, "by_all_means_edited")
    config = sk.load_scenario("by_all_means")[0].with_overrides(
        {"programmes.mentoring.coverage": 0.5, "name": "by_all_means_edited"})
    expected = sk.compare(["baseline", config], city="salem", seeds=2, years=3, workers=1).differences()
    expected = expected.xs(("by_all_means_edited", 0, 2, "reading_mean_gap/Q5-Q1"))["mean"]
    assert change == pytest.approx(expected, abs=5e-4)
    save_screenshot(page, "4-run-and-compare-edited")

    open_tab(page, "Map")
    page.get_by_text("Salem: gap").first.wait_for(timeout=TIMEOUT_MS)
    expect(page.locator(".js-plotly-plot:visible")).to_have_count(1)  # the map, not another tab's figure
    no_error_boxes(page)
    save_screenshot(page, "5-map")

    open_tab(page, "Follow a child")
    page.get_by_role("button", name=re.compile("Follow under")).click()
    page.get_by_text("The coordinator's log").wait_for(timeout=TIMEOUT_MS)
    expect(page.locator(".js-plotly-plot:visible")).to_have_count(1)
    no_error_boxes(page)
    save_screenshot(page, "6-follow-a-child")

    open_tab(page, "Step by step")
    page.get_by_role("button", name=re.compile("^Start ")).click()
    page.get_by_role("button", name="Step").click()
    page.get_by_text("Next month: Oct, school year 0").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Step").click()
    page.get_by_text("Next month: Nov, school year 0").wait_for(timeout=TIMEOUT_MS)
    expect(page.locator(".js-plotly-plot:visible")).to_have_count(1)
    no_error_boxes(page)
    save_screenshot(page, "7-step-by-step")

    open_tab(page, "Export")
    shown_hash = page.locator(".simcity-config-hash").text_content()
    with page.expect_download() as download:
        page.get_by_text("Download the scenario (TOML)").click()
    toml = tmp_path / "exported.toml"
    download.value.save_as(toml)
    assert sk.load_scenario(toml)[0].config_hash() == shown_hash == config.config_hash()
    for label, start in (("Download the results (CSV)", b"scenario,point,year,outcome"),
                         ("Download the HTML report", b"<!DOCTYPE html>")):
        with page.expect_download() as download:
            page.get_by_text(label).click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.read_bytes().startswith(start), label
    save_screenshot(page, "8-export")
    assert "Traceback" not in log.read_text(errors="replace")


def test_ten_sessions_at_once_each_see_their_own_scenario(serve_solara, browser, save_screenshot):
    url, log = serve_solara(DASHBOARD_COMMAND)
    contexts = [browser.new_context() for _ in range(10)]
    pages = [context.new_page() for context in contexts]
    for i, page in enumerate(pages):
        page.goto(url)
    for i, page in enumerate(pages):  # each names its scenario and gives it its own coverage
        page.bring_to_front()  # a page behind the others may never finish a tab's slide-in, leaving it hidden
        shown_change(page, "by_all_means", MANY_SESSIONS_TIMEOUT_MS)
        open_tab(page, "Scenario", settle=False)
        coverage = switch_on(page, "mentoring")
        coverage.fill(f"0.{i}5")
        coverage.press("Enter")
        name = page.get_by_label("Scenario name", exact=True)
        expect(name).to_have_value("by_all_means_edited")  # the page has redrawn: the name field is not rewritten
        commit(page, "Scenario name", f"session_{i}")
        open_tab(page, "Run and compare", settle=False)
        page.get_by_text(f"against: session_{i} (the builder's scenario)").wait_for(timeout=TIMEOUT_MS)
        commit(page, "seeds", "1")
        commit(page, "years", "2")
        page.get_by_role("button", name="Run").click()
    for i, page in enumerate(pages):
        shown_change(page, f"session_{i}", MANY_SESSIONS_TIMEOUT_MS)
        text = page.inner_text("body")
        assert not [j for j in range(10) if j != i and f"session_{j}" in text], f"session {i} shows another's"
        no_error_boxes(page)
    pages[3].bring_to_front()
    save_screenshot(pages[3], "session-3")
    for context in contexts:
        context.close()
    assert "Traceback" not in log.read_text(errors="replace")
