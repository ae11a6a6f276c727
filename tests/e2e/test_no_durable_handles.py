"""No answer carries a Durable management URL or a host key. In Azure those URLs hold the
Durable extension's system key, which can terminate, purge, rewind or list every instance in
the task hub (with their inputs: other customers' subscription ids). The report's own URL is
the caller's handle.

``ApiClient`` checks every answer the e2e tests get (body and headers) for the webhook path,
``durabletask`` and the host's keys; this test also calls every route the app registers, on
its success and error paths, and then checks every answer the session has seen."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from .support import HEADER_2025, SUB_A, ApiClient, find_durable_handles, host_keys, row, to_csv

pytestmark = pytest.mark.e2e


def app_routes() -> set[tuple[str, str]]:
    """Every (method, route) the app registers, as the worker indexes them."""
    import function_app
    from devhost.functions_host.app_loader import app_functions

    routes = set()
    for fn in app_functions(function_app.app):  # get_functions() may only be called once
        for binding in fn.get_bindings():
            spec = binding.get_dict_repr()
            if spec.get("type") == "httpTrigger":
                for method in spec.get("methods") or ["GET"]:
                    routes.add((str(getattr(method, "value", method)).upper(), spec["route"]))
    return routes


def test_the_detector_finds_what_the_sdk_would_hand_out(stack: Any) -> None:
    links = stack.host.client().create_http_management_payload(str(uuid.uuid4()))
    found = find_durable_handles(json.dumps(links), host_keys(stack, caller_key=""))
    assert "runtime/webhooks" in found and "durabletask" in found
    assert any(f.endswith("...") for f in found)  # the system key itself, by value


def test_no_route_answers_with_a_management_url_or_a_host_key(
    api: ApiClient, stack: Any, sample_subscriptions: list[str]
) -> None:
    hit: dict[tuple[str, str], list[int]] = {}

    def call(method: str, route: str, path: str, **kwargs: Any) -> Any:
        response = api.call(method, path, **kwargs)  # ApiClient checks it for handles
        hit.setdefault((method, route), []).append(response.status_code)
        return response

    sub = sample_subscriptions[0]
    started = call("POST", "reports", "/api/reports", json={"subscriptionIds": [sub], "reportType": "cost"})
    assert started.status_code == 202, started.text
    assert set(started.json()) == {"reportId", "status", "statusUrl"}
    report_id = started.json()["reportId"]
    call("POST", "reports", "/api/reports", json={"subscriptionIds": ["x"], "reportType": "cost"})
    call("POST", "reports", "/api/reports", key=False, json={"subscriptionIds": [sub]})

    csv = to_csv(HEADER_2025, [row("Security", "High", "Enable MFA", SUB_A, "", "Production")])
    csv_started = call(
        "POST", "reports/csv", "/api/reports/csv", params={"reportType": "security"}, data=csv,
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert csv_started.status_code == 202, csv_started.text
    assert set(csv_started.json()) == {"reportId", "status", "statusUrl"}
    call("POST", "reports/csv", "/api/reports/csv", params={"reportType": "security"}, data=b"no,csv\n")

    by_id = "reports/{reportId}"
    running = call("GET", by_id, f"/api/reports/{report_id}")
    assert running.status_code in (200, 202)
    report = api.poll(started.headers["Location"])
    assert report["status"] == "completed", report.get("failure")
    call("GET", by_id, f"/api/reports/{report_id}")
    call("GET", by_id, f"/api/reports/{uuid.uuid4()}")
    call("GET", by_id, "/api/reports/not-a-guid")
    assert api.poll(csv_started.headers["Location"])["status"] == "completed"

    call("GET", "reports", "/api/reports", params={"limit": "100"})
    call("GET", "reports", "/api/reports", params={"status": "weird"})

    files = "reports/{reportId}/files/{fmt}"
    assert call("GET", files, f"/api/reports/{report_id}/files/html").status_code == 302
    call("GET", files, f"/api/reports/{report_id}/files/docx")
    call("GET", files, f"/api/reports/{uuid.uuid4()}/files/pdf")

    link = "links/reports/{reportId}"
    signed = report["files"]["html"].replace("/files/html", "")
    assert call("GET", link, signed, key=False).status_code == 200
    call("GET", link, f"/api/links/reports/{report_id}", key=False)
    signed_file = "links/reports/{reportId}/files/{fmt}"
    assert call("GET", signed_file, report["files"]["html"], key=False).status_code == 302
    call("GET", signed_file, f"/api/links/reports/{report_id}/files/html?token=1.x", key=False)

    assert call("DELETE", by_id, f"/api/reports/{uuid.uuid4()}").status_code == 404
    assert call("DELETE", by_id, f"/api/reports/{report_id}").status_code == 204

    call("GET", "health", "/api/health", key=False)
    call("GET", "openapi.json", "/api/openapi.json", key=False)
    call("GET", "connection", "/api/connection")
    call("GET", "connection", "/api/connection", key=False)

    # Customers and subscriptions, the connection test among them (it starts an orchestration).
    customer = call("POST", "customers", "/api/customers", json={"name": "Handles"}).json()["customerId"]
    call("POST", "customers", "/api/customers", json={"name": ""})
    call("GET", "customers", "/api/customers")
    one_customer = "customers/{customerId}"
    call("GET", one_customer, f"/api/customers/{customer}")
    call("PATCH", one_customer, f"/api/customers/{customer}", json={"name": "Handles 2"})
    registered = {"subscriptionId": sub, "customerId": customer}
    assert call("POST", "subscriptions", "/api/subscriptions", json=registered).status_code == 201
    call("GET", "subscriptions", "/api/subscriptions", params={"customerId": customer})
    one_sub = "subscriptions/{subscriptionId}"
    call("GET", one_sub, f"/api/subscriptions/{sub}")
    call("PATCH", one_sub, f"/api/subscriptions/{sub}", json={"displayName": "Renamed"})
    tested = call("POST", "subscriptions/{subscriptionId}/test", f"/api/subscriptions/{sub}/test", timeout=40)
    assert tested.status_code == 200 and tested.json()["success"], tested.text
    call("POST", "subscriptions/{subscriptionId}/test", f"/api/subscriptions/{uuid.uuid4()}/test")
    call("GET", "subscriptions/{subscriptionId}/statistics", f"/api/subscriptions/{sub}/statistics")
    call("GET", "customers/{customerId}/statistics", f"/api/customers/{customer}/statistics")
    call("DELETE", one_customer, f"/api/customers/{customer}")  # 409: it has a subscription
    call("DELETE", one_sub, f"/api/subscriptions/{sub}")
    call("DELETE", one_customer, f"/api/customers/{customer}")

    # Schedules (the timer that starts their runs is no route; tests/e2e/test_schedules.py).
    schedule = {"name": "Handles", "subscriptionIds": [sub], "reportType": "cost", "cron": "0 6 * * 1"}
    created = call("POST", "schedules", "/api/schedules", json=schedule)
    assert created.status_code == 201, created.text
    call("POST", "schedules", "/api/schedules", json={**schedule, "cron": "nope"})
    call("GET", "schedules", "/api/schedules")
    one_schedule, schedule_id = "schedules/{scheduleId}", created.json()["scheduleId"]
    call("GET", one_schedule, f"/api/schedules/{schedule_id}")
    call("PATCH", one_schedule, f"/api/schedules/{schedule_id}", json={"enabled": False})
    call("GET", "schedules/{scheduleId}/reports", f"/api/schedules/{schedule_id}/reports")
    call("DELETE", one_schedule, f"/api/schedules/{schedule_id}")
    call("GET", one_schedule, f"/api/schedules/{schedule_id}")

    assert set(hit) == app_routes(), "a route the app registers was not called"
    keys = host_keys(stack, stack.key)
    assert api.seen
    for seen in api.seen:
        if seen.url.startswith(api.base):
            assert not find_durable_handles(seen.body, keys), f"{seen.method} {seen.url}"
            assert not re.search(r"(?i)/runtime/webhooks/", seen.body)
