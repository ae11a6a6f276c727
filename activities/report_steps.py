"""Activity functions of the report orchestration: unpack a small JSON input, call a step in
``shared.pipeline``, return a small JSON result.

Transient faults are raised (the durable retry policy retries them); permanent ones come back
as typed outcomes (``ok: false`` with a code and a sanitized message). Every step is
idempotent, so a retry or a replay after a host crash leaves the same state.
"""

from __future__ import annotations

import logging

import azure.durable_functions as df

from shared import clients, pipeline, report_service
from shared.jobs import (
    AssembleInput,
    CsvImportInput,
    FetchInput,
    FinalizeInput,
    RenderInput,
    StatusUpdate,
    SummarizeInput,
)
from shared.models import ReportFilters, ReportStatus
from shared.settings import get_settings

bp = df.Blueprint()
log = logging.getLogger(__name__)


@bp.activity_trigger(input_name="payload", activity="set_report_status")
def set_report_status(payload: dict) -> dict:
    update = StatusUpdate.from_dict(payload)
    report = report_service.set_status(
        clients.table_store(), update.report_id, ReportStatus(update.status),
        failure_code=update.failure_code, failure_message=update.failure_message,
    )  # fmt: skip
    return {"reportId": update.report_id, "status": report.status.value if report else "missing"}


@bp.activity_trigger(input_name="payload", activity="fetch_subscription")
def fetch_subscription(payload: dict) -> dict:
    job = FetchInput.from_dict(payload)
    store = clients.table_store()
    outcome = pipeline.fetch_subscription(
        job.report_id, job.subscription_id, ReportFilters.from_dict(job.filters),
        store=store, client_for=clients.advisor_clients(), page_size=get_settings().advisor_page_size,
    )  # fmt: skip
    store.record_subscription_outcome(job.report_id, job.subscription_id, outcome.to_dict())
    return outcome.to_dict()


@bp.activity_trigger(input_name="payload", activity="import_csv")
def import_csv(payload: dict) -> dict:
    job = CsvImportInput.from_dict(payload)
    outcome = pipeline.import_csv_report(
        job.report_id, job.csv_blob, ReportFilters.from_dict(job.filters),
        store=clients.table_store(), uploads=clients.uploads(), default_category=job.default_category or None,
    )  # fmt: skip
    return outcome.to_dict()


@bp.activity_trigger(input_name="payload", activity="summarize_report")
def summarize_report(payload: dict) -> dict:
    job = SummarizeInput.from_dict(payload)
    result = pipeline.summarize_report(
        job.report_id, store=clients.table_store(), files=clients.report_files(), skipped=job.skipped,
        api_pages=job.api_pages, fetch_seconds=job.fetch_seconds,
        rows_per_part=get_settings().pdf_rows_per_part,
    )  # fmt: skip
    return result.to_dict()


@bp.activity_trigger(input_name="payload", activity="render_html")
def render_html(payload: dict) -> dict:
    job = RenderInput.from_dict(payload)
    return pipeline.render_html_file(
        job.report_id, store=clients.table_store(), files=clients.report_files()
    ).to_dict()


@bp.activity_trigger(input_name="payload", activity="render_pdf_part")
def render_pdf_part(payload: dict) -> dict:
    job = RenderInput.from_dict(payload)
    return pipeline.render_pdf_part_file(
        job.report_id, job.part, store=clients.table_store(), files=clients.report_files(),
        rows_per_part=get_settings().pdf_rows_per_part,
    ).to_dict()  # fmt: skip


@bp.activity_trigger(input_name="payload", activity="assemble_pdf")
def assemble_pdf(payload: dict) -> dict:
    job = AssembleInput.from_dict(payload)
    return pipeline.assemble_pdf_file(
        job.report_id, job.part_blobs, store=clients.table_store(), files=clients.report_files()
    ).to_dict()


@bp.activity_trigger(input_name="payload", activity="finalize_report")
def finalize_report(payload: dict) -> dict:
    job = FinalizeInput.from_dict(payload)
    resource = pipeline.finalize_report(
        job.report_id, job.files, job.durations, store=clients.table_store(), files=clients.report_files()
    )
    # Only what a caller of the orchestration needs; the full resource is at GET /api/reports/{id}.
    return {k: resource[k] for k in ("reportId", "status", "counts", "files") if k in resource}
