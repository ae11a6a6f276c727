"""Unit tests for shared.rendering.charts: SVG that is well-formed whatever the labels, capped,
deterministic, and drawn as vectors with readable text in the PDF."""

from __future__ import annotations

import base64
import io
import subprocess
import xml.etree.ElementTree as ET

import pytest
from pypdf import PdfReader

from shared.rendering import charts
from shared.rendering.pdf import _link_callback, html_to_pdf

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "a & b ]]> <!-- --> \x00\x07\x1b\ud800 end",
    "&amp; &#x3C; literally",
]


def parse(svg: str) -> ET.Element:
    """Our own charts' markup (no DTD, no entities declared), parsed to check its structure."""
    return ET.fromstring(svg)  # noqa: S314 - markup this module just generated, no DTD


def texts(svg: str) -> list[str]:
    """Every line of text a reader of the SVG sees (a <text> and its tspans joined)."""
    root = parse(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("target", ["html", "pdf"])
def test_hostile_labels_are_text_not_markup(target):
    svg = charts.bar_chart([(label, 1) for label in HOSTILE], target=target, width=900)
    root = parse(svg)  # well-formed XML despite NUL, ESC, lone surrogates and ]]>
    tags = {el.tag.removeprefix(SVG) for el in root.iter()}
    assert tags <= {"svg", "title", "text", "tspan", "rect"}, tags
    assert "<script" not in svg and "<img" not in svg and "&lt;script&gt;" in svg
    shown = texts(svg)
    assert shown[0] == HOSTILE[0]
    assert shown[2] == HOSTILE[1]
    assert shown[4] == "a & b ]]> <!-- --> end"
    assert shown[6] == HOSTILE[3]  # entities in the data are shown as typed, not decoded


def test_stacked_bar_series_names_and_row_labels_are_escaped():
    svg = charts.stacked_bars([(HOSTILE[0], [1, 2])], [HOSTILE[1], "Low"], title=HOSTILE[0])
    root = parse(svg)
    assert {el.tag.removeprefix(SVG) for el in root.iter()} <= {"svg", "title", "text", "tspan", "rect"}
    assert HOSTILE[1] in texts(svg)
    assert root.get("aria-label") == HOSTILE[0]


@pytest.mark.parametrize("target", ["html", "pdf"])
def test_empty_data_says_so(target):
    for svg in (
        charts.bar_chart([], target=target, empty_text="No savings"),
        charts.stacked_bars([], ["High", "Low"], target=target, empty_text="No savings"),
    ):
        assert texts(svg) == ["No savings"]
        assert charts.svg_size(svg)[1] > 0


def test_many_items_are_capped_with_a_bucket_summing_the_rest():
    items = [(f"subscription {i:02d}", 100 - i) for i in range(40)]
    svg = charts.bar_chart(items, max_items=8, unit="EUR")
    shown = texts(svg)
    labels, values = shown[0::2], shown[1::2]
    assert labels[:7] == [f"subscription {i:02d}" for i in range(7)]
    assert labels[7] == "33 more"
    assert values[7] == f"{sum(100 - i for i in range(7, 40)):,} EUR"
    assert len(labels) == 8
    rows = [(f"c{i}", [1, 2, 3]) for i in range(12)]
    stacked = texts(charts.stacked_bars(rows, ["High", "Medium", "Low"], max_items=5))
    assert "8 more" in stacked
    assert "48" in stacked  # 8 rows x (1 + 2 + 3) on the bucket's total


def test_every_bar_shows_its_value_and_long_labels_are_cut_to_fit():
    svg = charts.bar_chart([("x" * 300, 1234.5), ("short", 2)], unit="USD", width=300)
    shown = texts(svg)
    assert shown[1] == "1,234.50 USD" and shown[3] == "2 USD"
    assert shown[0].endswith("\u2026") and len(shown[0]) < 300
    assert charts.svg_size(svg) == (300.0, 2 * charts.ROW_HEIGHT)


def test_output_is_deterministic_and_self_contained():
    items = [("a", 1), ("b", 2.5)]
    one = charts.bar_chart(items, target="pdf")
    assert one == charts.bar_chart(items, target="pdf")
    for svg in (one, charts.bar_chart(items), charts.stacked_bars([("a", [1, 2])], ["x", "y"])):
        assert "href" not in svg and "url(" not in svg and "<script" not in svg and "<image" not in svg


def test_text_is_at_least_eight_and_a_half_points():
    svg = charts.stacked_bars([("Security", [3, 10, 2])], ["High", "Medium", "Low"], target="pdf")
    sizes = {float(t.get("font-size", "0")) for t in parse(svg).iter(f"{SVG}text")}
    assert sizes and min(sizes) >= 8.5


def test_mixed_scripts_are_cut_into_runs_for_the_pdf():
    svg = charts.bar_chart([("Prod 日本語の顧客", 1)], target="pdf")
    spans = list(parse(svg).iter(f"{SVG}tspan"))
    assert [(s.text, s.get("font-family")) for s in spans[:2]] == [
        ("Prod ", "ReportSans"),
        ("日本語の顧客", "ReportCJK"),
    ]
    assert float(spans[1].get("x", "0")) > float(spans[0].get("x", "0"))


def test_the_svg_data_uri_passes_the_link_callback_and_round_trips():
    svg = charts.bar_chart([("a", 1)], target="pdf")
    uri = charts.svg_data_uri(svg)
    assert _link_callback(uri, None) == uri
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == svg
    assert _link_callback("data:image/svg+xml,<svg/>", None) == "data:,"  # only our base64 form


def test_chart_is_drawn_in_the_pdf_as_vectors_with_its_labels_as_text():
    bars = charts.bar_chart(
        [("Zakłady Łódź", 6025.5), ("日本語の顧客", 858), ("Кириллица", 12)], unit="EUR", target="pdf"
    )
    stacked = charts.stacked_bars(
        [("Security", [3, 10, 2]), ("Reliability", [0, 5, 40])], ["High", "Medium", "Low"], target="pdf"
    )
    html = (
        "<html><head><style>body { font-family: ReportSans, ReportCJK; }</style></head><body>"
        f"<p>{charts.pdf_image(bars)}</p><p>{charts.pdf_image(stacked)}</p></body></html>"
    )
    pdf = html_to_pdf(html)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    for label in (
        "Zakłady Łódź",
        "日本語の顧客",
        "Кириллица",
        "6,025.50 EUR",
        "858 EUR",
        "Reliability",
        "45",
        "Medium",
    ):
        assert label in text, label
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    contents = page.get_contents()
    assert contents is not None
    assert contents.get_data().count(b" re") >= 10  # the bars: rectangles drawn as vectors
    resources = page["/Resources"].get_object()
    assert not resources.get("/XObject")  # no raster image
