"""Blob store against a real Azurite: content types, overwrite on retry, read-only SAS URLs."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

import pytest

from shared.blob_store import report_blob_name
from shared.errors import InvalidInputError
from shared.models import Report, ReportType
from shared.report_service import FILE_NAMES, content_disposition
from tests.downloads import browser_saves

pytestmark = pytest.mark.azurite


def test_upload_sets_content_type_and_overwrites(blob_store):
    name = report_blob_name("rep-1", "advisor-report.html")
    blob_store.upload(name, b"<html>one</html>")
    blob_store.upload(name, b"<html>two</html>")  # a retried activity overwrites
    assert blob_store.download(name) == b"<html>two</html>"
    assert blob_store.properties(name).content_settings.content_type == "text/html; charset=utf-8"
    pdf = blob_store.upload(report_blob_name("rep-1", "advisor-report.pdf"), b"%PDF-1.4 test")
    assert blob_store.properties(pdf).content_settings.content_type == "application/pdf"


def test_sas_url_downloads_and_is_read_only(blob_store):
    name = blob_store.upload(report_blob_name("rep-2", "advisor-report.pdf"), b"%PDF-1.4 data")
    url = blob_store.sas_url(name, minutes=5, download_name="contoso.pdf")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert query["sp"] == ["r"] and "se" in query
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback Azurite
        assert resp.read() == b"%PDF-1.4 data"
        assert 'filename="contoso.pdf"' in resp.headers["Content-Disposition"]
    put = urllib.request.Request(  # noqa: S310 - loopback Azurite
        url, data=b"overwrite", method="PUT", headers={"x-ms-blob-type": "BlockBlob"}
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(put, timeout=10)  # noqa: S310 - loopback Azurite
    assert err.value.code == 403
    assert blob_store.download(name) == b"%PDF-1.4 data"


def test_delete_prefix_in_a_container_never_created_deletes_nothing(blob_store):
    # A customer without a logo is deleted before any logo was ever uploaded: the branding
    # container does not exist yet (found by the schemathesis run: it was a 500).
    assert blob_store.delete_prefix("customer-1/") == 0
    blob_store.upload("customer-1/logo.png", b"\x89PNG\r\n\x1a\n")
    blob_store.upload("customer-2/logo.png", b"\x89PNG\r\n\x1a\n")
    assert blob_store.delete_prefix("customer-1/") == 1
    assert not blob_store.exists("customer-1/logo.png") and blob_store.exists("customer-2/logo.png")


@pytest.mark.parametrize("fmt", ["html", "pdf", "xlsx", "csv"])
def test_each_format_downloads_with_its_content_type_and_the_customer_s_own_name(blob_store, fmt):
    """What a browser saves, read from the header Azurite answers the signed URL with."""
    report = Report(
        "rep-3",
        ReportType.COST,
        [],
        customer="Zakłady Łódź S.A.",
        fetched_at=datetime(2026, 12, 2, tzinfo=UTC),
    )
    name = blob_store.upload(report_blob_name("rep-3", FILE_NAMES[fmt]), b"content")
    url = blob_store.sas_url(name, minutes=5, content_disposition=content_disposition(report, fmt))
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback Azurite
        header = resp.headers["Content-Disposition"]
        kind = resp.headers["Content-Type"]
    export = "-action-plan" if fmt in ("xlsx", "csv") else ""
    assert browser_saves(header) == f"advisor-cost{export}-Zakłady-Łódź-S.A-2026-12-02.{fmt}"
    assert f'filename="advisor-cost{export}-zaklady-lodz-s-a-2026-12-02.{fmt}"' in header
    assert (
        kind
        == {
            "html": "text/html; charset=utf-8",
            "pdf": "application/pdf",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "csv": "text/csv; charset=utf-8",
        }[fmt]
    )


def test_report_blob_names_cannot_escape_the_report_folder():
    assert report_blob_name("abc", "advisor-report.pdf") == "abc/advisor-report.pdf"
    with pytest.raises(InvalidInputError):
        report_blob_name("abc", "../other/x.pdf")
    with pytest.raises(InvalidInputError):
        report_blob_name("a/b", "x.pdf")
