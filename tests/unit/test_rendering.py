"""Unit tests for shared.rendering: context, HTML (escaping, no external resources, report types)
and PDF (part planning, rendering, merging, no remote fetches)."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from pypdf import PdfReader
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import PERMISSIVE_POLICY

from shared.models import Recommendation, ReportFilters, ReportType
from shared.rendering import (
    PartSpec,
    ReportMeta,
    build_report_context,
    plan_pdf_parts,
    render_html,
    render_pdf_part,
    shows_resources,
    write_merged_pdf,
)
from shared.rendering import pdf as pdf_module
from shared.rendering.environment import (
    content_security_policy,
    get_environment,
    is_https_url,
    report_csp,
    table_tools_scripts,
)
from shared.summary import ReportSummary, summarize

SUB_PROD = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
SUB_DEV = "3c5e2f3a-8b7d-4f1e-9a6c-2d4b8e7f1a90"
SUBS = {SUB_PROD: "Contoso Production", SUB_DEV: "Contoso Dev/Test"}
GENERATED = datetime(2031, 1, 2, 9, 45, tzinfo=UTC)
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'
# Advisor's text is reduced to plain text (tags dropped, entities unescaped: shared.text), so
# hostile text reaches the templates through entities and must come out escaped again.
XSS_SCRIPT_TEXT = "&lt;script&gt;alert(1)&lt;/script&gt;"
XSS_IMG_TEXT = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"

TYPES = {
    # key: (category, impact, problem)
    "rel": ("reliability", "high", "Enable Backups on your virtual machines"),
    "sec": ("security", "high", f"Storage accounts should restrict network access {XSS_SCRIPT_TEXT}"),
    "perf": ("performance", "medium", "Use Premium SSD managed disks"),
    "cost": ("cost", "high", "Right-size or shutdown underutilized virtual machines"),
    "ops": ("operational_excellence", "low", f"Create a service health alert {XSS_IMG_TEXT}"),
}


def make_rec(i: int, kind: str, **kw) -> Recommendation:
    category, impact, problem = TYPES[kind]
    sub = SUB_PROD if i % 2 else SUB_DEV
    name = kw.pop("resource_name", f"{kind}-resource-{i:03d}")
    base = dict(
        recommendation_id=f"/subscriptions/{sub}/resourceGroups/rg-{kind}/providers/x/{name}/providers/"
        f"Microsoft.Advisor/recommendations/{kind}-{i}",
        subscription_id=sub,
        category=category,
        impact=impact,
        recommendation_type_id=f"type-{kind}",
        problem=problem,
        solution=f"Fix the {kind} problem",
        resource_id=f"/subscriptions/{sub}/resourceGroups/rg-{kind}/providers/x/{name}",
        resource_name=name,
        resource_group=f"rg-{kind}",
        last_updated=datetime(2025, 3, 14, 6, 0, tzinfo=UTC),
        learn_more_link="https://learn.microsoft.com/azure/advisor/",
    )
    base.update(kw)
    return Recommendation(**base)


@pytest.fixture(scope="module")
def recs() -> list[Recommendation]:
    out: list[Recommendation] = []
    for i in range(6):
        out.append(make_rec(i, "rel"))
        out.append(make_rec(i, "sec"))
        out.append(make_rec(i, "perf", learn_more_link="javascript:alert(1)"))
        out.append(make_rec(i, "ops"))
    for i in range(8):
        out.append(
            make_rec(
                i,
                "cost",
                monthly_savings=Decimal("100.25") * (i + 1),
                annual_savings=Decimal("100.25") * (i + 1) * 12,
                savings_currency="EUR" if i < 6 else "USD",
                extended_properties={"currentSku": "Standard_D8s_v5", "targetSku": "Standard_D4s_v5"},
            )
        )
    out.append(make_rec(99, "cost", monthly_savings=Decimal("42"), annual_savings=Decimal("504")))
    out.append(
        make_rec(100, "rel", resource_name='evil"><img src="http://203.0.113.9/x.png">', resource_group="")
    )
    return out


def context_for(recs, report_type: ReportType, **meta_kw) -> dict:
    filters = meta_kw.pop("filters", ReportFilters())
    meta = ReportMeta(
        report_type=report_type,
        customer=meta_kw.pop("customer", "Contoso <Ltd>"),
        subscriptions=dict(SUBS),
        requested_at=datetime(2031, 1, 2, 9, 0, tzinfo=UTC),
        **meta_kw,
    )
    summary = summarize(recs, filters=filters.for_report_type(report_type))
    return build_report_context(meta, summary, GENERATED)


@pytest.fixture(scope="module")
def detailed_html(recs) -> str:
    return render_html(context_for(recs, ReportType.DETAILED))


# --- environment and context ---------------------------------------------------------------


def test_environment_is_built_once_autoescapes_and_is_strict():
    env = get_environment()
    assert get_environment() is env
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ missing }}").render()


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://learn.microsoft.com/azure/advisor/", True),
        ("http://learn.microsoft.com/", False),
        ("javascript:alert(1)", False),
        ("https://", False),
        ('https://x.example/"onmouseover="alert(1)', False),
        ("https://x.example/a b", False),
        (None, False),
    ],
)
def test_only_https_urls_become_links(url, ok):
    assert is_https_url(url) is ok


def test_context_uses_the_generation_time_passed_in(recs):
    ctx = context_for(recs, ReportType.DETAILED)
    assert ctx["report"]["generated_at"] == "02 January 2031, 09:45 UTC"
    assert ctx["report"]["generated_date"] == "2031-01-02"


def test_context_refuses_a_summary_made_for_another_report_type(recs):
    meta = ReportMeta(report_type=ReportType.SECURITY)
    with pytest.raises(ValueError, match="does not cover"):
        build_report_context(meta, summarize(recs), GENERATED)


def test_context_refuses_to_render_details_from_a_dict_summary(recs):
    light = ReportSummary.from_dict(summarize(recs).to_dict())
    with pytest.raises(ValueError, match="no resource rows"):
        build_report_context(ReportMeta(report_type=ReportType.DETAILED), light, GENERATED)
    # the executive report needs no rows
    ctx = build_report_context({"report_type": "executive"}, light, GENERATED)
    assert "Executive summary" in render_html(ctx)


# --- HTML -----------------------------------------------------------------------------------


def test_html_escapes_text_from_the_api(detailed_html):
    assert XSS_SCRIPT not in detailed_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detailed_html
    assert "<img" not in detailed_html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in detailed_html
    assert "Contoso &lt;Ltd&gt;" in detailed_html


def test_html_shows_potential_benefits_as_text_escaped():
    rec = make_rec(1, next(iter(TYPES)), potential_benefits="Saves <b>money</b> & time &lt;b&gt;")
    html = render_html(context_for([rec], ReportType.DETAILED))
    assert "Saves money &amp; time &lt;b&gt;" in html  # markup reduced to text, the text escaped
    assert "<b>money</b>" not in html


def test_html_learn_more_links_only_for_https(detailed_html):
    assert '<a href="https://learn.microsoft.com/azure/advisor/"' in detailed_html
    assert 'href="javascript:' not in detailed_html
    assert "Learn more: javascript:alert(1)" in detailed_html


class _ResourceAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.src: list[str] = []
        self.hrefs: list[str] = []
        self.styles: list[str] = []
        self.scripts: list[str] = []
        self.csp: list[str] = []
        self._in_style = False
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if "src" in attrs or "srcset" in attrs or "background" in attrs:
            self.src.append(f"{tag}:{attrs}")
        if "href" in attrs:
            self.hrefs.append(attrs["href"])
        if "style" in attrs:
            self.styles.append(attrs["style"] or "")
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp.append(attrs.get("content") or "")
        self._in_style = tag == "style"
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_style = self._in_script = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)
        if self._in_script:
            self.scripts[-1] += data


@pytest.mark.parametrize("report_type", list(ReportType))
def test_html_is_self_contained(recs, report_type):
    audit = _ResourceAudit()
    audit.feed(render_html(context_for(recs, report_type)))
    assert "style" in audit.tags and "table" in audit.tags  # the parser did see the document
    for tag in ("link", "img", "iframe", "object", "embed", "video", "audio", "source", "base"):
        assert tag not in audit.tags
    # one script, the table tools, which the page's policy allows by hash and nothing else
    assert audit.scripts == table_tools_scripts(get_environment())
    assert audit.csp == [report_csp()]
    assert audit.src == []
    css = " ".join(audit.styles).lower()
    assert "@import" not in css and "url(" not in css and "@font-face" not in css
    assert all(h.startswith(("https://", "#")) for h in audit.hrefs), audit.hrefs


def test_the_report_policy_allows_only_the_table_tools_script_and_fetches_nothing():
    scripts = table_tools_scripts(get_environment())
    assert len(scripts) == 1 and "data-table" in scripts[0]
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode("utf-8")).digest()).decode("ascii")
    policy = report_csp()
    assert f"script-src 'sha256-{digest}';" in policy
    assert policy.startswith("default-src 'none';") and "img-src data:;" in policy
    assert "unsafe-eval" not in policy and "http" not in policy
    assert "script-src 'none';" in content_security_policy([])
    # the script reads the page and rearranges rows: no code from strings, no markup from strings,
    # nothing fetched or stored
    for word in (
        "eval(",
        "Function(",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "fetch(",
        "XMLHttpRequest",
        "import(",
        "localStorage",
        'setTimeout("',
        "http",
    ):
        assert word not in scripts[0], word


def test_html_shows_what_every_report_shows(detailed_html):
    html = detailed_html
    assert "Azure Advisor detailed report for Contoso &lt;Ltd&gt;" in html  # title
    assert "Contoso Production" in html and SUB_DEV in html  # scope with display names and ids
    assert "02 January 2031, 09:45 UTC" in html  # generated date, as passed in
    assert "None: all recommendations in scope" in html  # filters applied
    assert "By category" in html and "By impact" in html
    assert "EUR 2,105.25" in html and "USD 1,503.75" in html  # savings per currency, not summed
    savings_section = html.split("<h2>Potential savings</h2>")[1].split("</table>")[0]
    currency_rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\"[^>]*>", savings_section)
    assert currency_rows == ["EUR", "USD", "Unknown currency"]  # one row per currency, no grand total
    assert "1 recommendation states savings without a currency" in html
    assert "upper bound" in html
    assert "Top savings opportunities" in html
    assert "Subscription-level" in html
    assert "cost-resource-007" in html and "2025-03-14" in html
    assert html.count('class="group"') == 5


def test_html_report_types_include_only_their_categories(recs):
    cost_problem = TYPES["cost"][2]
    rel_problem = TYPES["rel"][2]
    sec_problem = "Storage accounts should restrict network access"

    security = render_html(context_for(recs, ReportType.SECURITY))
    assert sec_problem in security and cost_problem not in security and rel_problem not in security

    cost = render_html(context_for(recs, ReportType.COST))
    assert cost_problem in cost and sec_problem not in cost
    assert "Standard_D8s_v5 \u2192 Standard_D4s_v5" in cost  # the recommended change column

    ops = render_html(context_for(recs, ReportType.OPERATIONS))
    assert (
        rel_problem in ops
        and "Use Premium SSD managed disks" in ops
        and "Create a service health alert" in ops
    )
    assert sec_problem not in ops and cost_problem not in ops

    executive = render_html(context_for(recs, ReportType.EXECUTIVE))
    assert "Top risks" in executive and cost_problem in executive
    assert "rel-resource-003" not in executive  # no per-resource tables
    assert 'class="group"' not in executive


def test_html_filters_applied_are_listed(recs):
    ctx = context_for(
        recs, ReportType.DETAILED, filters=ReportFilters(impacts=("high",), resource_groups=("rg-a",))
    )
    html = render_html(ctx)
    assert "Impact: High" in html and "Resource groups: rg-a" in html


# --- PDF: planning ----------------------------------------------------------------------------


def _summary_with_groups(sizes: list[int]) -> ReportSummary:
    recs = []
    for gi, size in enumerate(sizes):
        for i in range(size):
            recs.append(
                make_rec(
                    i, "rel", recommendation_type_id=f"type-{gi}", impact=("high", "medium", "low")[gi % 3]
                )
            )
    return summarize(recs)


def test_plan_splits_groups_across_parts_at_rows_per_part():
    s = _summary_with_groups([5, 12, 3])
    sizes = {g.recommendation_type_id: g.count for g in s.groups}
    assert sorted(sizes.values()) == [3, 5, 12]
    specs = plan_pdf_parts(s, rows_per_part=7)
    assert [p.kind for p in specs] == ["summary", "detail", "detail", "detail"]
    details = specs[1:]
    assert [p.rows for p in details] == [7, 7, 6]
    assert [(p.start, p.stop) for p in details] == [(0, 7), (7, 14), (14, 20)]
    # every row of every group exactly once, in order
    covered = [(gi, r) for p in details for gi, a, b in p.groups for r in range(a, b)]
    assert covered == [(gi, r) for gi, g in enumerate(s.groups) for r in range(g.count)]
    assert any(a > 0 for p in details for _, a, _ in p.groups)  # a group continues in a later part
    assert all(p.part_count == 4 and p.total_rows == 20 for p in specs)


def test_plan_is_json_and_round_trips():
    specs = plan_pdf_parts(_summary_with_groups([4, 4]), rows_per_part=3)
    data = json.loads(json.dumps([p.to_dict() for p in specs]))
    assert [PartSpec.from_dict(d) for d in data] == specs


def test_plan_without_details_and_bad_sizes():
    s = _summary_with_groups([4])
    assert [p.kind for p in plan_pdf_parts(s, include_details=False)] == ["summary"]
    assert len(plan_pdf_parts(summarize([]))) == 1
    with pytest.raises(ValueError):
        plan_pdf_parts(s, rows_per_part=0)


def test_continued_groups_say_so_in_the_part_markup(recs):
    ctx = context_for(recs, ReportType.DETAILED)
    specs = plan_pdf_parts(ctx["summary"], rows_per_part=4)
    continued = [p for p in specs[1:] if any(a > 0 for _, a, _ in p.groups) and p.groups[0][1] > 0]
    assert continued
    tables = pdf_module.detail_tables(ctx, continued[0])
    assert tables[0].continued and tables[0].heading.title.endswith("(continued)")
    assert "(continued)" in pdf_text(render_pdf_part(ctx, continued[0]))


def test_part_rendering_refuses_a_plan_for_other_data(recs):
    ctx = context_for(recs, ReportType.DETAILED)
    other = plan_pdf_parts(_summary_with_groups([3]), rows_per_part=10)[1]
    with pytest.raises(ValueError, match="same data"):
        render_pdf_part(ctx, other)


# --- PDF: rendering ---------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def merged(parts: list[bytes], **kw) -> bytes:
    out = io.BytesIO()
    write_merged_pdf(parts, out, **kw)
    return out.getvalue()


def whole_pdf(ctx: dict, rows_per_part: int = 1000) -> bytes:
    """The PDF as the pipeline makes it: planned once, rendered part by part, merged."""
    report_type = ReportType(ctx["report"]["type"])
    specs = plan_pdf_parts(
        ctx["summary"], rows_per_part, include_details=shows_resources(report_type), context=ctx
    )
    return merged([render_pdf_part(ctx, spec) for spec in specs], title=ctx["report"]["title"])


@pytest.fixture(scope="module")
def detailed_parts(recs) -> tuple[dict, list[bytes]]:
    ctx = context_for(recs, ReportType.DETAILED)
    specs = plan_pdf_parts(ctx["summary"], rows_per_part=20)
    return ctx, [render_pdf_part(ctx, spec) for spec in specs]


def test_pdf_contains_title_resources_and_currency_totals(detailed_parts):
    ctx, parts = detailed_parts
    whole = merged(parts, footer=pdf_module.footer_text(ctx["report"]["title"], GENERATED))
    text = pdf_text(whole)
    assert "Azure Advisor detailed report for Contoso <Ltd>" in text
    assert "cost-resource-007" in text and "rel-resource-005" in text
    assert "EUR 2,105.25" in text and "USD 1,503.75" in text
    assert "<script>alert(1)</script>" in text  # printed as text, not interpreted
    assert f"Page 1 of {len(PdfReader(io.BytesIO(whole)).pages)}" in text


def test_merged_page_count_is_the_sum_of_the_parts(detailed_parts):
    _, parts = detailed_parts
    assert len(parts) >= 3
    counts = [len(PdfReader(io.BytesIO(p)).pages) for p in parts]
    whole = PdfReader(io.BytesIO(merged(parts)))
    assert len(whole.pages) == sum(counts)


EXPECTED_PROBLEMS = {
    ReportType.DETAILED: {"rel", "sec", "perf", "cost", "ops"},
    ReportType.EXECUTIVE: {"rel", "sec", "perf", "cost", "ops"},  # top actions (cost) and top risks
    ReportType.COST: {"cost"},
    ReportType.SECURITY: {"sec"},
    ReportType.OPERATIONS: {"rel", "perf", "ops"},
}


DETAIL_HEADINGS = {
    ReportType.DETAILED: "Recommendations and affected resources",
    ReportType.COST: "What to buy and what to change",
    ReportType.SECURITY: "Findings and the resources they affect",
    ReportType.OPERATIONS: "Findings by workload area",
}


@pytest.mark.parametrize("report_type", list(ReportType))
def test_render_pdf_by_report_type(recs, report_type):
    ctx = context_for(recs, report_type)
    data = whole_pdf(ctx)
    assert data.startswith(b"%PDF")
    text = " ".join(pdf_text(data).split())  # wrapped lines joined
    assert ctx["report"]["title"] in text  # "Contoso <Ltd>": escaped in markup, plain in the PDF
    for kind, (_, _, problem) in TYPES.items():
        short = problem.split(" <")[0].split(' "')[0][:30]
        assert (short in text) is (kind in EXPECTED_PROBLEMS[report_type]), (kind, short)
    if report_type is ReportType.EXECUTIVE:
        assert "rel-resource-003" not in text and "Top risks" in text
    else:
        assert DETAIL_HEADINGS[report_type] in text
    if report_type is ReportType.COST:
        assert "cost-resource-003" in text  # the change may wrap within its cell:
        assert "Standard_D8s_v5 to" in text and "Standard_D4s_v5" in text


def test_report_meta_from_a_json_dict(recs):
    meta = ReportMeta.coerce(
        {
            "reportType": "cost",
            "customer": "Fabrikam",
            "subscriptions": {SUB_PROD: "Prod"},
            "requestedAt": "2031-01-02T08:00:00Z",
        }
    )
    assert meta.report_type is ReportType.COST
    filters = ReportFilters(impacts=("high",)).for_report_type(meta.report_type)
    ctx = build_report_context(meta, summarize(recs, filters=filters), GENERATED)
    assert ctx["report"]["title"] == "Azure Advisor cost optimization report for Fabrikam"
    assert ctx["report"]["requested_at"] == "02 January 2031, 08:00 UTC"
    assert {"label": "Impact", "value": "High"} in ctx["filters"]


# --- PDF: no remote fetches ------------------------------------------------------------------


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def _hostile_markup(base: str) -> str:
    return (
        f'<html><head><link rel="stylesheet" href="{base}/link.css">'
        f"<style>@import url({base}/import.css); body {{ background-image: url({base}/bg.png) }}</style>"
        f'</head><body><p>x</p><img src="{base}/img.png"><img src="/etc/passwd"></body></html>'
    )


def test_the_recording_server_sees_fetches_when_nothing_stops_them(recording_server):
    base, hits = recording_server
    pisa.CreatePDF(_hostile_markup(base), dest=io.BytesIO(), resource_policy=PERMISSIVE_POLICY)
    assert hits  # so an empty list below means "not fetched", not "not detected"


def test_pdf_rendering_never_fetches_remote_or_local_resources(recording_server):
    base, hits = recording_server
    data = pdf_module.html_to_pdf(_hostile_markup(base))
    assert data.startswith(b"%PDF")
    assert hits == []


@pytest.mark.parametrize("layer", ["link_callback", "resource_policy"])
def test_each_layer_alone_blocks_the_fetch(recording_server, layer):
    base, hits = recording_server
    if layer == "link_callback":
        kw = {"link_callback": pdf_module._link_callback, "resource_policy": PERMISSIVE_POLICY}
    else:
        kw = {"resource_policy": pdf_module.RENDER_POLICY}
    pisa.CreatePDF(_hostile_markup(base), dest=io.BytesIO(), **kw)
    assert hits == []


def test_a_link_callback_returning_empty_would_not_block(recording_server):
    """Why ours answers with an inert data: URI: xhtml2pdf falls back to the URL on ''."""
    base, hits = recording_server
    pisa.CreatePDF(
        _hostile_markup(base),
        dest=io.BytesIO(),
        link_callback=lambda uri, rel: "",
        resource_policy=PERMISSIVE_POLICY,
    )
    assert hits


def test_markup_in_recommendation_fields_cannot_create_a_fetch(recording_server):
    base, hits = recording_server
    injected = f'<img src="{base}/field.png"><link rel="stylesheet" href="{base}/f.css">'
    recs = [
        make_rec(1, "rel", problem=f"Problem {injected}", solution=injected, resource_name=injected),
        make_rec(2, "rel", learn_more_link=f"{base}/learn", resource_group=injected),
    ]
    ctx = context_for(recs, ReportType.DETAILED)
    text = pdf_text(whole_pdf(ctx))
    assert hits == []
    assert f"{base}/field.png" in text.replace("\n", "")  # shown as text


def test_no_blank_pages_when_a_group_is_longer_than_a_page():
    recs = [make_rec(i, "rel") for i in range(150)]
    ctx = context_for(recs, ReportType.DETAILED)
    reader = PdfReader(io.BytesIO(whole_pdf(ctx, rows_per_part=120)))
    words = [len(page.extract_text().split()) for page in reader.pages]
    assert len(words) >= 4
    assert min(words) > 40, words  # a footer alone is about a dozen words


def test_rendering_restores_the_garbage_collector_threshold(monkeypatch):
    import gc

    before = gc.get_threshold()
    seen = []
    real = pisa.CreatePDF

    def spy(*args, **kwargs):
        seen.append(gc.get_threshold()[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(pdf_module.pisa, "CreatePDF", spy)
    pdf_module.html_to_pdf("<html><body><p>x</p></body></html>")
    assert seen[0] >= 100_000 and gc.get_threshold() == before

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pdf_module.pisa, "CreatePDF", broken)
    with pytest.raises(RuntimeError):
        pdf_module.html_to_pdf("<p>x</p>")
    assert gc.get_threshold() == before


# --- the customer's accent colour ------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("#C0FFEE", "#c0ffee"),
        ("", "#1d6fb8"),
        ("red; } body { display: none", "#1d6fb8"),  # it goes into CSS: nothing but #rrggbb passes
        ("#c0ffee</style><script>", "#1d6fb8"),
    ],
)
def test_the_cover_takes_the_customers_accent_colour(recs, given, shown):
    ctx = context_for(recs, ReportType.EXECUTIVE, accent_color=given)
    html = render_html(ctx)
    assert f"--accent: {shown};" in html
    assert "body { display: none" not in html and html.count("<script>") == 1  # the table tools only
    summary_part = plan_pdf_parts(ctx["summary"], rows_per_part=50)[0]
    markup = pdf_module.render_part_html(ctx, summary_part)
    assert f"border-left: 3pt solid {shown};" in markup and f".eyebrow {{ color: {shown};" in markup


_ABSOLUTE_SIZE = re.compile(r"font-size:\s*([0-9.]+)(px|pt)")


@pytest.mark.parametrize("report_type", list(ReportType))
def test_no_text_of_the_html_is_set_under_8_5_points(recs, report_type):
    # Every absolute font size of the page's styles (screen and print): 8.5 pt is 11.33 px.
    html = render_html(context_for(recs, report_type))
    styles = " ".join(re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S))
    styles += " ".join(re.findall(r'style="([^"]*)"', html))
    sizes = [
        (float(v) * (0.75 if unit == "px" else 1), f"{v}{unit}") for v, unit in _ABSOLUTE_SIZE.findall(styles)
    ]
    assert sizes
    assert not [shown for points, shown in sizes if points < 8.5 - 1e-9]
