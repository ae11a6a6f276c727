"""Scheduled reports end to end on devhost: the schedules API over HTTP, and the
``scheduled_reports`` timer fired through the host's admin API (``POST /admin/functions/{name}``
with the master key, as on the real host) starting a real report that completes.

Time is not waited for: a test moves a schedule's ``runsAfter`` (the instant its runs are
counted from) back in the table, as if the app had been down since then, and fires the timer.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .support import E2E_SETTINGS, ApiClient
from .test_customers import create_customer, register

pytestmark = pytest.mark.e2e

TIMER = "scheduled_reports"


def _settled_cron(zone: str = "Europe/Warsaw") -> str:
    """Daily, at the minute half an hour ago (local time): its latest due time stays the same for
    the next 23 hours, so a test that fires the timer twice never meets a new due time between
    the two (an hourly schedule did, when CI ran across the top of the hour)."""
    from zoneinfo import ZoneInfo

    due = datetime.now(ZoneInfo(zone)) - timedelta(minutes=30)
    return f"{due.minute} {due.hour} * * *"


CRON = _settled_cron()


@pytest.fixture
def schedules(api: ApiClient) -> Iterator[Callable[..., dict[str, Any]]]:
    """``schedules(**body)`` creates a schedule (201); every one is deleted after the test, so
    no later firing of the timer finds it."""
    made: list[str] = []

    def create(**fields: Any) -> dict[str, Any]:
        body = {"name": f"Schedule {uuid.uuid4().hex[:6]}", "reportType": "detailed", "formats": ["html"],
                "cron": CRON, "timeZone": "Europe/Warsaw", **fields}  # fmt: skip
        response = api.post("/api/schedules", json=body)
        assert response.status_code == 201, response.text
        made.append(response.json()["scheduleId"])
        return response.json()

    yield create
    for schedule_id in made:
        api.call("DELETE", f"/api/schedules/{schedule_id}")


def backdate(stack: Any, schedule_id: str, hours: float) -> datetime:
    """As if the app had been down since ``hours`` ago: runs are counted from then."""
    from azure.data.tables import TableServiceClient, UpdateMode

    since = datetime.now(UTC) - timedelta(hours=hours)
    table = TableServiceClient.from_connection_string(stack.storage_connection).get_table_client("schedules")
    table.update_entity(
        {"PartitionKey": "schedule", "RowKey": schedule_id, "runsAfter": since.isoformat()},
        mode=UpdateMode.MERGE,
    )
    return since


def fire_timer(api: ApiClient, stack: Any, timeout: float = 20) -> None:
    """``POST /admin/functions/scheduled_reports`` with the master key; returns when the run is over."""
    headers = {"x-functions-key": stack.master_key}
    response = api.post(f"/admin/functions/{TIMER}", key=False, headers=headers, json={"input": ""})
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + timeout
    while TIMER in stack.host.timers_running():
        assert time.monotonic() < deadline, "the timer is still running"
        time.sleep(0.05)


def schedule_reports(api: ApiClient, schedule_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/schedules/{schedule_id}/reports", params={"limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["reports"]


def test_the_schedules_api(
    api: ApiClient, schedules: Callable[..., dict[str, Any]], sample_subscriptions
) -> None:
    customer = create_customer(api)
    sub = sample_subscriptions[0]
    mine = schedules(
        subscriptionIds=[sub.upper()], cron="30 2 * * *", retentionDays=400, formats=["pdf", "html"]
    )
    theirs = schedules(customerId=customer["customerId"], enabled=False, timeZone="UTC")
    assert mine["subscriptionIds"] == [sub.lower()] and mine["customerId"] is None
    assert (mine["cron"], mine["timeZone"], mine["retentionDays"], mine["hasCallback"]) == (
        "30 2 * * *", "Europe/Warsaw", 400, False,
    )  # fmt: skip
    assert mine["nextRunAt"] and mine["lastRunAt"] is None and mine["lastReportId"] is None
    assert (theirs["customerId"], theirs["subscriptionIds"], theirs["nextRunAt"]) == (
        customer["customerId"],
        None,
        None,
    )

    got = api.get(f"/api/schedules/{mine['scheduleId'].upper()}")
    assert got.status_code == 200 and got.json() == mine
    listed = api.get("/api/schedules", params={"customerId": customer["customerId"]}).json()["schedules"]
    assert [s["scheduleId"] for s in listed] == [theirs["scheduleId"]]
    everything = {s["scheduleId"] for s in api.get("/api/schedules").json()["schedules"]}
    assert {mine["scheduleId"], theirs["scheduleId"]} <= everything

    patched = api.call(
        "PATCH", f"/api/schedules/{theirs['scheduleId']}", json={"enabled": True, "name": "Renamed"}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["enabled"], patched.json()["name"], patched.json()["cron"]) == (
        True,
        "Renamed",
        CRON,
    )
    assert patched.json()["nextRunAt"] is not None
    assert api.get(f"/api/schedules/{theirs['scheduleId']}").json()["name"] == "Renamed"
    before = api.get(f"/api/schedules/{theirs['scheduleId']}").json()
    for bad, status, field in (
        ({"customerId": str(uuid.uuid4())}, 404, "customerId"),
        ({"cron": "61 * * * *"}, 400, "cron"),
        ({"name": "ok", "formats": ["docx"]}, 400, "formats"),
        ({"nextRunAt": "2030-01-01T00:00:00Z"}, 400, "nextRunAt"),
    ):
        refused = api.call("PATCH", f"/api/schedules/{theirs['scheduleId']}", json=bad)
        assert (refused.status_code, refused.json()["error"]["field"]) == (status, field), refused.text
    assert api.get(f"/api/schedules/{theirs['scheduleId']}").json() == before  # nothing changed

    assert api.call("DELETE", f"/api/schedules/{mine['scheduleId']}").status_code == 204
    assert api.get(f"/api/schedules/{mine['scheduleId']}").status_code == 404
    assert api.call("DELETE", f"/api/schedules/{mine['scheduleId']}").status_code == 404
    assert api.call("PATCH", f"/api/schedules/{mine['scheduleId']}", json={"name": "x"}).status_code == 404
    assert api.get(f"/api/schedules/{uuid.uuid4()}/reports").json()["reports"] == []


@pytest.mark.usefixtures("nothing_started")
def test_bad_schedules_are_refused_and_nothing_is_stored(api: ApiClient, sample_subscriptions) -> None:
    good = {
        "name": "n",
        "subscriptionIds": [sample_subscriptions[0]],
        "reportType": "cost",
        "cron": "0 6 * * 1",
    }
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**good, "cron": "0 0 6 * * 1"}, 400, "cron"),
        ({**good, "timeZone": "Europe/Atlantis"}, 400, "timeZone"),
        ({**good, "formats": ["docx"]}, 400, "formats"),
        ({**good, "customerId": str(uuid.uuid4())}, 400, "customerId"),  # both scopes
        (
            {k: v for k, v in good.items() if k != "subscriptionIds"} | {"customerId": str(uuid.uuid4())},
            404,
            "customerId",
        ),
        ({**good, "retentionDays": 7}, 400, "retentionDays"),
        ({**good, "callbackUrl": "http://127.0.0.1/callback"}, 400, "callbackUrl"),
        ({**good, "enabled": "no"}, 400, "enabled"),
        ({k: v for k, v in good.items() if k != "name"}, 400, "name"),
    ]
    for body, status, field in cases:
        response = api.post("/api/schedules", json=body)
        assert (response.status_code, response.json()["error"].get("field")) == (status, field), (
            body,
            response.text,
        )
    assert (
        api.post(
            "/api/schedules", data=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert api.get("/api/schedules/not-a-guid").status_code == 404
    assert api.get("/api/schedules", params={"customerId": "nope"}).status_code == 400


def test_the_timer_is_bound_to_the_report_schedule_setting(api: ApiClient, stack: Any) -> None:
    listed = api.get("/admin/functions", key=False, headers={"x-functions-key": stack.master_key})
    [timer] = [f for f in listed.json() if f["name"] == TIMER]
    assert (timer["trigger"], timer["error"]) == ("timerTrigger", None)
    # "%REPORT_SCHEDULE%" resolved from the app setting, as the host resolves binding expressions.
    assert stack.host.app.functions[TIMER].schedule == E2E_SETTINGS["REPORT_SCHEDULE"]


def test_the_timer_starts_a_due_run_once_and_its_report_completes(
    api: ApiClient, stack: Any, schedules: Callable[..., dict[str, Any]], new_subscriptions: Any
) -> None:
    [sub] = new_subscriptions(1, 8)
    customer = create_customer(api, branding={"displayName": "Scheduled Contoso"})
    register(api, sub["subscriptionId"], customer["customerId"])
    schedule = schedules(customerId=customer["customerId"], retentionDays=180)
    sid = schedule["scheduleId"]
    backdate(stack, sid, hours=30)  # a day's run and more missed: one report, for the latest

    fire_timer(api, stack)

    [listed] = schedule_reports(api, sid)
    assert listed["scheduleId"] == sid
    report = api.poll(listed["url"])
    assert report["status"] == "completed", report.get("failure")
    assert (report["scheduleId"], report["customerId"], report["customer"]) == (
        sid, customer["customerId"], "Scheduled Contoso",
    )  # fmt: skip
    assert report["scope"]["subscriptionIds"] == [sub["subscriptionId"].lower()]
    assert report["counts"]["recommendations"] == len(sub["recommendations"])
    after = api.get(f"/api/schedules/{sid}").json()
    assert (after["lastReportId"], after["lastError"]) == (report["reportId"], None)
    # The schedule's retention goes with the report, where the retention timer reads it.
    from azure.data.tables import TableServiceClient

    reports = TableServiceClient.from_connection_string(stack.storage_connection).get_table_client("reports")
    assert reports.get_entity("report", f"r_{report['reportId']}")["retention_days"] == 180
    assert after["nextRunAt"].endswith(":00Z") and after["nextRunAt"] > after["lastRunAt"]

    # Firing again, and firing after the record of the run was lost (a host that died between
    # starting the report and recording it), start nothing new: the run's id is the same.
    fire_timer(api, stack)
    backdate(stack, sid, hours=5)
    fire_timer(api, stack)
    assert [r["reportId"] for r in schedule_reports(api, sid)] == [report["reportId"]]
    listed_all = [
        r for r in api.list_reports(limit=100).json()["reports"] if r["reportId"] == report["reportId"]
    ]
    assert [r["scheduleId"] for r in listed_all] == [sid]


def test_two_hosts_firing_at_once_start_one_report(
    api: ApiClient, stack: Any, schedules: Callable[..., dict[str, Any]], new_subscriptions: Any
) -> None:
    [sub] = new_subscriptions(1, 5)
    sid = schedules(subscriptionIds=[sub["subscriptionId"]])["scheduleId"]
    backdate(stack, sid, hours=2)
    # The host runs one invocation of a timer at a time (the real one holds a lease across
    # instances too); two hosts that both fire are two invocations of the function itself.
    from devhost.functions_host.host import timer_request

    info = stack.host.app.functions[TIMER]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def one_host() -> None:
        barrier.wait()
        try:
            stack.host._invoke(info, timer_request(False, None))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_host) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    [report] = schedule_reports(api, sid)
    assert api.poll(report["url"])["status"] == "completed"
    assert api.get(f"/api/schedules/{sid}").json()["lastReportId"] == report["reportId"]


def test_disabled_schedules_and_a_deleted_customers_schedule_are_skipped(
    api: ApiClient, stack: Any, schedules: Callable[..., dict[str, Any]], new_subscriptions: Any
) -> None:
    gone_sub, kept_sub = new_subscriptions(2, 3)
    customer = create_customer(api)
    register(api, gone_sub["subscriptionId"], customer["customerId"])
    orphan = schedules(customerId=customer["customerId"])["scheduleId"]
    disabled = schedules(subscriptionIds=[kept_sub["subscriptionId"]], enabled=False)["scheduleId"]
    for sid in (orphan, disabled):
        backdate(stack, sid, hours=3)
    deleted = api.call("DELETE", f"/api/customers/{customer['customerId']}", params={"cascade": "true"})
    assert deleted.status_code == 200, deleted.text

    fire_timer(api, stack)

    assert schedule_reports(api, orphan) == [] and schedule_reports(api, disabled) == []
    skipped = api.get(f"/api/schedules/{orphan}").json()
    assert f"No customer {customer['customerId']}" in skipped["lastError"], skipped
    assert skipped["lastRunAt"] is None and skipped["lastReportId"] is None
    quiet = api.get(f"/api/schedules/{disabled}").json()
    assert (quiet["lastError"], quiet["lastRunAt"], quiet["nextRunAt"]) == (None, None, None)
    # Skipped for good: the next firing does not try (or log) the same run again.
    fire_timer(api, stack)
    assert api.get(f"/api/schedules/{orphan}").json()["lastError"] == skipped["lastError"]
