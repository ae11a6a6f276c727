"""Any script in the PDF: the shipped fonts cover Latin, Greek, Cyrillic, Chinese, Japanese and
Korean; every report type's PDF embeds them (and only them); the names come back as text."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from shared.models import Recommendation, ReportType
from shared.rendering import (
    ReportMeta,
    build_report_context,
    plan_pdf_parts,
    render_pdf_part,
    typeface,
    write_merged_pdf,
)
from shared.rendering.context import shows_resources
from shared.summary import summarize

# What a customer, its subscriptions, resource groups and Advisor text may be written in.
SCRIPTS = ["Zakłady Łódź", "Čeština", "Ελληνικά", "Кириллица", "日本語の顧客", "中文", "한국어"]
CUSTOMER = "Zakłady Łódź 日本語の顧客"
SUBS = {
    "0b1f6471-1bf0-4dda-aec3-cb9272f09590": "Čeština produkce",
    "3c5e2f3a-8b7d-4f1e-9a6c-2d4b8e7f1a90": "Ελληνικά και Кириллица",
    "7d1c9a2e-4b3f-4e8a-9c1d-5f6e7a8b9c0d": "中文 订阅 한국어",
}
CATEGORIES = ["cost", "security", "reliability", "operational_excellence", "performance"]


def recommendations() -> list[Recommendation]:
    out = []
    for i, (sub, _) in enumerate(SUBS.items()):
        for j, category in enumerate(CATEGORIES):
            script = SCRIPTS[(i + j) % len(SCRIPTS)]
            name = f"vm-{script}-{i}{j}"
            savings = category == "cost"
            out.append(
                Recommendation(
                    recommendation_id=f"/subscriptions/{sub}/resourceGroups/rg/providers/x/{name}/rec/{i}{j}",
                    subscription_id=sub,
                    subscription_name=SUBS[sub],
                    category=category,
                    impact=["high", "medium", "low"][(i + j) % 3],
                    recommendation_type_id=f"type-{category}-{j}",
                    problem=f"{SCRIPTS[j]}: {category} problem",
                    solution=f"{SCRIPTS[(j + 1) % len(SCRIPTS)]} solution",
                    resource_id=f"/subscriptions/{sub}/resourceGroups/rg-{script}/providers/x/{name}",
                    resource_name=name,
                    resource_group=f"rg-{SCRIPTS[(i + j + 3) % len(SCRIPTS)]}",
                    last_updated=datetime(2026, 11, 30, tzinfo=UTC),
                    monthly_savings=Decimal(100 + i) if savings else None,
                    annual_savings=Decimal(1200 + 12 * i) if savings else None,
                    savings_currency="EUR" if savings else None,
                )
            )
    return out


def whole_pdf(report_type: ReportType) -> bytes:
    meta = ReportMeta(report_type=report_type, customer=CUSTOMER, subscriptions=dict(SUBS))
    recs = [
        r for r in recommendations() if report_type.categories is None or r.category in report_type.categories
    ]
    summary = summarize(recs)
    context = build_report_context(meta, summary, datetime(2026, 12, 2, tzinfo=UTC))
    specs = plan_pdf_parts(summary, 1000, include_details=shows_resources(report_type), context=context)
    out = io.BytesIO()
    write_merged_pdf([render_pdf_part(context, s) for s in specs], out, footer=f"{CUSTOMER} 中文 footer")
    return out.getvalue()


def run(*args: str, data: bytes) -> str:
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout.decode("utf-8")


@pytest.fixture(scope="module")
def pdfs() -> dict[ReportType, bytes]:
    return {t: whole_pdf(t) for t in ReportType}


def test_the_fonts_have_a_glyph_for_every_character_of_every_script():
    text = "".join(SCRIPTS) + "ąćęłńóśźżĄĆĘŁŃÓŚŹŻěščřžýáíéůúťďňĚŠČŘŽÝÁÍÉŮÚŤĎŇäöüßÄÖÜ€£¥—–…·•“”‘’"
    sans = TTFont(typeface.FONT_DIR / "DejaVuSans.ttf").getBestCmap()
    bold = TTFont(typeface.FONT_DIR / "DejaVuSans-Bold.ttf").getBestCmap()
    cjk = TTFont(typeface.FONT_DIR / "WenQuanYiMicroHei-CJK.ttf").getBestCmap()
    for char in set(text) - {" "}:
        assert ord(char) in sans or ord(char) in cjk, f"no glyph for {char!r}"
        assert ord(char) in bold or ord(char) in cjk, f"no bold glyph for {char!r}"
    assert all(0xAC00 + i in cjk for i in range(11172))  # every Hangul syllable
    assert typeface.missing_glyphs(text) == set()


def test_the_fonts_are_truetype_outlines_with_their_licences():
    for file in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "WenQuanYiMicroHei-CJK.ttf"):
        font = TTFont(typeface.FONT_DIR / file)
        assert "glyf" in font and "CFF " not in font, file  # reportlab reads TrueType outlines only
    names = {p.name for p in Path(typeface.FONT_DIR).iterdir()}
    assert {"LICENSE-DejaVu.txt", "LICENSE-Apache-2.0-WenQuanYi.txt", "NOTICE-WenQuanYi.txt"} <= names


@pytest.mark.parametrize("report_type", list(ReportType))
def test_every_report_type_embeds_its_fonts_and_no_other(pdfs, report_type):
    listing = run("pdffonts", "-", data=pdfs[report_type]).splitlines()[2:]
    assert listing, "no fonts at all"
    fonts = {}
    for line in listing:
        cols = line.split()
        fonts[cols[0]] = cols[-5]  # the 'emb' column
    assert all(emb == "yes" for emb in fonts.values()), listing
    families = {re.sub(r"^[A-Z]{6}\+", "", name) for name in fonts}
    assert families <= {"DejaVuSans", "DejaVuSans-Bold", "WenQuanYiMicroHei"}, families
    assert "WenQuanYiMicroHei" in families and "DejaVuSans" in families


@pytest.mark.parametrize("report_type", list(ReportType))
def test_every_script_comes_back_as_text(pdfs, report_type):
    text = run("pdftotext", "-", "-", data=pdfs[report_type])
    assert CUSTOMER in text
    assert f"{CUSTOMER} 中文 footer" in text
    assert "\ufffd" not in text and "\u25a0" not in text
    if report_type in (ReportType.DETAILED, ReportType.SECURITY, ReportType.OPERATIONS, ReportType.COST):
        for name in SUBS.values():
            assert name in text, name
        # a narrow column may break "rg-Кириллица" after its hyphen, which pdftotext then drops
        joined = "".join(text.split())
        shown = [s for s in SCRIPTS if f"rg-{s}" in text or f"rg{s.replace(' ', '')}" in joined]
        assert len(shown) >= 3, shown  # resource groups in several scripts, each exactly
    # The executive summary names no subscription or resource group and shows the top risks
    # only, so some of the scripts (used there in the fixture's names) are not on it.
    shown = [script for script in SCRIPTS if script in text]
    assert len(shown) >= (5 if report_type is ReportType.EXECUTIVE else len(SCRIPTS)), shown
