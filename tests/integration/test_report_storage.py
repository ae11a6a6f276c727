"""The report entity against a real Azurite: large values round-trip whole (split across
properties within Table Storage's limits, never cut mid-JSON), rows written by older code or
damaged in storage still load, and conditional updates never overwrite a newer version."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from shared.models import Report, ReportStatus, ReportType
from shared.report_request import MAX_SUBSCRIPTIONS
from shared.table_store import (
    ENTITY_BUDGET_BYTES,
    MAX_PROPERTIES,
    MAX_STRING_BYTES,
    REPORT_PARTITION,
    entity_size,
    fit_string,
    get_long_string,
    report_to_entity,
    split_string,
)

pytestmark = pytest.mark.azurite

# As long as a reason gets (errors.sanitize caps messages at 500 characters), not all ASCII.
LONG_REASON = (
    "AuthorizationFailed: The client 'advisor-reader' with object id 'ł-ø-ü' does not have "
    "authorization to perform action 'Microsoft.Advisor/recommendations/read' over scope "
    "'/subscriptions/{sub}' or the scope is invalid. If access was recently granted, please refresh "
    "your credentials. Zugriff verweigert; accès refusé; アクセスが拒否されました 😕 "
)


def subscriptions(n: int) -> list[str]:
    return [str(uuid.UUID(int=i + 1)) for i in range(n)]


def reason_for(sub: str, length: int = 500) -> str:
    text = LONG_REASON.format(sub=sub)
    return (text * (length // len(text) + 1))[:length]


def big_report(report_id: str, *, reason_length: int = 500, n: int = MAX_SUBSCRIPTIONS) -> Report:
    subs = subscriptions(n)
    return Report(
        report_id=report_id,
        report_type=ReportType.DETAILED,
        subscription_ids=subs,
        status=ReportStatus.COMPLETED,
        requested_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        completed_at=datetime(2026, 12, 1, 9, 45, tzinfo=UTC),
        skipped_subscriptions={sub: reason_for(sub, reason_length) for sub in subs[1:]},
        counts_by_category={"cost": 3},
        files={"html": f"{report_id}/advisor-report.html"},
    )


def assert_within_limits(entity: dict) -> None:
    for name, value in entity.items():
        if isinstance(value, str):
            assert len(value.encode("utf-16-le")) <= MAX_STRING_BYTES, name
    assert entity_size(entity) <= ENTITY_BUDGET_BYTES
    assert len(entity) - 2 <= MAX_PROPERTIES


def write_raw(table_store, entity: dict) -> None:
    table_store.table(table_store.reports_table_name).upsert_entity(entity)


def test_five_hundred_left_out_subscriptions_with_long_reasons_round_trip_whole(table_store):
    report = big_report("big-1")
    entity = report_to_entity(report)
    # Far more than one string property holds, so it is split (and each part is within limits).
    assert "skipped_subscriptions__2" in entity
    assert_within_limits(entity)

    table_store.save_report(report)
    back = table_store.get_report("big-1")
    assert back is not None
    assert back.skipped_subscriptions == report.skipped_subscriptions  # every reason, whole
    assert back.subscription_ids == report.subscription_ids
    assert back.files == report.files and back.counts_by_category == {"cost": 3}
    assert back.status is ReportStatus.COMPLETED


def test_a_shorter_value_saved_later_leaves_no_stale_parts(table_store):
    report = big_report("big-2")
    table_store.save_report(report)
    report.skipped_subscriptions = {report.subscription_ids[1]: "no access"}
    table_store.save_report(report)
    back = table_store.get_report("big-2")
    assert back is not None and back.skipped_subscriptions == {report.subscription_ids[1]: "no access"}


def test_reasons_longer_than_an_entity_holds_are_shortened_but_every_subscription_stays(table_store):
    report = big_report("big-3", reason_length=5000)  # 2.5 M characters: more than 1 MiB
    entity = report_to_entity(report)
    assert_within_limits(entity)
    table_store.save_report(report)
    back = table_store.get_report("big-3")
    assert back is not None
    assert list(back.skipped_subscriptions) == list(report.skipped_subscriptions)
    for sub, reason in back.skipped_subscriptions.items():
        assert reason.endswith("\u2026")
        assert report.skipped_subscriptions[sub].startswith(reason[:-1])
        assert len(reason) >= 200  # shortened only as far as needed


def test_split_string_parts_fit_and_join_back():
    text = ("ab\U0001f600ł" * 40_000)[:150_001]
    parts = split_string(text, 1000)
    assert "".join(parts) == text
    assert all(len(p.encode("utf-16-le")) <= 1000 for p in parts)
    assert split_string("short") == ["short"]


def old_row(report_id: str, **fields: str) -> dict:
    """A report row as the previous code wrote it: one property per field, cut by fit_string."""
    subs = subscriptions(MAX_SUBSCRIPTIONS)
    skipped = {s: reason_for(s, 300) for s in subs[1:]}
    entity = {
        "PartitionKey": REPORT_PARTITION,
        "RowKey": "r_" + report_id,
        "report_id": report_id,
        "report_type": "detailed",
        "status": "completed",
        "customer": "Contoso",
        "source": "api",
        "filters": json.dumps({"categories": ["cost"], "impacts": [], "resourceGroups": []}),
        "savings_note": "",
        "failure_code": "",
        "failure_message": "",
        "recommendation_count": 12,
        "api_pages": 3,
        "instance_id": report_id,
        "subscription_ids": fit_string(json.dumps(subs, separators=(",", ":"))),
        "formats": '["html"]',
        "files": '{"html":"x/advisor-report.html"}',
        "skipped_subscriptions": fit_string(json.dumps(skipped, separators=(",", ":"))),
        "requested_at": "2026-11-30T08:00:00+00:00",
    }
    entity.update(fields)
    return entity


def test_a_row_with_a_field_cut_mid_json_by_the_old_code_still_loads(table_store):
    entity = old_row("old-1")
    assert entity["skipped_subscriptions"].endswith("[truncated]")  # the damage is real
    write_raw(table_store, entity)

    back = table_store.get_report("old-1")
    assert back is not None
    assert back.skipped_subscriptions == {}  # the damaged field comes back empty
    assert back.status is ReportStatus.COMPLETED
    assert back.subscription_ids == subscriptions(MAX_SUBSCRIPTIONS)  # 19.5 K: was never cut
    assert back.filters.categories == ("cost",)
    assert back.files == {"html": "x/advisor-report.html"} and back.formats == ["html"]
    assert back.recommendation_count == 12
    assert back.requested_at == datetime(2026, 11, 30, 8, tzinfo=UTC)


def test_odd_values_load_as_defaults_and_an_unreadable_status_as_failed(table_store):
    write_raw(
        table_store,
        old_row(
            "odd-1",
            status="half-done",
            report_type="weekly",
            requested_at="yesterday",
            recommendation_count="many",
            counts_by_category="[1, 2]",
            filters='{"categories": 5}',
            subscription_ids='{"not": "a list"}',
        ),
    )
    back = table_store.get_report("odd-1")
    assert back is not None
    assert back.status is ReportStatus.FAILED
    assert back.failure_code == "unreadable_report"
    assert back.report_type is ReportType.DETAILED
    assert back.requested_at is None and back.recommendation_count == 0
    assert back.counts_by_category == {} and back.subscription_ids == []
    assert back.filters.categories == ()


def test_a_part_missing_from_a_split_value_empties_that_field_only(table_store):
    report = big_report("gap-1")
    entity = report_to_entity(report)
    entity.pop("skipped_subscriptions__2")
    write_raw(table_store, entity)
    back = table_store.get_report("gap-1")
    assert back is not None
    assert back.skipped_subscriptions == {}
    assert back.subscription_ids == report.subscription_ids
    assert get_long_string(entity, "subscription_ids") == json.dumps(
        report.subscription_ids, separators=(",", ":")
    )


def test_update_report_starts_again_when_someone_else_wrote_in_between(table_store):
    report = big_report("race-1", n=3)
    report.status = ReportStatus.GENERATING
    table_store.save_report(report)
    calls: list[ReportStatus] = []

    def fail_if_unfinished(current: Report) -> bool:
        calls.append(current.status)
        if current.status.finished:
            return False
        if len(calls) == 1:  # the finalize activity completes the report meanwhile
            done = table_store.get_report("race-1")
            assert done is not None
            done.status = ReportStatus.COMPLETED
            table_store.save_report(done)
        current.status = ReportStatus.FAILED
        return True

    result = table_store.update_report("race-1", fail_if_unfinished)
    assert calls == [ReportStatus.GENERATING, ReportStatus.COMPLETED]
    assert result is not None and result.status is ReportStatus.COMPLETED
    stored = table_store.get_report("race-1")
    assert stored is not None and stored.status is ReportStatus.COMPLETED
    rows, _ = table_store.list_reports(limit=10)
    assert [(r["report_id"], r["status"]) for r in rows] == [("race-1", "completed")]
    assert table_store.update_report("missing", fail_if_unfinished) is None


def test_a_finished_report_is_never_given_another_status_by_a_stale_write(table_store):
    report = big_report("final-1", n=2)
    report.status = ReportStatus.PROCESSING
    table_store.save_report(report)
    stale = table_store.get_report("final-1")  # an activity reads it, then works a while
    assert stale is not None

    def fail(current: Report) -> bool:  # meanwhile the poll finds the orchestration terminated
        current.status = ReportStatus.FAILED
        current.failure_code = "orchestration_terminated"
        return True

    table_store.update_report("final-1", fail)
    stale.recommendation_count = 42
    assert table_store.save_report(stale) is False  # the activity's write is dropped
    stored = table_store.get_report("final-1")
    assert stored is not None
    assert stored.status is ReportStatus.FAILED and stored.failure_code == "orchestration_terminated"
    assert stored.recommendation_count == 0
    # The same status may still be written again (a retried step repeating itself).
    stored.failure_message = "again"
    assert table_store.save_report(stored) is True
