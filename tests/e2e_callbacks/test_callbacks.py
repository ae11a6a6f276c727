"""Report callbacks end to end: the whole app on devhost delivers finished reports to a receiver
on 127.0.0.1 (HTTPS, its own test CA), as a Logic App's "HTTP + Webhook" action waits for them.

The stack runs with ``CALLBACK_ALLOW_PRIVATE_HOSTS=true`` (the receiver is on loopback) and a
``CALLBACK_SIGNING_KEY``; its own package, so those settings never meet tests/e2e's stack,
which refuses such URLs (tests/e2e/test_callback_refusals.py). The receiver's CA is added to
the bundle the app trusts (``TLS_CA_BUNDLE``, the stand-in's CA).

Checked: the body is the report resource as ``GET /api/reports/{id}`` answers it, signed so the
receiver can verify it (and a tampered body does not verify); a failed report is delivered
too; 5xx is retried by the durable retry policy and every attempt is recorded; a redirect is
never followed; retries that run out leave the report as it ended; the CSV route takes
``callbackUrl`` too, in the query or the ``X-Callback-Url`` header; a report whose orchestration
is terminated is delivered once, by the poll that marks it failed; and the URL (with its
``sig=``) shows up in no answer, no orchestration history and no log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.callbacks import verify_signature
from tests.callback_receiver import Answer, Receiver
from tests.e2e.support import (
    E2E_SETTINGS,
    HEADER_2025,
    REPORT_TIMEOUT_SECONDS,
    SUB_A,
    ApiClient,
    row,
    started_stack,
    to_csv,
    within,
)

pytestmark = pytest.mark.e2e

SIGNING_KEY = "e2e-callback-signing-key-6d0b7c"
SIG = "sig=receivers-own-signature-0a9f3e"
SETTINGS = {**E2E_SETTINGS, "CALLBACK_ALLOW_PRIVATE_HOSTS": "true", "CALLBACK_SIGNING_KEY": SIGNING_KEY}
ATTEMPTS = int(E2E_SETTINGS["RETRY_ATTEMPTS"])


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def stack(receiver: Receiver) -> Iterator[Any]:
    with started_stack(SETTINGS) as dev:
        # The app trusts the stand-in's CA (TLS_CA_BUNDLE); now the receiver's too.
        with Path(dev.standin.ca_path).open("a") as bundle:
            bundle.write("\n" + receiver.ca_pem)
        yield dev


@pytest.fixture
def api(stack: Any, receiver: Receiver) -> ApiClient:
    receiver.reset()
    return ApiClient(stack)


@pytest.fixture
def sample(stack: Any) -> list[str]:
    return list(stack.standin.subscription_ids)[:2]


def hook(receiver: Receiver, name: str) -> str:
    return receiver.url(f"/hooks/{name}?api-version=2016-10-01&{SIG}")


def start(api: ApiClient, subscriptions: list[str], callback: str, **extra: Any) -> str:
    body = {
        "subscriptionIds": subscriptions,
        "reportType": "cost",
        "formats": ["html"],
        "callbackUrl": callback,
    }
    response = api.start({**body, **extra})
    started = response.json()
    assert "callback" not in started and SIG not in response.text
    return started["reportId"]


def settled(api: ApiClient, report_id: str) -> dict[str, Any]:
    """The report once its callback is delivered or has failed for good."""
    deadline = time.monotonic() + REPORT_TIMEOUT_SECONDS
    while True:
        response = api.get(f"/api/reports/{report_id}")
        body = response.json()
        if response.status_code == 200 and body["callback"]["status"] in ("delivered", "failed"):
            return body
        assert time.monotonic() < deadline, f"callback still {body.get('callback')} ({body['status']})"
        time.sleep(0.2)


def check_no_url_anywhere(api: ApiClient, report_id: str, caplog: pytest.LogCaptureFixture) -> None:
    for seen in api.seen:
        assert SIG not in seen.body and "/hooks/" not in seen.body, seen.url
        assert SIGNING_KEY not in seen.body, seen.url
    for instance in (report_id, f"{report_id}:callback"):
        history = json.dumps(api.history(instance))
        assert SIG not in history and "/hooks/" not in history, instance
    assert SIG not in caplog.text and "/hooks/" not in caplog.text and SIGNING_KEY not in caplog.text


def test_a_completed_report_is_delivered_signed(
    api: ApiClient, receiver: Receiver, sample: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with within(REPORT_TIMEOUT_SECONDS + 20):
        rid = start(api, sample, hook(receiver, "completed"))
        report = settled(api, rid)

    assert report["status"] == "completed"
    assert report["callback"]["status"] == "delivered" and report["callback"]["attempts"] == 1
    assert report["callback"]["deliveredAt"] and report["callback"]["lastError"] is None
    (got,) = receiver.for_report(rid)
    assert got.method == "POST" and got.path == f"/hooks/completed?api-version=2016-10-01&{SIG}"
    assert got.headers["Content-Type"].startswith("application/json")
    timestamp, signature = got.headers["X-Advisor-Timestamp"], got.headers["X-Advisor-Signature"]
    assert verify_signature(SIGNING_KEY, timestamp, got.body, signature, now=time.time())
    tampered = got.body.replace(b'"completed"', b'"failed"', 1)
    assert tampered != got.body
    assert not verify_signature(SIGNING_KEY, timestamp, tampered, signature, now=time.time())
    assert not verify_signature("not-the-key", timestamp, got.body, signature, now=time.time())

    # The body is the report as GET answers it, without the callback's own state.
    delivered = json.loads(got.body)
    shown = {k: v for k, v in report.items() if k != "callback"}
    assert set(delivered) == set(shown)
    assert {k: v for k, v in delivered.items() if k != "files"} == {
        k: v for k, v in shown.items() if k != "files"
    }
    assert delivered["files"]["html"].split("?")[0] == shown["files"]["html"].split("?")[0]
    assert "token=" in delivered["files"]["html"]  # a signed link: opens without a key
    assert api.call("GET", delivered["files"]["html"], key=False).status_code == 302
    check_no_url_anywhere(api, rid, caplog)


def test_a_busy_receiver_is_retried_until_it_takes_the_report(
    api: ApiClient, receiver: Receiver, sample: list[str]
) -> None:
    receiver.script(500, 503)
    with within(REPORT_TIMEOUT_SECONDS + 20):
        rid = start(api, sample, hook(receiver, "busy"))
        report = settled(api, rid)

    assert report["callback"]["status"] == "delivered"
    assert report["callback"]["attempts"] == 3 and report["callback"]["lastError"] is None
    received = receiver.for_report(rid)
    assert len(received) == 3
    assert all(json.loads(r.body)["reportId"] == rid for r in received)
    # The retries ran in the callback's step sub-orchestration, by the durable retry policy.
    history = api.history(f"{rid}:callback")
    failed = [e for e in history["historyEvents"] if e.get("EventType") == "TaskFailed"]
    assert len(failed) == 2


def test_retries_that_run_out_leave_the_report_as_it_ended(
    api: ApiClient, receiver: Receiver, sample: list[str]
) -> None:
    receiver.script(*([502] * ATTEMPTS))
    with within(REPORT_TIMEOUT_SECONDS + 20):
        rid = start(api, sample, hook(receiver, "down"))
        report = settled(api, rid)

    assert report["status"] == "completed" and set(report["files"]) == {"html"}
    assert report["callback"] == {
        "status": "failed", "attempts": ATTEMPTS, "deliveredAt": None,
        "lastError": "The receiver answered HTTP 502",
    }  # fmt: skip
    assert len(receiver.for_report(rid)) == ATTEMPTS


def test_a_redirect_is_not_followed(api: ApiClient, receiver: Receiver, sample: list[str]) -> None:
    """The receiver bounces the delivery to an internal address: nothing follows it, and a
    redirect is not worth retrying."""
    with Receiver(tls=False) as internal:
        receiver.script(Answer(307, internal.url("/latest/meta-data")))
        with within(REPORT_TIMEOUT_SECONDS + 20):
            rid = start(api, sample, hook(receiver, "redirect"))
            report = settled(api, rid)
        assert internal.received == []
    assert report["callback"]["status"] == "failed" and report["callback"]["attempts"] == 1
    assert "redirect" in report["callback"]["lastError"]
    assert len(receiver.for_report(rid)) == 1


def test_a_failed_report_is_delivered_with_its_reason(api: ApiClient, receiver: Receiver, stack: Any) -> None:
    from devhost.sample_tenant import build_tenant

    subs = []
    for sub in build_tenant(2, 5, seed=4242)["subscriptions"]:
        stack.standin.set_recommendations(sub["subscriptionId"], sub["recommendations"], sub["displayName"])
        stack.standin.inject_fault(subscription=sub["subscriptionId"], status=403)
        subs.append(sub["subscriptionId"])
    try:
        with within(REPORT_TIMEOUT_SECONDS + 20):
            rid = start(api, subs, hook(receiver, "failed"))
            report = settled(api, rid)
    finally:
        stack.standin.clear_faults()

    assert report["status"] == "failed" and report["callback"]["status"] == "delivered"
    (got,) = receiver.for_report(rid)
    delivered = json.loads(got.body)
    assert delivered["status"] == "failed" and delivered["failure"] == report["failure"]
    assert delivered["failure"]["code"] == "authorization_failed"


def test_a_csv_report_takes_its_callback_in_the_query(
    api: ApiClient, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data = to_csv(HEADER_2025, [row("Security", "High", "Enable MFA for owners", SUB_A, "", "Production")])
    with within(REPORT_TIMEOUT_SECONDS + 20):
        response = api.start_csv(
            data, reportType="detailed", formats="html", callbackUrl=hook(receiver, "csv")
        )
        assert response.status_code == 202, response.text
        rid = response.json()["reportId"]
        report = settled(api, rid)

    assert report["source"] == "csv" and report["callback"]["status"] == "delivered"
    (got,) = receiver.for_report(rid)
    assert got.path.startswith("/hooks/csv?") and json.loads(got.body)["counts"]["recommendations"] == 1
    check_no_url_anywhere(api, rid, caplog)


def test_a_csv_report_takes_its_callback_in_a_header(
    api: ApiClient, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data = to_csv(HEADER_2025, [row("Security", "High", "Enable MFA for owners", SUB_A, "", "Production")])
    with within(REPORT_TIMEOUT_SECONDS + 20):
        response = api.post(
            "/api/reports/csv", params={"reportType": "detailed", "formats": "html"}, data=data,
            headers={"Content-Type": "text/csv", "X-Callback-Url": hook(receiver, "csv-header")}, timeout=60,
        )  # fmt: skip
        assert response.status_code == 202, response.text
        rid = response.json()["reportId"]
        report = settled(api, rid)

    assert report["source"] == "csv" and report["callback"]["status"] == "delivered"
    (got,) = receiver.for_report(rid)
    assert got.path.startswith("/hooks/csv-header?")
    check_no_url_anywhere(api, rid, caplog)


def test_a_terminated_report_is_delivered_once_by_the_poll_that_finds_it(
    api: ApiClient, receiver: Receiver, stack: Any, sample: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The report's orchestration is terminated while it fetches, so it never reaches its
    callback stage: the GET that marks the report failed starts the delivery, once."""
    caplog.set_level(logging.DEBUG)
    sub = sample[0]
    stack.standin.inject_fault(subscription=sub, operation="list", delay=5, count=1)
    host = stack.host
    try:
        with within(REPORT_TIMEOUT_SECONDS + 20):
            rid = start(api, [sub], hook(receiver, "terminated"))
            while host.engine.get(f"{rid}:fetch:{sub.lower()}") is None:
                time.sleep(0.05)
            host.run(host.client().terminate(rid, "stopped by an operator"))
            while host.run(host.client().get_status(rid)).runtime_status.value != "Terminated":
                time.sleep(0.05)
            report = settled(api, rid)
    finally:
        stack.standin.clear_faults()

    assert report["status"] == "failed" and report["failure"]["code"] == "orchestration_terminated"
    assert report["callback"]["status"] == "delivered" and report["callback"]["attempts"] == 1
    (got,) = receiver.for_report(rid)
    timestamp, signature = got.headers["X-Advisor-Timestamp"], got.headers["X-Advisor-Signature"]
    assert verify_signature(SIGNING_KEY, timestamp, got.body, signature, now=time.time())
    delivered = json.loads(got.body)
    assert delivered["status"] == "failed" and delivered["failure"] == report["failure"]
    # The delivery ran in its own orchestration under the id the report's would have used.
    assert api.history(f"{rid}:callback")["runtimeStatus"] == "Completed"

    # Polled again, after everything has settled: nothing is delivered twice.
    host.wait_for_idle(timeout=15)
    for _ in range(3):
        assert api.get(f"/api/reports/{rid}").json()["callback"] == report["callback"]
    host.wait_for_idle(timeout=15)
    assert len(receiver.for_report(rid)) == 1
    check_no_url_anywhere(api, rid, caplog)


def test_the_callback_url_is_still_checked_for_form(api: ApiClient, sample: list[str]) -> None:
    """Private hosts are allowed here; everything else about the URL is still checked."""
    for url, says in [("ftp://127.0.0.1/hook", "https"), ("https://u:p@127.0.0.1/hook", "password")]:
        response = api.post(
            "/api/reports", json={"subscriptionIds": sample, "reportType": "cost", "callbackUrl": url}
        )
        assert response.status_code == 400 and response.json()["error"]["field"] == "callbackUrl"
        assert says in response.json()["error"]["message"]


def test_a_schedules_callback_is_kept_unseen_and_its_reports_are_delivered(
    api: ApiClient, stack: Any, receiver: Receiver, sample: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A schedule takes callbackUrl (validated as POST /api/reports validates it), shows only
    ``hasCallback``, and each report the timer starts for it is delivered there."""
    from tests.e2e.test_schedules import backdate, fire_timer

    caplog.set_level(logging.DEBUG)
    body = {"name": "Hooked", "subscriptionIds": sample[:1], "reportType": "cost", "formats": ["html"],
            "cron": "0 * * * *", "callbackUrl": hook(receiver, "scheduled")}  # fmt: skip
    created = api.post("/api/schedules", json=body)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["hasCallback"] is True and "callbackUrl" not in schedule and SIG not in created.text
    sid = schedule["scheduleId"]
    try:
        backdate(stack, sid, hours=2)
        with within(REPORT_TIMEOUT_SECONDS + 20):
            fire_timer(api, stack)
            [listed] = api.get(f"/api/schedules/{sid}/reports").json()["reports"]
            report = settled(api, listed["reportId"])
        assert report["scheduleId"] == sid and report["callback"]["status"] == "delivered"
        (got,) = receiver.for_report(report["reportId"])
        assert json.loads(got.body)["scheduleId"] == sid
        # A PATCH can drop the callback; the URL never shows on the way.
        dropped = api.call("PATCH", f"/api/schedules/{sid}", json={"callbackUrl": None})
        assert dropped.status_code == 200 and dropped.json()["hasCallback"] is False
        check_no_url_anywhere(api, report["reportId"], caplog)
    finally:
        api.call("DELETE", f"/api/schedules/{sid}")
