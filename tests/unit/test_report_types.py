"""The five report types read as five documents: each has its own content, the executive fits two
pages whatever the tenant's size, cost never adds overlapping savings, and no raw markup or
savings section appears where it does not belong. Rendered from the bundled sample tenant."""

from __future__ import annotations

import io
import json
import re
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from azure.mgmt.advisor.models import ResourceRecommendationBase
from pypdf import PdfReader

from devhost.sample_tenant import build_tenant
from shared.advisor import to_recommendation
from shared.models import Recommendation, ReportFilters, ReportType
from shared.rendering import (
    ReportMeta,
    build_report_context,
    plan_pdf_parts,
    render_html,
    render_pdf_part,
    shows_resources,
    write_merged_pdf,
)
from shared.summary import ACHIEVABLE_RULE, KIND_RESERVATION, KIND_RESOURCE, KIND_SAVINGS_PLAN, summarize
from shared.text import plain_text

SAMPLE = Path(__file__).resolve().parents[2] / "devhost" / "sample_tenant.json"
GENERATED = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def tenant_recs(tenant: dict) -> tuple[list[Recommendation], dict[str, str]]:
    recs, names = [], {}
    for sub in tenant["subscriptions"]:
        names[sub["subscriptionId"]] = sub["displayName"]
        for item in sub["recommendations"]:
            rec = to_recommendation(ResourceRecommendationBase.deserialize(item), sub["subscriptionId"])
            rec.subscription_name = sub["displayName"]
            recs.append(rec)
    return recs, names


def context(recs, names, report_type: ReportType, customer: str = "Contoso") -> dict:
    summary = summarize(
        recs,
        filters=ReportFilters().for_report_type(report_type),
        by_area=report_type is ReportType.OPERATIONS,
    )
    meta = ReportMeta(report_type=report_type, customer=customer, subscriptions=names)
    return build_report_context(meta, summary, GENERATED)


def pdf_of(ctx: dict) -> bytes:
    summary = ctx["summary"]
    specs = plan_pdf_parts(
        summary, 1000, include_details=shows_resources(ReportType(ctx["report"]["type"])), context=ctx
    )
    out = io.BytesIO()
    write_merged_pdf([render_pdf_part(ctx, s) for s in specs], out, footer="footer")
    return out.getvalue()


@pytest.fixture(scope="module")
def sample() -> tuple[list[Recommendation], dict[str, str]]:
    return tenant_recs(json.loads(SAMPLE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def html_by_type(sample) -> dict[str, str]:
    recs, names = sample
    return {t.value: render_html(context(recs, names, t)) for t in ReportType}


class _Text(HTMLParser):
    """The text a reader sees: no style, script or chart markup."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script", "svg")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script", "svg")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = text.split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


# Share of a type's five-word runs also found in the detailed report. Measured the same way on the
# single template these types replace (same sample tenant): executive 88 %, operations 93 %,
# security 86 %, cost 74 %; with their own content 30 %, 44 %, 35 %, 22 %. What stays shared is
# by design: the recommendations' own texts (problem, solution, benefits) and resource names,
# which security and operations list per finding as the detailed report does. The bounds leave
# room for wording changes but fail if a type falls back to the detailed report's layout.
SHARE_BOUNDS = {"executive": 40, "operations": 55, "security": 50, "cost": 35}


@pytest.mark.parametrize("report_type", list(SHARE_BOUNDS))
def test_each_type_is_mostly_its_own_text(html_by_type, report_type):
    detailed = shingles(visible_text(html_by_type["detailed"]))
    own = shingles(visible_text(html_by_type[report_type]))
    share = 100 * len(own & detailed) / len(own)
    assert share <= SHARE_BOUNDS[report_type], (
        f"{report_type}: {share:.0f}% of its text is in the detailed report"
    )


def test_every_type_states_its_audience_at_the_top(html_by_type):
    audiences = {
        "executive": "Leadership",
        "cost": "FinOps and buyers",
        "security": "Security teams",
        "operations": "Platform and operations teams",
        "detailed": "Engineers who make the changes",
    }
    for report_type, audience in audiences.items():
        head = visible_text(html_by_type[report_type])[:400]
        assert f"For: {audience}" in head, report_type


@pytest.mark.parametrize("report_type", ["security", "operations"])
def test_security_and_operations_have_no_savings_sections(html_by_type, report_type):
    text = visible_text(html_by_type[report_type])
    assert not re.search(r"\b(USD|EUR)\s[\d,]+\.\d\d", text)
    for word in ("savings", "Savings", "upper bound", "reservation", "No cost savings"):
        assert word not in text, word


def test_executive_has_no_resource_tables_or_subscription_ids(sample, html_by_type):
    _, names = sample
    html = html_by_type["executive"]
    text = visible_text(html)
    assert "4 subscriptions of Contoso" in text
    assert not any(sub in html for sub in names)
    assert "Resource group" not in text and "Last updated" not in text


def test_executive_shows_every_currency_and_ranks_actions_per_currency(html_by_type):
    text = visible_text(html_by_type["executive"])
    assert "Savings in USD / month" in text and "Savings in EUR / month" in text
    assert "more currenc" not in text
    section = text.split("Top actions by savings")[1].split("Top risks")[0]
    usd, eur = section.split("In EUR")
    assert "In USD" in usd and "EUR " not in usd  # no EUR item among the USD ranks
    assert "USD " not in eur
    assert usd.count(" 1 ") >= 1 and eur.count(" 1 ") >= 1  # each currency ranked from 1


def test_top_actions_are_ranked_within_their_currency(sample):
    recs, names = sample
    ctx = context(recs, names, ReportType.EXECUTIVE)
    for block in ctx["executive"]["actions"]:
        amounts = [a["monthly"] for a in block["rows"]]
        assert amounts == sorted(amounts, reverse=True)
        assert all(block["currency"] in a["group"].savings for a in block["rows"])
    for block in ctx["top_opportunities"]:
        assert {o.currency for o in block["rows"]} == {block["currency"]}


def _pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize("subscriptions,per_subscription", [(1, 120), (500, 4)])
def test_executive_pdf_fits_two_pages_for_any_tenant_size(subscriptions, per_subscription):
    recs, names = tenant_recs(build_tenant(subscriptions, per_subscription))
    ctx = context(recs, names, ReportType.EXECUTIVE)
    assert len(ctx["subscriptions"]) == subscriptions
    data = pdf_of(ctx)
    assert _pages(data) <= 2
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert f"{subscriptions:,} subscription" in text


# --- markup in Advisor's text ---------------------------------------------------------------


def test_plain_text_reduces_markup_and_keeps_comparisons():
    assert plain_text("Use <b>managed disks</b> to improve <i>data</i> reliability") == (
        "Use managed disks to improve data reliability"
    )
    assert plain_text("Save &amp; protect<br/>now") == "Save & protect now"
    assert plain_text("CPU < 5% and memory > 2%") == "CPU < 5% and memory > 2%"
    assert plain_text("&lt;script&gt;alert(1)&lt;/script&gt;") == "<script>alert(1)</script>"


def test_no_raw_tags_in_any_html_text(html_by_type):
    for report_type, html in html_by_type.items():
        text = visible_text(html)
        assert "<b>" not in text and "</b>" not in text, report_type
        if report_type in ("detailed", "operations"):
            assert "Use managed disks to improve data reliability" in text


def test_hostile_text_is_still_escaped_after_markup_is_reduced(sample):
    recs, names = sample
    hostile = Recommendation(
        **{
            **recs[0].__dict__,
            "recommendation_id": recs[0].recommendation_id + "-x",
            "recommendation_type_id": "hostile",
            "problem": "Check &lt;script&gt;alert(1)&lt;/script&gt; and <img src=x onerror=alert(2)>",
        }
    )
    html = render_html(context([*recs, hostile], names, ReportType.DETAILED))
    assert "<script>alert(1)" not in html and "onerror" not in html
    assert "Check &lt;script&gt;alert(1)&lt;/script&gt; and" in html


@pytest.mark.parametrize("report_type", [ReportType.DETAILED, ReportType.OPERATIONS, ReportType.EXECUTIVE])
def test_no_raw_tags_in_pdf_text(sample, report_type):
    recs, names = sample
    data = pdf_of(context(recs, names, report_type))
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    assert "<b>" not in text and "</b>" not in text
    if report_type is not ReportType.EXECUTIVE:
        assert "Benefits:" in text  # the PDF carries what the HTML carries


# --- cost: kinds and what is achievable without overlap ----------------------------------------


def _cost(i: int, kind: str, monthly: str, **ext) -> Recommendation:
    sub = "11111111-1111-4111-8111-111111111111"
    resource = ext.pop("resource", f"vm-{i}")
    rid = f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{resource}"
    return Recommendation(
        recommendation_id=f"{rid}/providers/Microsoft.Advisor/recommendations/{i}",
        subscription_id=sub,
        category="cost",
        impact="high",
        recommendation_type_id=f"type-{kind}",
        problem=kind,
        resource_id=rid if kind == "resource" else f"/subscriptions/{sub}",
        resource_name=resource,
        resource_group="rg" if kind == "resource" else "",
        monthly_savings=Decimal(monthly),
        savings_currency="USD",
        extended_properties=ext,
    )


def test_achievable_savings_never_add_overlapping_kinds():
    recs = [
        # one VM with both a right-size (100) and a shutdown (250): only the larger counts
        _cost(
            1,
            "resource",
            "100",
            resource="vm-1",
            recommendationType="Right-size",
            currentSku="D8s_v5",
            targetSku="D4s_v5",
        ),
        _cost(
            2,
            "resource",
            "250",
            resource="vm-1",
            recommendationType="Shutdown",
            currentSku="D8s_v5",
            targetSku="Shutdown",
        ),
        _cost(3, "resource", "40", resource="vm-other"),
        # compute reservations (300) and a savings plan (500) buy the same usage: the larger counts
        _cost(
            4,
            "reservation",
            "300",
            reservedResourceType="VirtualMachines",
            displaySKU="D4s_v5",
            qty="2",
            term="P3Y",
            lookbackPeriod="30",
            region="westeurope",
        ),  # fmt: skip
        _cost(
            5,
            "savings_plan",
            "500",
            term="P3Y",
            lookbackPeriod="30",
            commitmentAmount="2.5",
            commitmentGranularity="Hourly",
            scope="Shared",
        ),  # fmt: skip
        # a Cosmos DB reservation, which no savings plan covers, is added
        _cost(
            6,
            "reservation",
            "70",
            reservedResourceType="CosmosDb",
            displaySKU="RU 100",
            term="P1Y",
            lookbackPeriod="30",
        ),  # fmt: skip
    ]
    summary = summarize(recs)
    kinds = summary.savings_by_kind["USD"]
    assert kinds[KIND_RESOURCE].monthly == Decimal(390)
    assert kinds[KIND_RESERVATION].monthly == Decimal(370)
    assert kinds[KIND_SAVINGS_PLAN].monthly == Decimal(500)
    assert summary.savings_for("USD").monthly == Decimal(1260)  # the plain sum: an upper bound
    assert summary.achievable["USD"].monthly == Decimal(250 + 40 + 70 + 500)
    html = render_html(build_report_context(ReportMeta(report_type=ReportType.COST), summary, GENERATED))
    text = visible_text(html)
    assert "Achievable without overlap" in text and "USD 860.00" in text
    assert ACHIEVABLE_RULE in text
    # what a buyer needs, from extendedProperties
    assert "2.5 / hour USD" in text and "Shared" in text
    assert "westeurope" in text and "D4s_v5" in text and "3-year term" in text


def test_cost_report_has_savings_by_subscription_and_buyer_columns(html_by_type):
    text = visible_text(html_by_type["cost"])
    assert "Savings by subscription" in text and "Savings by kind" in text
    for column in ("SKU", "Quantity", "Region", "Term", "Lookback (days)", "Commitment", "Usage (P95)"):
        assert column in text, column


def test_detailed_has_resource_ids_and_portal_links(sample, html_by_type):
    recs, _ = sample
    html = html_by_type["detailed"]
    rid = next(r.resource_id for r in recs if "/resourceGroups/" in r.resource_id)
    assert rid in html
    assert f'href="https://portal.azure.com/#@/resource{rid}"' in html


def test_operations_groups_findings_by_workload_area(html_by_type):
    text = visible_text(html_by_type["operations"])
    areas = [a for a in ("Virtual machines", "Storage", "Databases", "Networking") if f"{a} " in text]
    assert len(areas) >= 3
    assert "Workload areas at a glance" in text


def test_security_lists_findings_by_resource(html_by_type):
    text = visible_text(html_by_type["security"])
    assert "Resources most at risk" in text and "What to fix" in text


CURRENCIES = ("USD", "EUR", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "JPY", "KRW", "CNY")


@pytest.mark.parametrize("currencies", [None, CURRENCIES])
def test_executive_fits_two_pages_with_many_currencies_and_scripts(currencies):
    from devhost.big_tenant import DEMO_CUSTOMER, build_big_tenant

    recs, names = tenant_recs(build_big_tenant())
    if currencies:  # every subscription billed in one of twelve currencies
        order = {sub: i for i, sub in enumerate(names)}
        for rec in recs:
            if rec.savings_currency:
                rec.savings_currency = currencies[order[rec.subscription_id] % len(currencies)]
    ctx = context(recs, names, ReportType.EXECUTIVE, customer=DEMO_CUSTOMER)
    assert len(ctx["savings"]) >= (12 if currencies else 5)  # the big tenant bills in several
    data = pdf_of(ctx)
    assert _pages(data) <= 2
    text = " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
    for total in ctx["savings"]:  # every currency's headline, as a card or a line
        assert re.search(
            rf"(Savings in {total.currency} / month|{total.currency} {total.currency} [\d,]+\.\d\d)",
            text,
            re.I,
        ), total.currency
    assert "more currenc" not in text


def test_a_long_scope_is_summarised_in_the_body_and_listed_in_an_appendix():
    recs, names = tenant_recs(build_tenant(12, 6))
    ctx = context(recs, names, ReportType.DETAILED)
    assert len(ctx["scope_body"]) == 8 and ctx["scope_appendix"]
    html = render_html(ctx)
    text = visible_text(html)
    assert "12 subscriptions of Contoso" in text
    appendix = text.split("Appendix: subscriptions in scope")[1]
    assert all(sub in appendix for sub in names)
    pdf = PdfReader(io.BytesIO(pdf_of(ctx)))
    last = " ".join(pdf.pages[-1].extract_text().split())
    assert "Appendix" in last and list(names)[-1] in last.replace(" ", "")
    first = " ".join(pdf.pages[0].extract_text().split())
    assert "Appendix" not in first


@pytest.mark.parametrize(
    "report_type,least",
    [("executive", 2), ("cost", 3), ("security", 1), ("operations", 2), ("detailed", 3)],
)
def test_charts_are_inline_svg(html_by_type, report_type, least):
    html = html_by_type[report_type]
    assert html.count("<svg") >= least
    assert "<img" not in html


def test_cost_and_detailed_have_a_per_subscription_view(html_by_type):
    cost = html_by_type["cost"]
    assert "Savings by subscription" in cost and "savings per subscription" in cost
    detailed = html_by_type["detailed"]
    assert "By subscription" in detailed and "Recommendations per subscription" in detailed
