"""Schedules and scheduled reports against a real Azurite: the schedule rows, the conditional
update a timer and a PATCH share, the create-only report write that makes a run start once
(many threads at once), and a schedule's reports listed newest first with ``scheduleId``."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import ConflictError
from shared.models import Report, ReportType
from shared.report_service import create_report_once
from shared.schedule_store import ScheduleStore
from shared.schedules import parse_new_schedule, run_report_id

pytestmark = pytest.mark.azurite

SUB = "00000000-0000-0000-0000-0000000000b2"
CUSTOMER = "11111111-2222-3333-4444-555555555555"
NOW = datetime(2026, 5, 4, 9, 20, tzinfo=UTC)


def _schedule(**fields: object):
    body = {"name": "Nightly", "subscriptionIds": [SUB], "reportType": "detailed", "cron": "30 2 * * *",
            "timeZone": "Europe/Warsaw", "filters": {"categories": ["reliability"]}, **fields}  # fmt: skip
    return parse_new_schedule({k: v for k, v in body.items() if v is not None}, min_retention=90, now=NOW)


@pytest.fixture
def schedules(table_store) -> ScheduleStore:
    return ScheduleStore(table_store)


def test_a_schedule_round_trips_and_lists_by_customer(schedules):
    mine = _schedule(formats=["pdf"], retentionDays=400)
    theirs = _schedule(subscriptionIds=None, customerId=CUSTOMER)
    schedules.create(mine)
    schedules.create(theirs)
    assert schedules.get(mine.schedule_id) == mine
    assert schedules.get(mine.schedule_id.upper()) == mine
    assert {s.schedule_id for s in schedules.list()} >= {mine.schedule_id, theirs.schedule_id}
    assert [s.schedule_id for s in schedules.list(CUSTOMER)] == [theirs.schedule_id]
    with pytest.raises(ConflictError):
        schedules.create(mine)
    assert schedules.delete(mine.schedule_id) and not schedules.delete(mine.schedule_id)
    assert schedules.get(mine.schedule_id) is None


def test_an_update_starts_again_from_a_version_written_in_between(schedules):
    schedule = _schedule()
    schedules.create(schedule)
    calls = []

    def change(current):
        calls.append(current.name)
        if len(calls) == 1:  # someone else writes between this read and its write
            schedules.update(schedule.schedule_id, lambda s: replace(s, name="Renamed meanwhile"))
        return replace(current, last_error="recorded")

    stored = schedules.update(schedule.schedule_id, change)
    assert calls == ["Nightly", "Renamed meanwhile"]
    assert (stored.name, stored.last_error) == ("Renamed meanwhile", "recorded")
    assert schedules.get(schedule.schedule_id) == stored
    schedules.delete(schedule.schedule_id)
    assert schedules.update(schedule.schedule_id, change) is None  # nothing brought back


def _report(report_id: str, schedule_id: str, requested_at: datetime) -> Report:
    return Report(report_id=report_id, report_type=ReportType.DETAILED, subscription_ids=[SUB],
                  schedule_id=schedule_id, retention_days=400, requested_at=requested_at)  # fmt: skip


def test_a_run_is_created_once_however_many_hosts_try_at_once(table_store):
    schedule_id, due = "5c4e0d1a-9f0b-4c7e-8a59-3d1f2b6e7a01", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    report_id = run_report_id(schedule_id, due)
    barrier = threading.Barrier(8)

    def attempt(_: int) -> bool:
        report = _report(report_id, schedule_id, NOW)
        barrier.wait()
        return create_report_once(table_store, report)

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(attempt, range(8)))
    assert created.count(True) == 1
    stored = table_store.get_report(report_id)
    assert (stored.schedule_id, stored.retention_days, stored.status.value) == (schedule_id, 400, "pending")
    rows, _ = table_store.list_reports(schedule_id=schedule_id, limit=100)
    assert [r["report_id"] for r in rows] == [report_id]  # one listing row too


def test_a_schedules_reports_are_listed_newest_first_and_only_its_own(table_store):
    schedule_id, other = "7a1e2b3c-4d5e-4f60-8172-93a4b5c6d7e8", "8b2f3c4d-5e6f-4a70-9283-a4b5c6d7e8f9"
    ids = [run_report_id(schedule_id, NOW - timedelta(days=d)) for d in range(5)]
    for days, report_id in enumerate(ids):
        assert create_report_once(table_store, _report(report_id, schedule_id, NOW - timedelta(days=days)))
    create_report_once(table_store, _report(run_report_id(other, NOW), other, NOW))
    first, token = table_store.list_reports(schedule_id=schedule_id, limit=3)
    rest, end = table_store.list_reports(schedule_id=schedule_id, limit=3, continuation_token=token)
    assert [r["report_id"] for r in first + rest] == ids and end is None
    assert {r["schedule_id"] for r in first + rest} == {schedule_id}
