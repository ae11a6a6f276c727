"""Faults at Advisor: transient ones are retried (azure-core's own retries, then the durable
retry policy) and the report completes in full; permanent ones fail the report at once (one
subscription) or leave the subscription out and say why (several).

Each test uses fresh subscriptions, so its faults never touch what other tests count."""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pytest

from shared.pipeline import PERSIST_CHUNK

from .support import (
    PAGE_SIZE,
    ApiClient,
    arm_requests_since,
    count_stored_recommendations,
    history_events,
    last_seq,
)

pytestmark = pytest.mark.e2e

AZURE_CORE_ATTEMPTS = 4  # one try and azure-core's 3 status retries


def folded_variants(report: dict[str, Any]) -> int:
    match = re.search(r"([\d,]+) repeated variants? (?:are|is) not counted", report["savings"]["note"] or "")
    return int(match.group(1).replace(",", "")) if match else 0


def test_transient_faults_are_retried_until_the_report_is_complete(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    throttled, failing, garbled = new_subscriptions(3, 60)
    ids = [s["subscriptionId"] for s in (throttled, failing, garbled)]
    # More failures than azure-core retries: the activity fails once, the durable retry recovers.
    stack.standin.inject_fault(subscription=ids[0], operation="list", status=429, retry_after=0, count=5)
    stack.standin.inject_fault(subscription=ids[1], operation="list", status=500, count=5)
    # A page that is not JSON (azure-core does not retry that): page 1 is already stored when
    # page 2 fails, so the retried activity must overwrite, not duplicate.
    stack.standin.inject_fault(subscription=ids[2], malformed=True, page=2, count=1)
    seq = last_seq(stack)

    started = api.start({"subscriptionIds": ids, "reportType": "detailed", "formats": ["html"]})
    report = api.poll(started.headers["Location"])

    assert report["status"] == "completed", report.get("failure")
    assert report["scope"]["subscriptionsLeftOut"] == []
    served = sum(len(s["recommendations"]) for s in (throttled, failing, garbled))
    assert count_stored_recommendations(stack, report["reportId"]) == served == 180
    assert report["counts"]["recommendations"] == served - folded_variants(report)
    assert report["counts"]["recommendations"] > 0

    seen = {sub: arm_requests_since(stack, seq, sub) for sub in ids}
    lists = {sub: [r for r in reqs if r["operation"] == "list"] for sub, reqs in seen.items()}
    assert [r["status"] for r in lists[ids[0]]].count(429) == 5
    assert [r["status"] for r in lists[ids[1]]].count(500) == 5
    for sub in ids[:2]:
        # 5 failures, then the 2 pages of the successful attempt.
        assert len(lists[sub]) == 5 + 2, [(r["status"], r["page"]) for r in lists[sub]]
        assert [r["status"] for r in lists[sub][-2:]] == [200, 200]
    garbled_pages = [(r["page"], r["fault"] is not None) for r in lists[ids[2]]]
    assert garbled_pages == [(1, False), (2, True), (1, False), (2, False)], garbled_pages

    # Each fetch owns its retries in its own sub-orchestration (the report's history holds none).
    rid = started.json()["reportId"]
    assert history_events(api.history(rid), "fetch_subscription") == []
    for sub in ids:
        history = api.fetch_history(rid, sub.lower())
        failed = history_events(history, "fetch_subscription", "TaskFailed")
        completed = history_events(history, "fetch_subscription", "TaskCompleted")
        assert len(failed) == 1, sub  # the activity failed once ...
        assert len(completed) == 1 and completed[0]["Result"]["ok"], sub  # ... and the retry succeeded


def test_a_subscription_failing_with_500_on_every_call_is_left_out_and_named(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    good, broken = new_subscriptions(2, 20)
    broken_id = broken["subscriptionId"]
    stack.standin.inject_fault(subscription=broken_id, status=500)  # always
    seq = last_seq(stack)

    report = api.run_report(
        {"subscriptionIds": [good["subscriptionId"], broken_id], "reportType": "detailed"}
    )

    assert report["status"] == "completed", report.get("failure")
    [left_out] = report["scope"]["subscriptionsLeftOut"]
    assert left_out["subscriptionId"] == broken_id.lower()
    assert "after 3 attempts" in left_out["reason"] and "500" in left_out["reason"], left_out
    for noise in ("Activity function", "Traceback", 'File "', "Error: "):
        assert noise not in left_out["reason"], noise
    assert count_stored_recommendations(stack, report["reportId"]) == len(good["recommendations"])
    # The durable policy ran its 3 attempts, each after azure-core's own retries; then it stopped.
    lists = [r for r in arm_requests_since(stack, seq, broken_id) if r["operation"] == "list"]
    assert len(lists) == 3 * AZURE_CORE_ATTEMPTS, len(lists)
    assert set(report["files"]) == {"html", "pdf"}


def test_forbidden_only_subscription_fails_fast_without_retries(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    sub = new_subscriptions(1, 20)[0]["subscriptionId"]
    stack.standin.inject_fault(subscription=sub, status=403)  # always
    seq = last_seq(stack)

    began = time.monotonic()
    started = api.start({"subscriptionIds": [sub], "reportType": "detailed"})
    report = api.poll(started.headers["Location"], timeout=20)
    elapsed = time.monotonic() - began

    assert report["status"] == "failed"
    assert report["failure"]["code"] == "authorization_failed"
    message = report["failure"]["message"]
    assert sub.lower() in message.lower()
    assert "403" in message and "access" in message.lower()
    for unwanted in ("Traceback", "Bearer ", "Authorization:", "access_token", 'File "'):
        assert unwanted not in message, unwanted
    assert "files" not in report
    assert report["completedAt"]
    assert elapsed < 10, elapsed

    # azure-core does not retry a 403 and neither does the durable policy: one request in all.
    reqs = arm_requests_since(stack, seq, sub)
    assert [(r["operation"], r["status"]) for r in reqs] == [("list", 403)]
    rid = started.json()["reportId"]
    history = api.fetch_history(rid, sub.lower())
    assert history_events(history, "fetch_subscription", "TaskFailed") == []
    assert len(history_events(history, "fetch_subscription", "TaskCompleted")) == 1
    assert api.history(rid)["output"]["failureCode"] == "authorization_failed"

    link = f"/api/reports/{report['reportId']}/files/html"
    assert api.get(link).status_code == 404


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (404, "subscription_not_found", "not found"),
        (401, "token_rejected", "authentication"),  # after one renewed token is refused too
    ],
)
def test_other_permanent_faults_fail_the_report_without_durable_retries(
    api: ApiClient, stack: Any, new_subscriptions: Any, status: int, code: str, words: str
) -> None:
    sub = new_subscriptions(1, 10)[0]["subscriptionId"]
    stack.standin.inject_fault(subscription=sub, status=status)  # always
    seq = last_seq(stack)
    started = api.start({"subscriptionIds": [sub], "reportType": "executive"})
    report = api.poll(started.headers["Location"], timeout=20)

    assert report["status"] == "failed"
    assert report["failure"]["code"] == code
    assert sub.lower() in report["failure"]["message"].lower()
    assert words in report["failure"]["message"].lower()
    lists = [r for r in arm_requests_since(stack, seq, sub) if r["operation"] == "list"]
    assert 1 <= len(lists) <= 2 and {r["status"] for r in lists} == {status}  # no retry storm
    history = api.fetch_history(started.json()["reportId"], sub.lower())
    assert history_events(history, "fetch_subscription", "TaskFailed") == []


def test_a_subscription_the_tenant_does_not_have_fails_the_report(api: ApiClient) -> None:
    unknown = "5d0c9f1e-2b3a-4c5d-8e7f-6a5b4c3d2e1f"
    report = api.run_report({"subscriptionIds": [unknown], "reportType": "detailed"}, timeout=20)
    assert report["status"] == "failed"
    assert report["failure"]["code"] == "subscription_not_found"
    assert unknown in report["failure"]["message"]


def test_unreadable_subscriptions_are_left_out_with_their_reason(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    good, forbidden = new_subscriptions(2, 20)
    good_id, forbidden_id = good["subscriptionId"], forbidden["subscriptionId"]
    unknown_id = "3b1f0a9e-5c2d-4e7f-8a6b-9c0d1e2f3a4b"  # not in the tenant: ARM says 404
    assert unknown_id not in {s.lower() for s in stack.standin.subscription_ids}
    stack.standin.inject_fault(subscription=forbidden_id, status=403)

    report = api.run_report(
        {"subscriptionIds": [good_id, forbidden_id, unknown_id], "reportType": "detailed", "formats": ["pdf"]}
    )

    assert report["status"] == "completed", report.get("failure")
    assert sorted(report["scope"]["subscriptionIds"]) == sorted(
        s.lower() for s in (good_id, forbidden_id, unknown_id)
    )
    left_out = {e["subscriptionId"].lower(): e["reason"] for e in report["scope"]["subscriptionsLeftOut"]}
    assert set(left_out) == {forbidden_id.lower(), unknown_id}
    assert "403" in left_out[forbidden_id.lower()] and "access" in left_out[forbidden_id.lower()].lower()
    assert "not found" in left_out[unknown_id].lower()
    assert count_stored_recommendations(stack, report["reportId"]) == len(good["recommendations"])
    assert report["counts"]["recommendations"] == len(good["recommendations"]) - folded_variants(report)
    assert set(report["files"]) == {"pdf"}
    _, pdf = api.download(report["files"]["pdf"])
    assert pdf.content.startswith(b"%PDF")


def test_a_repeated_next_link_leaves_the_subscription_out_instead_of_a_partial_count(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    [good] = new_subscriptions(1, 20)
    [looping] = new_subscriptions(1, PERSIST_CHUNK + 3 * PAGE_SIZE)
    good_id, looping_id = good["subscriptionId"], looping["subscriptionId"]
    # A page past the first stored chunk links to itself: a thousand rows are already stored
    # when the repeat shows.
    repeat_page = PERSIST_CHUNK // PAGE_SIZE + 2
    stack.standin.inject_fault(subscription=looping_id, next_link="repeat", page=repeat_page)

    report = api.run_report({"subscriptionIds": [good_id, looping_id], "reportType": "detailed"})

    assert report["status"] == "completed", report.get("failure")
    left_out = {e["subscriptionId"].lower(): e["reason"] for e in report["scope"]["subscriptionsLeftOut"]}
    assert set(left_out) == {looping_id.lower()}
    assert "same next-page link" in left_out[looping_id.lower()], left_out
    # Nothing of the looping subscription is counted: not the pages read before the repeat.
    assert count_stored_recommendations(stack, report["reportId"]) == len(good["recommendations"])
    assert report["counts"]["recommendations"] == len(good["recommendations"]) - folded_variants(report)


def test_a_fetch_that_outlasts_the_timeout_fails_the_report_for_good(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    """FETCH_TIMEOUT_SECONDS is read by the begin_report activity, which devhost runs on a
    thread of this process (as the Python worker runs sync functions): a 1 s timeout while this
    report runs, the suite's 30 s for the rest."""
    from shared.settings import reset_settings

    sub = new_subscriptions(1, 10)[0]["subscriptionId"]
    stack.standin.inject_fault(subscription=sub, operation="list", delay=4, count=1)
    seq = last_seq(stack)
    saved = os.environ.get("FETCH_TIMEOUT_SECONDS")
    os.environ["FETCH_TIMEOUT_SECONDS"] = "1"
    reset_settings()
    try:
        started = api.start({"subscriptionIds": [sub], "reportType": "detailed"})
        report = api.poll(started.headers["Location"], timeout=15)
    finally:
        if saved is None:
            os.environ.pop("FETCH_TIMEOUT_SECONDS", None)
        else:
            os.environ["FETCH_TIMEOUT_SECONDS"] = saved
        reset_settings()
    begun = history_events(api.history(started.json()["reportId"]), "begin_report", "TaskCompleted")
    assert begun[0]["Result"]["job"]["fetch_timeout_s"] == 1

    assert report["status"] == "failed"
    assert report["failure"]["code"] == "fetch_timeout"
    assert "1 s" in report["failure"]["message"]

    # The slow fetch still finishes in its worker; the report must stay failed, without files.
    deadline = time.monotonic() + 10
    while not [r for r in arm_requests_since(stack, seq, sub) if r["operation"] == "subscription"]:
        assert time.monotonic() < deadline, "the delayed fetch never finished"
        time.sleep(0.1)
    time.sleep(1.0)
    again = api.get(started.headers["Location"])
    assert again.status_code == 200
    assert again.json()["status"] == "failed" and "files" not in again.json()
    # DTFx completes an orchestration only once no task is open: the timed-out fetch ended, so
    # now the instance does too, with the failure as its output.
    rid = started.json()["reportId"]
    while (status := api.history(rid))["runtimeStatus"] != "Completed":
        assert time.monotonic() < deadline + 10, status["runtimeStatus"]
        time.sleep(0.1)
    assert status["output"]["failureCode"] == "fetch_timeout"
    assert api.get(f"/api/reports/{report['reportId']}/files/html").status_code == 404


def test_after_the_tokens_expire_a_new_report_renews_the_credential_without_a_restart(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    one, two = (s["subscriptionId"] for s in new_subscriptions(2, 10))
    body = {"subscriptionIds": [one, two], "reportType": "detailed", "formats": ["html"]}
    assert api.run_report(body)["status"] == "completed"  # the credential now holds a token
    # Entra's tokens end early (revoked, a clock step): ARM refuses the cached one with 401.
    stack.standin.expire_tokens()
    seq = last_seq(stack)

    report = api.run_report(body)

    assert report["status"] == "completed", report.get("failure")
    assert report["scope"]["subscriptionsLeftOut"] == []
    assert report["counts"]["recommendations"] + folded_variants(report) == 20
    seen = [r for sub in (one, two) for r in arm_requests_since(stack, seq, sub) if r["operation"] == "list"]
    assert 401 in [r["status"] for r in seen]  # the expired token was tried, refused, and renewed
    assert seen[-1]["status"] == 200
    assert stack.standin.requests(target="token", since=seq), "a new token was asked for"
