"""The report pipeline's steps (``shared.pipeline``) over the in-memory storage fakes: begin,
fetch outcomes, CSV import, summarize, render, assemble and finalize, no Azure and no Azurite.

The same steps run on Azurite in the e2e tier; here each rule is pinned on its own, fast."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared import pipeline
from shared.errors import PermanentError, TransientError
from shared.jobs import FetchOutcome, ReportJob, RetrySpec
from shared.models import Report, ReportFilters, ReportStatus, ReportType
from tests.conftest import make_recommendation
from tests.fakes import MemoryFiles, MemoryTable

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
    values = dict(
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
