"""PDF layout: pages planned ahead (pdf_layout) so that no page but the last is left part-empty,
across the boundaries of parts rendered independently; "(continued)" on a group cut by a page;
8.5 pt text in the detail tables; long names broken after separators, not inside words."""

from __future__ import annotations

import dataclasses
import io
import random
import re
import statistics
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from shared.models import Recommendation, ReportType
from shared.rendering import (
    ReportMeta,
    build_report_context,
    pdf_layout,
    plan_pdf_parts,
    render_pdf_part,
    write_merged_pdf,
)
from shared.rendering import pdf as pdf_module
from shared.rendering import typeface as typeface_module
from shared.rendering.context import portal_url
from shared.rendering.pdf import PartSpec
from shared.summary import summarize

SUBS = {
    f"{i:08x}-1bf0-4dda-aec3-cb9272f0959{i % 10}": name
    for i, name in enumerate(
        ["Contoso Production", "Zakłady Łódź – produkcja", "日本語の顧客 本番環境", "Dev/Test", "Кириллица"]
    )
}
PROBLEMS = [
    ("reliability", "high", "Enable Backups on your virtual machines", ""),
    (
        "security",
        "medium",
        "Storage accounts should restrict network access using virtual network rules " * 3,
        "",
    ),
    ("cost", "high", "Right-size or shutdown underutilized virtual machines", "EUR"),
    ("operational_excellence", "low", "Create an Azure service health alert", ""),
    ("performance", "medium", "Use Premium SSD managed disks for production workloads", ""),
]
# The rule of the tests below: on every page but the last, pdftotext finds at least this share
# of the characters of the median page.
FAIR_SHARE = 0.4


def tenant(n: int, seed: int = 11) -> list[Recommendation]:
    """``n`` recommendations over five types and five subscriptions; names of every length,
    some long enough to wrap, some in other scripts."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        category, impact, problem, currency = PROBLEMS[rng.choices(range(5), weights=[5, 4, 3, 2, 1])[0]]
        sub = list(SUBS)[i % len(SUBS)]
        name = f"vm-{rng.choice(['web', 'api', 'etl', 'ml'])}-{i:05d}"
        if rng.random() < 0.15:
            name += "-" + "-".join(
                rng.choice(["payments", "reporting", "frontend", "batch"]) for _ in range(6)
            )
        if rng.random() < 0.05:
            name = f"サーバー-{i}"
        out.append(
            Recommendation(
                recommendation_id=f"/subscriptions/{sub}/resourceGroups/rg/providers/x/{name}/rec/{i}",
                subscription_id=sub,
                subscription_name=SUBS[sub],
                category=category,
                impact=impact,
                recommendation_type_id=f"type-{problem[:20]}",
                problem=problem.strip(),
                solution="Apply the recommendation " * rng.randint(1, 4),
                resource_id=f"/subscriptions/{sub}/resourceGroups/rg-{i % 40}/providers/x/{name}",
                resource_name=name,
                resource_group=f"rg-{rng.choice(['shared', 'prod', 'test'])}-{i % 40:02d}",
                last_updated=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=i),
                monthly_savings=Decimal(rng.randint(5, 900)) if currency else None,
                annual_savings=Decimal(rng.randint(60, 10800)) if currency else None,
                savings_currency=currency or None,
                learn_more_link="https://aka.ms/azureadvisordashboard",
            )
        )
    return out


def context_for(recs: list[Recommendation], report_type: ReportType) -> dict:
    meta = ReportMeta(report_type=report_type, customer="Contoso", subscriptions=dict(SUBS))
    summary = summarize(
        [r for r in recs if report_type.categories is None or r.category in report_type.categories]
    )
    return build_report_context(meta, summary, datetime(2026, 12, 2, tzinfo=UTC))


def page_texts(pdf: bytes) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout
    pages = text.decode("utf-8").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def render(ctx: dict, rows_per_part: int) -> tuple[list[PartSpec], list[bytes], bytes]:
    specs = plan_pdf_parts(ctx["summary"], rows_per_part, context=ctx)
    parts = [render_pdf_part(ctx, s) for s in specs]
    out = io.BytesIO()
    write_merged_pdf(parts, out, footer="Footer")
    return specs, parts, out.getvalue()


def assert_fair_share(pdf: bytes) -> list[int]:
    counts = [len("".join(p.split())) for p in page_texts(pdf)]
    median = statistics.median(counts)
    low = [(number, c) for number, c in enumerate(counts[:-1], start=1) if c < FAIR_SHARE * median]
    assert not low, f"pages under {FAIR_SHARE:.0%} of the median ({median}): {low}"
    return counts


def pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(scope="module")
def detailed() -> tuple[dict, list[PartSpec], list[bytes], bytes]:
    ctx = context_for(tenant(3000), ReportType.DETAILED)
    return ctx, *render(ctx, 1000)


def test_every_page_but_the_last_has_a_fair_share_across_part_boundaries(detailed):
    ctx, specs, parts, pdf = detailed
    assert ctx["summary"].row_count == 3000 and len(specs) >= 4  # the summary and 3+ detail parts
    counts = assert_fair_share(pdf)
    assert len(counts) == sum(pages(p) for p in parts)


def test_each_part_renders_the_pages_its_plan_says(detailed):
    ctx, specs, parts, _ = detailed
    for spec, part in zip(specs[1:], parts[1:], strict=True):
        assert pages(part) == len(spec.breaks) + 1, spec.index
    # the summary part ends with the detail rows that fit below it, on no page of their own
    summary_only = render_pdf_part(
        ctx, PartSpec(index=0, kind="summary", total_rows=ctx["summary"].row_count)
    )
    assert pages(parts[0]) == pages(summary_only)


def test_a_group_cut_by_a_page_break_starts_the_next_page_again_continued(detailed):
    ctx, specs, parts, _ = detailed
    continued = 0
    for part in parts[1:]:
        for text in page_texts(part):
            first = text.strip().splitlines()[0]
            assert re.match(r"(Recommendations and affected resources|\d+\. )", first), first
            if first.endswith("(continued)"):
                continued += 1
                number = first.split(".")[0]
                assert f"{number}. {ctx['groups'][int(number) - 1].problem[:30]}" in " ".join(first.split())
    assert continued > 10


def test_the_detail_tables_are_set_at_8_5_points_or_more(detailed):
    _, _, parts, _ = detailed
    reader = PdfReader(io.BytesIO(parts[1]))
    sizes: set[float] = set()

    def visit(text: str, cm: object, tm: object, font: object, size: float) -> None:
        if text.strip():
            sizes.add(round(size, 2))

    for page in reader.pages[:5]:
        page.extract_text(visitor_text=visit)
    assert sizes and min(sizes) >= 8.5, sorted(sizes)


def link_uris(pdf: bytes) -> list[str]:
    """The link annotations' URLs in order; a link wrapped onto two lines (two annotations,
    one per line) counted once."""
    out: list[str] = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for a in page.get("/Annots", []):
            if "/A" in a.get_object():
                uri = str(a.get_object()["/A"]["/URI"])
                if not out or out[-1] != uri:
                    out.append(uri)
    return out


def test_the_detailed_pdf_prints_every_resource_id_with_its_portal_link(detailed):
    ctx, specs, parts, _ = detailed
    spec = specs[1]
    rows = [r for gi, first, end in spec.groups for r in ctx["groups"][gi].rows[first:end]]
    links = [u for u in link_uris(parts[1]) if "portal.azure.com" in u]
    assert links == [portal_url(r.resource_id) for r in rows]  # one per row, in order
    assert all(u.startswith("https://portal.azure.com/#@/resource/subscriptions/") for u in links)
    printed = "".join("".join(page_texts(parts[1])).split())
    assert all(r.resource_id in printed for r in rows)  # wrapped, but every character printed


def test_an_id_that_is_not_an_arm_id_is_printed_without_a_link():
    recs = tenant(6)
    recs[0] = dataclasses.replace(recs[0], resource_id='javascript:alert("x")//-_/.:x')
    recs[1] = dataclasses.replace(recs[1], resource_id="")  # a portal CSV row has none
    ctx = context_for(recs, ReportType.DETAILED)
    _, parts, pdf = render(ctx, 1000)
    links = [u for u in link_uris(pdf) if "aka.ms" not in u]
    rows = [r for g in ctx["groups"] for r in g.rows]
    assert sorted(links) == sorted(portal_url(r.resource_id) for r in rows if portal_url(r.resource_id))
    assert len(links) in (4, 5) and all(u.startswith("https://portal.azure.com/") for u in links)
    assert 'javascript:alert("x")' in "".join(page_texts(pdf))


def test_only_the_detailed_pdf_prints_resource_ids():
    ctx = context_for(tenant(40), ReportType.COST)
    _, _, pdf = render(ctx, 1000)
    assert not [u for u in link_uris(pdf) if "portal.azure.com" in u]
    assert "/subscriptions/" not in "".join(page_texts(pdf))


def printed_sizes(pdf: bytes) -> dict[float, str]:
    """Every text's size as printed (its font size scaled by the text and graphics matrices: a
    chart scaled down prints its labels smaller), with a sample of the text at that size."""
    sizes: dict[float, str] = {}

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            sizes.setdefault(round(size * abs(tm[3] or 1) * abs(cm[3] or 1), 2), text.strip()[:40])

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    return sizes


@pytest.mark.parametrize("report_type", list(ReportType))
def test_every_text_of_the_summaries_prints_at_8_5_points_or_more(report_type):
    # Small labels (cards, notes, ids) and the charts' labels (an image scaled to its box) too.
    subs = {f"{i:08x}-1bf0-4dda-aec3-{i:012x}": f"Subscription {i}" for i in range(12)}
    meta = ReportMeta(report_type=report_type, customer="Contoso", subscriptions=subs)
    recs = [r for r in tenant(80) if report_type.categories is None or r.category in report_type.categories]
    ctx = build_report_context(meta, summarize(recs), datetime(2026, 12, 2, tzinfo=UTC))
    assert ctx["scope_appendix"]  # the appendix's ids too
    summary_only = PartSpec(index=0, kind="summary", total_rows=ctx["summary"].row_count)
    sizes = printed_sizes(render_pdf_part(ctx, summary_only))
    assert min(sizes) >= 8.5, {s: t for s, t in sizes.items() if s < 8.5}


def test_the_cost_report_with_two_line_rows_fills_its_pages_too():
    ctx = context_for(tenant(900, seed=5), ReportType.COST)
    specs, parts, pdf = render(ctx, 60)
    assert len(specs) >= 3
    assert_fair_share(pdf)
    for spec, part in zip(specs[1:], parts[1:], strict=True):
        assert pages(part) == len(spec.breaks) + 1


def test_a_plan_without_the_context_still_covers_every_row_once():
    ctx = context_for(tenant(50), ReportType.DETAILED)
    specs = plan_pdf_parts(ctx["summary"], 20)
    assert [(s.start, s.stop) for s in specs[1:]] == [(0, 20), (20, 40), (40, 50)]
    assert all(not s.breaks for s in specs)


@pytest.mark.parametrize(
    ("text", "width_mm"),
    [
        ("vm-payments-shared-00090-payments-api-payments-batch-reporting-westeurope", 40),
        ("0b1f6471-1bf0-4dda-aec3-cb9272f09590", 24),
        ("/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-prod/providers/x/vm", 50),
    ],
)
def test_long_names_and_ids_break_after_separators_only(text, width_mm):
    width = width_mm * pdf_layout.MM
    shown = pdf_layout.breakable(text, width)
    assert shown.replace(" ", "") == text
    pieces = shown.split(" ")
    assert len(pieces) > 1
    assert all(p[-1] in "-_/.:" for p in pieces[:-1])  # every break follows a separator
    assert all(typeface_module.text_width(p, pdf_layout.FONT_SIZE) <= width for p in pieces)


def test_words_that_fit_are_left_alone():
    assert pdf_layout.breakable("Contoso Production", 30 * pdf_layout.MM) == "Contoso Production"
    assert pdf_layout.breakable("a vm-0001", 30 * pdf_layout.MM) == "a vm-0001"


def many_types(n: int) -> list[Recommendation]:
    """``n`` recommendation types of three resources each: a summary with long tables."""
    recs = tenant(3 * n, seed=3)
    return [
        dataclasses.replace(r, recommendation_type_id=f"type-{i % n}", problem=f"Problem number {i % n} " * 3)
        for i, r in enumerate(recs)
    ]


def test_summary_tables_split_under_their_heading_and_repeat_it_continued():
    ctx = context_for(many_types(120), ReportType.DETAILED)
    specs, parts, pdf = render(ctx, 1000)
    assert_fair_share(pdf)  # a heading never drags its long table to the next page
    summary_pages = page_texts(parts[0])
    assert len(summary_pages) >= 3
    repeated = [
        line.strip()
        for text in summary_pages[1:]
        for line in text.splitlines()[:3]
        if line.strip().endswith("(continued)") and not re.match(r"\s*\d+\. ", line)
    ]
    assert repeated, "no section heading repeated on the summary's later pages"
    assert all(r.count("(continued)") == 1 for r in repeated)


def test_the_space_below_the_summary_is_measured_without_the_scope_appendix():
    # Many subscriptions: the last part carries the subscriptions appendix. The first detail
    # rows go below the summary's own last page, as measured on the summary alone, never on
    # the appendix a render of the summary as the last part would add.
    subs = {f"{i:08x}-1bf0-4dda-aec3-{i:012x}": f"Subscription {i}" for i in range(60)}
    recs = [
        dataclasses.replace(r, subscription_id=sub, subscription_name=subs[sub])
        for r, sub in zip(tenant(120), list(subs) * 2, strict=True)
    ]
    meta = ReportMeta(report_type=ReportType.DETAILED, customer="Contoso", subscriptions=subs)
    ctx = build_report_context(meta, summarize(recs), datetime(2026, 12, 2, tzinfo=UTC))
    assert ctx["scope_appendix"]
    summary_only = PartSpec(index=0, kind="summary", total_rows=120)
    with_appendix = render_pdf_part(ctx, summary_only)  # a one-part plan: the appendix follows
    alone = pdf_module._render_part(ctx, summary_only)
    assert pages(with_appendix) > pages(alone)
    _, end = pdf_module._summary_end(alone)
    assert pdf_module._space_after_summary(ctx) == max(end - pdf_module._BOTTOM_MARGIN, 0.0)


def scoped_context(recs: list[Recommendation], report_type: ReportType, subscriptions: int) -> dict:
    """``recs`` spread over ``subscriptions`` subscriptions: more than the body lists, so the
    report ends with the subscriptions appendix."""
    subs = {f"{i:08x}-1bf0-4dda-aec3-{i:012x}": f"Subscription {i} – Łódź 日本" for i in range(subscriptions)}
    ids = list(subs)
    recs = [
        dataclasses.replace(r, subscription_id=ids[i % len(ids)], subscription_name=subs[ids[i % len(ids)]])
        for i, r in enumerate(recs)
        if report_type.categories is None or r.category in report_type.categories
    ]
    meta = ReportMeta(report_type=report_type, customer="Contoso", subscriptions=subs)
    return build_report_context(meta, summarize(recs), datetime(2026, 12, 2, tzinfo=UTC))


@pytest.mark.parametrize(
    ("report_type", "rows", "subscriptions"),
    [
        (ReportType.DETAILED, 200, 60),
        (ReportType.DETAILED, 230, 12),
        (ReportType.COST, 400, 40),
        (ReportType.OPERATIONS, 150, 500),
        (ReportType.SECURITY, 30, 30),  # every row below the summary: the appendix follows it
    ],
)
def test_the_appendix_flows_on_after_the_last_rows_so_every_page_has_a_fair_share(
    report_type, rows, subscriptions
):
    ctx = scoped_context(tenant(rows, seed=rows), report_type, subscriptions)
    assert ctx["scope_appendix"]
    specs, parts, pdf = render(ctx, 40)
    counts = assert_fair_share(pdf)
    assert len(counts) == sum(pages(p) for p in parts)
    texts = page_texts(pdf)
    starts = [n for n, t in enumerate(texts) if "Appendix: the" in t]
    assert len(starts) == 1  # once, in the last part
    appendix = " ".join(" ".join(texts[starts[0] :]).split())
    assert all(sub in appendix for sub in ctx["sub_names"])
    assert all(f"Subscription {i} – Łódź 日本" in appendix for i in range(subscriptions))


def test_a_heading_never_ends_a_page_without_a_row_of_its_table() -> None:
    """keep-with-next (the headings) keeps a heading with at least one body row of the table
    after it: with every amount of text before it, the page that shows the heading also shows
    the table's first row. (The executive's "Top risks" once sat alone at the foot of page 1.)"""
    import subprocess

    from shared.rendering.pdf import html_to_pdf

    rows = "".join(f"<tr><td>risk-{i}</td><td>High</td></tr>" for i in range(40))
    for filler in range(44, 60):
        lines = "".join(f"<p>Line {n} of the text before the heading.</p>" for n in range(filler))
        html = (
            "<html><head><style>h2 { font-size: 13pt; margin: 14pt 0 5pt 0; -pdf-keep-with-next: true; "
            "-pdf-outline: true; } p { margin: 0 0 3pt 0; }</style></head><body>"
            f"{lines}<h2>Top risks</h2><table><tr><th>Risk</th><th>Impact</th></tr>{rows}</table>"
            "</body></html>"
        )
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=html_to_pdf(html), capture_output=True, check=True
        ).stdout.decode()
        page = next(p for p in text.split("\f") if "Top risks" in p)
        assert "risk-0" in page, f"with {filler} lines before it the heading ends its page alone"
