"""Report links (shared/links.py): signed for one report, expiring, never built from a request."""

from __future__ import annotations

import dataclasses

from shared.links import LinkSigner, ReportLinks, report_links
from shared.settings import get_settings

REPORT = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
SIGNER = LinkSigner(b"k" * 32, 3600)


def test_a_token_opens_its_report_until_it_expires() -> None:
    token = SIGNER.sign(REPORT, now=1_000_000)
    assert token.startswith("1004400.")  # an hour on, rounded up to the full hour
    assert SIGNER.sign(REPORT, now=1_000_500) == token  # the same link within that hour
    assert SIGNER.verify(REPORT, token, now=1_000_000)
    assert SIGNER.verify(REPORT, token, now=1_004_400)
    assert not SIGNER.verify(REPORT, token, now=1_004_401)
    assert not SIGNER.verify(OTHER, token, now=1_000_000)
    assert not LinkSigner(b"j" * 32, 3600).verify(REPORT, token, now=1_000_000)


def test_a_token_cannot_be_stretched_or_garbled() -> None:
    token = SIGNER.sign(REPORT, now=1_000_000)
    signature = token.split(".", 1)[1]
    for bad in (f"9999999999.{signature}", "", ".", token + "=", "1004400", "-1." + signature, "１004400.x"):
        assert not SIGNER.verify(REPORT, bad, now=1_000_000), bad


def test_links_are_plain_without_a_link_key_and_signed_with_one() -> None:
    settings = dataclasses.replace(get_settings(), public_base_url="https://r.example", report_link_key="")
    links = report_links(settings, REPORT)
    assert links.report == f"https://r.example/api/reports/{REPORT}"
    assert links.file("pdf") == f"https://r.example/api/reports/{REPORT}/files/pdf"
    signed = report_links(dataclasses.replace(settings, report_link_key="secret"), REPORT)
    assert signed.report.startswith(f"https://r.example/api/links/reports/{REPORT}?token=")
    assert LinkSigner(b"secret", 24 * 3600).verify(REPORT, signed.token)
    assert ReportLinks("", REPORT, "t").file("html") == f"/api/links/reports/{REPORT}/files/html?token=t"
