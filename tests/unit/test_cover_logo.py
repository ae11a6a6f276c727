"""The customer's logo on the report cover: sized within the cover's box, inline in the HTML,
drawn in the PDF, and anything that is not a readable PNG, JPEG or SVG left out."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pypdf import PdfReader

from shared.models import ReportType
from shared.rendering import plan_pdf_parts, render_html, render_pdf_part
from shared.rendering.logo import MAX_HEIGHT, MAX_WIDTH, cover_logo

from .test_rendering import _ResourceAudit, context_for

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="60">'
    b'<rect width="300" height="60" fill="#0b3d66"/></svg>'
)


def image(kind: str, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=kind)
    return out.getvalue()


@pytest.fixture(scope="module")
def recs():
    from .test_rendering import make_rec

    return [make_rec(i, "cost") for i in range(3)]


@pytest.mark.parametrize(
    ("data", "kind", "size"),
    [
        (image("PNG", (240, 80)), "image/png", (120.0, 40.0)),  # height-bound
        (image("JPEG", (800, 40)), "image/jpeg", (160.0, 8.0)),  # width-bound
        (image("PNG", (20, 10)), "image/png", (80.0, 40.0)),  # small ones grow to the box
        (SVG, "image/svg+xml", (160.0, 32.0)),
    ],
)
def test_logos_keep_their_proportions_within_the_box(data: bytes, kind: str, size: tuple) -> None:
    logo = cover_logo(data, kind)
    assert logo is not None and (logo.width, logo.height) == size
    assert logo.width <= MAX_WIDTH and logo.height <= MAX_HEIGHT
    assert logo.uri.startswith(f"data:{kind};base64,")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png"),  # a PNG signature and nothing behind it
        (b"<svg", "image/svg+xml"),
        (image("PNG", (10, 10)), "image/gif"),
        (b"", "image/png"),
    ],
)
def test_a_logo_that_cannot_be_read_is_left_out(data: bytes, kind: str) -> None:
    assert cover_logo(data, kind) is None


def test_the_html_cover_carries_the_logo_inline_and_nothing_else(recs) -> None:
    logo = cover_logo(image("PNG", (240, 80)), "image/png")
    html = render_html(context_for(recs, ReportType.COST, logo=logo))
    audit = _ResourceAudit()
    audit.feed(html)
    assert audit.tags.count("img") == 1
    [src] = audit.src
    assert "data:image/png;base64," in src and "http" not in src
    assert 'width="120.0" height="40.0"' in html


def test_the_pdf_cover_draws_the_logo(recs) -> None:
    for data, kind in ((image("PNG", (240, 80)), "image/png"), (SVG, "image/svg+xml")):
        context = context_for(recs, ReportType.COST, logo=cover_logo(data, kind))
        [summary] = [p for p in plan_pdf_parts(context["summary"]) if p.kind == "summary"]
        page = PdfReader(io.BytesIO(render_pdf_part(context, summary))).pages[0]
        drawn = page.images if kind == "image/png" else []
        if kind == "image/png":
            assert [(i.image.width, i.image.height) for i in drawn] == [(240, 80)]
        else:  # svglib draws an SVG as vector paths: the cover's content stream grows by them
            bare = context_for(recs, ReportType.COST)
            bare_page = PdfReader(io.BytesIO(render_pdf_part(bare, summary))).pages[0]
            assert len(page.get_contents().get_data()) > len(bare_page.get_contents().get_data())


def test_the_provider_is_named_with_its_logo_on_both_covers(recs) -> None:
    provider_logo = cover_logo(SVG, "image/svg+xml", max_height=20)
    assert provider_logo is not None and provider_logo.height == 20.0
    context = context_for(
        recs, ReportType.COST, provider="Fabrikam <Cloud> Services", provider_logo=provider_logo
    )
    html = render_html(context)
    assert "<dt>Prepared by</dt>" in html and "Fabrikam &lt;Cloud&gt; Services" in html
    assert html.count("<img") == 1 and 'class="provider-logo" src="data:image/svg+xml;base64,' in html
    [summary] = [p for p in plan_pdf_parts(context["summary"]) if p.kind == "summary"]
    text = PdfReader(io.BytesIO(render_pdf_part(context, summary))).pages[0].extract_text()
    assert "PREPARED BY" in text and "Fabrikam <Cloud> Services" in text
    bare = render_html(context_for(recs, ReportType.COST))
    assert "Prepared by" not in bare  # no provider configured: no empty line on the cover
