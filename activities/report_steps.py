"""Activity functions of the report orchestration: unpack a small JSON input, call a step in
``shared.pipeline``, return a small JSON result.

Transient faults are raised (the durable retry policy retries them); permanent ones come back
as typed outcomes (``ok: false`` with a code and a sanitized message). Every step is
idempotent, so a retry or a replay after a host crash leaves the same state. Every step reads
what the report is (type, filters, customer) from the report entity by id.

Signatures are annotated with plain ``dict``: the Python worker's indexing refuses PEP 585
generics such as ``dict[str, Any]`` on a bound parameter or return ("invalid non-type
annotation"), and one refused function fails the whole app.

Each activity logs one telemetry event per run (``shared.telemetry.observed``): stage, report
id, outcome, duration and counts, never a payload or an error text.
"""

from __future__ import annotations

import functools
import logging

import azure.durable_functions as df

from shared import callbacks, clients, pipeline, report_service, telemetry
from shared.jobs import (
    AssembleInput,
    BeginInput,
    CallbackInput,
    CsvImportInput,
    FetchInput,
    FetchOutcome,
    FinalizeInput,
    OutcomeRecord,
    RenderInput,
    RetrySpec,
    StatusUpdate,
    SummarizeInput,
)
from shared.links import report_links
from shared.models import ReportStatus
from shared.settings import get_settings

bp = df.Blueprint()
log = logging.getLogger(__name__)


@bp.activity_trigger(input_name="payload", activity="begin_report")
@telemetry.observed("begin_report")
def begin_report(payload: dict) -> dict:
    job = BeginInput.from_dict(payload)
    s = get_settings()
    retry = RetrySpec(s.retry_attempts, max(1, s.retry_interval_ms))
    result = pipeline.begin_report(
        job.report_id, job.instance_id, store=clients.table_store(), retry=retry,
        fetch_timeout_s=s.fetch_timeout_seconds,
    )  # fmt: skip
    return result.to_dict()


@bp.activity_trigger(input_name="payload", activity="set_report_status")
@telemetry.observed("set_report_status")
def set_report_status(payload: dict) -> dict:
    update = StatusUpdate.from_dict(payload)
    report = report_service.set_status(
        clients.table_store(), update.report_id, ReportStatus(update.status),
        failure_code=update.failure_code, failure_message=update.failure_message,
    )  # fmt: skip
    return {"reportId": update.report_id, "status": report.status.value if report else "missing"}


@bp.activity_trigger(input_name="payload", activity="fetch_subscription")
@telemetry.observed("fetch_subscription")
def fetch_subscription(payload: dict) -> dict:
    job = FetchInput.from_dict(payload)
    stale = clients.advisor_clients()
    return pipeline.fetch_report_subscription(
        job.report_id, job.subscription_id, store=clients.table_store(),
        client_for=clients.advisor_client_for, page_size=get_settings().advisor_page_size,
        renew_credential=lambda: clients.renew_advisor_credential(stale),
    ).to_dict()  # fmt: skip


@bp.activity_trigger(input_name="payload", activity="record_fetch_outcome")
@telemetry.observed("record_fetch_outcome")
def record_fetch_outcome(payload: dict) -> dict:
    record = OutcomeRecord.from_dict(payload)
    outcome = FetchOutcome.from_dict(record.outcome)
    pipeline.record_fetch_outcome(record.report_id, outcome, store=clients.table_store())
    return {"reportId": record.report_id, "subscriptionId": outcome.subscription_id}


@bp.activity_trigger(input_name="payload", activity="import_csv")
@telemetry.observed("import_csv")
def import_csv(payload: dict) -> dict:
    job = CsvImportInput.from_dict(payload)
    return pipeline.import_csv_report(
        job.report_id, store=clients.table_store(), uploads=clients.uploads()
    ).to_dict()


@bp.activity_trigger(input_name="payload", activity="summarize_report")
@telemetry.observed("summarize_report")
def summarize_report(payload: dict) -> dict:
    job = SummarizeInput.from_dict(payload)
    result = pipeline.summarize_report(
        job.report_id, store=clients.table_store(), files=clients.report_files(),
        api_pages=job.api_pages, fetch_seconds=job.fetch_seconds,
        rows_per_part=get_settings().pdf_rows_per_part,
    )  # fmt: skip
    return result.to_dict()


@bp.activity_trigger(input_name="payload", activity="render_html")
@telemetry.observed("render_html")
def render_html(payload: dict) -> dict:
    job = RenderInput.from_dict(payload)
    return pipeline.render_html_file(
        job.report_id, store=clients.table_store(), files=clients.report_files()
    ).to_dict()


@bp.activity_trigger(input_name="payload", activity="render_export")
@telemetry.observed("render_export")
def render_export(payload: dict) -> dict:
    job = RenderInput.from_dict(payload)
    return pipeline.render_export_file(
        job.report_id, job.fmt, store=clients.table_store(), files=clients.report_files()
    ).to_dict()


@bp.activity_trigger(input_name="payload", activity="render_pdf_part")
@telemetry.observed("render_pdf_part")
def render_pdf_part(payload: dict) -> dict:
    job = RenderInput.from_dict(payload)
    return pipeline.render_pdf_part_file(
        job.report_id, job.part, store=clients.table_store(), files=clients.report_files()
    ).to_dict()


@bp.activity_trigger(input_name="payload", activity="assemble_pdf")
@telemetry.observed("assemble_pdf")
def assemble_pdf(payload: dict) -> dict:
    job = AssembleInput.from_dict(payload)
    return pipeline.assemble_pdf_file(
        job.report_id, job.part_blobs, store=clients.table_store(), files=clients.report_files()
    ).to_dict()


@bp.activity_trigger(input_name="payload", activity="finalize_report")
@telemetry.observed("finalize_report")
def finalize_report(payload: dict) -> dict:
    job = FinalizeInput.from_dict(payload)
    resource = pipeline.finalize_report(
        job.report_id, job.files, job.durations, store=clients.table_store(), files=clients.report_files()
    )
    # Only what a caller of the orchestration needs; the full resource is at GET /api/reports/{id}.
    return {k: resource[k] for k in ("reportId", "status", "counts", "files") if k in resource}


@bp.activity_trigger(input_name="payload", activity="deliver_callback")
@telemetry.observed("deliver_callback")
def deliver_callback(payload: dict) -> dict:
    """POST the finished report to its callback URL, which is read from the report entity (the
    input is the report id: the URL never enters orchestration history)."""
    job = CallbackInput.from_dict(payload)
    s = get_settings()
    send = functools.partial(
        callbacks.post, allow_private=s.callback_allow_private_hosts, ca_bundle=s.ca_bundle
    )
    return pipeline.deliver_callback(
        job.report_id, job.attempts, store=clients.table_store(), send=send,
        signing_key=s.callback_signing_key, links=report_links(s, job.report_id),
    ).to_dict()  # fmt: skip
