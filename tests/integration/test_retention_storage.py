"""Retention against a real Azurite: reports made by the real pipeline steps (recommendations,
outcomes, summary, PDF plan, HTML, PDF parts and the merged PDF, logo copies, an uploaded CSV)
are deleted down to the last row and blob, while another report's rows and blobs stay exactly
as they were; the listing no longer shows a deleted report; ``report_ages`` reads what the
timer needs. The Durable runtime is scripted here (the e2e tier runs the real one)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import pipeline
from shared.blob_store import BlobStore
from shared.jobs import FetchOutcome, RetrySpec
from shared.models import Report, ReportStatus, ReportType
from shared.report_service import create_report, csv_blob_name, provider_logo_blob, report_logo_blob
from shared.retention import Removal, ReportStores, delete_report, due_reports
from shared.table_store import TableStore
from tests.conftest import make_recommendation
from tests.portal_csv import HEADER_2025
from tests.unit.test_retention import ScriptedRuntime

pytestmark = pytest.mark.azurite

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
SUBS = ["00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000a2"]


@dataclass(frozen=True)
class Stores:
    table: TableStore
    files: BlobStore
    uploads: BlobStore

    @property
    def removal(self) -> ReportStores:
        return ReportStores(self.table, self.files, self.uploads)


@pytest.fixture
def stores(azurite: Any, table_store: TableStore, unique_name: str) -> Stores:
    files = BlobStore.from_connection_string(azurite.connection_string, unique_name + "rep")
    uploads = BlobStore.from_connection_string(azurite.connection_string, unique_name + "up")
    return Stores(table_store, files, uploads)


def make_report(stores: Stores, *, requested_at: datetime, finish: bool = True, csv: bool = False) -> str:
    """A report as the pipeline leaves it: completed (parts merged and removed), or failed after
    rendering its parts (the parts stay, as they do when assembling never happens)."""
    table, files = stores.table, stores.files
    rid = str(uuid.uuid4())
    report = Report(
        report_id=rid, report_type=ReportType.DETAILED, subscription_ids=list(SUBS),
        requested_at=requested_at, source="csv" if csv else "api", provider_name="Contoso MSP",
        logo_content_type="image/png", provider_logo_content_type="image/png",
    )  # fmt: skip
    files.upload(report_logo_blob(rid), PNG, content_type="image/png")
    files.upload(provider_logo_blob(rid), PNG, content_type="image/png")
    create_report(table, report)
    pipeline.begin_report(rid, rid, store=table, retry=RetrySpec(1, 1000), fetch_timeout_s=60)
    if csv:
        line = "Cost,High,Right-size,{sub},Sub,rg1,vm{i},Virtual machine,2026-11-01,Save,100,USD,,,,,"
        # enough rows for detail parts of their own past what fits below the summary
        lines = "".join(line.format(sub=SUBS[0], i=i) + "\n" for i in range(60))
        stores.uploads.upload(csv_blob_name(rid), (",".join(HEADER_2025) + "\n" + lines).encode())
        outcome = pipeline.import_csv_report(rid, store=table, uploads=stores.uploads)
        pipeline.record_fetch_outcome(rid, outcome, store=table)
    else:
        for n, sub in enumerate(SUBS):
            # enough rows for detail parts of their own past what fits below the summary
            recs = [make_recommendation(i, subscription=sub) for i in range(n * 100, n * 100 + 40)]
            count = pipeline.persist_recommendations(rid, recs, table)
            pipeline.record_fetch_outcome(rid, FetchOutcome(sub, ok=True, count=count), store=table)
    summary = pipeline.summarize_report(rid, store=table, files=files, rows_per_part=4)
    html = pipeline.render_html_file(rid, store=table, files=files)
    parts = [
        pipeline.render_pdf_part_file(rid, p, store=table, files=files) for p in range(summary.pdf_parts)
    ]
    assert len(parts) >= 2
    if finish:
        pdf = pipeline.assemble_pdf_file(rid, [p.blob for p in parts], store=table, files=files)
        pipeline.finalize_report(rid, {"html": html.blob, "pdf": pdf.blob}, {}, store=table, files=files)
    else:
        from shared.report_service import set_status

        set_status(table, rid, ReportStatus.FAILED, failure_code="render_failed", failure_message="x")
    return rid


def everything(stores: Stores, rid: str) -> dict[str, Any]:
    """Every row and blob that names the report, in every table and container retention owns."""
    table = stores.table
    rows = []
    for name in (table.reports_table_name, table.recommendations_table_name):
        for entity in table.table(name).list_entities():
            text = " ".join(str(v) for v in entity.values()) + entity["PartitionKey"] + entity["RowKey"]
            if rid in text:
                rows.append((name, entity["PartitionKey"], entity["RowKey"]))
    blobs = []
    for store in (stores.files, stores.uploads):
        container = store._container
        if container.exists():  # a container never created holds nothing
            blobs += [(store.container, b.name) for b in container.list_blobs() if rid in b.name]
    return {"rows": sorted(rows), "blobs": sorted(blobs)}


def run(stores: Stores, rid: str) -> Removal:
    runtime = ScriptedRuntime()
    runtime.instances[rid] = "Completed"
    runtime.instances[f"{rid}:html"] = "Completed"
    return asyncio.run(delete_report(rid, stores.removal, runtime))


def test_nothing_of_a_deleted_report_remains_and_another_stays_whole(stores: Stores) -> None:
    old = datetime.now(UTC) - timedelta(days=100)
    done = make_report(stores, requested_at=old)
    failed = make_report(stores, requested_at=old, finish=False)
    uploaded = make_report(stores, requested_at=old, csv=True)
    kept = make_report(stores, requested_at=old + timedelta(minutes=1))
    before_kept = everything(stores, kept)
    for rid in (done, failed, uploaded):
        found = everything(stores, rid)
        kinds = {name.rsplit("/", 1)[-1] for _, name in found["blobs"]}
        assert {"advisor-report.html", "summary.json", "logo", "provider-logo"} <= kinds, kinds
        assert len(found["rows"]) >= 4, found[
            "rows"
        ]  # the report, its listing row, outcomes, recommendations
    assert any("/parts/" in name for _, name in everything(stores, failed)["blobs"])
    assert any(name.endswith(".csv") for _, name in everything(stores, uploaded)["blobs"])

    for rid in (done, failed, uploaded):
        assert run(stores, rid) is Removal.DELETED
        assert everything(stores, rid) == {"rows": [], "blobs": []}
        assert run(stores, rid) is Removal.NOT_FOUND
    assert everything(stores, kept) == before_kept
    listed = [r["report_id"] for r in stores.table.list_reports(limit=100)[0]]
    assert listed == [kept]


def test_report_ages_read_what_the_timer_needs(stores: Stores) -> None:
    table = stores.table
    now = datetime.now(UTC)
    short = Report(report_id=str(uuid.uuid4()), report_type=ReportType.COST, subscription_ids=SUBS[:1],
                   requested_at=now - timedelta(days=3), retention_days=2)  # fmt: skip
    plain = Report(report_id=str(uuid.uuid4()), report_type=ReportType.COST, subscription_ids=SUBS[:1],
                   requested_at=now - timedelta(days=3))  # fmt: skip
    for report in (short, plain):
        create_report(table, report)
        table.record_subscription_outcome(report.report_id, SUBS[0], {"ok": True})
    ages = {a.report_id: a for a in table.report_ages()}
    assert set(ages) == {short.report_id, plain.report_id}  # outcome and listing rows are not reports
    assert ages[short.report_id].retention_days == 2 and ages[plain.report_id].retention_days == 0
    assert ages[short.report_id].requested_at == short.requested_at
    assert due_reports(ages.values(), now=now, default_days=90) == [short.report_id]
    stored = table.get_report(short.report_id)
    assert stored is not None and stored.retention_days == 2
