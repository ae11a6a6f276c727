"""Deleting reports on devhost, end to end: ``DELETE /api/reports/{id}`` removes a finished report
at once (204, then 404 everywhere: the report, its files, its rows, its upload, the history of its
orchestration and sub-orchestrations as the Durable client sees it), refuses one still running
(409, nothing touched), and the ``report_retention`` timer, fired through the admin API with the
master key as the real host allows, deletes reports back-dated past their retention and leaves
young and running ones alone."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from shared.report_service import OrchestrationState
from shared.table_store import REPORT_PARTITION, TableStore, _index_row_key

from .support import HEADER_2025, TASK_HUB, ApiClient, row, to_csv, within

pytestmark = pytest.mark.e2e

TABLES = ("reports", "recommendations", f"{TASK_HUB}Instances", f"{TASK_HUB}History", f"{TASK_HUB}Inbox")
CONTAINERS = ("reports", "uploads")


def traces(stack: Any, report_id: str) -> list[str]:
    """Every row (in the app's tables and the task hub's) and blob that names the report."""
    found = []
    tables = TableServiceClient.from_connection_string(stack.storage_connection)
    for name in TABLES:
        try:
            for e in tables.get_table_client(name).list_entities(results_per_page=1000):
                if report_id in " ".join(str(v) for v in e.values()) + e["PartitionKey"] + e["RowKey"]:
                    found.append(f"{name}:{e['PartitionKey']}|{e['RowKey']}")
        except ResourceNotFoundError:
            pass
    blobs = BlobServiceClient.from_connection_string(stack.storage_connection)
    for name in CONTAINERS:
        container = blobs.get_container_client(name)
        if container.exists():
            found += [f"{name}:{b.name}" for b in container.list_blobs() if report_id in b.name]
    return found


def runtime_knows(stack: Any, report_id: str) -> list[str]:
    """The instances of the report the Durable client still finds (its own and the sub ones)."""
    client = stack.host.client()
    state = OrchestrationState.from_client_status(stack.host.run(client.get_status(report_id)))
    subs = stack.host.run(client.get_status_by(instance_id_prefix=f"{report_id}:"))
    assert state is not None
    return ([report_id] if state.runtime_status else []) + [s.instance_id for s in subs]


def delete(api: ApiClient, report_id: str, **kwargs: Any) -> requests.Response:
    return api.call("DELETE", f"/api/reports/{report_id}", **kwargs)


def backdate(stack: Any, report_id: str, days: int) -> None:
    """Move the report's request time back, as if it had been asked for ``days`` days ago (the
    listing row's key moves with it)."""
    store = TableStore(stack.storage_connection)
    report = store.get_report(report_id)
    assert report is not None and report.requested_at is not None
    requested_at = report.requested_at
    old_key = _index_row_key(report_id, requested_at)

    def change(current: Any) -> bool:
        current.requested_at = requested_at - timedelta(days=days)
        return True

    store.update_report(report_id, change)
    store.table("reports").delete_entity(REPORT_PARTITION, old_key)


def hold_fetch(stack: Any, api: ApiClient, new_subscriptions: Any, seconds: float = 8) -> tuple[str, str]:
    """A report whose only fetch is held by the stand-in; returns (report id, subscription)."""
    sub = new_subscriptions(1, 10)[0]["subscriptionId"]
    stack.standin.inject_fault(subscription=sub, operation="list", delay=seconds, count=1)
    report_id = api.start({"subscriptionIds": [sub], "reportType": "cost", "formats": ["html"]}).json()[
        "reportId"
    ]
    with within(10):
        while stack.host.engine.get(f"{report_id}:fetch:{sub.lower()}") is None:
            time.sleep(0.05)
    return report_id, sub


def wait_finished(api: ApiClient, report_id: str) -> dict[str, Any]:
    return api.poll(f"/api/reports/{report_id}")


def test_delete_removes_a_finished_report_and_everything_it_left_behind(
    api: ApiClient, stack: Any, sample_subscriptions: list[str]
) -> None:
    kept = api.run_report({"subscriptionIds": sample_subscriptions[:1], "reportType": "cost"})
    report = api.run_report({"subscriptionIds": sample_subscriptions[:2], "reportType": "detailed"})
    assert report["status"] == "completed" and set(report["files"]) == {"html", "pdf"}
    rid = report["reportId"]
    stack.host.wait_for_idle(timeout=10)
    left = traces(stack, rid)
    assert any(t.startswith("reports:") and t.endswith(".pdf") for t in left), left
    assert any(t.startswith("recommendations:") for t in left) and any("History" in t for t in left), left
    kinds = [i.removeprefix(rid).split(":")[1] if ":" in i else "report" for i in runtime_knows(stack, rid)]
    assert sorted(set(kinds)) == ["fetch", "html", "pdf", "report"] and kinds.count("fetch") == 2, kinds
    kept_before = traces(stack, kept["reportId"])

    assert delete(api, rid, key=False).status_code == 401
    deleted = delete(api, rid)
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    assert traces(stack, rid) == []
    assert runtime_knows(stack, rid) == []
    assert api.get(f"/api/reports/{rid}").status_code == 404
    assert api.get(f"/api/reports/{rid}/files/pdf").status_code == 404
    assert rid not in [r["reportId"] for r in api.list_reports(limit=100).json()["reports"]]
    again = delete(api, rid)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    assert traces(stack, kept["reportId"]) == kept_before
    assert api.get(f"/api/reports/{kept['reportId']}").status_code == 200
    assert delete(api, "not-a-report").status_code == 404
    assert delete(api, "6f1d3a5e-0c43-4b7e-9f39-4a0d0f7c2b11").status_code == 404


def test_delete_takes_a_csv_report_with_its_upload(api: ApiClient, stack: Any) -> None:
    sub = "5b1e1c36-3f8a-4b0e-9f60-0c0f0c0c0c01"
    data = to_csv(HEADER_2025, [row("Cost", "High", "Right-size", sub, "rg1", "vm1")])
    started = api.start_csv(data, reportType="cost", formats="html")
    assert started.status_code == 202, started.text
    rid = started.json()["reportId"]
    assert api.poll(started.headers["Location"])["status"] == "completed"
    stack.host.wait_for_idle(timeout=10)
    assert f"uploads:{rid}.csv" in traces(stack, rid)
    assert delete(api, rid).status_code == 204
    assert traces(stack, rid) == [] and runtime_knows(stack, rid) == []


def test_delete_refuses_a_running_report_and_touches_nothing(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    rid, _ = hold_fetch(stack, api, new_subscriptions, seconds=4)
    before = runtime_knows(stack, rid)
    refused = delete(api, rid)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "report_running"
    assert runtime_knows(stack, rid) == before
    assert api.get(f"/api/reports/{rid}").status_code == 202
    assert wait_finished(api, rid)["status"] == "completed"
    stack.host.wait_for_idle(timeout=10)
    assert delete(api, rid).status_code == 204
    assert traces(stack, rid) == []


def test_the_retention_timer_deletes_what_is_past_its_retention_and_nothing_live(
    api: ApiClient, stack: Any, sample_subscriptions: list[str], new_subscriptions: Any
) -> None:
    old = api.run_report({"subscriptionIds": sample_subscriptions[:1], "reportType": "cost"})["reportId"]
    young = api.run_report({"subscriptionIds": sample_subscriptions[:1], "reportType": "security"})[
        "reportId"
    ]
    stack.host.wait_for_idle(timeout=10)
    backdate(stack, old, days=91)
    running, _ = hold_fetch(stack, api, new_subscriptions)
    backdate(stack, running, days=400)
    young_before = traces(stack, young)

    admin = f"{stack.url}/admin/functions/report_retention"
    assert requests.post(admin, params={"code": stack.key}, json={}, timeout=10).status_code == 401
    fired = requests.post(admin, params={"code": stack.master_key}, json={"input": ""}, timeout=10)
    assert fired.status_code == 202, fired.text
    with within(20):
        while api.get(f"/api/reports/{old}").status_code != 404:
            time.sleep(0.1)
    # Oldest first: the running report (400 days) was looked at before the deleted one (91).
    assert api.get(f"/api/reports/{running}").status_code == 202  # old, but running: untouched
    assert running in runtime_knows(stack, running)
    stack.host.wait_for_idle(timeout=15, include_timers=False)
    assert traces(stack, old) == [] and runtime_knows(stack, old) == []
    assert traces(stack, young) == young_before
    assert wait_finished(api, running)["status"] == "completed"
    assert delete(api, running).status_code == 204  # (so no later run of the timer meets it)
    assert delete(api, young).status_code == 204
