"""A detailed report over every sample subscription, end to end: start (202 + Location +
Retry-After), poll as a Logic App, the completed resource's counts and savings checked against
what the stand-in serves, and both files downloaded through the 302 to a short-lived SAS URL."""

from __future__ import annotations

import math
import re
import subprocess
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.rendering.environment import get_environment, report_csp, table_tools_scripts

from .support import (
    PAGE_SIZE,
    REPORT_TIMEOUT_SECONDS,
    ApiClient,
    TenantFigures,
    count_stored_recommendations,
    is_commitment,
    rec_category,
    rec_impact,
    sas_expiry_seconds,
    within,
)

pytestmark = pytest.mark.e2e

CUSTOMER = "Contoso & Sons <EU>"
TITLE = "Azure Advisor detailed report"
GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def started(api: ApiClient, sample_subscriptions: list[str]) -> dict[str, Any]:
    body = {
        "subscriptionIds": sample_subscriptions,
        "reportType": "detailed",
        "formats": ["html", "pdf"],
        "customer": CUSTOMER,
    }
    with within(REPORT_TIMEOUT_SECONDS + 10):
        response = api.start(body)
        report = api.poll(response.headers["Location"])
    return {"response": response, "body": response.json(), "report": report}


@pytest.fixture(scope="module")
def report(started: dict[str, Any]) -> dict[str, Any]:
    return started["report"]


@pytest.fixture(scope="module")
def tenant(stack: Any, sample_subscriptions: list[str]) -> TenantFigures:
    return TenantFigures.of(stack, sample_subscriptions)


@pytest.fixture(scope="module")
def downloads(api: ApiClient, report: dict[str, Any]) -> dict[str, Any]:
    result = {}
    with within(30):
        for fmt in ("html", "pdf"):
            redirect, response = api.download(report["files"][fmt])
            result[fmt] = {"redirect": redirect, "response": response}
    return result


def test_start_answers_202_with_location_retry_after_and_no_management_urls(
    api: ApiClient, started: dict[str, Any]
) -> None:
    response, body = started["response"], started["body"]
    report_id = body["reportId"]
    assert GUID_RE.match(report_id)
    location = response.headers["Location"]
    # A Logic App polls with exactly what it is given: a link signed for this report, never the
    # caller's function key (tests/e2e/test_links.py).
    assert urlsplit(location).path == f"/api/links/reports/{report_id}"
    assert "code=" not in location and "token" in parse_qs(urlsplit(location).query)
    assert float(response.headers["Retry-After"]) > 0
    # The report's own URL is the handle; the Durable management URLs (which carry the
    # extension's system key in Azure) are never handed out.
    assert body == {"reportId": report_id, "status": "pending", "statusUrl": location}


def test_completed_with_the_counts_the_tenant_holds(
    stack: Any, report: dict[str, Any], tenant: TenantFigures, sample_subscriptions: list[str]
) -> None:
    assert report["status"] == "completed", report.get("failure")
    assert "failure" not in report
    assert report["reportType"] == "detailed"
    assert report["customer"] == CUSTOMER
    assert report["source"] == "api"
    assert sorted(report["scope"]["subscriptionIds"]) == sorted(s.lower() for s in sample_subscriptions)
    assert report["scope"]["subscriptionsLeftOut"] == []
    assert report["filters"] == {"categories": [], "impacts": [], "resourceGroups": []}

    # Every recommendation served was stored under the report (the table, not the summary).
    assert count_stored_recommendations(stack, report["reportId"]) == tenant.total == 396

    counts = report["counts"]
    total = counts["recommendations"]
    by_category = {k: v["count"] for k, v in counts["byCategory"].items()}
    assert sum(by_category.values()) == total
    assert sum(counts["byImpact"].values()) == total
    assert set(by_category) == set(tenant.by(rec_category))
    assert set(counts["byImpact"]) == set(tenant.by(rec_impact))
    # Reservation variants are counted once: the total is below the rows served, by exactly the
    # number of variants the note says were folded, and never below the plain recommendations.
    assert tenant.plain.total < total < tenant.total
    note = report["savings"]["note"]
    folded = re.search(r"([\d,]+) repeated variants? (?:are|is) not counted", note)
    assert folded, note
    assert int(folded.group(1).replace(",", "")) == tenant.total - total
    for category, count in by_category.items():
        served = tenant.where(category=category)
        if served.plain.total == served.total:  # nothing to fold: exact
            assert count == served.total, category
        else:
            assert served.plain.total <= count < served.total, category
    for impact, count in counts["byImpact"].items():
        served = tenant.where(impact=impact)
        assert served.plain.total <= count <= served.total, impact
    assert counts["byCategory"]["reliability"]["label"] == "Reliability"

    # Paging: the app asked for PAGE_SIZE at a time and followed every nextLink.
    pages = sum(math.ceil(len(stack.standin.recommendations(s)) / PAGE_SIZE) for s in sample_subscriptions)
    assert report["advisorApiPages"] == pages
    durations = report["durationsSeconds"]
    assert {"fetch", "summarize", "render", "total"} <= set(durations)
    assert 0 < durations["total"] < REPORT_TIMEOUT_SECONDS
    assert report["requestedAt"] <= report["fetchedAt"] <= report["completedAt"]


def test_savings_are_per_currency_and_never_summed(report: dict[str, Any], tenant: TenantFigures) -> None:
    savings = report["savings"]["byCurrency"]
    assert {"USD", "EUR"} <= set(savings) <= {"USD", "EUR", "unknown"}
    assert tenant.currencies() == {"USD", "EUR"}
    for currency in ("USD", "EUR"):
        figures = savings[currency]
        monthly, annual = Decimal(figures["monthly"]), Decimal(figures["annual"])
        # Bounded by this currency's own recommendations: the plain ones at least, all of them
        # (variants included) at most. Adding another currency in would break the upper bound.
        low_m, low_a = tenant.plain.savings(currency)
        high_m, high_a = tenant.savings(currency)
        assert 0 < low_m <= monthly <= high_m, currency
        assert 0 < low_a <= annual <= high_a, currency
        # The headline the cost and executive reports print: overlaps counted once, so at most the sum.
        achievable = figures["achievable"]
        assert 0 < Decimal(achievable["monthly"]) <= monthly, currency
        assert Decimal(achievable["annual"]) == Decimal(achievable["monthly"]) * 12, currency
        served = [r for r in tenant.recs if (r["properties"].get("extendedProperties") or {}).get(
            "savingsCurrency") == currency]  # fmt: skip
        assert 0 < figures["count"] <= len(served)
        assert figures["count"] >= sum(1 for r in served if not is_commitment(r))
    usd_high, eur_high = tenant.savings("USD")[0], tenant.savings("EUR")[0]
    assert Decimal(savings["USD"]["monthly"]) < usd_high + tenant.plain.savings("EUR")[0]
    assert Decimal(savings["EUR"]["monthly"]) <= eur_high
    if "unknown" in savings:
        assert set(savings["unknown"]) == {"count"}  # no amount: it is in no total
    assert "never added across currencies" in report["savings"]["note"]


def test_files_download_through_a_short_lived_sas_url(
    api: ApiClient, report: dict[str, Any], downloads: dict[str, Any]
) -> None:
    assert set(report["files"]) == {"html", "pdf"}
    for fmt, got in downloads.items():
        link = report["files"][fmt]
        assert urlsplit(link).path == f"/api/links/reports/{report['reportId']}/files/{fmt}"
        redirect, response = got["redirect"], got["response"]
        sas = redirect.headers["Location"]
        parts = urlsplit(sas)
        query = parse_qs(parts.query)
        assert parts.hostname == "127.0.0.1" and parts.port != urlsplit(api.base).port  # Azurite
        assert query["sp"] == ["r"] and "sig" in query
        assert 0 < sas_expiry_seconds(sas) <= 16 * 60
        assert redirect.headers.get("Cache-Control") == "no-store"
        assert response.status_code == 200
        disposition = response.headers.get("Content-Disposition", "")
        # The customer ("Contoso & Sons <EU>") as a plain slug: nothing that could end the quoted name.
        pattern = rf'filename="advisor-detailed-contoso-sons-eu-\d{{4}}-\d\d-\d\d\.{fmt}"'
        assert re.search(pattern, disposition), disposition
        # Without its signature the blob is not readable: the container is private.
        bare = api.http.get(f"{parts.scheme}://{parts.netloc}{parts.path}", timeout=10)
        assert bare.status_code in (401, 403, 404), bare.status_code


def test_pdf_has_the_title_and_a_resource(
    downloads: dict[str, Any], tenant: TenantFigures, tmp_path: Any
) -> None:
    pdf = downloads["pdf"]["response"].content
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, timeout=30
    ).stdout.decode("utf-8")
    flat = " ".join(text.split())
    assert TITLE in flat
    assert CUSTOMER in flat  # plain text in the PDF: neither dropped nor shown as &amp;/&lt;
    resource = next(
        r["properties"]["impactedValue"]
        for r in tenant.recs
        if rec_impact(r) == "high" and not is_commitment(r) and r["properties"].get("impactedValue")
    )
    assert resource in "".join(text.split()), resource


def test_html_escapes_the_tenant_texts(downloads: dict[str, Any], tenant: TenantFigures) -> None:
    html = downloads["html"]["response"].content.decode("utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert TITLE in html
    assert "Contoso &amp; Sons &lt;EU&gt;" in html
    assert "<EU>" not in html
    problems = {r["properties"]["shortDescription"]["problem"] for r in tenant.recs}
    assert "Use <b>managed disks</b> to improve data reliability" in problems
    # Advisor's markup is reduced to its text (shared/text.py), never shown as tags or markup
    assert "Use managed disks to improve data reliability" in html
    assert "<b>managed disks</b>" not in html and "&lt;b&gt;" not in html
    assert 'Configure "Always On" for your App Service apps' in problems
    assert "Configure &#34;Always On&#34; for your App Service apps" in html or (
        "Configure &quot;Always On&quot; for your App Service apps" in html
    )
    for sub in {r["id"].split("/")[2] for r in tenant.recs}:
        assert sub in html
    for name in ("Contoso Production", "Contoso Development", "Fabrikam Shared Services"):
        assert name in html  # subscriptions are shown by their display names
    assert "Fabrikam EU (EUR billing)" in html
    # nothing executable from the data: the one script is the table tools, the only one the
    # page's Content-Security-Policy lets run
    assert html.lower().count("<script") == 1
    assert table_tools_scripts(get_environment())[0] in html
    assert report_csp().replace("'", "&#39;") in html


def test_subscription_ids_are_deduplicated_ignoring_case(api: ApiClient, new_subscriptions: Any) -> None:
    sub = new_subscriptions(1, 8)[0]
    sub_id = sub["subscriptionId"]
    report = api.run_report(
        {
            "subscriptionIds": [sub_id.upper(), sub_id, f" {sub_id} "],
            "reportType": "security",
            "formats": ["html"],
        }
    )
    assert report["status"] == "completed", report.get("failure")
    assert report["scope"]["subscriptionIds"] == [sub_id.lower()]
    served = sum(1 for r in sub["recommendations"] if r["properties"]["category"] == "Security")
    assert report["counts"]["recommendations"] == served
