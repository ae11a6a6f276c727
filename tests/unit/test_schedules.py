"""Scheduled reports without I/O: validating a schedule (its report part by the parser of
POST /api/reports), what callers see, PATCH, when a run is due, and what the timer does with
due runs over an in-memory store and a clock passed in (catch-up once, double firing,
disabled schedules, a deleted customer)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared import schedule_service
from shared.errors import InvalidInputError, NotFoundError
from shared.report_request import parse_report_request
from shared.schedules import (
    DueRun,
    Schedule,
    apply_patch,
    due_run,
    next_run_at,
    parse_new_schedule,
    run_report_id,
    schedule_resource,
)
from tests.fakes import MemorySchedules

SUB = "00000000-0000-0000-0000-0000000000a1"
CUSTOMER = "11111111-2222-3333-4444-555555555555"
NOW = datetime(2026, 5, 4, 9, 20, tzinfo=UTC)  # a Monday


def body(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "Weekly cost",
        "subscriptionIds": [SUB],
        "reportType": "cost",
        "cron": "0 6 * * 1",
        "timeZone": "Europe/Warsaw",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def new(**fields: object) -> Schedule:
    return parse_new_schedule(body(**fields), min_retention=90, now=NOW)


# -- validation -------------------------------------------------------------------------------------


def test_a_schedule_by_subscriptions_and_one_by_customer():
    by_subs = new(formats=["pdf"], filters={"impacts": ["High"]}, retentionDays=365)
    assert (by_subs.report.subscription_ids, by_subs.customer_id, by_subs.report.formats) == (
        (SUB,),
        "",
        ("pdf",),
    )
    assert by_subs.report.filters.impacts == ("high",) and by_subs.retention_days == 365
    assert by_subs.enabled and by_subs.runs_after == NOW and by_subs.time_zone == "Europe/Warsaw"
    by_customer = new(subscriptionIds=None, customerId=CUSTOMER.upper(), timeZone=None)
    assert (by_customer.customer_id, by_customer.report.subscription_ids) == (CUSTOMER, ())
    assert by_customer.time_zone == "UTC"  # the default zone
    assert by_subs.schedule_id != by_customer.schedule_id


@pytest.mark.parametrize(
    "report_part",
    [
        {"subscriptionIds": [SUB], "customerId": CUSTOMER, "reportType": "cost"},
        {"reportType": "cost"},
        {"subscriptionIds": ["not-a-guid"], "reportType": "cost"},
        {"subscriptionIds": [SUB], "reportType": "monthly"},
        {"subscriptionIds": [SUB], "reportType": "cost", "formats": ["docx"]},
        {"subscriptionIds": [SUB], "reportType": "cost", "formats": []},
        {"subscriptionIds": [SUB], "reportType": "cost", "filters": {"categories": ["Speed"]}},
        {"subscriptionIds": [SUB], "reportType": "cost", "filters": {"tags": []}},
        {"customerId": CUSTOMER, "reportType": "cost", "customer": "Contoso"},
        {
            "subscriptionIds": [SUB] * 2 + [f"00000000-0000-0000-0000-{i:012d}" for i in range(501)],
            "reportType": "cost",
        },
    ],
)
def test_the_report_part_is_refused_exactly_as_post_reports_refuses_it(report_part):
    with pytest.raises(InvalidInputError) as as_report:
        parse_report_request(report_part)
    schedule = {"name": "x", "cron": "0 6 * * 1", **report_part}
    with pytest.raises(InvalidInputError) as as_schedule:
        parse_new_schedule(schedule, min_retention=90, now=NOW)
    assert (str(as_schedule.value), as_schedule.value.field) == (str(as_report.value), as_report.value.field)


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"name": None}, "name", "name is required"),
        ({"name": "  "}, "name", "1 to 120 characters"),
        ({"name": "n" * 121}, "name", "1 to 120 characters"),
        ({"cron": None}, "cron", "cron is required"),
        ({"cron": "0 */15 * * * *"}, "cron", "5 fields"),
        ({"cron": "0 25 * * *"}, "cron", "hour: 25 is outside 0-23"),
        ({"timeZone": "Mars/Olympus_Mons"}, "timeZone", "not an IANA time zone"),
        ({"timeZone": 1}, "timeZone", "IANA time zone"),
        ({"enabled": "yes"}, "enabled", "true or false"),
        ({"retentionDays": 30}, "retentionDays", "from 90 (REPORT_RETENTION_DAYS) to 3650"),
        ({"retentionDays": 3651}, "retentionDays", "from 90"),
        ({"retentionDays": True}, "retentionDays", "from 90"),
        ({"retentionDays": 120.5}, "retentionDays", "from 90"),
        ({"lastRunAt": "2026-01-01T00:00:00Z"}, "lastRunAt", "unknown field"),
    ],
)
def test_schedule_fields_are_refused_naming_the_field(fields, field, says):
    with pytest.raises(InvalidInputError) as caught:
        new(**fields)
    assert caught.value.field == field and says in str(caught.value)


def test_a_body_that_is_not_an_object_is_refused():
    bad_bodies: list[object] = [[], "x", None, 3]
    for bad in bad_bodies:
        with pytest.raises(InvalidInputError, match="JSON object"):
            parse_new_schedule(bad, min_retention=90, now=NOW)


# -- what callers see -----------------------------------------------------------------------------

RESOURCE_FIELDS = {
    "scheduleId", "name", "customerId", "subscriptionIds", "customer", "reportType", "formats", "filters",
    "cron", "timeZone", "hasCallback", "enabled", "retentionDays", "nextRunAt", "lastRunAt", "lastReportId",
    "lastError", "createdAt", "updatedAt",
}  # fmt: skip


def test_the_resource_never_shows_the_callback_url():
    secret = "https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers/manual?sig=SIGNATURE"
    plain = new()
    schedule = replace(plain, report=replace(plain.report, callback_url=secret))
    resource = schedule_resource(schedule, now=NOW)
    assert set(resource) == RESOURCE_FIELDS
    assert resource["hasCallback"] is True and "SIGNATURE" not in str(resource)
    assert schedule_resource(new(), now=NOW)["hasCallback"] is False


def test_the_resource_shows_the_next_run_in_utc():
    resource = schedule_resource(new(), now=NOW)
    # Mondays 06:00 in Warsaw (CEST in May): created Monday 09:20 UTC, so next Monday 04:00 UTC.
    assert resource["nextRunAt"] == "2026-05-11T04:00:00Z"
    assert (resource["subscriptionIds"], resource["customerId"]) == ([SUB], None)
    assert schedule_resource(new(enabled=False), now=NOW)["nextRunAt"] is None


# -- PATCH ----------------------------------------------------------------------------------------


def test_a_patch_changes_only_what_it_names():
    current = replace(new(), runs_after=NOW - timedelta(days=3), last_report_id="r")
    later = NOW + timedelta(hours=1)
    renamed = apply_patch(current, {"name": "Renamed", "formats": ["html"]}, min_retention=90, now=later)
    assert (renamed.name, renamed.report.formats, renamed.cron) == ("Renamed", ("html",), current.cron)
    assert renamed.runs_after == current.runs_after  # the timing did not change
    assert renamed.updated_at == later and renamed.last_report_id == "r"


def test_a_new_cron_time_zone_or_re_enable_counts_from_the_change():
    current = replace(new(), runs_after=NOW - timedelta(days=30))
    later = NOW + timedelta(hours=1)
    for change in ({"cron": "0 7 * * *"}, {"timeZone": "UTC"}):
        assert apply_patch(current, change, min_retention=90, now=later).runs_after == later
    disabled = replace(current, enabled=False)
    assert apply_patch(disabled, {"enabled": True}, min_retention=90, now=later).runs_after == later
    assert (
        apply_patch(current, {"enabled": False}, min_retention=90, now=later).runs_after == current.runs_after
    )


def test_a_patch_switches_the_scope_and_is_validated_whole():
    current = new()
    by_customer = apply_patch(current, {"customerId": CUSTOMER}, min_retention=90, now=NOW)
    assert (by_customer.customer_id, by_customer.report.subscription_ids) == (CUSTOMER, ())
    back = apply_patch(by_customer, {"subscriptionIds": [SUB]}, min_retention=90, now=NOW)
    assert (back.customer_id, back.report.subscription_ids) == ("", (SUB,))
    for bad, field in (
        ({"formats": ["docx"]}, "formats"),
        ({"cron": "* *"}, "cron"),
        ({"customer": "Contoso", "customerId": CUSTOMER}, "customer"),
        ({"scheduleId": CUSTOMER}, "scheduleId"),
        ({"subscriptionIds": []}, "subscriptionIds"),
    ):
        with pytest.raises(InvalidInputError) as caught:
            apply_patch(current, bad, min_retention=90, now=NOW)
        assert caught.value.field == field


# -- when a run is due ----------------------------------------------------------------------------


def test_the_run_id_is_derived_from_the_schedule_and_the_due_time():
    due = datetime(2026, 5, 11, 4, tzinfo=UTC)
    assert run_report_id("S", due) == run_report_id("s", due.astimezone(UTC))
    assert run_report_id("s", due) != run_report_id("s", due + timedelta(minutes=1))
    assert run_report_id("s", due) != run_report_id("t", due)


def test_a_missed_period_is_caught_up_once_with_its_latest_due_time():
    daily = replace(new(cron="0 6 * * *"), runs_after=NOW - timedelta(days=5))
    run = due_run(daily, NOW)
    assert run is not None and run.due == datetime(2026, 5, 4, 4, tzinfo=UTC)  # today 06:00 CEST
    assert due_run(replace(daily, runs_after=run.due), NOW) is None
    assert next_run_at(replace(daily, runs_after=run.due), NOW) == datetime(2026, 5, 5, 4, tzinfo=UTC)


def test_nothing_is_due_before_the_schedule_existed_or_while_it_is_disabled():
    assert due_run(new(cron="* * * * *"), NOW) is None  # created now: nothing since
    stale = replace(new(cron="* * * * *"), runs_after=NOW - timedelta(hours=1))
    assert due_run(stale, NOW) is not None
    assert due_run(replace(stale, enabled=False), NOW) is None


# -- the timer's pass over the schedules ----------------------------------------------------------


class Reports:
    """The run starter the timer is given, over a set of report ids created once (what the
    report table's create-only write gives)."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.created: list[str] = []
        self.attempts = 0
        self.fail_with = fail_with

    async def start(self, schedule: Schedule, run: DueRun) -> str:
        self.attempts += 1
        await asyncio.sleep(0)  # let a concurrent pass interleave
        if self.fail_with is not None:
            raise self.fail_with
        if run.report_id in self.created:
            return schedule_service.ALREADY_STARTED
        await asyncio.sleep(0)
        if run.report_id in self.created:
            return schedule_service.ALREADY_STARTED
        self.created.append(run.report_id)
        return schedule_service.STARTED


def stored(schedule: Schedule) -> MemorySchedules:
    store = MemorySchedules()
    store.create(schedule)
    return store


def test_catch_up_after_downtime_starts_one_report_for_the_latest_due_time():
    hourly = replace(new(cron="0 * * * *"), runs_after=NOW - timedelta(hours=6))
    store, reports = stored(hourly), Reports()
    results = asyncio.run(schedule_service.run_due_schedules(store, reports.start, NOW))
    latest = datetime(2026, 5, 4, 9, tzinfo=UTC)
    assert [(r.outcome, r.due) for r in results] == [("started", latest)]
    assert reports.created == [run_report_id(hourly.schedule_id, latest)]
    after = store.get(hourly.schedule_id)
    assert (after.runs_after, after.last_report_id, after.last_run_at) == (latest, reports.created[0], NOW)
    # The next pass, a minute later, has nothing to do; the next hour has one run again.
    assert (
        asyncio.run(schedule_service.run_due_schedules(store, reports.start, NOW + timedelta(minutes=1)))
        == []
    )
    asyncio.run(schedule_service.run_due_schedules(store, reports.start, NOW + timedelta(hours=1)))
    assert len(reports.created) == 2


def test_two_passes_at_once_start_one_report_and_record_it_once():
    hourly = replace(new(cron="0 * * * *"), runs_after=NOW - timedelta(hours=2))
    store, reports = stored(hourly), Reports()

    async def both() -> list[list[schedule_service.RunResult]]:
        return list(await asyncio.gather(*(schedule_service.run_due_schedules(store, reports.start, NOW)
                                           for _ in range(2))))  # fmt: skip

    first, second = asyncio.run(both())
    assert reports.attempts == 2 and len(reports.created) == 1
    assert sorted(r[0].outcome for r in (first, second)) == ["already_started", "started"]
    assert first[0].report_id == second[0].report_id
    assert store.writes == 1  # the second record found the run recorded already


def test_disabled_schedules_are_skipped_without_a_write():
    store, reports = (
        stored(replace(new(cron="0 * * * *", enabled=False), runs_after=NOW - timedelta(days=2))),
        Reports(),
    )
    assert asyncio.run(schedule_service.run_due_schedules(store, reports.start, NOW)) == []
    assert reports.attempts == 0 and store.writes == 0


def test_a_deleted_customer_skips_the_run_with_the_reason_logged_and_kept(caplog):
    by_customer = replace(new(subscriptionIds=None, customerId=CUSTOMER, cron="0 * * * *"),
                          runs_after=NOW - timedelta(hours=3))  # fmt: skip
    store = stored(by_customer)
    reports = Reports(fail_with=NotFoundError(f"No customer {CUSTOMER}", field="customerId"))
    with caplog.at_level(logging.WARNING, logger="shared.schedule_service"):
        results = asyncio.run(schedule_service.run_due_schedules(store, reports.start, NOW))
    assert [r.outcome for r in results] == ["skipped"]
    after = store.get(by_customer.schedule_id)
    assert f"No customer {CUSTOMER}" in after.last_error and "skipped" in after.last_error
    assert after.runs_after == datetime(2026, 5, 4, 9, tzinfo=UTC)  # the run counts as done
    assert after.last_report_id == ""
    assert any(f"No customer {CUSTOMER}" in r.getMessage() for r in caplog.records)
    # Not retried every time the timer fires.
    assert (
        asyncio.run(schedule_service.run_due_schedules(store, reports.start, NOW + timedelta(minutes=15)))
        == []
    )


def test_a_fault_that_may_pass_leaves_the_run_due_for_the_next_pass():
    hourly = replace(new(cron="0 * * * *"), runs_after=NOW - timedelta(hours=1))
    store = stored(hourly)
    failing = Reports(fail_with=ConnectionError("storage unreachable"))
    results = asyncio.run(schedule_service.run_due_schedules(store, failing.start, NOW))
    assert [r.outcome for r in results] == ["failed"]
    assert store.get(hourly.schedule_id).runs_after == hourly.runs_after
    assert "could not be started" in store.get(hourly.schedule_id).last_error
    working = Reports()
    results = asyncio.run(
        schedule_service.run_due_schedules(store, working.start, NOW + timedelta(minutes=15))
    )
    assert [r.outcome for r in results] == ["started"] and store.get(hourly.schedule_id).last_error == ""


def test_a_patch_between_due_and_record_is_not_overwritten():
    hourly = replace(new(cron="0 * * * *"), runs_after=NOW - timedelta(hours=1))
    store, reports = stored(hourly), Reports()
    patched_at = NOW + timedelta(seconds=1)

    async def start_and_patch(schedule: Schedule, run: DueRun) -> str:
        outcome = await reports.start(schedule, run)
        store.update(schedule.schedule_id, lambda s: apply_patch(s, {"cron": "30 * * * *"}, min_retention=90,
                                                                 now=patched_at))  # fmt: skip
        return outcome

    asyncio.run(schedule_service.run_due_schedules(store, start_and_patch, NOW))
    after = store.get(hourly.schedule_id)
    assert (after.cron, after.runs_after) == ("30 * * * *", patched_at)
