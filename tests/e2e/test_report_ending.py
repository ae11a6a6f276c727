"""Every report ends: ``GET /api/reports/{id}`` reconciles the report with its orchestration's
runtime status (terminated, or never started), a report leaving hundreds of subscriptions out
is stored and read back whole, and a stored row that cannot be fully parsed still answers 200,
never 5xx."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.models import Report, ReportStatus, ReportType
from shared.report_service import START_GRACE
from shared.table_store import REPORT_PARTITION, TableStore, fit_string

from .support import ApiClient, arm_requests_since, last_seq, within

pytestmark = pytest.mark.e2e


def reports_table(stack: Any) -> TableStore:
    return TableStore(stack.storage_connection)


def stored_status(stack: Any, report_id: str) -> ReportStatus:
    report = reports_table(stack).get_report(report_id)
    assert report is not None
    return report.status


def test_a_terminated_orchestration_ends_its_report_as_failed(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    sub = new_subscriptions(1, 10)[0]["subscriptionId"]
    stack.standin.inject_fault(subscription=sub, operation="list", delay=5, count=1)
    seq = last_seq(stack)
    started = api.start({"subscriptionIds": [sub], "reportType": "detailed", "formats": ["html"]})
    location, report_id = started.headers["Location"], started.json()["reportId"]
    # The fetch has begun once its sub-orchestration exists (the stand-in records a request only
    # when it answers, after the 5 s hold, which would leave the report time to complete).
    host = stack.host
    with within(10):
        while host.engine.get(f"{report_id}:fetch:{sub.lower()}") is None:
            time.sleep(0.05)
    running = api.get(location)
    assert running.status_code == 202, running.text

    # An operator (or a crash the runtime gave up on) ends the orchestration, through the host.
    host.run(host.client().terminate(report_id, "stopped by an operator at C:\\ops\\kill.ps1"))
    with within(10):
        while host.run(host.client().get_status(report_id)).runtime_status.value != "Terminated":
            time.sleep(0.05)

    ended = api.get(location)
    assert ended.status_code == 200, ended.text
    body = ended.json()
    assert body["status"] == "failed"
    assert body["failure"]["code"] == "orchestration_terminated"
    assert "terminated" in body["failure"]["message"]
    assert "ops" not in body["failure"]["message"]  # not the operator's text, nor a path
    assert "files" not in body and "progress" not in body
    assert stored_status(stack, report_id) is ReportStatus.FAILED  # stored, not only shown

    # The held fetch still finishes in its worker; the report stays failed, unchanged.
    with within(15):
        while not [r for r in arm_requests_since(stack, seq, sub) if r["status"] == 200]:
            time.sleep(0.1)
    stack.host.wait_for_idle(timeout=10)
    again = api.get(location)
    assert again.status_code == 200
    assert again.json() == body
    assert api.get(f"/api/reports/{report_id}/files/html").status_code == 404


def pending_report(stack: Any, requested_at: datetime) -> str:
    """A report row as the start trigger writes it, with no orchestration behind it (the start
    never happened: the process died between the two steps)."""
    report_id = str(uuid.uuid4())
    reports_table(stack).save_report(
        Report(
            report_id=report_id,
            report_type=ReportType.COST,
            subscription_ids=[str(uuid.UUID(int=7))],
            requested_at=requested_at,
            instance_id=report_id,
        )
    )
    return report_id


def test_a_report_whose_orchestration_never_started_fails_after_the_grace_period(
    api: ApiClient, stack: Any
) -> None:
    now = datetime.now(UTC)
    fresh = pending_report(stack, now)
    answer = api.get(f"/api/reports/{fresh}")
    assert answer.status_code == 202, answer.text  # the start may be a moment behind
    assert stored_status(stack, fresh) is ReportStatus.PENDING

    stale = pending_report(stack, now - START_GRACE - timedelta(seconds=5))
    answer = api.get(f"/api/reports/{stale}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "failed"
    assert answer.json()["failure"]["code"] == "orchestration_missing"
    assert stored_status(stack, stale) is ReportStatus.FAILED
    listed = {r["reportId"]: r["status"] for r in api.list_reports(limit=100).json()["reports"]}
    assert listed[stale] == "failed" and listed[fresh] == "pending"


def test_one_readable_and_259_inaccessible_subscriptions_end_in_a_readable_report(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    readable = new_subscriptions(1, 5)[0]["subscriptionId"]
    unknown = [str(uuid.uuid4()) for _ in range(259)]  # not in the tenant: each answers 404
    body = {"subscriptionIds": [readable, *unknown], "reportType": "cost", "formats": ["html"]}
    report = api.run_report(body, timeout=50)

    assert report["status"] == "completed", report.get("failure")
    left_out = {e["subscriptionId"]: e["reason"] for e in report["scope"]["subscriptionsLeftOut"]}
    assert set(left_out) == set(unknown)
    assert all(reason for reason in left_out.values())
    assert len(json.dumps(report["scope"])) > 32 * 1024  # more than one cut property used to hold
    again = api.get(f"/api/reports/{report['reportId']}")
    assert again.status_code == 200 and again.json() == report


def raw_row(report_id: str, **fields: Any) -> dict[str, Any]:
    """A report row as the previous code wrote it: the left-out list cut mid-JSON at 32 K."""
    skipped = {str(uuid.UUID(int=i + 1)): "AuthorizationFailed: no access " * 8 for i in range(259)}
    row = {
        "PartitionKey": REPORT_PARTITION,
        "RowKey": "r_" + report_id,
        "report_id": report_id,
        "report_type": "detailed",
        "status": "completed",
        "source": "api",
        "instance_id": report_id,
        "requested_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "completed_at": datetime.now(UTC).isoformat(),
        "subscription_ids": json.dumps(list(skipped)),
        "skipped_subscriptions": fit_string(json.dumps(skipped, separators=(",", ":"))),
        "files": "{}",
    }
    row.update(fields)
    return row


@pytest.mark.parametrize(
    "fields",
    [
        {},  # completed, with the cut field
        {"status": "processing"},  # unfinished: the reconciliation reads it too
        {"status": "half-done", "report_type": "weekly", "completed_at": "soon", "api_pages": "x"},
        {"counts_by_category": "[", "durations": "null", "formats": '"html"', "files": "[]"},
    ],
    ids=["cut-field", "cut-field-unfinished", "unknown-values", "wrong-json-types"],
)
def test_a_stored_row_that_cannot_be_fully_parsed_still_answers_200(
    api: ApiClient, stack: Any, fields: dict[str, Any]
) -> None:
    report_id = str(uuid.uuid4())
    row = raw_row(report_id, **fields)
    assert row["skipped_subscriptions"].endswith("[truncated]")
    reports_table(stack).table("reports").upsert_entity(row)

    answer = api.get(f"/api/reports/{report_id}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["reportId"] == report_id
    assert body["scope"]["subscriptionsLeftOut"] == []  # the damaged field reads as empty
    assert body["status"] in ("completed", "failed")
    assert "Traceback" not in answer.text
