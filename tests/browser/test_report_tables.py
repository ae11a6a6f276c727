"""The HTML report in headless Chromium: sort, search and filter clicked and checked, the page
offline (no request but the file itself) and without console errors, readable at phone width,
complete without script, and printable.

Tables are found by what the table tools promise (``table.data-table``, ``th[data-type]``,
``th[data-filter]``), the rows read as a person sees them (cell text), never from the template.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page
from pypdf import PdfReader

from shared.models import ReportType

from .conftest import ACCENTED_NAME, DESKTOP, PHONE, PageLog, SampleReports, watch

pytestmark = pytest.mark.browser

# Screenshots show the first screen and the first section with table tools; whole pages (slow:
# seconds each for the detailed report) with REPORT_SCREENSHOTS_FULL_PAGE=1.
FULL_PAGE = os.environ.get("REPORT_SCREENSHOTS_FULL_PAGE") == "1"

TABLES_JS = """() => Array.from(document.querySelectorAll('table.data-table')).map((t, index) => ({
  index,
  id: t.id,
  tools: !!document.querySelector('.dt-search[aria-controls="' + t.id + '"]') && t.id !== '',
  headers: Array.from(t.tHead.rows[0].cells).map(th => ({
    name: th.textContent.replace(/\\s+/g, ' ').trim(),
    type: th.getAttribute('data-type') || 'text',
    filter: th.hasAttribute('data-filter'),
  })),
}))"""
ROWS_JS = """t => Array.from(t.tBodies[0].rows).filter(r => !r.classList.contains('dt-none'))
  .map(r => Array.from(r.cells).map(c => c.textContent.replace(/\\s+/g, ' ').trim()))"""


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=DESKTOP)
    yield context
    context.close()


def open_report(context: BrowserContext, sample_reports: SampleReports, report_type: ReportType) -> Page:
    page = context.new_page()
    page.goto(sample_reports.url(report_type))
    return page


def tables(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate(TABLES_JS))


def rows(table: Locator) -> list[list[str]]:
    return list(table.evaluate(ROWS_JS))


def column(info: dict[str, Any], pattern: str) -> int:
    for i, header in enumerate(info["headers"]):
        if re.search(pattern, header["name"], re.IGNORECASE):
            return i
    raise AssertionError(f"no column matching {pattern!r} in {info['headers']}")


def amount(text: str) -> float:
    """'USD 4,696.35' -> 4696.35, as a reader takes it."""
    return float(re.sub(r"[^0-9.\-]", "", text))


def count_text(page: Page, table_id: str) -> str:
    return page.locator(f".dt-tools:has([aria-controls='{table_id}']) .dt-count").inner_text()


def test_every_report_type_opens_offline_at_desktop_and_phone_width(
    browser: Browser, sample_reports: SampleReports, screenshots
) -> None:
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        try:
            for report_type in ReportType:
                url = sample_reports.url(report_type)
                page = context.new_page()
                log: PageLog = watch(page)
                page.goto(url)
                found = tables(page)
                assert found, f"{report_type.value}: no data tables"
                assert page.locator("table.data-table.dt-ready").count() == len(found)
                assert page.locator("th .dt-sort").count() > 0
                shot = screenshots / f"{report_type.value}-{label}"
                page.screenshot(path=f"{shot}.png", full_page=FULL_PAGE)
                if report_type is ReportType.DETAILED:  # a section with its table tools, up close
                    section = page.locator("section, article").filter(has=page.locator(".dt-tools"))
                    section.first.screenshot(path=f"{shot}-table.png")
                assert log.errors == [], f"{report_type.value} {label}: {log.errors}"
                assert log.requests == [url], "the report fetched something besides itself"
                page_width = page.evaluate("document.scrollingElement.scrollWidth")
                assert page_width <= viewport["width"], f"{report_type.value} {label}: page scrolls sideways"
                page.close()
        finally:
            context.close()


def test_the_big_sample_in_seven_scripts_fits_a_phone_and_searches_without_accents(
    browser: Browser, big_detailed_report: tuple[Path, dict[str, str]], screenshots
) -> None:
    path, names = big_detailed_report
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        log = watch(page)
        page.goto(path.as_uri())
        page.screenshot(path=str(screenshots / "big-detailed-phone.png"), full_page=FULL_PAGE)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        assert log.errors == [] and log.requests == [path.as_uri()]

        info = next(t for t in tables(page) if t["tools"] and t["headers"][0]["name"] == "Subscription")
        table = page.locator("table.data-table").nth(info["index"])
        search = page.locator(f".dt-search[aria-controls='{info['id']}']")
        before = rows(table)
        assert len(before) == len(names)
        # Greek without its tonos, Cyrillic in capitals, Czech without its hooks
        for query, shown in (("ελληνικα", "Ελληνικά"), ("КИРИЛЛИЦА", "Кириллица"), ("cestina", "Čeština")):
            search.fill(query)
            expected = [r for r in before if shown in r[0]]
            assert 0 < len(expected) < len(before)
            assert rows(table) == expected, query
    finally:
        context.close()


def test_a_savings_column_sorts_numerically_both_ways(
    context: BrowserContext, sample_reports: SampleReports
) -> None:
    page = open_report(context, sample_reports, ReportType.DETAILED)
    info = next(
        t
        for t in tables(page)
        if t["tools"]
        and any(h["type"] == "number" and re.search("per month", h["name"], re.I) for h in t["headers"])
    )
    table = page.locator("table.data-table").nth(info["index"])
    col = column(info, "month")
    before = rows(table)
    values = [amount(r[col]) for r in before]
    assert len(values) >= 6
    as_text = sorted(r[col] for r in before)
    assert [amount(t) for t in as_text] != sorted(values), "data would not tell text from numeric order"

    header = table.locator("thead th").nth(col)
    header.get_by_role("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    ascending = rows(table)
    assert [amount(r[col]) for r in ascending] == sorted(values)
    assert sorted(ascending) == sorted(before)  # the same rows, reordered

    header.get_by_role("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    assert [amount(r[col]) for r in rows(table)] == sorted(values, reverse=True)
    assert table.locator("thead th[aria-sort]").count() == 1


def test_sorting_is_stable_and_ranks_impact_by_severity(
    context: BrowserContext, sample_reports: SampleReports
) -> None:
    page = open_report(context, sample_reports, ReportType.DETAILED)
    info = next(t for t in tables(page) if any(h["name"] == "Impact" for h in t["headers"]) and t["tools"])
    table = page.locator("table.data-table").nth(info["index"])
    col = column(info, "^impact$")
    before = rows(table)
    assert len({r[col] for r in before}) >= 2
    button = table.locator("thead th").nth(col).get_by_role("button")
    for clicks, order in ((1, ["High", "Medium", "Low"]), (2, ["Low", "Medium", "High"])):
        button.click()
        after = rows(table)
        seen = [r[col] for r in after]
        levels = [level for level in order if level in seen]
        assert seen == sorted(seen, key=levels.index), f"after {clicks} click(s): {seen}"
        for level in levels:  # ties keep the order they had
            assert [r for r in after if r[col] == level] == [r for r in before if r[col] == level]


def test_search_is_case_and_accent_insensitive_and_counts_rows(
    context: BrowserContext, sample_reports: SampleReports
) -> None:
    page = open_report(context, sample_reports, ReportType.DETAILED)
    candidates = [t for t in tables(page) if t["tools"]]
    assert candidates
    for info in candidates:
        table = page.locator("table.data-table").nth(info["index"])
        before = rows(table)
        matching = [r for r in before if ACCENTED_NAME in " ".join(r)]
        if 0 < len(matching) < len(before):
            break
    else:
        raise AssertionError(f"no searchable table lists {ACCENTED_NAME!r} among other rows")
    total = len(before)
    assert count_text(page, info["id"]) == f"{total} of {total} rows"
    search = page.locator(f".dt-search[aria-controls='{info['id']}']")
    named = (search.get_attribute("aria-label") or "").removeprefix("Search ")
    # the box is named after the heading above its table
    assert page.locator("h2, h3").filter(has_text=re.compile(f"^{re.escape(named)}$")).count() >= 1

    query = "ZAKLADY lodz"  # neither the case nor the letters of "Zakłady Łódź"
    assert query.lower() not in ACCENTED_NAME.lower()
    search.fill(query)
    assert rows(table) == matching
    assert count_text(page, info["id"]) == f"{len(matching)} of {total} rows"

    sub_id = next(k for k, v in sample_reports.subscriptions.items() if v == ACCENTED_NAME)
    search.fill(sub_id.upper())  # shown as the name, with the id in its title
    assert rows(table) == matching

    search.fill("no such recommendation anywhere")
    assert rows(table) == []
    assert table.locator("tbody tr.dt-none").is_visible()
    assert count_text(page, info["id"]) == f"0 of {total} rows"

    page.locator(f".dt-tools:has([aria-controls='{info['id']}']) .dt-clear").click()
    assert rows(table) == before
    assert search.input_value() == ""


def test_a_column_filter_narrows_rows_and_combines_with_search(
    context: BrowserContext, sample_reports: SampleReports
) -> None:
    page = open_report(context, sample_reports, ReportType.DETAILED)
    info = next(
        t
        for t in tables(page)
        if t["tools"] and any(h["filter"] and h["name"] == "Subscription" for h in t["headers"])
    )
    table = page.locator("table.data-table").nth(info["index"])
    col = column(info, "^subscription$")
    before = rows(table)
    select = page.locator(f"select[data-column='Subscription'][aria-controls='{info['id']}']")
    options = select.locator("option").all_inner_texts()
    assert options[0] == "All" and sorted(options[1:]) == sorted({r[col] for r in before})

    select.select_option(label=ACCENTED_NAME)
    chosen = [r for r in before if r[col] == ACCENTED_NAME]
    assert 0 < len(chosen) < len(before)
    assert rows(table) == chosen
    assert count_text(page, info["id"]) == f"{len(chosen)} of {len(before)} rows"

    word = next(w for w in chosen[0][1].split() if len(w) > 4)
    page.locator(f".dt-search[aria-controls='{info['id']}']").fill(word.upper())
    both = [r for r in chosen if word.lower() in " ".join(r).lower()]
    assert rows(table) == both and count_text(page, info["id"]) == f"{len(both)} of {len(before)} rows"

    page.locator(f".dt-tools:has([aria-controls='{info['id']}']) .dt-clear").click()
    assert rows(table) == before and select.input_value() == ""


def test_headers_are_buttons_the_keyboard_reaches_and_presses(
    context: BrowserContext, sample_reports: SampleReports
) -> None:
    page = open_report(context, sample_reports, ReportType.DETAILED)
    info = next(t for t in tables(page) if t["tools"])
    table = page.locator("table.data-table").nth(info["index"])
    page.locator(f".dt-search[aria-controls='{info['id']}']").focus()
    for _ in range(12):  # Tab from the search box, past the filters, to the first header
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('dt-sort')"):
            break
    else:
        raise AssertionError("Tab never reached a header button")
    first = table.locator("thead th").first
    assert first.locator("button.dt-sort").evaluate("b => b === document.activeElement")
    page.keyboard.press("Enter")
    assert first.get_attribute("aria-sort") == "ascending"
    page.keyboard.press("Space")
    assert first.get_attribute("aria-sort") == "descending"


def test_without_script_every_row_is_there_and_nothing_is_added(
    browser: Browser, sample_reports: SampleReports
) -> None:
    expected = sample_reports.paths[ReportType.DETAILED].read_text(encoding="utf-8").count("<tr")
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = open_report(context, sample_reports, ReportType.DETAILED)
        assert page.locator("tr").count() == expected
        assert page.locator(".dt-tools, .dt-sort, .dt-ready").count() == 0
        assert page.locator("table.data-table tbody tr").first.is_visible()
    finally:
        context.close()


def test_print_hides_the_controls_repeats_headers_and_says_what_was_filtered(
    context: BrowserContext, sample_reports: SampleReports
) -> None:
    page = open_report(context, sample_reports, ReportType.DETAILED)
    info = next(t for t in tables(page) if t["tools"])
    table = page.locator("table.data-table").nth(info["index"])
    search = page.locator(f".dt-search[aria-controls='{info['id']}']")
    search.fill(rows(table)[0][0])
    page.emulate_media(media="print")
    assert not search.is_visible()
    style = table.evaluate(
        """t => ({head: getComputedStyle(t.tHead).display,
                 row: getComputedStyle(t.tBodies[0].rows[0]).breakInside,
                 wrap: getComputedStyle(t.parentElement).overflowX})"""
    )
    assert style == {"head": "table-header-group", "row": "avoid", "wrap": "visible"}
    note = page.locator(".dt-print-note").filter(has_text="Filtered")
    assert note.count() == 1 and note.is_visible()
    assert re.search(r"\d+ of \d+ rows shown", note.inner_text())
    page.emulate_media(media="screen")
    assert not note.is_visible()


def test_printed_tables_repeat_their_header_row_on_every_page(
    context: BrowserContext, sample_reports: SampleReports
) -> None:
    page = open_report(context, sample_reports, ReportType.DETAILED)
    header = "Last updated"
    tables_with_it = sum(1 for t in tables(page) if any(h["name"] == header for h in t["headers"]))
    assert tables_with_it > 1
    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    printed = sum(p.extract_text().upper().count(header.upper()) for p in pdf.pages)
    # some of those tables run onto a second page: there the header row is printed again, with
    # its text (Chromium leaves the sort buttons out of repeated rows; print shows their text)
    assert printed > tables_with_it
