"""The browser tier: the HTML reports of the sample tenant opened in a real browser.

Headless Chromium from Debian's packages (`chromium`, installed by `make setup` through
scripts/install-system-deps.sh) driven by Playwright for Python. Playwright never downloads a
browser of its own here: it is launched with the Debian executable (``executable_path``), and
playwright is pinned to the release built against the same Chromium major version.

One browser for the tier; each test opens its pages in a fresh context. Reports are rendered
through shared.rendering from the bundled sample tenant (the data the demo serves), written to
files and opened from file:// URLs, as a customer opens a saved report. Screenshots go to
out/screenshots/ (git-ignored) so a person can look at them after a run.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.mgmt.advisor.models import ResourceRecommendationBase
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    ViewportSize,
    sync_playwright,
)

from devhost.big_tenant import DEMO_CUSTOMER, build_big_tenant
from devhost.sample_tenant import BUNDLED_PATH
from shared.advisor import to_recommendation
from shared.models import Recommendation, ReportFilters, ReportType
from shared.rendering import ReportMeta, build_report_context, render_html
from shared.summary import summarize

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "out" / "screenshots"
DESKTOP = ViewportSize(width=1366, height=900)
PHONE = ViewportSize(width=390, height=844)
GENERATED = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
CUSTOMER = "Zakłady Łódź & Sons <EU>"
# One subscription shown under a name with letters that search must fold (ł, ó, ź).
ACCENTED_NAME = "Zakłady Łódź Produkcja"


def chromium_executable() -> str:
    """Debian's Chromium (CHROMIUM_PATH overrides); a clear failure when it is not installed."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(f"Chromium not found at {path}: `make setup` installs Debian's chromium package")
    return path


# Package scope, not session: Playwright's sync API keeps its event loop running in the main
# thread while it is started, and tests after this tier call asyncio.run().
@pytest.fixture(scope="package")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    browser = playwright_session.chromium.launch(executable_path=chromium_executable())
    yield browser
    browser.close()


@dataclass(frozen=True)
class SampleReports:
    """The sample tenant's recommendations and where each type's HTML was written."""

    recommendations: list[Recommendation]
    subscriptions: dict[str, str]
    paths: dict[ReportType, Path]

    def url(self, report_type: ReportType) -> str:
        return self.paths[report_type].as_uri()


def sample_recommendations() -> tuple[list[Recommendation], dict[str, str]]:
    tenant = json.loads(BUNDLED_PATH.read_text(encoding="utf-8"))
    recs = [
        to_recommendation(ResourceRecommendationBase.deserialize(item), sub["subscriptionId"])
        for sub in tenant["subscriptions"]
        for item in sub["recommendations"]
    ]
    names = {sub["subscriptionId"]: sub["displayName"] for sub in tenant["subscriptions"]}
    first = next(iter(names))
    names[first] = ACCENTED_NAME
    return recs, names


@pytest.fixture(scope="session")
def sample_reports(tmp_path_factory: pytest.TempPathFactory) -> SampleReports:
    recs, names = sample_recommendations()
    folder = tmp_path_factory.mktemp("reports")
    paths: dict[ReportType, Path] = {}
    for report_type in ReportType:
        meta = ReportMeta(report_type=report_type, customer=CUSTOMER, subscriptions=names)
        summary = summarize(recs, filters=ReportFilters().for_report_type(report_type))
        path = folder / f"advisor-{report_type.value}.html"
        path.write_text(render_html(build_report_context(meta, summary, GENERATED)), encoding="utf-8")
        paths[report_type] = path
    return SampleReports(recs, names, paths)


@pytest.fixture(scope="session")
def big_detailed_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The detailed report of the big sample (45 subscriptions named in seven scripts, about
    3,000 recommendations): its file and the subscriptions' names."""
    tenant = build_big_tenant()
    recs = [
        to_recommendation(ResourceRecommendationBase.deserialize(item), sub["subscriptionId"])
        for sub in tenant["subscriptions"]
        for item in sub["recommendations"]
    ]
    names = {sub["subscriptionId"]: sub["displayName"] for sub in tenant["subscriptions"]}
    meta = ReportMeta(report_type=ReportType.DETAILED, customer=DEMO_CUSTOMER, subscriptions=names)
    html = render_html(build_report_context(meta, summarize(recs), GENERATED))
    path = tmp_path_factory.mktemp("big") / "advisor-detailed-big.html"
    path.write_text(html, encoding="utf-8")
    return path, names


@dataclass
class PageLog:
    """What a page did besides rendering: console errors, uncaught exceptions, requests."""

    errors: list[str]
    requests: list[str]


def watch(page: Page) -> PageLog:
    log = PageLog(errors=[], requests=[])

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            log.errors.append(f"{message.type}: {message.text}")

    def on_request(request: Request) -> None:
        log.requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: log.errors.append(f"pageerror: {error}"))
    page.on("request", on_request)
    return log


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
