"""Reading reports that do not exist (yet), the 202 progress answer while a report runs, the
function key, and the anonymous health check."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from .support import ApiClient, E2ETimeout

pytestmark = pytest.mark.e2e


def assert_not_found(response: Any) -> None:
    assert response.status_code == 404, f"{response.status_code}: {response.text[:300]}"
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_and_malformed_report_ids_are_404(api: ApiClient) -> None:
    unknown = str(uuid.uuid4())
    assert_not_found(api.get(f"/api/reports/{unknown}"))
    assert_not_found(api.get(f"/api/reports/{unknown.upper()}"))
    for bad in ("not-a-guid", "r_" + unknown, unknown + "x", "%27%20or%20%271%27%3D%271"):
        response = api.get(f"/api/reports/{bad}")
        assert response.status_code == 404, (bad, response.status_code, response.text[:200])
    assert_not_found(api.get(f"/api/reports/{unknown}/files/pdf"))
    assert_not_found(api.get(f"/api/reports/{unknown}/files/html"))
    assert api.get("/api/reports/not-a-guid/files/pdf").status_code == 404


def test_an_upper_case_report_id_finds_the_report(api: ApiClient) -> None:
    """A GUID is the same id in any case: callers that upper-case it get their report."""
    started = api.start({"subscriptionIds": ["6513270e-269e-4d37-b2a7-4de452e6b438"], "reportType": "cost"})
    report_id = started.json()["reportId"]
    assert report_id == report_id.lower()
    response = api.get(f"/api/reports/{report_id.upper()}")
    assert response.status_code in (200, 202), response.text
    assert response.json()["reportId"] == report_id
    api.poll(started.headers["Location"])
    response = api.get(f"/api/reports/{report_id.upper()}/files/html", allow_redirects=False)
    assert response.status_code == 302, response.text


def test_a_running_report_answers_202_with_progress_and_has_no_files_yet(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    fast, slow = (s["subscriptionId"] for s in new_subscriptions(2, 10))
    stack.standin.inject_fault(subscription=slow, operation="list", delay=3, count=1)
    started = api.start({"subscriptionIds": [fast, slow], "reportType": "detailed"})
    report_id = started.json()["reportId"]
    location = started.headers["Location"]

    deadline = time.monotonic() + 10
    while True:
        response = api.get(location)
        assert response.status_code == 202, response.text  # the slow subscription holds it open
        body = response.json()
        assert body["reportId"] == report_id and body["status"] in ("pending", "processing")
        assert response.headers["Location"] == location
        assert float(response.headers["Retry-After"]) > 0
        assert body["progress"]["subscriptionsTotal"] == 2
        if body["progress"]["subscriptionsDone"] == 1:
            break
        if time.monotonic() > deadline:
            raise E2ETimeout(f"the fast subscription was never reported done: {body['progress']}")
        time.sleep(0.1)
    assert body["status"] == "processing"
    assert body["progress"]["recommendationsFetched"] == 10
    assert "files" not in body and "failure" not in body

    for fmt in ("html", "pdf"):
        assert_not_found(api.get(f"/api/reports/{report_id}/files/{fmt}"))

    report = api.poll(location)
    assert report["status"] == "completed", report.get("failure")
    assert api.get(report["files"]["pdf"]).status_code == 302
    assert api.get(f"/api/reports/{report_id}/files/docx").status_code in (400, 404)
    # A format the report was not asked for: 404 even though the report is completed.
    html_only = api.run_report({"subscriptionIds": [fast], "reportType": "security", "formats": ["html"]})
    assert_not_found(api.get(f"/api/reports/{html_only['reportId']}/files/pdf"))


def test_every_report_endpoint_needs_the_function_key(
    api: ApiClient, sample_subscriptions: list[str], nothing_started: None
) -> None:
    some_id = str(uuid.uuid4())
    body = {"subscriptionIds": sample_subscriptions[:1], "reportType": "cost"}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/reports", {"json": body}),
        ("POST", "/api/reports/csv", {"data": b"x", "params": {"reportType": "cost"}}),
        ("GET", "/api/reports", {}),
        ("GET", f"/api/reports/{some_id}", {}),
        ("GET", f"/api/reports/{some_id}/files/pdf", {}),
        ("GET", f"/runtime/webhooks/durabletask/instances/{some_id}", {}),
    ]
    for method, path, kwargs in calls:
        assert api.call(method, path, key=False, **kwargs).status_code == 401, (method, path)
        wrong = api.call(method, path + "?code=not-the-key", key=False, **kwargs)
        assert wrong.status_code == 401, (method, path)
        assert "Traceback" not in wrong.text


def test_health_is_anonymous(api: ApiClient) -> None:
    response = api.get("/api/health", key=False)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "healthy", "storage": "reachable"}
    assert api.get("/api/health").status_code == 200  # a key does no harm
