"""The report pipeline's steps (``shared.pipeline``) over the in-memory storage fakes: begin,
fetch outcomes, CSV import, summarize, render, assemble and finalize, no Azure and no Azurite.

The same steps run on Azurite in the e2e tier; here each rule is pinned on its own, fast."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from pypdf import PdfReader

from shared import pipeline
from shared.errors import PermanentError, TransientError
from shared.jobs import FetchOutcome, ReportJob, RetrySpec
from shared.models import Report, ReportFilters, ReportStatus, ReportType
from shared.rendering import load_pdf_plan
from shared.rendering.pdf import footer_text
from shared.report_service import csv_blob_name, report_resource
from shared.summary_store import load_summary
from tests.conftest import make_recommendation
from tests.fakes import MemoryFiles, MemoryTable
from tests.portal_csv import HEADER_2025

RID = "0b0e8f5c-4c55-4b43-9d3c-9b0e3f3b1a01"
INSTANCE = RID
SUB_A = "00000000-0000-0000-0000-000000000001"
SUB_B = "00000000-0000-0000-0000-000000000002"
REQUESTED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def files() -> MemoryFiles:
    return MemoryFiles()


def store_report(table: MemoryTable, **kw) -> Report:
    values: dict[str, Any] = dict(
        report_id=RID,
        report_type=ReportType.DETAILED,
        subscription_ids=[SUB_A, SUB_B],
        requested_at=REQUESTED,
        instance_id=INSTANCE,
    )
    values.update(kw)
    report = Report(**values)
    table.save_report(report)
    return report


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def seed(table: MemoryTable, n: int = 12) -> None:
    recs = [make_recommendation(i, category=("cost", "security", "reliability")[i % 3]) for i in range(n)]
    table.save_recommendations(RID, recs)


# -- begin ---------------------------------------------------------------------------------


def test_begin_reads_the_job_from_the_stored_report_and_marks_it_processing(table):
    store_report(table, formats=["pdf"])
    begun = pipeline.begin_report(RID, INSTANCE, store=table, retry=RetrySpec(2, 10), fetch_timeout_s=30)
    assert begun.ok
    job = ReportJob.from_dict(begun.job)
    assert (job.subscription_ids, job.formats, job.retry, job.fetch_timeout_s) == (
        [SUB_A, SUB_B], ["pdf"], RetrySpec(2, 10), 30,
    )  # fmt: skip
    assert table.get_report(RID).status is ReportStatus.PROCESSING


@pytest.mark.parametrize(
    ("stored", "instance", "reason"),
    [
        (None, INSTANCE, "No report"),
        ({"instance_id": "someone-else"}, INSTANCE, "another orchestration"),
        ({"status": ReportStatus.COMPLETED}, INSTANCE, "already completed"),
    ],
)
def test_begin_refuses_what_it_must_not_act_on(table, stored, instance, reason):
    if stored is not None:
        store_report(table, **stored)
    begun = pipeline.begin_report(RID, instance, store=table, retry=RetrySpec(), fetch_timeout_s=30)
    assert not begun.ok and reason in begun.reason and begun.job is None


# -- fetch outcomes ------------------------------------------------------------------------


def test_a_permanent_fault_is_a_failed_outcome_and_the_report_names_the_subscription(table):
    store_report(table)

    def client_for(sub: str):
        raise PermanentError("No access to the subscription", code="forbidden")

    outcome = pipeline.fetch_subscription(RID, SUB_B, ReportFilters(), store=table, client_for=client_for)
    assert (outcome.ok, outcome.failure_code) == (False, "forbidden")
    pipeline.record_fetch_outcome(RID, outcome, store=table)
    pipeline.record_fetch_outcome(RID, FetchOutcome(SUB_A, ok=True, count=3), store=table)
    assert pipeline.left_out_subscriptions(table, RID) == {SUB_B: "No access to the subscription"}


def test_a_transient_fault_is_raised_for_the_retry_policy(table):
    store_report(table)

    def client_for(sub: str):
        raise TransientError("throttled", code="throttled")

    with pytest.raises(TransientError):
        pipeline.fetch_subscription(RID, SUB_A, ReportFilters(), store=table, client_for=client_for)


def test_the_fetch_step_renews_a_refused_token_once_then_takes_the_second_answer(table):
    from shared.advisor import TOKEN_REJECTED

    store_report(table)
    answers = [PermanentError("ARM refused the token (HTTP 401)", code=TOKEN_REJECTED),
               PermanentError("No access to the subscription", code="forbidden")]  # fmt: skip
    renewed: list[bool] = []

    def client_for(sub: str):
        raise answers.pop(0)

    outcome = pipeline.fetch_report_subscription(
        RID, SUB_B, store=table, client_for=client_for, renew_credential=lambda: renewed.append(True)
    )
    assert renewed == [True] and outcome.failure_code == "forbidden"
    assert pipeline.left_out_subscriptions(table, RID) == {SUB_B: "No access to the subscription"}


def test_a_token_refused_twice_counts_as_permanent_after_one_renewal(table):
    from shared.advisor import TOKEN_REJECTED

    store_report(table)
    renewed: list[bool] = []

    def client_for(sub: str):
        raise PermanentError("ARM refused the token (HTTP 401)", code=TOKEN_REJECTED)

    outcome = pipeline.fetch_report_subscription(
        RID, SUB_A, store=table, client_for=client_for, renew_credential=lambda: renewed.append(True)
    )
    assert renewed == [True] and outcome.failure_code == TOKEN_REJECTED


def test_the_fetch_step_refuses_a_subscription_the_stored_report_does_not_cover(table):
    store_report(table)
    other = "00000000-0000-0000-0000-000000000009"
    outcome = pipeline.fetch_report_subscription(
        RID, other, store=table, client_for=lambda s: pytest.fail("no fetch"), renew_credential=lambda: None
    )
    assert (outcome.ok, outcome.failure_code) == (False, "not_in_report")
    assert table.subscription_outcomes(RID) == []


def test_a_subscription_left_out_loses_the_rows_stored_before_it_failed(table):
    store_report(table)
    seed(table, 6)
    subs = {r.subscription_id.lower() for r in table.iter_recommendations(RID)}
    [sub] = subs  # the seeded rows belong to one subscription
    pipeline.record_fetch_outcome(RID, FetchOutcome(sub, ok=False, failure_message="incomplete"), store=table)
    assert list(table.iter_recommendations(RID)) == []
    pipeline.record_fetch_outcome(RID, FetchOutcome("csv", ok=False), store=table)  # no subscription


# -- summarize plans the PDF once; every part renders from that plan -----------------------


def test_summarize_stores_the_pdf_plan_and_each_part_renders_its_slice_of_it(table, files):
    store_report(table)
    seed(table, 12)
    result = pipeline.summarize_report(RID, store=table, files=files, rows_per_part=5)
    plan = load_pdf_plan(files.download(f"{RID}/pdf-plan.json"))
    # The summary, ending with the rows that fit below it; then parts of whole pages holding
    # at least 5 rows each (the last one what is left), covering the 12 rows once, in order.
    assert result.pdf_parts == len(plan) >= 2
    assert plan[0].kind == "summary" and plan[0].start == 0
    assert all(p.kind == "detail" for p in plan[1:])
    assert [p.start for p in plan[1:]] == [p.stop for p in plan[:-1]] and plan[-1].stop == 12
    assert all(p.rows >= 5 for p in plan[1:-1]) and plan[-1].rows > 0
    assert table.get_report(RID).status is ReportStatus.GENERATING

    last_index = len(plan) - 1
    last = pipeline.render_pdf_part_file(RID, last_index, store=table, files=files)
    assert last.blob == f"{RID}/parts/part-{last_index:04d}.pdf"
    text = pdf_text(files.download(last.blob))
    names = [line for line in text.splitlines() if line.startswith("vm-")]
    assert len(names) == plan[-1].rows  # the plan's last slice, not a plan the part made up itself
    with pytest.raises(PermanentError) as err:
        pipeline.render_pdf_part_file(RID, len(plan), store=table, files=files)
    assert err.value.code == "invalid_part"


def test_the_export_steps_write_the_summary_s_rows_and_refuse_other_formats(table, files):
    store_report(table, formats=["xlsx", "csv"])
    seed(table, 12)
    pipeline.summarize_report(RID, store=table, files=files)
    result = pipeline.render_export_file(RID, "csv", store=table, files=files)
    assert (result.fmt, result.blob) == ("csv", f"{RID}/advisor-action-plan.csv")
    lines = list(csv.reader(io.StringIO(files.download(result.blob).decode("utf-8-sig"), newline="")))
    assert len(lines) == 1 + 12 and len({line[0] for line in lines[1:]}) == 12
    xlsx = pipeline.render_export_file(RID, "xlsx", store=table, files=files)
    assert xlsx.blob == f"{RID}/advisor-action-plan.xlsx" and files.download(xlsx.blob)[:2] == b"PK"
    with pytest.raises(PermanentError) as err:
        pipeline.render_export_file(RID, "pdf", store=table, files=files)
    assert err.value.code == "invalid_format"


def test_a_render_part_never_plans_on_its_own(table, files):
    store_report(table)
    seed(table, 3)
    pipeline.summarize_report(RID, store=table, files=files)
    del files.blobs[f"{RID}/pdf-plan.json"]
    with pytest.raises(ResourceNotFoundError):
        pipeline.render_pdf_part_file(RID, 0, store=table, files=files)


def test_the_executive_report_plans_its_summary_part_only(table, files):
    store_report(table, report_type=ReportType.EXECUTIVE)
    seed(table, 12)
    result = pipeline.summarize_report(RID, store=table, files=files, rows_per_part=5)
    assert result.pdf_parts == 1
    assert [p.kind for p in load_pdf_plan(files.download(f"{RID}/pdf-plan.json"))] == ["summary"]


# -- assemble: the footer the app writes is the one footer function ------------------------


def test_the_assembled_pdf_carries_the_one_footer_on_every_page(table, files):
    store_report(table, report_type=ReportType.COST, customer="Contoso", subscription_ids=[SUB_A])
    table.save_recommendations(RID, [make_recommendation(i) for i in range(8)])
    summary = pipeline.summarize_report(RID, store=table, files=files, rows_per_part=3)
    parts = [
        pipeline.render_pdf_part_file(RID, i, store=table, files=files) for i in range(summary.pdf_parts)
    ]

    result = pipeline.assemble_pdf_file(RID, [p.blob for p in parts], store=table, files=files)

    report = table.get_report(RID)
    footer = footer_text("Azure Advisor cost optimization report for Contoso", report.fetched_at)
    assert (
        footer
        == f"Azure Advisor cost optimization report for Contoso \u00b7 Generated {report.fetched_at:%Y-%m-%d}"
    )
    reader = PdfReader(io.BytesIO(files.download(result.blob)))
    assert len(reader.pages) >= summary.pdf_parts
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert footer in text and f"Page {number} of {len(reader.pages)}" in text
    assert reader.metadata.title == "Azure Advisor cost optimization report for Contoso"


# -- one set of effective filters: fetch, CSV import, summary and the rendered report --------


def portal_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER_2025)
    writer.writeheader()
    for row in rows:
        writer.writerow({h: row.get(h, "") for h in HEADER_2025})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def test_a_cost_report_from_a_csv_keeps_cost_only_and_says_so(table, files):
    store_report(table, report_type=ReportType.COST, source="csv", subscription_ids=[])
    uploads = MemoryFiles()
    common = {"Subscription ID": SUB_A, "Resource Group": "rg-a", "Updated Date": "2026-11-01"}
    uploads.upload(
        csv_blob_name(RID),
        portal_csv(
            [
                {
                    **common,
                    "Category": "Cost",
                    "Business Impact": "High",
                    "Recommendation": "Right-size",
                    "Resource Name": "vm-1",
                    "Type": "Virtual machine",
                    "Potential Annual Cost Savings": "5,332",
                    "Potential Cost Savings Currency": "eur",
                },
                {
                    **common,
                    "Category": "Security",
                    "Business Impact": "High",
                    "Recommendation": "Lock down",
                    "Resource Name": "st-1",
                    "Type": "Storage account",
                },
            ]
        ),  # fmt: skip
    )
    outcome = pipeline.import_csv_report(RID, store=table, uploads=uploads)
    assert (outcome.ok, outcome.count) == (True, 1)

    pipeline.summarize_report(RID, store=table, files=files)
    report = table.get_report(RID)
    assert report.counts_by_category == {"cost": 1}
    assert report.savings_by_currency["EUR"] == {
        "monthly": "444.33", "annual": "5332", "count": 1,
        "achievable": {"monthly": "444.33", "annual": "5331.96"},  # twelve months, as the reports print it
    }  # fmt: skip
    html = files.download(pipeline.render_html_file(RID, store=table, files=files).blob).decode()
    assert "Categories (report type)" in html and "Lock down" not in html


# -- finalize: completed only once every promised file exists --------------------------------


def test_finalize_waits_for_every_file_then_completes_once(table, files):
    store_report(table, formats=["html", "pdf"], status=ReportStatus.GENERATING)
    files.upload(f"{RID}/report.html", b"<html>")
    files.upload(f"{RID}/parts/part-0000.pdf", b"%PDF")
    names = {"html": f"{RID}/report.html", "pdf": f"{RID}/report.pdf"}
    with pytest.raises(TransientError) as err:
        pipeline.finalize_report(RID, names, {"total": 1.0}, store=table, files=files)
    assert err.value.code == "files_missing" and table.get_report(RID).status is ReportStatus.GENERATING

    files.upload(f"{RID}/report.pdf", b"%PDF")
    done = pipeline.finalize_report(RID, names, {"total": 1.0}, store=table, files=files)
    assert done["status"] == "completed" and table.get_report(RID).files == names
    assert not files.exists(f"{RID}/parts/part-0000.pdf")  # the parts are cleared away
    again = pipeline.finalize_report(RID, names, {"total": 2.0}, store=table, files=files)
    assert again["status"] == "completed" and table.get_report(RID).durations["total"] == 1.0


def test_a_failed_report_is_never_completed(table, files):
    store_report(table, formats=["html"], status=ReportStatus.FAILED)
    files.upload(f"{RID}/report.html", b"<html>")
    with pytest.raises(PermanentError) as err:
        pipeline.finalize_report(RID, {"html": f"{RID}/report.html"}, {}, store=table, files=files)
    assert err.value.code == "conflict" and table.get_report(RID).status is ReportStatus.FAILED


# -- what changed since the previous report -----------------------------------------------------

PREVIOUS = "0b0e8f5c-4c55-4b43-9d3c-9b0e3f3b1a00"


def test_the_executive_compares_with_the_previous_report_of_the_same_scope(table, files):
    earlier = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
    store_report(table, report_id=PREVIOUS, report_type=ReportType.EXECUTIVE, requested_at=earlier)
    table.save_recommendations(PREVIOUS, [make_recommendation(i) for i in range(0, 6)])  # items 0-5
    pipeline.summarize_report(PREVIOUS, store=table, files=files)
    previous = table.get_report(PREVIOUS)
    previous.status = ReportStatus.COMPLETED
    table.save_report(previous)
    # another type and another scope are not compared with
    store_report(table, report_id="0b0e8f5c-4c55-4b43-9d3c-9b0e3f3b1a02", requested_at=earlier)

    store_report(table, report_type=ReportType.EXECUTIVE)
    table.save_recommendations(RID, [make_recommendation(i) for i in range(3, 10)])  # 3-5 stay, 6-9 new
    pipeline.summarize_report(RID, store=table, files=files)
    summary = load_summary(files.download(f"{RID}/summary.json"))
    assert summary.changes is not None
    assert (summary.changes["new"], summary.changes["resolved"], summary.changes["stillOpen"]) == (4, 3, 3)
    assert summary.changes["previousReportId"] == PREVIOUS
    html = files.download(pipeline.render_html_file(RID, store=table, files=files).blob).decode()
    assert "Since the previous report" in html and "executive summary of 2026-10-30" in html
    [usd] = summary.changes["savings"]
    sign = "+" if Decimal(usd["deltaMonthly"]) > 0 else "\u2212"
    assert f"{sign}USD " in html  # the change per currency, signed


def test_only_the_executive_looks_for_a_previous_report(table, files, monkeypatch):
    """The other types print no comparison, so they never pay for finding one (a listing,
    entity reads and the previous summary's download)."""
    looked: list[str] = []
    monkeypatch.setattr(pipeline, "previous_report", lambda report, store: looked.append(report.report_id))
    for report_type in ReportType:
        store_report(table, report_type=report_type)
        seed(table)
        pipeline.summarize_report(RID, store=table, files=files)
    assert looked == [RID]  # once, for the executive


def test_no_comparison_without_a_previous_report_of_the_same_scope(table, files):
    store_report(table, report_type=ReportType.EXECUTIVE)
    seed(table)
    pipeline.summarize_report(RID, store=table, files=files)
    summary = load_summary(files.download(f"{RID}/summary.json"))
    assert summary.changes is None


def test_the_report_resource_shows_the_achievable_savings_the_reports_print(table, files):
    """Two recommendations on one virtual machine: the sum counts both, the achievable figure
    (what the cost and executive reports print as their headline) only the larger."""
    store_report(table, report_type=ReportType.COST)
    first = make_recommendation(10)
    overlap = make_recommendation(
        31, resource_id=first.resource_id, resource_name=first.resource_name,
        resource_group=first.resource_group,
    )  # fmt: skip
    other = make_recommendation(7, currency="EUR")
    table.save_recommendations(RID, [first, overlap, other])
    pipeline.summarize_report(RID, store=table, files=files)

    shown = report_resource(table.get_report(RID))["savings"]["byCurrency"]
    assert shown["USD"]["monthly"] == "41.50" and shown["USD"]["count"] == 2
    assert shown["USD"]["achievable"] == {"monthly": "31.25", "annual": "375.00"}
    assert shown["EUR"]["achievable"] == {"monthly": "7.25", "annual": "87.00"}
    summary = load_summary(files.download(f"{RID}/summary.json"))
    assert shown["USD"]["achievable"]["monthly"] == str(summary.achievable["USD"].monthly)
